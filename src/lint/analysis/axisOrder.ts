// The axes of a tensor as a reshape reads them: the sizes of `x.view(...)` / `x.reshape(...)` traced back to the tensor's
// own shape (`B, L, H, D = x.shape`, `x.size(1)`, `C // heads` as a part of axis C), so a reshape that lists them in
// another order can be told from one that only merges or splits axes in place. Used by AR013.
import { calleeName, keywordArg, positionalArgs, receiver, rootOf, unparen, type Analysis } from './index';
import { signedInt } from './numbers';
import { scopeOf } from './scopes';
import { anchorOf, elementBefore, valueBefore } from './values';
import type { PyNode } from '../parser';

const RESHAPES = new Set(['view', 'reshape']);
/** In-place methods that change a tensor's shape: after one, an earlier `x.shape` no longer describes `x`. */
const SHAPE_IN_PLACE = new Set(['transpose_', 't_', 'resize_', 'resize_as_', 'squeeze_', 'unsqueeze_', 'swapaxes_', 'swapdims_', 'as_strided_', 'set_']);
const SCOPE_BREAK = new Set(['function_definition', 'lambda', 'class_definition']);
const LOOPS = new Set(['for_statement', 'while_statement']);

/** The tensor a reshape reads and its size arguments: `x.view(a, b)`, `x.reshape((a, b))`, `torch.reshape(x, (a, b))`. */
export function reshapeParts(call: PyNode, a: Analysis | undefined): { tensor: PyNode; sizes: PyNode[] } | undefined {
  const name = calleeName(call);
  if (!name || !RESHAPES.has(name)) return undefined;
  const args = call.child('arguments');
  if (!args || args.type !== 'argument_list' || args.children.some((c) => c.type === 'list_splat' || c.type === 'dictionary_splat')) return undefined;
  const pos = positionalArgs(call);
  const recv = receiver(call);
  if (!recv) return undefined;
  let tensor: PyNode | undefined = recv;
  let shape: PyNode[] = pos;
  if (recv.type === 'identifier' && (recv.text === 'torch' || recv.text === 'np' || recv.text === 'numpy' || recv.text === 'tf')) {
    // `torch.reshape(x, shape)`: the only function form (a cheap text test first; the import decides).
    if (name !== 'reshape' || recv.text !== 'torch' || (a && a.callee(call) !== 'torch.reshape')) return undefined;
    tensor = pos[0] ?? keywordArg(call, 'input');
    const s = pos[1] ?? keywordArg(call, 'shape');
    shape = s ? [s] : [];
  } else if (pos.length !== args.namedChildren.filter((c) => c.type !== 'comment').length) return undefined; // keywords: not a shape
  if (shape.length === 1) {
    const only = unparen(shape[0]);
    if (only?.type === 'tuple' || only?.type === 'list') shape = only.namedChildren.filter((c) => c.type !== 'comment');
    else if (tensor === recv) return undefined; // `x.view(torch.float16)`, `x.view(n)`: no order to read
  }
  if (!tensor || shape.length < 2 || shape.some((s) => s.type === 'list_splat' || s.type === 'keyword_argument')) return undefined;
  return { tensor: unparen(tensor)!, sizes: shape };
}

// ---- the tensor's own axes (shape 1) ----

/** An axis of the tensor: `index` from the front (>= 0) or from the back (< 0); `rank` when a full unpacking gives it. */
export interface Axis {
  index: number;
  rank?: number;
  /** The statement that read the size (the tensor must not change between it and the reshape). */
  from: PyNode;
}


/** `T.shape` or `T.size()` of the tensor named `tensor`. */
export function isShapeOf(n: PyNode | undefined, tensor: string): boolean {
  const e = unparen(n);
  if (e?.type === 'attribute') return e.child('attribute')?.text === 'shape' && unparen(e.child('object'))?.text === tensor;
  return e?.type === 'call' && calleeName(e) === 'size' && positionalArgs(e).length === 0 && !e.child('arguments')?.namedChildren.length && unparen(receiver(e))?.text === tensor;
}

/** `T.shape[i]`, `T.size(i)`, `T.size()[i]`: the axis index read. */
function indexedSize(n: PyNode | undefined, tensor: string): number | undefined {
  const e = unparen(n);
  if (e?.type === 'subscript') {
    const subs = e.namedChildren.filter((c) => c !== e.child('value') && c.type !== 'comment');
    return subs.length === 1 && isShapeOf(e.child('value'), tensor) ? signedInt(subs[0]) : undefined;
  }
  if (e?.type === 'call' && calleeName(e) === 'size' && unparen(receiver(e))?.text === tensor) {
    const args = e.child('arguments')?.namedChildren.filter((c) => c.type !== 'comment') ?? [];
    return args.length === 1 ? signedInt(args[0]) : undefined;
  }
  return undefined;
}

