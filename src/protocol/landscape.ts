// Loss landscape result format v1 (written by the engines: python/descent/landscape (torch), later src/landscape/onnx)
// and the messages of the landscape panel (webview/landscape). The TypeScript side never trusts a result file: every
// field goes through validateLandscape, which says what is wrong and where.
//
// A landscape is a directory `<runDir>/landscapes/<name>/` (name default `<kind>-<directions>-<YYYYMMDD-HHMMSS>`):
// - `landscape.json`, rewritten atomically (tmp + rename) every few points, so a reader always sees a whole file:
//   { formatVersion: 1, name, status: "running" | "done" | "cancelled" | "failed", error?: "message when failed",
//     engine: "torch" | "onnx", device: "cpu" | "cuda:0", dtype: "float32" | "bfloat16",
//     model: { source: "checkpoint" | "onnx", path, parameters, project? },
//     directions: { kind: "random" | "interpolate" | "pca", normalization: "filter" | "layer" | "none",
//                   ignore: "biasbn" | "none", seed, file: "directions.pt", from?, to?, explainedVariance?: [0.61, 0.22] },
//     grid: { dims: 1 | 2, x: { min, max, num }, y?: { min, max, num } },
//     data: { split: "train" | "val" | "test", samples, batchSize },
//     metrics: { loss: [[...]], accuracy: [[...]] },   row-major [yIndex][xIndex] (1D: one row); null = not computed yet
//     valMetrics?: { loss, accuracy },                   same shape, optional (1D mostly)
//     progress: { done, total, elapsedSeconds, pointsPerSecond },
//     origin: { loss, accuracy },                        the unperturbed model on the same data
//     minimum: { x, y, loss },
//     path?: { x: [...], y: [...], labels: ["epoch 1", ...] },   PCA: checkpoints projected on the plane
//     sharpness?: { topEigenvalue, trace, iterations, samples },
//     parameters: { every option used },
//     createdAt, finishedAt }
// - `directions.pt` (torch) or `directions.bin` (onnx), reused on resume; `--resume` keeps computed (non-null)
//   points and fills the rest.
// - Progress on stdout as JSON Lines: {"type":"progress","done":120,"total":1681,"eta":38.1}, then
//   {"type":"done","dir":"..."} or {"type":"error","message":"..."}.
// Non-finite values (a diverged loss far from the minimum) may come as NaN / Infinity tokens or as the run format's
// strings "NaN" / "Infinity" / "-Infinity"; they are kept as those strings (messages are JSON).

export const LANDSCAPE_FORMAT_VERSION = 1;
export const LANDSCAPE_FILE = 'landscape.json';
export const LANDSCAPES_DIR = 'landscapes';
/** The panel's webview type (package.json activates on it). */
export const LANDSCAPE_VIEW_TYPE = 'descent.landscape';

export type LandscapeStatus = 'running' | 'done' | 'cancelled' | 'failed';
/** A grid value: a number, not computed yet (null), or a non-finite value as a string. */
export type LandscapeCell = number | null | 'NaN' | 'Infinity' | '-Infinity';
export type LandscapeGrid = LandscapeCell[][];

export interface LandscapeAxis {
  min: number;
  max: number;
  num: number;
}

export interface LandscapeMetrics {
  loss: LandscapeGrid;
  /** Absent for losses without an accuracy (regression). */
  accuracy: LandscapeGrid | null;
}

