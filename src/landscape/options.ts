// The options of Descent: Plot Loss Landscape (what the form asks, or an options object given to the command), and
// the argument list of `python -m descent.landscape` built from them. Pure.
import type { LandscapeResult } from '../protocol/landscape';

export type LandscapeKind = '2d' | '1d' | 'pca' | 'interpolate';

export interface LandscapeOptions {
  kind: LandscapeKind;
  /** Points per axis (the grid is resolution x resolution in 2D). */
  resolution: number;
  /** Half-width of the grid around the model: x and y in [-range, range] (interpolation always spans alpha -0.5..1.5). */
  range: number;
  split: 'train' | 'val';
  samples: number;
  device: 'auto' | 'cpu' | 'cuda';
  sharpness: boolean;
  seed: number;
  /** Landscape folder name; default from the engine. */
  name?: string;
  /** Checkpoint of the model (default: the engine picks best.pt, else last.pt). */
  checkpoint?: string;
  /** Interpolation end points. */
  from?: string;
  to?: string;
}

export const KIND_LABELS: Record<LandscapeKind, { label: string; detail: string }> = {
  '2d': { label: '2D contour and surface', detail: 'two random filter-normalised directions (Li et al. 2018)' },
  '1d': { label: '1D curve', detail: 'one random filter-normalised direction: loss and accuracy along a line' },
  pca: { label: 'Training path (PCA)', detail: 'the plane of the two main directions of the checkpoints, with the path taken' },
  interpolate: { label: 'Interpolation init → final', detail: 'the straight line between two checkpoints (Goodfellow et al. 2015)' },
};

/** Defaults that give a picture in well under a minute on a laptop CPU for a course-sized model. */
export const DEFAULT_OPTIONS: LandscapeOptions = { kind: '2d', resolution: 21, range: 1, split: 'train', samples: 1000, device: 'auto', sharpness: false, seed: 0 };

export const is2d = (k: LandscapeKind) => k === '2d' || k === 'pca';

/** Reads an options object from a command argument; a string result says what is wrong. */
export function parseOptions(raw: unknown): LandscapeOptions | string {
  if (raw === undefined || raw === null) return { ...DEFAULT_OPTIONS };
  if (typeof raw !== 'object' || Array.isArray(raw)) return 'options must be an object';
  const o = raw as Record<string, unknown>;
  const out: LandscapeOptions = { ...DEFAULT_OPTIONS };
  if (o.kind !== undefined) {
    if (typeof o.kind !== 'string' || !(o.kind in KIND_LABELS)) return `kind must be one of ${Object.keys(KIND_LABELS).join(', ')}`;
    out.kind = o.kind as LandscapeKind;
  }
  const int = (key: 'resolution' | 'samples' | 'seed', min: number, max: number): string | undefined => {
    const v = o[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) return `${key} must be an integer from ${min} to ${max}`;
    out[key] = v;
    return undefined;
  };
  const bad = int('resolution', 2, 401) ?? int('samples', 1, 10_000_000) ?? int('seed', 0, 2 ** 31 - 1);
  if (bad) return bad;
  if (o.range !== undefined) {
    if (typeof o.range !== 'number' || !(o.range > 0) || o.range > 100) return 'range must be a number in (0, 100]';
    out.range = o.range;
  }
  if (o.split !== undefined) {
    if (o.split !== 'train' && o.split !== 'val') return 'split must be "train" or "val"';
    out.split = o.split;
  }
  if (o.device !== undefined) {
    if (o.device !== 'auto' && o.device !== 'cpu' && o.device !== 'cuda') return 'device must be "auto", "cpu" or "cuda"';
    out.device = o.device;
  }
  if (o.sharpness !== undefined) {
    if (typeof o.sharpness !== 'boolean') return 'sharpness must be true or false';
    out.sharpness = o.sharpness;
  }
  for (const key of ['name', 'checkpoint', 'from', 'to'] as const) {
    const v = o[key];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v.trim() === '' || /[\0\r\n]/.test(v)) return `${key} must be a non-empty string`;
    out[key] = v;
  }
  if (out.name !== undefined && !/^[A-Za-z0-9._-]{1,100}$/.test(out.name)) return 'name may only use letters, digits, ".", "_" and "-"';
  return out;
}

const axis = (min: number, max: number, num: number) => `${min}:${max}:${num}`;

