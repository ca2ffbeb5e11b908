// LS009's shape facts: which expressions provably hold a 1-D target (a pandas column, `data[:, -1]`, a
// `torch.randint(0, 2, (n,))`, the batches of a TensorDataset of such a tensor) and which hold a model's (N, 1) output
// (a final `nn.Linear(_, 1)` reached through forward / nn.Sequential, or a product with a (k, 1) weight written by
// hand, with only element-wise steps after it).
// Anything not recognised is unknown, and the rule stays silent.
import { calleeName, hasKeywordSplat, keywordArg, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { torchLayers, type LayerStep } from '../../analysis/layers';
import { returnValues } from '../../analysis/modules';
import { parameterArguments } from '../../analysis/parameters';
import { DATA_LOADERS, intValue } from '../../analysis/runtime';
import { elementBefore, valueBefore } from '../../analysis/values';
import type { PyNode } from '../../parser';

export type Kind = 'frame' | 'series' | 'array' | 'tensor';

export interface Dims {
  ndim: number;
  kind: Kind;
}

const MAX_DEPTH = 20;

const READERS = new Set(['pandas.read_csv', 'pandas.read_excel', 'pandas.read_parquet', 'pandas.read_json', 'pandas.read_table', 'pandas.read_feather', 'pandas.DataFrame']);

/** DataFrame methods returning a DataFrame (without `inplace=True`). */
const FRAME_METHODS = new Set([
  'copy', 'dropna', 'fillna', 'drop', 'reset_index', 'sample', 'sort_values', 'sort_index', 'astype', 'head', 'tail', 'query',
  'assign', 'rename', 'replace', 'drop_duplicates', 'select_dtypes', 'interpolate', 'ffill', 'bfill',
]);

/** Attributes of a DataFrame that are not columns (`df.target` is a column, `df.values` is not). */
const FRAME_ATTRS = new Set(['values', 'T', 'shape', 'index', 'columns', 'iloc', 'loc', 'at', 'iat', 'dtypes', 'size', 'ndim', 'empty', 'axes', 'plot', 'style', 'attrs', 'flags', 'sparse', 'str', 'dt', 'cat']);

/** Methods that keep the number of dimensions (pandas, numpy or torch; shape-preserving). */
const KEEP_METHODS = new Set(['copy', 'fillna', 'astype', 'map', 'abs', 'round', 'clip', 'float', 'double', 'half', 'long', 'int', 'bool', 'to', 'cuda', 'cpu', 'detach', 'clone', 'contiguous', 'type', 'log', 'log1p', 'exp', 'sqrt']);
/** Of those, the ones only a tensor has (the result is a tensor). */
const TENSOR_METHODS = new Set(['float', 'double', 'half', 'long', 'int', 'bool', 'to', 'cuda', 'cpu', 'detach', 'clone', 'contiguous']);

/** Tensor constructors taking the data as first argument. */
const TENSOR_FROM = new Set(['torch.tensor', 'torch.as_tensor', 'torch.from_numpy', 'torch.Tensor', 'torch.FloatTensor', 'torch.DoubleTensor', 'torch.LongTensor', 'torch.IntTensor', 'torch.cuda.FloatTensor', 'torch.cuda.LongTensor']);
const ARRAY_FROM = new Set(['numpy.array', 'numpy.asarray', 'numpy.float32']);
/** Element-wise functions: same dimensions as their first argument. */
const ELEMENTWISE_FNS = new Set(['numpy.log', 'numpy.log1p', 'numpy.exp', 'numpy.expm1', 'numpy.sqrt', 'numpy.abs', 'numpy.round', 'numpy.clip', 'torch.log', 'torch.log1p', 'torch.exp', 'torch.sqrt', 'torch.abs', 'torch.round', 'torch.clamp']);
/** Factories whose positional arguments are the sizes. */
const FACTORIES = new Set(['torch.randn', 'torch.rand', 'torch.zeros', 'torch.ones', 'torch.empty', 'torch.randperm']);

/** `X, y = make_classification(...)`: y is 1-D (make_regression only with one target). */
const SKLEARN_XY = /^sklearn\.datasets\.make_(classification|regression|moons|circles|blobs|friedman[123]|hastie_10_2)$/;
const SKLEARN_RETURN_XY = /^sklearn\.datasets\.(load_(breast_cancer|diabetes|iris|wine|digits)|fetch_california_housing|fetch_covtype)$/;

const TENSOR_DATASETS = new Set(['torch.utils.data.TensorDataset', 'torch.utils.data.dataset.TensorDataset']);
const SPLITS = new Set(['torch.utils.data.random_split', 'torch.utils.data.dataset.random_split']);
const SUBSETS = new Set(['torch.utils.data.Subset', 'torch.utils.data.dataset.Subset']);

/** Output side: element-wise steps after the model call (`torch.sigmoid(out)`, `out.round()`, `(out > 0.5).float()`). */
const OUT_METHODS = new Set(['float', 'double', 'half', 'int', 'long', 'bool', 'detach', 'cpu', 'cuda', 'to', 'numpy', 'clone', 'contiguous', 'sigmoid', 'round', 'exp', 'relu', 'tanh', 'abs', 'expm1']);
const OUT_FNS = new Set(['torch.sigmoid', 'torch.nn.functional.sigmoid', 'torch.special.expit', 'torch.round', 'torch.exp', 'torch.relu', 'torch.tanh', 'torch.abs', 'torch.expm1', 'torch.nn.functional.relu']);
const MODULE_CHAIN = new Set(['to', 'cuda', 'cpu', 'train', 'eval', 'float', 'double', 'half']);
const WRAPPERS = new Set(['torch.nn.DataParallel', 'torch.nn.parallel.DataParallel', 'torch.nn.parallel.DistributedDataParallel', 'torch.compile']);
/** Layer steps after the last Linear that keep its (N, 1) shape. */
const KEEP_STEPS = new Set(['sigmoid', 'activation', 'dropout']);

function isNumber(n: PyNode | undefined): boolean {
  const e = unparen(n);
  if (!e) return false;
  if (e.type === 'integer' || e.type === 'float') return true;
  return e.type === 'unary_operator' && isNumber(e.child('argument'));
}

function stringLiteral(n: PyNode | undefined): boolean {
  return n?.type === 'string' && !n.children.some((c) => c.type === 'interpolation');
}

/** `x > 0.5` (one operator, a number on one side): the other side. */
function numberComparison(e: PyNode): PyNode | undefined {
  if (e.type !== 'comparison_operator') return undefined;
  const ops = e.children.filter((c) => !c.named);
  const sides = e.namedChildren.filter((c) => c.type !== 'comment');
  if (ops.length !== 1 || sides.length !== 2) return undefined;
  if (isNumber(sides[1])) return sides[0];
  if (isNumber(sides[0])) return sides[1];
  return undefined;
}

/** All agree on one value (by `same`), else undefined. */
function agree<T>(xs: (T | undefined)[], same: (x: T, y: T) => boolean): T | undefined {
  const first = xs[0];
  return first !== undefined && xs.every((x) => x !== undefined && same(first, x)) ? first : undefined;
}

const mutatedCache = new WeakMap<Analysis, Map<string, boolean>>();

const sameDims = (x: Dims, y: Dims) => x.ndim === y.ndim && x.kind === y.kind;

export class Shapes {
  /** Identifiers whose values were followed: a reshape of any of them anywhere in the file makes the answer unsafe. */
  names = new Set<string>();
  private readonly resolving = new Set<readonly PyNode[]>();

  constructor(private readonly a: Analysis) {}

  /** The dimensions an expression provably has, else undefined. */
  dims(expr: PyNode | undefined, depth = 0): Dims | undefined {
    const e = unparen(expr);
    if (!e || depth > MAX_DEPTH) return undefined;
    switch (e.type) {
      case 'identifier':
        return this.nameDims(e, depth);
      case 'subscript':
        return this.subscriptDims(e, depth);
      case 'attribute':
        return this.attributeDims(e, depth);
      case 'call':
        return this.callDims(e, depth);
      case 'comparison_operator': {
        const other = numberComparison(e);
        const d = other ? this.dims(other, depth + 1) : undefined;
        return d && d.kind !== 'frame' ? d : undefined;
      }
      case 'binary_operator': {
        const l = e.child('left');
        const r = e.child('right');
        const other = isNumber(r) ? l : isNumber(l) ? r : undefined;
        if (!other) return this.mixedDims(e, depth);
        const d = this.dims(other, depth + 1);
        return d && d.kind !== 'frame' ? d : undefined;
      }
    }
    return undefined;
  }

  /**
   * `r + GAMMA * q_next` (tensors on both sides): 1-D when one side is a provably 1-D tensor and the other is a number, a
   * 1-D tensor, or unknown but not a visible reshape (`x.unsqueeze(1)`, `x.view(-1, 1)`, `x[:, None]`): DQN targets read
   * rewards from a replay batch whose dims this cannot see.
   */
  private mixedDims(e: PyNode, depth: number): Dims | undefined {
    const op = e.children.find((c) => !c.named)?.text;
    if (op !== '+' && op !== '-' && op !== '*' && op !== '/') return undefined;
    const sides = [e.child('left'), e.child('right')].map((x) => unparen(x));
    let known: Dims | undefined;
    for (const x of sides) {
      if (!x) return undefined;
      if (isNumber(x)) continue;
      const d = this.dims(x, depth + 1);
      if (!d) {
        if (this.mayReshape(x, 0)) return undefined;
        continue;
      }
      if (d.ndim !== 1 || d.kind !== 'tensor') return undefined;
      known = d;
    }
    return known;
  }

  /** A reshape anywhere in an expression whose dims are unknown, or in the values of the names it reads (two steps). */
  private mayReshape(n: PyNode, depth: number): boolean {
    const reshaped = reshapedNames(this.a);
    let hit = false;
    n.walk((t) => {
      if (hit) return false;
      if (visibleReshape(t)) hit = true;
      else if (t.type === 'identifier' && (t.parent?.type !== 'attribute' || t.parent.child('object') === t)) {
        if (reshaped.has(t.text)) hit = true;
        else if (depth < 2) {
          const v = valueBefore(this.a, t);
          if (v && this.mayReshape(v, depth + 1)) hit = true;
        }
      }
      return undefined;
    });
    return hit;
  }

  /**
   * `q.max(1)` / `q.max(dim=1)` / `torch.max(q, 1)` (also min) over a 2-D tensor or a model output ending in a Linear: a
   * (values, indices) pair of 1-D tensors.
   */
  private rowReduction(call: PyNode, depth: number, methods = ['max', 'min']): boolean {
    const name = calleeName(call) ?? '';
    if (!methods.includes(name) || hasKeywordSplat(call)) return false;
    const q = this.a.qname(call.child('function'));
    const args = positionalArgs(call);
    let x: PyNode | undefined;
    let dim: PyNode | undefined;
    if (q === `torch.${name}`) {
      if (args.length > 2) return false;
      x = args[0];
      dim = args[1] ?? keywordArg(call, 'dim');
    } else if (!q) {
      if (args.length > 1) return false;
      x = receiver(call);
      dim = args[0] ?? keywordArg(call, 'dim');
    }
    if (!x || dim?.text !== '1' || keywordArg(call, 'keepdim')) return false;
    const d = this.dims(x, depth + 1);
    if (d) return d.ndim === 2 && d.kind === 'tensor';
    return this.columnOutput(x, depth + 1, true) !== undefined;
  }

  private nameDims(id: PyNode, depth: number): Dims | undefined {
    this.names.add(id.text);
    const v = valueBefore(this.a, id);
    if (v === undefined) return undefined;
    if (v) return conditional(v, id) ? undefined : this.dims(v, depth + 1);
    const el = elementBefore(this.a, id);
    if (el) return conditional(el.source, id) ? undefined : this.elementDims(el.source, el.index, depth + 1);
    const loop = loopOf(id);
    if (loop) return this.loopDims(loop, id, depth + 1);
    const args = parameterArguments(this.a, id);
    if (!args || this.resolving.has(args)) return undefined;
    this.resolving.add(args);
    const out = agree(args.map((x) => this.dims(x, depth + 1)), sameDims);
    this.resolving.delete(args);
    return out;
  }

  /** Element `index` of `a, b = source`: a tuple literal, or `train_test_split(X, y, ...)`. */
  private elementDims(source: PyNode, index: number, depth: number): Dims | undefined {
    const s = unparen(source);
    if (!s || depth > MAX_DEPTH) return undefined;
    if (s.type === 'tuple' || s.type === 'expression_list') return this.dims(s.namedChildren.filter((c) => c.type !== 'comment')[index], depth + 1);
    if (s.type === 'call' && this.a.callee(s) === 'sklearn.model_selection.train_test_split' && !hasKeywordSplat(s)) {
      const arrays = positionalArgs(s);
      if (index >= arrays.length * 2) return undefined;
      return this.dims(arrays[Math.floor(index / 2)], depth + 1);
    }
    if (s.type === 'call' && index <= 1) {
      const q = this.a.callee(s) ?? '';
      if (SKLEARN_XY.test(q) || (SKLEARN_RETURN_XY.test(q) && keywordArg(s, 'return_X_y')?.text === 'True' && !keywordArg(s, 'as_frame'))) {
        const targets = keywordArg(s, 'n_targets');
        if (targets && intValue(targets, this.a) !== 1) return undefined;
        return hasKeywordSplat(s) ? undefined : { ndim: 2 - index, kind: 'array' };
      }
    }
    // `xb, yb = batch` with `for batch in loader:`
    if (s.type === 'identifier' && valueBefore(this.a, s) === null && !elementBefore(this.a, s)) {
      const loop = loopOf(s);
      if (loop?.child('left')?.type === 'identifier') return this.batchDims(loop.child('right'), index, depth + 1);
    }
    return undefined;
  }

  /** A name bound by the loop `for xb, yb in loader` / `for i, (xb, yb) in enumerate(loader)`. */
  private loopDims(loop: PyNode, id: PyNode, depth: number): Dims | undefined {
    const left = loop.child('left');
    let iter = unparen(loop.child('right'));
    let target = left;
    for (let i = 0; i < 2 && iter?.type === 'call'; i++) {
      const name = calleeName(iter);
      if (name === 'tqdm' && positionalArgs(iter)[0]) iter = unparen(positionalArgs(iter)[0]);
      else if (name === 'enumerate' && iter.child('function')?.type === 'identifier' && positionalArgs(iter).length === 1) {
        const items = target?.type === 'pattern_list' || target?.type === 'tuple_pattern' ? target.namedChildren.filter((c) => c.type !== 'comment') : [];
        if (items.length !== 2) return undefined;
        target = items[1];
        iter = unparen(positionalArgs(iter)[0]);
      } else break;
    }
    if (target?.type !== 'pattern_list' && target?.type !== 'tuple_pattern') return undefined;
    const items = target.namedChildren.filter((c) => c.type !== 'comment');
    const index = items.findIndex((c) => c.type === 'identifier' && c.text === id.text);
    return index < 0 ? undefined : this.batchDims(iter, index, depth);
  }

  /** Element `index` of the batches of a DataLoader over a TensorDataset. */
  private batchDims(iter: PyNode | undefined, index: number, depth: number): Dims | undefined {
    const loader = this.resolveCall(iter, depth, DATA_LOADERS);
    if (!loader || hasKeywordSplat(loader) || keywordArg(loader, 'collate_fn') || keywordArg(loader, 'batch_sampler')) return undefined;
    const bs = positionalArgs(loader)[1] ?? keywordArg(loader, 'batch_size');
    // No batch_size: batches of 1, where (1, 1) against (1,) is harmless.
    if (!bs || bs.type === 'none' || intValue(bs, this.a) === 1) return undefined;
    const ds = this.tensorDataset(positionalArgs(loader)[0] ?? keywordArg(loader, 'dataset'), depth + 1);
    if (!ds || hasKeywordSplat(ds)) return undefined;
    const d = this.dims(positionalArgs(ds)[index], depth + 1);
    return d?.kind === 'tensor' ? d : undefined;
  }

  private tensorDataset(expr: PyNode | undefined, depth: number): PyNode | undefined {
    const e = unparen(expr);
    if (!e || depth > MAX_DEPTH) return undefined;
    if (e.type === 'identifier') {
      this.names.add(e.text);
      const v = valueBefore(this.a, e);
      if (v) return conditional(v, e) ? undefined : this.tensorDataset(v, depth + 1);
      const el = v === null ? elementBefore(this.a, e) : undefined;
      const src = unparen(el?.source);
      if (src?.type === 'call' && SPLITS.has(this.a.callee(src) ?? '')) return this.tensorDataset(positionalArgs(src)[0] ?? keywordArg(src, 'dataset'), depth + 1);
      return undefined;
    }
    if (e.type !== 'call') return undefined;
    const q = this.a.callee(e) ?? '';
    if (TENSOR_DATASETS.has(q)) return e;
    if (SUBSETS.has(q)) return this.tensorDataset(positionalArgs(e)[0] ?? keywordArg(e, 'dataset'), depth + 1);
    // `to_ds(df)`: a helper of this file that returns a TensorDataset (its parameters resolve through this call site)
    const fn = e.child('function');
    const defs = fn?.type === 'identifier' && !q ? this.a.functions.get(fn.text) : undefined;
    if (defs?.length === 1 && !defs[0]!.ancestor('class_definition')) {
      return agree(returnValues(defs[0]!).map((r) => this.tensorDataset(r, depth + 1)), (x, y) => x === y);
    }
    return undefined;
  }

  /** A call of one of `names` reached through simple assignments (and the call sites of a parameter). */
  private resolveCall(expr: PyNode | undefined, depth: number, names: ReadonlySet<string>): PyNode | undefined {
    const e = unparen(expr);
    if (!e || depth > MAX_DEPTH) return undefined;
    if (e.type === 'call') return names.has(this.a.callee(e) ?? '') ? e : undefined;
    if (e.type !== 'identifier') return undefined;
    this.names.add(e.text);
    const v = valueBefore(this.a, e);
    if (v) return conditional(v, e) ? undefined : this.resolveCall(v, depth + 1, names);
    if (v === undefined || elementBefore(this.a, e) || loopOf(e)) return undefined;
    const args = parameterArguments(this.a, e);
    if (!args || this.resolving.has(args)) return undefined;
    this.resolving.add(args);
    const calls = args.map((x) => this.resolveCall(x, depth + 1, names));
    this.resolving.delete(args);
    // Several loaders are fine if they all give the same dimensions: checked by the caller per loader would be
    // costlier; require one.
    return agree(calls, (x, y) => x === y);
  }

  private subscriptDims(e: PyNode, depth: number): Dims | undefined {
    const value = unparen(e.child('value'));
    const subs = e.childrenOf('subscript');
    if (!value || subs.some((s) => s.type === 'none' || s.type === 'ellipsis')) return undefined;
    // df.iloc[:, -1] / df.loc[:, 'y']: a column
    const attr = value.type === 'attribute' ? value.child('attribute')?.text : undefined;
    if (attr === 'iloc' || attr === 'loc') {
      if (subs.length !== 2 || !fullSlice(subs[0])) return undefined;
      const obj = this.dims(value.child('object'), depth + 1);
      if (obj?.kind === 'frame' && ((attr === 'iloc' && isNumber(subs[1])) || (attr === 'loc' && stringLiteral(subs[1])))) return { ndim: 1, kind: 'series' };
      return undefined;
    }
    // q_next.max(1)[0]: the values
    if (subs.length === 1 && subs[0]!.text === '0' && value.type === 'call' && this.rowReduction(value, depth + 1)) return { ndim: 1, kind: 'tensor' };
    const d = this.dims(value, depth + 1);
    if (!d) return undefined;
    if (subs.length === 1 && stringLiteral(subs[0])) return d.kind === 'frame' ? { ndim: 1, kind: 'series' } : undefined;
    if (d.kind === 'frame' || d.kind === 'series') return undefined;
    // data[:, -1]: a column of a 2-D array
    if (subs.length === 2 && fullSlice(subs[0]) && isNumber(subs[1])) return d.ndim === 2 ? { ndim: 1, kind: d.kind } : undefined;
    if (subs.length !== 1) return undefined;
    const s = subs[0]!;
    // y[i:i + bs] (not a one-row slice y[i:i + 1]), y[idx] with idx a permutation (slice)
    if (s.type === 'slice') return oneRow(s) ? undefined : d;
    if (s.type === 'identifier' && this.isIndexVector(s, depth + 1)) return d;
    return undefined;
  }

  /** `idx = perm[i:i + bs]` with `perm = torch.randperm(n)` / `np.random.permutation(n)`. */
  private isIndexVector(expr: PyNode | undefined, depth: number): boolean {
    const e = unparen(expr);
    if (!e || depth > MAX_DEPTH) return false;
    if (e.type === 'identifier') {
      const v = valueBefore(this.a, e);
      return !!v && this.isIndexVector(v, depth + 1);
    }
    if (e.type === 'subscript') {
      const subs = e.childrenOf('subscript');
      return subs.length === 1 && subs[0]!.type === 'slice' && !oneRow(subs[0]!) && this.isIndexVector(e.child('value'), depth + 1);
    }
    if (e.type !== 'call') return false;
    const q = this.a.callee(e);
    return q === 'torch.randperm' || q === 'numpy.random.permutation';
  }

  private attributeDims(e: PyNode, depth: number): Dims | undefined {
    const attr = e.child('attribute')?.text ?? '';
    const o = unparen(e.child('object'));
    // q_next.max(1).values
    if (attr === 'values' && o?.type === 'call' && this.rowReduction(o, depth + 1)) return { ndim: 1, kind: 'tensor' };
    const obj = this.dims(o, depth + 1);
    if (!obj) return undefined;
    if (attr === 'values') return obj.kind === 'frame' || obj.kind === 'series' ? { ndim: obj.ndim, kind: 'array' } : undefined;
    // df.target: a column
    if (obj.kind === 'frame' && !FRAME_ATTRS.has(attr) && e.parent?.type === 'attribute') {
      const next = e.parent.child('attribute')?.text;
      if (next === 'values' || (next === 'to_numpy' && e.parent.parent?.type === 'call')) return { ndim: 1, kind: 'series' };
    }
    return undefined;
  }

  private callDims(e: PyNode, depth: number): Dims | undefined {
    const fn = e.child('function');
    const q = this.a.qname(fn);
    if ((q === 'torch.amax' || q === 'torch.amin' || (!q && fn?.type === 'attribute')) && this.rowReduction(e, depth + 1, ['amax', 'amin'])) return { ndim: 1, kind: 'tensor' };
    if (q) return this.functionDims(q, e, depth);
    if (fn?.type !== 'attribute') return undefined;
    const method = fn.child('attribute')?.text ?? '';
    const recv = receiver(e);
    if (keywordArg(e, 'inplace')) return undefined;
    const d = this.dims(recv, depth + 1);
    if (!d) return undefined;
    if (method === 'to_numpy') return d.kind === 'frame' || d.kind === 'series' ? { ndim: d.ndim, kind: 'array' } : undefined;
    if (method === 'numpy') return d.kind === 'tensor' ? { ndim: d.ndim, kind: 'array' } : undefined;
    if (method === 'pop') return d.kind === 'frame' && stringLiteral(positionalArgs(e)[0]) ? { ndim: 1, kind: 'series' } : undefined;
    if (d.kind === 'frame') return FRAME_METHODS.has(method) ? d : undefined;
    if (method === 'map' && d.kind !== 'series') return undefined;
    if (!KEEP_METHODS.has(method)) return undefined;
    if (TENSOR_METHODS.has(method)) return d.kind === 'tensor' ? d : undefined;
    return d;
  }

  private functionDims(q: string, e: PyNode, depth: number): Dims | undefined {
    const args = positionalArgs(e);
    if (READERS.has(q)) return { ndim: 2, kind: 'frame' };
    if (TENSOR_FROM.has(q)) {
      const d = this.dims(args[0] ?? keywordArg(e, 'data'), depth + 1);
      return d && d.kind !== 'frame' ? { ndim: d.ndim, kind: 'tensor' } : undefined;
    }
    if (ARRAY_FROM.has(q)) {
      const d = this.dims(args[0], depth + 1);
      return d && d.kind !== 'frame' && d.kind !== 'tensor' ? { ndim: d.ndim, kind: 'array' } : undefined;
    }
    if (ELEMENTWISE_FNS.has(q)) {
      const d = this.dims(args[0], depth + 1);
      return d && d.kind !== 'frame' ? d : undefined;
    }
    if (q === 'torch.randint') {
      const size = keywordArg(e, 'size') ?? (args.length >= 2 ? args[args.length - 1] : undefined);
      const s = unparen(size);
      if (s?.type !== 'tuple' && s?.type !== 'list') return undefined;
      const n = s.namedChildren.filter((c) => c.type !== 'comment').length;
      return n > 0 ? { ndim: n, kind: 'tensor' } : undefined;
    }
    if (FACTORIES.has(q)) {
      if (hasKeywordSplat(e) || keywordArg(e, 'size')) return undefined;
      if (args.length === 1) {
        const s = unparen(args[0]);
        if (s?.type === 'tuple' || s?.type === 'list') {
          const n = s.namedChildren.filter((c) => c.type !== 'comment').length;
          return n > 0 && (q !== 'torch.randperm') ? { ndim: n, kind: 'tensor' } : undefined;
        }
      }
      if (args.length === 0 || !args.every((x) => this.isScalar(x, 0))) return undefined;
      if (q === 'torch.randperm') return args.length === 1 ? { ndim: 1, kind: 'tensor' } : undefined;
      return { ndim: args.length, kind: 'tensor' };
    }
    return undefined;
  }

  /** An integer-valued expression (a literal, `len(x)`, `X.shape[0]`, `x.size(0)`, a name bound to one). */
  private isScalar(expr: PyNode | undefined, depth: number): boolean {
    const e = unparen(expr);
    if (!e || depth > 6) return false;
    if (e.type === 'integer') return true;
    if (e.type === 'identifier') {
      if (intValue(e, this.a) !== undefined) return true;
      const v = valueBefore(this.a, e);
      return !!v && this.isScalar(v, depth + 1);
    }
    if (e.type === 'binary_operator') return this.isScalar(e.child('left'), depth + 1) && this.isScalar(e.child('right'), depth + 1);
    if (e.type === 'subscript') {
      const v = e.child('value');
      return v?.type === 'attribute' && v.child('attribute')?.text === 'shape' && e.childrenOf('subscript').length === 1 && isNumber(e.child('subscript'));
    }
    if (e.type === 'call') {
      const fn = e.child('function');
      if (fn?.type === 'identifier') return (fn.text === 'len' || fn.text === 'int') && !this.a.scopes.isBoundAnywhere(fn.text);
      return calleeName(e) === 'size' && positionalArgs(e).length === 1 && isNumber(positionalArgs(e)[0]);
    }
    return false;
  }

  // ---- output side ----

  /** The final `nn.Linear(_, 1)` whose (N, 1) output `expr` holds, after element-wise steps only. */
  columnOutput(expr: PyNode | undefined, depth = 0, any = false): PyNode | undefined {
    const e = unparen(expr);
    if (!e || depth > MAX_DEPTH) return undefined;
    if (e.type === 'identifier') {
      this.names.add(e.text);
      const v = valueBefore(this.a, e);
      if (v) return conditional(v, e) ? undefined : this.columnOutput(v, depth + 1, any);
      if (v === undefined || elementBefore(this.a, e) || loopOf(e)) return undefined;
      const args = parameterArguments(this.a, e);
      if (!args || this.resolving.has(args)) return undefined;
      this.resolving.add(args);
      const out = agree(args.map((x) => this.columnOutput(x, depth + 1, any)), (x, y) => x === y);
      this.resolving.delete(args);
      return out;
    }
    if (e.type === 'comparison_operator') {
      const other = numberComparison(e);
      return other ? this.columnOutput(other, depth + 1, any) : undefined;
    }
    if (e.type === 'binary_operator') return this.affineOutput(e, depth, any);
    if (e.type !== 'call') return undefined;
    const fn = e.child('function');
    const q = this.a.qname(fn);
    if (q && OUT_FNS.has(q)) return this.columnOutput(positionalArgs(e)[0], depth + 1, any);
    const product = this.matmulCall(e, q, depth, any);
    if (product !== undefined) return product || undefined;
    if (q === 'torch.gather' && !any) {
      const args = positionalArgs(e);
      return args.length === 3 ? this.gathered(e, args[0], args[1], args[2], depth + 1) : undefined;
    }
    if (q?.startsWith('torch.') || q?.startsWith('numpy.')) return undefined;
    if (fn?.type === 'attribute') {
      const method = fn.child('attribute')?.text ?? '';
      const obj = fn.child('object');
      if (method === 'gather' && !any && !q) {
        const args = positionalArgs(e);
        return args.length === 2 ? this.gathered(e, obj, args[0], args[1], depth + 1) : undefined;
      }
      if (OUT_METHODS.has(method)) return obj?.text === 'self' ? undefined : this.columnOutput(obj, depth + 1, any);
      if (method === 'forward' && obj && obj.text !== 'self') return this.moduleOf(obj, depth + 1, any);
      if (obj?.text === 'self') return this.selfModule(e, method, depth + 1, any);
      return undefined;
    }
    if (fn?.type === 'identifier') return this.moduleOf(fn, depth + 1, any);
    return undefined;
  }

  /**
   * `policy_net(s).gather(1, a.unsqueeze(1))`: one value per row, picked by an (N, 1) index, so (N, 1) whatever the
   * final Linear's width (the Q-value of the action taken, in DQN). The gather call itself stands for the column.
   */
  private gathered(call: PyNode, input: PyNode | undefined, dim: PyNode | undefined, index: PyNode | undefined, depth: number): PyNode | undefined {
    if (dim?.text !== '1' || !index || !columnIndex(index)) return undefined;
    return this.columnOutput(input, depth + 1, true) ? call : undefined;
  }

  /** `self.model(x)` in a class that is not a module (a Trainer): what `self.model` was assigned. */
  private selfModule(call: PyNode, attr: string, depth: number, any = false): PyNode | undefined {
    const cls = call.ancestor('class_definition');
    if (!cls || this.a.modules.some((m) => m.node === cls)) return undefined;
    const values = this.a.scopes.selfAttr(cls, attr);
    return agree(values.map((v) => this.moduleOf(v, depth + 1, any)), (x, y) => x === y);
  }

  /** The module a callee / value builds, when its output is (N, 1) (with `any`, (N, k)): the final Linear. */
  private moduleOf(value: PyNode | undefined, depth: number, any = false): PyNode | undefined {
    const v = unparen(value);
    if (!v || depth > MAX_DEPTH) return undefined;
    if (v.type === 'identifier') {
      if (this.a.moduleClass(v.text) || this.a.functions.has(v.text)) return undefined;
      this.names.add(v.text);
      const next = valueBefore(this.a, v);
      if (next) return this.mutated(v.text) || conditional(next, v) ? undefined : this.moduleOf(next, depth + 1, any);
      if (next === undefined || elementBefore(this.a, v) || loopOf(v)) return undefined;
      const args = parameterArguments(this.a, v);
      if (!args || this.resolving.has(args)) return undefined;
      this.resolving.add(args);
      const out = agree(args.map((x) => this.moduleOf(x, depth + 1, any)), (x, y) => x === y);
      this.resolving.delete(args);
      return out;
    }
    if (v.type !== 'call') return undefined;
    const fn = v.child('function');
    const q = this.a.qname(fn);
    if (q && WRAPPERS.has(q)) return this.moduleOf(positionalArgs(v)[0], depth + 1, any);
    if (fn?.type === 'attribute' && MODULE_CHAIN.has(fn.child('attribute')?.text ?? '') && !q) return this.moduleOf(fn.child('object'), depth + 1, any);
    if (q === 'torch.nn.Linear' || q === 'torch.nn.LazyLinear') return any || this.columnLinear(v) ? v : undefined;
    if (q === 'torch.nn.Sequential') {
      const seq = torchLayers(this.a).sequentials.find((s) => s.call === v);
      return seq ? this.columnStep(seq.steps[seq.steps.length - 1], any) : undefined;
    }
    if (fn?.type === 'identifier') {
      const cls = this.a.moduleClass(fn.text);
      if (cls) {
        const outs = torchLayers(this.a).forward(cls).outputs;
        const layer = outs.length ? agree(outs.map((s) => this.columnStep(s, any)), (x, y) => x === y) : undefined;
        // A forward written with its own weights (`x @ self.w + self.b`) has no layer step to end with.
        return layer ?? (cls.returns.length ? agree(cls.returns.map((r) => this.columnOutput(r, depth + 1, any)), (x, y) => x === y) : undefined);
      }
      const defs = this.a.functions.get(fn.text);
      if (defs?.length === 1 && !defs[0]!.ancestor('class_definition')) {
        return agree(returnValues(defs[0]!).map((r) => this.moduleOf(r, depth + 1, any)), (x, y) => x === y);
      }
    }
    return undefined;
  }

  /**
   * A linear map written by hand: `x @ w` with `w` of shape (k, 1) (with `any`, (k, m)), and `out + b` / `out - b` with a
   * bias of one value (a number, `torch.zeros(1)`, `nn.Parameter(torch.randn(1))`). The product stands for the column.
   */
  private affineOutput(e: PyNode, depth: number, any: boolean): PyNode | undefined {
    const op = e.children.find((c) => !c.named)?.text;
    const l = e.child('left');
    const r = e.child('right');
    if (op === '@') return this.columnWeight(r, depth, any) && this.rowsInput(l, depth) ? e : undefined;
    if (op !== '+' && op !== '-') return undefined;
    if (this.oneValue(r, depth)) return this.columnOutput(l, depth + 1, any);
    if (op === '+' && this.oneValue(l, depth)) return this.columnOutput(r, depth + 1, any);
    return undefined;
  }

  /**
   * `torch.matmul(x, w)`, `torch.mm(x, w)`, `x.mm(w)`, `x.matmul(w)` with a (k, 1) weight, `F.linear(x, w, b)` with a
   * (1, k) one: the call; null when `e` is such a product of another shape; undefined when it is none.
   */
  private matmulCall(e: PyNode, q: string | undefined, depth: number, any: boolean): PyNode | null | undefined {
    const args = positionalArgs(e);
    let x: PyNode | undefined;
    let w: PyNode | undefined;
    if (q === 'torch.matmul' || q === 'torch.mm') [x, w] = args;
    else if (q === 'torch.nn.functional.linear') {
      const bias = args[2] ?? keywordArg(e, 'bias');
      const shape = this.tensorShape(args[1] ?? keywordArg(e, 'weight'), depth + 1);
      const ok = shape?.length === 2 && (any || shape[0] === 1) && (!bias || bias.type === 'none' || this.oneValue(bias, depth)) && this.rowsInput(args[0] ?? keywordArg(e, 'input'), depth);
      return ok ? e : null;
    } else if (!q && (calleeName(e) === 'mm' || calleeName(e) === 'matmul') && args.length === 1) [x, w] = [receiver(e), args[0]];
    else return undefined;
    return this.columnWeight(w, depth, any) && this.rowsInput(x, depth) ? e : null;
  }

  /** A weight of shape (k, 1) (with `any`, any 2-D weight). */
  private columnWeight(w: PyNode | undefined, depth: number, any: boolean): boolean {
    const shape = this.tensorShape(w, depth + 1);
    return shape?.length === 2 && (any || shape[1] === 1);
  }

  /** The input of a hand-written linear map: not provably other than 2-D (a 1-D or 3-D input gives no (N, 1)). */
  private rowsInput(x: PyNode | undefined, depth: number): boolean {
    if (!x) return false;
    const d = this.dims(x, depth + 1);
    return !d || d.ndim === 2;
  }

  /** A number, or a tensor holding one value (`torch.zeros(1)`, `nn.Parameter(torch.randn(1))`, `torch.tensor(0.)`): a bias. */
  private oneValue(b: PyNode | undefined, depth: number): boolean {
    if (isNumber(b)) return true;
    const shape = this.tensorShape(b, depth + 1);
    return !!shape && shape.length <= 1 && shape.every((n) => n === 1);
  }

  /**
   * The literal sizes of a tensor built in view (a size not written as a literal is undefined): `torch.randn(k, 1)`,
   * `torch.zeros((1, 3))`, `torch.tensor([[0., 0.]])`, through `nn.Parameter(...)`, `* 0.01`, `.to(device)`,
   * `.requires_grad_()`, names, and `self.w` of the enclosing class (`register_parameter('w', ...)` too).
   */
  tensorShape(expr: PyNode | undefined, depth: number): (number | undefined)[] | undefined {
    const e = unparen(expr);
    if (!e || depth > MAX_DEPTH) return undefined;
    if (e.type === 'identifier') {
      this.names.add(e.text);
      const v = valueBefore(this.a, e);
      return v && !conditional(v, e) ? this.tensorShape(v, depth + 1) : undefined;
    }
    if (e.type === 'attribute') {
      const cls = e.child('object')?.text === 'self' ? e.ancestor('class_definition') : undefined;
      const attr = e.child('attribute')?.text;
      if (!cls || !attr) return undefined;
      const values = [...this.a.scopes.selfAttr(cls, attr), ...registeredParameters(this.a, cls, attr)];
      return agree(values.map((v) => this.tensorShape(v, depth + 1)), (x, y) => x.length === y.length && x.every((n, i) => n === y[i]));
    }
    if (e.type === 'binary_operator') {
      const op = e.children.find((c) => !c.named)?.text;
      const l = e.child('left');
      const r = e.child('right');
      if (op === '*' && isNumber(l)) return this.tensorShape(r, depth + 1);
      return (op === '*' || op === '/') && isNumber(r) ? this.tensorShape(l, depth + 1) : undefined;
    }
    if (e.type !== 'call') return undefined;
    const fn = e.child('function');
    const q = this.a.qname(fn);
    const args = positionalArgs(e);
    if (q === 'torch.nn.Parameter' || q === 'torch.nn.parameter.Parameter') return this.tensorShape(args[0] ?? keywordArg(e, 'data'), depth + 1);
    if (!q && fn?.type === 'attribute' && SHAPE_KEEPING_METHODS.has(fn.child('attribute')?.text ?? '')) return this.tensorShape(fn.child('object'), depth + 1);
    if (q && TENSOR_FROM.has(q)) return listShape(args[0]);
    if (!q || !FACTORIES.has(q) || q === 'torch.randperm' || hasKeywordSplat(e) || keywordArg(e, 'size')) return undefined;
    const one = args.length === 1 ? unparen(args[0]) : undefined;
    if (one?.type === 'tuple' || one?.type === 'list') return one.namedChildren.filter((c) => c.type !== 'comment').map((x) => intValue(x, this.a));
    // One size or several: a lone name may hold a whole shape (`torch.zeros(shape)`).
    if (!args.length || (args.length === 1 && !this.isScalar(args[0], 0)) || args.some((x) => x.type === 'list_splat')) return undefined;
    return args.map((x) => intValue(x, this.a));
  }

  /** The Linear(_, 1) a forward / Sequential step ends with (element-wise steps after it are fine). */
  private columnStep(step: LayerStep | undefined, any = false): PyNode | undefined {
    let s = step;
    for (let i = 0; s && KEEP_STEPS.has(s.kind) && i < 8; i++) {
      if (/glu|softmin/i.test(s.q ?? '') || /glu/i.test(s.site.text.split('(')[0] ?? '')) return undefined;
      s = s.prev;
    }
    if (s?.kind !== 'linear' || !s.layer) return undefined;
    return any || this.columnLinear(s.layer) ? s.layer : undefined;
  }

  /** `nn.Linear(n, 1)` / `nn.Linear(n, out_features=1)` / `nn.LazyLinear(1)`. */
  private columnLinear(layer: PyNode): boolean {
    const q = this.a.callee(layer);
    const args = positionalArgs(layer);
    const pyg = q?.startsWith('torch_geometric.') === true; // torch_geometric.nn.Linear(in_channels, out_channels)
    const out = keywordArg(layer, pyg ? 'out_channels' : 'out_features') ?? (q === 'torch.nn.LazyLinear' ? args[0] : q === 'torch.nn.Linear' || pyg ? args[1] : undefined);
    return intValue(out, this.a) === 1;
  }

  /** `model.fc = ...`, `model[-1] = ...`, `model.add_module(...)`: the module is changed after it is built. */
  private mutated(name: string): boolean {
    let m = mutatedCache.get(this.a);
    if (!m) mutatedCache.set(this.a, (m = new Map()));
    let r = m.get(name);
    if (r === undefined) m.set(name, (r = this.computeMutated(name)));
    return r;
  }

  private computeMutated(name: string): boolean {
    for (const m of ['add_module', 'append', 'insert', 'extend', 'register_module']) {
      if (this.a.callsNamed(m).some((c) => receiver(c)?.text === name)) return true;
    }
    return this.a.index.of('assignment').some((asg) => {
      const left = asg.child('left');
      if (left?.type !== 'attribute' && left?.type !== 'subscript') return false;
      const t = left.text;
      return t.startsWith(name) && (t[name.length] === '.' || t[name.length] === '[') && !this.keepsShape(left, asg.child('right'));
    });
  }

  /**
   * `model[0].weight = nn.Parameter(torch.tensor([[0., 0., 0.]]))`, `model.fc.bias.data = torch.zeros(1)`,
   * `model.fc.weight.requires_grad = False`, `model.fc.weight.data[0] = 0`: a layer's parameters set again, with a value
   * that keeps the layer's output width (a weight of one row, a bias of one value) or in place, change no layer.
   */
  private keepsShape(left: PyNode, value: PyNode | undefined | null): boolean {
    const path = left.text.replace(/\s/g, '');
    if (/\.requires_grad$/.test(path)) return true;
    const param = /\.(weight|bias)(?:\.data)?(\[.*\])?$/.exec(path);
    if (!param) return false;
    if (param[2]) return true; // element writes
    const shape = value ? this.tensorShape(value, 0) : undefined;
    if (param[1] === 'bias') return !!shape && shape.length <= 1 && shape.every((n) => n === 1);
    return shape?.length === 2 && shape[0] === 1;
  }
}

/**
 * The binding `value` holds for `use` only on some paths: its assignment sits under an `if` / `try` / `match` branch
 * that does not also hold the use (another branch may bind the name differently).
 */
function conditional(value: PyNode, use: PyNode): boolean {
  for (let p = value.parent; p; p = p.parent) {
    if (p.type === 'function_definition' || p.type === 'module') return false;
    if ((p.type === 'if_statement' || p.type === 'try_statement' || p.type === 'match_statement') && !(p.start <= use.start && use.end <= p.end)) return true;
  }
  return false;
}

/** Tensor methods whose result has the shape of their receiver. */
const SHAPE_KEEPING_METHODS = new Set(['to', 'cuda', 'cpu', 'float', 'double', 'half', 'requires_grad_', 'detach', 'clone', 'contiguous']);

/** The sizes of a nested list literal (`[[0, 0, 0]]` -> [1, 3]), when every level is regular; undefined otherwise. */
function listShape(expr: PyNode | undefined): number[] | undefined {
  const e = unparen(expr);
  if (!e) return undefined;
  if (isNumber(e)) return [];
  if (e.type !== 'list' && e.type !== 'tuple') return undefined;
  const items = e.namedChildren.filter((c) => c.type !== 'comment');
  if (!items.length) return undefined;
  const inner = items.map(listShape);
  const first = inner[0];
  if (!first || inner.some((s) => !s || s.length !== first.length || s.some((n, i) => n !== first[i]))) return undefined;
  return [items.length, ...first];
}

/** `self.register_parameter('w', value)` in the methods of `cls`: the values registered under `attr`. */
function registeredParameters(a: Analysis, cls: PyNode, attr: string): PyNode[] {
  const out: PyNode[] = [];
  for (const c of a.callsNamed('register_parameter')) {
    const args = positionalArgs(c);
    const key = args[0];
    if (receiver(c)?.text !== 'self' || c.ancestor('class_definition') !== cls || key?.type !== 'string' || !args[1]) continue;
    if (key.text.slice(1, -1) === attr) out.push(args[1]);
  }
  return out;
}

/** `a.unsqueeze(1)`, `a.unsqueeze(-1)`, `a.view(-1, 1)`, `a.reshape(-1, 1)`, `a[:, None]`: an (N, 1) index column. */
function columnIndex(n: PyNode): boolean {
  const e = unparen(n);
  if (e?.type === 'subscript') {
    const subs = e.childrenOf('subscript');
    return subs.length === 2 && fullSlice(subs[0]) && subs[1]!.type === 'none';
  }
  if (e?.type !== 'call' || !receiver(e)) return false;
  const name = calleeName(e);
  const args = positionalArgs(e).map((x) => x.text.replace(/\s/g, ''));
  if (name === 'unsqueeze') return args.length === 1 && (args[0] === '1' || args[0] === '-1');
  if (name === 'view' || name === 'reshape') return args.length === 2 && args[0] === '-1' && args[1] === '1';
  return false;
}

/** An expression that visibly changes the number of dimensions (its result is not the 1-D value it comes from). */
function visibleReshape(n: PyNode): boolean {
  if (n.type === 'subscript') return n.childrenOf('subscript').some((x) => x.type === 'none' || /newaxis$/.test(x.text));
  if (n.type !== 'call') return false;
  const name = calleeName(n) ?? '';
  return RESHAPE_METHODS.includes(name) || name === 'repeat' || name === 'expand' || name === 'T' || name === 'transpose' || name === 'outer';
}

function fullSlice(n: PyNode | undefined): boolean {
  return n?.type === 'slice' && n.text.replace(/\s/g, '') === ':';
}

/** `i:i + 1`: one row. */
function oneRow(s: PyNode): boolean {
  const parts = s.namedChildren.filter((c) => c.type !== 'comment');
  const t = s.text.replace(/\s/g, '');
  if (/:1$/.test(t) && /^(0)?:1$/.test(t)) return true;
  return parts.length === 2 && t === `${parts[0]!.text.replace(/\s/g, '')}:${parts[0]!.text.replace(/\s/g, '')}+1`;
}

/** The for loop (in the same function) whose target binds `id`, when `id` is read in its body. */
function loopOf(id: PyNode): PyNode | undefined {
  for (let p: PyNode | null = id.parent, prev: PyNode = id; p; prev = p, p = p.parent) {
    if (p.type === 'function_definition' || p.type === 'lambda' || p.type === 'class_definition') return undefined;
    if (p.type === 'for_statement' && prev === p.child('body')) {
      let binds = false;
      p.child('left')?.walk((n) => void (n.type === 'identifier' && n.text === id.text && (binds = true)));
      if (binds) return p;
    }
  }
  return undefined;
}

/** Reshapes that make a 1-D tensor 2-D, or squeeze an (N, 1) one: a name they are applied to is not followed. */
const RESHAPE_METHODS = ['unsqueeze', 'unsqueeze_', 'view', 'reshape', 'resize_', 'resize', 'view_as', 'reshape_as', 'expand', 'expand_as', 'expand_dims', 'atleast_2d', 'squeeze', 'squeeze_', 'flatten', 'ravel', 'column_stack', 'vstack'];

const reshapedCache = new WeakMap<Analysis, Set<string>>();

/** Names some reshape in the file is applied to (`y.view(-1, 1)`, `np.expand_dims(y, 1)`, `y[:, None]`). */
export function reshapedNames(a: Analysis): Set<string> {
  let out = reshapedCache.get(a);
  if (out) return out;
  out = new Set();
  for (const m of RESHAPE_METHODS) {
    for (const c of a.callsNamed(m)) {
      const r = unparen(receiver(c));
      if (r?.type === 'identifier') out.add(r.text);
      const first = unparen(positionalArgs(c)[0]);
      if (first?.type === 'identifier') out.add(first.text);
    }
  }
  for (const s of a.index.of('subscript')) {
    const subs = s.childrenOf('subscript');
    if (!subs.some((x) => x.type === 'none' || /newaxis$/.test(x.text))) continue;
    const v = unparen(s.child('value'));
    if (v?.type === 'identifier') out.add(v.text);
  }
  // `y.shape = (n, 1)`
  for (const asg of a.index.of('assignment')) {
    const left = asg.child('left');
    if (left?.type === 'attribute' && left.child('attribute')?.text === 'shape') out.add(left.child('object')?.text ?? '');
  }
  reshapedCache.set(a, out);
  return out;
}
