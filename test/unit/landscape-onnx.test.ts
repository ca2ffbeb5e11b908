// The ONNX engine: on the ONNX export of the same model, with the same directions (the torch engine's, converted)
// and data, both engines agree to 1e-4; random directions are filter-normalised like the torch engine's; weights
// become graph inputs; a cancelled computation resumes to the same values.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type * as OrtModule from 'onnxruntime-node';
import { computeOnnxLandscape, weightInitializers, type OnnxLandscapeRequest } from '../../src/landscape/onnx/engine';
import { decodeDirections, gaussian, randomDirection, type WeightTensor } from '../../src/landscape/onnx/directions';
import { withInitializersAsInputs } from '../../src/landscape/onnx/graphInputs';
import { readInitializerFloat32, readOnnxModel } from '../../src/onnx/read';
import { gridValues, parseLandscapeText, type LandscapeResult } from '../../src/protocol/landscape';

const ort = createRequire(__filename)('onnxruntime-node') as typeof OrtModule;
const python = process.env.DESCENT_TEST_PYTHON ?? join(homedir(), '.cache', 'descent-tools', 'pyvenv', 'bin', 'python');
let dir = '';
let torchResult: LandscapeResult;

function read(file: string): LandscapeResult {
  const v = parseLandscapeText(readFileSync(file, 'utf8'));
  assert.ok(v.ok, v.ok ? '' : v.errors.join('; '));
  return v.value;
}

before(() => {
  assert.ok(existsSync(python), `Python with torch and onnx not found at ${python} (set DESCENT_TEST_PYTHON)`);
  dir = mkdtempSync(join(tmpdir(), 'descent-landscape-onnx-'));
  const r = spawnSync(python, [join(__dirname, 'landscape-onnx-models.py'), dir], {
    encoding: 'utf8',
    shell: false,
    env: { ...process.env, PYTHONPATH: join(__dirname, '..', '..', 'python') },
  });
  assert.equal(r.status, 0, r.stderr);
  torchResult = read(join(r.stdout.trim().split('\n').pop()!, 'landscape.json'));
});

after(() => rmSync(dir, { recursive: true, force: true }));

const request = (over: Partial<OnnxLandscapeRequest>): OnnxLandscapeRequest => ({
  modelPath: join(dir, 'model.onnx'),
  dataPath: join(dir, 'data.npz'),
  dir: join(dir, 'onnx'),
  dims: 2,
  x: { min: -1, max: 1, num: 5 },
  y: { min: -1, max: 1, num: 5 },
  normalization: 'filter',
  ignore: 'biasbn',
  seed: 0,
  samples: 240,
  batchSize: 100,
  threads: 1,
  ...over,
});

test('both engines agree on the ONNX export of the same model with the same directions', async () => {
  await computeOnnxLandscape(ort, request({ directionsFile: join(dir, 'directions.bin') }));
  const onnx = read(join(dir, 'onnx', 'landscape.json'));
  assert.equal(onnx.status, 'done');
  assert.equal(onnx.engine, 'onnx');
  const a = gridValues(torchResult.metrics.loss);
  const b = gridValues(onnx.metrics.loss);
  assert.equal(a.length, 25);
  let worst = 0;
  for (let k = 0; k < a.length; k++) worst = Math.max(worst, Math.abs(a[k]! - b[k]!));
  console.log(`[landscape-onnx] max |torch - onnx| loss over 25 points: ${worst.toExponential(2)}; torch origin ${torchResult.origin?.loss}, onnx ${onnx.origin?.loss}`);
  assert.ok(worst < 1e-4, `engines differ by ${worst}`);
  assert.deepEqual(gridValues(onnx.metrics.accuracy!), gridValues(torchResult.metrics.accuracy!));
  assert.ok(Math.abs(onnx.origin!.loss! - torchResult.origin!.loss!) < 1e-5);
  // The landscape is not flat: the directions really moved the weights.
  assert.ok(Math.max(...b) > 2 * Math.min(...b), `loss range ${Math.min(...b)}..${Math.max(...b)}`);
});

