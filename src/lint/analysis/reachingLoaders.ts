// The DataLoader calls a training loop may iterate, path by path: like `trainedLoaders` (runtime.ts), but a name is
// followed to every assignment that can reach it (reaching.ts), so a loader built on one branch of an `if` and another
// kind of iterator built on the other (`train_loader = DataLoader(...)` / `train_loader = dali_iter(...)`) both count.
import type { PyNode } from '../parser';
import { calleeName, positionalArgs, unparen, type Analysis } from './index';
import { parameterArguments } from './parameters';
import { reachingDefs } from './reaching';
import { ITER_WRAPPERS, SAMPLING_LOADERS, isDataLoaderQname, loadersOfTrainingLoops, type TrainedLoader } from './runtime';

const cache = new WeakMap<Analysis, Map<PyNode, TrainedLoader>>();

/** Each DataLoader call that some path may hand to a training loop's `for`, with the loop. */
export function loadersReachingTraining(a: Analysis): Map<PyNode, TrainedLoader> {
  return loadersOfTrainingLoops(a, cache, (iterable, out) => reachingLoaders(iterable, a, 0, out, new Set()));
}

function reachingLoaders(expr: PyNode | undefined, a: Analysis, depth: number, out: Set<PyNode>, seen: Set<PyNode>): void {
  const e = unparen(expr);
  if (!e || depth > 8 || seen.has(e)) return;
  seen.add(e);
  if (e.type === 'call') {
    const q = a.callee(e);
    if (isDataLoaderQname(q) || (q !== undefined && SAMPLING_LOADERS.has(q))) out.add(e);
    else if (ITER_WRAPPERS.has(calleeName(e) ?? '')) reachingLoaders(positionalArgs(e)[0], a, depth + 1, out, seen);
    return;
  }
  if (e.type !== 'identifier') return;
  for (const d of reachingDefs(e) ?? []) {
    if (d.parameterOf) for (const arg of parameterArguments(a, e) ?? []) reachingLoaders(arg, a, depth + 1, out, seen);
    else if (d.value && d.index === undefined) reachingLoaders(d.value, a, depth + 1, out, seen);
  }
}