/** The first index and the rank (full unpacking) of the names bound from `T.shape`, `T.size()`, `T.shape[2:]`, `T.shape[-2:]`, `T.shape[:2]`. */
function unpackedSlice(source: PyNode, tensor: string, count: number): { first: number; rank?: number } | undefined {
  const e = unparen(source);
  if (isShapeOf(e, tensor)) return { first: 0, rank: count };
  if (e?.type !== 'subscript' || !isShapeOf(e.child('value'), tensor)) return undefined;
  const subs = e.namedChildren.filter((c) => c !== e.child('value') && c.type !== 'comment');
  const s = subs.length === 1 && subs[0]!.type === 'slice' ? subs[0]! : undefined;
  const bounds = s?.text.split(':').map((t) => t.trim());
  if (!s || bounds?.length !== 2) return undefined;
  const nums = s.namedChildren.filter((c) => c.type !== 'comment');
  const lo = bounds[0] ? signedInt(nums[0]) : 0;
  const hi = bounds[1] ? signedInt(nums[nums.length - 1]) : undefined;
  if (lo === undefined || (bounds[1] && (hi === undefined || lo < 0 || hi < 0 || hi - lo !== count))) return undefined;
  return { first: lo };
}

/** The axis of `tensor` a size name holds at `at`: unpacked from its shape or assigned one size of it. */
function axisOfName(a: Analysis, id: PyNode, tensor: string): Axis | undefined {
  const el = elementBefore(a, id);
  if (el) {
    const assign = el.source.parent;
    const left = assign?.type === 'assignment' ? assign.child('left') : undefined;
    if (!assign || !left) return undefined;
    const count = left.namedChildren.filter((c) => c.type !== 'comment').length;
    const slice = unpackedSlice(el.source, tensor, count);
    if (!slice) return undefined;
    return { index: slice.first + el.index, rank: slice.rank, from: assign };
  }
  const v = valueBefore(a, id);
  const index = v ? indexedSize(v, tensor) : undefined;
  return index === undefined || v?.parent?.type !== 'assignment' ? undefined : { index, from: v.parent };
}

/** What one size argument holds: axes of the tensor, `-1`, or unknown; `divisors` records `C // n` (n is part of C). */
type Size = { kind: 'axes'; axes: Axis[]; names: string[] } | { kind: 'rest' } | { kind: 'unknown'; names: string[] };

/** Functions that allocate a tensor of the sizes they are given (`torch.zeros(H, B, L, D)`), and methods alike. */
const ALLOCATORS = new Set(['torch.zeros', 'torch.ones', 'torch.empty', 'torch.randn', 'torch.rand', 'torch.full']);
const NEW_METHODS = new Set(['new_zeros', 'new_ones', 'new_empty', 'new_full']);

/** The size arguments a tensor was allocated with, where the name is bound to the allocation itself. */
interface Allocation {
  sizes: PyNode[];
  from: PyNode;
}

/** `heads = torch.zeros(self.n_heads, B, L, d)`: the sizes, in axis order, and the assignment. */
function allocationOf(a: Analysis, tensor: PyNode): Allocation | undefined {
  if (tensor.type !== 'identifier') return undefined;
  const v = unparen(valueBefore(a, tensor) ?? undefined);
  if (v?.type !== 'call' || v.parent?.type !== 'assignment') return undefined;
  const method = NEW_METHODS.has(calleeName(v) ?? '') && v.child('function')?.type === 'attribute';
  const q = method ? undefined : a.callee(v);
  if (!method && !ALLOCATORS.has(q ?? '')) return undefined;
  let sizes = positionalArgs(v);
  if (q === 'torch.full' || calleeName(v) === 'new_full') sizes = sizes.slice(0, 1);
  const only = sizes.length === 1 ? unparen(sizes[0]) : undefined;
  if (only?.type === 'tuple' || only?.type === 'list') sizes = only.namedChildren.filter((c) => c.type !== 'comment');
  return sizes.length >= 2 ? { sizes, from: v.parent } : undefined;
}

/**
 * The axis of an allocated tensor a size stands for: the one allocation argument written the same (`B`, `self.n_heads`),
 * when it is the only one so written and a name is not rebound between the allocation and the reshape.
 */
function allocatedAxis(a: Analysis, size: PyNode, alloc: Allocation, at: PyNode): Axis | undefined {
  if (size.type !== 'identifier' && size.type !== 'attribute') return undefined;
  const same = alloc.sizes.flatMap((s, i) => (unparen(s)?.text === size.text ? [i] : []));
  if (same.length !== 1) return undefined;
  if (size.type === 'identifier' && !unchangedSince(a, size.text, alloc.from, at)) return undefined;
  return { index: same[0]!, rank: alloc.sizes.length, from: alloc.from };
}

