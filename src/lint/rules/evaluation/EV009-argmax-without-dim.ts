import { keywordArg, positionalArgs, receiver } from '../../analysis';
import type { Rule } from '../../types';
import { inBatchLoop, isModelOutput } from './batchOutputs';

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
      'dimension, `outputs.argmax(dim=1)`.',
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
    if (keywordArg(call, 'dim') || call.child('arguments')?.children.some((c) => c.type === 'list_splat' || c.type === 'dictionary_splat')) return;
    const q = ctx.analysis.callee(call);
    const pos = positionalArgs(call);
    const isFunction = q === `torch.${method}`;
    const tensor = isFunction ? pos[0] : receiver(call);
    if ((isFunction ? pos.length !== 1 : pos.length !== 0) || !isModelOutput(ctx.analysis, tensor)) return;
    if (!inBatchLoop(call)) return;
    const args = call.child('arguments')!;
    const at = isFunction ? pos[0]!.end : args.end - 1;
    ctx.report({
      node: call,
      message: `${method}() without dim returns one index for the whole batch: use ${method}(dim=1) for each sample's class.`,
      fixes: [{ title: `Use ${method}(dim=1)`, edits: [{ start: at, end: at, newText: isFunction ? ', dim=1' : 'dim=1' }] }],
    });
  },
};