export interface LandscapeResult {
  formatVersion: 1;
  name: string;
  status: LandscapeStatus;
  error: string | null;
  engine: 'torch' | 'onnx';
  device: string;
  dtype: string;
  model: { source: 'checkpoint' | 'onnx'; path: string; parameters: number | null; project: string | null };
  directions: {
    kind: 'random' | 'interpolate' | 'pca';
    normalization: string;
    ignore: string;
    seed: number | null;
    file: string | null;
    from: string | null;
    to: string | null;
    explainedVariance: number[] | null;
  };
  grid: { dims: 1 | 2; x: LandscapeAxis; y: LandscapeAxis | null };
  data: { split: string; samples: number | null; batchSize: number | null };
  metrics: LandscapeMetrics;
  valMetrics: LandscapeMetrics | null;
  progress: { done: number; total: number; elapsedSeconds: number | null; pointsPerSecond: number | null };
  origin: { loss: number | null; accuracy: number | null } | null;
  minimum: { x: number; y: number; loss: number } | null;
  path: { x: number[]; y: number[]; labels: string[] } | null;
  sharpness: { topEigenvalue: number | null; trace: number | null; iterations: number | null; samples: number | null } | null;
  parameters: Record<string, unknown>;
  createdAt: string | null;
  finishedAt: string | null;
}

export type Validation = { ok: true; value: LandscapeResult; warnings: string[] } | { ok: false; errors: string[]; warnings: string[] };

// ---- messages of the panel ----

/** One landscape as the panel shows it: where it is, and the validated result or why it cannot be read. */
export interface LandscapeEntry {
  /** Absolute landscape directory. */
  dir: string;
  /** Name of the run the landscape belongs to (its folder name). */
  runName: string;
  result: LandscapeResult | null;
  /** Why the file could not be used (missing, invalid JSON, wrong fields); empty when result is set. */
  problems: string[];
  /** True while this window's launcher runs the engine on it (the panel offers Cancel). */
  computing: boolean;
}

export type LandscapeToWebview = { type: 'snapshot'; primary: LandscapeEntry; compare: LandscapeEntry | null };

export type LandscapeExportFormat = 'png' | 'csv' | 'vtk';

export type LandscapeToHost =
  | { type: 'ready' }
  | { type: 'export'; format: LandscapeExportFormat; which: 'primary' | 'compare'; /** PNG only: the canvas as a data: URL. */ dataUrl?: string }
  | { type: 'pickCompare' }
  | { type: 'clearCompare' }
  | { type: 'resume' }
  | { type: 'cancel' }
  | { type: 'openFolder' };

/** What the webview keeps with setState, so a reload (serializer) reopens the same landscapes and view. */
export interface LandscapeState {
  dir: string;
  compareDir: string | null;
  view: 'contour' | 'surface';
  metric: 'loss' | 'accuracy';
  logLevels: boolean;
  levels: number;
}

// ---- the validator ----

const STATUSES: readonly string[] = ['running', 'done', 'cancelled', 'failed'];
const NONFINITE: readonly string[] = ['NaN', 'Infinity', '-Infinity'];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Checks a parsed landscape.json field by field. Required fields that are missing or wrong are errors (the file
 * cannot be drawn); optional fields that are wrong are dropped with a warning. Never throws.
 */
