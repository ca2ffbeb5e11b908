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

/** `i % n == 0`, `not i % n`, `(i + 1) % n == 0`: true once every n batches. Undefined for anything else. */
function multipleTest(cond: PyNode | undefined): PyNode | undefined {
  const e = unparen(cond);
  const isMod = (x: PyNode | undefined) => x?.type === 'binary_operator' && x.children.some((c) => !c.named && c.text === '%');
  if (e?.type === 'not_operator') return isMod(unparen(e.child('argument'))) ? e : undefined;
  if (e?.type !== 'comparison_operator') return undefined;
  const ops = e.children.filter((c) => !c.named);
  const [left, right] = e.namedChildren;
  return ops.length === 1 && ops[0]!.text === '==' && right?.text === '0' && isMod(unparen(left)) ? e : undefined;
}

/** `if i % n == 0: <backward, no step> else: <step>`: the step runs on every batch but the n-th. */
function checkStepInElse(s: PyNode, ctx: RuleContext): boolean {
  const alts = s.childrenOf('alternative');
  if (alts.length !== 1 || alts[0]!.type !== 'else_clause') return false;
  const cond = s.child('condition');
  const cons = s.child('consequence');
  const other = alts[0]!.child('body');
  if (!multipleTest(cond) || !cons || !other || callsWithin(cons).some((c) => isOptimizerStep(c, ctx.analysis))) return false;
  const steps = stepStatements(other, ctx);
  if (steps.length === 0) return false;
  ctx.report({
    node: cond!,
    message:
      `${steps[0]!.text} runs in the else of \`if ${cond!.text.replace(/\s+/g, ' ')}:\`, so it steps on every batch except every ` +
      `${moduloOperand(cond)}-th and the gradients are not accumulated: step in the branch that is true once every ${moduloOperand(cond)} batches.`,
  });
  return true;
}

/** A modulo operand named for gradient accumulation: `gradient_accumulation_steps`, `args.accum_iter`, `grad_acc`. */
const ACCUM_OPERAND = /accum|grad_?acc|(^|[._])(ga|acc)_steps$|update_freq/i;

/**
 * The steps of a loop body that run on every batch: statements of their own, and those under a test of the
 * optimizer itself (`if optimizer is not None: optimizer.step()`).
 */
function everyBatchSteps(body: PyNode, ctx: RuleContext): PyNode[] {
  const out = stepStatements(body, ctx);
  for (const s of body.namedChildren) {
    if (s.type !== 'if_statement' || s.childrenOf('alternative').length > 0) continue;
    const c = unparen(s.child('condition'));
    const plain = c?.type === 'identifier' || c?.type === 'attribute' || (c?.type === 'comparison_operator' && /^[\w.]+\s+is\s+not\s+None$/.test(c.text));
    const cons = s.child('consequence');
    if (!plain || !cons) continue;
    const name = c!.type === 'comparison_operator' ? c!.namedChildren[0]!.text : c!.text;
    out.push(...stepStatements(cons, ctx).filter((st) => optimizerOf(st) === name));
  }
  return out;
}

/**
 * An accumulation guard (`if step % gradient_accumulation_steps == 0:`) that steps nothing, while the optimizer
 * steps on every batch outside it: the guard lost its step.
 */
function checkStepOutsideGuard(body: PyNode, ctx: RuleContext): void {
  const guard = body.namedChildren.find((s) => {
    if (s.type !== 'if_statement') return false;
    const cond = s.child('condition');
    return !!multipleTest(cond) && ACCUM_OPERAND.test(moduloOperand(cond) ?? '') && !callsWithin(s).some((c) => isOptimizerStep(c, ctx.analysis) || isBackward(c));
  });
  if (!guard) return;
  const cond = guard.child('condition')!.text.replace(/\s+/g, ' ');
  const seen = new Set<string>();
  for (const step of everyBatchSteps(body, ctx)) {
    if (seen.has(optimizerOf(step))) continue;
    seen.add(optimizerOf(step));
    ctx.report({
      node: step,
      message: `${step.text} runs on every batch, outside the accumulation guard \`if ${cond}:\`: nothing is accumulated. Move the step and its zero_grad() into that block.`,
    });
  }
}

function checkBody(body: PyNode, ctx: RuleContext): void {
  const stmts = body.namedChildren;
  // gradients come from a backward pass on every iteration, outside the guard: the accumulation shape
  if (!stmts.some((s) => alwaysBackward(s) !== undefined)) return;
  const everyBatch = stepStatements(body, ctx);
  checkStepOutsideGuard(body, ctx);
  for (const s of stmts) {
    if (s.type === 'if_statement' && checkStepInElse(s, ctx)) continue;
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
