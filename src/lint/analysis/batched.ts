// Tensors whose dim 0 is known to be the batch, with at least two dimensions: what AR006 needs to call an explicit
// `softmax(dim=0)` wrong. Seeds: a loader loop's tensors, a name that says it holds a batch, a `.view(B * L, ...)`
// whose first size is the batch size, a `bmm` (its dim 0 is the batch by definition). Followed through layers,
// models, matmul / einsum on the batched operand, elementwise arithmetic and shape-keeping methods, and into a
// function or `forward` from the file's call sites. Unknown (undefined) whenever a step can move or drop dim 0
// (transpose, squeeze(), stack, an RNN that may be seq-first): precision first.
import type { PyNode } from '../parser';
import { calleeName, keywordArg, parameterNames, positionalArgs, receiver, unparen, type Analysis, type ModuleClass } from './index';
import { MODEL_NAME } from './outputs';
import { signedInt } from './numbers';
import { parameterArguments } from './parameters';
import { modelApplications } from './passedModels';
import { reachingDefs } from './reaching';
import { scopeOf } from './scopes';
import { elementBefore, valueBefore } from './values';

export interface Batched {
  /** Number of dimensions, when known exactly. */
  rank?: number;
  /** At least this many dimensions. */
  min: number;
  /** What the tensor is, for a message ("a bmm of batched tensors"). */
  why: string;
}

// A conv stack of four blocks is about 16 steps (name, activation, pool, layer each).
const MAX_DEPTH = 32;

/** A loop over a loader (not over a batch: `for x in batch` yields samples). */
const LOADER = /loader|\bdl\b|_dl\b/i;
/** A name that says it holds a batch of samples (`state_batch`, `x_batch`, `batch`), not a size or an index. */
const BATCH_NAME = /(^|_)batch(es)?($|_)/i;
const NOT_BATCH = /size|sz|idx|index|num|count|first|len|step|^n_?batch|^nb_|_i$|_id$|_no$|norm|fn$|sampler|iter/i;
/** A batch size: `batch_size`, `bs`, `B` (in a view's first size). */
const BATCH_SIZE = /^(b|bs|bsz|batch|batch_?size|batch_?sz|n_?batch|num_?batch)$/i;

/** Methods that keep every dimension. */
const SAME_SHAPE = new Set(['float', 'double', 'half', 'contiguous', 'to', 'cuda', 'cpu', 'detach', 'clone', 'exp', 'log', 'abs', 'sigmoid', 'tanh', 'relu', 'masked_fill', 'masked_fill_', 'type', 'requires_grad_', 'div', 'mul', 'add', 'sub']);
/** torch / functional calls whose output has the shape of their first argument. */
const ELEMENTWISE = /^torch\.(nn\.functional\.)?(relu6?|leaky_relu|gelu|elu|selu|silu|mish|tanh|sigmoid|exp|log|abs|dropout|normalize|layer_norm|hardtanh|softplus)$/;
/** Functional ops that keep dim 0 and the rank: pooling, convolution, normalisation, resizing of (batch, C, ...) maps. */
const KEEPS_DIM0 = /^torch\.(nn\.functional\.)?((max|avg|adaptive_avg|adaptive_max|lp)_pool[123]d|conv(_transpose)?[123]d|batch_norm|instance_norm|group_norm|local_response_norm|interpolate|upsample|pad|dropout[123]d|hardswish|pixel_shuffle|pixel_unshuffle)$/;
/**
 * Arguments named by the Hugging Face convention, always (batch, seq, ...): a function taking `input_ids` is fed
 * tokenizer batches.
 */
const BATCH_FIRST_PARAMETER = /^(input_ids|attention_mask|token_type_ids|pixel_values|input_values)$/;
/** Layers that keep dim 0 where it is (RNNs and attention can be seq-first: not here). */
const KEEPS_BATCH = /^torch\.nn\.(Linear|LazyLinear|Bilinear|(Lazy)?Conv(Transpose)?[123]d|Embedding|Dropout[123]?d?|BatchNorm[123]d|LayerNorm|GroupNorm|ReLU6?|LeakyReLU|GELU|ELU|SELU|SiLU|Tanh|Sigmoid|Identity|(Max|Avg|AdaptiveAvg|AdaptiveMax)Pool[123]d)$/;
/** Layers whose inputs may be (time, batch, ...): a file using them without batch_first may be seq-first. */
const SEQ_LAYER = /^torch\.nn\.(RNN|LSTM|GRU|MultiheadAttention|Transformer(Encoder|Decoder)?(Layer)?)$/;

/** Whether `expr` is a tensor with the batch at dim 0 and at least two dimensions (or one, `min`). */
export function batchedTensor(a: Analysis, expr: PyNode | undefined): Batched | undefined {
  return new Reader(a, false).read(expr, 0);
}

/**
 * The same for the input of a sequence-first layer (AR008): there, a file with such layers is the point, so loader
 * batches and batch-named tensors are trusted unless the file collates its own batches (`collate_fn=`, or
 * `pad_sequence` without batch_first=True), which may put time first.
 */
