// Whether a value can carry a gradient back to the model, read through the file: locals (every binding of the name in
// its function, `+=` included), parameters (the argument of every call site), `self.x` attributes and the return
// values of the file's functions and methods. A value is gradient-free when every path through it ends in a constant
// or goes through a cut: argmax/round/thresholds, `.item()`, `.detach()`, `.numpy()`, integer casts, re-wrapping with
// `torch.tensor(...)`, or a binding made under `torch.no_grad()`. Anything not known (a model call, an imported
// function, an unresolved name) may carry a gradient, so the answer errs towards "may".
import type { PyNode } from '../parser';
import { hasParameter, keywordArg, positionalArgs, receiver, unparen, type Analysis } from './index';
import { attributeValue, fileFunctionOf } from './calls';
import { returnValues } from './modules';
import { gradOffRegion } from './order';
import { parameterArguments } from './parameters';
import { scopeOf } from './scopes';

/** Where a value's gradient is cut, and the op that cuts it (for messages). */
export interface GradientCut {
  node: PyNode;
  what: string;
}

/** 'may': may carry a gradient; 'const': no gradient and no model value in it; a cut: no gradient because of it. */
export type GradientStatus = 'may' | 'const' | GradientCut;

const CUT_METHODS = new Set(['argmax', 'argmin', 'round', 'floor', 'ceil', 'trunc', 'sign', 'item', 'detach', 'numpy', 'tolist', 'argsort', 'long', 'int', 'bool', 'byte', 'eq', 'ne', 'gt', 'lt', 'ge', 'le', 'nonzero']);
const CUT_FNS = /^torch\.(argmax|argmin|round|floor|ceil|trunc|sign|argsort|eq|ne|gt|lt|ge|le|nonzero|bucketize)$|^(numpy|math)\./;
/** Building a new tensor from a value: the result is a leaf, cut from whatever the value was computed from. */
const WRAPS = /^torch\.(tensor|Tensor|FloatTensor|LongTensor|DoubleTensor|IntTensor|BoolTensor|as_tensor|from_numpy|autograd\.Variable)$|^torch\.cuda\.\w+Tensor$/;
const CONSTANT_FNS = /^torch\.(zeros|ones|full|empty|arange|eye|linspace|logspace|rand|randn|randint|randperm|\w+_like)$/;
/** Tensor methods differentiable in their receiver only (the arguments are devices, dtypes, dims, sizes). */
const RECEIVER_METHODS = new Set(['sum', 'mean', 'float', 'double', 'half', 'to', 'cuda', 'cpu', 'view', 'reshape', 'squeeze', 'unsqueeze', 'flatten', 'contiguous', 'type', 'exp', 'log', 'abs', 'sqrt', 'norm', 'std', 'var', 'prod', 't', 'transpose', 'permute', 'expand', 'repeat', 'neg', 'cumsum', 'square', 'clamp', 'clip']);
/** Tensor methods differentiable in their receiver and tensor arguments. */
const PASS_METHODS = new Set(['view_as', 'reshape_as', 'pow', 'mul', 'add', 'sub', 'div', 'masked_fill', 'expand_as', 'max', 'min', 'gather', 'index_select', 'matmul', 'dot']);
const CONSTANT_ATTRS = new Set(['shape', 'dtype', 'device', 'ndim', 'is_cuda']);
const CONSTANT_METHODS = new Set(['size', 'dim', 'numel', 'nelement']);
const BUILTIN_CUTS = new Set(['float', 'int', 'bool', 'round']);
const BUILTIN_PASS = new Set(['sum', 'abs', 'min', 'max', 'list', 'tuple', 'range', 'enumerate', 'zip', 'reversed', 'sorted']);
const LITERALS = new Set(['integer', 'float', 'true', 'false', 'none', 'string', 'concatenated_string']);

/** Bounds on one question: nesting depth and nodes read (past them the value may carry a gradient). */
const MAX_DEPTH = 40;
const MAX_NODES = 600;

/**
 * A cut the caller takes as deliberate (`loss - prev_loss.detach()`: a baseline): the value it gives counts as a
 * constant, not as a cut. Called with the cut node and the value it is applied to.
 */
export type DeliberateCut = (cut: PyNode, operand: PyNode | undefined) => boolean;

interface Walk {
  a: Analysis;
  deliberate?: DeliberateCut;
  visiting: Set<string>;
  depth: number;
  nodes: number;
}

/** How well a cut explains the missing gradient to a reader: argmax / .item() first, re-wrapping last. */
function rank(c: GradientCut): number {
  if (c.what === 'a comparison') return 1;
  return /^torch\.\w*Tensor|^torch\.(tensor|as_tensor|from_numpy|Variable)|no_grad/.test(c.what) ? 2 : 0;
}

