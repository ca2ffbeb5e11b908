import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Series, SeriesSet } from '../../src/runs/format/series';

test('every point is kept up to the cap', () => {
  const s = new Series(100);
  for (let i = 0; i < 100; i++) s.add(i, i * 2, 1000 + i, 0);
  assert.equal(s.length, 100);
  assert.equal(s.generation, 0);
  assert.deepEqual(s.committed(98), [
    { step: 98, t: 1098, epoch: 0, value: 196 },
    { step: 99, t: 1099, epoch: 0, value: 198 },
  ]);
});

test('a million points stay under the cap, in step order, with exact last, min and max', () => {
  const cap = 4096;
  const s = new Series(cap);
  const n = 1_000_000;
  let trueMin = Infinity;
  let trueMax = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = Math.sin(i / 1000) + (i === 654_321 ? 50 : 0) + (i === 123_457 ? -40 : 0);
    trueMin = Math.min(trueMin, v);
    trueMax = Math.max(trueMax, v);
    s.add(i, v);
    assert.ok(s.length <= cap);
  }
  const pts = s.points();
  assert.ok(pts.length <= cap + 3 && pts.length > cap / 4, `${pts.length} points`);
  for (let i = 1; i < pts.length; i++) assert.ok(pts[i]!.step > pts[i - 1]!.step);
  assert.equal(pts.at(-1)!.step, n - 1);
  assert.equal(s.stats.last!.step, n - 1);
  assert.equal(s.stats.count, n);
  assert.deepEqual(s.stats.max, { value: trueMax, step: 654_321 });
  assert.deepEqual(s.stats.min, { value: trueMin, step: 123_457 });
  // The spikes survive decimation.
  assert.ok(pts.some((p) => p.step === 654_321));
  assert.ok(pts.some((p) => p.step === 123_457));
  assert.ok(s.generation > 0);
  assert.ok(s.bucketWidth >= n / cap);
});

test('NaN and infinities survive decimation and are counted', () => {
  const s = new Series(64);
  for (let i = 0; i < 10_000; i++) s.add(i, i === 5000 ? NaN : i === 7000 ? Infinity : 1);
  const pts = s.points();
  assert.ok(pts.some((p) => p.step === 5000 && Number.isNaN(p.value)));
  assert.ok(pts.some((p) => p.step === 7000 && p.value === Infinity));
  assert.equal(s.stats.nonFinite, 2);
  assert.equal(s.stats.firstNonFinite!.step, 5000);
  assert.deepEqual(s.stats.max, { value: 1, step: 0 });
});

test('deltas: points past a seen length are new until a compaction raises the generation', () => {
  const s = new Series(16);
  for (let i = 0; i < 10; i++) s.add(i, i);
  const seen = s.length;
  for (let i = 10; i < 16; i++) s.add(i, i);
  assert.equal(s.generation, 0);
  assert.deepEqual(s.committed(seen).map((p) => p.step), [10, 11, 12, 13, 14, 15]);
  s.add(16, 16);
  assert.equal(s.generation, 1);
  assert.ok(s.length <= 9);
});

test('a series set keys series by metric and split', () => {
  const set = new SeriesSet(32);
  set.addRecord({ step: 0, t: 1, epoch: 0, split: 'train', values: { loss: 2, acc: 0.1 } });
  set.addRecord({ step: 0, t: 2, epoch: 0, split: 'val', values: { loss: 3 } });
  set.addRecord({ step: 1, t: 3, epoch: undefined, split: 'train', values: { loss: 1 } });
  assert.equal(set.entries().length, 3);
  assert.deepEqual(set.find('loss', 'train')!.points().map((p) => p.value), [2, 1]);
  assert.ok(Number.isNaN(set.find('loss', 'train')!.points()[1]!.epoch));
  assert.equal(set.find('loss', undefined), undefined);
});