export function batchFirstInput(a: Analysis, expr: PyNode | undefined): Batched | undefined {
  return new Reader(a, !ownCollate(a)).read(expr, 0);
}

const collateCache = new WeakMap<Analysis, boolean>();
function ownCollate(a: Analysis): boolean {
  let v = collateCache.get(a);
  if (v === undefined) {
    v = false;
    for (const call of a.index.of('call')) {
      const q = a.callee(call) ?? '';
      if (q === 'torch.nn.utils.rnn.pad_sequence' && keywordArg(call, 'batch_first')?.text !== 'True') v = true;
      else if (keywordArg(call, 'collate_fn')) v = true;
    }
    collateCache.set(a, v);
  }
  return v;
}

/** torch factories whose sizes are the shape: `torch.zeros(batch_size, 1, hidden)`. */
const FACTORY = /^torch\.(zeros|ones|empty|rand|randn)$/;

class Reader {
  constructor(
    private readonly a: Analysis,
    /** Loader batches and batch names count even in a file with sequence-first layers. */
    private readonly trustSeqFirst: boolean,
  ) {}

  /** seqFirstFile, unless this reader trusts such files. */
  private seqFirst(): boolean {
    return !this.trustSeqFirst && seqFirstFile(this.a);
  }

  read(expr: PyNode | undefined, depth: number): Batched | undefined {
    const e = unparen(expr);
    if (!e || depth > MAX_DEPTH) return undefined;
    switch (e.type) {
      case 'identifier':
        return this.name(e, depth);
      case 'binary_operator':
        return this.binary(e, depth);
      case 'call':
        return this.call(e, depth);
      default:
        return undefined;
    }
  }

  private name(id: PyNode, depth: number): Batched | undefined {
    const v = valueBefore(this.a, id);
    if (v) {
      const got = this.read(v, depth + 1);
      if (got) return got;
    } else if (v === null) {
      const got = this.unknownBinding(id, depth);
      if (got) return got;
    }
    return this.namedBatch(id);
  }

  /** `state_batch`, `x_batch`: one batch of samples (its rank is not known). */
  private namedBatch(id: PyNode): Batched | undefined {
    return BATCH_NAME.test(id.text) && !NOT_BATCH.test(id.text) && !this.seqFirst() ? { min: 1, why: `the batch \`${id.text}\`` } : undefined;
  }

  /** A name bound to no readable value: an unpacked element, a loop target, a parameter. */
  private unknownBinding(id: PyNode, depth: number): Batched | undefined {
    const el = elementBefore(this.a, id);
    if (el) {
      // `x, y = batch`: each field of a batch has the batch at dim 0.
      const src = unparen(el.source);
      if (src?.type === 'identifier' || (src?.type === 'call' && isTupleOfGenerator(src))) {
        const got = this.read(src, depth + 1);
        return got ? { min: 1, why: got.why } : undefined;
      }
      return undefined;
    }
    if (this.seqFirst()) return undefined;
    const fn = scopeOf(id);
    if (fn && BATCH_FIRST_PARAMETER.test(id.text) && parameterNames(fn).includes(id.text)) return { min: 2, why: `\`${id.text}\` (batch, seq, ...) by the Hugging Face convention` };
    const loop = loaderLoopBinding(this.a, id);
    if (loop) return { min: 1, why: 'a batch from the loader loop' };
    return this.parameter(id, depth);
  }

  /** A parameter: every call site of its function passes a batched tensor (forward: any caller of the module). */
  private parameter(id: PyNode, depth: number): Batched | undefined {
    const fn = scopeOf(id);
    if (!fn || fn.type !== 'function_definition') return undefined;
    if (fn.child('name')?.text === 'forward') return this.forwardParameter(fn, id, depth);
    const args = parameterArguments(this.a, id);
    if (!args?.length) return undefined;
    let min = Infinity;
    let why = '';
    for (const arg of args) {
      const got = this.read(arg, depth + 1);
      if (!got) return undefined;
      if (got.min < min) [min, why] = [got.min, got.why];
    }
    return { min, why };
  }

  private forwardParameter(fwd: PyNode, id: PyNode, depth: number): Batched | undefined {
    const cls = this.a.modules.find((m) => m.forward === fwd);
    const params = (fwd.child('parameters')?.namedChildren ?? []).filter((p) => p.type !== 'comment');
    const index = params.findIndex((p) => p.type === 'identifier' && p.text === id.text) - 1;
    if (!cls || index < 0 || !onlyParameter(fwd, id)) return undefined;
    for (const site of moduleCalls(this.a, cls)) {
      const got = this.read(positionalArgs(site)[index], depth + 1);
      if (got) return { min: got.min, why: got.why };
    }
    return undefined;
  }