/** All of the statuses: 'may' when one may carry a gradient, else the most telling cut, else 'const'. */
function combine(list: GradientStatus[]): GradientStatus {
  if (list.includes('may')) return 'may';
  let best: GradientCut | undefined;
  for (const s of list) if (s !== 'const' && s !== 'may' && (!best || rank(s) < rank(best))) best = s;
  return best ?? 'const';
}

/** `combine` of the nodes' statuses, read one by one up to the first that may carry a gradient (most values do). */
function allOf(nodes: readonly (PyNode | undefined)[], w: Walk, each: (n: PyNode | undefined) => GradientStatus = (n) => statusOf(n, w)): GradientStatus {
  const out: GradientStatus[] = [];
  for (const n of nodes) {
    const s = each(n);
    if (s === 'may') return 'may';
    out.push(s);
  }
  return combine(out);
}

/**
 * A cut applied to operands: constant operands stay constant; a cut already inside is the one to name.
 */
function cutOver(node: PyNode, what: string, operands: GradientStatus[], w?: Walk, operand?: PyNode): GradientStatus {
  // A deliberate cut of a value that may carry a gradient gives a constant; a cut already inside stays.
  const cut: GradientStatus = w?.deliberate?.(node, operand) ? 'const' : { node, what };
  const inner = combine(operands.map((s) => (s === 'may' ? cut : s)));
  return inner;
}

/** The gradient status of an expression; cuts `deliberate` accepts count as constants. */
export function gradientStatus(a: Analysis, expr: PyNode | undefined, deliberate?: DeliberateCut): GradientStatus {
  return statusOf(expr, { a, deliberate, visiting: new Set(), depth: 0, nodes: 0 });
}

function statusOf(expr: PyNode | undefined, w: Walk): GradientStatus {
  const e = unparen(expr);
  if (!e || w.depth > MAX_DEPTH || ++w.nodes > MAX_NODES) return 'may';
  w.depth++;
  try {
    return statusOfNode(e, w);
  } finally {
    w.depth--;
  }
}

function statusOfNode(e: PyNode, w: Walk): GradientStatus {
  const t = e.type;
  if (LITERALS.has(t)) return 'const';
  if (t === 'identifier') return identifierStatus(e, w);
  if (t === 'unary_operator') return statusOf(e.namedChildren[0], w);
  if (t === 'binary_operator' || t === 'boolean_operator') return allOf([e.child('left') ?? undefined, e.child('right') ?? undefined], w);
  if (t === 'comparison_operator' || t === 'not_operator') return cutOver(e, 'a comparison', e.namedChildren.map((c) => statusOf(c, w)));
  if (t === 'conditional_expression') {
    const [then, , otherwise] = e.namedChildren;
    return allOf([then, otherwise], w);
  }
  // An empty list is filled later (`losses = []` then `losses.append(l)`): its elements are not known.
  if ((t === 'list' || t === 'set') && e.namedChildren.filter((c) => c.type !== 'comment').length === 0) return 'may';
  if (t === 'list' || t === 'tuple' || t === 'set') return allOf(e.namedChildren.filter((c) => c.type !== 'comment'), w);
  if (t === 'list_comprehension' || t === 'generator_expression' || t === 'set_comprehension') return statusOf(e.child('body'), w);
  if (t === 'subscript') return statusOf(e.child('value'), w);
  if (t === 'attribute') return attributeStatus(e, w);
  if (t === 'call') return callStatus(e, w);
  return 'may';
}

function attributeStatus(e: PyNode, w: Walk): GradientStatus {
  const name = e.child('attribute')?.text ?? '';
  if (CONSTANT_ATTRS.has(name)) return 'const';
  if (name === 'T' || name === 'mT') return statusOf(e.child('object'), w);
  const v = attributeValue(w.a, e);
  // `x.data` of a tensor, not `self.data` of the file's class
  if (name === 'data' && !v && e.child('object')?.text !== 'self') return cutOver(e, '.data', [statusOf(e.child('object'), w)], w, e.child('object'));
  if (!v) return 'may';
  const key = `attr:${v.start}`;
  if (w.visiting.has(key)) return 'const';
  w.visiting.add(key);
  try {
    const s = statusOf(v, w);
    return s !== 'may' && madeTrainable(w.a).has(name) ? 'may' : s;
  } finally {
    w.visiting.delete(key);
  }
}

