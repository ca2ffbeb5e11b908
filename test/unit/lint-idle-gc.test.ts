// The lint worker's idle-time minor GC (src/lint/idleGc.ts): it really collects the young generation (run here
// without --expose-gc, as in the editor's worker), skips when there is little to collect, and leaves no `gc` behind.
import * as assert from 'node:assert/strict';
import { constants, PerformanceObserver, performance, type PerformanceEntry } from 'node:perf_hooks';
import { runInNewContext } from 'node:vm';
import { test } from 'node:test';
import { collectYoungGarbage, youngGenerationFill } from '../../src/lint/idleGc';

/** Objects that die at once (what a lint leaves behind) until the young generation is at least `fill` full. */
function garbageUntil(fill: number): void {
  for (let round = 0; round < 10_000 && youngGenerationFill() < fill; round++) {
    let n = 0;
    for (let i = 0; i < 2_000; i++) n += [{ i, s: `x${i}` }].length;
    if (n < 0) throw new Error('unreachable');
  }
  assert.ok(youngGenerationFill() >= fill, `the young generation never got ${fill} full`);
}

test('collectYoungGarbage runs a minor GC when a lint has left garbage, and not when there is little', async () => {
  const seen: PerformanceEntry[] = [];
  const observer = new PerformanceObserver((list) => seen.push(...list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  try {
    assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined', 'run this test without --expose-gc');
    garbageUntil(0.3);
    const t0 = performance.now();
    assert.equal(collectYoungGarbage(), true);
    const t1 = performance.now();
    assert.ok(youngGenerationFill() < 0.25, `the young generation was just emptied (fill ${youngGenerationFill()})`);
    assert.equal(collectYoungGarbage(), false, 'nothing worth a pause');
    // gc entries are delivered asynchronously: wait for the one inside the call (up to 5 s on a loaded machine)
    const inside = () =>
      seen.some((e) => (e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR && e.startTime >= t0 && e.startTime <= t1);
    for (let waited = 0; waited < 5000 && !inside(); waited += 20) await new Promise((r) => setTimeout(r, 20));
    assert.ok(inside(), 'a minor GC ran inside the call');
  } finally {
    observer.disconnect();
  }
  // The flag was set only to take V8's gc function: new contexts (other code's) do not get one.
  assert.equal(runInNewContext('typeof gc'), 'undefined');
  assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined');
});
