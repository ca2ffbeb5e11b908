import { callsWithin, statementCall, unparen } from '../../analysis';
import { alwaysBackward, isBackward, isOptimizerStep, moduloOperand, optimizerOf } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { Rule, RuleContext } from '../../types';

/**
 * A modulo test that is true on the batches that are NOT a multiple of N: the bare `i % n` (non-zero is true),
 * `i % n != 0`, `i % n > 0`. Undefined for `== 0`, `not i % n` and anything else.
 */
function invertedModulo(cond: PyNode | undefined): PyNode | undefined {
  const e = unparen(cond);
  if (e?.type === 'binary_operator' && e.children.some((c) => !c.named && c.text === '%')) return e;
  if (e?.type !== 'comparison_operator') return undefined;
  const ops = e.children.filter((c) => !c.named);
  const [left, right] = e.namedChildren;
  if (ops.length !== 1 || right?.text !== '0' || !/^(!=|>)$/.test(ops[0]!.text)) return undefined;
  const l = unparen(left);
  return l?.type === 'binary_operator' && l.children.some((c) => !c.named && c.text === '%') ? e : undefined;
}

/** The optimizer steps of a block that are statements of their own (`optimizer.step()`, `scaler.step(optimizer)`). */
function stepStatements(block: PyNode, ctx: RuleContext): PyNode[] {
  const out: PyNode[] = [];
  for (const s of block.namedChildren) {
    const e = statementCall(s);
    if (e && isOptimizerStep(e, ctx.analysis)) out.push(e);
  }
  return out;
}

function checkBody(body: PyNode, ctx: RuleContext): void {
  const stmts = body.namedChildren;
  // gradients come from a backward pass on every iteration, outside the guard: the accumulation shape
  if (!stmts.some((s) => alwaysBackward(s) !== undefined)) return;
  const everyBatch = stepStatements(body, ctx);
  for (const s of stmts) {
    if (s.type !== 'if_statement' || s.childrenOf('alternative').length > 0) continue;
    const cond = s.child('condition');
    const cons = s.child('consequence');
    if (!cond || !cons || callsWithin(cons).some(isBackward)) continue;
    const guarded = stepStatements(cons, ctx);
    if (guarded.length === 0) continue;
    const inverted = invertedModulo(cond);
    if (inverted) {
      const text = cond.text.replace(/\s+/g, ' ');
      const fixed = inverted.type === 'comparison_operator' ? `${inverted.namedChildren[0]!.text} == 0` : `${inverted.text} == 0`;
      ctx.report({
        node: cond,
        message:
          `\`if ${text}:\` is true on the batches that are not a multiple of ${moduloOperand(cond)}, so ${guarded[0]!.text} runs on ` +
          `almost every batch and the gradients are not accumulated: test \`${fixed}\`.`,
        fixes: [{ title: `Step when ${fixed}`, edits: [{ start: inverted.start, end: inverted.end, newText: fixed }] }],
      });
      continue;
    }
    if (moduloOperand(cond) === undefined) continue;
    // the same optimizer also stepped by a statement of the loop body, outside the guard: it steps every batch
    const again = everyBatch.find((e) => guarded.some((g) => optimizerOf(g) === optimizerOf(e)));
    if (again) {
      ctx.report({
        node: again,
        message:
          `${again.text} also runs on every batch, outside \`if ${cond.text.replace(/\s+/g, ' ')}:\` that already steps: ` +
          'the optimizer steps on partial gradients (twice on accumulation batches). Remove this call.',
      });
    }
  }
}

export const TL029: Rule = {
  meta: {
    id: 'TL029',
    name: 'accumulation-step-every-batch',
    group: 'training-loop',
    defaultSeverity: 'error',
    summary:
      'Gradient accumulation whose optimizer still steps on (almost) every batch: the guard is inverted (`if i % N:`), or the same optimizer also steps outside it.',
    why:
      'Gradient accumulation adds the gradients of N batches into `.grad` and steps once, as if the batch were N times ' +
      'larger. The guard must be true once every N batches: `if (i + 1) % N == 0:`. A bare `if i % N:` is the reverse, ' +
      'because a remainder that is not zero is true: the step (and the reset after it) runs on N-1 of every N batches, ' +
      'so nothing is accumulated and every Nth batch adds into the next one. A second `optimizer.step()` left in the ' +
      'loop body outside the guard does the same harm: the optimizer steps on every batch, on partial gradients, and ' +
      'twice on the batches the guard lets through. The script runs and the loss goes down, just not with the batch ' +
      'size and learning-rate balance you chose.',
    wrong:
      'for i, (x, y) in enumerate(loader):\n    loss = criterion(model(x), y) / accum_steps\n    loss.backward()\n' +
      '    if i % accum_steps:\n        optimizer.step()\n        optimizer.zero_grad()',
    right:
      'for i, (x, y) in enumerate(loader):\n    loss = criterion(model(x), y) / accum_steps\n    loss.backward()\n' +
      '    if (i + 1) % accum_steps == 0:\n        optimizer.step()\n        optimizer.zero_grad()',
    concept: 'Gradient accumulation: step once every N batches',
    fixable: true,
  },
  check(ctx) {
    const a = ctx.analysis;
    if (a.callsNamed('step').length === 0 || a.callsNamed('backward').length === 0) return;
    for (const loop of a.loops) {
      const body = loop.child('body');
      if (body?.type === 'block' && body.text.includes('%')) checkBody(body, ctx);
    }
  },
};
