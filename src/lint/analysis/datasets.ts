// Map-style Dataset classes of the file (subclasses of torch.utils.data.Dataset) and what their __getitem__ does,
// and which Dataset a DataLoader call loads.
import type { PyNode } from '../parser';
import { callsWithin, calleeName, keywordArg, parameterNames, positionalArgs, receiver, unparen, type Analysis } from './index';
import { loaderDataset } from './runtime';

export interface DatasetClass {
  name: string;
  node: PyNode;
  getitem: PyNode;
  /** Calls made by __getitem__, including one level of `self.helper(...)` methods of the class. */
  calls: PyNode[];
}

const cache = new WeakMap<Analysis, DatasetClass[]>();

function methods(cls: PyNode): Map<string, PyNode> {
  const out = new Map<string, PyNode>();
  for (const s of cls.child('body')?.namedChildren ?? []) {
    const f = s.type === 'decorated_definition' ? s.child('definition') : s;
    if (f?.type === 'function_definition') out.set(f.child('name')?.text ?? '', f);
  }
  return out;
}

function isDatasetBase(base: PyNode, a: Analysis, seen: Set<string>): boolean {
  const q = a.qname(base);
  if (q === 'torch.utils.data.Dataset' || q === 'torch.utils.data.dataset.Dataset') return true;
  // a subclass of another Dataset class of this file
  if (base.type === 'identifier' && !seen.has(base.text)) {
    seen.add(base.text);
    const cls = a.index.of('class_definition').find((c) => c.child('name')?.text === base.text);
    if (cls) return (cls.child('superclasses')?.namedChildren ?? []).some((b) => isDatasetBase(b, a, seen));
  }
  return false;
}

export function datasetClasses(a: Analysis): DatasetClass[] {
  let out = cache.get(a);
  if (out) return out;
  out = [];
  for (const cls of a.index.of('class_definition')) {
    const name = cls.child('name')?.text;
    if (!name || !(cls.child('superclasses')?.namedChildren ?? []).some((b) => isDatasetBase(b, a, new Set()))) continue;
    const ms = methods(cls);
    const getitem = ms.get('__getitem__');
    if (!getitem) continue;
    const calls = callsWithin(getitem.child('body') ?? getitem);
    for (const c of [...calls]) {
      const recv = receiver(c);
      const helper = recv?.text === 'self' ? ms.get(calleeName(c) ?? '') : undefined;
      if (helper && helper !== getitem) calls.push(...callsWithin(helper.child('body') ?? helper));
    }
    out.push({ name, node: cls, getitem, calls });
  }
  cache.set(a, out);
  return out;
}

/** The Dataset class of this file that a DataLoader call loads (`DataLoader(MyDs(...))`, `ds = MyDs(...); DataLoader(ds)`). */
export function loadedDatasetClass(loader: PyNode, a: Analysis): DatasetClass | undefined {
  let ds: PyNode | null | undefined = loaderDataset(loader);
  // train_set, val_set = random_split(MyDs(...), ...) / Subset(MyDs(...), idx): the splits load the same class
  for (let hop = 0; hop < 3 && ds; hop++) {
    if (ds.type === 'identifier') {
      const name: PyNode = ds;
      ds = a.scopes.valueAt(name.text, name);
      if (ds === null) {
        const el = a.scopes.elementAt(name.text, name);
        ds = el?.source.type === 'call' && calleeName(el.source) === 'random_split' ? el.source : undefined;
      }
    }
    if (ds?.type === 'call' && /^(random_split|Subset)$/.test(calleeName(ds) ?? '')) ds = positionalArgs(ds)[0];
    else break;
  }
  if (ds?.type === 'identifier') ds = a.scopes.valueAt(ds.text, ds);
  if (ds?.type !== 'call') return undefined;
  const fn = ds.child('function');
  if (fn?.type !== 'identifier') return undefined;
  return datasetClasses(a).find((d) => d.name === fn.text);
}

