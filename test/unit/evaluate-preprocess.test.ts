// Preprocessing of the ONNX evaluation: resize, colour, scale, mean/std, layout, and the shape-mismatch messages.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { argmaxRows, checkLabels, expNonPositive } from '../../src/evaluate/engine';
import { labelsFromMetadata } from '../../src/onnx/labels';
import { channelsFromRgba, planInput, resizeBilinear } from '../../src/evaluate/preprocess';
import type { RawBatch } from '../../src/evaluate/readers/dataset';
import { EvaluationError } from '../../src/evaluate/types';

const arrays = (count: number, data: number[]): RawBatch => ({ kind: 'array', count, data: Float32Array.from(data) });
const close = (a: ArrayLike<number>, b: number[], eps = 1e-5) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < eps, `at ${i}: ${a[i]} vs ${b[i]}`);
};

test('bilinear resize uses half-pixel centres like torch (align_corners=False)', () => {
  // F.interpolate(torch.tensor([[[[0., 10.]]]]), size=(1, 4), mode='bilinear') == [0, 2.5, 7.5, 10]
  close(resizeBilinear(Float32Array.from([0, 10]), 1, 2, 1, 1, 4), [0, 2.5, 7.5, 10]);
  // Downscale 4 -> 2 averages neighbours: [0,1,2,3] -> [0.5, 2.5]
  close(resizeBilinear(Float32Array.from([0, 1, 2, 3]), 1, 4, 1, 1, 2), [0.5, 2.5]);
  close(resizeBilinear(new Float32Array(12).fill(7), 2, 2, 3, 3, 5), new Array(45).fill(7));
});

test('grayscale from RGB uses ITU-R 601 luma (PIL "L")', () => {
  close(channelsFromRgba(Uint8Array.from([255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255]), 3, 1), [76.245, 149.685, 29.07], 1e-3);
});

test('fast path: samples already shaped like the input, scaled and normalised per channel (NCHW)', () => {
  const plan = planInput({ sampleShape: [2, 1, 2], description: 'x' }, 'in', ['n', 2, 1, 2], { scale: true, mean: [0.5, 0], std: [0.5, 1] });
  assert.deepEqual(plan.sampleShape, [2, 1, 2]);
  close(plan.toTensor(arrays(1, [0, 255, 255, 0])), [-1, 1, 1, 0]);
});

test('fast path: (28, 28) samples feed a (1, 28, 28) input and (8, 8) a (64,) input, unchanged', () => {
  assert.deepEqual(planInput({ sampleShape: [28, 28], description: 'x' }, 'in', ['n', 1, 28, 28], { scale: false }).sampleShape, [1, 28, 28]);
  const flat = planInput({ sampleShape: [8, 8], description: 'x' }, 'in', ['n', 64], { scale: false });
  const data = Array.from({ length: 128 }, (_, i) => i);
  assert.deepEqual(Array.from(flat.toTensor(arrays(2, data))), data);
});

test('HWC arrays are transposed to a CHW input; RGB becomes grayscale when the model takes one channel', () => {
  const hwc = [1, 2, 3, 4, 5, 6]; // 1x2 pixels, 3 channels
  const plan = planInput({ sampleShape: [1, 2, 3], description: 'x' }, 'in', [-1, 3, 1, 2], { scale: false });
  assert.deepEqual(Array.from(plan.toTensor(arrays(1, hwc))), [1, 4, 2, 5, 3, 6]);
  const gray = planInput({ sampleShape: [1, 2, 3], description: 'x' }, 'in', [-1, 1, 1, 2], { scale: false });
  close(gray.toTensor(arrays(1, hwc)), [0.299 + 1.174 + 0.342, 1.196 + 2.935 + 0.684], 1e-4);
});

test('image batches: resized to the model input, scaled, written NHWC when the model is NHWC', () => {
  const img = { width: 2, height: 1, rgba: Uint8Array.from([0, 0, 0, 255, 255, 255, 255, 255]) };
  const plan = planInput({ sampleShape: undefined, description: 'images' }, 'in', ['n', 2, 4, 3], { scale: true });
  const out = plan.toTensor({ kind: 'images', count: 1, images: [img] });
  const row = [0, 0, 0, 0.25, 0.25, 0.25, 0.75, 0.75, 0.75, 1, 1, 1];
  close(out, [...row, ...row]);
});

test('mismatches say both shapes and what to change', () => {
  const err = (f: () => unknown, re: RegExp) => assert.throws(f, (e: Error) => e instanceof EvaluationError && re.test(e.message), re.source);
  err(() => planInput({ sampleShape: [64], description: 'x in d.npz' }, 'img', ['n', 1, 16, 16], { scale: false }), /shape \(64,\) but the model input 'img' expects \(\?, 1, 16, 16\)/);
  err(() => planInput({ sampleShape: [32, 32], description: 'x' }, 'img', ['n', 1, 28, 28], { scale: false }), /Set resize to 28x28/);
  err(() => planInput({ sampleShape: [28, 28], description: 'x' }, 'img', ['n', 3, 28, 28], { scale: false, color: 'grayscale' }), /takes 3 channel\(s\): set colour to RGB/);
  err(() => planInput({ sampleShape: [3, 8, 8], description: 'x' }, 'img', ['n', 3, 8, 8], { scale: false, mean: [1, 2] }), /mean has 2 values but the model input has 3 channels/);
  err(() => planInput({ sampleShape: undefined, description: 'images' }, 'x', ['n', 10, 20], { scale: false, color: 'rgb' }), /set colour to grayscale/);
});

test('argmax: logits are softmaxed for the confidence, probabilities kept, one score is binary', () => {
  const pred = new Int32Array(3);
  const conf = new Float32Array(3);
  argmaxRows(Float32Array.from([0, Math.log(3), 0, 0.7, 0.1, 0.2]), 2, 3, pred, conf, 0);
  assert.deepEqual(Array.from(pred.subarray(0, 2)), [1, 0]);
  close(conf.subarray(0, 2), [3 / 5, 0.7]);
  argmaxRows(Float32Array.from([-2]), 1, 1, pred, conf, 2);
  assert.equal(pred[2], 0);
  close(conf.subarray(2), [1 - 1 / (1 + Math.exp(2))]);
});

test('class names from ONNX metadata: JSON array or comma-separated', () => {
  assert.deepEqual(labelsFromMetadata({ labels: '["cat", "dog"]' }), ['cat', 'dog']);
  assert.deepEqual(labelsFromMetadata({ class_names: 'a, b ,c' }), ['a', 'b', 'c']);
  assert.equal(labelsFromMetadata({ author: 'me' }), undefined);
});

test('labels out of range name the first bad sample', () => {
  assert.throws(() => checkLabels(Int32Array.from([0, 1, 9, -1]), 3, 'y in d.npz'), /label 9 of sample 2 in y in d\.npz is out of range: the model has 3 classes \(0\.\.2\)/);
  checkLabels(Int32Array.from([0, 2]), 3, 'ok');
});

test('expNonPositive matches Math.exp within 1e-7 relative error on [-87, 0] and is 0 below', () => {
  let worst = 0;
  for (let x = 0; x >= -87; x -= 0.0137) worst = Math.max(worst, Math.abs(expNonPositive(x) / Math.exp(x) - 1));
  assert.ok(worst < 1e-7, `worst relative error ${worst}`);
  assert.equal(expNonPositive(0), 1);
  assert.equal(expNonPositive(-1000), 0);
});
