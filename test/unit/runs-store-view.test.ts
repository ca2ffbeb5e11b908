import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeriesSet } from '../../src/runs/format/series';
import { formatDuration, formatProgress, formatValue, runProgress } from '../../src/runs/view/progress';
import { emaSmooth } from '../../src/runs/view/smoothing';
import { DeltaTracker } from '../../src/runs/view/wire';

test('EMA smoothing is debiased like TensorBoard: a constant stays constant; NaN passes through', () => {
  assert.deepEqual(emaSmooth([2, 2, 2], 0.9).map((v) => Number(v.toFixed(12))), [2, 2, 2]);
  const s = emaSmooth([0, 10, NaN, 10], 0.5);
  assert.equal(s[0], 0);
  assert.ok(Math.abs(s[1]! - 10 * 0.5 / 0.75) < 1e-9);
  assert.ok(Number.isNaN(s[2]!));
  assert.deepEqual(emaSmooth([1, 5], 0), [1, 5]);
});

test('progress in epochs from hyperparameters, with an ETA from the recent rate', () => {
  const set = new SeriesSet();
  // 10 steps per epoch, one step per second; 0-based epochs; now in epoch 2 (the third), step 25.
  for (let step = 0; step <= 25; step++) set.addRecord({ step, t: 1000 + step, epoch: Math.floor(step / 10), split: 'train', values: { loss: 1 } });
  const p = runProgress({ epochs: 10 }, set, true)!;
  assert.equal(p.unit, 'epoch');
  assert.equal(p.done, 3);
  assert.equal(p.total, 10);
  assert.ok(p.etaSeconds !== null && p.etaSeconds > 60 && p.etaSeconds < 90, `eta ${p.etaSeconds}`);
  assert.match(formatProgress(p), /^epoch 3\/10, ETA 1m \d\ds$/);
  assert.equal(runProgress({ epochs: 10 }, set, false)!.etaSeconds, null, 'no ETA when not running');
  assert.equal(runProgress({ lr: 0.1 }, set, true), null, 'no total: no progress');
  const steps = runProgress({ max_steps: 100 }, set, true)!;
  assert.deepEqual([steps.unit, steps.done, steps.total], ['step', 26, 100]);
  assert.ok(steps.etaSeconds !== null && Math.abs(steps.etaSeconds - 74) < 2);
});

test('formatting', () => {
  assert.equal(formatDuration(125), '2m 05s');
  assert.equal(formatDuration(3 * 3600 + 60), '3h 01m');
  assert.equal(formatValue(0.123456), '0.1235');
  assert.equal(formatValue(NaN), 'NaN');
  assert.equal(formatValue(1e-5), '1.00e-5');
});

test('deltas carry only new committed points; a generation change resends the series', () => {
  const set = new SeriesSet(16);
  const tracker = new DeltaTracker();
  for (let i = 0; i < 5; i++) set.addRecord({ step: i, t: undefined, epoch: undefined, split: 'train', values: { loss: i } });
  const snap = tracker.collect('r', set, 0, true);
  assert.equal(snap.length, 1);
  assert.equal(snap[0]!.from, 0);
  assert.deepEqual(snap[0]!.committed.step, [0, 1, 2, 3, 4]);
  assert.equal(tracker.collect('r', set, 0, false).length, 0, 'nothing new: nothing sent');
  set.addRecord({ step: 5, t: undefined, epoch: undefined, split: 'train', values: { loss: NaN } });
  const d = tracker.collect('r', set, 0, false);
  assert.equal(d[0]!.from, 5);
  assert.deepEqual(d[0]!.committed.step, [5]);
  assert.deepEqual(d[0]!.committed.value, ['NaN']);
  assert.deepEqual(d[0]!.committed.t, [null]);
  // Past the cap: a compaction rewrites the past, so everything is sent again.
  for (let i = 6; i < 40; i++) set.addRecord({ step: i, t: undefined, epoch: undefined, split: 'train', values: { loss: i } });
  const full = tracker.collect('r', set, 0, false);
  assert.equal(full[0]!.from, 0);
  assert.ok(full[0]!.committed.step.length <= 16);
  assert.equal(full[0]!.count, 40);
  // The run's files were read again from the start: resend too.
  assert.equal(tracker.collect('r', set, 1, false)[0]!.from, 0);
});
