import { callsWithin, methodClass, receiver, statementCall, unparen, type Analysis } from '../../analysis';
import { callSitesOf } from '../../analysis/calls';
import { deleteStatementLines } from '../../analysis/order';
import {
  alwaysBackward,
  indentOf,
  innermostLoop,
  isBackward,
  isOptimizerStep,
  isZeroGrad,
  lineStartIfAlone,
  moduloOperand,
  optimizerOf,
} from '../../analysis/training';
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
      'slower and noisier than intended; nothing fails. Reset the gradients inside that `if`, right after `step()`. ' +
      'Descent also checks the body of a function that runs once per batch (Lightning\'s manual-optimization ' +
      '`training_step(batch, batch_idx)`, a step function of the file called from a loop), a guard held in a name ' +
      '(`is_accumulating = (i + 1) % n != 0`), and `model.zero_grad()` inside `with accelerator.accumulate(model):` ' +
      '(Accelerate skips the prepared optimizer\'s `zero_grad()` between sync steps, never the model\'s).',
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
    for (const fn of perBatchFunctions(a)) {
      const body = fn.child('body');
      if (body?.type === 'block') checkBody(body, ctx);
    }
    checkAccumulateBlocks(ctx);
  },
};

/**
 * Functions whose body runs once per batch, which reset gradients outside any loop of their own: Lightning's
 * `training_step` (a method; manual optimization steps in it), and a function of the file whose every call is inside
 * a loop (`for i, b in enumerate(loader): train_step(b, i)`).
 */
function perBatchFunctions(a: Analysis): PyNode[] {
  const out = new Set<PyNode>();
  for (const z of a.callsNamed('zero_grad')) {
    if (innermostLoop(z)) continue;
    const fn = z.ancestor('function_definition');
    if (!fn || out.has(fn)) continue;
    if (fn.child('name')?.text === 'training_step' && methodClass(fn)) out.add(fn);
    else if (calledInLoopsOnly(a, fn)) out.add(fn);
  }
  return [...out];
}

function calledInLoopsOnly(a: Analysis, fn: PyNode): boolean {
  const sites = callSitesOf(a, fn);
  if (!sites || sites.known.length === 0 || sites.unknown.length > 0) return false;
  return sites.known.every((c) => innermostLoop(c) !== undefined && !(fn.start <= c.start && c.end <= fn.end));
}

/**
 * The accumulation guard of an `if`: a modulo in its condition, or a name (also under `not`) the loop bound to one
 * (`is_accumulating = (i + 1) % n != 0`; `if not is_accumulating:`).
 */
function accumulationGuard(cond: PyNode | undefined, a: Analysis): string | undefined {
  const direct = moduloOperand(cond);
  if (direct !== undefined) return direct;
  let e = unparen(cond);
  if (e?.type === 'not_operator') e = unparen(e.child('argument'));
  if (e?.type !== 'identifier') return undefined;
  const value = a.scopes.valueAt(e.text, e);
  return value && innermostLoop(value) === innermostLoop(e) ? moduloOperand(value) : undefined;
}

const OPTIMIZER_NAME = /opt/i;



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
      if (!ifStmt || !cons || !(cons.start <= st.start && st.end <= cons.end) || accumulationGuard(ifStmt.child('condition'), a) === undefined) {
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

/** `accelerator.accumulate(model)` (also `self.accelerator`): Accelerate's gradient-accumulation context. */
function isAccumulateContext(call: PyNode): boolean {
  const recv = receiver(call);
  const last = recv?.type === 'attribute' ? recv.child('attribute')?.text : recv?.text;
  return /accelerat/i.test(last ?? '') && call.parent?.type === 'with_item';
}

/** The statements a block runs on every pass: its own, and those of `with` blocks in it (not under an `if` or a loop). */
function unconditionalCalls(block: PyNode | undefined, out: PyNode[] = []): PyNode[] {
  for (const s of block?.namedChildren ?? []) {
    if (s.type === 'with_statement') unconditionalCalls(s.child('body'), out);
    else if (s.type === 'expression_statement') out.push(...callsWithin(s));
  }
  return out;
}

/**
 * `with accelerator.accumulate(model):` around a backward pass and a step: the prepared optimizer's `step()` and
 * `zero_grad()` do nothing until the accumulation boundary, but `model.zero_grad()` is the module's own method and
 * runs on every micro-batch, erasing what was accumulated.
 */
function checkAccumulateBlocks(ctx: RuleContext): void {
  const a = ctx.analysis;
  for (const acc of a.callsNamed('accumulate')) {
    if (!isAccumulateContext(acc)) continue;
    const withStmt = acc.ancestor('with_statement');
    const body = withStmt?.child('body');
    if (!body) continue;
    const inBody = callsWithin(body);
    if (!inBody.some(isBackward) || !inBody.some((c) => isOptimizerStep(c, a))) continue;
    for (const zero of unconditionalCalls(body)) {
      if (!isZeroGrad(zero) || !isModuleReset(receiver(zero)!, a)) continue;
      ctx.report({
        node: zero,
        message:
          `${zero.text} runs on every micro-batch inside ${acc.text}: Accelerate skips only the prepared optimizer's zero_grad() ` +
          'between sync steps, so the accumulated gradients are erased. Call the optimizer\'s zero_grad() instead.',
      });
    }
  }
}

/** A zero_grad() receiver that is not an optimizer: a module (`model`, `self.policy`), whose reset Accelerate never skips. */
function isModuleReset(recv: PyNode, a: Analysis): boolean {
  const last = recv.type === 'attribute' ? (recv.child('attribute')?.text ?? '') : recv.text;
  if (OPTIMIZER_NAME.test(last)) return false;
  const value = recv.type === 'identifier' ? a.scopes.valueAt(recv.text, recv) : undefined;
  if (!value) return recv.type === 'identifier' || recv.type === 'attribute';
  const q = value.type === 'call' ? a.callee(value) : undefined;
  return !q?.startsWith('torch.optim.') && !/optim/i.test(value.text);
}