function callStatus(e: PyNode, w: Walk): GradientStatus {
  const { a } = w;
  const q = a.callee(e);
  const args = argumentValues(e);
  if (q) {
    if (CONSTANT_FNS.test(q)) return keywordArg(e, 'requires_grad')?.text === 'True' ? 'may' : 'const';
    if (WRAPS.test(q)) {
      const inner = statusOf(args[0], w);
      // `torch.tensor(0.5, requires_grad=True)`: a new trainable leaf, not a cut
      if (inner === 'const' && keywordArg(e, 'requires_grad')?.text === 'True') return 'may';
      return cutOver(e, `${q.replace(/^torch\.(autograd\.)?/, 'torch.')}(...)`, [inner], w, args[0]);
    }
    if (CUT_FNS.test(q)) return cutOver(e, `${q.replace(/^numpy\./, 'np.')}()`, [allOf(args, w)], w, args[0]);
    // Other torch functions (sum, pow, where, stack, softmax, functional losses) are differentiable in their arguments.
    if (q.startsWith('torch.') && !/^torch\.nn\.[A-Z]/.test(q)) return allOf(tensorArguments(e), w);
    return 'may';
  }
  const fn = e.child('function');
  if (fn?.type === 'identifier' && a.scopes.valueAt(fn.text, e) === undefined && !a.functions.has(fn.text)) {
    if (fn.text === 'len') return 'const';
    if (BUILTIN_CUTS.has(fn.text)) return cutOver(e, `${fn.text}()`, [allOf(args, w)], w, args[0]);
    if (BUILTIN_PASS.has(fn.text)) return allOf(args, w);
    return 'may';
  }
  if (fn?.type === 'attribute') {
    const m = fn.child('attribute')?.text ?? '';
    const recv = receiver(e);
    const own = fileFunctionOf(e, a);
    if (own) return returnsStatus(own, w);
    if (CONSTANT_METHODS.has(m)) return 'const';
    if (CUT_METHODS.has(m)) return cutOver(e, `.${m}()`, [statusOf(recv, w)], w, recv);
    if (RECEIVER_METHODS.has(m)) return statusOf(recv, w);
    if (PASS_METHODS.has(m)) return allOf([recv, ...positionalArgs(e)], w);
    return 'may';
  }
  const own = fileFunctionOf(e, a);
  return own ? returnsStatus(own, w) : 'may';
}

/** The arguments of a torch function that can be tensors: positional ones, `input=` / `other=` (not `dim=`, `device=`). */
function tensorArguments(call: PyNode): PyNode[] {
  return [...positionalArgs(call), keywordArg(call, 'input'), keywordArg(call, 'other')].filter((x): x is PyNode => x !== undefined);
}

/** Positional arguments and keyword values of a call. */
function argumentValues(call: PyNode): PyNode[] {
  const args = call.child('arguments');
  // `sum(p.norm() for p in ps)`: the generator is the call's whole argument list
  if (args?.type === 'generator_expression') return [args];
  const out: PyNode[] = [...positionalArgs(call)];
  for (const c of call.child('arguments')?.namedChildren ?? []) if (c.type === 'keyword_argument' && c.child('value')) out.push(c.child('value')!);
  return out;
}

const returnsCache = new WeakMap<Analysis, Map<PyNode, GradientStatus>>();

/** The status of what a function of the file returns (every return), once per function and lint. */
function returnsStatus(fn: PyNode, w: Walk): GradientStatus {
  let m = returnsCache.get(w.a);
  if (!m) returnsCache.set(w.a, (m = new Map()));
  // Answers read with deliberate cuts are the caller's own: not kept.
  const known = w.deliberate ? undefined : m.get(fn);
  if (known) return known;
  const key = `fn:${fn.start}`;
  if (w.visiting.has(key)) return 'const';
  const values = returnValues(fn);
  if (!values.length) return 'may';
  w.visiting.add(key);
  const s = allOf(values, w);
  w.visiting.delete(key);
  // A cycle cut short answers 'const' for the inner visit: keep only answers computed from the top.
  if (!w.deliberate && (w.visiting.size === 0 || s === 'may')) m.set(fn, s);
  return s;
}

interface Binding {
  value?: PyNode;
  /** Bound in a way whose value is not read (`with ... as x`, `except ... as x`, an import). */
  unknown?: boolean;
}

const bindingsCache = new WeakMap<PyNode, Map<string, Binding[]>>();

