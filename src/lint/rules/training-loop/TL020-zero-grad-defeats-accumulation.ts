import { callsWithin, loneExpression, receiver, type Analysis } from '../../analysis';
import { deleteStatementLines } from '../../analysis/order';
import { alwaysBackward, indentOf, isBackward, isOptimizerStep, isZeroGrad, lineStartIfAlone, moduloOperand, optimizerOf } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { RawEdit, RawFix, Rule, RuleContext } from '../../types';

export const TL020: Rule = {
  meta: {
    id: 'TL020',
    name: 'zero-grad-defeats-accumulation',
    group: 'training-loop',
    defaultSeverity: 'error',
    summary:
      'Gradient accumulation (step() only every N batches) with zero_grad() on every batch: the accumulated gradients are erased, each step sees only the last batch.',
    why:
      'Gradient accumulation relies on `backward()` adding into `.grad`: the gradients of N batches add up and one ' +
      '`optimizer.step()` applies them all, as if the batch were N times larger. Calling `zero_grad()` on every batch ' +
      'while `step()` runs only every N batches (`if (i + 1) % accum_steps == 0:`) erases the gradients of the N-1 earlier ' +
      'batches before each step: every update uses the last batch alone, divided by N when the loss is scaled by ' +
      '`1 / accum_steps`, so the effective batch is the small one and the learning rate N times smaller. Training is ' +
      'slower and noisier than intended; nothing fails. Reset the gradients inside that `if`, right after `step()`.',
    wrong:
      'for i, (x, y) in enumerate(train_loader):\n    optimizer.zero_grad()\n    loss = criterion(model(x), y) / accum_steps\n' +
      '    loss.backward()\n    if (i + 1) % accum_steps == 0:\n        optimizer.step()',
    right:
      'for i, (x, y) in enumerate(train_loader):\n    loss = criterion(model(x), y) / accum_steps\n    loss.backward()\n' +
      '    if (i + 1) % accum_steps == 0:\n        optimizer.step()\n        optimizer.zero_grad()',
    concept: 'Gradient accumulation: gradients add up until zero_grad()',
    fixable: true,
  },
  check(ctx) {
    const a = ctx.analysis;
    if (a.callsNamed('zero_grad').length === 0) return;
    for (const loop of a.loops) {
      const body = loop.child('body');
      if (body?.type === 'block') checkBody(body, ctx);
    }
  },
};

const OPTIMIZER_NAME = /opt/i;


/** The call a statement consists of (`optimizer.zero_grad()` alone), else undefined. */
function statementCall(s: PyNode): PyNode | undefined {
  const e = s.type === 'expression_statement' ? loneExpression(s) : undefined;
  return e?.type === 'call' ? e : undefined;
}


/** Whether a zero_grad() receiver resets the gradients an optimizer steps: same optimizer, or a model (any optimizer). */
function resetsFor(zeroRecv: string, optimizer: string, a: Analysis, recvNode: PyNode): boolean {
  if (zeroRecv === optimizer) return true;
  const last = recvNode.type === 'attribute' ? (recvNode.child('attribute')?.text ?? '') : recvNode.text;
  if (OPTIMIZER_NAME.test(last)) return false;
  const value = recvNode.type === 'identifier' ? a.scopes.valueAt(recvNode.text, recvNode) : undefined;
  const q = value ? a.callee(value) : undefined;
  return !q?.startsWith('torch.optim.');
}

/**
 * Whether the gradients a guarded step applies all come from backward() calls inside its `if`, before it: the
 * GAN `if i % n_critic == 0: g_loss.backward(); optimizer_G.step()` shape. The backward passes that can reach the
 * step are those run after the reset, on the way (round the loop if the reset comes later in the body) to the `if`.
 */
function ownBackwardOnly(stmts: readonly PyNode[], zeroStmt: PyNode, ifStmt: PyNode, cons: PyNode, step: PyNode): boolean {
  if (!callsWithin(cons).some((c) => isBackward(c) && c.end <= step.start)) return false;
  const zi = stmts.indexOf(zeroStmt);
  const fi = stmts.indexOf(ifStmt);
  const between = zi < fi ? stmts.slice(zi + 1, fi) : [...stmts.slice(zi + 1), ...stmts.slice(0, fi)];
  return !between.some((s) => callsWithin(s).some(isBackward));
}

