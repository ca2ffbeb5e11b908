// Reading landscapes from disk: one landscape folder into a panel entry (validated, never trusted), and the
// landscapes of a run (`<run>/landscapes/*/landscape.json`), newest first. Plain Node.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LANDSCAPE_FILE, LANDSCAPES_DIR, parseLandscapeText, type LandscapeEntry } from '../protocol/landscape';

/** Files over this size are refused: a 4096 x 4096 grid of two metrics is about 300 MB of JSON and not drawable. */
const MAX_BYTES = 64 * 1024 * 1024;

/** The run folder of a landscape folder `<run>/landscapes/<name>`. */
export function runDirOfLandscape(dir: string): string {
  return path.dirname(path.dirname(dir));
}

export function readLandscape(dir: string, computing = false): LandscapeEntry {
  const runName = path.basename(runDirOfLandscape(dir));
  const file = path.join(dir, LANDSCAPE_FILE);
  const entry = (problems: string[]): LandscapeEntry => ({ dir, runName, result: null, problems, computing });
  let text: string;
  try {
    const size = fs.statSync(file).size;
    if (size > MAX_BYTES) return entry([`${file} is ${(size / 1e6).toFixed(0)} MB, more than Descent reads (${MAX_BYTES / 1e6} MB)`]);
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return entry([code === 'ENOENT' ? `${file} does not exist yet` : `cannot read ${file}: ${(e as Error).message}`]);
  }
  const v = parseLandscapeText(text);
  if (!v.ok) return entry(v.errors.map((e) => `${LANDSCAPE_FILE}: ${e}`));
  return { dir, runName, result: v.value, problems: [], computing };
}

export interface LandscapeListing {
  dir: string;
  name: string;
  status: string;
  /** ms since the epoch of landscape.json. */
  mtimeMs: number;
  description: string;
}

/** The landscapes of a run, newest first (folders with a landscape.json; unreadable ones say so). */
export function listLandscapes(runDir: string): LandscapeListing[] {
  const root = path.join(runDir, LANDSCAPES_DIR);
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return [];
  }
  const out: LandscapeListing[] = [];
  for (const name of names) {
    const dir = path.join(root, name);
    let mtimeMs: number;
    try {
      mtimeMs = fs.statSync(path.join(dir, LANDSCAPE_FILE)).mtimeMs;
    } catch {
      continue;
    }
    const e = readLandscape(dir);
    const r = e.result;
    const description = r
      ? `${r.grid.dims}D ${r.directions.kind} · ${r.grid.x.num}${r.grid.y ? `×${r.grid.y.num}` : ''} · ${r.status}${r.status === 'running' ? ` ${r.progress.done}/${r.progress.total}` : ''}`
      : `unreadable: ${e.problems[0] ?? ''}`;
    out.push({ dir, name, status: r?.status ?? 'invalid', mtimeMs, description });
  }
  return out.sort((a, b) => b.mtimeMs - a.mtimeMs);
}
