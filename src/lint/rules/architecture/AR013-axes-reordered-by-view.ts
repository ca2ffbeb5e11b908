import { calleeName, unparen, type Analysis } from '../../analysis';
import { peelSameLayout, reshapeParts, swappedAxes, unpackedNames, type Reorder } from '../../analysis/axisOrder';
import { headsBeforeSequence, headsNotMovedBack, lastPart, type HeadsFirst, type Layout } from '../../analysis/attentionLayout';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

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