test('random directions: per-row norms equal the weight rows, biases not moved (ignore=biasbn)', () => {
  const bytes = new Uint8Array(readFileSync(join(dir, 'model.onnx')));
  const model = readOnnxModel(bytes);
  const weights: WeightTensor[] = weightInitializers(model).map(({ init, filterAxis }) => ({ name: init.name, dims: init.dims, values: readInitializerFloat32(bytes, init)!, filterAxis }));
  assert.deepEqual(weights.map((w) => w.name).sort(), ['fc1.bias', 'fc1.weight', 'fc2.bias', 'fc2.weight']);
  const d = randomDirection(weights, gaussian(1), 'filter', 'biasbn');
  weights.forEach((w, t) => {
    if (w.dims.length === 1) {
      assert.ok(d[t]!.every((v) => v === 0), `${w.name} is not perturbed`);
      return;
    }
    const [rows, cols] = w.dims as [number, number];
    for (let r = 0; r < rows; r++) {
      let nw = 0;
      let nd = 0;
      for (let c = 0; c < cols; c++) {
        nw += w.values[r * cols + c]! ** 2;
        nd += d[t]![r * cols + c]! ** 2;
      }
      assert.ok(Math.abs(Math.sqrt(nw) - Math.sqrt(nd)) < 1e-5 * Math.sqrt(nw), `${w.name} row ${r}`);
    }
  });
  const none = randomDirection(weights, gaussian(1), 'filter', 'none');
  const bias = weights.findIndex((w) => w.name === 'fc1.bias');
  assert.deepEqual([...none[bias]!], [...weights[bias]!.values], 'ignore=none: 1-D directions are the weights themselves (net_plotter)');
});

test('weights become graph inputs: the session takes them as feeds', async () => {
  const bytes = new Uint8Array(readFileSync(join(dir, 'model.onnx')));
  const model = readOnnxModel(bytes);
  const inits = weightInitializers(model).map((w) => w.init);
  const changed = readOnnxModel(withInitializersAsInputs(bytes, inits));
  assert.deepEqual(changed.graph.inputs.map((i) => i.name).sort(), ['fc1.bias', 'fc1.weight', 'fc2.bias', 'fc2.weight', 'x']);
  assert.deepEqual(changed.graph.initializers, [], 'moved, not copied');
  assert.deepEqual(changed.graph.inputs.find((i) => i.name === 'fc1.weight')?.shape, [16, 6]);
  const session = await ort.InferenceSession.create(withInitializersAsInputs(bytes, inits));
  assert.deepEqual([...session.inputNames].sort(), ['fc1.bias', 'fc1.weight', 'fc2.bias', 'fc2.weight', 'x']);
  await session.release();
});

test('a cancelled computation resumes from its directions and ends with the same values', async () => {
  const whole = request({ dir: join(dir, 'whole'), seed: 7 });
  await computeOnnxLandscape(ort, whole);
  const resumed = request({ dir: join(dir, 'resumed'), seed: 7 });
  let calls = 0;
  const partial = await computeOnnxLandscape(ort, resumed, { cancelled: () => ++calls > 9 });
  assert.equal(partial.status, 'cancelled');
  const mid = read(join(dir, 'resumed', 'landscape.json'));
  assert.equal(mid.progress.done, 9);
  // Resume with another seed: the folder's own directions.bin must be used, not new random ones.
  await computeOnnxLandscape(ort, { ...resumed, seed: 99, resume: true });
  const a = gridValues(read(join(dir, 'whole', 'landscape.json')).metrics.loss);
  const b = gridValues(read(join(dir, 'resumed', 'landscape.json')).metrics.loss);
  assert.deepEqual([...b], [...a]);
  assert.equal(decodeDirections(new Uint8Array(readFileSync(join(dir, 'resumed', 'directions.bin')))).length, 2);
});
