// The number of dimensions of a tensor when the code that made it says so: a constructor with its sizes
// (`torch.zeros(n)`, `torch.randn(4, 10)`, `torch.empty((n, k))`), a nested list literal (`torch.tensor([...])`),
// `arange` / `linspace`, and `.view(...)` / `.reshape(...)` / `.flatten()`. Undefined otherwise: a size that may be a
// tuple (`torch.zeros(shape)`), a splat, anything computed elsewhere.
import type { PyNode } from '../parser';
import { keywordArg, positionalArgs, receiver, unparen, type Analysis } from './index';
import { valueBefore } from './values';

const SIZED = /^torch\.(zeros|ones|empty|rand|randn)$/;
const FROM_DATA = /^torch\.(tensor|as_tensor|Tensor|FloatTensor|LongTensor|DoubleTensor)$/;
const VECTOR = /^torch\.(arange|linspace|logspace)$/;
const RESHAPE = new Set(['view', 'reshape']);
/** A name that holds a count, not a shape: `n_steps`, `num_classes`, `seq_len`. */
const COUNT_NAME = /^(n|num|len|count)_|^n[A-Z]|_(len|length|count|steps|num)$|^(steps|length|n|k)$/;
const MAX_DEPTH = 6;
const NUMBER = new Set(['integer', 'float', 'unary_operator', 'true', 'false']);

/** The rank of `expr` when it is evident from how the tensor was made. */
export function knownRank(a: Analysis, expr: PyNode | undefined, depth = 0): number | undefined {
  const e = unparen(expr);
  if (!e || depth > MAX_DEPTH) return undefined;
  if (e.type === 'identifier') {
    const v = valueBefore(a, e);
    return v ? knownRank(a, v, depth + 1) : undefined;
  }
  if (e.type !== 'call') return undefined;
  const q = a.callee(e) ?? '';
  if (SIZED.test(q)) return sizesRank(a, keywordArg(e, 'size') ? [keywordArg(e, 'size')!] : positionalArgs(e));
  if (VECTOR.test(q)) return 1;
  if (FROM_DATA.test(q)) return listRank(positionalArgs(e)[0]);
  const fn = e.child('function');
  const method = fn?.type === 'attribute' && !q ? fn.child('attribute')?.text : undefined;
  if (!method || !receiver(e)) return undefined;
  if (method === 'flatten' && !e.child('arguments')?.namedChildren.length) return 1;
  return RESHAPE.has(method) ? sizesRank(a, positionalArgs(e)) : undefined;
}

/** The rank given by a size list: `(n, k)` as one tuple, or each size an argument. */
function sizesRank(a: Analysis, sizes: PyNode[]): number | undefined {
  if (sizes.length === 0 || hasSplat(sizes)) return undefined;
  if (sizes.length > 1) return sizes.every((s) => s.type !== 'keyword_argument') ? sizes.length : undefined;
  const only = unparen(sizes[0]);
  if (only?.type === 'tuple' || only?.type === 'list') return hasSplat(only.namedChildren) ? undefined : only.namedChildren.length || undefined;
  return isCount(a, only) ? 1 : undefined;
}

function hasSplat(nodes: PyNode[]): boolean {
  return nodes.some((n) => n.type === 'list_splat' || n.type === 'dictionary_splat' || n.type === 'comment');
}

/** An integer: a literal, `len(...)` / `int(...)`, arithmetic of integers, or a name bound to one or named as a count. */
function isCount(a: Analysis, n: PyNode | undefined, depth = 0): boolean {
  const e = unparen(n);
  if (!e || depth > MAX_DEPTH) return false;
  if (e.type === 'integer') return true;
  if (e.type === 'unary_operator') return isCount(a, e.child('argument'), depth + 1);
  if (e.type === 'binary_operator') return /^(\+|-|\*|\/\/)$/.test(e.child('operator')?.text ?? '') && isCount(a, e.child('left'), depth + 1) && isCount(a, e.child('right'), depth + 1);
  if (e.type === 'call') return /^(len|int)$/.test(e.child('function')?.text ?? '');
  if (e.type !== 'identifier') return false;
  const v = valueBefore(a, e);
  return v ? isCount(a, v, depth + 1) : COUNT_NAME.test(e.text);
}

/** The nesting depth of a list literal of numbers (`[[1, 2], [3, 4]]` is 2); undefined when not a plain literal. */
function listRank(n: PyNode | undefined): number | undefined {
  const e = unparen(n);
  if (e?.type !== 'list' && e?.type !== 'tuple') return undefined;
  const items = e.namedChildren.filter((c) => c.type !== 'comment');
  if (!items.length || hasSplat(items)) return undefined;
  const inner = items.map((c) => (c.type === 'list' || c.type === 'tuple' ? listRank(c) : NUMBER.has(c.type) ? 0 : undefined));
  const first = inner[0];
  return first !== undefined && inner.every((r) => r === first) ? first + 1 : undefined;
}
