import { callsWithin, receiver, type Analysis } from '../../analysis';
import { statementOf } from '../../analysis/runtime';
import { BATCH_ITERABLE, isBackward, isOptimizerClass, isOptimizerStep, isZeroGrad, optimizedModel, optimizerOf } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

/** A loop over batches before `statement` in `block` that calls backward() but never steps, else undefined. */
function batchLoopBefore(statement: PyNode, block: PyNode, a: Analysis): PyNode | undefined {
  for (const earlier of block.namedChildren) {
    if (earlier.start >= statement.start) break;
    if (earlier.type !== 'for_statement' || !BATCH_ITERABLE.test(earlier.child('right')?.text ?? '')) continue;
    const calls = callsWithin(earlier);
    if (calls.some(isBackward) && !calls.some((c) => isOptimizerStep(c, a))) return earlier;
  }
  return undefined;
}

/** The model an optimizer name was built from (`optD = Adam(netD.parameters())` -> `netD`), else undefined. */
function ownerOf(opt: string, at: PyNode, a: Analysis): string | undefined {
  if (!/^\w+$/.test(opt)) return undefined;
  const value = a.scopes.valueAt(opt, at);
  const q = value?.type === 'call' ? a.callee(value) : undefined;
  return value && q && isOptimizerClass(q) ? optimizedModel(value) : undefined;
}

/**
 * The loop just before an optimizer step (same block) that resets that optimizer's gradients every iteration
 * (`opt.zero_grad()`, or `model.zero_grad()` of the model it was built from) and runs backward() but never steps it:
 * the step after it applies only the last iteration's gradient. Undefined when a reset follows the loop.
 */
export function resettingLoopBefore(step: PyNode, a: Analysis): PyNode | undefined {
  const statement = statementOf(step);
  const block = statement.parent;
  if (block?.type !== 'block' && block?.type !== 'module') return undefined;
  const opt = optimizerOf(step);
  const owner = ownerOf(opt, step, a);
  const resets = (c: PyNode) => isZeroGrad(c) && (receiver(c)?.text === opt || (owner !== undefined && receiver(c)?.text === owner));
  let found: PyNode | undefined;
  for (const earlier of block.namedChildren) {
    if (earlier.start >= statement.start) break;
    const calls = callsWithin(earlier);
    if (earlier.type !== 'for_statement' && earlier.type !== 'while_statement') {
      if (found && calls.some(resets)) found = undefined;
      continue;
    }
    if (!calls.some(resets)) continue;
    found = calls.some(isBackward) && !calls.some((c) => isOptimizerStep(c, a) && optimizerOf(c) === opt) ? earlier : undefined;
  }
  return found;
}

export const TL017: Rule = {
  meta: {
    id: 'TL017',
    name: 'step-outside-batch-loop',
    group: 'training-loop',
    defaultSeverity: 'warning',
    summary: '`optimizer.step()` after the batch loop, with `backward()` inside it: one update per epoch, from the sum of all gradients (or, when zero_grad() stays in the loop, from the last batch alone).',
    why:
      'Each `backward()` adds its gradients into `.grad`. With `optimizer.step()` placed after the loop over batches ' +
      'instead of inside it, the gradients of every batch of the epoch are summed and the weights move once per epoch, ' +
      'by a step as large as all the batch gradients together: training is many times slower and can diverge at a ' +
      'learning rate meant for one batch. Call `zero_grad()`, `backward()` and `step()` once per batch (or accumulate ' +
      'over a few batches on purpose, stepping every N of them inside the loop).',
    wrong: 'for epoch in range(10):\n    optimizer.zero_grad()\n    for x, y in train_loader:\n        loss = criterion(model(x), y)\n        loss.backward()\n    optimizer.step()',
    right: 'for epoch in range(10):\n    for x, y in train_loader:\n        optimizer.zero_grad()\n        loss = criterion(model(x), y)\n        loss.backward()\n        optimizer.step()',
    concept: 'Gradient descent: one update per mini-batch',
    fixable: false,
  },
  nodeTypes: ['call'],
  // An optimizer step after a batch loop of its own block; a top-level step's earlier loops are other statements, so
  // the test keeps every top-level step and the visit looks at them.
  candidate: {
    reads: ['imports', 'scopes'],
    test(call, ctx) {
      if (!isOptimizerStep(call, ctx.analysis)) return false;
      const statement = statementOf(call);
      const block = statement.parent;
      if (!block) return false;
      return block.type === 'module' || batchLoopBefore(statement, block, ctx.analysis) !== undefined || resettingLoopBefore(call, ctx.analysis) !== undefined;
    },
  },
  visit(call, ctx) {
    if (!isOptimizerStep(call, ctx.analysis)) return;
    // The statement holding the step, and the statements before it in the same block.
    const statement = statementOf(call);
    const block = statement.parent;
    if (!block) return;
    const resetting = resettingLoopBefore(call, ctx.analysis);
    if (resetting) {
      const what = resetting.type === 'for_statement' ? `the loop over ${resetting.child('right')!.text}` : 'the loop before it';
      ctx.report({
        node: call,
        message: `${call.text} runs once, after ${what}, which resets ${optimizerOf(call)}'s gradients every iteration: each update applies only the last batch's gradient. Move it into the loop, after backward().`,
      });
      return;
    }
    const earlier = batchLoopBefore(statement, block, ctx.analysis);
    if (!earlier) return;
    ctx.report({
      node: call,
      message: `${call.text} runs once, after the loop over ${earlier.child('right')!.text}, whose backward() calls add up: move it (and zero_grad()) into the batch loop.`,
    });
  },
};