function sizeOf(a: Analysis, n: PyNode, tensor: string, at: PyNode, divisors: Map<string, Axis[]>, alloc?: Allocation): Size {
  const e = unparen(n)!;
  if (signedInt(e) === -1) return { kind: 'rest' };
  const axes: Axis[] = [];
  const names: string[] = [];
  let unknown = false;
  const leaf = (x: PyNode | undefined): Axis | undefined => {
    const u = unparen(x);
    if (!u) return undefined;
    const allocated = alloc && allocatedAxis(a, u, alloc, at);
    if (allocated) return allocated;
    if (u.type === 'identifier') return axisOfName(a, u, tensor);
    const i = indexedSize(u, tensor);
    return i === undefined ? undefined : { index: i, from: at };
  };
  const visit = (x: PyNode | undefined): void => {
    const u = unparen(x);
    if (!u) return;
    if (u.type === 'binary_operator') {
      const op = u.children.find((c) => !c.named)?.text;
      if (op === '*') {
        visit(u.child('left'));
        visit(u.child('right'));
        return;
      }
      if (op === '//' || op === '/') {
        const before = axes.length;
        visit(u.child('left'));
        const right = unparen(u.child('right'));
        // `C // H`: H is a part of axis C wherever it stands alone.
        if (axes.length === before + 1 && (right?.type === 'identifier' || right?.type === 'attribute')) {
          const list = divisors.get(right.text) ?? [];
          list.push(axes[before]!);
          divisors.set(right.text, list);
        } else if (axes.length !== before) unknown = true;
        return;
      }
      unknown = true;
      return;
    }
    if (u.type === 'integer') return; // a literal factor: no axis
    const ax = leaf(u);
    if (ax) axes.push(ax);
    else if (u.type === 'identifier' || u.type === 'attribute') names.push(u.text);
    else unknown = true;
  };
  visit(e);
  if (unknown) return { kind: 'unknown', names: [] };
  return axes.length ? { kind: 'axes', axes, names } : { kind: 'unknown', names };
}

/** Sort key of an axis: from the front first, then from the back (`x.shape[:2]` names come before `x.shape[-2:]` ones). */
function axisKey(ax: Axis, rank: number | undefined): number {
  if (ax.index >= 0) return ax.index;
  return rank !== undefined ? rank + ax.index : 1000 + ax.index;
}

/** Binding events of each name in a scope: rebinding, `x[...] =` is not one (same shape), in-place shape changes are. */
function bindingEvents(a: Analysis, scope: PyNode): Map<string, PyNode[]> {
  let byScope = eventsCache.get(a);
  if (!byScope) eventsCache.set(a, (byScope = new Map()));
  const kept = byScope.get(scope);
  if (kept) return kept;
  const out = new Map<string, PyNode[]>();
  const add = (name: string, n: PyNode) => {
    const list = out.get(name);
    if (list) list.push(n);
    else out.set(name, [n]);
  };
  const targets = (t: PyNode | undefined, at: PyNode) =>
    t?.walk((n) => {
      if (n.type === 'attribute' || n.type === 'subscript') return false;
      if (n.type === 'identifier') add(n.text, at);
    });
  scope.walk((n) => {
    if (n !== scope && SCOPE_BREAK.has(n.type)) return false;
    switch (n.type) {
      case 'assignment':
      case 'augmented_assignment':
      case 'for_statement':
        targets(n.child('left'), n);
        break;
      case 'named_expression':
        targets(n.child('name'), n);
        break;
      case 'as_pattern':
        targets(n.child('alias'), n);
        break;
      case 'call': {
        const r = unparen(receiver(n));
        if (r?.type === 'identifier' && SHAPE_IN_PLACE.has(calleeName(n) ?? '')) add(r.text, n);
        break;
      }
    }
  });
  byScope.set(scope, out);
  return out;
}

const eventsCache = new WeakMap<Analysis, Map<PyNode, Map<string, PyNode[]>>>();


/**
 * Whether `tensor` still holds, at the reshape, the value whose size was read by `from`: same scope, and no binding
 * or in-place shape change of it in between, nor anywhere in a loop around the reshape that does not hold `from`.
 */
export function unchangedSince(a: Analysis, tensor: string, from: PyNode, call: PyNode): boolean {
  const scope = scopeOf(call);
  if (scopeOf(from) !== scope || from.end > call.start) return false;
  const events = bindingEvents(a, scope?.child('body') ?? rootOf(call)).get(tensor) ?? [];
  if (events.some((ev) => ev !== from && ev.start >= from.end && ev.end <= call.start)) return false;
  for (let p = call.parent; p && p !== scope; p = p.parent) {
    if (!LOOPS.has(p.type) || (p.start <= from.start && from.end <= p.end)) continue;
    // The loop's own target is the tensor, or it is changed somewhere in the loop: another iteration's value.
    if (events.some((ev) => ev.start >= p!.start && ev.end <= p!.end && ev !== from)) return false;
  }
  return true;
}

