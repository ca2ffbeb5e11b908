// Finds runs under the workspace folders: Descent run directories (run.json / metrics.jsonl), TensorBoard event
// files (the folder holding events.out.tfevents.* is one run), Lightning's CSVLogger metrics.csv and Keras CSVLogger
// files (*.csv / *.log whose header starts with "epoch," and has no "step" column). Pure Node: unit-tested without
// a host.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { RUN_FILES } from '../../protocol/runFormat';
import { readHead } from './fileTail';

export type RunKind = 'descent' | 'tensorboard' | 'lightning' | 'keras';

export interface FoundRun {
  /** Stable identity: the run directory, or the CSV file for Keras (several can share a folder). */
  key: string;
  kind: RunKind;
  /** Directory of the run. */
  dir: string;
  /** The CSV file (lightning, keras). */
  file?: string;
}

/** Folders never searched: tools' caches and environments, which can be huge. */
export const SKIPPED_DIRS = new Set([
  'node_modules', '.git', '.hg', '.svn', '.venv', 'venv', 'env', '.env', '__pycache__', '.mypy_cache', '.pytest_cache',
  '.ruff_cache', '.tox', '.nox', 'site-packages', '.ipynb_checkpoints', '.idea', '.vscode-test', 'wandb', 'mlruns',
]);

export const TB_PREFIX = 'events.out.tfevents.';
export const MAX_DEPTH = 8;
/** Directories visited per scan at most, so a huge workspace cannot stall discovery. */
export const MAX_DIRS = 20_000;

/** Whether a path could belong to a run (for filtering file-watcher events). */
export function isRunRelevantPath(p: string): boolean {
  const parts = p.split(/[\\/]/);
  if (parts.some((s) => SKIPPED_DIRS.has(s))) return false;
  return true;
}

/** Kind of a CSV log from its first line, or undefined when it is neither Lightning's nor Keras's. */
export function csvKindFromHeader(head: string, fileName: string): 'lightning' | 'keras' | undefined {
  const first = head.split(/\r?\n/, 1)[0]!.replace(/^\uFEFF/, '');
  const cols = first.split(',').map((c) => c.trim().replace(/^"|"$/g, ''));
  if (cols.length < 2) return undefined;
  if (cols.includes('step') && (fileName === 'metrics.csv' || cols.includes('epoch'))) return 'lightning';
  if (cols[0] === 'epoch' && !cols.includes('step')) return 'keras';
  return undefined;
}

export async function discoverRuns(roots: string[]): Promise<FoundRun[]> {
  const found: FoundRun[] = [];
  let visited = 0;
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (visited++ > MAX_DIRS) return;
    let entries;
    try {
      entries = await fsp.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    const names = new Set(entries.map((e) => e.name));
    if (names.has(RUN_FILES.info) || names.has(RUN_FILES.metrics)) {
      // A Descent run: its subfolders are checkpoints and the like, not runs.
      found.push({ key: dir, kind: 'descent', dir });
      return;
    }
    if (entries.some((e) => e.isFile() && e.name.startsWith(TB_PREFIX))) found.push({ key: dir, kind: 'tensorboard', dir });
    const csvs = entries.filter((e) => e.isFile() && /\.(csv|log)$/i.test(e.name));
    for (const e of csvs) {
      const file = path.join(dir, e.name);
      const kind = csvKindFromHeader(await readHead(file, 1024), e.name);
      if (kind === 'lightning') found.push({ key: dir, kind, dir, file });
      else if (kind === 'keras') found.push({ key: file, kind, dir, file });
    }
    if (depth >= MAX_DEPTH) return;
    for (const e of entries) {
      if (!e.isDirectory() || SKIPPED_DIRS.has(e.name)) continue;
      await walk(path.join(dir, e.name), depth + 1);
    }
  };
  for (const root of roots) await walk(root, 0);
  // A folder with both event files and a Lightning metrics.csv (Lightning with two loggers): one run, TensorBoard's.
  const seen = new Set<string>();
  return found.filter((r) => {
    if (seen.has(r.key)) return false;
    seen.add(r.key);
    return true;
  });
}
