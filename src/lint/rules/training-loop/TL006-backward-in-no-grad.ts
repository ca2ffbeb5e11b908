import { positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { evaluation } from '../../analysis/evaluation';
import { gradOffRegion } from '../../analysis/order';
import { isBackward } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

/** The function turns autograd back on somewhere (`with torch.enable_grad():`, `torch.set_grad_enabled(True)`). */
function hasGradOn(a: Analysis, fn: PyNode): boolean {
  let on = false;
  fn.walk((n) => {
    if (on) return false;
    if (n.type === 'call') {
      const q = a.callee(n) ?? '';
      if (q === 'torch.enable_grad' || q === 'torch.autograd.enable_grad' || q === 'torch.set_grad_enabled') on = true;
    }
  });
  return on;
}

/**
 * What a `backward()` call back-propagates, as built: `loss.backward()` -> the value of `loss`,
 * `scaler.scale(loss).backward()` -> the same, `(a + b).backward()` -> the expression; undefined when unknown.
 */
function builtLoss(a: Analysis, call: PyNode): PyNode | undefined {
  if (!isBackward(call)) return undefined;
  let loss = unparen(receiver(call));
  // scaler.scale(loss).backward()
  if (loss?.type === 'call' && /\.scale$/.test(loss.child('function')?.text ?? '')) loss = unparen(positionalArgs(loss)[0]);
  if (!loss) return undefined;
  let built: PyNode | undefined = loss;
  if (loss.type === 'identifier') built = a.scopes.valueAt(loss.text, call) ?? undefined;
  return built && built.type !== 'identifier' ? built : undefined;
}

/** Whether `built` lies in a `with` or a function around `call`: the grad-free region, if any, is one of those. */
function inWithOrFunctionAround(call: PyNode, built: PyNode): boolean {
  for (let p = call.parent; p; p = p.parent) {
    if ((p.type === 'with_statement' || p.type === 'function_definition') && p.start <= built.start && built.end <= p.end) return true;
  }
  return false;
}

export const TL006: Rule = {
  meta: {
    id: 'TL006',
    name: 'backward-in-no-grad',
    group: 'training-loop',
    defaultSeverity: 'error',
    summary: 'The loss is computed and back-propagated inside torch.no_grad() / inference_mode().',
    why:
      'Inside `torch.no_grad()` (or `torch.inference_mode()`, or a function decorated with either) autograd records nothing, ' +
      'so a loss computed there has no `grad_fn` and `loss.backward()` raises "element 0 of tensors does not require grad". ' +
      'Usually the training step was pasted into the evaluation block or the `with` was indented one level too far. Descent ' +
      'reports it only when the loss is also computed inside the same grad-free region (a backward of a loss built outside ' +
      'it works) and stops at an inner `torch.enable_grad()`.',
    wrong: 'with torch.no_grad():\n    loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.step()',
    right: 'loss = criterion(model(x), y)\nloss.backward()\noptimizer.step()',
    concept: 'Autograd: the computation graph is recorded only when gradients are enabled',
    fixable: false,
  },
  nodeTypes: ['call'],
  // The backward calls of a known loss; whether both lie in a grad-free region reads the enclosing blocks and callers.
  candidate: {
    reads: ['scopes'],
    test(call, ctx) {
      const built = builtLoss(ctx.analysis, call);
      return built !== undefined && inWithOrFunctionAround(call, built);
    },
  },
  visit(call, ctx) {
    if (!isBackward(call)) return;
    const a = ctx.analysis;
    let region = gradOffRegion(a, call);
    let viaCallers = false;
    if (!region) {
      // `with torch.no_grad(): train_step(...)`: every call of the enclosing function is under no_grad.
      const fn = call.ancestor('function_definition');
      if (!fn || gradOffRegion(a, fn) || !evaluation(a).allCallersNoGrad(fn) || hasGradOn(a, fn)) return;
      region = fn;
      viaCallers = true;
    }
    const built = builtLoss(a, call);
    if (!built || !(region.start <= built.start && built.end <= region.end)) return;
    if (!viaCallers && gradOffRegion(a, built) !== region) return;
    if (viaCallers && gradOffRegion(a, built)) return;
    ctx.report({
      node: call,
      message: viaCallers
        ? `backward() in ${region.child('name')?.text ?? 'a function'}(), which is only called under torch.no_grad(): the loss has no graph, so this raises. Call it outside the no-grad block.`
        : 'backward() inside torch.no_grad()/inference_mode(): the loss has no graph, so this raises. Compute the loss and call backward() outside the no-grad block.',
    });
  },
};