/** Arguments after `python -m descent.landscape` for a new landscape of the run in `runDir`. */
export function engineArgs(runDir: string, o: LandscapeOptions): string[] {
  const args = ['--run', runDir];
  if (o.checkpoint) args.push('--checkpoint', o.checkpoint);
  switch (o.kind) {
    case '2d':
      args.push('--dims', '2', '--directions', 'random', '--normalization', 'filter', '--ignore', 'biasbn', '--x', axis(-o.range, o.range, o.resolution), '--y', axis(-o.range, o.range, o.resolution));
      break;
    case '1d':
      args.push('--dims', '1', '--directions', 'random', '--normalization', 'filter', '--ignore', 'biasbn', '--x', axis(-o.range, o.range, o.resolution));
      break;
    case 'pca':
      // The engine widens the range so the whole path fits.
      args.push('--dims', '2', '--directions', 'pca', '--x', axis(-o.range, o.range, o.resolution), '--y', axis(-o.range, o.range, o.resolution));
      break;
    case 'interpolate':
      // alpha = 0 is the first checkpoint, 1 the last; a margin on both sides shows what lies beyond.
      args.push('--dims', '1', '--directions', 'interpolate', '--normalization', 'none', '--x', axis(-0.5, 1.5, o.resolution));
      if (o.from) args.push('--from', o.from);
      if (o.to) args.push('--to', o.to);
      break;
  }
  args.push('--split', o.split, '--samples', String(o.samples), '--device', o.device, '--seed', String(o.seed));
  if (o.sharpness) args.push('--sharpness');
  if (o.name) args.push('--name', o.name);
  return args;
}

/** Arguments that resume a cancelled or failed landscape: the options it recorded, its name, and --resume. */
export function resumeArgs(runDir: string, dirName: string, r: LandscapeResult): string[] {
  const g = r.grid;
  const args = ['--run', runDir, '--name', dirName, '--resume'];
  // The same model as before, when the engine recorded where it came from.
  if (r.model.source === 'checkpoint' && /^([/\\]|[A-Za-z]:)/.test(r.model.path)) args.push('--checkpoint', r.model.path);
  args.push('--dims', String(g.dims), '--directions', r.directions.kind);
  if (r.directions.kind !== 'pca') args.push('--normalization', r.directions.normalization, '--ignore', r.directions.ignore);
  args.push('--x', axis(g.x.min, g.x.max, g.x.num));
  if (g.y) args.push('--y', axis(g.y.min, g.y.max, g.y.num));
  if (r.directions.from) args.push('--from', r.directions.from);
  if (r.directions.to) args.push('--to', r.directions.to);
  const split = r.data.split === 'val' ? 'val' : 'train';
  args.push('--split', split);
  if (r.data.samples !== null) args.push('--samples', String(r.data.samples));
  if (r.data.batchSize !== null) args.push('--batch-size', String(r.data.batchSize));
  if (r.directions.seed !== null) args.push('--seed', String(r.directions.seed));
  // The torch engine records its command-line options under parameters.options.
  const recorded = r.parameters.options;
  const p = typeof recorded === 'object' && recorded !== null ? (recorded as Record<string, unknown>) : r.parameters;
  const device = p.device;
  if (typeof device === 'string' && /^(auto|cpu|cuda(:\d+)?)$/.test(device)) args.push('--device', device);
  if (r.sharpness || p.sharpness === true) args.push('--sharpness');
  return args;
}

/** Engine's stdout records (JSON Lines); anything else on stdout is ignored. */
export type EngineMessage = { type: 'progress'; done: number; total: number; eta: number | null } | { type: 'done'; dir: string } | { type: 'error'; message: string };

export function parseEngineLine(line: string): EngineMessage | undefined {
  const t = line.trim();
  if (!t.startsWith('{')) return undefined;
  let o: unknown;
  try {
    o = JSON.parse(t);
  } catch {
    return undefined;
  }
  if (typeof o !== 'object' || o === null) return undefined;
  const m = o as Record<string, unknown>;
  if (m.type === 'progress' && typeof m.done === 'number' && typeof m.total === 'number') {
    return { type: 'progress', done: m.done, total: m.total, eta: typeof m.eta === 'number' && Number.isFinite(m.eta) ? m.eta : null };
  }
  if (m.type === 'done') return { type: 'done', dir: typeof m.dir === 'string' ? m.dir : '' };
  if (m.type === 'error') return { type: 'error', message: typeof m.message === 'string' ? m.message : 'unknown error' };
  return undefined;
}

/** "2m 05s" / "38s" for an ETA. */
export function formatEta(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/**
 * End points of the interpolation from a run's checkpoints in the order they were written (absolute paths): the
 * initial weights (a file named *init*, else the first) to the best model (best.pt, else last.pt, else the last).
 */
export function interpolationEnds(checkpoints: readonly string[]): { from: string; to: string } | undefined {
  const unique = [...new Set(checkpoints)];
  const base = (p: string) => p.split(/[\\/]/).pop() ?? p;
  const from = unique.find((p) => /init/i.test(base(p))) ?? unique[0];
  const to = unique.find((p) => base(p) === 'best.pt') ?? unique.find((p) => base(p) === 'last.pt') ?? unique[unique.length - 1];
  return from !== undefined && to !== undefined && from !== to ? { from, to } : undefined;
}
