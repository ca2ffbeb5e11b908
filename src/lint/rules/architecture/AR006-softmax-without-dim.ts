import { keywordArg, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { batchedTensor, type Batched } from '../../analysis/batched';
import { knownRank, namedBatchAxis } from '../../analysis/ranks';
import { modelApplications } from '../../analysis/passedModels';
import { torchLayers } from '../../analysis/layers';
import { stackedBatchAxis } from '../../analysis/stackedBatch';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';
import { sourceOf } from './shared';

const FUNCTIONS = new Set(['torch.nn.functional.softmax', 'torch.nn.functional.log_softmax', 'torch.nn.functional.softmin']);
/** `torch.softmax(x, dim)` needs its dim (no implicit axis): only an explicit batch axis is reported. */
const TORCH_FUNCTIONS = new Set(['torch.softmax', 'torch.log_softmax']);
const LAYERS = new Set(['torch.nn.Softmax', 'torch.nn.LogSoftmax', 'torch.nn.Softmin']);
const METHODS = new Set(['softmax', 'log_softmax']);

const NO_DIM = 'Softmax without `dim` picks the axis from the input\'s rank (dim 0 for 1-D and 3-D inputs: the batch of a (batch, seq, classes) tensor) and is deprecated. Pass the class dimension, e.g. dim=-1.';
const FIRST_AXIS_3D =
  'Softmax without `dim` on this 3-D input normalises over dim 0, the first axis (the batch, or the time steps of a seq-first tensor), and is deprecated. Pass the class dimension, e.g. dim=-1.';
/** PyTorch's implicit softmax axis for a rank (`_get_softmax_dim`). */
const implicitDim = (rank: number) => (rank === 0 || rank === 1 || rank === 3 ? 0 : 1);
/** A known rank whose implicit axis is the class one: the vector itself, (batch, classes), (batch, channels, h, w). */
const RIGHT_IMPLICIT = new Set([1, 2, 4]);
const deprecatedOnly = (rank: number, dim: string) =>
  `Softmax without \`dim\` is deprecated. On this ${rank}-D input the implicit axis is dim ${implicitDim(rank)}, ${rank === 4 ? 'the channels' : 'the last one'}: pass dim=${dim} to say what you mean.`;
const BATCH_DIM = 'Softmax over dim=0 normalises across the samples of the batch, not across classes. Use the class dimension (dim=1 or dim=-1).';
const explicitBatch = (dim: string, why: string) =>
  `Softmax over dim=${dim} of ${why}: that axis is the batch, so each sample's probabilities depend on the other samples. Normalise over the class axis (dim=-1).`;

interface SoftmaxCall {
  /** `F.softmax(x, ...)`, `torch.softmax(x, ...)`, `x.softmax(...)`, or the layer `nn.Softmax(...)`. */
  kind: 'fn' | 'torch' | 'method' | 'layer';
  args: PyNode;
  pos: PyNode[];
  /** The tensor normalised (not for the layer). */
  input: PyNode | undefined;
  dim: PyNode | undefined;
}

/**
 * A softmax function, method or layer call, read from the call alone, whose dim may be reported: missing or None
 * (functions with their input given, layers), 0 or -2, without `*args` / `**kwargs`.
 */
function softmaxCall(call: PyNode, a: Analysis): SoftmaxCall | undefined {
  const q = a.callee(call) ?? '';
  const kind = FUNCTIONS.has(q) ? 'fn' : TORCH_FUNCTIONS.has(q) ? 'torch' : LAYERS.has(q) ? 'layer' : methodForm(call, q);
  if (!kind) return undefined;
  const args = call.child('arguments');
  if (!args || args.children.some((c) => c.type === 'list_splat' || c.type === 'dictionary_splat')) return undefined;
  const pos = positionalArgs(call);
  const input = kind === 'method' ? receiver(call) : kind === 'layer' ? undefined : pos[0];
  if (kind !== 'layer' && !input) return undefined;
  const dim = keywordArg(call, 'dim') ?? (kind === 'fn' || kind === 'torch' ? pos[1] : pos[0]);
  const text = dim?.text.replace(/\s+/g, '');
  const implicit = !dim || text === 'None';
  // An explicit dim: 0 / -2 may be the batch of a batch-first tensor; any integer may be a batch axis named by a view.
  if (implicit ? kind === 'torch' || kind === 'method' : !/^-?\d+$/.test(text ?? '')) return undefined;
  return { kind, args, pos, input, dim };
}

/** `x.softmax(0)`: a method of a tensor (the callee resolves to no import). */
function methodForm(call: PyNode, q: string): 'method' | undefined {
  const fn = call.child('function');
  return !q && fn?.type === 'attribute' && METHODS.has(fn.child('attribute')?.text ?? '') ? 'method' : undefined;
}

/** The input's rank: from how it was made, or a batch-first tensor of known rank (undefined when unknown). */
function implicitRank(a: Analysis, input: PyNode | undefined): number | undefined {
  return knownRank(a, input) ?? batchedTensor(a, input)?.rank;
}

/**
 * The batch axis a view or factory names (`pi.view(seq_len, bs, k)`): reported when the softmax runs over it,
 * wherever it sits. The class axis is then not evident, so no fix.
 */
function namedBatchMessage(a: Analysis, dim: string, input: PyNode | undefined): string | undefined {
  // `torch.stack(parts, 0)` of parts viewed as (bs, c, 1, 1): the batch moves behind the new axis.
  const named = namedBatchAxis(a, input) ?? stackedBatchAxis(a, input);
  const d = Number(dim);
  if (!named || (d < 0 ? d + named.rank : d) !== named.axis || d >= named.rank || d < -named.rank) return undefined;
  return `Softmax over dim=${dim} of a tensor shaped with \`${named.size}\` at that axis: it normalises across the samples of the batch, not across classes. Normalise over the class axis.`;
}

/** Replaces the dim by -1 (the class axis of a batch-first tensor). */
function lastAxisFix(dim: PyNode) {
  return [{ title: 'Use dim=-1', edits: [{ start: dim.start, end: dim.end, newText: '-1' }] }];
}

/** What an explicit dim (0 or -2) of this tensor would normalise over, when it is the batch. */
function batchAxisOf(a: Analysis, dim: string, input: PyNode | undefined): Batched | undefined {
  if (dim !== '0' && dim !== '-2') return undefined;
  const b = batchedTensor(a, input);
  if (!b) return undefined;
  return (dim === '0' ? b.min >= 2 : b.rank === 2) ? b : undefined;
}

/**
 * Where a softmax layer is applied: `nn.Softmax(dim=0)(x)`, `sm(x)` / `self.sm(x)` with `sm = nn.Softmax(dim=0)`,
 * and, at the end of a Sequential with a Linear or convolution, the calls of that Sequential (input: the model's).
 */
function layerInputs(a: Analysis, ctor: PyNode): { input: PyNode; model: boolean }[] {
  const out: { input: PyNode; model: boolean }[] = [];
  for (const call of applications(a, ctor)) {
    const x = positionalArgs(call)[0];
    if (x) out.push({ input: x, model: false });
  }
  const seq = torchLayers(a).sequentials.find((s) => s.steps[s.steps.length - 1]?.site === ctor);
  if (seq && seq.steps.some((st) => st.kind === 'linear' || st.kind === 'conv')) {
    for (const call of applications(a, seq.call)) {
      const x = positionalArgs(call)[0];
      if (x) out.push({ input: x, model: true });
    }
  }
  return out;
}

/** Calls of a module built by `ctor`: itself called, or the name / `self.attr` it is assigned to. */
function applications(a: Analysis, ctor: PyNode): PyNode[] {
  let node = ctor;
  while (node.parent?.type === 'parenthesized_expression') node = node.parent;
  const parent = node.parent;
  if (parent?.type === 'call' && node.field === 'function') return [parent];
  if (parent?.type !== 'assignment' || node.field !== 'right') return [];
  const left = parent.child('left');
  // `net = nn.Sequential(...)`: its calls, also inside the file's helpers it is passed to (`train(net, loader)`).
  if (left?.type === 'identifier') return modelApplications(a, ctor);
  const cls = parent.ancestor('class_definition');
  const attr = left?.type === 'attribute' && left.child('object')?.text === 'self' ? left.child('attribute')?.text : undefined;
  if (!cls || !attr) return [];
  const values = a.scopes.selfAttr(cls, attr);
  if (unparen(values[values.length - 1]) !== ctor) return [];
  return a.callsNamed(attr).filter((c) => {
    const fn = c.child('function');
    return fn?.type === 'attribute' && fn.child('object')?.text === 'self' && c.ancestor('class_definition') === cls;
  });
}

export const AR006: Rule = {
  meta: {
    id: 'AR006',
    name: 'softmax-dim',
    group: 'architecture',
    defaultSeverity: 'warning',
    summary: 'softmax / log_softmax is called without `dim` (implicit axis) or over the batch dimension.',
    why:
      'Without `dim`, `F.softmax` and `nn.Softmax()` guess the axis from the number of dimensions: dim 1 for 2-D and 4-D ' +
      'inputs but dim 0 for 1-D and 3-D ones, so a sequence model (batch, time, classes) normalises over the batch. ' +
      'PyTorch only warns once. With `dim=0` on a (batch, classes) output, each class column sums to 1 across samples: the ' +
      'probabilities of a sample depend on the rest of the batch and the loss optimises the wrong thing. An explicit `dim=0` ' +
      '(or `dim=-2` on a 2-D tensor) is reported only where the tensor is known to be batch-first: a model or layer output ' +
      'on a loader batch, a matmul / bmm / einsum of batched tensors, a `.view(batch_size * n, m)`, or the last ' +
      '`nn.Softmax(dim=0)` of a model called on a batch; and any dim that is the axis a view or factory names after the ' +
      'batch size (`pi.view(seq_len, bs, k)` with dim=1 or -2), also behind the axis a `torch.stack` of such parts adds. A 1-D vector, a (time, batch) tensor of seq-first RNN code and ' +
      'tensors of unknown rank are left alone. A missing dim on a tensor whose rank is evident (`torch.zeros(n)`, ' +
      '`x.view(-1, k)`) and whose implicit axis is the class one (1-D, 2-D, 4-D) is only the deprecation: reported as info.',
    wrong: 'probs = F.softmax(logits)',
    right: 'probs = F.softmax(logits, dim=-1)',
    concept: 'Softmax: normalise over the class dimension',
    fixable: true,
  },
  nodeTypes: ['call'],
  // A softmax whose dim is missing, None or 0; whether dim 0 is the batch reads the model it is applied to.
  candidate: { reads: ['imports'], test: (call, ctx) => softmaxCall(call, ctx.analysis) !== undefined },
  visit(call, ctx) {
    const a = ctx.analysis;
    const s = softmaxCall(call, a);
    if (!s) return; // most calls: nothing else to read
    const { args, pos, dim, input } = s;
    const d = dim?.text.replace(/\s+/g, '');
    if (s.kind !== 'layer') {
      if (!dim || d === 'None') {
        // A rank known from how the tensor was made, whose implicit axis is right: only the deprecation applies.
        const rank = implicitRank(a, input);
        const soft = rank !== undefined && RIGHT_IMPLICIT.has(rank);
        const want = soft && rank === 4 ? '1' : '-1';
        const fix = !dim
          ? { title: `Pass dim=${want}`, edits: [{ start: pos[0]!.end, end: pos[0]!.end, newText: `, dim=${want}` }] }
          : { title: `Pass dim=${want}`, edits: [{ start: dim.start, end: dim.end, newText: want }] };
        if (soft) ctx.report({ node: call, message: deprecatedOnly(rank, want), severity: 'info', fixes: [fix] });
        else ctx.report({ node: call, message: rank === 3 ? FIRST_AXIS_3D : NO_DIM, fixes: [fix] });
      } else if (d === '0' && sourceOf(a, input)) {
        ctx.report({ node: dim, message: BATCH_DIM, fixes: [{ title: 'Use dim=1', edits: [{ start: dim.start, end: dim.end, newText: '1' }] }] });
      } else {
        const b = batchAxisOf(a, d!, input);
        const named = b ? undefined : namedBatchMessage(a, d!, input);
        if (b) ctx.report({ node: dim, message: explicitBatch(d!, b.why), fixes: lastAxisFix(dim) });
        else if (named) ctx.report({ node: dim, message: named });
      }
      return;
    }
    if (!dim || d === 'None') {
      const fix = !dim
        ? { title: 'Pass dim=-1', edits: [{ start: args.end - 1, end: args.end - 1, newText: 'dim=-1' }] }
        : { title: 'Pass dim=-1', edits: [{ start: dim.start, end: dim.end, newText: '-1' }] };
      ctx.report({ node: call, message: NO_DIM, fixes: args.namedChildren.length === 0 || dim ? [fix] : undefined });
      return;
    }
    if (d === '0') {
      // Evident at the end of a Sequential with a 2-D/3-D convolution: its input is (batch, channels, ...).
      const seq = torchLayers(a).sequentials.find((s) => s.steps.some((st) => st.site === call));
      if (seq && seq.steps[seq.steps.length - 1]?.site === call && seq.steps.some((st) => /Conv[23]d$/.test(st.q ?? ''))) {
        ctx.report({ node: dim, message: BATCH_DIM, fixes: [{ title: 'Use dim=1', edits: [{ start: dim.start, end: dim.end, newText: '1' }] }] });
        return;
      }
    }
    // Applied to a batched tensor, or the last layer of a model called on a batch.
    for (const { input: x, model } of layerInputs(a, call)) {
      const named = model ? undefined : namedBatchMessage(a, d!, x);
      if (named) {
        ctx.report({ node: dim, message: named });
        return;
      }
      if (d !== '0' && d !== '-2') continue;
      const b = model ? batchedTensor(a, x) : batchAxisOf(a, d!, x);
      if (!b || (model && d !== '0')) continue;
      const why = model ? `a model output on ${b.why}` : b.why;
      ctx.report({ node: dim, message: explicitBatch(d!, why), fixes: lastAxisFix(dim) });
      return;
    }
  },
};
