// File-level facts about how a script runs: seeding, CPU fallbacks, the `__main__` guard, and
// helpers for DataLoader calls and device moves. Used by the data, reproducibility, device and hyperparameter rules.
import type { PyNode } from '../parser';
import { calleeName, keywordArg, positionalArgs, receiver, unparen, type Analysis } from './index';
import { lastName } from './order';
import { parameterArguments } from './parameters';
import { scopeOf } from './scopes';
import { indexInto } from '../statements';
import { trainingLoops } from './training';
import { valueBefore } from './values';

export interface RuntimeFacts {
  /** Some call seeds an RNG (`torch.manual_seed`, `np.random.seed`, `seed_everything`, a helper `set_seed(...)`). */
  seeded: boolean;
  /** The file can run without a GPU: `cuda.is_available()`, `device_count()`, or a `"cpu"` device string. */
  cpuFallback: boolean;
  /** `torch.cuda.is_available()` (or mps / device_count) is called somewhere. */
  availabilityCheck: boolean;
  /** Distributed / multi-GPU launch code (`init_process_group`, `LOCAL_RANK`, `set_device`): GPU-only by design. */
  distributed: boolean;
  /** `if __name__ == "__main__":` */
  mainGuard: PyNode | undefined;
}

const cache = new WeakMap<Analysis, RuntimeFacts>();

