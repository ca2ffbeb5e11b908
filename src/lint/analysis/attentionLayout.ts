// Multi-head attention layouts: whether a tensor split into heads holds them before or after the sequence axis,
// followed through names, matmul/@/softmax/dropout, helper functions and module forwards of the file. A Linear output
// (batch, seq, heads*dim) split as (B, H, T, D) and a heads-first output merged to (B, T, H*D) without a transpose
// both mix positions and heads (AR013).
import { calleeName, keywordArg, positionalArgs, receiver, unparen, type Analysis } from './index';
import { reshapeParts, SAME_LAYOUT, unchangedSince } from './axisOrder';
import { argumentFor, fileFunctionOf } from './calls';
import { returnValues } from './modules';
import { signedInt } from './numbers';
import { reachingDefs } from './reaching';
import { anchorOf, elementBefore, valueBefore } from './values';
import type { PyNode } from '../parser';

const LINEAR = new Set(['torch.nn.Linear', 'torch.nn.LazyLinear']);
/** The number of heads: `n_heads`, `self.num_heads`, `nhead`, `self.h` only through WEAK_HEADS. */
const HEADS = /^(?:n_?|num_?|nb_?|number_of_)?heads?$|^(?:nheads?|n_head|num_head|head_?num|heads_?num|num_attention_heads|attn_heads|attention_heads|num_attn_heads)$/i;
/** Single letters that may be heads or a height: taken as heads only when the last size is a per-head size. */
const WEAK_HEADS = /^(?:h|H|nh|n_h)$/;
const HEAD_DIM = /^(?:d|D|E|dk|d_k|d_v|dv|d_head|head_dim|dim_head|head_size|hd|dh|d_h|attention_head_size|attn_head_size|d_kv|key_dim|dim_per_head|size_per_head|per_head_dim|headdim|attention_dim|d_q|dq|k_dim|v_dim|head_features)$/i;

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
  return signedInt(d) === -1;
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

export const lastPart = (n: PyNode) => (n.type === 'attribute' ? (n.child('attribute')?.text ?? '') : n.text);

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
  if (signedInt(u) === -1) return true;
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

export interface HeadsFirst {
  heads: { index: number; product: PyNode | undefined };
  linear: PyNode;
}

/** A Linear output (batch, seq, heads*dim) split with the heads in front of the sequence: `.view(B, H, T, D)`, `.view(B * H, -1, D)`. */
export function headsBeforeSequence(a: Analysis, call: PyNode, tensor: PyNode, sizes: PyNode[]): HeadsFirst | undefined {
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
  if (middle.some((m) => signedInt(m) !== -1 && new RegExp(`\\b${lastPart(unparen(m)!).replace(/\W/g, '')}\\b`).test(built))) return undefined;
  return { heads, linear };
}

/**
 * The order of a multi-head tensor's leading axes: `heads` (B, H, T, D) or (B*H, T, D), `seq` (B, T, H, D), `permuted`
 * a 4-D tensor of unknown order after `.permute(0, 2, 1, 3)` (taken as heads-first once an attention product reads it).
 */
export interface Layout {
  kind: 'heads' | 'seq' | 'permuted';
  rank: number;
}

/** Parameters of a function of the file, bound to the layouts of the arguments of the call being followed. */
interface Frame {
  fn: PyNode;
  call: PyNode;
  outer: Frame | undefined;
}

/** Methods that keep the order of the leading axes (SAME_LAYOUT, elementwise maths, softmax over the last axis). */
const PASS_METHODS = new Set([...SAME_LAYOUT, 'type_as', 'masked_fill', 'masked_fill_', 'softmax', 'log_softmax', 'mul', 'div', 'add', 'mul_', 'div_', 'add_', 'sigmoid', 'exp', 'tanh', 'relu', 'dropout']);
const PASS_FUNCTIONS = new Set(['torch.softmax', 'torch.nn.functional.softmax', 'torch.nn.functional.dropout', 'torch.nn.functional.log_softmax', 'torch.sigmoid', 'torch.exp', 'torch.tanh', 'torch.masked_fill']);
const PRODUCTS = new Set(['torch.matmul', 'torch.bmm']);
const MAX_DEPTH = 12;

/** Whether a permutation call swaps axes 1 and 2 of a 4-D tensor: `.transpose(1, 2)`, `.swapaxes(2, 1)`, `.permute(0, 2, 1, 3)`. */
function swapsOneTwo(call: PyNode): boolean {
  const name = calleeName(call);
  const nums = positionalArgs(call).map(signedInt);
  if (name === 'permute') return nums.join(',') === '0,2,1,3' || (nums.length === 1 && unparen(positionalArgs(call)[0])?.text.replace(/\s/g, '') === '(0,2,1,3)');
  if (name === 'transpose' || name === 'swapaxes' || name === 'swapdims') return nums.length === 2 && ((nums[0] === 1 && nums[1] === 2) || (nums[0] === 2 && nums[1] === 1));
  return false;
}

/** Whether a permutation call only swaps the last two axes of a 4-D tensor (`k.transpose(-2, -1)`). */
function swapsLastTwo(call: PyNode): boolean {
  const name = calleeName(call);
  const nums = positionalArgs(call).map(signedInt);
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
    if (name === 'permute' && positionalArgs(u).map(signedInt).join(',') === '0,2,1') {
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
export function headsNotMovedBack(a: Analysis, tensor: PyNode, sizes: PyNode[]): Layout | undefined {
  if (sizes.length !== 3) return undefined;
  const [batch, seq, width] = sizes as [PyNode, PyNode, PyNode];
  const holdsHeads = (n: PyNode) => headsSize(a, [n, width, width], true) !== undefined;
  if (holdsHeads(batch) || holdsHeads(seq) || !sequenceLike(a, seq) || headDimLike(seq) || signedInt(batch) === -1) return undefined;
  const l = layoutOf(a, tensor, undefined, 0);
  return l?.kind === 'heads' ? l : undefined;
}
