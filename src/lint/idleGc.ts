// A minor GC run while the linter is idle (between two lints), so that the next lint rarely meets one.
//
// Why: a lint of a 2,000-line file allocates about 3.5 MB, and V8 scavenges its young generation every 14-16 MB. A
// scavenge that lands inside a lint also copies what that lint still holds (its working set), so it costs 2-3 ms there
// and hits about one lint in four: most of the gap between the typical re-lint and the p95 one. The editor lints after
// a 150 ms pause in typing, so the worker has idle time after every lint; the same scavenge run there finds only what
// the caches keep, and is off the typing path.
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options: { type: 'minor' }) => void;

/**
 * Only worth a pause when the young generation is at least this full. A quarter: a lint adds ~3.5 MB to a young
 * generation of up to 16 MB, so with a collection whenever it is a quarter full, a lint never fills it; below that,
 * the collection waits for the next idle moment.
 */
const MIN_YOUNG_FILL = 0.25;

let gc: Gc | null | undefined;

/**
 * V8's `gc` function: the global one when node runs with --expose-gc, else taken from a fresh context with the flag
 * set for that moment only (turned off again at once, so no other code's contexts get it). null where V8 refuses.
 */
function exposedGc(): Gc | null {
  if (gc !== undefined) return gc;
  const global = (globalThis as { gc?: unknown }).gc;
  if (typeof global === 'function') return (gc = global as Gc);
  try {
    setFlagsFromString('--expose-gc');
    const fn: unknown = runInNewContext('gc');
    gc = typeof fn === 'function' ? (fn as Gc) : null;
  } catch {
    gc = null;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
  return gc;
}

/** How full V8's young generation (its new space) is now, 0 to 1. */
export function youngGenerationFill(): number {
  for (const s of getHeapSpaceStatistics()) {
    if (s.space_name !== 'new_space') continue;
    const capacity = s.space_used_size + s.space_available_size;
    return capacity > 0 ? s.space_used_size / capacity : 0;
  }
  return 0;
}

/**
 * Runs a minor GC if the young generation holds enough garbage to be worth it; true if it ran. Call it when the
 * linter has nothing to do (the lint worker does, a moment after each answer).
 */
export function collectYoungGarbage(): boolean {
  if (youngGenerationFill() < MIN_YOUNG_FILL) return false;
  const fn = exposedGc();
  if (!fn) return false;
  fn({ type: 'minor' });
  return true;
}
