import { keywordArg, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { MODEL_NAME } from '../../analysis/outputs';
import { BATCH_ITERABLE, innermostLoop } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

// The loop goes over batches: a loader, its batches, or a dataset iterated in batches.
const BATCHES = new RegExp(`${BATCH_ITERABLE.source}|dataset|data\\b|\\.items\\(\\)`, 'i');

/** Whether an expression is a model's output: `model(x)`, `self.net(x)`, or a name bound to one. */
function isModelOutput(a: Analysis, expr: PyNode | undefined): boolean {
  let e = unparen(expr);
  if (e?.type === 'identifier') e = unparen(a.scopes.valueAt(e.text, e) ?? undefined);
  if (e?.type !== 'call') return false;
  const fn = e.child('function');
  const name = fn?.type === 'identifier' ? fn.text : fn?.type === 'attribute' ? (fn.child('attribute')?.text ?? '') : '';
  return MODEL_NAME.test(name);
}

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
    const loop = innermostLoop(call);
    const over = loop?.type === 'for_statement' ? loop.child('right')?.text : undefined;
    if (!over || !BATCHES.test(over)) return;
    const args = call.child('arguments')!;
    const at = isFunction ? pos[0]!.end : args.end - 1;
    ctx.report({
      node: call,
      message: `${method}() without dim returns one index for the whole batch: use ${method}(dim=1) for each sample's class.`,
      fixes: [{ title: `Use ${method}(dim=1)`, edits: [{ start: at, end: at, newText: isFunction ? ', dim=1' : 'dim=1' }] }],
    });
  },
};
