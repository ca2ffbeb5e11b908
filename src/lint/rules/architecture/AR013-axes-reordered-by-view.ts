import { calleeName, keywordArg, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { scopeOf } from '../../analysis/scopes';
import { anchorOf, elementBefore, valueBefore } from '../../analysis/values';
import { argumentFor, fileFunctionOf } from '../../analysis/calls';
import { returnValues } from '../../analysis/modules';
import { reachingDefs } from '../../analysis/reaching';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

const RESHAPES = new Set(['view', 'reshape']);
const LINEAR = new Set(['torch.nn.Linear', 'torch.nn.LazyLinear']);
/** In-place methods that change a tensor's shape: after one, an earlier `x.shape` no longer describes `x`. */
const SHAPE_IN_PLACE = new Set(['transpose_', 't_', 'resize_', 'resize_as_', 'squeeze_', 'unsqueeze_', 'swapaxes_', 'swapdims_', 'as_strided_', 'set_']);
const SCOPE_BREAK = new Set(['function_definition', 'lambda', 'class_definition']);
const LOOPS = new Set(['for_statement', 'while_statement']);

/** The number of heads: `n_heads`, `self.num_heads`, `nhead`, `self.h` only through WEAK_HEADS. */
const HEADS = /^(?:n_?|num_?|nb_?|number_of_)?heads?$|^(?:nheads?|n_head|num_head|head_?num|heads_?num|num_attention_heads|attn_heads|attention_heads|num_attn_heads)$/i;
/** Single letters that may be heads or a height: taken as heads only when the last size is a per-head size. */
const WEAK_HEADS = /^(?:h|H|nh|n_h)$/;
const HEAD_DIM = /^(?:d|D|E|dk|d_k|d_v|dv|d_head|head_dim|dim_head|head_size|hd|dh|d_h|attention_head_size|attn_head_size|d_kv|key_dim|dim_per_head|size_per_head|per_head_dim|headdim|attention_dim|d_q|dq|k_dim|v_dim|head_features)$/i;

/** The tensor a reshape reads and its size arguments: `x.view(a, b)`, `x.reshape((a, b))`, `torch.reshape(x, (a, b))`. */
function reshapeParts(call: PyNode, a: Analysis | undefined): { tensor: PyNode; sizes: PyNode[] } | undefined {
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
interface Axis {
  index: number;
  rank?: number;
  /** The statement that read the size (the tensor must not change between it and the reshape). */
  from: PyNode;
}

function intValue(n: PyNode | undefined): number | undefined {
  const e = unparen(n);
  if (e?.type === 'integer') return Number(e.text);
  if (e?.type === 'unary_operator' && e.text.startsWith('-')) {
    const v = intValue(e.namedChildren[0]);
    return v === undefined ? undefined : -v;
  }
  return undefined;
}

/** `T.shape` or `T.size()` of the tensor named `tensor`. */
function isShapeOf(n: PyNode | undefined, tensor: string): boolean {
  const e = unparen(n);
  if (e?.type === 'attribute') return e.child('attribute')?.text === 'shape' && unparen(e.child('object'))?.text === tensor;
  return e?.type === 'call' && calleeName(e) === 'size' && positionalArgs(e).length === 0 && !e.child('arguments')?.namedChildren.length && unparen(receiver(e))?.text === tensor;
}

/** `T.shape[i]`, `T.size(i)`, `T.size()[i]`: the axis index read. */
function indexedSize(n: PyNode | undefined, tensor: string): number | undefined {
  const e = unparen(n);
  if (e?.type === 'subscript') {
    const subs = e.namedChildren.filter((c) => c !== e.child('value') && c.type !== 'comment');
    return subs.length === 1 && isShapeOf(e.child('value'), tensor) ? intValue(subs[0]) : undefined;
  }
  if (e?.type === 'call' && calleeName(e) === 'size' && unparen(receiver(e))?.text === tensor) {
    const args = e.child('arguments')?.namedChildren.filter((c) => c.type !== 'comment') ?? [];
    return args.length === 1 ? intValue(args[0]) : undefined;
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
  const lo = bounds[0] ? intValue(nums[0]) : 0;
  const hi = bounds[1] ? intValue(nums[nums.length - 1]) : undefined;
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

function sizeOf(a: Analysis, n: PyNode, tensor: string, at: PyNode, divisors: Map<string, Axis[]>): Size {
  const e = unparen(n)!;
  if (intValue(e) === -1) return { kind: 'rest' };
  const axes: Axis[] = [];
  const names: string[] = [];
  let unknown = false;
  const leaf = (x: PyNode | undefined): Axis | undefined => {
    const u = unparen(x);
    if (!u) return undefined;
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

function rootOf(n: PyNode): PyNode {
  let r = n;
  while (r.parent) r = r.parent;
  return r;
}

/**
 * Whether `tensor` still holds, at the reshape, the value whose size was read by `from`: same scope, and no binding
 * or in-place shape change of it in between, nor anywhere in a loop around the reshape that does not hold `from`.
 */
function unchangedSince(a: Analysis, tensor: string, from: PyNode, call: PyNode): boolean {
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

interface Reorder {
  sequence: Axis[];
  rank: number | undefined;
  /** Each size one axis, every axis once (with `-1` filled in): a pure transposition. */
  pure: boolean;
  /** Every axis once, in some sizes merged: `permute(...)` then `reshape(...)`. */
  whole: boolean;
}

/** Methods that keep a tensor's shape and memory order: `x.contiguous().view(...)` reads x's axes. */
const SAME_LAYOUT = new Set(['contiguous', 'clone', 'detach', 'float', 'double', 'half', 'cpu', 'cuda', 'to']);

function peelSameLayout(n: PyNode): PyNode {
  let e = n;
  while (e.type === 'call' && SAME_LAYOUT.has(calleeName(e) ?? '') && receiver(e) && !keywordArg(e, 'memory_format')) e = unparen(receiver(e))!;
  return e;
}

/** The axes of the tensor the sizes read, in the order written, when two of them are swapped. */
function swappedAxes(a: Analysis, call: PyNode, reshaped: PyNode, sizes: PyNode[]): Reorder | undefined {
  const tensor = peelSameLayout(reshaped);
  if (tensor.type !== 'identifier') return undefined;
  const divisors = new Map<string, Axis[]>();
  const at = anchorOf(call);
  const read = sizes.map((s) => sizeOf(a, s, tensor.text, at, divisors));
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
function unpackedNames(call: PyNode, sizes: PyNode[], a: Analysis): string | undefined {
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

function receiverTensor(call: PyNode): PyNode | undefined {
  const r = receiver(call);
  return r?.type === 'identifier' && r.text === 'torch' ? positionalArgs(call)[0] : r;
}

function reorderMessage(call: PyNode, tensor: PyNode, sizes: PyNode[], r: Reorder, a: Analysis): string {
  const shown = call.text.replace(/\s+/g, ' ');
  tensor = peelSameLayout(tensor);
  const names = unpackedNames(call, sizes, a);
  const perm = r.sequence.map((x) => x.index).join(', ');
  const how = r.pure
    ? `${tensor.text}.permute(${perm})`
    : r.whole
      ? `${tensor.text}.permute(${perm}).reshape(${sizes.map((s) => s.text).join(', ')})`
      : `.permute(...)/.transpose(...) first and reshape after`;
  return `${shown} swaps axes of ${tensor.text}${names ? ` ${names}` : ''} with a reshape: view/reshape re-read memory in the old order, so values of different positions get mixed; move axes with ${how} instead.`;
}

// ---- heads split before the sequence (shape 2) ----

/** Whether `self.<attr>` is a `nn.Linear` in every assignment of the class. */
function isLinearAttr(a: Analysis, f: PyNode | undefined): PyNode | undefined {
  if (f?.type !== 'attribute' || f.child('object')?.text !== 'self') return undefined;
  const cls = f.ancestor('class_definition');
  const values = cls ? a.scopes.selfAttr(cls, f.child('attribute')?.text ?? '') : [];
  return values.length > 0 && values.every((v) => v.type === 'call' && LINEAR.has(a.callee(v) ?? '')) ? values[0] : undefined;
}

/** Whether a dim argument is the last one (`dim=-1`, `-1`, `2` of a 3-D output is not known: only -1). */
function splitsLast(call: PyNode, position: number): boolean {
  const d = keywordArg(call, 'dim') ?? positionalArgs(call)[position];
  return intValue(d) === -1;
}

/** The `nn.Linear` construction whose output `e` is (batch, seq, features), through names, `.contiguous()` and a split of the features. */
function linearOutput(a: Analysis, e: PyNode | undefined, depth = 0): PyNode | undefined {
  const u = unparen(e);
  if (!u || depth > 4) return undefined;
  if (u.type === 'call') {
    const lin = isLinearAttr(a, u.child('function'));
    if (lin) return lin;
    const name = calleeName(u);
    if (name === 'contiguous' && positionalArgs(u).length === 0) return linearOutput(a, receiver(u), depth + 1);
    return undefined;
  }
  if (u.type !== 'identifier') return undefined;
  const at = anchorOf(u);
  const v = valueBefore(a, u);
  if (v) {
    if (v.parent?.type !== 'assignment' || !unchangedSince(a, u.text, v.parent, at)) return undefined;
    return linearOutput(a, v, depth + 1);
  }
  // `q, k, v = self.qkv(x).chunk(3, dim=-1)`: each part keeps the leading axes.
  const el = elementBefore(a, u);
  const src = unparen(el?.source);
  if (!el || src?.type !== 'call' || src.parent?.type !== 'assignment' || !unchangedSince(a, u.text, src.parent, at)) return undefined;
  const name = calleeName(src);
  if ((name === 'chunk' || name === 'split') && receiver(src) && a.qname(receiver(src)) === undefined && splitsLast(src, 1)) return linearOutput(a, receiver(src), depth + 1);
  return undefined;
}

const lastPart = (n: PyNode) => (n.type === 'attribute' ? (n.child('attribute')?.text ?? '') : n.text);

/** A heads count: a name or `self.x` so called, not one of a tensor's unpacked sizes. */
function headsName(a: Analysis, n: PyNode | undefined, weakOk: boolean): boolean {
  const u = unparen(n);
  if (u?.type !== 'identifier' && u?.type !== 'attribute') return false;
  const name = lastPart(u);
  if (!HEADS.test(name) && !(weakOk && WEAK_HEADS.test(name))) return false;
  if (u.type === 'identifier') {
    // `b, h, w, c = x.shape`: a height.
    if (elementBefore(a, u)) return false;
    const v = valueBefore(a, u);
    if (v && /\.(?:shape|size)\b/.test(v.text)) return false;
  }
  return true;
}

/** The index of the size that holds the heads (alone or in a product `B * H`), and whether it is a product. */
function headsSize(a: Analysis, sizes: PyNode[], weakOk: boolean): { index: number; product: PyNode | undefined } | undefined {
  for (let i = 0; i < sizes.length - 2; i++) {
    const s = unparen(sizes[i]);
    if (headsName(a, s, weakOk)) return { index: i, product: undefined };
    if (s?.type === 'binary_operator' && s.children.find((c) => !c.named)?.text === '*' && (headsName(a, s.child('left'), weakOk) || headsName(a, s.child('right'), weakOk))) return { index: i, product: s };
  }
  return undefined;
}

/** A sequence length after the heads: `-1`, a name, `self.x`, `x.size(1)`, `x.shape[1]` (not a literal, not heads). */
function sequenceLike(a: Analysis, n: PyNode | undefined): boolean {
  const u = unparen(n);
  if (!u) return false;
  if (intValue(u) === -1) return true;
  if (u.type === 'identifier' || u.type === 'attribute') return !headsName(a, u, true);
  return u.type === 'call' ? calleeName(u) === 'size' : u.type === 'subscript' && /\.shape$/.test(u.child('value')?.text ?? '');
}

/** A per-head size: a name so called, or `C // heads`. */
function headDimLike(n: PyNode | undefined): boolean {
  const u = unparen(n);
  if (!u) return false;
  if (u.type === 'identifier' || u.type === 'attribute') return HEAD_DIM.test(lastPart(u));
  if (u.type === 'binary_operator' && u.children.find((c) => !c.named)?.text === '//') {
    const r = unparen(u.child('right'));
    return !!r && (r.type === 'identifier' || r.type === 'attribute') && (HEADS.test(lastPart(r)) || WEAK_HEADS.test(lastPart(r)));
  }
  return false;
}

interface HeadsFirst {
  heads: { index: number; product: PyNode | undefined };
  linear: PyNode;
}

/** A Linear output (batch, seq, heads*dim) split with the heads in front of the sequence: `.view(B, H, T, D)`, `.view(B * H, -1, D)`. */
function headsBeforeSequence(a: Analysis, call: PyNode, tensor: PyNode, sizes: PyNode[]): HeadsFirst | undefined {
  if (sizes.length < 3) return undefined;
  const last = sizes[sizes.length - 1]!;
  const heads = headsSize(a, sizes, headDimLike(last));
  if (!heads) return undefined;
  const middle = sizes.slice(heads.index + 1, sizes.length - 1);
  if (!middle.length || !middle.every((m) => sequenceLike(a, m))) return undefined;
  const linear = linearOutput(a, tensor);
  if (!linear) return undefined;
  // `nn.Linear(d, n_heads * prefix_len * d_head)`: the projection itself makes the sequence axis.
  const built = linear.child('arguments')?.text ?? '';
  if (middle.some((m) => intValue(m) !== -1 && new RegExp(`\\b${lastPart(unparen(m)!).replace(/\W/g, '')}\\b`).test(built))) return undefined;
  return { heads, linear };
}

function headsMessage(call: PyNode, sizes: PyNode[], h: HeadsFirst): string {
  const shown = call.text.replace(/\s+/g, ' ');
  const n = sizes.length;
  const texts = sizes.map((s) => s.text);
  let how = 'split the heads after the sequence axis (.view(B, T, H, D)) and move them with .transpose(1, 2) or .permute(...)';
  const { index, product } = h.heads;
  if (!product && n - 2 - index === 1) {
    const order = [...texts.slice(0, index), ...texts.slice(index + 1, n - 1), texts[index], texts[n - 1]];
    how = `.view(${order.join(', ')}).transpose(${index}, ${n - 2})`;
  } else if (product && index === 0 && n === 3) {
    const l = product.child('left')!;
    const r = product.child('right')!;
    const [batch, heads] = /head|^h$|^H$|^nh$/i.test(lastPart(unparen(l)!)) ? [r.text, l.text] : [l.text, r.text];
    how = `.view(${batch}, ${texts[1]}, ${heads}, ${texts[2]}).transpose(1, 2).reshape(${texts.join(', ')})`;
  }
  return `${shown} puts the heads before the sequence axis of a (batch, seq, heads*dim) Linear output: a view keeps the memory order, so each head mixes positions; split as ${how}.`;
}

// ---- heads merged back without moving them behind the sequence (shape 3) ----

/**
 * The order of a multi-head tensor's leading axes: `heads` (B, H, T, D) or (B*H, T, D), `seq` (B, T, H, D), `permuted`
 * a 4-D tensor of unknown order after `.permute(0, 2, 1, 3)` (taken as heads-first once an attention product reads it).
 */
interface Layout {
  kind: 'heads' | 'seq' | 'permuted';
  rank: number;
}

/** Parameters of a function of the file, bound to the layouts of the arguments of the call being followed. */
interface Frame {
  fn: PyNode;
  call: PyNode;
  outer: Frame | undefined;
}

const PASS_METHODS = new Set(['contiguous', 'clone', 'detach', 'float', 'double', 'half', 'to', 'type_as', 'masked_fill', 'masked_fill_', 'softmax', 'log_softmax', 'mul', 'div', 'add', 'mul_', 'div_', 'add_', 'sigmoid', 'exp', 'tanh', 'relu', 'dropout']);
const PASS_FUNCTIONS = new Set(['torch.softmax', 'torch.nn.functional.softmax', 'torch.nn.functional.dropout', 'torch.nn.functional.log_softmax', 'torch.sigmoid', 'torch.exp', 'torch.tanh', 'torch.masked_fill']);
const PRODUCTS = new Set(['torch.matmul', 'torch.bmm']);
const MAX_DEPTH = 12;

/** Whether a permutation call swaps axes 1 and 2 of a 4-D tensor: `.transpose(1, 2)`, `.swapaxes(2, 1)`, `.permute(0, 2, 1, 3)`. */
function swapsOneTwo(call: PyNode): boolean {
  const name = calleeName(call);
  const nums = positionalArgs(call).map(intValue);
  if (name === 'permute') return nums.join(',') === '0,2,1,3' || (nums.length === 1 && unparen(positionalArgs(call)[0])?.text.replace(/\s/g, '') === '(0,2,1,3)');
  if (name === 'transpose' || name === 'swapaxes' || name === 'swapdims') return nums.length === 2 && ((nums[0] === 1 && nums[1] === 2) || (nums[0] === 2 && nums[1] === 1));
  return false;
}

/** Whether a permutation call only swaps the last two axes of a 4-D tensor (`k.transpose(-2, -1)`). */
function swapsLastTwo(call: PyNode): boolean {
  const name = calleeName(call);
  const nums = positionalArgs(call).map(intValue);
  if (name === 'permute') return nums.join(',') === '0,1,3,2';
  if (name === 'transpose' || name === 'swapaxes' || name === 'swapdims' || name === 'transpose_') return nums.length === 2 && new Set(nums.map((n) => (n !== undefined && n < 0 ? n + 4 : n))).size === 2 && nums.every((n) => n === 2 || n === 3 || n === -1 || n === -2);
  return false;
}

/** Whether the sizes split heads as (B, H, T, D) or (B*H, T, D). */
function headsFirstSizes(a: Analysis, sizes: PyNode[]): boolean {
  if (sizes.length < 3 || sizes.length > 4) return false;
  const h = headsSize(a, sizes, headDimLike(sizes[sizes.length - 1]));
  return !!h && ((h.index === 1 && sizes.length === 4) || (h.index === 0 && !!h.product && sizes.length === 3)) && sequenceLike(a, sizes[sizes.length - 2]);
}

/** Whether the sizes split as (B, T, H, D). */
function sequenceFirstSizes(a: Analysis, sizes: PyNode[]): boolean {
  if (sizes.length !== 4 || !headsName(a, sizes[2], headDimLike(sizes[3]))) return false;
  return sequenceLike(a, sizes[1]) && !headsSize(a, sizes.slice(0, 2).concat(sizes.slice(3)), true);
}

/** The layout of a tensor expression, followed through names, the functions of the file and module forwards. */
function layoutOf(a: Analysis, e: PyNode | undefined, frame: Frame | undefined, depth: number): Layout | undefined {
  const u = unparen(e);
  if (!u || depth > MAX_DEPTH) return undefined;
  if (u.type === 'identifier') return layoutOfName(a, u, frame, depth + 1);
  if (u.type === 'binary_operator') {
    const op = u.children.find((c) => !c.named)?.text;
    const l = layoutOf(a, u.child('left'), frame, depth + 1);
    const r = layoutOf(a, u.child('right'), frame, depth + 1);
    if (op === '@') return productLayout(l, r);
    if (op === '*' || op === '/' || op === '+' || op === '-') return l && r && l.kind !== r.kind ? undefined : (l ?? r);
    return undefined;
  }
  if (u.type !== 'call') return undefined;
  const name = calleeName(u);
  const recv = receiver(u);
  const q = a.callee(u);
  if (q && PRODUCTS.has(q)) {
    const [x, y] = positionalArgs(u);
    return productLayout(layoutOf(a, x, frame, depth + 1), layoutOf(a, y, frame, depth + 1));
  }
  if (q && PASS_FUNCTIONS.has(q)) return layoutOf(a, positionalArgs(u)[0], frame, depth + 1);
  if (q === 'torch.nn.functional.scaled_dot_product_attention') return layoutOf(a, positionalArgs(u)[2] ?? keywordArg(u, 'value'), frame, depth + 1);
  if (name && recv && q === undefined) {
    const parts = reshapeParts(u, a);
    if (parts) return reshapeLayout(a, u, parts.tensor, parts.sizes, frame, depth);
    if (PASS_METHODS.has(name)) return layoutOf(a, recv, frame, depth + 1);
    if (swapsOneTwo(u) || swapsLastTwo(u)) {
      const inner = layoutOf(a, recv, frame, depth + 1);
      if (swapsLastTwo(u)) return inner;
      if (inner?.rank === 3) return calleeName(u) === 'permute' ? undefined : inner; // (B*H, T, D).transpose(1, 2): the heads stay in front
      if (!inner) return calleeName(u) === 'permute' ? { kind: 'permuted', rank: 4 } : undefined;
      return inner.kind === 'heads' ? { kind: 'seq', rank: 4 } : inner.kind === 'seq' ? { kind: 'heads', rank: 4 } : undefined;
    }
    if (name === 'permute' && positionalArgs(u).map(intValue).join(',') === '0,2,1') {
      const inner = layoutOf(a, recv, frame, depth + 1);
      return inner?.rank === 3 ? inner : undefined;
    }
  }
  // `self.attn_drop(x)`: a dropout layer keeps the layout.
  const f = u.child('function');
  if (f?.type === 'attribute' && /drop/i.test(lastPart(f)) && positionalArgs(u).length === 1) return layoutOf(a, positionalArgs(u)[0], frame, depth + 1);
  return callLayout(a, u, undefined, frame, depth);
}

function productLayout(l: Layout | undefined, r: Layout | undefined): Layout | undefined {
  const heads = [l, r].find((x) => x?.kind === 'heads' || x?.kind === 'permuted');
  if (!heads || [l, r].some((x) => x?.kind === 'seq')) return undefined;
  return { kind: 'heads', rank: heads.rank };
}

function reshapeLayout(a: Analysis, call: PyNode, tensor: PyNode, sizes: PyNode[], frame: Frame | undefined, depth: number): Layout | undefined {
  if (sequenceFirstSizes(a, sizes)) return { kind: 'seq', rank: 4 };
  if (!headsFirstSizes(a, sizes)) return undefined;
  const inner = layoutOf(a, tensor, frame, depth + 1);
  // Heads already in front, or a Linear output split with the heads in front (shape 2: the memory is heads-first too).
  if (inner?.kind === 'heads' || (!inner && headsBeforeSequence(a, call, tensor, sizes))) return { kind: 'heads', rank: sizes.length };
  return undefined;
}

/** What a name holds: every reaching definition must agree; a parameter takes the argument of the call followed. */
function layoutOfName(a: Analysis, id: PyNode, frame: Frame | undefined, depth: number): Layout | undefined {
  const defs = reachingDefs(id);
  if (!defs?.length) return undefined;
  let out: Layout | undefined;
  for (const d of defs) {
    let l: Layout | undefined;
    if (d.parameterOf) {
      if (!frame || frame.fn !== d.parameterOf) return undefined;
      l = layoutOf(a, argumentFor(frame.call, frame.fn, id.text), frame.outer, depth + 1);
    } else if (d.index !== undefined) {
      const src = unparen(d.value);
      if (src?.type === 'expression_list' || src?.type === 'tuple') {
        // `q, k = q.permute(0, 2, 1, 3), k.permute(0, 2, 1, 3)`: element by element.
        const items = src.namedChildren.filter((c) => c.type !== 'comment');
        if (items.some((c) => c.type === 'list_splat')) return undefined;
        l = layoutOf(a, items[d.index], frame, depth + 1);
        if (!l || (out && (out.kind !== l.kind || out.rank !== l.rank))) return undefined;
        out = l;
        continue;
      }
      if (src?.type !== 'call') return undefined;
      const name = calleeName(src);
      // `q, k, v = t.chunk(3, dim=-1)`: each part keeps the leading axes.
      l = (name === 'chunk' || name === 'split') && receiver(src) && a.qname(receiver(src)!) === undefined && splitsLast(src, 1) ? layoutOf(a, receiver(src), frame, depth + 1) : callLayout(a, src, d.index, frame, depth);
    } else l = layoutOf(a, d.value, frame, depth + 1);
    if (!l || (out && (out.kind !== l.kind || out.rank !== l.rank))) return undefined;
    out = l;
  }
  return out;
}

/** The function of the file a call runs: a function or method (fileFunctionOf), or the forward of a module attribute of the class. */
function calledFunction(a: Analysis, call: PyNode): PyNode | undefined {
  const direct = fileFunctionOf(call, a);
  if (direct) return direct;
  const f = call.child('function');
  if (f?.type !== 'attribute' || f.child('object')?.text !== 'self') return undefined;
  const cls = call.ancestor('class_definition');
  const values = cls ? a.scopes.selfAttr(cls, f.child('attribute')?.text ?? '') : [];
  const ctor = values.length === 1 && values[0]!.type === 'call' ? values[0]!.child('function') : undefined;
  if (ctor?.type !== 'identifier' || !a.definesClass(ctor.text)) return undefined;
  return a.moduleClass(ctor.text)?.forward;
}

/** The layout every return of the called function gives (element `index` of a returned tuple when given). */
function callLayout(a: Analysis, call: PyNode, index: number | undefined, frame: Frame | undefined, depth: number): Layout | undefined {
  const fn = calledFunction(a, call);
  if (!fn || depth > MAX_DEPTH - 2) return undefined;
  const inner: Frame = { fn, call, outer: frame };
  let out: Layout | undefined;
  for (const r of returnValues(fn)) {
    const e = unparen(r);
    let v: PyNode | undefined = e;
    if (index !== undefined) {
      const items = e?.type === 'expression_list' || e?.type === 'tuple' ? e.namedChildren.filter((c) => c.type !== 'comment') : [];
      v = items[index];
    }
    const l = layoutOf(a, v, inner, depth + 1);
    if (!l || (out && (out.kind !== l.kind || out.rank !== l.rank))) return undefined;
    out = l;
  }
  return out;
}

/** A (B, H, T, D) or (B*H, T, D) attention output reshaped to (B, T, H*D) with no transpose: the heads are not moved back. */
function headsNotMovedBack(a: Analysis, tensor: PyNode, sizes: PyNode[]): Layout | undefined {
  if (sizes.length !== 3) return undefined;
  const [batch, seq, width] = sizes as [PyNode, PyNode, PyNode];
  const holdsHeads = (n: PyNode) => headsSize(a, [n, width, width], true) !== undefined;
  if (holdsHeads(batch) || holdsHeads(seq) || !sequenceLike(a, seq) || headDimLike(seq) || intValue(batch) === -1) return undefined;
  const l = layoutOf(a, tensor, undefined, 0);
  return l?.kind === 'heads' ? l : undefined;
}

function mergeMessage(call: PyNode, tensor: PyNode, sizes: PyNode[], l: Layout): string {
  const shown = call.text.replace(/\s+/g, ' ');
  const name = calleeName(call);
  const target = sizes.map((s) => s.text).join(', ');
  const how = l.rank === 4 ? `${tensor.text}.transpose(1, 2).${name === 'view' ? 'contiguous().view' : 'reshape'}(${target})` : `.view(B, heads, T, d).transpose(1, 2).reshape(${target})`;
  const shape = l.rank === 4 ? '(batch, heads, seq, dim)' : '(batch*heads, seq, dim)';
  return `${shown} merges a ${shape} attention output with the sequence axis second but never moves the heads behind it: the rows mix heads and positions; use ${how}.`;
}

const EXAMPLE = (split: (t: string) => string) =>
  [
    'class SelfAttention(nn.Module):',
    '    def __init__(self, d_model, n_heads):',
    '        super().__init__()',
    '        self.n_heads, self.d_head = n_heads, d_model // n_heads',
    '        self.qkv = nn.Linear(d_model, 3 * d_model)',
    '',
    '    def forward(self, x):',
    '        B, T, C = x.shape',
    '        q, k, v = self.qkv(x).chunk(3, dim=-1)',
    ...['q', 'k', 'v'].map((t) => `        ${t} = ${split(t)}`),
    '        att = (q @ k.transpose(-2, -1) / self.d_head ** 0.5).softmax(dim=-1)',
    '        return (att @ v).transpose(1, 2).reshape(B, T, C)',
  ].join('\n');

export const AR013: Rule = {
  meta: {
    id: 'AR013',
    name: 'axes-reordered-by-view',
    group: 'architecture',
    defaultSeverity: 'warning',
    summary: 'A tensor\'s axes are reordered with `.view(...)`/`.reshape(...)` instead of `.transpose`/`.permute`: the values of different positions, heads or channels get mixed.',
    why:
      '`view` and `reshape` never move data: they read the same memory, in the same order, under a new shape. Asking a ' +
      '(B, L, H, D) tensor for `.view(B, H, L, D)` does not swap the L and H axes; it cuts the memory of each sample into ' +
      'new rows, so a "head" now holds pieces of several positions and heads. Nothing fails: the shapes are the ones the ' +
      'next layer expects, the model trains, only worse (attention over scrambled tokens, an image read as (h, w, c) from ' +
      'a (c, h, w) buffer is noise). Reordering axes is `.transpose(i, j)` or `.permute(...)` (then `.reshape(...)` ' +
      'to merge or split axes, which keeps their order). Reported: a reshape whose sizes are the tensor\'s own sizes ' +
      '(`B, L, H, D = x.shape`, `x.size(0)`, `x.shape[1]`, `C // heads` as a part of C) in another order, `-1` standing ' +
      'for the sizes not named; and a `nn.Linear` output (batch, seq, heads*dim) split with the heads in front of the ' +
      'sequence (`.view(B, heads, T, d)`, `.view(B * heads, -1, d)`), which must be `.view(B, T, heads, d).transpose(1, 2)`. ' +
      'Also the merge: an attention output whose heads stand before the sequence (split in this function, then kept by ' +
      'matmul/@/softmax/dropout, through helper methods and module forwards of the file) reshaped straight to ' +
      '(B, T, heads*d) or (B, -1, width), which must be `.transpose(1, 2)` first. ' +
      'Not reported: merges and splits that keep the order (`x.view(B, L, H * D)`), a tensor changed after its sizes were ' +
      'read, and `rearrange`/`einsum`, which name their axes.',
    wrong: EXAMPLE((t) => `${t}.view(B, self.n_heads, T, self.d_head)`),
    right: EXAMPLE((t) => `${t}.view(B, T, self.n_heads, self.d_head).transpose(1, 2)`),
    concept: 'view/reshape keep memory order; transpose/permute reorder axes',
    fixable: false,
  },
  nodeTypes: ['call'],
  // Not statement-local: at module level, whether the tensor changed in between is read over the whole module.
  candidate: { reads: ['imports'], test: (call, ctx) => reshapeParts(call, ctx.analysis) !== undefined },
  visit(call, ctx) {
    const a = ctx.analysis;
    const parts = reshapeParts(call, a);
    if (!parts) return;
    const { tensor, sizes } = parts;
    const r = swappedAxes(a, call, tensor, sizes);
    if (r) {
      ctx.report({ node: call, message: reorderMessage(call, tensor, sizes, r, a) });
      return;
    }
    const h = headsBeforeSequence(a, call, tensor, sizes);
    if (h) {
      ctx.report({ node: call, message: headsMessage(call, sizes, h) });
      return;
    }
    const merged = headsNotMovedBack(a, tensor, sizes);
    if (merged) ctx.report({ node: call, message: mergeMessage(call, tensor, sizes, merged) });
  },
};
