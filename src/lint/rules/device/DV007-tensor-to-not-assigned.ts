import { calleeName, loneExpression, loopTargetBinds, receiver, unparen, type Analysis } from '../../analysis';
import { BATCH_ITERABLE } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

const MOVES = new Set(['to', 'cuda', 'cpu']);
const FACTORIES = /^torch\.(tensor|as_tensor|from_numpy|zeros|ones|randn|rand|randint|empty|full|arange|linspace|stack|cat)$/;

/** Whether a name holds a tensor: a target of a loop over batches, or bound to a torch tensor factory. */
function isTensorName(a: Analysis, id: PyNode): boolean {
  for (let p = id.parent; p; p = p.parent) {
    if (p.type === 'function_definition' || p.type === 'class_definition') break;
    if (p.type === 'for_statement' && loopTargetBinds(p, id.text)) return BATCH_ITERABLE.test(p.child('right')?.text ?? '');
  }
  const v = unparen(a.scopes.valueAt(id.text, id) ?? undefined);
  return v?.type === 'call' && FACTORIES.test(a.callee(v) ?? '');
}

export const DV007: Rule = {
  meta: {
    id: 'DV007',
    name: 'tensor-to-not-assigned',
    group: 'device',
    defaultSeverity: 'error',
    summary: '`images.to(device)` on its own line: for a tensor it returns a moved copy, and the tensor itself stays where it was.',
    why:
      '`Module.to(device)` moves a model in place, so `model.to(device)` on its own line works. `Tensor.to(device)` does ' +
      'not: it returns a new tensor on the device and leaves the original alone. Written without assignment, the batch ' +
      'stays on the CPU; with the model on the GPU the forward pass fails with "Expected all tensors to be on the same ' +
      'device", and code that only runs on a CPU hides the mistake until it meets a GPU. Assign the result: ' +
      '`images = images.to(device)`.',
    wrong: 'for images, labels in train_loader:\n    images.to(device)\n    labels.to(device)\n    outputs = model(images)',
    right: 'for images, labels in train_loader:\n    images = images.to(device)\n    labels = labels.to(device)\n    outputs = model(images)',
    concept: 'Devices: tensors are moved by copy, modules in place',
    fixable: true,
  },
  nodeTypes: ['expression_statement'],
  local: ['imports', 'scopes'],
  visit(statement, ctx) {
    const call = loneExpression(statement);
    if (call?.type !== 'call' || !MOVES.has(calleeName(call) ?? '')) return;
    const target = receiver(call);
    if (target?.type !== 'identifier' || !isTensorName(ctx.analysis, target)) return;
    ctx.report({
      node: call,
      message: `${call.text} returns a moved copy and ${target.text} stays where it was: write ${target.text} = ${call.text}.`,
      fixes: [{ title: `Assign: ${target.text} = ${call.text}`, edits: [{ start: call.start, end: call.start, newText: `${target.text} = ` }] }],
    });
  },
};
