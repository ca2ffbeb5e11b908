// The Try it box without VS Code: which inputs take an image, pixels -> tensor, area downsampling, top-k with or
// without softmax, labels from metadata, and a real onnxruntime-node session on a digits model trained by PyTorch.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { labelsFromMetadata } from '../../src/onnx/labels';
import { readOnnxModel, type OnnxDim, type OnnxModelInfo } from '../../src/onnx/read';
import { looksLikeProbabilities, pixelsToTensor, planTryIt, resizeRgba, softmax, topK } from '../../src/onnx/tryIt';
import { ModelSession } from '../../src/onnx/vscode/runtime';

function modelWithInput(shape: OnnxDim[] | null, elemType = 'float32', inputs = 1): OnnxModelInfo {
  const input = { name: 'x', elemType, elemTypeCode: 1, shape };
  return {
    irVersion: 8, opsetImports: [], producerName: '', producerVersion: '', domain: '', modelVersion: 0, docString: '', metadataProps: {},
    graph: { name: 'g', inputs: Array(inputs).fill(input), initializerInputs: [], outputs: [], initializers: [], nodes: [] },
    parameterCount: 0, parameterBytes: 0, functions: [], usesExternalData: false,
  };
}

test('image-like inputs are recognised; others say why not', () => {
  const plan = (shape: OnnxDim[] | null, t?: string, n?: number) => planTryIt(modelWithInput(shape, t, n));
  const spec = (shape: OnnxDim[]) => {
    const p = plan(shape);
    assert.ok(p.ok, `${JSON.stringify(shape)}: ${p.ok ? '' : p.reason}`);
    return p.spec;
  };
  assert.deepEqual(
    (({ channels, height, width, layout, drawable, defaultScale, dims }) => ({ channels, height, width, layout, drawable, defaultScale, dims }))(spec(['batch', 1, 28, 28])),
    { channels: 1, height: 28, width: 28, layout: 'chw', drawable: true, defaultScale: '0-1', dims: [1, 1, 28, 28] },
  );
  assert.equal(spec([1, 784]).layout, 'flat');
  assert.equal(spec([null, 64]).defaultScale, '0-16');
  assert.equal(spec(['N', 64]).height, 8);
  assert.equal(spec([1, 1, 8, 8]).defaultScale, '0-16');
  assert.equal(spec(['N', 28, 28]).layout, 'hw');
  assert.equal(spec([1, 28, 28]).layout, 'chw');
  assert.deepEqual([spec([1, 224, 224, 3]).layout, spec([1, 224, 224, 3]).drawable], ['hwc', false]);
  assert.equal(spec([1, 3, 32, 32]).drawable, false, 'RGB: image files only');
  assert.deepEqual(spec([4, 1, 28, 28]).dims, [4, 1, 28, 28], 'a fixed batch is kept');
  for (const [shape, t, n, why] of [
    [['batch', 3], 'float32', 1, /image inputs/],
    [['batch', 3, 7], 'float32', 1, /image inputs/],
    [['batch', 1, 'h', 'w'], 'float32', 1, /image inputs/],
    [null, 'float32', 1, /unknown rank/],
    [[1, 784], 'int64', 1, /float32/],
    [[1, 784], 'float32', 2, /one input/],
  ] as const) {
    const p = plan(shape as OnnxDim[] | null, t, n);
    assert.ok(!p.ok, JSON.stringify(shape));
    assert.match(p.reason, why);
  }
});

test('pixels become the tensor: scale, layout, channel repetition and luma, batch repetition', () => {
  const chw = planTryIt(modelWithInput([1, 3, 5, 5]));
  assert.ok(chw.ok);
  const gray = Array.from({ length: 25 }, (_, i) => i / 24);
  const t = pixelsToTensor(gray, 1, chw.spec, '0-255');
  assert.equal(t.length, 75);
  assert.equal(t[24], 255);
  assert.equal(t[25 + 24], 255, 'grayscale repeated in each channel plane');
  const hwc = planTryIt(modelWithInput([1, 5, 5, 1]));
  assert.ok(hwc.ok);
  const rgb = Array.from({ length: 75 }, (_, i) => (i % 3 === 0 ? 1 : 0)); // pure red
  assert.ok(Math.abs(pixelsToTensor(rgb, 3, hwc.spec, '0-1')[0]! - 0.299) < 1e-6, 'luma of red');
  const batch = planTryIt(modelWithInput([3, 64]));
  assert.ok(batch.ok);
  const b = pixelsToTensor(Array(64).fill(0.5), 1, batch.spec, '0-16');
  assert.equal(b.length, 192);
  assert.ok(b.every((v) => v === 8));
  assert.throws(() => pixelsToTensor([1, 2], 1, batch.spec, '0-1'), /expected 64/);
});

test('area downsampling keeps a thin stroke\'s weight', () => {
  // 16x16 black with one white column at x=5: in 8x8 it becomes column 2 at half intensity.
  const rgba = new Uint8Array(16 * 16 * 4);
  for (let y = 0; y < 16; y++) rgba.set([255, 255, 255, 255], (y * 16 + 5) * 4);
  for (let i = 3; i < rgba.length; i += 4) rgba[i] = 255;
  const out = resizeRgba(rgba, 16, 16, 8, 8, 1);
  for (let y = 0; y < 8; y++) {
    assert.ok(Math.abs(out[y * 8 + 2]! - 0.5) < 1e-5, `row ${y}: ${out[y * 8 + 2]}`);
    assert.equal(out[y * 8 + 3], 0);
  }
  // Upsampling a 2x2 RGB image: every target pixel takes its source colour.
  const small = new Uint8Array([255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 255, 255, 255, 255]);
  const up = resizeRgba(small, 2, 2, 4, 4, 3);
  assert.deepEqual([...up.subarray(0, 3)], [1, 0, 0]);
  assert.deepEqual([...up.subarray((3 * 4 + 3) * 3, (3 * 4 + 3) * 3 + 3)], [1, 1, 1]);
});

