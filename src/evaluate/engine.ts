// The evaluation loop: one onnxruntime session, the dataset read batch by batch, argmax of each output row. Runs
// wherever it is given onnxruntime: in the worker thread (VS Code) or in the CLI's own process. No vscode import.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type * as OrtModule from 'onnxruntime-node';
import { labelsFromMetadata } from '../onnx/labels';
import { readOnnxModel } from '../onnx/read';
import { planInput } from './preprocess';
import { openDataset } from './readers/dataset';
import { EvaluationCancelled, EvaluationError, type EvaluationProgress, type EvaluationRequest, type EvaluationResult } from './types';

export type Ort = typeof OrtModule;

export interface EngineHooks {
  onProgress?(p: EvaluationProgress): void;
  /** Checked between batches. */
  cancelled?(): boolean;
}

/** 2^i for i in -127..0, for expNonPositive. */
const POW2 = Float64Array.from({ length: 128 }, (_, i) => 2 ** (i - 127));

/**
 * e^x for x <= 0, within 1e-7 relative error (float32 keeps 6e-8): 2^(x log2 e) split into 2^i (a table) and 2^f,
 * f in [0, 1), by a degree-5 polynomial fitted to 2^f's relative error (8.4e-8). The confidence of every sample takes
 * k exponentials; Math.exp, then a degree-8 Taylor polynomial, were the engine's largest own cost on small models.
 */
export function expNonPositive(x: number): number {
  if (x < -87) return 0;
  const t = x * Math.LOG2E;
  const i = Math.floor(t);
  const f = t - i;
  const p = 1 + f * (0.6931513628656083 + f * (0.2401641535126347 + f * (0.0558004470615179 + f * (0.009016687624483226 + f * 0.0018671828641292278))));
  return p * POW2[i + 127]!;
}

/** Argmax and its probability for `rows` rows of `k` scores (probabilities kept as they are, logits softmaxed). */
export function argmaxRows(scores: Float32Array | Float64Array, rows: number, k: number, pred: Int32Array, conf: Float32Array, at: number): void {
  const cut = -17 - Math.log(k);
  for (let r = 0; r < rows; r++) {
    const o = r * k;
    if (k === 1) {
      // One score: a binary classifier (a probability, or a logit when outside [0, 1]).
      const v = scores[o]!;
      const p = v >= 0 && v <= 1 ? v : 1 / (1 + Math.exp(-v));
      pred[at + r] = p >= 0.5 ? 1 : 0;
      conf[at + r] = p >= 0.5 ? p : 1 - p;
      continue;
    }
    let best = 0;
    let max = scores[o]!;
    let sum = 0;
    let probabilities = true;
    for (let j = 0; j < k; j++) {
      const v = scores[o + j]!;
      if (v > max || Number.isNaN(max)) {
        max = v;
        best = j;
      }
      if (!(v >= 0 && v <= 1)) probabilities = false;
      sum += v;
    }
    pred[at + r] = best;
    if (probabilities && Math.abs(sum - 1) < 1e-3) conf[at + r] = max;
    else {
      let z = 0;
      for (let j = 0; j < k; j++) {
        const d = scores[o + j]! - max;
        // The maximum's own term is 1: the k - 1 terms below e^cut add under 4e-8, lost in the float32 confidence.
        if (d > cut) z += expNonPositive(d);
      }
      conf[at + r] = 1 / z;
    }
  }
}

