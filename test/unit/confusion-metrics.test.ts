import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  alignToLabels, classOrder, clusteredOrder, confusionFromPredictions, differenceMatrix, mostConfusedPairs, nameOrder,
  normalize, permute, summarizeConfusion,
} from '../../src/confusion/metrics';

const close = (a: number, b: number, msg?: string): void => assert.ok(Math.abs(a - b) < 1e-12, `${msg ?? ''} ${a} != ${b}`);

// 3 classes; "c" is never predicted. Rows = true: a [2,1,0], b [1,1,0], c [0,3,0].
const yTrue = [0, 0, 0, 1, 1, 2, 2, 2];
const yPred = [0, 0, 1, 0, 1, 1, 1, 1];
const labels = ['a', 'b', 'c'];

test('confusionFromPredictions counts (true, predicted) pairs, row = true', () => {
  assert.deepEqual(Array.from(confusionFromPredictions(yTrue, yPred, 3)), [2, 1, 0, 1, 1, 0, 0, 3, 0]);
  assert.deepEqual(Array.from(confusionFromPredictions(new Int32Array(0), new Int32Array(0), 2)), [0, 0, 0, 0]);
});

test('confusionFromPredictions names the bad sample', () => {
  assert.throws(() => confusionFromPredictions([0, 3], [0, 1], 3), /sample 1: true label 3 is not a class index in 0\.\.2/);
  assert.throws(() => confusionFromPredictions([0, 1], [0, -1], 3), /sample 1: predicted class -1/);
  assert.throws(() => confusionFromPredictions([0, 1], [0], 3), /same length/);
});

test('summarizeConfusion: hand-computed metrics, zero_division = 0 for a class never predicted', () => {
  const s = summarizeConfusion(confusionFromPredictions(yTrue, yPred, 3), 3, labels);
  assert.equal(s.total, 8);
  close(s.accuracy, 3 / 8);
  const [a, b, c] = s.classes;
  close(a!.precision, 2 / 3); close(a!.recall, 2 / 3); close(a!.f1, 2 / 3);
  close(b!.precision, 1 / 5); close(b!.recall, 1 / 2); close(b!.f1, 2 / 7);
  assert.deepEqual([c!.precision, c!.recall, c!.f1, c!.support, c!.predicted], [0, 0, 0, 3, 0]);
  assert.deepEqual(s.classes.map((k) => k.label), labels);
  close(s.macro.precision, (2 / 3 + 1 / 5) / 3);
  close(s.macro.recall, (2 / 3 + 1 / 2) / 3);
  close(s.macro.f1, (2 / 3 + 2 / 7) / 3);
  close(s.weighted.precision, (2 + 0.4) / 8);
  close(s.weighted.recall, 3 / 8);
  close(s.weighted.f1, (2 + 4 / 7) / 8);
});

test('summarizeConfusion: empty matrix and a class with no support', () => {
  const empty = summarizeConfusion(new Float64Array(4), 2, ['x', 'y']);
  assert.equal(empty.accuracy, 0);
  assert.deepEqual(empty.macro, { precision: 0, recall: 0, f1: 0 });
  assert.deepEqual(empty.weighted, { precision: 0, recall: 0, f1: 0 });
  // y has no true samples but is predicted once: precision 0, recall 0 (undefined -> 0), still averaged in macro.
  const s = summarizeConfusion([3, 1, 0, 0], 2, ['x', 'y']);
  assert.deepEqual([s.classes[1]!.precision, s.classes[1]!.recall, s.classes[1]!.f1], [0, 0, 0]);
  close(s.macro.recall, 0.5 * (3 / 4));
  close(s.weighted.recall, 3 / 4);
  assert.throws(() => summarizeConfusion([1, 2, 3], 2, ['x', 'y']), /4 cells/);
});

test('mostConfusedPairs: largest off-diagonal counts first, ties by rate, never the diagonal', () => {
  const m = confusionFromPredictions(yTrue, yPred, 3);
  const pairs = mostConfusedPairs(m, 3, 10);
  assert.deepEqual(pairs.map((p) => [p.trueIndex, p.predIndex, p.count]), [[2, 1, 3], [1, 0, 1], [0, 1, 1]]);
  close(pairs[0]!.rate, 1); close(pairs[1]!.rate, 1 / 2); close(pairs[2]!.rate, 1 / 3);
  assert.deepEqual(mostConfusedPairs(m, 3, 1).map((p) => [p.trueIndex, p.predIndex]), [[2, 1]]);
  assert.deepEqual(mostConfusedPairs(m, 3, 0), []);
});

