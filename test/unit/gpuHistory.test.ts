import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GpuHistory } from '../../src/environment/gpuHistory';
import { gpu, gpuReading } from './snapshots';

test('keeps a time window, oldest first, and ignores readings without GPUs', () => {
  const h = new GpuHistory(10_000, 1000);
  assert.equal(h.add(gpuReading('no-nvidia-smi')), undefined);
  for (let t = 0; t <= 20_000; t += 1000) h.add({ ...gpuReading([gpu(0, { utilizationPercent: t / 1000 }), gpu(1, { utilizationPercent: null })]), at: t });
  const s = h.snapshot();
  assert.equal(s[0]!.at, 10_000);
  assert.equal(s.at(-1)!.at, 20_000);
  assert.deepEqual(s.at(-1)!.utilization, [20, null]);
});

test('bounded number of points', () => {
  const h = new GpuHistory(1e9, 5);
  for (let t = 0; t < 100; t++) h.add({ ...gpuReading([gpu(0)]), at: t });
  assert.equal(h.snapshot().length, 5);
  assert.equal(h.snapshot()[0]!.at, 95);
});