export function runtimeFacts(a: Analysis): RuntimeFacts {
  let f = cache.get(a);
  if (f) return f;
  f = { seeded: false, cpuFallback: false, availabilityCheck: false, distributed: false, mainGuard: undefined };
  // The statements the node index holds (an ERROR root holds none).
  for (const top of a.root.type === 'module' ? a.root.children : []) {
    if (!top.named && !top.hasError) continue;
    const t = statementRuntime(top);
    f.seeded ||= t.seeded;
    f.cpuFallback ||= t.cpuFallback;
    f.availabilityCheck ||= t.availabilityCheck;
    f.distributed ||= t.distributed;
  }
  for (const i of a.index.of('if_statement')) {
    if (i.parent?.type === 'module' && /^__name__\s*==\s*['"]__main__['"]$/.test(i.child('condition')?.text ?? '')) f.mainGuard = i;
  }
  cache.set(a, f);
  return f;
}

type StatementRuntime = Pick<RuntimeFacts, 'seeded' | 'cpuFallback' | 'availabilityCheck' | 'distributed'>;

/** Per top-level statement node (kept while an incremental parse keeps it, with the same subtree): its calls' and strings' facts. */
const statementRuntimes = new WeakMap<PyNode, StatementRuntime>();

/** What the calls and strings of one top-level statement tell (the nodes the node index holds: `indexInto`). */
function statementRuntime(top: PyNode): StatementRuntime {
  let f = statementRuntimes.get(top);
  if (f) return f;
  f = { seeded: false, cpuFallback: false, availabilityCheck: false, distributed: false };
  const nodes = new Map<string, PyNode[]>();
  indexInto(top, nodes, []);
  for (const call of nodes.get('call') ?? []) {
    const name = calleeName(call) ?? '';
    if (/seed/i.test(name)) f.seeded = true;
    if (name === 'is_available' || name === 'device_count') f.cpuFallback = f.availabilityCheck = true;
    if (name === 'init_process_group' || name === 'set_device' || name === 'DistributedDataParallel' || name === 'DataParallel') f.distributed = true;
  }
  for (const s of nodes.get('string') ?? []) {
    const v = stringValue(s);
    if (v === 'cpu') f.cpuFallback = true;
    if (v === 'LOCAL_RANK' || v === 'WORLD_SIZE') f.distributed = true;
  }
  // A statement with an error holds tokens error recovery made up; they are rebuilt on each parse.
  if (!top.hasError) statementRuntimes.set(top, f);
  return f;
}

/** The value of a plain string literal (no f-string interpolation), else undefined. */
export function stringValue(n: PyNode | undefined): string | undefined {
  if (!n || n.type !== 'string' || n.children.some((c) => c.type === 'interpolation')) return undefined;
  const m = /^[rRbBuU]{0,2}('''|"""|'|")([\s\S]*)\1$/.exec(n.text);
  return m ? m[2] : undefined;
}

/** An integer literal's value, following one simple assignment (`workers = 4`). */
export function intValue(n: PyNode | undefined, a: Analysis): number | undefined {
  if (n?.type === 'identifier') {
    const v = a.scopes.valueAt(n.text, n);
    n = v ?? undefined;
  }
  if (n?.type !== 'integer') return undefined;
  const v = Number(n.text.replace(/_/g, ''));
  return Number.isFinite(v) ? v : undefined;
}

/** The name a call's result is assigned to (`train_loader = DataLoader(...)`, `self.train_dl = ...` -> `train_dl`). */
export function assignedName(call: PyNode): string | undefined {
  const left = assignedTarget(call);
  if (left?.type === 'identifier') return left.text;
  if (left?.type === 'attribute') return left.child('attribute')?.text;
  return undefined;
}

/**
 * The name that says what a DataLoader call loads, when it matches `kind`: the name the loader is assigned to
 * (`test_loader = DataLoader(...)`) or its dataset's (`DataLoader(test_ds)`).
 */
export function loaderNamed(call: PyNode, kind: RegExp): string | undefined {
  const dataset = positionalArgs(call)[0] ?? keywordArg(call, 'dataset');
  return [assignedName(call), dataset && lastName(dataset)].find((n) => n !== undefined && kind.test(n));
}

/** The target expression a call's result is assigned to (`x` or `self.x`). */
export function assignedTarget(call: PyNode): PyNode | undefined {
  const a = call.parent;
  if (a?.type !== 'assignment' || a.child('right') !== call) return undefined;
  const left = a.child('left');
  return left?.type === 'identifier' || left?.type === 'attribute' ? left : undefined;
}

export const TRAIN = /train/i;

/** The dataset argument names a training set: `train_ds`, `self.train_set`, `MNIST(..., train=True)`. */
export function isTrainDataset(ds: PyNode | undefined): boolean {
  if (!ds) return false;
  if (ds.type === 'identifier') return TRAIN.test(ds.text);
  if (ds.type === 'attribute') return TRAIN.test(ds.child('attribute')?.text ?? '');
  if (ds.type === 'call') return keywordArg(ds, 'train')?.text === 'True';
  if (ds.type === 'subscript') return TRAIN.test(ds.text) && !/val|test/i.test(ds.text);
  return false;
}

/**
 * DataLoader classes with torch's arguments and defaults (`dataset, batch_size=1, shuffle=False, ...`): torch's, and
 * PyTorch Geometric's subclasses that batch graphs (the legacy `torch_geometric.data` spellings too).
 */
export const DATA_LOADERS: ReadonlySet<string> = new Set([
  'torch.utils.data.DataLoader',
  'torch_geometric.loader.DataLoader',
  'torch_geometric.loader.DenseDataLoader',
  'torch_geometric.loader.dataloader.DataLoader',
  'torch_geometric.data.DataLoader',
  'torch_geometric.data.DenseDataLoader',
]);

/**
 * PyG's subgraph samplers: they pass `shuffle=` (keyword only, same default) on to torch's DataLoader, but their first
 * argument is the whole graph and their positional arguments are not torch's.
 */
export const SAMPLING_LOADERS: ReadonlySet<string> = new Set([
  'torch_geometric.loader.NeighborLoader',
  'torch_geometric.loader.LinkNeighborLoader',
]);

export function isDataLoaderQname(q: string | undefined): boolean {
  return q !== undefined && DATA_LOADERS.has(q);
}

export function isDataLoaderCall(call: PyNode, a: Analysis): boolean {
  return isDataLoaderQname(a.callee(call));
}

/** A loader of PyTorch Geometric graphs (its batches are `Data`/`Batch` objects, not tensors). */
export function isGraphLoaderQname(q: string | undefined): boolean {
  return q !== undefined && q.startsWith('torch_geometric.') && (DATA_LOADERS.has(q) || SAMPLING_LOADERS.has(q) || /^torch_geometric\.(loader|data)\.\w*(Loader|Sampler)$/.test(q));
}

/** The dataset a DataLoader call loads (first positional or `dataset=`). */
export function loaderDataset(call: PyNode): PyNode | undefined {
  return positionalArgs(call)[0] ?? keywordArg(call, 'dataset');
}

/** A DataLoader call that loads training data, judged by the name it is assigned to or its dataset. */
export function isTrainLoader(call: PyNode): boolean {
  const name = assignedName(call);
  const ds = loaderDataset(call);
  if (/iter|stream/i.test(ds?.text ?? '')) return false;
  if (name !== undefined && /val|valid|test|eval/i.test(name)) return false;
  return (name !== undefined && TRAIN.test(name)) || isTrainDataset(ds);
}

/** The last argument node of a call (where `, key=value` is appended), comments excluded. */
export function lastArgument(call: PyNode): PyNode | undefined {
  return call.child('arguments')?.namedChildren.filter((c) => c.type !== 'comment').pop();
}

/** `x.to(...)` / `x.cuda(...)` call moving `x` to a device: returns the device argument text ('' for `.cuda()`). */
export function deviceMove(call: PyNode): { target: PyNode; device: PyNode | undefined } | undefined {
  const name = calleeName(call);
  const recv = receiver(call);
  if (!recv || (name !== 'to' && name !== 'cuda')) return undefined;
  if (name === 'cuda') return { target: recv, device: positionalArgs(call)[0] };
  const dev = positionalArgs(call)[0] ?? keywordArg(call, 'device');
  if (!dev) return undefined;
  // `.to(torch.float16)` is a dtype change, not a move
  if (/(^|\.)(float|half|bfloat|double|int|long|bool|uint|float16|float32|float64|bfloat16)\d*$/.test(dev.text) || /dtype/.test(dev.text)) return undefined;
  return { target: recv, device: dev };
}

/** Whether a device expression is surely a GPU (`'cuda'`, `'cuda:0'`, `torch.device('cuda')`, a name bound to those). */
export function isSurelyCuda(dev: PyNode | undefined, a: Analysis, depth = 0): boolean {
  if (!dev || depth > 3) return false;
  const s = stringValue(dev);
  if (s !== undefined) return /^cuda(:\d+)?$/.test(s);
  if (dev.type === 'call' && a.callee(dev) === 'torch.device') return isSurelyCuda(positionalArgs(dev)[0], a, depth + 1);
  if (dev.type === 'identifier') {
    const v = a.scopes.valueAt(dev.text, dev);
    return v ? isSurelyCuda(v, a, depth + 1) : false;
  }
  return false;
}

/** The device expression may be a GPU: surely cuda, or a conditional / name that mentions cuda. */
export function mayBeCuda(dev: PyNode | undefined, a: Analysis, depth = 0): boolean {
  if (!dev || depth > 3) return false;
  if (isSurelyCuda(dev, a)) return true;
  if (dev.type === 'identifier') {
    const v = a.scopes.valueAt(dev.text, dev);
    if (v) return mayBeCuda(v, a, depth + 1);
    return false;
  }
  if (dev.type === 'attribute' && dev.child('object')?.text === 'self') {
    const cls = dev.ancestor('class_definition');
    const values = cls ? a.scopes.selfAttr(cls, dev.child('attribute')?.text ?? '') : [];
    return values.some((v) => mayBeCuda(v, a, depth + 1));
  }
  return /cuda/.test(dev.text);
}

/** Same scope (function or module) for two nodes. */
export function sameScope(x: PyNode, y: PyNode): boolean {
  return scopeOf(x) === scopeOf(y);
}

/** The statement directly inside a block (or the module) that contains a node. */
export function statementOf(n: PyNode): PyNode {
  let s = n;
  while (s.parent && s.parent.type !== 'block' && s.parent.type !== 'module') s = s.parent;
  return s;
}

/** `M.parameters()` (also inside `filter(..., M.parameters())`) passed as an optimizer's params: returns `M`. */
export function optimizedModel(call: PyNode): PyNode | undefined {
  let params = positionalArgs(call)[0] ?? keywordArg(call, 'params');
  if (params?.type === 'call' && calleeName(params) === 'filter') params = positionalArgs(params)[1];
  if (params?.type !== 'call' || calleeName(params) !== 'parameters' || positionalArgs(params).length > 0) return undefined;
  const m = receiver(params);
  return m && (m.type === 'identifier' || m.type === 'attribute') ? m : undefined;
}

export function isOptimizerConstructor(q: string | undefined): boolean {
  return q !== undefined && /^torch\.optim\.[A-Z]\w*$/.test(q);
}

/** A DataLoader a training loop iterates: the loop (whose own body steps an optimizer after a backward pass). */
export interface TrainedLoader {
  loop: PyNode;
}

const trainedCache = new WeakMap<Analysis, Map<PyNode, TrainedLoader>>();

/** Calls that wrap an iterable and yield its items (`enumerate(loader)`, `tqdm(loader)`). */
export const ITER_WRAPPERS = new Set(['enumerate', 'tqdm', 'iter', 'track', 'progress_bar', 'progressbar']);

/**
 * The loader calls `walk` finds from the iterable of each training loop's `for`, each with the first such loop,
 * memoised in `cache` per Analysis (how the iterable is followed is the caller's: `trainedLoaders`, reachingLoaders.ts).
 */
export function loadersOfTrainingLoops(
  a: Analysis,
  cache: WeakMap<Analysis, Map<PyNode, TrainedLoader>>,
  walk: (iterable: PyNode | undefined, out: Set<PyNode>) => void,
): Map<PyNode, TrainedLoader> {
  let m = cache.get(a);
  if (m) return m;
  m = new Map();
  cache.set(a, m);
  for (const u of trainingLoops(a).updates) {
    if (u.loop.type !== 'for_statement') continue;
    const found = new Set<PyNode>();
    walk(u.loop.child('right') ?? undefined, found);
    for (const c of found) if (!m.has(c)) m.set(c, { loop: u.loop });
  }
  return m;
}

/**
 * The DataLoader calls (torch's or PyG's) that a training loop iterates, directly (`for x, y in loader:`, through
 * `enumerate` / `tqdm`) or through the parameter of the function it is passed to (`train(model, loader)`) or a
 * `self.loader` set from one. The loop must step an optimizer in its own body (or a step function it calls) and run a
 * backward pass (analysis/training.ts).
 */
export function trainedLoaders(a: Analysis): Map<PyNode, TrainedLoader> {
  return loadersOfTrainingLoops(a, trainedCache, (iterable, out) => loaderCalls(iterable, a, 0, out, new Set()));
}

function loaderCalls(expr: PyNode | undefined, a: Analysis, depth: number, out: Set<PyNode>, seen: Set<PyNode>): void {
  const e = unparen(expr);
  if (!e || depth > 8 || seen.has(e)) return;
  seen.add(e);
  if (e.type === 'call') {
    const q = a.callee(e);
    if (isDataLoaderQname(q) || (q !== undefined && SAMPLING_LOADERS.has(q))) {
      out.add(e);
      return;
    }
    const name = calleeName(e);
    if (name && ITER_WRAPPERS.has(name)) loaderCalls(positionalArgs(e)[0], a, depth + 1, out, seen);
    return;
  }
  if (e.type === 'identifier') {
    const v = valueBefore(a, e);
    if (v) return loaderCalls(v, a, depth + 1, out, seen);
    if (v === null && !a.scopes.elementAt(e.text, e)) {
      for (const arg of parameterArguments(a, e) ?? []) loaderCalls(arg, a, depth + 1, out, seen);
    }
    return;
  }
  if (e.type === 'attribute' && e.child('object')?.text === 'self') {
    const cls = e.ancestor('class_definition');
    const attr = e.child('attribute')?.text;
    if (cls && attr) for (const v of a.scopes.selfAttr(cls, attr)) loaderCalls(v, a, depth + 1, out, seen);
  }
}