export function validateLandscape(raw: unknown): Validation {
  const errors: string[] = [];
  const warnings: string[] = [];
  const err = (where: string, what: string) => errors.push(`${where}: ${what}`);
  const warn = (where: string, what: string) => warnings.push(`${where}: ${what} (ignored)`);
  if (!isObj(raw)) return { ok: false, errors: ['the file is not a JSON object'], warnings };

  const str = (o: Obj, key: string, where: string, required: boolean): string | null => {
    const v = o[key];
    if (typeof v === 'string') return v;
    if (v === undefined || v === null) {
      if (required) err(`${where}${key}`, 'missing');
      return null;
    }
    (required ? err : warn)(`${where}${key}`, `must be a string, got ${typeof v}`);
    return null;
  };
  const num = (o: Obj, key: string, where: string, required: boolean, check?: (n: number) => string | undefined): number | null => {
    const v = o[key];
    if (v === undefined || v === null) {
      if (required) err(`${where}${key}`, 'missing');
      return null;
    }
    if (!isNum(v)) {
      (required ? err : warn)(`${where}${key}`, `must be a finite number, got ${JSON.stringify(v)}`);
      return null;
    }
    const problem = check?.(v);
    if (problem) {
      (required ? err : warn)(`${where}${key}`, problem);
      return null;
    }
    return v;
  };
  const oneOf = <T extends string>(o: Obj, key: string, where: string, allowed: readonly T[]): T | null => {
    const v = str(o, key, where, true);
    if (v === null) return null;
    if (!(allowed as readonly string[]).includes(v)) {
      err(`${where}${key}`, `"${v}" is not one of ${allowed.join(', ')}`);
      return null;
    }
    return v as T;
  };
  const obj = (o: Obj, key: string, where: string, required: boolean): Obj | null => {
    const v = o[key];
    if (isObj(v)) return v;
    if (v === undefined || v === null) {
      if (required) err(`${where}${key}`, 'missing');
      return null;
    }
    (required ? err : warn)(`${where}${key}`, 'must be an object');
    return null;
  };
  const intCheck = (min: number) => (n: number) => (Number.isInteger(n) && n >= min ? undefined : `must be an integer >= ${min}, got ${n}`);

  if (raw.formatVersion !== LANDSCAPE_FORMAT_VERSION) {
    err('formatVersion', raw.formatVersion === undefined ? 'missing' : `${JSON.stringify(raw.formatVersion)} is not supported (this Descent reads version 1)`);
  }
  const name = str(raw, 'name', '', true);
  const status = oneOf(raw, 'status', '', STATUSES as LandscapeStatus[]);
  const error = str(raw, 'error', '', false);
  const engineRaw = str(raw, 'engine', '', false);
  const engine: LandscapeResult['engine'] = engineRaw === 'onnx' ? 'onnx' : 'torch';
  if (engineRaw !== null && engineRaw !== 'torch' && engineRaw !== 'onnx') warn('engine', `"${engineRaw}" is not torch or onnx`);
  const device = str(raw, 'device', '', false) ?? 'unknown';
  const dtype = str(raw, 'dtype', '', false) ?? 'float32';

  const modelO = obj(raw, 'model', '', false);
  const model: LandscapeResult['model'] = { source: 'checkpoint', path: '', parameters: null, project: null };
  if (modelO) {
    model.source = modelO.source === 'onnx' ? 'onnx' : 'checkpoint';
    model.path = str(modelO, 'path', 'model.', false) ?? '';
    model.parameters = num(modelO, 'parameters', 'model.', false, intCheck(0));
    model.project = str(modelO, 'project', 'model.', false);
  }

  const dirO = obj(raw, 'directions', '', true);
  let directions: LandscapeResult['directions'] | null = null;
  if (dirO) {
    const kind = oneOf(dirO, 'kind', 'directions.', ['random', 'interpolate', 'pca'] as const);
    let explainedVariance: number[] | null = null;
    const ev = dirO.explainedVariance;
    if (ev !== undefined && ev !== null) {
      if (Array.isArray(ev) && ev.every(isNum)) explainedVariance = ev;
      else warn('directions.explainedVariance', 'must be a list of numbers');
    }
    if (kind) {
      directions = {
        kind,
        normalization: str(dirO, 'normalization', 'directions.', false) ?? 'none',
        ignore: str(dirO, 'ignore', 'directions.', false) ?? 'none',
        seed: num(dirO, 'seed', 'directions.', false),
        file: str(dirO, 'file', 'directions.', false),
        from: str(dirO, 'from', 'directions.', false),
        to: str(dirO, 'to', 'directions.', false),
        explainedVariance,
      };
    }
  }

  const axis = (o: Obj, key: string, required: boolean): LandscapeAxis | null => {
    const a = obj(o, key, 'grid.', required);
    if (!a) return null;
    const before = errors.length;
    const min = num(a, 'min', `grid.${key}.`, true);
    const max = num(a, 'max', `grid.${key}.`, true);
    const n = num(a, 'num', `grid.${key}.`, true, intCheck(1));
    if (min !== null && max !== null && n !== null && n > 1 && !(max > min)) err(`grid.${key}`, `max (${max}) must be greater than min (${min})`);
    if (n !== null && n > 4096) err(`grid.${key}.num`, `${n} points is more than Descent draws (4096)`);
    return errors.length === before && min !== null && max !== null && n !== null ? { min, max, num: n } : null;
  };
  const gridO = obj(raw, 'grid', '', true);
  let grid: LandscapeResult['grid'] | null = null;
  if (gridO) {
    const dims = gridO.dims;
    if (dims !== 1 && dims !== 2) err('grid.dims', dims === undefined ? 'missing' : `must be 1 or 2, got ${JSON.stringify(dims)}`);
    const x = axis(gridO, 'x', true);
    const y = dims === 2 ? axis(gridO, 'y', true) : null;
    if ((dims === 1 || dims === 2) && x && (dims === 1 || y)) grid = { dims, x, y };
  }

  const dataO = obj(raw, 'data', '', false);
  const data: LandscapeResult['data'] = { split: 'train', samples: null, batchSize: null };
  if (dataO) {
    data.split = str(dataO, 'split', 'data.', false) ?? 'train';
    data.samples = num(dataO, 'samples', 'data.', false, intCheck(0));
    data.batchSize = num(dataO, 'batchSize', 'data.', false, intCheck(1));
  }

  const rows = grid ? (grid.dims === 2 ? grid.y!.num : 1) : 0;
  const cols = grid ? grid.x.num : 0;
  const gridOf = (v: unknown, where: string, required: boolean): LandscapeGrid | null => {
    const fail = (what: string) => {
      (required ? err : warn)(where, what);
      return null;
    };
    if (v === undefined || v === null) return required ? fail('missing') : null;
    if (!Array.isArray(v)) return fail('must be a list of rows');
    if (!grid) return null;
    if (v.length !== rows) return fail(`has ${v.length} rows, the grid has ${rows}`);
    for (let j = 0; j < v.length; j++) {
      const row: unknown = v[j];
      if (!Array.isArray(row)) return fail(`row ${j} is not a list`);
      if (row.length !== cols) return fail(`row ${j} has ${row.length} values, the grid has ${cols}`);
      for (let i = 0; i < row.length; i++) {
        const c: unknown = row[i];
        if (c === null || typeof c === 'number') continue;
        if (typeof c === 'string' && NONFINITE.includes(c)) continue;
        return fail(`[${j}][${i}] is ${JSON.stringify(c)}, not a number or null`);
      }
    }
    return v as LandscapeGrid;
  };
  const metricsOf = (key: string, required: boolean): LandscapeMetrics | null => {
    const m = obj(raw, key, '', required);
    if (!m) return null;
    const loss = gridOf(m.loss, `${key}.loss`, required);
    const accuracy = gridOf(m.accuracy, `${key}.accuracy`, false);
    return loss ? { loss, accuracy } : null;
  };
  const metrics = metricsOf('metrics', true);
  const valMetrics = metricsOf('valMetrics', false);

  const progO = obj(raw, 'progress', '', false);
  let computed = 0;
  if (metrics) for (const row of metrics.loss) for (const c of row) if (c !== null) computed++;
  const progress: LandscapeResult['progress'] = { done: computed, total: rows * cols, elapsedSeconds: null, pointsPerSecond: null };
  if (progO) {
    progress.done = num(progO, 'done', 'progress.', false, intCheck(0)) ?? computed;
    progress.total = num(progO, 'total', 'progress.', false, intCheck(0)) ?? rows * cols;
    progress.elapsedSeconds = num(progO, 'elapsedSeconds', 'progress.', false);
    progress.pointsPerSecond = num(progO, 'pointsPerSecond', 'progress.', false);
  }

  let origin: LandscapeResult['origin'] = null;
  const originO = obj(raw, 'origin', '', false);
  if (originO) origin = { loss: num(originO, 'loss', 'origin.', false), accuracy: num(originO, 'accuracy', 'origin.', false) };

  let minimum: LandscapeResult['minimum'] = null;
  const minO = obj(raw, 'minimum', '', false);
  if (minO) {
    const x = num(minO, 'x', 'minimum.', false);
    const y = num(minO, 'y', 'minimum.', false) ?? 0;
    const loss = num(minO, 'loss', 'minimum.', false);
    if (x !== null && loss !== null) minimum = { x, y, loss };
  }

  let path: LandscapeResult['path'] = null;
  const pathO = obj(raw, 'path', '', false);
  if (pathO) {
    const { x, y, labels } = pathO;
    if (!Array.isArray(x) || !Array.isArray(y) || !x.every(isNum) || !y.every(isNum)) warn('path', 'x and y must be lists of numbers');
    else if (x.length !== y.length) warn('path', `x has ${x.length} points, y has ${y.length}`);
    else {
      const l = Array.isArray(labels) && labels.length === x.length && labels.every((s) => typeof s === 'string') ? labels : x.map((_, i) => `${i}`);
      if (labels !== undefined && l !== labels) warn('path.labels', 'must be one string per point');
      path = { x, y, labels: l };
    }
  }

  let sharpness: LandscapeResult['sharpness'] = null;
  const sharpO = obj(raw, 'sharpness', '', false);
  if (sharpO) {
    sharpness = {
      topEigenvalue: num(sharpO, 'topEigenvalue', 'sharpness.', false),
      trace: num(sharpO, 'trace', 'sharpness.', false),
      iterations: num(sharpO, 'iterations', 'sharpness.', false),
      samples: num(sharpO, 'samples', 'sharpness.', false),
    };
  }
  const parameters = obj(raw, 'parameters', '', false) ?? {};
  const createdAt = str(raw, 'createdAt', '', false);
  const finishedAt = str(raw, 'finishedAt', '', false);

  if (errors.length > 0 || name === null || status === null || directions === null || grid === null || metrics === null) {
    if (errors.length === 0) errors.push('the file is incomplete');
    return { ok: false, errors, warnings };
  }
  return {
    ok: true,
    warnings,
    value: {
      formatVersion: 1,
      name,
      status,
      error,
      engine,
      device,
      dtype,
      model,
      directions,
      grid,
      data,
      metrics,
      valMetrics,
      progress,
      origin,
      minimum,
      path,
      sharpness,
      parameters,
      createdAt,
      finishedAt,
    },
  };
}

