import { calleeName, hasKeywordSplat, keywordArg, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { dataCallee } from '../../analysis/sklearnNames';
import { returnValues } from '../../analysis/modules';
import { numberValue } from '../../analysis/numbers';
import { parameterArguments } from '../../analysis/parameters';
import { intValue, sameScope, statementOf } from '../../analysis/runtime';
import type { PyNode } from '../../parser';
import type { RawFix, Rule } from '../../types';

// `for i in range(len(data) - n): X.append(data[i:i + n])` then `train_test_split(X, y)`: overlapping windows of one
// series shuffled into train and test.

const SPLIT = 'sklearn.model_selection.train_test_split';
const RANDOM_SPLIT = 'torch.utils.data.random_split';
const TENSOR_DATASET = 'torch.utils.data.TensorDataset';
const SHUFFLING_CV = /^sklearn\.model_selection\.(KFold|StratifiedKFold|ShuffleSplit|StratifiedShuffleSplit)$/;
const SLIDING = /^numpy\.(lib\.stride_tricks\.)?sliding_window_view$/;
/** Calls that hand back their first argument's data in another container. */
const WRAPPERS =
  /^(torch\.(tensor|as_tensor|from_numpy|Tensor|FloatTensor|DoubleTensor|stack|cat|vstack)|numpy\.(array|asarray|stack|vstack|concatenate|float32|float64|expand_dims|reshape)|tensorflow\.convert_to_tensor)$/;
/** Methods and attributes that keep the data (and its rows): `X.float()`, `np.array(X).reshape(...)`, `df[a:b].values`. */
const KEEPS = /^(float|double|astype|to|copy|contiguous|values|to_numpy|reshape|numpy|tolist|unsqueeze)$/;

interface Windows {
  /** What made them: the helper function's name, or the window slice. */
  label: string;
}

/** The data expression inside value-preserving wrappers: `torch.tensor(np.array(xs), dtype=...)` -> `xs`. */
function unwrap(a: Analysis, n: PyNode | undefined): PyNode | undefined {
  for (let i = 0; i < 10 && n; i++) {
    n = unparen(n);
    if (n?.type === 'call') {
      const q = dataCallee(a, n);
      const inner = q && WRAPPERS.test(q) ? positionalArgs(n)[0] : !q && KEEPS.test(calleeName(n) ?? '') ? receiver(n) : undefined;
      if (!inner) return n;
      n = inner;
    } else if (n?.type === 'attribute' && /^(values)$/.test(n.child('attribute')?.text ?? '')) n = n.child('object') ?? undefined;
    else return n;
  }
  return n;
}

/** The int a window length or step holds when it is known (literal or a name bound to one). */
function knownInt(a: Analysis, n: PyNode | undefined): number | undefined {
  const v = intValue(unparen(n), a) ?? numberValue(a, n)?.value;
  return v !== undefined && Number.isInteger(v) ? v : undefined;
}

/** `i`, or `i - K` / `i + K` with the loop index `i`: returns K (undefined for plain `i`), or null when not that shape. */
function offsetFrom(n: PyNode | undefined, index: string, op: '+' | '-'): PyNode | undefined | null {
  n = unparen(n);
  if (!n) return null;
  if (n.type === 'identifier') return n.text === index ? undefined : null;
  if (n.type !== 'binary_operator') return null;
  const l = unparen(n.child('left'));
  const r = n.child('right');
  const o = n.children.find((c) => !c.named && c.type !== '(' && c.type !== ')')?.type;
  if (o !== op || l?.type !== 'identifier' || l.text !== index || !r) return null;
  let uses = false;
  r.walk((c) => void (c.type === 'identifier' && c.text === index && (uses = true)));
  return uses ? null : r;
}

/**
 * The loop that steps `index` around `node` in its scope, if it is the innermost loop there and not nested in another,
 * and its step: 1, or the known step of `range(start, stop, step)`.
 */
function steppedLoop(a: Analysis, node: PyNode, index: string): { loop: PyNode; step: number } | undefined {
  let loop: PyNode | undefined;
  for (let p = node.parent; p && p.type !== 'function_definition' && p.type !== 'class_definition'; p = p.parent) {
    if (p.type !== 'for_statement' && p.type !== 'while_statement') continue;
    if (loop) return undefined; // nested loops: windows of several series, or something else
    loop = p;
  }
  if (!loop) return undefined;
  if (loop.type === 'for_statement') {
    const left = loop.child('left');
    const right = unparen(loop.child('right'));
    if (left?.type !== 'identifier' || left.text !== index || right?.type !== 'call') return undefined;
    const f = right.child('function');
    if (f?.type !== 'identifier' || f.text !== 'range' || a.scopes.isBoundAnywhere('range') || hasKeywordSplat(right)) return undefined;
    const args = positionalArgs(right);
    if (args.length === 0 || args.length > 3) return undefined;
    const step = args.length === 3 ? knownInt(a, args[2]) : 1;
    if (step === undefined || step < 1) return undefined;
    // the body must not rebind the index
    let rebound = false;
    loop.child('body')?.walk((c) => {
      if ((c.type === 'assignment' || c.type === 'augmented_assignment') && c.child('left')?.text === index) rebound = true;
    });
    return rebound ? undefined : { loop, step };
  }
  // while ...: i += 1 exactly once in the body, not under a condition
  const incs: PyNode[] = [];
  let other = false;
  loop.child('body')?.walk((c) => {
    if (c.type === 'augmented_assignment' && c.child('left')?.text === index) incs.push(c);
    else if (c.type === 'assignment' && c.child('left')?.text === index) other = true;
  });
  const inc = incs[0];
  if (other || !inc || incs.length !== 1 || statementParent(inc) !== loop) return undefined;
  return inc.children.some((c) => c.type === '+=') && knownInt(a, inc.child('right')) === 1 && loop.child('condition')?.text.includes(index) ? { loop, step: 1 } : undefined;
}

/** The block-bearing statement a statement sits directly in. */
function statementParent(n: PyNode): PyNode | undefined {
  let s: PyNode | null = n;
  while (s && s.parent?.type !== 'block') s = s.parent;
  return s?.parent?.parent ?? undefined;
}

/** `data[i:i + n]`, `data[i - n:i]`, `scaled[i:(i + n), 0]`, `df.iloc[i:i+n]` appended in a loop stepping `i` by one. */
function windowSlice(a: Analysis, item: PyNode, append: PyNode): string | undefined {
  let s = unwrap(a, item);
  // `segment = data[...]; xs.append(segment)`: the slice bound in the loop body
  if (s?.type === 'identifier') {
    const v = a.scopes.valueAt(s.text, append);
    const loop = append.ancestor('for_statement') ?? append.ancestor('while_statement');
    s = v && loop && v.start > loop.start && v.end < loop.end ? unwrap(a, v) : undefined;
  }
  if (s?.type !== 'subscript') return undefined;
  const value = s.child('value');
  const first = windowAxis(s);
  if (first?.type !== 'slice' || !value) return undefined;
  const parts = first.namedChildren.filter((c) => c.type !== 'comment');
  const colon = first.children.filter((c) => c.type === ':').length;
  if (colon !== 1 || parts.length !== 2) return undefined;
  const [start, stop] = parts as [PyNode, PyNode];
  // `x[start:end]` with both bounds moved by one stride (`start += step; end += step`)
  if (unparen(start)?.type === 'identifier' && unparen(stop)?.type === 'identifier') return strideWindow(a, s, unparen(start)!, unparen(stop)!, append);
  // the series: a name (or its .values / .iloc / .loc), read at the loop, not bound by a loop
  let base: PyNode | undefined = value;
  while (base?.type === 'attribute' && /^(values|iloc|loc)$/.test(base.child('attribute')?.text ?? '')) base = base.child('object') ?? undefined;
  if (base?.type !== 'identifier') return undefined;
  // `i * fs : (i + w) * fs`: both bounds scaled by one factor, the window counted in steps of the index
  const scaled = sameScale(start, stop);
  const [lo, hi] = scaled ?? [start, stop];
  // the index: the identifier the start is made of
  const startU = unparen(lo);
  const index = startU?.type === 'identifier' ? startU.text : startU?.type === 'binary_operator' ? unparen(startU.child('left'))?.text : undefined;
  if (!index || index === base.text) return undefined;
  let width: PyNode | undefined;
  const a1 = offsetFrom(lo, index, '-');
  const b1 = offsetFrom(hi, index, '+');
  if (a1 === undefined && b1) width = b1; // i:i+K
  else if (a1 && b1 === undefined) width = a1; // i-K:i
  else return undefined;
  const w = knownInt(a, width);
  if (w !== undefined && w <= 1) return undefined;
  const stepped = steppedLoop(a, append, index);
  if (!stepped) return undefined;
  const loop = stepped.loop;
  // a stride of several steps: the windows overlap only when it is shorter than the window
  if (stepped.step > 1 && (w === undefined || stepped.step >= w)) return undefined;
  // the series is not bound inside the loop (a different one each step)
  const v = a.scopes.valueAt(base.text, append);
  if (v && v.start > loop.start && v.end < loop.end) return undefined;
  return s.text;
}

/** The `name += step` statements of a loop body (nested blocks included), and whether it binds the name otherwise. */
function strideSteps(loop: PyNode, name: string): { steps: PyNode[]; other: boolean } {
  const steps: PyNode[] = [];
  let other = false;
  loop.child('body')?.walk((c) => {
    if (c.type === 'augmented_assignment' && c.child('left')?.text === name) {
      if (c.children.some((t) => t.type === '+=') && statementParent(c) === loop) steps.push(c);
      else other = true;
    } else if (c.type === 'assignment' && c.child('left')?.text.split(/\s*,\s*/).includes(name)) other = true;
  });
  return { steps, other };
}

/** The int a bound holds where the loop starts: `start, end = 0, size`, `end = start + size`, `start = 0`. */
function initialBound(a: Analysis, name: string, loop: PyNode, other?: { name: string; value: number }): number | undefined {
  const v = a.scopes.valueAt(name, loop);
  const el = v === null ? a.scopes.elementAt(name, loop) : undefined;
  const src = el ? unparen(el.source) : undefined;
  const value = el ? (src?.type === 'expression_list' || src?.type === 'tuple' ? src.namedChildren.filter((c) => c.type !== 'comment')[el.index] : undefined) : v;
  const n = unparen(value ?? undefined);
  if (!n || n.start > loop.start) return undefined;
  // `end = start + size`
  if (other && n.type === 'binary_operator' && n.children.some((t) => t.type === '+')) {
    const l = unparen(n.child('left'));
    const r = n.child('right') ?? undefined;
    if (l?.type === 'identifier' && l.text === other.name) {
      const w = knownInt(a, r);
      return w === undefined ? undefined : other.value + w;
    }
  }
  return knownInt(a, n);
}

/**
 * `series[start:end]` in a loop that moves both bounds by the same stride each pass (`start += hop; end += hop`, the
 * hop a known int), shorter than the window `end - start` they start with: overlapping windows.
 */
function strideWindow(a: Analysis, s: PyNode, start: PyNode, stop: PyNode, append: PyNode): string | undefined {
  const base = s.child('value');
  if (base?.type !== 'identifier' || start.text === stop.text || base.text === start.text || base.text === stop.text) return undefined;
  let loop: PyNode | undefined;
  for (let p = append.parent; p && p.type !== 'function_definition' && p.type !== 'class_definition' && !loop; p = p.parent) {
    if (p.type === 'for_statement' || p.type === 'while_statement') loop = p;
  }
  if (!loop) return undefined;
  const a1 = strideSteps(loop, start.text);
  const b1 = strideSteps(loop, stop.text);
  if (a1.other || b1.other || a1.steps.length !== 1 || b1.steps.length !== 1) return undefined;
  const hopNode = a1.steps[0]!.child('right') ?? undefined;
  if (!hopNode || hopNode.text !== b1.steps[0]!.child('right')?.text) return undefined;
  const hop = knownInt(a, hopNode);
  const lo = initialBound(a, start.text, loop);
  const hi = lo === undefined ? undefined : initialBound(a, stop.text, loop, { name: start.text, value: lo });
  if (hop === undefined || lo === undefined || hi === undefined || hop < 1 || hi - lo <= hop) return undefined;
  // the series is the same one each pass
  const v = a.scopes.valueAt(base.text, append);
  if (v && v.start > loop.start && v.end < loop.end) return undefined;
  return s.text;
}

/**
 * The index of a subscript that cuts the windows: the first one, or the first one that is not a whole axis
 * (`data[:, :, i:i + n]` cuts along the last axis).
 */
function windowAxis(s: PyNode): PyNode | undefined {
  const value = s.child('value');
  const indices = s.namedChildren.filter((c) => c !== value && c.type !== 'comment');
  for (const c of indices) {
    if (c.type !== 'slice') return undefined;
    if (c.text.replace(/\s/g, '') !== ':') return c;
  }
  return undefined;
}

/** `i * K` and `(i + n) * K` (the same factor K): the two bounds without it. */
function sameScale(start: PyNode, stop: PyNode): [PyNode, PyNode] | undefined {
  const factor = (n: PyNode): [PyNode, string] | undefined => {
    const e = unparen(n);
    const op = e?.type === 'binary_operator' ? e.children.find((c) => !c.named && c.type !== '(' && c.type !== ')')?.type : undefined;
    const l = e?.child('left');
    const r = e?.child('right');
    return op === '*' && l && r ? [l, r.text] : undefined;
  };
  const x = factor(start);
  const y = factor(stop);
  return x && y && x[1] === y[1] ? [x[0], y[0]] : undefined;
}

/** A list `name = []` filled only by `name.append(<window>)` between its binding and `at`. */
function windowList(a: Analysis, name: string, binding: PyNode, at: PyNode): string | undefined {
  let label: string | undefined;
  for (const method of ['extend', 'insert', '__setitem__']) {
    if (a.callsNamed(method).some((c) => receiver(c)?.text === name && sameScope(c, binding) && c.start > binding.end && c.start < at.start)) return undefined;
  }
  for (const c of a.callsNamed('append')) {
    if (receiver(c)?.text !== name || !sameScope(c, binding) || c.start < binding.end || c.start > at.start) continue;
    const item = positionalArgs(c)[0];
    const w = item && positionalArgs(c).length === 1 ? windowSlice(a, item, c) : undefined;
    if (!w) return undefined;
    label ??= w;
  }
  return label;
}

/** The helper function a call calls: one plain (non-method) definition of that name in this file. */
function helperOf(a: Analysis, call: PyNode): PyNode | undefined {
  const f = call.child('function');
  if (f?.type !== 'identifier' || dataCallee(a, call)) return undefined;
  const defs = a.functions.get(f.text);
  return defs?.length === 1 && !defs[0]!.ancestor('class_definition') && !hasKeywordSplat(call) ? defs[0] : undefined;
}

/** What an expression holds when it is overlapping windows of one series; undefined when not or unsure. */
function windowsOf(a: Analysis, e: PyNode | undefined, depth = 0, element?: number): Windows | undefined {
  if (depth > 8) return undefined;
  const n = element === undefined ? unwrap(a, e) : unparen(e);
  if (!n) return undefined;
  if (element !== undefined) {
    if (n.type === 'expression_list' || n.type === 'tuple') {
      const items = n.namedChildren.filter((c) => c.type !== 'comment');
      return windowsOf(a, items[element], depth + 1);
    }
    if (n.type === 'call') {
      const fn = helperOf(a, n);
      return fn ? fromHelper(a, fn, depth, element) : undefined;
    }
    return undefined;
  }
  if (n.type === 'identifier') {
    // read before the statement: `X, y = np.array(X), np.array(y)` reads the earlier X
    const stmt = statementOf(n);
    let v = a.scopes.valueAt(n.text, stmt);
    if (v === null) {
      const el = a.scopes.elementAt(n.text, stmt);
      if (!el) return fromCallSites(a, n, depth);
      const src = unparen(el.source);
      // `xs, ys = [], []`: the list literal of this name
      const item = src?.type === 'expression_list' || src?.type === 'tuple' ? src.namedChildren.filter((c) => c.type !== 'comment')[el.index] : undefined;
      if (item?.type !== 'list') return windowsOf(a, el.source, depth + 1, el.index);
      v = item;
    }
    if (!v) return undefined;
    if (v.type === 'list') {
      if (v.namedChildren.some((c) => c.type !== 'comment')) return undefined;
      const asg = v.parent?.type === 'assignment' ? v.parent : v.parent?.parent;
      if (asg?.type !== 'assignment') return undefined;
      const label = windowList(a, n.text, asg, n);
      return label ? { label } : undefined;
    }
    return windowsOf(a, v, depth + 1);
  }
  if (n.type !== 'call') return undefined;
  const q = dataCallee(a, n);
  // `kf.split(np.arange(len(X)))`: the row indices of X
  const rows = rowIndicesOf(a, n, q);
  if (rows) return windowsOf(a, rows, depth + 1);
  if (q && SLIDING.test(q)) {
    if (keywordArg(n, 'axis') || hasKeywordSplat(n)) return undefined;
    const w = knownInt(a, positionalArgs(n)[1] ?? keywordArg(n, 'window_shape'));
    if (w !== undefined && w <= 1) return undefined;
    const src = unparen(positionalArgs(n)[0] ?? keywordArg(n, 'x'));
    return src?.type === 'identifier' || src?.type === 'attribute' ? { label: 'sliding_window_view' } : undefined;
  }
  const fn = helperOf(a, n);
  return fn ? fromHelper(a, fn, depth) : undefined;
}

/** `np.arange(len(X))`, `range(len(X))`, `np.arange(X.shape[0])`: X, whose rows the indices number. */
function rowIndicesOf(a: Analysis, call: PyNode, q: string | undefined): PyNode | undefined {
  const f = call.child('function');
  const isRange = q === 'numpy.arange' || (f?.type === 'identifier' && f.text === 'range' && !a.scopes.isBoundAnywhere('range'));
  const args = positionalArgs(call);
  if (!isRange || args.length !== 1 || call.child('arguments')?.namedChildren.length !== 1) return undefined;
  const n = unparen(args[0]);
  if (n?.type === 'call' && n.child('function')?.text === 'len' && positionalArgs(n).length === 1) return positionalArgs(n)[0];
  // X.shape[0]
  const shape = n?.type === 'subscript' ? unparen(n.child('value')) : undefined;
  return shape?.type === 'attribute' && shape.child('attribute')?.text === 'shape' && n!.namedChildren[1]?.text === '0' ? (shape.child('object') ?? undefined) : undefined;
}

/** A parameter: windows when the argument of every call site in the file holds windows. */
function fromCallSites(a: Analysis, id: PyNode, depth: number): Windows | undefined {
  const args = parameterArguments(a, id);
  if (!args || args.length === 0) return undefined;
  let found: Windows | undefined;
  for (const arg of args) {
    const w = windowsOf(a, arg, depth + 1);
    if (!w) return undefined;
    found ??= w;
  }
  return found;
}

/** Windows every return of a helper agrees on (its element `element` when it returns a tuple). */
function fromHelper(a: Analysis, fn: PyNode, depth: number, element?: number): Windows | undefined {
  const rets = returnValues(fn);
  if (rets.length === 0) return undefined;
  let found: Windows | undefined;
  for (const r of rets) {
    const w = windowsOf(a, r, depth + 1, element);
    if (!w) return undefined;
    found ??= w;
  }
  const name = fn.child('name')?.text;
  return found && name ? { label: name } : found;
}

/** A splitter object that shuffles: `KFold(shuffle=True)`, `ShuffleSplit(...)`, or a name bound to one. */
function shufflingSplitter(a: Analysis, recv: PyNode | undefined): string | undefined {
  let v: PyNode | null | undefined = unparen(recv);
  if (v?.type === 'identifier') v = a.scopes.valueAt(v.text, v);
  if (v?.type !== 'call') return undefined;
  const q = dataCallee(a, v);
  if (!q || !SHUFFLING_CV.test(q)) return undefined;
  const cls = q.split('.').pop()!;
  if (/ShuffleSplit$/.test(cls)) return cls;
  return keywordArg(v, 'shuffle')?.text === 'True' ? `${cls}(shuffle=True)` : undefined;
}

/** The dataset a random_split gets, when it is `TensorDataset(X, ...)`: X. */
function tensorDatasetData(a: Analysis, ds: PyNode | undefined): PyNode | undefined {
  let v: PyNode | null | undefined = unparen(ds);
  if (v?.type === 'identifier') v = a.scopes.valueAt(v.text, v);
  if (v?.type !== 'call' || dataCallee(a, v) !== TENSOR_DATASET) return undefined;
  return positionalArgs(v)[0];
}

function shuffleFalseFix(call: PyNode): RawFix | undefined {
  if (keywordArg(call, 'stratify')) return undefined; // shuffle=False with stratify raises
  const shuffle = keywordArg(call, 'shuffle');
  const title = 'Split without shuffling (shuffle=False)';
  if (shuffle) return { title, edits: [{ start: shuffle.start, end: shuffle.end, newText: 'False' }] };
  const args = call.child('arguments')?.namedChildren.filter((c) => c.type !== 'comment') ?? [];
  const last = args[args.length - 1];
  return last ? { title, edits: [{ start: last.end, end: last.end, newText: ', shuffle=False' }] } : undefined;
}

export const DT016: Rule = {
  meta: {
    id: 'DT016',
    name: 'overlapping-windows-split-randomly',
    group: 'data',
    defaultSeverity: 'warning',
    summary: 'Overlapping sliding windows of one time series are split into train and test at random.',
    why:
      'Windows built as `data[i:i + seq_len]` for every `i` share all but one value with their neighbours (and `x[start:end]` with both bounds moved by a hop shorter than ' +
      'the window shares most of them). A random ' +
      'split (`train_test_split` shuffles by default, `random_split`, `KFold(shuffle=True)`) puts a window in the test set ' +
      'whose neighbours, nearly the same values, and the future after it are in the training set: the model is tested on ' +
      'what it has practically seen and the test score is far better than on new data. Split by time: ' +
      '`train_test_split(..., shuffle=False)`, or slice the series before making windows, or use `TimeSeriesSplit`.',
    wrong:
      'from sklearn.model_selection import train_test_split\nimport numpy as np\n' +
      'def create_sequences(data, seq_length):\n    xs, ys = [], []\n    for i in range(len(data) - seq_length):\n' +
      '        xs.append(data[i:i + seq_length])\n        ys.append(data[i + seq_length])\n    return np.array(xs), np.array(ys)\n' +
      'X, y = create_sequences(series, 60)\nX_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)\n' +
      'X_train = torch.tensor(X_train, dtype=torch.float32)',
    right:
      'from sklearn.model_selection import train_test_split\nimport numpy as np\n' +
      'def create_sequences(data, seq_length):\n    xs, ys = [], []\n    for i in range(len(data) - seq_length):\n' +
      '        xs.append(data[i:i + seq_length])\n        ys.append(data[i + seq_length])\n    return np.array(xs), np.array(ys)\n' +
      'X, y = create_sequences(series, 60)\nX_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, shuffle=False)\n' +
      'X_train = torch.tensor(X_train, dtype=torch.float32)',
    concept: 'Data leakage: time-series windows must be split by time, not at random',
    fixable: true,
  },
  check(ctx) {
    const a = ctx.analysis;
    const tts = a.callsNamed('train_test_split');
    const rs = a.callsNamed('random_split');
    const cv = a.callsNamed('split');
    if (tts.length === 0 && rs.length === 0 && cv.length === 0) return;
    const report = (call: PyNode, data: PyNode, how: string, fix?: RawFix) => {
      const w = windowsOf(a, data);
      if (!w) return;
      ctx.report({
        node: call,
        message: `${data.text} ${data.type === 'call' && rowIndicesOf(a, data, dataCallee(a, data)) ? 'numbers' : 'holds'} overlapping windows of one series (${w.label}) and ${how}: test windows share most of their values with training windows and lie in the training period, so the test score is inflated. Split by time (shuffle=False, or slice before making windows).`,
        fixes: fix ? [fix] : undefined,
      });
    };
    for (const call of tts) {
      if (dataCallee(a, call) !== SPLIT || hasKeywordSplat(call)) continue;
      const shuffle = keywordArg(call, 'shuffle');
      if (shuffle && shuffle.text !== 'True') continue;
      const data = positionalArgs(call)[0];
      if (data) report(call, data, 'train_test_split shuffles them', shuffleFalseFix(call));
    }
    for (const call of rs) {
      if (dataCallee(a, call) !== RANDOM_SPLIT) continue;
      const data = tensorDatasetData(a, positionalArgs(call)[0] ?? keywordArg(call, 'dataset'));
      if (data) report(call, data, 'random_split shuffles them');
    }
    for (const call of cv) {
      const splitter = shufflingSplitter(a, receiver(call));
      const data = positionalArgs(call)[0] ?? keywordArg(call, 'X');
      if (splitter && data) report(call, data, `${splitter} shuffles them`);
    }
  },
};
