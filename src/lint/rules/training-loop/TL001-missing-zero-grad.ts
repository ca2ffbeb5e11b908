import { bodyOf } from '../../analysis';
import type { PyNode } from '../../parser';
import { indentOf, isZeroGrad, lineStartIfAlone, moduloOperand, optimizerOf, trainingLoops, type LoopUpdate } from '../../analysis/training';
import type { RawFix, Rule } from '../../types';

/** Inserts `<optimizer>.zero_grad()` as the first statement of the loop body. Shared with TL002. */
export function insertZeroGradFix(u: LoopUpdate): RawFix | undefined {
  const first = bodyOf(u.loop)[0];
  const step = u.steps[0];
  if (!first || !step) return undefined;
  const at = lineStartIfAlone(first);
  if (at === undefined) return undefined;
  const opt = optimizerOf(step);
  return { title: `Call ${opt}.zero_grad() at the start of each iteration`, edits: [{ start: at, end: at, newText: `${indentOf(first)}${opt}.zero_grad()\n` }] };
}

export const TL001: Rule = {
  meta: {
    id: 'TL001',
    name: 'missing-zero-grad',
    group: 'training-loop',
    defaultSeverity: 'error',
    summary: 'optimizer.step() runs in a loop where gradients are not reset on every iteration.',
    why:
      'PyTorch **adds** each `backward()` into `.grad`. Unless `optimizer.zero_grad()` (or `model.zero_grad()`) runs once per ' +
      'iteration, every step uses the sum of all previous gradients: updates grow, the loss oscillates or diverges, and nothing ' +
      'raises an error. The check follows every path through one iteration (if/else, continue, try).',
    wrong: 'for x, y in loader:\n    loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.step()',
    right: 'for x, y in loader:\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.step()',
    concept: 'Backpropagation: gradients accumulate in .grad',
    fixable: true,
  },
  check(ctx) {
    for (const u of trainingLoops(ctx.analysis).updates) {
      if (!u.missingReset) continue;
      if (!u.anyReset && zeroGradBefore(u)) continue; // TL002 says it better
      if (u.anyReset && accumulationWindow(u)) continue;
      const step = u.steps[0]!;
      const opt = optimizerOf(step);
      const fix = insertZeroGradFix(u);
      ctx.report({
        node: step,
        message: u.anyReset
          ? `${opt}.step() can run without ${opt}.zero_grad() in the same iteration (on some path), so gradients accumulate across batches. Reset them on every path.`
          : `Gradients are never reset in this loop: call ${opt}.zero_grad() each iteration, or ${opt}.step() applies the sum of all previous gradients.`,
        fixes: fix ? [fix] : undefined,
      });
    }
  },
};

/** The `N` of the nearest enclosing `if` (inside the loop) whose condition tests `... % N`: `if (i + 1) % accum == 0:`. */
function moduloOf(n: PyNode, loop: PyNode): string | undefined {
  for (let p = n.parent; p && p !== loop; p = p.parent) if (p.type === 'if_statement') return moduloOperand(p.child('condition'));
  return undefined;
}

/**
 * Gradient accumulation written as windows: `if i % N == 0: optimizer.zero_grad()` at the start of each window and
 * `if (i + 1) % N == 0: optimizer.step()` at its end. Every step and some reset test the same `% N`: the path
 * analysis cannot pair the two conditions, but the gradients are reset once per window, as intended.
 */
function accumulationWindow(u: LoopUpdate): boolean {
  const moduli = u.steps.map((s) => moduloOf(s, u.loop));
  const n = moduli[0];
  if (n === undefined || moduli.some((m) => m !== n)) return false;
  let paired = false;
  u.loop.child('body')?.walk((c) => {
    if (paired || c.type === 'function_definition' || c.type === 'class_definition') return false;
    if (c.type === 'call' && isZeroGrad(c) && moduloOf(c, u.loop) === n) paired = true;
  });
  return paired;
}

/** A zero_grad call earlier in the same function (or module), outside the loop. */
export function zeroGradBefore(u: LoopUpdate) {
  let p = u.loop;
  for (;;) {
    const parent = p.parent;
    if (!parent || p.type === 'function_definition') return undefined;
    for (const sib of parent.children) {
      if (sib.start >= p.start) break;
      let found: typeof p | undefined;
      sib.walk((n) => {
        if (found || n.type === 'function_definition' || n.type === 'class_definition') return false;
        if (n.type === 'call' && isZeroGrad(n)) found = n;
      });
      if (found) return found;
    }
    p = parent;
  }
}
