// The ONNX landscape engine: an .onnx classifier and an NPZ dataset (x, y) through onnxruntime-node. The model's
// weights become graph inputs once (graphInputs.ts), so one session evaluates every grid point: weights + a d1 + b d2
// are computed in TypeScript and fed with each batch. Loss: mean cross-entropy of the logits against integer labels
// (binary cross-entropy with logits for one output column), accuracy by argmax — what the scaffold's classifiers
// train with. Writes the same landscape.json as the torch engine (engine "onnx") and directions.bin; resumes.
// Runs wherever onnxruntime-node can be required: the extension runs it in a worker thread (worker.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as OrtModule from 'onnxruntime-node';
import { readInitializerFloat32, readOnnxModel, type OnnxInitializer, type OnnxModelInfo } from '../../onnx/read';
import { openNpz } from '../../evaluate/readers/arrays';
import { LANDSCAPE_FILE, axisPoints, cellValue, parseLandscapeText, type LandscapeAxis, type LandscapeGrid } from '../../protocol/landscape';
import { decodeDirections, encodeDirections, gaussian, perturb, randomDirection, type Normalization, type WeightTensor } from './directions';
import { withInitializersAsInputs } from './graphInputs';

type Ort = typeof OrtModule;

export interface OnnxLandscapeRequest {
  modelPath: string;
  /** NPZ with samples (x) and integer labels (y). */
  dataPath: string;
  /** The landscape folder (created). */
  dir: string;
  dims: 1 | 2;
  x: LandscapeAxis;
  y?: LandscapeAxis;
  normalization: Normalization;
  ignore: 'biasbn' | 'none';
  seed: number;
  /** The first `samples` samples of the dataset. */
  samples: number;
  batchSize: number;
  /** Directions to use instead of random ones (directions.bin format); on resume the folder's own. */
  directionsFile?: string;
  resume?: boolean;
  threads?: number;
}

export interface OnnxLandscapeHooks {
  onProgress?(p: { done: number; total: number; eta: number | null }): void;
  cancelled?(): boolean;
}

export class OnnxLandscapeError extends Error {}

