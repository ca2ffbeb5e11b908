import { calleeName, keywordArg, positionalArgs, receiver, unparen } from '../../analysis';
import type { PyNode } from '../../parser';
import type { RawFix, Rule } from '../../types';

// Objects whose `.backward(loss)` back-propagates its argument (Accelerate, Fabric, DeepSpeed, Lightning): not tensors.
const BACKWARD_RUNNER = /accelerator|fabric|engine|trainer|^self$/i;

const LOSS_NAME = /loss|cost|objective|^l$|^j$/i;

/** `loss`, `loss.detach()`, `loss.data`, `loss.clone()`: the tensor a gradient argument copies, as text. */
function copiedTensor(n: PyNode | undefined): string | undefined {
  let e = unparen(n);
  while (e) {
    if (e.type === 'attribute' && e.child('attribute')?.text === 'data') e = unparen(e.child('object'));
    else if (e.type === 'call' && /^(detach|clone|item)$/.test(calleeName(e) ?? '') && positionalArgs(e).length === 0 && receiver(e)) e = unparen(receiver(e));
    else break;
  }
  return e?.text;
}

export const TL030: Rule = {
  meta: {
    id: 'TL030',
    name: 'backward-given-loss',
    group: 'training-loop',
    defaultSeverity: 'error',
    summary: '`loss.backward(loss)` passes the loss as the incoming gradient: every gradient is multiplied by the loss value.',
    why:
      "The argument of `tensor.backward(gradient)` is the gradient of some outer quantity with respect to the tensor: " +
      'autograd multiplies every gradient it computes by it (the chain rule). For a scalar loss the right value is 1, ' +
      'which is what `loss.backward()` uses. Passing the loss itself scales every parameter gradient by the current ' +
      'loss: steps are huge while the loss is large and vanish as it falls, which is the gradient of loss² / 2 rather ' +
      'than of the loss. Training may diverge or crawl, and nothing warns. Call `loss.backward()` with no argument.',
    wrong: 'loss = criterion(model(x), y)\nloss.backward(loss)\noptimizer.step()',
    right: 'loss = criterion(model(x), y)\nloss.backward()\noptimizer.step()',
    concept: 'Autograd: backward() and the chain rule',
    fixable: true,
  },
  nodeTypes: ['call'],
  local: [],
  visit(call, ctx) {
    if (calleeName(call) !== 'backward') return;
    const recv = unparen(receiver(call));
    if (!recv || recv.type === 'call') return;
    const last = recv.type === 'attribute' ? (recv.child('attribute')?.text ?? '') : recv.text;
    // a loss (a scalar): `out.backward(out)` on a model output is the autograd demo of a vector-Jacobian product
    if (BACKWARD_RUNNER.test(last) || !LOSS_NAME.test(last)) return;
    const gradient = positionalArgs(call)[0] ?? keywordArg(call, 'gradient');
    if (!gradient || copiedTensor(gradient) !== recv.text) return;
    const args = call.child('arguments');
    const fixes: RawFix[] | undefined =
      args && args.namedChildren.length === 1 ? [{ title: `Call ${recv.text}.backward()`, edits: [{ start: args.start, end: args.end, newText: '()' }] }] : undefined;
    ctx.report({
      node: call,
      message: `${call.text} uses ${gradient.text} as the incoming gradient, so every gradient is multiplied by the loss value: call ${recv.text}.backward().`,
      fixes,
    });
  },
};
