import { callsWithin } from '../../analysis';
import { alwaysBackward, backwardBlocks, gradZeroTarget, indentOf, isBackward, isOptimizerStep, isZeroGrad, lineStartIfAlone, manualGradTarget } from '../../analysis/training';
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
    for (const b of backwardBlocks(ctx.nodesOfType('call'))) {
      checkBlock(b, ctx);
      checkManualUpdate(b, ctx);
    }
  },
};

/**
 * Hand-written gradient descent: `w.grad.zero_()` after backward() and before `w -= lr * w.grad` (in the same block,
 * through `with` blocks and `for p in params:` loops, which are followed in order). The update then reads zeros.
 */
function checkManualUpdate(block: PyNode, ctx: RuleContext): void {
  let resets: Map<string, PyNode> | undefined;
  const visit = (s: PyNode, loopVar?: { name: string; key: string }): void => {
    const keyOf = (t: string) => (loopVar && t === loopVar.name ? loopVar.key : t);
    if (s.type === 'with_statement') {
      for (const c of s.child('body')?.namedChildren ?? []) visit(c, loopVar);
    } else if (s.type === 'for_statement' && s.child('left')?.type === 'identifier' && !loopVar) {
      const key = `${s.child('right')?.text ?? ''}[*]`;
      for (const c of s.child('body')?.namedChildren ?? []) visit(c, { name: s.child('left')!.text, key });
    } else if (s.type === 'expression_statement') {
      const e = s.namedChildren[0];
      if (!e) return;
      const zeroed = e.type === 'call' ? gradZeroTarget(e) : undefined;
      if (zeroed !== undefined) {
        resets!.set(keyOf(zeroed), e);
        return;
      }
      const target = manualGradTarget(e);
      if (target === undefined) return;
      const reset = resets!.get(keyOf(target));
      if (!reset) return;
      resets!.delete(keyOf(target));
      const fix = moveAfterFix(reset, s, ctx.source);
      ctx.report({
        node: reset,
        message: `${reset.text} runs between backward() and the update of ${target}, so the update reads zero gradients and ${target} never changes. Reset the gradient after the update.`,
        fixes: fix ? [fix] : undefined,
      });
    }
  };
  for (const s of block.namedChildren) {
    if (callsWithin(s).some(isBackward)) {
      resets = new Map();
      continue;
    }
    if (resets) visit(s);
  }
}

/** Moves the reset's statement (or its one-statement `for` loop) to the line after the update's statement in the same block. */
function moveAfterFix(reset: PyNode, update: PyNode, src: string) {
  let stmt: PyNode | null = reset.parent;
  const anchorIn = (block: PyNode | null): PyNode | undefined => {
    for (let n: PyNode | null = update; n; n = n.parent) if (block && n.parent === block) return n;
    return undefined;
  };
  let anchor = anchorIn(stmt?.parent ?? null);
  if (!anchor && stmt?.parent?.parent?.type === 'for_statement' && stmt.parent.namedChildren.filter((c) => c.type !== 'comment').length === 1) {
    stmt = stmt.parent.parent;
    anchor = anchorIn(stmt.parent);
  }
  if (!stmt || !anchor || anchor === stmt || anchor.start < stmt.end) return undefined;
  const from = lineStartIfAlone(stmt);
  const lineEnd = (at: number) => {
    const nl = src.indexOf('\n', at);
    return nl === -1 ? src.length : nl;
  };
  const restAlone = (n: PyNode) => /^[ \t]*(#.*)?$/.test(src.slice(n.end, lineEnd(n.end)));
  if (from === undefined || !restAlone(stmt) || !restAlone(anchor)) return undefined;
  const to = Math.min(lineEnd(stmt.end) + 1, src.length);
  const at = lineEnd(anchor.end);
  const text = `${indentOf(stmt)}${stmt.text}`;
  return {
    title: `Move ${reset.text} after the update`,
    edits: [
      { start: from, end: to, newText: '' },
      at === src.length ? { start: at, end: at, newText: `\n${text}` } : { start: at + 1, end: at + 1, newText: `${text}\n` },
    ],
  };
}

/** An if/else or `with` that back-propagates on every path and neither resets nor steps. */
function backsUpOnly(s: PyNode, a: RuleContext['analysis']): boolean {
  return alwaysBackward(s) !== undefined && !callsWithin(s).some((c) => isZeroGrad(c) || isOptimizerStep(c, a));
}

function checkBlock(block: PyNode, ctx: RuleContext): void {
  {
    const a = ctx.analysis;
    const stmts = block.namedChildren;
    let backward: PyNode | undefined;
    let zero: { stmt: PyNode; call: PyNode } | undefined;
    for (const s of stmts) {
      if (s.type !== 'expression_statement') {
        // `if scaler: scaler.scale(loss).backward()` / `else: loss.backward()`: a backward on every path
        if (backsUpOnly(s, a)) {
          backward = s;
          zero = undefined;
        }
        continue;
      }
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
