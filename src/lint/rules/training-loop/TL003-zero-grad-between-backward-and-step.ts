import { callsWithin } from '../../analysis';
import { backwardBlocks, indentOf, isBackward, isOptimizerStep, isZeroGrad, lineStartIfAlone } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { Rule, RuleContext } from '../../types';

export const TL003: Rule = {
  meta: {
    id: 'TL003',
    name: 'zero-grad-between-backward-and-step',
    group: 'training-loop',
    defaultSeverity: 'error',
    summary: 'zero_grad() runs after backward() and before step(), wiping the gradients the step needs.',
    why:
      '`optimizer.step()` updates the weights from `.grad`. Calling `zero_grad()` between `loss.backward()` and `step()` erases ' +
      'the gradients just computed, so every step is a no-op (or only weight decay): the loss never moves.',
    wrong: 'loss.backward()\noptimizer.zero_grad()\noptimizer.step()',
    right: 'optimizer.zero_grad()\nloss.backward()\noptimizer.step()',
    concept: 'Backpropagation: step() reads the gradients that backward() wrote',
    fixable: true,
  },
  check(ctx) {
    // Only blocks that hold a backward() statement can have the mistake.
    for (const b of backwardBlocks(ctx.nodesOfType('call'))) checkBlock(b, ctx);
  },
};

function checkBlock(block: PyNode, ctx: RuleContext): void {
  {
    const a = ctx.analysis;
    const stmts = block.namedChildren;
    let backward: PyNode | undefined;
    let zero: { stmt: PyNode; call: PyNode } | undefined;
    for (const s of stmts) {
      if (s.type !== 'expression_statement') continue;
      const calls = callsWithin(s);
      if (calls.some(isBackward)) {
        backward = s;
        zero = undefined;
      }
      const z = calls.find(isZeroGrad);
      if (backward && z && !calls.some(isBackward)) zero = { stmt: s, call: z };
      if (backward && zero && calls.some((c) => isOptimizerStep(c, a))) {
        const insertAt = lineStartIfAlone(backward);
        const delFrom = lineStartIfAlone(zero.stmt);
        const src = ctx.source;
        const nl = src.indexOf('\n', zero.stmt.end);
        const alone = delFrom !== undefined && (nl === -1 ? src.slice(zero.stmt.end) : src.slice(zero.stmt.end, nl)).trim() === '';
        const fixes =
          insertAt !== undefined && alone
            ? [
                {
                  title: `Move ${zero.call.text} before the backward pass`,
                  edits: [
                    { start: insertAt, end: insertAt, newText: `${indentOf(backward)}${zero.stmt.text}\n` },
                    { start: delFrom!, end: nl === -1 ? src.length : nl + 1, newText: '' },
                  ],
                },
              ]
            : undefined;
        ctx.report({ node: zero.call, message: `${zero.call.text} between backward() and step() erases the gradients before the update. Call it before the backward pass.`, fixes });
        backward = undefined;
        zero = undefined;
      }
    }
  }
}