test('mostConfusedPairs keeps the true top k on a large random matrix', () => {
  const n = 200;
  const m = new Float64Array(n * n).map((_, i) => ((i * 2654435761) >>> 0) % 997);
  const got = mostConfusedPairs(m, n, 25).map((p) => p.count);
  const all: number[] = [];
  for (let t = 0; t < n; t++) for (let p = 0; p < n; p++) if (t !== p && m[t * n + p]! > 0) all.push(m[t * n + p]!);
  all.sort((a, b) => b - a);
  assert.deepEqual(got, all.slice(0, 25));
});

test('normalize: row = recall on the diagonal, column = precision on the diagonal, empty lines stay 0', () => {
  const m = confusionFromPredictions(yTrue, yPred, 3);
  const s = summarizeConfusion(m, 3, labels);
  const row = normalize(m, 3, 'row');
  const col = normalize(m, 3, 'column');
  for (let i = 0; i < 3; i++) {
    close(row[i * 3 + i]!, s.classes[i]!.recall);
    close(col[i * 3 + i]!, s.classes[i]!.precision);
  }
  assert.deepEqual(Array.from(col.subarray(0, 3)), [2 / 3, 1 / 5, 0]);
  assert.deepEqual(Array.from(normalize(m, 3, 'counts')), Array.from(m));
});

test('differenceMatrix compares per-row shares, so sample counts do not matter', () => {
  const a = [8, 2, 0, 10];
  const b = [40, 60, 5, 45]; // 10x the samples
  const d = differenceMatrix(a, b, 2);
  [0.8 - 0.4, 0.2 - 0.6, 0 - 0.1, 1 - 0.9].forEach((v, i) => close(d[i]!, v));
  const same = differenceMatrix([1, 2, 3, 4], [10, 20, 30, 40], 2);
  assert.ok(same.every((v) => Math.abs(v) < 1e-12));
});

test('alignToLabels re-indexes by name; missing classes are zero', () => {
  const m = alignToLabels([1, 2, 3, 4], ['x', 'y'], ['y', 'z', 'x']);
  assert.deepEqual(Array.from(m), [4, 0, 3, 0, 0, 0, 2, 0, 1]);
});

test('nameOrder sorts naturally (class2 before class10), stable on duplicates', () => {
  assert.deepEqual(Array.from(nameOrder(['class10', 'class2', 'Apple', 'apple'])), [2, 3, 1, 0]);
  assert.deepEqual(Array.from(classOrder('index', [], 3, ['c', 'b', 'a'])), [0, 1, 2]);
});

const isPermutation = (o: ArrayLike<number>, n: number): boolean => {
  const seen = new Set(Array.from(o));
  return o.length === n && seen.size === n && Array.from(o).every((v) => v >= 0 && v < n);
};

test('clusteredOrder puts mutually confused classes side by side; unconfused ones keep index order', () => {
  const n = 6;
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) m[i * n + i] = 50;
  m[0 * n + 4] = 20; m[4 * n + 0] = 10;
  m[1 * n + 3] = 5;
  m[3 * n + 1] = 8;
  const o = Array.from(clusteredOrder(m, n));
  assert.ok(isPermutation(o, n));
  assert.equal(Math.abs(o.indexOf(0) - o.indexOf(4)), 1, `0 and 4 adjacent in ${o}`);
  assert.equal(Math.abs(o.indexOf(1) - o.indexOf(3)), 1, `1 and 3 adjacent in ${o}`);
  assert.ok(o.indexOf(2) < o.indexOf(5));
});

test('clusteredOrder recovers shuffled blocks of confused classes as contiguous runs', () => {
  const n = 100;
  const blocks = 5;
  let seed = 7;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const block = Array.from({ length: n }, (_, i) => i % blocks);
  for (let i = n - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); [block[i], block[j]] = [block[j]!, block[i]!]; }
  const m = new Float64Array(n * n);
  for (let t = 0; t < n; t++) {
    for (let p = 0; p < n; p++) m[t * n + p] = t === p ? 100 : block[t] === block[p] ? 1 + Math.floor(rand() * 10) : 0;
  }
  const o = Array.from(clusteredOrder(m, n));
  assert.ok(isPermutation(o, n));
  const seq = o.map((c) => block[c]);
  const changes = seq.filter((b, i) => i > 0 && b !== seq[i - 1]).length;
  assert.equal(changes, blocks - 1, `blocks interleaved: ${seq.join('')}`);
});

test('clusteredOrder is a permutation at 1000 classes, and permute applies an order', () => {
  const n = 1000;
  const m = new Float64Array(n * n).map((_, i) => (((i * 2654435761) >>> 0) % 1000 < 3 ? 1 : 0));
  assert.ok(isPermutation(clusteredOrder(m, n), n));
  const p = permute([1, 2, 3, 4], 2, [1, 0]);
  assert.deepEqual(Array.from(p), [4, 3, 2, 1]);
});