test('top-k: softmax for scores, kept for probabilities, labels or indices', () => {
  assert.ok(looksLikeProbabilities([0.2, 0.3, 0.5]));
  assert.ok(!looksLikeProbabilities([2, -1, 0.5]));
  assert.ok(!looksLikeProbabilities([0.2, 0.2, 0.2]));
  const s = softmax([1, 2, 3]);
  assert.ok(Math.abs(s.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  const p = topK([0.1, 2.5, -1, 0.7, 3, 0, 0, 0], 5, ['a', 'b', 'c']);
  assert.ok(p.softmaxApplied);
  assert.deepEqual(p.top.map((c) => c.label), ['4', 'b', '3', 'a', '5']);
  assert.ok(Math.abs(p.top[0]!.probability - softmax([0.1, 2.5, -1, 0.7, 3, 0, 0, 0])[4]!) < 1e-12);
  const q = topK([0.1, 0.6, 0.3], 5, undefined);
  assert.ok(!q.softmaxApplied);
  assert.deepEqual(q.top.map((c) => [c.label, c.probability]), [['1', 0.6], ['2', 0.3], ['0', 0.1]]);
  assert.throws(() => topK([0, NaN], 5, undefined), /non-finite/);
});

test('labels from metadata: JSON array, JSON object, comma-separated, absent', () => {
  assert.deepEqual(labelsFromMetadata({ labels: '["cat", "dog"]' }), ['cat', 'dog']);
  assert.deepEqual(labelsFromMetadata({ class_names: '{"0": "cat", "1": "dog"}' }), ['cat', 'dog']);
  assert.deepEqual(labelsFromMetadata({ classes: 'cat, dog , bird' }), ['cat', 'dog', 'bird']);
  assert.equal(labelsFromMetadata({ author: 'x' }), undefined);
});

const python = process.env.DESCENT_TEST_PYTHON ?? join(homedir(), '.cache', 'descent-tools', 'pyvenv', 'bin', 'python');
const dir = mkdtempSync(join(tmpdir(), 'descent-onnx-tryit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('onnxruntime-node on a digits MLP trained by PyTorch: the drawn "digits" are recognised', { timeout: 120_000 }, async () => {
  const script = join(__dirname, '..', 'fixtures', 'onnx', 'make_digits.py');
  for (const variant of ['probabilities', 'logits'] as const) {
    const file = join(dir, `digits-${variant}.onnx`);
    const r = spawnSync(python, [script, file, ...(variant === 'logits' ? ['--logits'] : [])], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const model = readOnnxModel(new Uint8Array(readFileSync(file)));
    const plan = planTryIt(model);
    assert.ok(plan.ok);
    assert.equal(plan.spec.defaultScale, '0-16');
    const labels = labelsFromMetadata(model.metadataProps);
    // Samples of scikit-learn's digits (0..16), as [0, 1] pixels the way the webview sends them.
    const samples = spawnSync(python, ['-c', 'import json; from sklearn.datasets import load_digits; d = load_digits(); print(json.dumps({"x": (d.data[:20] / 16).tolist(), "y": d.target[:20].tolist()}))'], { encoding: 'utf8' });
    assert.equal(samples.status, 0, samples.stderr);
    const { x, y } = JSON.parse(samples.stdout) as { x: number[][]; y: number[] };
    const session = new ModelSession(file);
    try {
      let correct = 0;
      for (const [i, pixels] of x.entries()) {
        const res = await session.predict(pixels, 1, plan.spec, '0-16', labels);
        assert.equal(res.prediction.top.length, 5);
        assert.equal(res.prediction.softmaxApplied, variant === 'logits');
        assert.equal(res.outputName, 'probabilities');
        const sum = res.prediction.top.reduce((a, c) => a + c.probability, 0);
        assert.ok(sum <= 1 + 1e-6);
        if (res.prediction.top[0]!.label === `digit ${y[i]}`) correct++;
      }
      assert.ok(correct >= 18, `${correct}/20 digits recognised`);
      // The wrong scale (0..255 instead of 0..16) gives a different answer distribution: the choice matters.
      const wrong = await session.predict(x[0]!, 1, plan.spec, '0-255', labels);
      const right = await session.predict(x[0]!, 1, plan.spec, '0-16', labels);
      assert.notDeepEqual(wrong.prediction.top.map((c) => c.probability), right.prediction.top.map((c) => c.probability));
    } finally {
      await session.dispose();
    }
  }
});

test('a model whose file onnxruntime cannot load gives a clear error', async () => {
  const session = new ModelSession(new Uint8Array([8, 7, 0x3a, 0]));
  const plan = planTryIt(modelWithInput([1, 64]));
  assert.ok(plan.ok);
  await assert.rejects(session.predict(Array(64).fill(0), 1, plan.spec, '0-1', undefined), /onnxruntime could not load the model/);
});
