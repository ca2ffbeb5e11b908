import { calleeName, keywordArg, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';
import { inBatchLoop, inLightningStep, modelOutputCall, onSingleSample, onWholeSplit } from './batchOutputs';

export const EV009: Rule = {
  meta: {
    id: 'EV009',
    name: 'argmax-without-dim',
    group: 'evaluation',
    defaultSeverity: 'error',
    summary: '`outputs.argmax()` without `dim` on a batch returns one index for the whole batch, not a class per sample.',
    why:
      'Without `dim`, `argmax` flattens the tensor: on a (batch, classes) output it returns a single number, the ' +
      'position of the largest score anywhere in the batch. Compared with the labels, that one number is broadcast ' +
      'against every sample, so the accuracy is meaningless, and nothing fails. Take the argmax over the class ' +
      'dimension, `outputs.argmax(dim=1)`. Also reported in a LightningModule\'s `*_step(self, batch, ...)` hook (one ' +
      'batch per call), for a model output or for scores named `*logits` whose argmax is compared with `==`.',
    wrong: 'for x, y in val_loader:\n    outputs = model(x)\n    correct += (outputs.argmax() == y).sum().item()',
    right: 'for x, y in val_loader:\n    outputs = model(x)\n    correct += (outputs.argmax(dim=1) == y).sum().item()',
    concept: 'Tensor reductions: the dim argument',
    fixable: true,
  },
  nodeTypes: ['call'],
  local: ['imports', 'scopes'],
  visit(call, ctx) {
    const fn = call.child('function');
    if (fn?.type !== 'attribute') return;
    const method = fn.child('attribute')?.text;
    if (method !== 'argmax' && method !== 'argmin') return;
    if (keywordArg(call, 'dim') || keywordArg(call, 'axis') || call.child('arguments')?.children.some((c) => c.type === 'list_splat' || c.type === 'dictionary_splat')) return;
    const q = ctx.analysis.callee(call);
    const pos = positionalArgs(call);
    const isFunction = q === `torch.${method}` || q === `numpy.${method}`;
    const tensor = isFunction ? pos[0] : receiver(call);
    if (isFunction ? pos.length !== 1 : pos.length !== 0) return;
    const model = modelOutputCall(ctx.analysis, tensor);
    // A batch: in a loop over batches, unless the input is one sample made a batch of one; or a whole split at once.
    // In a Lightning `*_step(self, batch, ...)`: a model output, or scores named logits compared with the labels.
    const perBatch = model ? (inBatchLoop(call) || inLightningStep(call)) && !onSingleSample(model) : inLightningStep(call) && logitsComparedWithLabels(ctx.analysis, call, tensor);
    if (!perBatch && !(model && onWholeSplit(model))) return;
    // NumPy (np.argmax, or a `.numpy()` array's method) names the dimension `axis`.
    const numpy = q === `numpy.${method}` || (!isFunction && isNumpyArray(ctx.analysis, tensor));
    const dim = numpy ? 'axis=1' : 'dim=1';
    const args = call.child('arguments')!;
    const at = isFunction ? pos[0]!.end : args.end - 1;
    ctx.report({
      node: call,
      message: `${method}() without ${numpy ? 'axis' : 'dim'} returns one index for the whole batch: use ${method}(${dim}) for each sample's class.`,
      fixes: [{ title: `Use ${method}(${dim})`, edits: [{ start: at, end: at, newText: isFunction ? `, ${dim}` : dim }] }],
    });
  },
};

/** `(torch.argmax(logits) == labels)`: scores named logits (a name bound to a computation), the result compared with `==`. */
function logitsComparedWithLabels(a: Analysis, call: PyNode, tensor: PyNode | undefined): boolean {
  const t = unparen(tensor);
  if (t?.type !== 'identifier' || !/logits$/i.test(t.text) || !a.scopes.valueAt(t.text, t)) return false;
  let up = call.parent;
  while (up?.type === 'parenthesized_expression') up = up.parent;
  if (up?.type !== 'comparison_operator' || !up.children.some((c) => c.type === '==')) return false;
  return up.namedChildren.every((side) => side.type !== 'integer' && side.type !== 'float' && side.type !== 'string');
}

/** `outputs.numpy()`, `outputs.detach().cpu().numpy()`, or a name bound to one: a NumPy array. */
function isNumpyArray(a: Analysis, e: PyNode | undefined): boolean {
  let x = unparen(e);
  if (x?.type === 'identifier') x = unparen(a.scopes.valueAt(x.text, x) ?? undefined);
  for (; x?.type === 'call' || x?.type === 'attribute'; x = unparen(x.type === 'call' ? receiver(x) : x.child('object'))) {
    if (x.type === 'call' && calleeName(x) === 'numpy') return true;
  }
  return false;
}