/** Every binding of every name in a function body (or the module), nested functions and classes left out. */
function bindingsIn(scope: PyNode): Map<string, Binding[]> {
  let m = bindingsCache.get(scope);
  if (m) return m;
  m = new Map();
  const add = (target: PyNode | undefined, b: Binding) =>
    target?.walk((c) => {
      if (c.type === 'attribute' || c.type === 'subscript') return false;
      if (c.type === 'identifier') {
        const list = m!.get(c.text) ?? [];
        list.push(b);
        m!.set(c.text, list);
      }
    });
  const body = scope.type === 'module' ? scope : scope.child('body');
  body?.walk((n) => {
    const t = n.type;
    if (t === 'function_definition' || t === 'class_definition') {
      add(n.child('name'), { unknown: true });
      return false;
    }
    if (t === 'lambda' || t === 'list_comprehension' || t === 'generator_expression' || t === 'dictionary_comprehension' || t === 'set_comprehension') return false;
    if (t === 'assignment' || t === 'augmented_assignment') {
      const right = n.child('right') ?? undefined;
      add(n.child('left'), right ? { value: right } : { unknown: true });
    } else if (t === 'for_statement') add(n.child('left'), { value: n.child('right') ?? undefined });
    else if (t === 'as_pattern') add(n.child('alias'), { unknown: true });
    else if (t === 'named_expression') add(n.child('name'), { value: n.child('value') ?? undefined });
    else if (t === 'import_statement' || t === 'import_from_statement' || t === 'global_statement' || t === 'nonlocal_statement') add(n, { unknown: true });
  });
  bindingsCache.set(scope, m);
  return m;
}

/** The iterable a comprehension variable around `id` is bound to. */
function comprehensionIterable(id: PyNode): PyNode | undefined {
  for (let p = id.parent; p; p = p.parent) {
    if (p.type === 'function_definition' || p.type === 'module') return undefined;
    if (p.type !== 'list_comprehension' && p.type !== 'generator_expression' && p.type !== 'set_comprehension' && p.type !== 'dictionary_comprehension') continue;
    for (const clause of p.namedChildren) {
      if (clause.type !== 'for_in_clause') continue;
      let binds = false;
      clause.child('left')?.walk((c) => void (c.type === 'identifier' && c.text === id.text && (binds = true)));
      if (binds) return clause.child('right') ?? undefined;
    }
  }
  return undefined;
}

function identifierStatus(id: PyNode, w: Walk): GradientStatus {
  const { a } = w;
  const iterable = comprehensionIterable(id);
  if (iterable) return statusOf(iterable, w);
  const scope = scopeOf(id) ?? id.ancestor('module');
  if (!scope) return 'may';
  const key = `${scope.start}:${id.text}`;
  if (w.visiting.has(key)) return 'const';
  w.visiting.add(key);
  try {
    const s = boundStatus(id, scope, w);
    // checked last: most values may carry a gradient anyway, and the list reads every assignment of the file
    return s !== 'may' && madeTrainable(a).has(id.text) ? 'may' : s;
  } finally {
    w.visiting.delete(key);
  }
}

/** What the bindings of a name give: its local assignments, else the arguments of a parameter, else an outer value. */
function boundStatus(id: PyNode, scope: PyNode, w: Walk): GradientStatus {
  const { a } = w;
  const local = bindingsIn(scope).get(id.text);
  if (local?.length) {
    // A parameter rebound in its function: what it held on entry is not followed.
    if (scope.type === 'function_definition' && hasParameter(scope, id.text)) return 'may';
    if (local.some((b) => b.unknown || !b.value)) return 'may';
    return allOf(local.map((b) => b.value), w, (v) => bindingStatus(v!, w));
  }
  if (a.qname(id)) return 'may';
  const args = parameterArguments(a, id);
  if (args) return allOf(args, w);
  const v = a.scopes.valueAt(id.text, id);
  return v ? statusOf(v, w) : 'may';
}

const trainableCache = new WeakMap<Analysis, Set<string>>();

/**
 * Names and attributes the file makes trainable after building them (`w.requires_grad = True`, `w.requires_grad_()`):
 * their constant value does not tell.
 */
function madeTrainable(a: Analysis): Set<string> {
  let out = trainableCache.get(a);
  if (out) return out;
  out = new Set();
  const last = (n: PyNode | undefined) => (n?.type === 'attribute' ? n.child('attribute')?.text : n?.type === 'identifier' ? n.text : undefined);
  for (const asg of a.index.of('assignment')) {
    const left = asg.child('left');
    if (left?.type === 'attribute' && left.child('attribute')?.text === 'requires_grad') out.add(last(left.child('object') ?? undefined) ?? '');
  }
  for (const c of a.callsNamed('requires_grad_')) out.add(last(receiver(c)) ?? '');
  trainableCache.set(a, out);
  return out;
}

/** A binding's value; one made under `torch.no_grad()` is cut there (not an in-place update `w -= lr * g`). */
function bindingStatus(value: PyNode, w: Walk): GradientStatus {
  const s = statusOf(value, w);
  if (s !== 'may' || value.parent?.type === 'augmented_assignment') return s;
  const off = gradOffRegion(w.a, value);
  return off ? { node: value, what: 'torch.no_grad()' } : 'may';
}