function isIterableClass(name: string, a: Analysis, seen: Set<string>): boolean {
  if (seen.has(name)) return false;
  seen.add(name);
  const cls = a.index.of('class_definition').find((c) => c.child('name')?.text === name);
  return (cls?.child('superclasses')?.namedChildren ?? []).some((b) => {
    const q = a.qname(b) ?? '';
    if (/(^|\.)IterableDataset$/.test(q) || /(^|\.)IterableDataset$/.test(b.text)) return true;
    return b.type === 'identifier' && isIterableClass(b.text, a, seen);
  });
}

/**
 * Whether a DataLoader's dataset is iterable-style (shuffle=True raises for it): an IterableDataset subclass of the
 * file, a Hugging Face `streaming=True` dataset, `.to_iterable_dataset()`, a buffer `.shuffle(buffer_size=...)`,
 * webdataset; through the names it is bound to and the receivers of `.map(...)`-style chains (a few steps).
 */
export function isIterableDataset(expr: PyNode | undefined, a: Analysis): boolean {
  let n: PyNode | null | undefined = expr;
  for (let hop = 0; hop < 8 && n; hop++) {
    while (n?.type === 'parenthesized_expression') n = n.namedChildren[0];
    if (!n) return false;
    if (n.type === 'identifier') {
      // ds = ds.map(...): the value before this assignment
      n = a.scopes.valueAt(n.text, n.ancestor('assignment') ?? n);
      continue;
    }
    if (n.type !== 'call') return false;
    if (keywordArg(n, 'streaming')?.text === 'True') return true;
    const name = calleeName(n);
    if (name === 'to_iterable_dataset' || (name === 'shuffle' && keywordArg(n, 'buffer_size'))) return true;
    const q = a.callee(n) ?? '';
    if (/^(webdataset|torchdata)\./.test(q) || /(^|\.)IterableDataset$/.test(q)) return true;
    const fn = n.child('function');
    if (fn?.type === 'identifier') return a.definesClass(fn.text) && isIterableClass(fn.text, a, new Set());
    n = receiver(n);
  }
  return false;
}

/** Calls that draw a random index or element. */
const RANDOM_DRAW = /^(random\.(randint|randrange|choice|choices|sample)|numpy\.random\.(randint|choice|permutation)|torch\.(randint|randperm|multinomial))$/;
/** Methods of a random generator object (`self.rng.integers(n)`) that draw an index. */
const GENERATOR_DRAW = /^(randint|randrange|integers|choice)$/;

function isRandomDraw(call: PyNode, a: Analysis): boolean {
  if (RANDOM_DRAW.test(a.callee(call) ?? '')) return true;
  const recv = receiver(call);
  return GENERATOR_DRAW.test(calleeName(call) ?? '') && recv !== undefined && /rng|random|generator/i.test(recv.text);
}

/** Whether a name is read in a function's body (a target of assignment alone is not a read). */
function reads(fn: PyNode, name: string): boolean {
  let found = false;
  fn.child('body')?.walk((n) => {
    if (found || n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.type !== 'identifier' || n.text !== name) return undefined;
    const p = n.parent;
    const target = p?.type === 'assignment' && p.child('left') === n;
    const attr = p?.type === 'attribute' && p.child('attribute') === n;
    const keyword = p?.type === 'keyword_argument' && p.child('name') === n;
    if (!target && !attr && !keyword) found = true;
    return undefined;
  });
  return found;
}

/** `p = random.randint(...)` for a parameter `p` of the function, outside a retry (`except:`, `while`). */
function redrawsParameter(fn: PyNode, a: Analysis): boolean {
  const params = new Set(parameterNames(fn).slice(1));
  let found = false;
  fn.child('body')?.walk((n) => {
    if (found || n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.type === 'except_clause' || n.type === 'while_statement') return false;
    if (n.type !== 'assignment') return undefined;
    const left = n.child('left');
    let right = unparen(n.child('right') ?? undefined);
    if (right?.type === 'call' && calleeName(right) === 'int' && right.child('function')?.type === 'identifier') right = unparen(positionalArgs(right)[0]);
    if (left?.type === 'identifier' && params.has(left.text) && right?.type === 'call' && isRandomDraw(right, a)) found = true;
    return undefined;
  });
  return found;
}

/**
 * Whether the Dataset picks each sample itself whatever index the loader asks for, so the loader's order does not
 * matter: `__getitem__` never reads its index, or it (or a `self.helper(...)` it calls) re-draws a parameter at random
 * (`if idx is None: idx = random.randint(0, n - 1)`).
 */
