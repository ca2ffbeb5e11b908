import { calleeName, keywordArg, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { losses, type LossKind } from '../../analysis/losses';
import { classLabelsOf } from '../../analysis/classLabels';
import { loadedDatasetClass } from '../../analysis/datasets';
import { kerasModels, outputLayer } from '../../analysis/keras';
import { returnValues } from '../../analysis/modules';
import { scopeOf } from '../../analysis/scopes';
import { anchorOf, elementBefore, valueBefore } from '../../analysis/values';
import type { PyNode } from '../../parser';
import type { RawFix, Rule } from '../../types';

const TO_FLOAT = /^(float|double|half)$/;
const TO_INT = /^(long|int)$/;

interface Problem {
  node: PyNode;
  message: string;
  fix?: RawFix;
}

/** Follows one simple assignment: `t = F.one_hot(y, 10)` then `criterion(out, t)`. */
function resolve(a: Analysis, n: PyNode | undefined): { expr: PyNode; local: boolean } | undefined {
  const e = unparen(n);
  if (!e) return undefined;
  if (e.type === 'identifier') {
    const v = unparen(a.scopes.valueAt(e.text, e) ?? undefined);
    return v ? { expr: v, local: false } : undefined;
  }
  return { expr: e, local: true };
}

function isOneHot(a: Analysis, e: PyNode): boolean {
  return e.type === 'call' && a.callee(e) === 'torch.nn.functional.one_hot';
}

interface OneHot {
  /** Where the one-hot vectors are made. */
  node: PyNode;
  /** Integer-typed (`F.one_hot`, `.long()`, `dtype=torch.long`); float one-hot is a valid probability target for CE. */
  integer: boolean;
}

const INT_DTYPE = /\b(long|int(8|16|32|64)?|uint8)\b|['"]int/;
const FLOAT_DTYPE = /\b(float(16|32|64)?|double|half|bfloat16)\b|['"]float/;
const KEEP_METHODS = new Set(['to', 'cuda', 'cpu', 'contiguous', 'squeeze', 'view', 'reshape', 'flatten', 'permute', 'transpose']);

/** The dtype a `dtype=` argument (or `.to(torch.long)` / `.type(torch.float)`) sets; undefined when none or unknown. */
function integerDtype(n: PyNode | undefined): boolean | undefined {
  const t = n?.text ?? '';
  if (INT_DTYPE.test(t)) return true;
  return FLOAT_DTYPE.test(t) ? false : undefined;
}

/**
 * Whether a target holds one-hot rows, and their dtype: `F.one_hot(y, C)`, `np.eye(C)[y]` / `torch.eye(C)[y]`,
 * `to_categorical(y)`, through names, conversions (`.float()`, `.long()`, `torch.tensor(...)`) and the loader's batches
 * when a Dataset of the file returns a one-hot label (`t = torch.zeros(C); t[y] = 1`).
 */
function oneHotOf(a: Analysis, expr: PyNode | undefined, steps = 0): OneHot | undefined {
  const e = unparen(expr);
  if (!e || steps > 8) return undefined;
  if (e.type === 'identifier') {
    const v = valueBefore(a, e);
    if (v) return builtOneHot(a, e, v) ?? oneHotOf(a, v, steps + 1);
    if (v !== null) return undefined;
    // `x, y = x.to(dev), y.to(dev)`: the element of the tuple
    const el = elementBefore(a, e);
    if (el) {
      const src = unparen(el.source);
      const item = src?.type === 'tuple' || src?.type === 'expression_list' ? src.namedChildren[el.index] : undefined;
      return item ? oneHotOf(a, item, steps + 1) : undefined;
    }
    return loopBound(a, e) ? loadedOneHot(a, e, steps) : undefined;
  }
  if (e.type === 'subscript') {
    const v = unparen(e.child('value'));
    const q = v?.type === 'call' ? a.callee(v) : undefined;
    if (v && q && /^(numpy|torch)\.(eye|identity)$/.test(q)) return { node: e, integer: integerDtype(keywordArg(v, 'dtype')) === true };
    return undefined;
  }
  if (e.type !== 'call') return undefined;
  const q = a.callee(e);
  if (q === 'torch.nn.functional.one_hot') return { node: e, integer: true };
  if (/(^|\.)to_categorical$/.test(q ?? calleeName(e) ?? '')) return { node: e, integer: integerDtype(keywordArg(e, 'dtype')) === true };
  if (q && /^torch\.(tensor|as_tensor|from_numpy|Tensor|FloatTensor|LongTensor)$/.test(q)) {
    const inner = oneHotOf(a, positionalArgs(e)[0], steps + 1);
    const dtype = q === 'torch.LongTensor' ? true : q === 'torch.FloatTensor' || q === 'torch.Tensor' ? false : integerDtype(keywordArg(e, 'dtype'));
    return inner && { node: inner.node, integer: dtype ?? inner.integer };
  }
  if (q || e.child('function')?.type !== 'attribute') return undefined;
  const m = calleeName(e) ?? '';
  const cast = TO_INT.test(m) ? true : TO_FLOAT.test(m) ? false : m === 'to' || m === 'type' ? integerDtype(e.child('arguments') ?? undefined) : undefined;
  if (cast === undefined && !KEEP_METHODS.has(m)) return undefined;
  const inner = oneHotOf(a, receiver(e), steps + 1);
  return inner && { node: inner.node, integer: cast ?? inner.integer };
}

/**
 * `t = torch.zeros(C)` (or `np.zeros`) then `t[y] = 1` in the same function: a one-hot row built by hand. One
 * dimension and one index only: `mask = torch.zeros(H, W); mask[box] = 1` is a mask of class indices.
 */
function builtOneHot(a: Analysis, id: PyNode, value: PyNode): OneHot | undefined {
  const v = unparen(value);
  const q = v?.type === 'call' ? a.callee(v) : undefined;
  if (!v || !q || !/^(torch|numpy)\.zeros$/.test(q)) return undefined;
  const dims = positionalArgs(v);
  if (dims.length !== 1 || /^[([]/.test(dims[0]!.text)) return undefined;
  const scope = id.ancestor('function_definition') ?? id.ancestor('module');
  let set = false;
  scope?.walk((n) => {
    if (set || (n.type === 'function_definition' && n !== scope)) return false;
    if (n.type !== 'assignment' || n.start < v.end || n.end > id.start) return;
    const left = n.child('left');
    const index = left?.type === 'subscript' ? left.namedChildren.slice(1) : [];
    const single = index.length === 1 && index[0]!.type !== 'slice' && index[0]!.type !== 'tuple';
    if (single && left!.child('value')?.text === id.text && /^1(\.0?)?$/.test(n.child('right')?.text ?? '')) set = true;
  });
  return set ? { node: v, integer: integerDtype(keywordArg(v, 'dtype')) === true } : undefined;
}

/**
 * `for x, y in loader:` over `DataLoader(MyDs(...))`: the one-hot label every `return` of MyDs.__getitem__ gives at
 * y's position (also `for i, (x, y) in enumerate(loader)`).
 */
function loadedOneHot(a: Analysis, id: PyNode, steps: number): OneHot | undefined {
  const loop = loopBinding(id);
  if (!loop) return undefined;
  let it = unparen(loop.iterable);
  if (it?.type === 'identifier') it = unparen(a.scopes.valueAt(it.text, it) ?? undefined);
  if (it?.type !== 'call' || !/DataLoader$/.test(a.callee(it) ?? calleeName(it) ?? '')) return undefined;
  const ds = loadedDatasetClass(it, a);
  const returns = ds ? returnValues(ds.getitem) : [];
  if (!returns.length) return undefined;
  let found: OneHot | undefined;
  for (const r of returns) {
    const items = unparen(r);
    const item = items?.type === 'tuple' || items?.type === 'expression_list' ? items.namedChildren[loop.index] : undefined;
    const oh = item && oneHotOf(a, item, steps + 1);
    if (!oh) return undefined;
    found = found ? { node: found.node, integer: found.integer && oh.integer } : oh;
  }
  return found;
}

/** Whether the binding of `id` where it is read is a `for` loop's target (not a later assignment or a parameter). */
function loopBound(a: Analysis, id: PyNode): boolean {
  const loop = loopBinding(id);
  if (!loop) return false;
  const stmt = loop.iterable.ancestor('for_statement');
  const at = anchorOf(id);
  // the nearest binding of the name is the loop's: no assignment of it in the body before the read
  let rebound = false;
  stmt?.child('body')?.walk((n) => {
    if (rebound || n.start >= at.start) return false;
    if (n.type === 'function_definition' || n.type === 'class_definition') return false;
    if (n.type === 'assignment' || n.type === 'augmented_assignment' || n.type === 'for_statement') {
      n.child('left')?.walk((c) => void (c.type === 'identifier' && c.text === id.text && (rebound = true)));
    }
  });
  return !rebound && valueBefore(a, id) === null && !elementBefore(a, id);
}

/** The loop that binds `id` as an element of its batch, and which element: `for x, y in it` / `for i, (x, y) in enumerate(it)`. */
function loopBinding(id: PyNode): { iterable: PyNode; index: number } | undefined {
  for (let p = id.parent; p; p = p.parent) {
    if (p.type === 'function_definition' || p.type === 'module') return undefined;
    if (p.type !== 'for_statement') continue;
    let left = p.child('left');
    let right = unparen(p.child('right'));
    if (right?.type === 'call' && calleeName(right) === 'enumerate' && (left?.type === 'pattern_list' || left?.type === 'tuple_pattern') && left.namedChildren.length === 2) {
      left = unparen(left.namedChildren[1]);
      right = positionalArgs(right)[0];
    }
    if ((left?.type !== 'pattern_list' && left?.type !== 'tuple_pattern') || !right) continue;
    const index = left.namedChildren.findIndex((c) => c.type === 'identifier' && c.text === id.text);
    if (index >= 0) return { iterable: right, index };
  }
  return undefined;
}

/** One-hot rows made elsewhere: integer ones are never a valid target; float ones are CE probabilities only. */
function oneHotTarget(a: Analysis, kind: LossKind, target: PyNode): Problem | undefined {
  if (kind !== 'nll' && kind !== 'cross_entropy') return undefined;
  const oh = oneHotOf(a, target);
  if (!oh || (kind === 'cross_entropy' && !oh.integer)) return undefined;
  const name = kind === 'nll' ? 'NLLLoss' : 'CrossEntropyLoss';
  return {
    node: target,
    message: `${name} gets one-hot targets (${oh.integer ? 'integer ' : ''}rows made by ${shortText(oh.node)}); it expects class indices of shape [N]. Pass the indices (e.g. ${shortText(target)}.argmax(dim=1))${kind === 'cross_entropy' ? ' or float probabilities' : ''}.`,
  };
}

function check(a: Analysis, kind: LossKind, target: PyNode): Problem | undefined {
  const r = resolve(a, target);
  if (!r) return oneHotTarget(a, kind, target);
  const e = r.expr;
  const method = e.type === 'call' && e.child('function')?.type === 'attribute' && !a.qname(e.child('function')) ? calleeName(e) : undefined;
  const inner = method ? unparen(receiver(e)) : undefined;
  if (kind === 'cross_entropy' || kind === 'nll') {
    const name = kind === 'nll' ? 'NLLLoss' : 'CrossEntropyLoss';
    // One-hot (long) targets: class-index losses need [N] indices; CrossEntropyLoss takes float probabilities only.
    if (isOneHot(a, e) || (method && TO_INT.test(method) && inner && isOneHot(a, inner))) {
      const oh = isOneHot(a, e) ? e : inner!;
      const idx = positionalArgs(oh)[0];
      return {
        node: target,
        message: `${name} gets one-hot targets (${oh.text}); it expects class indices of shape [N]. Pass the indices${kind === 'cross_entropy' ? ' (or float probabilities)' : ''}.`,
        fix: r.local && idx ? { title: `Pass the class indices ${idx.text}`, edits: [{ start: target.start, end: target.end, newText: idx.text }] } : undefined,
      };
    }
    if (kind === 'nll' && method && TO_FLOAT.test(method) && inner) {
      const fn = e.child('function')!.child('attribute')!;
      return {
        node: target,
        message: `NLLLoss needs integer class indices, but the target is converted with .${method}(): this raises "expected scalar type Long". Use .long().`,
        fix: r.local ? { title: 'Use .long()', edits: [{ start: fn.start, end: fn.end, newText: 'long' }] } : undefined,
      };
    }
    if (kind === 'nll' && method && TO_FLOAT.test(method) && !inner) return undefined;
    // torch.max(t, 1)[0] / t.max(1)[0]: the maximum values, not the indices
    if (e.type === 'subscript' && e.child('subscript')?.text === '0') {
      const v = unparen(e.child('value'));
      if (v?.type === 'call' && (a.callee(v) === 'torch.max' ? positionalArgs(v).length === 2 : !a.callee(v) && calleeName(v) === 'max' && positionalArgs(v).length === 1)) {
        const sub = e.child('subscript')!;
        return {
          node: target,
          message: `The target is ${e.text}, the maximum values (all 1 for one-hot labels), not the class indices: use [1] (or argmax).`,
          fix: r.local ? { title: 'Use the indices ([1])', edits: [{ start: sub.start, end: sub.end, newText: '1' }] } : undefined,
        };
      }
    }
    return oneHotTarget(a, kind, target);
  }
  // BCE / BCEWithLogits: float targets of the input's shape.
  if (method && TO_INT.test(method) && inner) {
    const fn = e.child('function')!.child('attribute')!;
    const name = kind === 'bce' ? 'BCELoss' : 'BCEWithLogitsLoss';
    return {
      node: target,
      message: `${name} needs float targets, but the target is converted with .${method}(): this raises a dtype error. Use .float().`,
      fix: r.local ? { title: 'Use .float()', edits: [{ start: fn.start, end: fn.end, newText: 'float' }] } : undefined,
    };
  }
  return undefined;
}

function shortText(n: PyNode): string {
  const t = n.text.replace(/\s+/g, ' ');
  return t.length > 40 ? `${t.slice(0, 37)}...` : t;
}

const SPARSE_LOSS = /^['"]sparse_categorical_crossentropy['"]$|SparseCategoricalCrossentropy\(/;

/**
 * The `compile` in effect for a `fit`: the latest `compile` on the same receiver before it, on the same binding of the
 * name (`model = build(); model.compile(...)` then a later `model = other()` starts over). When none precedes it and the
 * receiver was returned by a function of this file, that function's last `compile`.
 */
function compileFor(a: Analysis, fit: PyNode, compiles: PyNode[]): PyNode | undefined {
  const recv = receiver(fit);
  if (!recv) return undefined;
  const binding = recv.type === 'identifier' ? a.scopes.valueAt(recv.text, fit) : undefined;
  let found: PyNode | undefined;
  for (const c of compiles) {
    if (c.start >= fit.start) break;
    const r = receiver(c);
    if (r?.text !== recv.text || scopeOf(c) !== scopeOf(fit)) continue;
    if (recv.type === 'identifier' && a.scopes.valueAt(recv.text, c) !== binding) continue;
    found = c;
  }
  if (found) return found;
  const v = unparen(binding ?? undefined);
  const fn = v?.type === 'call' ? v.child('function') : undefined;
  const defs = fn?.type === 'identifier' ? a.functions.get(fn.text) : undefined;
  if (defs?.length !== 1) return undefined;
  const def = defs[0]!;
  return compiles.filter((c) => c.start > def.start && c.end <= def.end).pop();
}

/** Keras: `loss='sparse_categorical_crossentropy'` compiled, and `fit` given labels built with `to_categorical`. */
function kerasSparseWithOneHot(a: Analysis, report: (n: PyNode, message: string) => void): void {
  const compiles = a.callsNamed('compile').filter((c) => keywordArg(c, 'loss') !== undefined);
  if (!compiles.some((c) => SPARSE_LOSS.test(keywordArg(c, 'loss')!.text))) return;
  compiles.sort((x, y) => x.start - y.start);
  for (const c of a.callsNamed('fit')) {
    if (!receiver(c)) continue;
    const y = positionalArgs(c)[1] ?? keywordArg(c, 'y');
    let v = unparen(y);
    if (v?.type === 'identifier') v = unparen(a.scopes.valueAt(v.text, v) ?? undefined);
    if (v?.type !== 'call' || calleeName(v) !== 'to_categorical') continue;
    const compile = compileFor(a, c, compiles);
    const loss = compile ? keywordArg(compile, 'loss') : undefined;
    if (!loss || !SPARSE_LOSS.test(loss.text)) continue;
    report(y!, `The model is compiled with sparse_categorical_crossentropy (integer labels) but fit gets one-hot labels from to_categorical: use categorical_crossentropy, or pass the integer labels.`);
  }
}

/**
 * Keras: a model ending in one sigmoid unit (or compiled with binary_crossentropy on one unit) is fit on labels of a
 * data set with more than two classes (`mnist.load_data()` digits 0-9): the single 0-1 output cannot name a class.
 */
function kerasOneUnitOnClassLabels(a: Analysis, report: (n: PyNode, message: string) => void): void {
  if (!a.callsNamed('fit').length) return;
  const k = kerasModels(a);
  if (!k.models.some((m) => m.fits.length)) return;
  for (const m of k.models) {
    const out = outputLayer(m);
    const units = out?.units ?? out?.dense?.namedUnits;
    if (!out || units !== 1) continue;
    const bce = m.compiles.some((c) => c.loss?.name === 'binary_crossentropy');
    if (out.activation !== 'sigmoid' && !bce) continue;
    for (const fit of m.fits) {
      const y = positionalArgs(fit)[1] ?? keywordArg(fit, 'y');
      const labels = classLabelsOf(a, y);
      if (!y || !labels) continue;
      const what = out.activation === 'sigmoid' ? 'one sigmoid unit' : 'one unit';
      report(
        y,
        `${y.text} holds the ${labels.classes} class labels of ${labels.origin} but the model ends in ${what}${bce ? ' trained with binary_crossentropy' : ''}, which takes 0/1 targets. Use Dense(${labels.classes}, activation="softmax") with sparse_categorical_crossentropy.`,
      );
    }
  }
}

export const LS005: Rule = {
  meta: {
    id: 'LS005',
    name: 'wrong-target-kind',
    group: 'loss',
    defaultSeverity: 'error',
    summary: 'The loss target has the wrong kind: one-hot or float targets for a class-index loss, integer targets for BCE, many-class labels for one binary unit.',
    why:
      '`CrossEntropyLoss` and `NLLLoss` take class **indices** (`long`, shape `[N]`); `CrossEntropyLoss` also accepts float ' +
      'class probabilities of the input\'s shape, `NLLLoss` does not. `BCELoss` / `BCEWithLogitsLoss` take **float** targets. ' +
      'Mixing them up (passing `F.one_hot(y)`, `y.float()` to NLLLoss, `y.long()` to BCE, or `t.max(1)[0]`, the values, where ' +
      '`t.max(1)[1]`, the indices, was meant) either raises a shape/dtype error or silently trains against the wrong labels. ' +
      'One-hot rows are followed from `F.one_hot`, `np.eye(C)[y]`, `to_categorical` and a Dataset of the file that builds ' +
      'them (`t = torch.zeros(C); t[y] = 1`): reported for `NLLLoss` always, for `CrossEntropyLoss` only when they are ' +
      'integer-typed (float one-hot rows are valid probabilities). In Keras, a model ending in one sigmoid unit (or one ' +
      'unit trained with `binary_crossentropy`) fit on labels of a data set with more classes (`mnist.load_data()`, ' +
      '`load_iris()`, through `train_test_split` and slicing) cannot name a class: it needs one softmax unit per class. ' +
      'Descent reports only conversions it can see in the file.',
    wrong: 'criterion = nn.BCEWithLogitsLoss()\nloss = criterion(model(x).squeeze(1), y.long())',
    right: 'criterion = nn.BCEWithLogitsLoss()\nloss = criterion(model(x).squeeze(1), y.float())',
    concept: 'Loss functions: targets as class indices, probabilities or binary labels',
    fixable: true,
  },
  check(ctx) {
    const a = ctx.analysis;
    kerasSparseWithOneHot(a, (node, message) => ctx.report({ node, message }));
    kerasOneUnitOnClassLabels(a, (node, message) => ctx.report({ node, message }));
    for (const c of losses(a).calls) {
      const target = positionalArgs(c.call)[1] ?? keywordArg(c.call, 'target');
      if (!target) continue;
      const p = check(a, c.kind, target);
      if (p) ctx.report({ node: p.node, message: p.message, fixes: p.fix ? [p.fix] : undefined });
    }
  },
};
