import { callsWithin, type Analysis } from '../../analysis';
import { statementOf } from '../../analysis/runtime';
import { BATCH_ITERABLE, isBackward, isOptimizerStep } from '../../analysis/training';
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

export const TL017: Rule = {
  meta: {
    id: 'TL017',
    name: 'step-outside-batch-loop',
    group: 'training-loop',
    defaultSeverity: 'warning',
    summary: '`optimizer.step()` after the batch loop, with `backward()` inside it: one update per epoch, from the sum of all gradients.',
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
      return block.type === 'module' || batchLoopBefore(statement, block, ctx.analysis) !== undefined;
    },
  },
  visit(call, ctx) {
    if (!isOptimizerStep(call, ctx.analysis)) return;
    // The statement holding the step, and the statements before it in the same block.
    const statement = statementOf(call);
    const block = statement.parent;
    if (!block) return;
    const earlier = batchLoopBefore(statement, block, ctx.analysis);
    if (!earlier) return;
    ctx.report({
      node: call,
      message: `${call.text} runs once, after the loop over ${earlier.child('right')!.text}, whose backward() calls add up: move it (and zero_grad()) into the batch loop.`,
    });
  },
};
