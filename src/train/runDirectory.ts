// The run directory on disk: created once under a unique name (never reusing, overwriting or deleting an existing
// run), run.json written atomically (temporary file + rename), stderr.log.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RUN_FILES } from '../protocol/runFormat';
import { runNameCandidates } from './naming';

export class RunDirectoryError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/**
 * Creates `<root>/<base>` or, when taken, `<root>/<base>-2`, ... with a non-recursive mkdir, which fails on an
 * existing folder: two launches in the same second, or an old run of the same name, are never reused.
 */
export function createRunDirectory(root: string, base: string): { dir: string; name: string } {
  try {
    fs.mkdirSync(root, { recursive: true });
  } catch (e) {
    throw asRunDirError(e, root);
  }
  for (const name of runNameCandidates(base)) {
    const dir = path.join(root, name);
    try {
      fs.mkdirSync(dir);
      return { dir, name };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      throw asRunDirError(e, dir);
    }
  }
  throw new RunDirectoryError(`too many runs named ${base} in ${root}`, 'EEXIST');
}

function asRunDirError(e: unknown, where: string): RunDirectoryError {
  const err = e as NodeJS.ErrnoException;
  const code = err.code ?? 'EUNKNOWN';
  const why =
    code === 'EACCES' || code === 'EPERM'
      ? 'permission denied'
      : code === 'EROFS'
        ? 'the file system is read-only'
        : code === 'ENOTDIR'
          ? 'a file is in the way'
          : code === 'ENOSPC'
            ? 'the disk is full'
            : err.message;
  return new RunDirectoryError(`cannot create ${where}: ${why}`, code);
}

/** Replaces `file` in one rename, so a reader never sees half of it. */
export function writeJsonAtomic(file: string, doc: unknown): void {
  const tmp = `${file}.${process.pid}.${Math.random().toString(16).slice(2, 8)}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(doc, null, 2) + '\n');
  fs.renameSync(tmp, file);
}

/** run.json as a plain object, or undefined when missing or not a JSON object. */
export function readRunJson(dir: string): Record<string, unknown> | undefined {
  try {
    const doc: unknown = JSON.parse(fs.readFileSync(path.join(dir, RUN_FILES.info), 'utf8'));
    return typeof doc === 'object' && doc !== null && !Array.isArray(doc) ? (doc as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Read, change, write back atomically. The logger in the script may write too (hyperparameters): read it first. */
export function updateRunJson(dir: string, change: (doc: Record<string, unknown>) => Record<string, unknown>, fallback: Record<string, unknown> = {}): void {
  const current = readRunJson(dir) ?? fallback;
  writeJsonAtomic(path.join(dir, RUN_FILES.info), change(current));
}

export function writeStderrLog(dir: string, text: string, truncated: boolean): void {
  const head = truncated ? '[descent: earlier stderr output was dropped; this is the tail]\n' : '';
  fs.writeFileSync(path.join(dir, RUN_FILES.stderr), head + text);
}
