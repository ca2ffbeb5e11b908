import { keywordArg, positionalArgs } from '../../analysis';
import { torchLayers } from '../../analysis/layers';
import type { Rule } from '../../types';
import { sourceOf } from './shared';

const FUNCTIONS = new Set(['torch.nn.functional.softmax', 'torch.nn.functional.log_softmax', 'torch.nn.functional.softmin']);
const LAYERS = new Set(['torch.nn.Softmax', 'torch.nn.LogSoftmax', 'torch.nn.Softmin']);

const NO_DIM = 'Softmax without `dim` picks the axis implicitly (dim 0, the batch, for 1-D and 3-D inputs) and is deprecated. Pass the class dimension, e.g. dim=-1.';
const BATCH_DIM = 'Softmax over dim=0 normalises across the samples of the batch, not across classes. Use the class dimension (dim=1 or dim=-1).';

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
  visit(call, ctx) {
    const a = ctx.analysis;
    const q = a.callee(call) ?? '';
    if (!FUNCTIONS.has(q) && !LAYERS.has(q)) return; // most calls: nothing else to read
    const args = call.child('arguments');
    if (!args || args.children.some((c) => c.type === 'list_splat' || c.type === 'dictionary_splat')) return;
    const pos = positionalArgs(call);
    if (FUNCTIONS.has(q)) {
      const dim = keywordArg(call, 'dim') ?? pos[1];
      if (!pos[0]) return;
      if (!dim || dim.text === 'None') {
        const fix = !dim
          ? { title: 'Pass dim=-1', edits: [{ start: pos[0].end, end: pos[0].end, newText: ', dim=-1' }] }
          : { title: 'Pass dim=-1', edits: [{ start: dim.start, end: dim.end, newText: '-1' }] };
        ctx.report({ node: call, message: NO_DIM, fixes: [fix] });
      } else if (dim.text === '0' && sourceOf(a, pos[0])) {
        ctx.report({ node: dim, message: BATCH_DIM, fixes: [{ title: 'Use dim=1', edits: [{ start: dim.start, end: dim.end, newText: '1' }] }] });
      }
      return;
    }
    if (LAYERS.has(q)) {
      const dim = keywordArg(call, 'dim') ?? pos[0];
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
    }
  },
};