async function createSession(ort: Ort, modelPath: string, threads: number) {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(modelPath);
  } catch (e) {
    throw new EvaluationError(`cannot read ${modelPath}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  let metadata: Record<string, string>;
  try {
    metadata = readOnnxModel(bytes).metadataProps;
  } catch (e) {
    throw new EvaluationError(`${basename(modelPath)} is not an ONNX model (${(e as Error).message}). Export one with torch.onnx.export(model, example, "${basename(modelPath)}").`);
  }
  try {
    const session = await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    return { session, metadata };
  } catch (e) {
    throw new EvaluationError(`onnxruntime could not load ${basename(modelPath)}: ${(e as Error).message}`);
  }
}

export async function runEvaluation(ort: Ort, req: EvaluationRequest, hooks: EngineHooks = {}): Promise<EvaluationResult> {
  if (!(req.batchSize >= 1)) throw new EvaluationError('batch size must be at least 1');
  if (!(req.threads >= 1)) throw new EvaluationError('threads must be at least 1');
  const { session, metadata } = await createSession(ort, req.modelPath, req.threads);
  try {
    const inputs = session.inputMetadata;
    if (inputs.length !== 1) throw new EvaluationError(`the model has ${inputs.length} inputs (${session.inputNames.join(', ')}); evaluation feeds one input tensor`);
    const input = inputs[0]!;
    if (!input.isTensor || input.type !== 'float32') throw new EvaluationError(`the model input '${input.name}' is ${input.isTensor ? input.type : 'not a tensor'}; evaluation feeds float32 tensors`);
    const output = session.outputMetadata[0]!;
    const outShape = output.isTensor ? output.shape : [];
    const k0 = typeof outShape[outShape.length - 1] === 'number' && outShape.length >= 2 ? (outShape[outShape.length - 1] as number) : undefined;

    const dataset = await openDataset(req.data);
    const plan = planInput(dataset, input.name, input.shape, req.preprocessing);
    const yTrue = await dataset.labels();
    const metaLabels = labelsFromMetadata(metadata);
    let labels: string[] | undefined;
    let labelSource: EvaluationResult['labelSource'] = 'indices';
    if (dataset.classNames) {
      labels = dataset.classNames;
      labelSource = 'dataset';
      if (k0 !== undefined && k0 > 1 && k0 !== labels.length) {
        throw new EvaluationError(`${dataset.description} has ${labels.length} classes (${labels.slice(0, 4).join(', ')}${labels.length > 4 ? ', …' : ''}) but the model outputs ${k0} scores per sample`);
      }
    } else if (metaLabels && (k0 === undefined || k0 === metaLabels.length || (k0 === 1 && metaLabels.length === 2))) {
      labels = metaLabels;
      labelSource = 'model metadata';
    }
    const nKnown = labels?.length ?? (k0 === 1 ? 2 : k0);
    if (nKnown !== undefined) checkLabels(yTrue, nKnown, dataset.description);

    const count = dataset.count;
    const yPred = new Int32Array(count);
    const confidence = new Float32Array(count);
    const batchDim = input.shape[0];
    const fixedBatch = typeof batchDim === 'number' && batchDim > 0 ? batchDim : undefined;
    const batchSize = fixedBatch ?? req.batchSize;
    const started = performance.now();
    let done = 0;
    let k = k0;
    // onnxruntime-node runs a session on the calling thread, so inference and this loop take turns; what overlaps
    // them is the next file read, already under way in libuv's pool (readers/arrays.ts).
    for await (const batch of dataset.batches(batchSize)) {
      if (hooks.cancelled?.()) throw new EvaluationCancelled();
      let x = plan.toTensor(batch);
      const rows = batch.count;
      if (fixedBatch !== undefined && rows < fixedBatch) {
        // A model exported with a fixed batch size: pad the last batch with zeros, drop the padded rows' outputs.
        const padded = new Float32Array(fixedBatch * plan.sampleSize);
        padded.set(x);
        x = padded;
      }
      const result = await session.run({ [input.name]: new ort.Tensor('float32', x, [fixedBatch ?? rows, ...plan.sampleShape]) });
      const out = result[output.name]!;
      if (out.type !== 'float32' && out.type !== 'float64') throw new EvaluationError(`the model output '${output.name}' is ${out.type}; evaluation expects class scores (float32)`);
      const kNow = out.dims.length >= 2 ? Number(out.dims[out.dims.length - 1]) : 1;
      if (k === undefined) {
        k = kNow;
        checkLabels(yTrue, labels?.length ?? (k === 1 ? 2 : k), dataset.description);
      }
      argmaxRows(out.data as Float32Array, rows, kNow, yPred, confidence, done);
      for (const v of Object.values(result)) v.dispose();
      done += rows;
      const elapsed = (performance.now() - started) / 1000;
      hooks.onProgress?.({ done, total: count, elapsed, eta: (elapsed / done) * (count - done) });
    }
    if (done !== count) throw new EvaluationError(`${dataset.description}: read ${done} samples, expected ${count}`);
    const seconds = (performance.now() - started) / 1000;
    const n = labels?.length ?? (k === 1 ? 2 : (k ?? 0));
    return {
      modelPath: req.modelPath,
      dataPath: req.data.path,
      labels: labels ?? Array.from({ length: n }, (_, i) => String(i)),
      labelSource,
      yTrue,
      yPred,
      confidence,
      ...(dataset.samplePaths ? { samplePaths: dataset.samplePaths } : {}),
      inputName: input.name,
      inputShape: [...input.shape],
      batchSize,
      threads: req.threads,
      seconds,
      samplesPerSecond: seconds > 0 ? count / seconds : 0,
    };
  } finally {
    await session.release();
  }
}

/** Labels out of 0..n-1 name the first bad sample. */
export function checkLabels(yTrue: Int32Array, n: number, description: string): void {
  for (let i = 0; i < yTrue.length; i++) {
    const y = yTrue[i]!;
    if (y < 0 || y >= n) {
      throw new EvaluationError(`label ${y} of sample ${i} in ${description} is out of range: the model has ${n} classes (0..${n - 1}). Check that the labels are class ids of this model.`);
    }
  }
}
