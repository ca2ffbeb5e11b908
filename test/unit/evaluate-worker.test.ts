// The evaluation worker thread and its client (src/evaluate/worker/) with the real onnxruntime-node: the worker is
// bundled here the way esbuild.mjs bundles dist/evaluateWorker.js; the model and data come from PyTorch and NumPy
// (test/unit/evaluate-fixtures.py --models).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import * as esbuild from 'esbuild';
import { runEvaluation, type Ort } from '../../src/evaluate/engine';
import { NpzKeyError } from '../../src/evaluate/readers/arrays';
import { readPredictionsNpz } from '../../src/evaluate/predictions';
import { EvaluationCancelled, EvaluationError, type EvaluationProgress, type EvaluationRequest } from '../../src/evaluate/types';
import { evaluateInWorker } from '../../src/evaluate/worker/client';

const python = process.env.DESCENT_TEST_PYTHON ?? join(homedir(), '.cache', 'descent-tools', 'pyvenv', 'bin', 'python');
const data = mkdtempSync(join(tmpdir(), 'descent-eval-worker-'));
// Inside the repository's node_modules so that the bundle's require('onnxruntime-node') resolves.
const cache = resolve('node_modules/.cache');
mkdirSync(cache, { recursive: true });
const out = mkdtempSync(join(cache, 'descent-eval-worker-'));
const workerPath = join(out, 'evaluateWorker.js');
const f = (name: string) => join(data, name);

before(async () => {
  assert.ok(existsSync(python), `Python with torch, numpy and onnx not found at ${python} (set DESCENT_TEST_PYTHON, or run npm run test:python once)`);
  const r = spawnSync(python, [join(__dirname, 'evaluate-fixtures.py'), data, '--models'], { encoding: 'utf8', shell: false });
  assert.equal(r.status, 0, r.stderr);
  await esbuild.build({ entryPoints: { evaluateWorker: 'src/evaluate/worker/main.ts' }, bundle: true, platform: 'node', format: 'cjs', target: 'node20', outdir: out, external: ['onnxruntime-node'], logLevel: 'warning' });
});
after(() => {
  rmSync(data, { recursive: true, force: true });
  rmSync(out, { recursive: true, force: true });
});

const request = (dataFile: string, batchSize: number, extra: Partial<EvaluationRequest> = {}): EvaluationRequest => ({
  modelPath: f('mlp.onnx'),
  data: { kind: 'npz', path: f(dataFile) },
  preprocessing: { scale: false },
  batchSize,
  threads: 1,
  ...extra,
});

/** PyTorch's own argmax on the same samples (saved by the fixture script). */
async function torchPredictions(): Promise<number[]> {
  return Array.from((await readPredictionsNpz(f('small_pred.npz'))).yPred);
}

test('worker: predictions equal PyTorch argmax and the in-process engine; progress reaches the total', async () => {
  const progress: EvaluationProgress[] = [];
  const run = evaluateInWorker(workerPath, request('small.npz', 64), (p) => progress.push(p));
  const result = await run.result;
  assert.equal(result.yPred.length, 300);
  assert.deepEqual(Array.from(result.yPred), await torchPredictions());
  assert.equal(result.labelSource, 'indices');
  assert.deepEqual(result.labels, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  assert.equal(result.inputName, 'x');
  assert.ok(result.confidence.every((c) => c > 0.1 && c <= 1), 'softmax confidences of 10 classes');
  assert.equal(progress.at(-1)?.done, 300);
  assert.equal(progress.at(-1)?.total, 300);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ort = require('onnxruntime-node') as Ort;
  const inProcess = await runEvaluation(ort, request('small.npz', 7));
  assert.deepEqual(Array.from(inProcess.yPred), Array.from(result.yPred), 'batch size does not change predictions');
});

test('worker: cancel stops between batches, before the end, and rejects with EvaluationCancelled', async () => {
  let last: EvaluationProgress | undefined;
  let cancelled = false;
  const run = evaluateInWorker(workerPath, request('long.npz', 8), (p) => {
    last = p;
    if (!cancelled) {
      cancelled = true;
      run.cancel();
    }
  });
  await assert.rejects(run.result, (e: Error) => e instanceof EvaluationCancelled);
  assert.ok(last, 'at least one progress message came before the cancel');
  assert.ok(last.done < last.total, `stopped early (${last.done} of ${last.total})`);
});

test('worker: user errors come back as EvaluationError; unknown npz keys as NpzKeyError with the keys', async () => {
  writeFileSync(f('not.onnx'), 'this is not a model');
  await assert.rejects(evaluateInWorker(workerPath, request('small.npz', 8, { modelPath: f('not.onnx') }), () => {}).result, (e: Error) => e instanceof EvaluationError && /not\.onnx is not an ONNX model/.test(e.message));
  await assert.rejects(evaluateInWorker(workerPath, request('keys.npz', 8), () => {}).result, (e: Error) => e instanceof NpzKeyError && e.keys.includes('pixels'));
  await assert.rejects(
    evaluateInWorker(workerPath, request('stored.npz', 8), () => {}).result,
    (e: Error) => e instanceof EvaluationError && /shape \(4, 4\) but the model input 'x' expects \(\?, 64\)/.test(e.message),
  );
});
