import { callsWithin } from '../../analysis';
import { alwaysBackward, backwardBlocks, indentOf, isBackward, isOptimizerStep, lineStartIfAlone } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { Rule, RuleContext } from '../../types';

export const TL018: Rule = {
  meta: {
    id: 'TL018',
    name: 'step-before-backward',
    group: 'training-loop',
    defaultSeverity: 'error',
    summary: 'optimizer.step() runs before loss.backward() in the loop body: it updates with stale or zeroed gradients. Call it after backward().',
    why:
      '`optimizer.step()` updates the weights from the `.grad` that the last `backward()` wrote. Placed before ' +
      '`loss.backward()` in the batch loop, it steps with whatever `.grad` holds at that moment: right after ' +
      '`zero_grad()` that is nothing, so every step is a no-op (or only weight decay) and the loss never moves; ' +
      'without `zero_grad()` in between, each step uses the previous batch\'s gradients, one step late.',
    wrong: 'for x, y in train_loader:\n    optimizer.zero_grad()\n    optimizer.step()\n    loss = criterion(model(x), y)\n    loss.backward()',
    right: 'for x, y in train_loader:\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.step()',
    concept: 'Backpropagation: step() reads the gradients that backward() wrote',
    fixable: true,
  },
  check(ctx) {
    // Only blocks that hold a backward() statement can have the mistake.
    for (const b of backwardBlocks(ctx.nodesOfType('call'))) checkBlock(b, ctx);
  },
};

/** The body of a for/while loop itself (not its `else:`, not an `if`/`with` inside it). */
function isLoopBody(block: PyNode): boolean {
  const p = block.parent;
  return block.type === 'block' && block.field === 'body' && (p?.type === 'for_statement' || p?.type === 'while_statement');
}

function checkBlock(block: PyNode, ctx: RuleContext): void {
  if (!isLoopBody(block)) return;
  const a = ctx.analysis;
  // The first direct optimizer-step statement, if it comes before the first direct backward() statement.
  let step: { stmt: PyNode; call: PyNode } | undefined;
  let backward: { stmt: PyNode; call: PyNode } | undefined;
  for (const s of block.namedChildren) {
    if (s.type !== 'expression_statement') {
      // `if scaler: scaler.scale(loss).backward()` / `else: loss.backward()`: a backward on every path (a `with`
      // block is left out, as before: its tests keep a step before `with autocast(): ... backward()` quiet)
      const b = s.type === 'if_statement' ? alwaysBackward(s) : undefined;
      if (b && !callsWithin(s).some((c) => isOptimizerStep(c, a))) {
        backward = { stmt: s, call: b };
        break;
      }
      continue;
    }
    const calls = callsWithin(s);
    const b = calls.find(isBackward);
    if (b) {
      backward = { stmt: s, call: b };
      break;
    }
    const st = calls.find((c) => isOptimizerStep(c, a));
    if (st && !step) step = { stmt: s, call: st };
  }
  if (!step || !backward) return;

  const src = ctx.source;
  const delFrom = lineStartIfAlone(step.stmt);
  const stepNl = src.indexOf('\n', step.stmt.end);
  const stepAlone = delFrom !== undefined && (stepNl === -1 ? src.slice(step.stmt.end) : src.slice(step.stmt.end, stepNl)).trim() === '';
  const backNl = src.indexOf('\n', backward.stmt.end);
  const backAlone =
    lineStartIfAlone(backward.stmt) !== undefined && (backNl === -1 ? src.slice(backward.stmt.end) : src.slice(backward.stmt.end, backNl)).trim() === '';
  const fixes =
    stepAlone && backAlone
      ? [
          {
            title: `Move ${step.call.text} after ${backward.call.text}`,
            edits: [
              { start: delFrom, end: stepNl === -1 ? src.length : stepNl + 1, newText: '' },
              backNl === -1
                ? { start: src.length, end: src.length, newText: `\n${indentOf(backward.stmt)}${step.stmt.text}` }
                : { start: backNl + 1, end: backNl + 1, newText: `${indentOf(backward.stmt)}${step.stmt.text}\n` },
            ],
          },
        ]
      : undefined;
  ctx.report({
    node: step.call,
    message: `${step.call.text} runs before ${backward.call.text}: it updates with gradients that are zero or from the previous batch. Call it after backward().`,
    fixes,
  });
}
