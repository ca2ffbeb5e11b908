// The lint worker's idle-time minor GC (src/lint/idleGc.ts): it really collects the young generation (run here
// without --expose-gc, as in the editor's worker), skips when there is little to collect, and leaves no `gc` behind.
import * as assert from 'node:assert/strict';
import { constants, PerformanceObserver, performance, type PerformanceEntry } from 'node:perf_hooks';
import { runInNewContext } from 'node:vm';
import { test } from 'node:test';
import { collectYoungGarbage } from '../../src/lint/idleGc';

/** About `mb` MB of objects that die at once (what a lint leaves behind). */
function garbage(mb: number): number {
  let n = 0;
  for (let i = 0; i < mb * 20_000; i++) n += [{ i, s: `x${i}` }].length;
  return n;
}

test('collectYoungGarbage runs a minor GC when a lint has left garbage, and not when there is little', async () => {
  const seen: PerformanceEntry[] = [];
  const observer = new PerformanceObserver((list) => seen.push(...list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  try {
    assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined', 'run this test without --expose-gc');
    garbage(4);
    const t0 = performance.now();
    assert.equal(collectYoungGarbage(), true);
    const t1 = performance.now();
    assert.equal(collectYoungGarbage(), false, 'the young generation was just emptied');
    await new Promise((r) => setTimeout(r, 20)); // gc entries are delivered asynchronously
    const minor = seen.filter((e) => (e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR);
    assert.ok(minor.some((e) => e.startTime >= t0 && e.startTime <= t1), 'a minor GC ran inside the call');
  } finally {
    observer.disconnect();
  }
  // The flag was set only to take V8's gc function: new contexts (other code's) do not get one.
  assert.equal(runInNewContext('typeof gc'), 'undefined');
  assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined');
});