/**
 * Parses landscape.json text. Python's json module writes NaN / Infinity / -Infinity as bare tokens, which
 * JSON.parse refuses: outside strings they become the run format's strings first.
 */
export function parseLandscapeText(text: string): Validation {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    try {
      raw = JSON.parse(quoteNonFinite(text));
    } catch (e) {
      return { ok: false, errors: [`not valid JSON: ${(e as Error).message}`], warnings: [] };
    }
  }
  return validateLandscape(raw);
}

function quoteNonFinite(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      // Copy the string literal as is (escapes included).
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    const m = /^(-?Infinity|NaN)/.exec(text.slice(i, i + 9));
    if (m) {
      out += `"${m[1]}"`;
      i += m[1]!.length;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

/** A cell as a number: NaN when not computed or NaN, +-Infinity as such. */
export function cellValue(c: LandscapeCell | undefined): number {
  if (typeof c === 'number') return c;
  if (c === 'Infinity') return Infinity;
  if (c === '-Infinity') return -Infinity;
  return NaN;
}

/** A grid as a flat row-major Float64Array (NaN where unknown). */
export function gridValues(g: LandscapeGrid): Float64Array {
  const rows = g.length;
  const cols = g[0]?.length ?? 0;
  const out = new Float64Array(rows * cols);
  for (let j = 0; j < rows; j++) for (let i = 0; i < cols; i++) out[j * cols + i] = cellValue(g[j]![i]);
  return out;
}

/** The coordinates of an axis' points: min .. max in num steps (one point: min). */
export function axisPoints(a: LandscapeAxis): number[] {
  if (a.num <= 1) return [a.min];
  return Array.from({ length: a.num }, (_, i) => a.min + ((a.max - a.min) * i) / (a.num - 1));
}
