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

/** A size that names the batch: `bs`, `batch_size`, `B`, `n_batch`. */
const BATCH_SIZE_NAME = /^(b|bs|bsz|batch|batch_?size|batch_?sz|n_?batch|num_?batch)$/i;
/** Methods that keep every axis where it is. */
const KEEPS_AXES = /^(float|double|half|contiguous|to|cuda|cpu|detach|clone|exp|log|abs|sigmoid|tanh|relu|type)$/;

/**
 * Where the batch is in a tensor made by `x.view(seq_len, bs, k)`, `x.reshape(T, batch_size, -1)`,
 * `torch.zeros(steps, batch_size, n)`: the one size named as the batch size, with the rank the sizes give.
 * Followed through names and shape-keeping methods; undefined when no size, or more than one, names the batch.
 */
export function namedBatchAxis(a: Analysis, expr: PyNode | undefined, depth = 0): { axis: number; rank: number; size: string } | undefined {
  const e = unparen(expr);
  if (!e || depth > MAX_DEPTH) return undefined;
  if (e.type === 'identifier') {
    const v = valueBefore(a, e);
    return v ? namedBatchAxis(a, v, depth + 1) : undefined;
  }
  if (e.type !== 'call') return undefined;
  const q = a.callee(e) ?? '';
  const fn = e.child('function');
  const method = fn?.type === 'attribute' && !q ? fn.child('attribute')?.text : undefined;
  if (method && KEEPS_AXES.test(method) && receiver(e)) return namedBatchAxis(a, receiver(e), depth + 1);
  let sizes: PyNode[];
  if (SIZED.test(q)) sizes = positionalArgs(e);
  else if (method && RESHAPE.has(method) && receiver(e)) sizes = positionalArgs(e);
  else return undefined;
  if (sizes.length === 1 && (unparen(sizes[0])?.type === 'tuple' || unparen(sizes[0])?.type === 'list')) sizes = unparen(sizes[0])!.namedChildren.filter((c) => c.type !== 'comment');
  if (sizes.length < 2 || hasSplat(sizes) || sizes.some((s) => s.type === 'keyword_argument')) return undefined;
  const named = sizes.flatMap((s, i) => (unparen(s)?.type === 'identifier' && BATCH_SIZE_NAME.test(unparen(s)!.text) ? [i] : []));
  return named.length === 1 ? { axis: named[0]!, rank: sizes.length, size: sizes[named[0]!]!.text } : undefined;
}