export function drawsOwnSamples(ds: DatasetClass, a: Analysis): boolean {
  const index = parameterNames(ds.getitem)[1];
  if (index && !reads(ds.getitem, index)) return true;
  const ms = methods(ds.node);
  const helpers = callsWithin(ds.getitem.child('body') ?? ds.getitem)
    .filter((c) => receiver(c)?.text === 'self')
    .map((c) => ms.get(calleeName(c) ?? ''))
    .filter((f): f is PyNode => f !== undefined && f !== ds.getitem);
  return [ds.getitem, ...helpers].some((f) => redrawsParameter(f, a));
}

/** Calls that draw a whole array at random (`torch.randn(n, d)`, `np.random.rand(n, d)`, `torch.randint(0, 2, (n,))`). */
const RANDOM_ARRAY = /^(torch\.(rand|randn|randint|rand_like|randn_like|randint_like|normal|bernoulli|poisson|randperm)|numpy\.random\.\w+)$/;
/** Methods of a random generator object (`rng.normal(size=(n, d))`) that draw an array. */
const GENERATOR_ARRAY = /^(normal|standard_normal|uniform|random|rand|randn|integers|randint|binomial)$/;

/** A value drawn at random: a draw, a method chain on one (`.float()`, `.to(device)`), or one scaled by plain operands. */
function isRandomArray(n: PyNode | undefined, a: Analysis): boolean {
  const e = unparen(n);
  if (e?.type === 'binary_operator') {
    const sides = [e.child('left'), e.child('right')].map((x) => unparen(x ?? undefined));
    const plain = (x: PyNode | undefined) => x?.type === 'integer' || x?.type === 'float' || x?.type === 'identifier';
    return sides.some((x) => isRandomArray(x, a)) && sides.every((x) => plain(x) || isRandomArray(x, a));
  }
  if (e?.type !== 'call') return false;
  if (RANDOM_ARRAY.test(a.callee(e) ?? '')) return true;
  const recv = receiver(e);
  if (recv && GENERATOR_ARRAY.test(calleeName(e) ?? '') && /rng|random|generator/i.test(recv.text)) return true;
  return recv !== undefined && isRandomArray(recv, a);
}

/** The `self.<attr>` a `self.attr[index]` read selects from, else undefined. */
function indexedSelfAttr(n: PyNode | undefined, index: string): string | undefined {
  const e = unparen(n);
  const obj = e?.type === 'subscript' ? e.child('value') : undefined;
  const key = e?.type === 'subscript' ? unparen(e.child('subscript') ?? undefined) : undefined;
  if (obj?.type !== 'attribute' || obj.child('object')?.text !== 'self' || key?.type !== 'identifier' || key.text !== index) return undefined;
  return obj.child('attribute')?.text;
}

/**
 * Whether every row the Dataset serves is a random draw: `__getitem__` is one `return self.data[index]` (or a tuple
 * of such reads) and every attribute it reads is only ever assigned a random array (`self.data = torch.randn(n, d)`).
 * Random rows have no order for a loader to shuffle.
 */
export function servesRandomRows(ds: DatasetClass, a: Analysis): boolean {
  const index = parameterNames(ds.getitem)[1];
  const stmts = (ds.getitem.child('body')?.namedChildren ?? []).filter((s) => s.type !== 'comment' && !(s.type === 'expression_statement' && s.namedChildren[0]?.type === 'string'));
  if (!index || stmts.length !== 1 || stmts[0]!.type !== 'return_statement') return false;
  const value = unparen(stmts[0]!.namedChildren[0]);
  const parts = value?.type === 'tuple' || value?.type === 'list' || value?.type === 'expression_list' ? value.namedChildren.filter((c) => c.type !== 'comment') : [value];
  const attrs = parts.map((p) => indexedSelfAttr(p, index));
  if (attrs.length === 0 || attrs.some((x) => x === undefined)) return false;
  return attrs.every((attr) => {
    const values = a.scopes.selfAttr(ds.node, attr!);
    return values.length > 0 && values.every((v) => isRandomArray(v, a));
  });
}
