import { trainingLoops } from '../../analysis/training';
import type { Rule } from '../../types';
import { insertZeroGradFix, zeroGradBefore } from './TL001-missing-zero-grad';

export const TL002: Rule = {
  meta: {
    id: 'TL002',
    name: 'zero-grad-once-before-loop',
    group: 'training-loop',
    defaultSeverity: 'error',
    summary: 'zero_grad() is called once before the loop, but optimizer.step() runs on every iteration.',
    why:
      'Resetting gradients once before the training loop clears them only for the first step. Every later `backward()` adds to ' +
      'what is already in `.grad`, so each step applies the sum of all gradients so far and training diverges or stalls.',
    wrong: 'optimizer.zero_grad()\nfor x, y in loader:\n    loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.step()',
    right: 'for x, y in loader:\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.step()',
    concept: 'Backpropagation: gradients accumulate in .grad',
    fixable: true,
  },
  check(ctx) {
    for (const u of trainingLoops(ctx.analysis).updates) {
      if (!u.missingReset || u.anyReset) continue;
      const before = zeroGradBefore(u);
      if (!before) continue;
      const fix = insertZeroGradFix(u);
      ctx.report({
        node: before,
        message: `${before.text} runs once before the loop, but the loop steps every iteration: gradients accumulate across batches. Move it into the loop.`,
        fixes: fix ? [fix] : undefined,
      });
    }
  },
};