/** Initializers that are weights: float32 tensors that are not batch-norm running statistics nor scalar constants. */
export function weightInitializers(model: OnnxModelInfo): { init: OnnxInitializer; filterAxis: number }[] {
  const runningStats = new Set<string>();
  const matmulB = new Set<string>();
  for (const n of model.graph.nodes) {
    if (n.opType === 'BatchNormalization') for (const i of [3, 4]) if (n.inputs[i]) runningStats.add(n.inputs[i]);
    if (n.opType === 'MatMul' && n.inputs[1]) matmulB.add(n.inputs[1]);
  }
  return model.graph.initializers
    .filter((i) => i.dataTypeCode === 1 && !i.external && i.dims.length >= 1 && i.elementCount > 1 && !runningStats.has(i.name))
    .map((init) => ({ init, filterAxis: matmulB.has(init.name) ? init.dims.length - 1 : 0 }));
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

const emptyGrid = (rows: number, cols: number): LandscapeGrid => Array.from({ length: rows }, () => Array<null>(cols).fill(null));
const wire = (v: number) => (Number.isFinite(v) ? v : Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity');

export async function computeOnnxLandscape(ort: Ort, req: OnnxLandscapeRequest, hooks: OnnxLandscapeHooks = {}): Promise<Record<string, unknown>> {
  const bytes = new Uint8Array(fs.readFileSync(req.modelPath));
  const model = readOnnxModel(bytes);
  if (model.usesExternalData) throw new OnnxLandscapeError(`${path.basename(req.modelPath)} keeps weights in external data files; export it with the weights inside`);
  const chosen = weightInitializers(model);
  if (chosen.length === 0) throw new OnnxLandscapeError(`${path.basename(req.modelPath)} has no float32 weights to perturb`);
  const weights: WeightTensor[] = chosen.map(({ init, filterAxis }) => {
    const values = readInitializerFloat32(bytes, init);
    if (!values) throw new OnnxLandscapeError(`cannot read the weights ${init.name}`);
    return { name: init.name, dims: init.dims, values, filterAxis };
  });
  const free = model.graph.inputs.filter((i) => !model.graph.initializerInputs.includes(i.name));
  if (free.length !== 1) throw new OnnxLandscapeError(`the model has ${free.length} inputs; a landscape feeds one (the samples)`);
  const inputName = free[0]!.name;
  const outputName = model.graph.outputs[0]?.name;
  if (!outputName) throw new OnnxLandscapeError('the model has no output');

  // Data: the first `samples` samples, in memory.
  const dataset = await openNpz(req.dataPath);
  if (!dataset.sampleShape) throw new OnnxLandscapeError(`${dataset.description}: samples must be arrays`);
  const count = Math.min(req.samples, dataset.count);
  const labels = (await dataset.labels()).subarray(0, count);
  const sampleSize = dataset.sampleShape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(count * sampleSize);
  let read = 0;
  for await (const b of dataset.batches(Math.min(4096, Math.max(1, count)))) {
    if (b.kind !== 'array') throw new OnnxLandscapeError('image folders are not supported here: use an NPZ file');
    const take = Math.min(b.count, count - read);
    x.set(b.data.subarray(0, take * sampleSize), read * sampleSize);
    read += take;
    if (read >= count) break;
  }

  fs.mkdirSync(req.dir, { recursive: true });
  const file = path.join(req.dir, LANDSCAPE_FILE);
  const directionsFile = path.join(req.dir, 'directions.bin');
  // Directions: given, the folder's own on resume, else random from the seed.
  let d1: Float32Array[];
  let d2: Float32Array[] | null = null;
  const source = req.directionsFile ?? (req.resume && fs.existsSync(directionsFile) ? directionsFile : undefined);
  if (source) {
    const loaded = decodeDirections(new Uint8Array(fs.readFileSync(source)));
    const pick = (k: number) =>
      weights.map((w) => {
        const t = loaded[k]?.get(w.name);
        if (!t || t.values.length !== w.values.length) throw new OnnxLandscapeError(`${path.basename(source)} has no direction ${k + 1} for ${w.name} with ${w.values.length} values`);
        return t.values;
      });
    d1 = pick(0);
    if (req.dims === 2) d2 = pick(1);
  } else {
    const next = gaussian(req.seed);
    d1 = randomDirection(weights, next, req.normalization, req.ignore);
    if (req.dims === 2) d2 = randomDirection(weights, next, req.normalization, req.ignore);
  }
  const asMap = (d: Float32Array[]) => new Map(weights.map((w, t) => [w.name, { dims: w.dims, values: d[t]! }]));
  if (source !== directionsFile) fs.writeFileSync(directionsFile, encodeDirections(d2 ? [asMap(d1), asMap(d2)] : [asMap(d1)]));

  const xs = axisPoints(req.x);
  const yAxis = req.dims === 2 ? req.y ?? req.x : null;
  const ys = yAxis ? axisPoints(yAxis) : [0];
  const total = xs.length * ys.length;
  let loss = emptyGrid(ys.length, xs.length);
  let accuracy = emptyGrid(ys.length, xs.length);
  const createdAt = new Date().toISOString();
  if (req.resume && fs.existsSync(file)) {
    const prev = parseLandscapeText(fs.readFileSync(file, 'utf8'));
    if (prev.ok && prev.value.metrics.loss.length === ys.length && prev.value.metrics.loss[0]?.length === xs.length) {
      loss = prev.value.metrics.loss;
      accuracy = prev.value.metrics.accuracy ?? accuracy;
    }
  }
  const session = await ort.InferenceSession.create(withInitializersAsInputs(bytes, chosen.map((c) => c.init)), {
    intraOpNumThreads: req.threads ?? 0,
    graphOptimizationLevel: 'all',
  });
  const started = performance.now();
  let done = loss.flat().filter((c) => c !== null).length;
  const doneBefore = done;
  let lastSave = 0;
  const doc = (status: string, extra: Record<string, unknown> = {}) => {
    let min: { x: number; y: number; loss: number } | null = null;
    ys.forEach((yy, j) =>
      xs.forEach((xx, i) => {
        const v = cellValue(loss[j]![i]);
        if (Number.isFinite(v) && (min === null || v < min.loss)) min = { x: xx, y: yy, loss: v };
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    const centre = (g: LandscapeGrid) => {
      const i = xs.findIndex((v) => Math.abs(v) < 1e-12);
      const j = ys.findIndex((v) => Math.abs(v) < 1e-12);
      const c = i >= 0 && j >= 0 ? cellValue(g[j]![i]) : NaN;
      return Number.isFinite(c) ? c : null;
    };
    return {
      formatVersion: 1,
      name: path.basename(req.dir),
      status,
      engine: 'onnx',
      device: 'cpu',
      dtype: 'float32',
      model: { source: 'onnx', path: req.modelPath, parameters: weights.reduce((n, w) => n + w.values.length, 0) },
      directions: { kind: 'random', normalization: req.normalization, ignore: req.ignore, seed: req.seed, file: 'directions.bin', ...(req.directionsFile ? { from: null } : {}) },
      grid: { dims: req.dims, x: req.x, ...(yAxis ? { y: yAxis } : {}) },
      data: { split: 'train', samples: count, batchSize: req.batchSize },
      metrics: { loss, accuracy },
      progress: { done, total, elapsedSeconds: elapsed, pointsPerSecond: elapsed > 0 ? (done - doneBefore) / elapsed : null },
      origin: { loss: centre(loss), accuracy: centre(accuracy) },
      minimum: min,
      parameters: { engine: 'onnx', model: req.modelPath, data: req.dataPath, samples: count, batchSize: req.batchSize, seed: req.seed, normalization: req.normalization, ignore: req.ignore, threads: req.threads ?? 0 },
      createdAt,
      ...extra,
    };
  };
  const save = (status: string, extra?: Record<string, unknown>) => {
    const d = doc(status, extra);
    writeAtomic(file, JSON.stringify(d));
    return d;
  };
  save('running');
  const buffers = weights.map((w) => new Float32Array(w.values.length));
  try {
    for (let j = 0; j < ys.length; j++) {
      for (let i = 0; i < xs.length; i++) {
        if (loss[j]![i] !== null) continue;
        if (hooks.cancelled?.()) return save('cancelled');
        perturb(weights, d1, d2, xs[i]!, ys[j]!, buffers);
        const feedsBase: Record<string, OrtModule.Tensor> = {};
        weights.forEach((w, t) => (feedsBase[w.name] = new ort.Tensor('float32', buffers[t]!, w.dims)));
        let sum = 0;
        let correct = 0;
        for (let at = 0; at < count; at += req.batchSize) {
          const rows = Math.min(req.batchSize, count - at);
          const input = new ort.Tensor('float32', x.subarray(at * sampleSize, (at + rows) * sampleSize), [rows, ...dataset.sampleShape]);
          const out = (await session.run({ ...feedsBase, [inputName]: input }))[outputName]!;
          const logits = out.data as Float32Array;
          const k = out.dims.length >= 2 ? Number(out.dims[out.dims.length - 1]) : 1;
          for (let r = 0; r < rows; r++) {
            const label = labels[at + r]!;
            if (k === 1) {
              const z = logits[r]!;
              // BCE with logits, stable: max(z, 0) - z y + log(1 + e^-|z|).
              sum += Math.max(z, 0) - z * label + Math.log1p(Math.exp(-Math.abs(z)));
              if ((z > 0 ? 1 : 0) === label) correct++;
              continue;
            }
            let max = -Infinity;
            let arg = 0;
            for (let c = 0; c < k; c++) {
              const v = logits[r * k + c]!;
              if (v > max) {
                max = v;
                arg = c;
              }
            }
            let se = 0;
            for (let c = 0; c < k; c++) se += Math.exp(logits[r * k + c]! - max);
            sum += Math.log(se) + max - logits[r * k + label]!;
            if (arg === label) correct++;
          }
          out.dispose();
        }
        loss[j]![i] = wire(sum / count);
        accuracy[j]![i] = correct / count;
        done++;
        const now = performance.now();
        if (now - lastSave > 1000) {
          lastSave = now;
          const elapsed = (now - started) / 1000;
          const rate = (done - doneBefore) / Math.max(elapsed, 1e-9);
          save('running');
          hooks.onProgress?.({ done, total, eta: rate > 0 ? (total - done) / rate : null });
        }
      }
    }
    hooks.onProgress?.({ done, total, eta: 0 });
    return save('done', { finishedAt: new Date().toISOString() });
  } catch (e) {
    save('failed', { error: (e as Error).message });
    throw e;
  } finally {
    await session.release();
  }
}