  private binary(e: PyNode, depth: number): Batched | undefined {
    const op = operatorOf(e);
    const left = e.child('left');
    const right = e.child('right');
    if (op === '@') return this.matmul(left, right, depth);
    if (!['+', '-', '*', '/', '//', '**'].includes(op)) return undefined;
    return this.read(left, depth + 1) ?? this.read(right, depth + 1);
  }

  /**
   * `a @ b`, `torch.matmul(a, b)`: batched when `a` is batched with 2+ dimensions (its rows stay the rows) and `b` is
   * a matrix (a vector would drop the last axis and leave a 1-D batch of scores).
   */
  private matmul(first: PyNode | undefined, second: PyNode | undefined, depth: number): Batched | undefined {
    const got = this.read(first, depth + 1);
    if (!got || got.min < 2 || !this.isMatrix(second, depth + 1)) return undefined;
    return { rank: got.rank, min: 2, why: 'a matmul of a batched tensor' };
  }

  /** Evidently 2-D or more: transposed (`.T`, `.t()`, `.transpose(...)`), a layer's weight, a batched tensor. */
  private isMatrix(expr: PyNode | undefined, depth: number): boolean {
    let e = unparen(expr);
    for (let i = 0; i < 6 && e?.type === 'call' && /^(float|double|half|cuda|cpu|to|detach|contiguous|clone)$/.test(calleeName(e) ?? '') && e.child('function')?.type === 'attribute'; i++) e = unparen(receiver(e));
    if (!e || depth > MAX_DEPTH) return false;
    if (e.type === 'attribute' && /^(T|mT|weight)$/.test(e.child('attribute')?.text ?? '')) return true;
    if (e.type === 'call' && e.child('function')?.type === 'attribute' && /^(t|transpose|permute)$/.test(calleeName(e) ?? '')) return true;
    if (e.type === 'identifier') {
      const v = valueBefore(this.a, e);
      if (v && this.isMatrix(v, depth + 1)) return true;
    }
    return (this.read(e, depth + 1)?.min ?? 0) >= 2;
  }

  private call(e: PyNode, depth: number): Batched | undefined {
    const q = this.a.callee(e) ?? '';
    const pos = positionalArgs(e);
    if (q === 'torch.matmul' || q === 'torch.mm') return this.matmul(pos[0], pos[1], depth);
    if (q === 'torch.bmm' || q === 'torch.baddbmm') return { rank: 3, min: 3, why: 'a bmm (its dim 0 is the batch of matrices)' };
    if (q === 'torch.einsum') return this.einsum(pos, depth);
    if (ELEMENTWISE.test(q) || KEEPS_DIM0.test(q)) return this.read(pos[0], depth + 1);
    if (q === 'torch.flatten') return this.flatten(e, pos[0], pos.slice(1), depth);
    if (FACTORY.test(q)) return this.factory(pos);
    if (q === 'torch.cat' || q === 'torch.concat' || q === 'torch.concatenate') return this.cat(e, depth);
    if (q === 'einops.rearrange') return this.rearrange(pos);
    // `torch.reshape(x, [B, T, -1])`: the method's reading, with the tensor first.
    if (q === 'torch.reshape' && pos.length === 2) return this.view(e, depth, pos[0], [pos[1]!]);
    if (q === 'torch.transpose' && pos.length === 3) return this.swap(pos[0], pos.slice(1), depth);
    if (isTupleOfGenerator(e)) return this.read(generatorSource(e), depth + 1);
    const fn = e.child('function');
    if (fn?.type === 'attribute') {
      const method = fn.child('attribute')?.text ?? '';
      const obj = fn.child('object');
      if (method === 'view' || method === 'reshape') return this.view(e, depth, receiver(e), positionalArgs(e));
      if (method === 'squeeze' || method === 'unsqueeze') return this.squeeze(e, method, depth);
      if (method === 'flatten' && !q && obj?.text !== 'self') return this.flatten(e, receiver(e), pos, depth);
      if (method === 'transpose' || method === 'permute') return flattenedTokens(e) ?? (method === 'transpose' ? this.swap(receiver(e), pos, depth) : this.permute(e, pos, depth));
      if (method === 'matmul' || method === 'mm') return this.matmul(receiver(e), pos[0], depth);
      if (method === 'bmm') return { rank: 3, min: 3, why: 'a bmm (its dim 0 is the batch of matrices)' };
      if (SAME_SHAPE.has(method) && obj?.text !== 'self') return this.read(receiver(e), depth + 1);
      if (method === 'forward') return this.moduleCall(obj, pos, depth);
    }
    return this.moduleCall(fn, pos, depth);
  }