function checkBody(body: PyNode, ctx: RuleContext): void {
  const a = ctx.analysis;
  const stmts = body.namedChildren;
  // a backward pass on every iteration (also through `with` blocks and an if/else whose every branch back-propagates)
  if (!stmts.some((s) => alwaysBackward(s) !== undefined)) return;
  // the zero_grad() statements run on every iteration (direct statements of the body)
  const zeros = stmts.map((s) => ({ stmt: s, call: statementCall(s) })).filter((z): z is { stmt: PyNode; call: PyNode } => !!z.call && isZeroGrad(z.call));
  if (zeros.length === 0) return;
  const steps = callsWithin(body).filter((c) => isOptimizerStep(c, a));
  if (steps.length === 0) return;

  for (const zero of zeros) {
    const recvNode = receiver(zero.call)!;
    const matching = steps.filter((st) => resetsFor(recvNode.text, optimizerOf(st), a, recvNode));
    if (matching.length === 0) continue;
    // every matching step only inside the consequence of a modulo `if` directly in the body, after no reset in it
    let first: { step: PyNode; ifStmt: PyNode } | undefined;
    let ok = true;
    for (const st of matching) {
      const ifStmt = stmts.find((s) => s.start <= st.start && st.end <= s.end);
      const cons = ifStmt?.type === 'if_statement' ? ifStmt.child('consequence') : undefined;
      if (!ifStmt || !cons || !(cons.start <= st.start && st.end <= cons.end) || moduloOperand(ifStmt.child('condition')) === undefined) {
        ok = false;
        break;
      }
      // zero_grad() before the step inside the if: that step does not accumulate across iterations
      if (callsWithin(cons).some((c) => isZeroGrad(c) && c.end <= st.start)) {
        ok = false;
        break;
      }
      // the step's own backward() in the same if, and none between the reset and the if: nothing is accumulated
      if (ownBackwardOnly(stmts, zero.stmt, ifStmt, cons, st)) {
        ok = false;
        break;
      }
      first ??= { step: st, ifStmt };
    }
    if (!ok || !first) continue;
    const cond = first.ifStmt.child('condition')!.text.replace(/\s+/g, ' ');
    ctx.report({
      node: zero.call,
      message:
        `${zero.call.text} runs every batch but ${first.step.text} only every few (if ${cond}): the accumulated gradients are erased, ` +
        'each step sees only the last batch. Move zero_grad() into that if, after step().',
      fixes: fixFor(zero, first.ifStmt, matching, ctx),
    });
    return;
  }
}

/** Delete the every-batch zero_grad() line; insert it after the step inside the if (unless the if already resets). */
function fixFor(zero: { stmt: PyNode; call: PyNode }, ifStmt: PyNode, steps: PyNode[], ctx: RuleContext): RawFix[] | undefined {
  const del = deleteStatementLines(zero.stmt);
  if (!del) return undefined;
  const cons = ifStmt.child('consequence')!;
  const edits: RawEdit[] = [del];
  if (!callsWithin(cons).some(isZeroGrad)) {
    // the last direct statement of the if's block that is a matching step, alone on its line
    const stepStmt = [...cons.namedChildren].reverse().find((s) => {
      const c = statementCall(s);
      return c !== undefined && steps.includes(c);
    });
    if (!stepStmt || lineStartIfAlone(stepStmt) === undefined || !deleteStatementLines(stepStmt)) return undefined;
    const src = ctx.source;
    const nl = src.indexOf('\n', stepStmt.end);
    const line = `${indentOf(stepStmt)}${zero.stmt.text}`;
    if (nl === -1) edits.push({ start: src.length, end: src.length, newText: `\n${line}` });
    // zero_grad() on the line right after the step: one edit replaces it (no insertion touching the deletion)
    else if (nl + 1 === del.start) edits[0] = { start: del.start, end: del.end, newText: `${line}\n` };
    else edits.push({ start: nl + 1, end: nl + 1, newText: `${line}\n` });
  }
  return [{ title: `Move ${zero.call.text} into the if, after the step`, edits }];
}
