import { keywordArg, positionalArgs, receiver, type Analysis } from '../../analysis';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';
import { inBatchLoop, isModelOutput } from './batchOutputs';

const REDUCTIONS = new Set(['argmax', 'argmin', 'max', 'min']);

/** The dim argument of `t.argmax(0)` / `t.max(dim=0)` / `torch.argmax(t, 0)`: the node, when it is the literal 0. */
function zeroDim(call: PyNode, isFunction: boolean): PyNode | undefined {
  const kw = keywordArg(call, 'dim');
  const pos = positionalArgs(call);
  const dim = kw ?? pos[isFunction ? 1 : 0];
  // Exactly the tensor and the dim: `torch.max(a, b)` of two tensors, or keepdim given positionally, are left alone.
  if (pos.length > (isFunction ? 2 : 1) || (kw && pos.length > (isFunction ? 1 : 0))) return undefined;
  return dim?.type === 'integer' && dim.text === '0' ? dim : undefined;
}

/** `x.argmax(0)` / `torch.argmax(x, 0)` and the other reductions of REDUCTIONS over dim 0. */
function reductionOverDim0(call: PyNode, a: Analysis): { method: string; isFunction: boolean; dim: PyNode } | undefined {
  const fn = call.child('function');
  if (fn?.type !== 'attribute') return undefined;
  const method = fn.child('attribute')?.text ?? '';
  if (!REDUCTIONS.has(method)) return undefined;
  const isFunction = a.callee(call) === `torch.${method}`;
  const dim = zeroDim(call, isFunction);
  return dim && { method, isFunction, dim };
}

/** What EV011 reports: a dim-0 reduction of a model's output in a batch loop (EV006 leaves these to EV011). */
export function argmaxOverBatchDim(call: PyNode, a: Analysis): { method: string; dim: PyNode } | undefined {
  const r = reductionOverDim0(call, a);
  if (!r) return undefined;
  const tensor = r.isFunction ? positionalArgs(call)[0] : receiver(call);
  return isModelOutput(a, tensor) && inBatchLoop(call) ? r : undefined;
}

export const EV011: Rule = {
  meta: {
    id: 'EV011',
    name: 'argmax-over-batch-dim',
    group: 'evaluation',
    defaultSeverity: 'error',
    summary: '`outputs.argmax(0)` on a (batch, classes) output picks a sample per class, not a class per sample: use dim=1.',
    why:
      "A classifier's output is (batch, classes). Dimension 0 is the batch: `outputs.argmax(0)` (or `torch.max(outputs, 0)`) " +
      'returns, for each class, the index of the sample that scores it highest, a tensor of length `classes`. Compared ' +
      'with the labels it broadcasts or lines up by accident (a batch of 10 with 10 classes), so the accuracy is ' +
      'meaningless and nothing fails. The predicted class of each sample is the argmax over dimension 1.',
    wrong: 'for x, y in test_loader:\n    outputs = model(x)\n    _, predicted = torch.max(outputs.data, 0)',
    right: 'for x, y in test_loader:\n    outputs = model(x)\n    _, predicted = torch.max(outputs.data, 1)',
    concept: 'Tensor reductions: the dim argument',
    fixable: true,
  },
  nodeTypes: ['call'],
  candidate: { reads: ['imports'], test: (call, ctx) => reductionOverDim0(call, ctx.analysis) !== undefined },
  visit(call, ctx) {
    const r = argmaxOverBatchDim(call, ctx.analysis);
    if (!r) return;
    const { method, dim } = r;
    ctx.report({
      node: call,
      message: `${method}() over dim 0 reduces over the batch: use dim=1 for each sample's class.`,
      fixes: [{ title: 'Reduce over dim=1 (the classes)', edits: [{ start: dim.start, end: dim.end, newText: '1' }] }],
    });
  },
};