  /** `torch.zeros(batch_size, 1, hidden)`, `torch.randn((bs, n))`: the first size is the batch size. */
  private factory(pos: PyNode[]): Batched | undefined {
    let sizes = pos;
    if (sizes.length === 1 && (unparen(sizes[0])?.type === 'tuple' || unparen(sizes[0])?.type === 'list')) sizes = unparen(sizes[0])!.namedChildren.filter((c) => c.type !== 'comment');
    if (sizes.length < 2 || sizes.some((s) => s.type === 'list_splat' || s.type === 'keyword_argument')) return undefined;
    const first = unparen(sizes[0]);
    // A batch-size name only (not through sizes of other tensors): a factory sized from a tensor copies that layout.
    return first?.type === 'identifier' && BATCH_SIZE.test(first.text) && first.text !== 'b' ? { rank: sizes.length, min: sizes.length, why: `a tensor created with the batch size \`${first.text}\` first` } : undefined;
  }

  /** `torch.cat([a, b], dim=-1)`: joined along another axis than 0, it keeps the batch of its batched operand at dim 0. */
  private cat(e: PyNode, depth: number): Batched | undefined {
    const dim = unparen(keywordArg(e, 'dim') ?? keywordArg(e, 'axis') ?? positionalArgs(e)[1]);
    const d = dim?.type === 'integer' ? Number(dim.text) : dim?.type === 'unary_operator' && /^-\s*\d+$/.test(dim.text) ? -Number(dim.text.replace(/\D/g, '')) : undefined;
    const list = unparen(positionalArgs(e)[0] ?? keywordArg(e, 'tensors'));
    if (d === undefined || d === 0 || (list?.type !== 'list' && list?.type !== 'tuple')) return undefined;
    // An operand made a batch of one (`emb.view(1, 1, -1)`): the other's dim 0 is 1 too, whatever it is called.
    if (list.namedChildren.some((item) => this.batchOfOne(item, 0))) return undefined;
    for (const item of list.namedChildren) {
      if (item.type === 'comment' || item.type === 'list_splat') continue;
      const got = this.read(item, depth + 1);
      // A negative axis is away from dim 0 only when the operand has at least that many dimensions besides it.
      if (got && got.rank !== undefined && (d > 0 ? d < got.rank : -d < got.rank)) return { rank: got.rank, min: got.rank, why: got.why };
    }
    return undefined;
  }

  /** `x.view(1, ...)`, `x.reshape(1, ...)`, `x.unsqueeze(0)`, `x[None]`, or a name bound to one. */
  private batchOfOne(expr: PyNode, depth: number): boolean {
    const e = unparen(expr);
    if (!e || depth > 4) return false;
    if (e.type === 'identifier') {
      const v = valueBefore(this.a, e);
      return v ? this.batchOfOne(v, depth + 1) : false;
    }
    if (e.type === 'subscript') return e.childrenOf('subscript')[0]?.type === 'none';
    if (e.type !== 'call' || e.child('function')?.type !== 'attribute') return false;
    // self.dropout(x), F.relu(x): a layer or elementwise function keeps the batch of one.
    const single = positionalArgs(e).length === 1 ? positionalArgs(e)[0] : undefined;
    if (single && (e.child('function')?.child('object')?.text === 'self' || ELEMENTWISE.test(this.a.callee(e) ?? ''))) return this.batchOfOne(single, depth + 1);
    const method = calleeName(e);
    const first = unparen(positionalArgs(e)[0]);
    if (method === 'view' || method === 'reshape') return first?.text === '1';
    if (method === 'unsqueeze') return first?.text === '0';
    return SAME_SHAPE.has(method ?? '') && this.batchOfOne(receiver(e)!, depth + 1);
  }

