import { keywordArg, positionalArgs, type Analysis } from '../../analysis';
import { torchLayers } from '../../analysis/layers';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';
import { sourceOf } from './shared';

const FUNCTIONS = new Set(['torch.nn.functional.softmax', 'torch.nn.functional.log_softmax', 'torch.nn.functional.softmin']);
const LAYERS = new Set(['torch.nn.Softmax', 'torch.nn.LogSoftmax', 'torch.nn.Softmin']);

const NO_DIM = 'Softmax without `dim` picks the axis implicitly (dim 0, the batch, for 1-D and 3-D inputs) and is deprecated. Pass the class dimension, e.g. dim=-1.';
const BATCH_DIM = 'Softmax over dim=0 normalises across the samples of the batch, not across classes. Use the class dimension (dim=1 or dim=-1).';

interface SoftmaxCall {
  /** `F.softmax(x, ...)` (true) or the layer `nn.Softmax(...)` (false). */
  fn: boolean;
  args: PyNode;
  pos: PyNode[];
  dim: PyNode | undefined;
}

/**
 * A softmax function or layer call, read from the call alone, whose dim may be reported: missing, None or 0 (the
 * function with its input given), without `*args` / `**kwargs`.
 */
function softmaxCall(call: PyNode, a: Analysis): SoftmaxCall | undefined {
  const q = a.callee(call) ?? '';
  const fn = FUNCTIONS.has(q);
  if (!fn && !LAYERS.has(q)) return undefined;
  const args = call.child('arguments');
  if (!args || args.children.some((c) => c.type === 'list_splat' || c.type === 'dictionary_splat')) return undefined;
  const pos = positionalArgs(call);
  if (fn && !pos[0]) return undefined;
  const dim = keywordArg(call, 'dim') ?? (fn ? pos[1] : pos[0]);
  if (dim && dim.text !== 'None' && dim.text !== '0') return undefined;
  return { fn, args, pos, dim };
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
      'probabilities of a sample depend on the rest of the batch and the loss optimises the wrong thing.',
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
    const { args, pos, dim } = s;
    if (s.fn) {
      if (!dim || dim.text === 'None') {
        const fix = !dim
          ? { title: 'Pass dim=-1', edits: [{ start: pos[0]!.end, end: pos[0]!.end, newText: ', dim=-1' }] }
          : { title: 'Pass dim=-1', edits: [{ start: dim.start, end: dim.end, newText: '-1' }] };
        ctx.report({ node: call, message: NO_DIM, fixes: [fix] });
      } else if (dim.text === '0' && sourceOf(a, pos[0])) {
        ctx.report({ node: dim, message: BATCH_DIM, fixes: [{ title: 'Use dim=1', edits: [{ start: dim.start, end: dim.end, newText: '1' }] }] });
      }
      return;
    }
    if (!dim || dim.text === 'None') {
      const fix = !dim
        ? { title: 'Pass dim=-1', edits: [{ start: args.end - 1, end: args.end - 1, newText: 'dim=-1' }] }
        : { title: 'Pass dim=-1', edits: [{ start: dim.start, end: dim.end, newText: '-1' }] };
      ctx.report({ node: call, message: NO_DIM, fixes: args.namedChildren.length === 0 || dim ? [fix] : undefined });
    } else if (dim.text === '0') {
      // Evident only at the end of a Sequential with a 2-D/3-D convolution: its input is (batch, channels, ...).
      const seq = torchLayers(a).sequentials.find((s) => s.steps.some((st) => st.site === call));
      if (seq && seq.steps[seq.steps.length - 1]?.site === call && seq.steps.some((st) => /Conv[23]d$/.test(st.q ?? ''))) {
        ctx.report({ node: dim, message: BATCH_DIM, fixes: [{ title: 'Use dim=1', edits: [{ start: dim.start, end: dim.end, newText: '1' }] }] });
      }
    }
  },
};
