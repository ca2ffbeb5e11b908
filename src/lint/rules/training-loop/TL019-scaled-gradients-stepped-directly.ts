import { callsWithin, calleeName, keywordArg, loneExpression, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { lastName, reachableCalls, receiverValue } from '../../analysis/order';
import { indentOf, isBackward, isOptimizerStep, lineStartIfAlone } from '../../analysis/training';
import type { PyNode } from '../../parser';
import { isGradScaler, scaledBackwardScaler } from './gradScaler';
import type { RawEdit, Rule, RuleContext } from '../../types';

export const TL019: Rule = {
  meta: {
    id: 'TL019',
    name: 'scaled-gradients-stepped-directly',
    group: 'training-loop',
    defaultSeverity: 'error',
    summary:
      'The loss is scaled by a GradScaler but optimizer.step() is called directly, on gradients multiplied by the scale: use scaler.step(optimizer) then scaler.update().',
    why:
      'With mixed precision, `scaler.scale(loss).backward()` multiplies the loss, and so every gradient, by the loss scale ' +
      '(65,536 at the start) to keep small float16 gradients from underflowing. `scaler.step(optimizer)` divides them back ' +
      'and skips the step when they hold inf or NaN; `optimizer.step()` called directly applies the scaled gradients as they ' +
      'are: updates tens of thousands of times too large, and overflowed steps applied too, so the loss jumps to NaN/inf or ' +
      'training diverges, with no error. Even after `scaler.unscale_(optimizer)` (for clipping), `optimizer.step()` still ' +
      'applies the overflowed steps that `scaler.step` would skip. `scaler.update()` must follow `scaler.step()` in every iteration: without it the ' +
      'scale never adapts, and after one overflow every later step is skipped (or the gradients stay needlessly small).',
    wrong:
      'scaler = torch.amp.GradScaler("cuda")\nfor x, y in train_loader:\n    optimizer.zero_grad()\n    with torch.autocast("cuda"):\n' +
      '        loss = criterion(model(x), y)\n    scaler.scale(loss).backward()\n    optimizer.step()',
    right:
      'scaler = torch.amp.GradScaler("cuda")\nfor x, y in train_loader:\n    optimizer.zero_grad()\n    with torch.autocast("cuda"):\n' +
      '        loss = criterion(model(x), y)\n    scaler.scale(loss).backward()\n    scaler.step(optimizer)\n    scaler.update()',
    concept: 'Mixed precision: loss scaling and unscaled updates',
    fixable: true,
  },
  check(ctx) {
    const a = ctx.analysis;
    if (a.callsNamed('scale').length === 0) return;
    const reported = new Set<PyNode>();
    for (const loop of a.loops) {
      const body = loop.child('body');
      if (body) checkBody(body, ctx, reported);
    }
  },
};

function noArguments(call: PyNode): boolean {
  return (call.child('arguments')?.namedChildren ?? []).every((c) => c.type === 'comment');
}

/** Calls of a scaler method: `X.name(...)`, X compared by its last name (`self.scaler` in a helper is `scaler` here). */
function scalerCalls(calls: readonly PyNode[], x: PyNode, name: string): PyNode[] {
  const want = lastName(x);
  return calls.filter((c) => {
    if (calleeName(c) !== name) return false;
    const r = receiver(c);
    return r !== undefined && lastName(r) === want;
  });
}

/** The end of the line holding `stmt` when nothing but a comment follows it there; undefined otherwise. */
function lineEndIfAlone(ctx: RuleContext, stmt: PyNode): number | undefined {
  if (lineStartIfAlone(stmt) === undefined) return undefined;
  const src = ctx.source;
  const nl = src.indexOf('\n', stmt.end);
  const end = nl === -1 ? src.length : nl;
  const rest = src.slice(stmt.end, end).trim();
  return rest === '' || rest.startsWith('#') ? end : undefined;
}

/** The statement that is only `call` (`optimizer.step()` on its own), else undefined. */
function loneStatement(call: PyNode): PyNode | undefined {
  const stmt = call.parent;
  return stmt?.type === 'expression_statement' && loneExpression(stmt) === call ? stmt : undefined;
}

function insertLineAfter(lineEnd: number, indent: string, text: string): RawEdit {
  return { start: lineEnd, end: lineEnd, newText: `\n${indent}${text}` };
}

function initScale(a: Analysis, x: PyNode): string {
  const value = unparen(receiverValue(a, x));
  const arg = value?.type === 'call' ? keywordArg(value, 'init_scale') : undefined;
  return arg && /^[\d._e+-]+$/i.test(arg.text) ? arg.text : '65536';
}

/** Whether an `if` between `step` and `body` tests for inf/NaN itself (`if torch.isfinite(grad_norm):`). */
function checksFinite(step: PyNode, body: PyNode): boolean {
  for (let p = step.parent; p && p !== body; p = p.parent) {
    if ((p.type === 'if_statement' || p.type === 'elif_clause') && /isfinite|isnan|isinf|found_inf|nan|inf/i.test(p.child('condition')?.text ?? '')) return true;
  }
  return false;
}

function checkBody(body: PyNode, ctx: RuleContext, reported: Set<PyNode>): void {
  const a = ctx.analysis;
  const calls = callsWithin(body);
  // The scalers whose scaled loss is back-propagated in this body, once each (by text).
  const scalers = new Map<string, PyNode>();
  for (const c of calls) {
    if (!isBackward(c)) continue;
    const x = scaledBackwardScaler(a, c);
    if (x && !scalers.has(x.text) && isGradScaler(a, x)) scalers.set(x.text, x);
  }
  if (scalers.size === 0) return;
  // What the body does through the scaler, helpers of the file included (`self._amp_step()`).
  const reach = reachableCalls(a, body);
  for (const x of scalers.values()) {
    const name = x.text;
    const scalerSteps = scalerCalls(reach, x, 'step').filter((c) => positionalArgs(c).length >= 1);
    const updated = scalerCalls(reach, x, 'update').length > 0;
    if (scalerSteps.length === 0) {
      const unscales = scalerCalls(reach, x, 'unscale_');
      for (const step of calls) {
        if (reported.has(step) || calleeName(step) !== 'step' || !noArguments(step) || !isOptimizerStep(step, a)) continue;
        const opt = receiver(step);
        if (!opt || opt.text === name) continue;
        // After scaler.unscale_(opt) the gradients have their true size, but the step still needs the scaler's inf/NaN check.
        // Reported only with scaler.update() in the loop (the scaler's protocol is clearly meant) and no finiteness
        // test of its own around the step (`if torch.isfinite(norm): optimizer.step()`).
        const unscaled = unscales.some((u) => u.start < step.start);
        if (unscaled && (!updated || checksFinite(step, body))) continue;
        reported.add(step);
        const stmt = loneStatement(step);
        const lineEnd = stmt ? lineEndIfAlone(ctx, stmt) : undefined;
        const edits: RawEdit[] = [{ start: step.start, end: step.end, newText: `${name}.step(${opt.text})` }];
        if (!updated && stmt && lineEnd !== undefined) edits.push(insertLineAfter(lineEnd, indentOf(stmt), `${name}.update()`));
        ctx.report({
          node: step,
          message: unscaled
            ? `${step.text} after ${name}.unscale_(${opt.text}) applies steps whose gradients overflowed to inf/NaN, which ` +
              `${name}.step(${opt.text}) would skip (one such step makes the weights NaN): use ${name}.step(${opt.text})` +
              `${updated ? '' : ` then ${name}.update()`}.`
            : `the loss is scaled by ${name} (x${initScale(a, x)}) but ${step.text} applies the scaled gradients: ` +
              `use ${name}.step(${opt.text})${updated ? '' : ` then ${name}.update()`}.`,
          fixes:
            stmt && lineEnd !== undefined
              ? [{ title: `Step through the scaler: ${name}.step(${opt.text})${updated ? '' : ` + ${name}.update()`}`, edits }]
              : undefined,
        });
      }
    } else if (!updated) {
      // Only the scaler steps of this very body (not of a helper) are reported, once.
      for (const step of scalerSteps) {
        if (reported.has(step) || !calls.includes(step)) continue;
        reported.add(step);
        const stmt = loneStatement(step);
        const lineEnd = stmt ? lineEndIfAlone(ctx, stmt) : undefined;
        ctx.report({
          severity: 'warning',
          node: step,
          message:
            `${step.text} without ${name}.update() in this loop: the scale never adapts, and after one overflow every later step ` +
            `is skipped. Call ${name}.update() after it.`,
          fixes:
            stmt && lineEnd !== undefined
              ? [{ title: `Add ${name}.update() after ${step.text}`, edits: [insertLineAfter(lineEnd, indentOf(stmt), `${name}.update()`)] }]
              : undefined,
        });
      }
    }
  }
}