  /** `rearrange(x, 'b c h w -> b (h w) c')`: the batch axis named first on both sides. */
  private rearrange(pos: PyNode[]): Batched | undefined {
    const spec = unparen(pos[1]);
    if (spec?.type !== 'string') return undefined;
    const m = /^\s*(\w+)[^>]*->\s*(\w+)((?:\s+(?:\w+|\([\w\s]+\)))*)\s*$/.exec(spec.text.replace(/^[rbuRBU]*['"]+|['"]+$/g, ''));
    if (!m || m[1] !== m[2] || !/^(b|bs|batch|batch_size|n)$/i.test(m[1]!)) return undefined;
    const rank = 1 + (m[3]!.match(/\w+|\([^)]*\)/g)?.length ?? 0);
    return rank >= 2 ? { rank, min: rank, why: `the rearrange '${spec.text.slice(1, -1)}'` } : undefined;
  }

  /**
   * `x.transpose(1, 3)`, `torch.transpose(x, 2, 1)`: two axes after dim 0 swapped, the batch stays first. Negative axes
   * count from the end, so only a known rank says they miss dim 0.
   */
  private swap(x: PyNode | undefined, dims: PyNode[], depth: number): Batched | undefined {
    if (dims.length !== 2) return undefined;
    const got = this.read(x, depth + 1);
    if (!got) return undefined;
    const rank = got.rank;
    for (const d of dims.map((n) => signedInt(n))) {
      if (d === undefined || d === 0 || (d < 0 && (rank === undefined || d + rank <= 0)) || (d > 0 && d >= (rank ?? got.min))) return undefined;
    }
    return got;
  }

  /** `x.permute(0, 2, 1)`: dim 0 kept first, the rank is the number of axes. */
  private permute(e: PyNode, dims: PyNode[], depth: number): Batched | undefined {
    const only = dims.length === 1 ? unparen(dims[0]) : undefined;
    const order = only?.type === 'tuple' || only?.type === 'list' ? only.namedChildren.filter((c) => c.type !== 'comment') : dims;
    if (order.length < 2 || signedInt(order[0]!) !== 0 || order.some((d) => signedInt(d) === undefined)) return undefined;
    const got = this.read(receiver(e), depth + 1);
    if (!got || (got.rank !== undefined && got.rank !== order.length)) return undefined;
    return { rank: order.length, min: order.length, why: got.why };
  }

  /** `.view(batch_size * len, n)`, `.reshape(B, -1)`: the first size is (a multiple of) the batch size. */
  private view(e: PyNode, depth: number, x: PyNode | undefined, args: PyNode[]): Batched | undefined {
    let sizes = args;
    if (sizes.length === 1 && (unparen(sizes[0])?.type === 'tuple' || unparen(sizes[0])?.type === 'list')) sizes = unparen(sizes[0])!.namedChildren.filter((c) => c.type !== 'comment');
    if (sizes.length >= 2 && !sizes.some((s) => s.type === 'list_splat') && this.isBatchSize(sizes[0]!, depth)) return { rank: sizes.length, min: sizes.length, why: 'a tensor reshaped with the batch size first' };
    // Splats count here (`*x.shape[-2:]`): positionalArgs leaves them out.
    const all = x === receiver(e) ? (e.child('arguments')?.namedChildren ?? []).filter((c) => c.type !== 'comment' && c.type !== 'keyword_argument') : args;
    return all.some((c) => c.type === 'dictionary_splat') ? undefined : this.mergedLeading(x, all.length === 1 && ['list', 'tuple'].includes(unparen(all[0])?.type ?? '') ? sizes : all, depth);
  }

  /**
   * `x.view(-1, n, d)`, `x.reshape(-1, *x.shape[-2:])`, `x.view([-1] + shape[-2:])` on a batched tensor: the leading
   * axes, the batch first among them, merged into dim 0 (row-major, so dim 0 still runs over the samples).
   */
  private mergedLeading(x: PyNode | undefined, sizes: PyNode[], depth: number): Batched | undefined {
    const only = sizes.length === 1 ? unparen(sizes[0]) : undefined;
    const parts = only?.type === 'binary_operator' && operatorOf(only) === '+' ? concatParts(only) : sizes.map((x) => (x.type === 'list_splat' ? sliceLength(x.namedChildren[0]) : x));
    if (!parts) return undefined;
    const first = parts[0];
    if (typeof first !== 'object' || first.type !== 'unary_operator' || first.text.replace(/\s+/g, '') !== '-1') return undefined;
    let rank = 0;
    for (const p of parts) {
      if (p === undefined) return undefined;
      rank += typeof p === 'number' ? p : 1;
    }
    const got = rank >= 2 ? this.read(x, depth + 1) : undefined;
    return got && got.min >= 2 ? { rank, min: rank, why: got.why } : undefined;
  }

  /** `x.flatten(1)` / `torch.flatten(x, 2)`: dims from `start` on merged, dim 0 kept; `flatten(0, 1)` merges the batch first. */
  private flatten(e: PyNode, x: PyNode | undefined, args: PyNode[], depth: number): Batched | undefined {
    const start = unparen(keywordArg(e, 'start_dim') ?? args[0]);
    const end = unparen(keywordArg(e, 'end_dim') ?? args[1]);
    if (start?.type !== 'integer') return undefined;
    const s = Number(start.text);
    const got = this.read(x, depth + 1);
    if (!got) return undefined;
    if (s >= 1 && !end) return got.min >= s + 1 || got.rank === undefined ? { rank: s + 1, min: s + 1, why: got.why } : undefined;
    if (s === 0 && end?.type === 'integer' && end.text === '1' && got.min >= 3) return { rank: got.rank && got.rank - 1, min: got.min - 1, why: got.why };
    return undefined;
  }

  private isBatchSize(size: PyNode, depth: number): boolean {
    const s = unparen(size);
    if (!s || depth > MAX_DEPTH) return false;
    if (s.type === 'binary_operator' && operatorOf(s) === '*') {
      return this.isBatchSize(s.child('left')!, depth + 1) || this.isBatchSize(s.child('right')!, depth + 1);
    }
    if (s.type === 'identifier') {
      if (BATCH_SIZE.test(s.text) && s.text !== 'b') return true;
      const v = valueBefore(this.a, s);
      return v ? this.isBatchSize(v, depth + 1) : false;
    }
    // `x.size(0)`, `x.shape[0]` of a batched tensor.
    const zeroOf = sizeZeroOf(s);
    return zeroOf ? this.read(zeroOf, depth + 1) !== undefined : false;
  }

  /** `.squeeze(d)` / `.unsqueeze(d)` away from dim 0, on a tensor whose rank is known. */
  private squeeze(e: PyNode, method: string, depth: number): Batched | undefined {
    const d = Number(unparen(positionalArgs(e)[0] ?? keywordArg(e, 'dim'))?.text);
    if (!Number.isInteger(d)) return undefined;
    const got = this.read(receiver(e), depth + 1);
    const grow = method === 'unsqueeze' ? 1 : -1;
    if (!got) return undefined;
    // Rank unknown: a positive axis within the dimensions known to be there.
    if (!got.rank) return d >= 1 && d < got.min && got.min + grow >= 2 ? { min: got.min + grow, why: got.why } : undefined;
    const last = grow > 0 ? got.rank : got.rank - 1;
    const axis = d < 0 ? d + last + 1 : d;
    if (axis <= 0 || axis > last) return undefined;
    const rank = got.rank + grow;
    return { rank, min: rank, why: got.why };
  }

  /** `einsum('bd,cd->bc', x, protos)`: the output's first index is the first index of a batched operand. */
  private einsum(pos: PyNode[], depth: number): Batched | undefined {
    const spec = unparen(pos[0]);
    if (spec?.type !== 'string') return undefined;
    const m = /^\s*([a-zA-Z ,]+)->\s*([a-zA-Z]+)\s*$/.exec(spec.text.replace(/^[rbuRBU]*['"]+|['"]+$/g, ''));
    if (!m) return undefined;
    const inputs = m[1]!.split(',').map((s) => s.trim());
    const out = m[2]!;
    for (let i = 0; i < inputs.length; i++) {
      if (inputs[i]![0] !== out[0] || inputs[i]!.length < 1) continue;
      const got = this.read(pos[i + 1], depth + 1);
      if (got && (got.min >= 2 || inputs[i]!.length >= 2) && out.length >= 2) return { rank: out.length, min: out.length, why: 'an einsum over a batched tensor' };
    }
    return undefined;
  }

  /** A layer, a model of the file or a model-named object applied to a batched tensor. */
  private moduleCall(fn: PyNode | undefined | null, pos: PyNode[], depth: number): Batched | undefined {
    if (!fn || !pos[0] || !this.isModule(fn)) return undefined;
    const got = this.read(pos[0], depth + 1);
    if (!got) return undefined;
    // An embedding lookup adds the feature axis: (batch, seq) tokens give (batch, seq, dim).
    if (this.isEmbedding(fn)) return { rank: got.rank && got.rank + 1, min: got.min + 1, why: got.why };
    if (this.flattenLayer(fn)) return { rank: 2, min: 2, why: got.why };
    return { rank: this.keepsRank(fn) ? got.rank : undefined, min: Math.max(2, got.min), why: 'a model output on a batch' };
  }

  /** `nn.Flatten()` (start_dim 1, the default): (batch, ...) to (batch, features). */
  private flattenLayer(fn: PyNode): boolean {
    const v = unparen(this.moduleValue(fn));
    if (v?.type !== 'call' || this.a.callee(v) !== 'torch.nn.Flatten') return false;
    const start = keywordArg(v, 'start_dim') ?? positionalArgs(v)[0];
    return (!start || start.text === '1') && !keywordArg(v, 'end_dim') && positionalArgs(v).length <= 1;
  }

  private isEmbedding(fn: PyNode): boolean {
    const v = unparen(this.moduleValue(fn));
    return v?.type === 'call' && this.a.callee(v) === 'torch.nn.Embedding';
  }

  private isModule(fn: PyNode): boolean {
    const value = this.moduleValue(fn);
    if (value) {
      const v = unparen(value);
      if (v?.type !== 'call') return false;
      const q = this.a.callee(v) ?? '';
      if (KEEPS_BATCH.test(q) || q === 'torch.nn.Sequential' || this.flattenLayer(fn)) return true;
      const f = v.child('function');
      if (f?.type === 'identifier' && this.a.moduleClass(f.text)) return true;
      return modelName(lastName(fn)) && !SEQ_LAYER.test(q);
    }
    // Bound to something unknown (a parameter, a model loaded elsewhere): by its name, unless it is a function.
    return modelName(lastName(fn)) && !(fn.type === 'identifier' && this.a.functions.has(fn.text));
  }

  /** Only layers that keep every dimension also keep a known rank. */
  private keepsRank(fn: PyNode): boolean {
    const v = unparen(this.moduleValue(fn));
    return v?.type === 'call' && /^torch\.nn\.(Linear|LazyLinear|Dropout|LayerNorm|ReLU|GELU|Tanh|Sigmoid|Identity)$/.test(this.a.callee(v) ?? '');
  }

  /** What `name` / `self.attr` is bound to (its last assignment in the class). */
  private moduleValue(fn: PyNode): PyNode | undefined {
    if (fn.type === 'identifier') {
      let v = valueBefore(this.a, fn);
      for (let i = 0; i < 4 && v?.type === 'call' && isModuleChain(v); i++) v = unparen(receiver(v));
      for (let i = 0; i < 4 && v?.type === 'identifier'; i++) v = valueBefore(this.a, v);
      return v ?? undefined;
    }
    if (fn.type === 'attribute' && fn.child('object')?.text === 'self') {
      const cls = fn.ancestor('class_definition');
      const values = cls ? this.a.scopes.selfAttr(cls, fn.child('attribute')?.text ?? '') : [];
      return values[values.length - 1];
    }
    return undefined;
  }
}

/**
 * `x.flatten(2).transpose(1, 2)` / `.permute(0, 2, 1)`: a (batch, channels, h, w) map made into batch-first tokens
 * (batch, h*w, channels), the usual input of a batch-first attention layer.
 */
function flattenedTokens(e: PyNode): Batched | undefined {
  const inner = unparen(receiver(e));
  if (inner?.type !== 'call' || calleeName(inner) !== 'flatten' || inner.child('function')?.type !== 'attribute') return undefined;
  const start = unparen(positionalArgs(inner)[0] ?? keywordArg(inner, 'start_dim'));
  if (start?.text !== '2' || positionalArgs(inner).length > 1) return undefined;
  const order = positionalArgs(e).map((x) => unparen(x)?.text).join(',');
  const ok = calleeName(e) === 'transpose' ? order === '1,2' || order === '2,1' || order === '-1,-2' || order === '-2,-1' : order === '0,2,1';
  return ok ? { rank: 3, min: 3, why: `the feature map flattened into batch-first tokens (${e.text.slice(receiver(inner)!.text.length).replace(/\s+/g, '')})` } : undefined;
}

/** The sizes of `[-1] + shape[-2:]`: list items as nodes, a trailing slice as its length; undefined if not such a sum. */
function concatParts(e: PyNode): (PyNode | number | undefined)[] | undefined {
  const out: (PyNode | number | undefined)[] = [];
  const add = (n: PyNode | undefined): boolean => {
    const x = unparen(n);
    if (x?.type === 'binary_operator' && operatorOf(x) === '+') return add(x.child('left')) && add(x.child('right'));
    if (x?.type === 'list' || x?.type === 'tuple') {
      out.push(...x.namedChildren.filter((c) => c.type !== 'comment').map((c) => (c.type === 'list_splat' ? sliceLength(c.namedChildren[0]) : c)));
      return true;
    }
    const n2 = sliceLength(x);
    out.push(n2);
    return n2 !== undefined;
  };
  return add(e) ? out : undefined;
}

/** The length of `shape[-2:]`, `x.shape[-3:]`, `list(x.size()[-2:])`: a slice from a negative literal to the end. */
function sliceLength(n: PyNode | undefined): number | undefined {
  let x = unparen(n);
  if (x?.type === 'call' && x.child('function')?.text === 'list' && positionalArgs(x).length === 1) x = unparen(positionalArgs(x)[0]);
  if (x?.type !== 'subscript') return undefined;
  const idx = x.childrenOf('subscript');
  const sl = idx.length === 1 && idx[0]!.type === 'slice' ? idx[0]! : undefined;
  const m = sl && /^-\s*(\d+)\s*:$/.exec(sl.text.trim());
  return m ? Number(m[1]) : undefined;
}

/** The operator token of a binary expression (`*`, `@`). */
function operatorOf(e: PyNode): string {
  const left = e.child('left');
  const right = e.child('right');
  return e.children.find((c) => c !== left && c !== right && c.type !== 'comment')?.type ?? '';
}

/** `model`, `self.net`, `policy_net`; not a helper named after one (`build_model`, `get_net`). */
function modelName(name: string): boolean {
  return (MODEL_NAME.test(name) || /encoder|backbone|policy/i.test(name)) && !/^(get|build|load|make|create|train|eval|test|run|save|init|evaluate)_?/i.test(name);
}

function lastName(fn: PyNode): string {
  return fn.type === 'attribute' ? (fn.child('attribute')?.text ?? '') : fn.text;
}

function isModuleChain(call: PyNode): boolean {
  return /^(to|cuda|cpu|train|eval|float|double|half)$/.test(calleeName(call) ?? '') && call.child('function')?.type === 'attribute';
}

/** `tuple(t.to(device) for t in batch)`, `[t.cuda() for t in batch]` read as `batch`. */
function isTupleOfGenerator(call: PyNode): boolean {
  const fn = call.child('function');
  return fn?.type === 'identifier' && (fn.text === 'tuple' || fn.text === 'list') && generatorSource(call) !== undefined;
}

function generatorSource(call: PyNode): PyNode | undefined {
  const gen = call.child('arguments');
  const g = gen?.type === 'generator_expression' ? gen : positionalArgs(call)[0];
  if (g?.type !== 'generator_expression') return undefined;
  const clause = g.namedChildren.find((c) => c.type === 'for_in_clause');
  return clause?.child('right') ?? undefined;
}

/** `x.size(0)`, `x.shape[0]`, `len(x)`: the object whose dim 0 this is. */
function sizeZeroOf(s: PyNode): PyNode | undefined {
  if (s.type === 'call' && calleeName(s) === 'size' && positionalArgs(s)[0]?.text === '0') return receiver(s);
  if (s.type === 'subscript' && s.child('subscript')?.text === '0') {
    const v = s.child('value');
    if (v?.type === 'attribute' && v.child('attribute')?.text === 'shape') return v.child('object') ?? undefined;
  }
  return undefined;
}

/** The `for` over a loader that binds `id` as a tensor of the batch (not the index of `enumerate`). */
function loaderLoopBinding(a: Analysis, id: PyNode): PyNode | undefined {
  const scope = scopeOf(id);
  for (let p = id.parent; p && p !== scope; p = p.parent) {
    if (p.type !== 'for_statement' || !p.child('body') || !(p.child('body')!.start <= id.start && id.end <= p.child('body')!.end)) continue;
    let right = unparen(p.child('right'));
    let left = unparen(p.child('left'));
    let skipFirst = false;
    while (right?.type === 'call' && /^(enumerate|tqdm|trange|iter|track)$/.test(calleeName(right) ?? '')) {
      if (calleeName(right) === 'enumerate') skipFirst = true;
      right = unparen(positionalArgs(right)[0]);
    }
    if (!right || !isLoader(a, right)) continue;
    if (skipFirst) {
      const items = left?.namedChildren.filter((c) => c.type !== 'comment') ?? [];
      if (items.length !== 2) continue;
      left = unparen(items[1]);
    }
    let binds = false;
    left?.walk((n) => void (n.type === 'identifier' && n.text === id.text && (binds = true)));
    if (binds) return p;
  }
  return undefined;
}

function isLoader(a: Analysis, e: PyNode): boolean {
  if (LOADER.test(e.text) && (e.type === 'identifier' || e.type === 'attribute')) return true;
  const v = e.type === 'identifier' ? unparen(a.scopes.valueAt(e.text, e) ?? undefined) : e;
  return v?.type === 'call' && a.callee(v) === 'torch.utils.data.DataLoader';
}

/** Whether the read `id` can only see the parameter of `fn` (`x = self.fc(x)` reads it; a later read sees the layer). */
function onlyParameter(fn: PyNode, id: PyNode): boolean {
  const defs = reachingDefs(id);
  return defs?.length === 1 && !defs[0]!.value && defs[0]!.parameterOf === fn;
}

const seqFirstCache = new WeakMap<Analysis, boolean>();
/**
 * A file that builds RNN / attention layers without `batch_first=True` (or pads sequences time-first) may hold
 * (time, batch, ...) tensors, where a softmax over dim 0 is over time steps: its batches are not trusted there.
 */
export function seqFirstFile(a: Analysis): boolean {
  let v = seqFirstCache.get(a);
  if (v === undefined) {
    v = false;
    for (const call of a.index.of('call')) {
      const q = a.callee(call) ?? '';
      if (!SEQ_LAYER.test(q) && q !== 'torch.nn.utils.rnn.pad_sequence') continue;
      if (keywordArg(call, 'batch_first')?.text !== 'True') v = true;
    }
    seqFirstCache.set(a, v);
  }
  return v;
}

/** Calls of a module class's instances: `model(x)` / `model.forward(x)` with `model = Cls(...)`, `self.m(x)`. */
export function moduleCalls(a: Analysis, cls: ModuleClass): PyNode[] {
  const out: PyNode[] = [];
  for (const call of a.index.of('call')) {
    let fn = call.child('function');
    if (fn?.type === 'attribute' && fn.child('attribute')?.text === 'forward') fn = fn.child('object');
    if (fn && instanceOf(a, fn) === cls) out.push(call);
  }
  // `net = Net(); train(net, loader)` with `out = model(x)` in train: the instance handed to the file's functions.
  const name = cls.node.child('name')?.text ?? '';
  for (const ctor of a.callsNamed(name)) {
    const f = ctor.child('function');
    if (f?.type !== 'identifier' || a.moduleClass(f.text) !== cls) continue;
    for (const call of modelApplications(a, ctor)) if (!out.includes(call)) out.push(call);
  }
  return out;
}

function instanceOf(a: Analysis, fn: PyNode): ModuleClass | undefined {
  let v: PyNode | null | undefined;
  if (fn.type === 'identifier') v = valueBefore(a, fn);
  else if (fn.type === 'attribute' && fn.child('object')?.text === 'self') {
    const cls = fn.ancestor('class_definition');
    const values = cls ? a.scopes.selfAttr(cls, fn.child('attribute')?.text ?? '') : [];
    v = values[values.length - 1];
  }
  for (let i = 0; i < 4 && v?.type === 'call' && isModuleChain(v); i++) v = unparen(receiver(v));
  const f = v?.type === 'call' ? v.child('function') : undefined;
  return f?.type === 'identifier' ? a.moduleClass(f.text) : undefined;
}
