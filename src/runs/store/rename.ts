// Renaming a Descent run: the folder is renamed and run.json's `name` follows; the `id` never changes (run format v1).
// validateRunName is pure (unit-tested); renameRunDirectory touches the file system only.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RUN_FILES } from '../../protocol/runFormat';

/** The names Descent: Train gives folders: letters, digits, '.', '_' and '-', no leading dot, at most 80 characters. */
const VALID = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
export const MAX_RUN_NAME = 80;
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$/i;

/**
 * Why `name` cannot be the new name of the run now called `current`, or undefined when it can. `taken`: the names
 * of the entries beside the run folder (compared without case, as on macOS and Windows).
 */
export function validateRunName(name: string, current: string, taken: Iterable<string>): string | undefined {
  const n = name.trim();
  if (n === '') return 'Give the run a name.';
  if (n === current) return 'That is already its name.';
  if (n.length > MAX_RUN_NAME) return `At most ${MAX_RUN_NAME} characters.`;
  if (n.startsWith('.')) return 'A run name cannot start with a dot.';
  if (!VALID.test(n)) return 'Use letters, digits, ".", "_" and "-" only (the name is a folder name).';
  if (n.endsWith('.')) return 'A run name cannot end with a dot.';
  if (WINDOWS_RESERVED.test(n)) return `"${n}" is a reserved file name on Windows.`;
  const lower = n.toLowerCase();
  for (const t of taken) {
    if (t.toLowerCase() === lower && t !== current) return `"${n}" is taken: another run or file in this folder has that name.`;
  }
  return undefined;
}

export class RenameError extends Error {}

/**
 * Renames the run folder `dir` to `newName` (beside it) and sets run.json's `name`, keeping every other field (the id
 * included). Returns the new folder. Throws RenameError with a message for the user.
 */
export function renameRunDirectory(dir: string, newName: string): string {
  const parent = path.dirname(dir);
  const name = newName.trim();
  let siblings: string[];
  try {
    siblings = fs.readdirSync(parent);
  } catch (e) {
    throw new RenameError(`cannot read ${parent}: ${(e as Error).message}`);
  }
  const problem = validateRunName(name, path.basename(dir), siblings);
  if (problem) throw new RenameError(problem);
  const target = path.join(parent, name);
  try {
    // Not fs.renameSync onto an existing path (it would replace an empty folder): checked just above, and again here.
    if (fs.existsSync(target)) throw new RenameError(`"${name}" is taken.`);
    fs.renameSync(dir, target);
  } catch (e) {
    if (e instanceof RenameError) throw e;
    throw new RenameError(`cannot rename ${path.basename(dir)}: ${(e as Error).message}`);
  }
  const info = path.join(target, RUN_FILES.info);
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(info, 'utf8'));
  } catch {
    return target; // No run.json (a run with only metrics.jsonl): the folder name is its name.
  }
  if (typeof doc === 'object' && doc !== null && !Array.isArray(doc)) {
    const tmp = `${info}.${process.pid}.rename.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ ...(doc as Record<string, unknown>), name }, null, 2) + '\n');
    fs.renameSync(tmp, info);
  }
  return target;
}