export interface Reorder {
  sequence: Axis[];
  rank: number | undefined;
  /** Each size one axis, every axis once (with `-1` filled in): a pure transposition. */
  pure: boolean;
  /** Every axis once, in some sizes merged: `permute(...)` then `reshape(...)`. */
  whole: boolean;
}

/** Methods that keep a tensor's shape and memory order: `x.contiguous().view(...)` reads x's axes. */
export const SAME_LAYOUT = new Set(['contiguous', 'clone', 'detach', 'float', 'double', 'half', 'cpu', 'cuda', 'to']);

export function peelSameLayout(n: PyNode): PyNode {
  let e = n;
  while (e.type === 'call' && SAME_LAYOUT.has(calleeName(e) ?? '') && receiver(e) && !keywordArg(e, 'memory_format')) e = unparen(receiver(e))!;
  return e;
}

/** The axes of the tensor the sizes read, in the order written, when two of them are swapped. */
export function swappedAxes(a: Analysis, call: PyNode, reshaped: PyNode, sizes: PyNode[]): Reorder | undefined {
  const tensor = peelSameLayout(reshaped);
  if (tensor.type !== 'identifier') return undefined;
  const divisors = new Map<string, Axis[]>();
  const at = anchorOf(call);
  const alloc = allocationOf(a, tensor);
  const read = sizes.map((s) => sizeOf(a, s, tensor.text, at, divisors, alloc));
  const all = read.flatMap((r) => (r.kind === 'axes' ? r.axes : []));
  if (all.length < 2) return undefined;
  // A name that divides one axis (`C // H`) stands for a part of that axis where it appears alone.
  const parts = read.map((r): Axis[] | 'rest' | undefined => {
    if (r.kind === 'rest') return 'rest';
    const extra = r.names.map((nm) => divisors.get(nm)).filter((d): d is Axis[] => !!d && new Set(d.map((x) => x.index)).size === 1).map((d) => d[0]!);
    if (r.kind === 'axes') return r.names.length === extra.length ? [...r.axes, ...extra] : r.axes;
    return r.names.length > 0 && extra.length === r.names.length ? extra : undefined;
  });
  const rank = all.find((x) => x.rank !== undefined)?.rank;
  if (all.some((x) => x.rank !== undefined && x.rank !== rank)) return undefined;
  // The tensor must be the one whose sizes were read.
  const froms = new Set(all.map((x) => x.from));
  for (const f of froms) if (f !== at && !unchangedSince(a, tensor.text, f, at)) return undefined;
  // `-1` is the rest of the axes when every other size is known and the rank is.
  const rests = parts.filter((p) => p === 'rest').length;
  const known = parts.every((p) => p !== undefined);
  const keys = (list: Axis[]) => [...new Set(list.map((x) => axisKey(x, rank)))].sort((x, y) => x - y);
  let sequence: number[] = [];
  let whole = false;
  let pure = false;
  if (rests === 1 && known && rank !== undefined) {
    const used = new Set(parts.flatMap((p) => (p === 'rest' ? [] : keys(p!))));
    const missing = [...Array(rank).keys()].filter((i) => !used.has(i));
    if (!missing.length) return undefined;
    sequence = parts.flatMap((p) => (p === 'rest' ? missing : keys(p!)));
  } else sequence = parts.flatMap((p) => (p === undefined || p === 'rest' ? [] : keys(p)));
  if (rank !== undefined && known && (rests === 0 || rests === 1)) {
    whole = sequence.length === rank && new Set(sequence).size === rank;
    pure = whole && sizes.length === rank;
  }
  const swapped = sequence.some((k, i) => i > 0 && k < sequence[i - 1]!);
  if (!swapped) return undefined;
  return { sequence: sequence.map((k) => ({ index: k, from: call })), rank, pure, whole };
}

/** The names the tensor's sizes were unpacked into, when one full unpacking of its shape gives them: `(B, L, H, D)`. */
export function unpackedNames(call: PyNode, sizes: PyNode[], a: Analysis): string | undefined {
  for (const s of sizes) {
    const e = unparen(s);
    if (e?.type !== 'identifier') continue;
    const el = elementBefore(a, e);
    const left = el?.source.parent?.type === 'assignment' ? el.source.parent.child('left') : undefined;
    const t = receiverTensor(call);
    if (left && t && isShapeOf(el!.source, peelSameLayout(unparen(t)!).text)) return `(${left.namedChildren.filter((c) => c.type !== 'comment').map((c) => c.text).join(', ')})`;
  }
  return undefined;
}

export function receiverTensor(call: PyNode): PyNode | undefined {
  const r = receiver(call);
  return r?.type === 'identifier' && r.text === 'torch' ? positionalArgs(call)[0] : r;
}
