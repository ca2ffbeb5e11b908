import { bodyOf, receiver, unparen, type Analysis } from '../../analysis';
import type { PyNode } from '../../parser';
import { unresetStepMethods } from '../../analysis/stepMethods';
import { indentOf, isZeroGrad, lineStartIfAlone, manualUpdateLoops, moduloOperand, optimizerOf, trainingLoops, type LoopUpdate, type ManualUpdateLoop } from '../../analysis/training';
import type { RawFix, Rule } from '../../types';
import { resettingLoopBefore } from './TL017-step-outside-batch-loop';

/**
 * Inserts `<optimizer>.zero_grad()` as the first statement of the loop body, or of the step function's body when the
 * loop only calls one (the optimizer's name there may not exist in the caller). Shared with TL002.
 */
export function insertZeroGradFix(u: LoopUpdate): RawFix | undefined {
  const step = u.steps[0];
  if (!step) return undefined;
  const fn = step.start >= u.loop.start && step.end <= u.loop.end ? undefined : step.ancestor('function_definition');
  const first = fn ? firstAfterDocstring(fn) : bodyOf(u.loop)[0];
  if (!first) return undefined;
  const at = lineStartIfAlone(first);
  if (at === undefined) return undefined;
  const opt = optimizerOf(step);
  const where = fn ? `at the start of ${fn.child('name')?.text ?? 'the step function'}()` : 'at the start of each iteration';
  return { title: `Call ${opt}.zero_grad() ${where}`, edits: [{ start: at, end: at, newText: `${indentOf(first)}${opt}.zero_grad()\n` }] };
}

/** The first statement of a function body, after its docstring. */
function firstAfterDocstring(fn: PyNode): PyNode | undefined {
  const stmts = bodyOf(fn).filter((s) => s.type !== 'comment');
  const doc = stmts[0]?.type === 'expression_statement' && stmts[0].namedChildren[0]?.type === 'string';
  return doc ? stmts[1] : stmts[0];
}

export const TL001: Rule = {
  meta: {
    id: 'TL001',
    name: 'missing-zero-grad',
    group: 'training-loop',
    defaultSeverity: 'error',
    summary: 'optimizer.step() (or a hand-written `w -= lr * w.grad`) runs in a loop where gradients are not reset on every iteration.',
    why:
      'PyTorch **adds** each `backward()` into `.grad`. Unless `optimizer.zero_grad()` (or `model.zero_grad()`) runs once per ' +
      'iteration, every step uses the sum of all previous gradients: updates grow, the loss oscillates or diverges, and nothing ' +
      'raises an error. The check follows every path through one iteration (if/else, continue, try; two `if`s on the same ' +
      'condition, such as `if optimizer is not None:` around the reset and around the step, take the same branch). Hand-written gradient ' +
      'descent (`w -= lr * w.grad` under `torch.no_grad()`) needs `w.grad.zero_()` (or `w.grad = None`) after each update for the same reason. ' +
      'Methods a framework calls once per batch count as one iteration: Lightning\'s `training_step` with manual optimization, and ' +
      'the `train_step` of a Keras 3 model on the torch backend (`loss.backward()` then `self.optimizer.apply(...)` needs `self.zero_grad()`). ' +
      'A method or function doing one whole step of two models (a GAN\'s `def step(self, batch)`: backward and two optimizers\' ' +
      '`step()`) that resets one model\'s gradients but never the other\'s is reported too, unless another method of its class or a ' +
      'caller in the file resets. A loop that steps a different optimizer on each iteration (`opts[i].step()`) after a reset of ' +
      'every optimizer is one pass, not an accumulation.',
    wrong: 'for x, y in loader:\n    loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.step()',
    right: 'for x, y in loader:\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.step()',
    concept: 'Backpropagation: gradients accumulate in .grad',
    fixable: true,
  },
  check(ctx) {
    const reported = new Set<PyNode>();
    for (const u of trainingLoops(ctx.analysis).updates) {
      if (!u.missingReset) continue;
      if (steppedOncePerOptimizer(u) && resetBefore(u, ctx.analysis)) continue;
      if (!u.anyReset && zeroGradBefore(u)) continue; // TL002 says it better
      if (u.anyReset && accumulationWindow(u, ctx.analysis)) continue;
      // The step sits after an inner loop that resets every batch: one step per epoch on the last batch's gradient (TL017).
      if (u.anyReset && u.steps.every((s) => resettingLoopBefore(s, ctx.analysis))) continue;
      const step = u.steps[0]!;
      if (reported.has(step)) continue; // a step function called from two loops
      reported.add(step);
      const fix = insertZeroGradFix(u);
      ctx.report({ node: step, message: message(u), fixes: fix ? [fix] : undefined });
    }
    // Lightning manual optimization: training_step is one iteration.
    for (const u of trainingLoops(ctx.analysis).manualOptimization) {
      if (!u.missingReset || (u.anyReset && accumulationWindow(u, ctx.analysis))) continue;
      const step = u.steps[0]!;
      const opt = optimizerOf(step);
      if (u.hook === 'keras') {
        const how = u.anyReset ? 'does not reset the gradients on every path' : 'never resets the gradients';
        ctx.report({
          node: step,
          message: `train_step (Keras on the torch backend) calls backward() and updates with ${opt} but ${how}: fit() calls it per batch and .grad accumulates across batches. Call self.zero_grad() before the forward pass.`,
        });
        continue;
      }
      const how = u.optimizer !== undefined && !u.ownReset ? 'its zero_grad() calls reset other parameters' : u.anyReset ? 'does not reset them on every path' : 'never resets them';
      ctx.report({
        node: step,
        message: `training_step (manual optimization) steps ${opt} but ${how}: ${opt}'s gradients accumulate across batches. Call ${opt}.zero_grad() before self.manual_backward(...).`,
      });
    }
    // A one-batch step method (a GAN's `def step(self, batch)`) resetting some optimizers' gradients, never another's.
    for (const u of unresetStepMethods(ctx.analysis)) {
      const step = u.steps[0]!;
      if (reported.has(step)) continue;
      reported.add(step);
      const fn = u.fn.child('name')?.text ?? 'this function';
      const resets = [...new Set(u.resets.map((r) => r.text))].join(', ');
      ctx.report({
        node: step,
        message: `${fn}() runs one training step and steps ${u.optimizer}, but it only resets other parameters (${resets}): ${u.optimizer}'s gradients accumulate across calls. Call ${u.optimizer}.zero_grad() before its backward().`,
      });
    }
    // Hand-written gradient descent (`w -= lr * w.grad` under no_grad) that never resets `.grad`.
    for (const m of manualUpdateLoops(ctx.analysis)) {
      const fix = insertGradResetFix(m, ctx.source);
      ctx.report({ node: m.updates[0]!.node, message: manualMessage(m), fixes: fix ? [fix] : undefined });
    }
  },
};

function manualMessage(m: ManualUpdateLoop): string {
  const targets = [...new Set(m.updates.map((u) => u.target))];
  const and = (xs: string[]) => (xs.length === 1 ? xs[0]! : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]!}`);
  const are = targets.length === 1 ? 'is' : 'are';
  return `${and(targets.map((t) => `${t}.grad`))} ${are} never reset in this loop: backward() adds into .grad, so each update applies the sum of all previous gradients. Call ${and(targets.map((t) => `${t}.grad.zero_()`))} after the update.`;
}

/** Inserts `<w>.grad.zero_()` on the line after each update (inside its no_grad block or parameter loop). */
function insertGradResetFix(m: ManualUpdateLoop, src: string): RawFix | undefined {
  const edits: RawFix['edits'] = [];
  const seen = new Set<PyNode>();
  for (const u of m.updates) {
    const stmt = u.node.parent?.type === 'expression_statement' ? u.node.parent : undefined;
    if (!stmt || seen.has(stmt)) return undefined;
    seen.add(stmt);
    if (lineStartIfAlone(stmt) === undefined) return undefined;
    const nl = src.indexOf('\n', stmt.end);
    if (!/^[ \t]*(#.*)?$/.test(nl === -1 ? src.slice(stmt.end) : src.slice(stmt.end, nl))) return undefined;
    const line = `${indentOf(stmt)}${u.target}.grad.zero_()`;
    edits.push(nl === -1 ? { start: src.length, end: src.length, newText: `\n${line}` } : { start: nl + 1, end: nl + 1, newText: `${line}\n` });
  }
  const targets = [...new Set(m.updates.map((u) => `${u.target}.grad`))].join(', ');
  return edits.length > 0 ? { title: `Reset ${targets} after the update`, edits } : undefined;
}

function message(u: LoopUpdate): string {
  const opt = optimizerOf(u.steps[0]!);
  if (u.optimizer !== undefined && !u.ownReset)
    return `${opt}.step() runs each iteration, but the zero_grad() calls in this loop reset other parameters, never ${opt}'s: its gradients accumulate across batches. Call ${opt}.zero_grad() each iteration.`;
  if (u.anyReset)
    return `${opt}.step() can run without ${opt}.zero_grad() in the same iteration (on some path), so gradients accumulate across batches. Reset them on every path.`;
  const fn = u.stepFunctions[0]?.child('name')?.text;
  const where = fn ? `${fn}() is called in a loop and ` : '';
  return `Gradients are never reset in this loop: ${where}${fn ? 'nothing calls' : 'call'} ${opt}.zero_grad() each iteration, ${fn ? 'so' : 'or'} ${opt}.step() applies the sum of all previous gradients.`;
}

/**
 * The `N` a guard tests: `(i + 1) % N == 0` itself, or a flag assigned such a test in the loop (timm's
 * `need_update = last_batch or (batch_idx + 1) % accum_steps == 0; if need_update: optimizer.step()`).
 */
function guardModulo(cond: PyNode | undefined, loop: PyNode, a: Analysis): string | undefined {
  cond = unparen(cond);
  const direct = moduloOperand(cond);
  if (direct !== undefined || cond?.type !== 'identifier') return direct;
  const value = a.scopes.valueAt(cond.text, cond) ?? undefined;
  return value && loop.start <= value.start && value.end <= loop.end ? moduloOperand(value) : undefined;
}

/** The `N` of the nearest enclosing `if` (inside the loop) whose condition tests `... % N`: `if (i + 1) % accum == 0:`. */
function moduloOf(n: PyNode, loop: PyNode, a: Analysis): string | undefined {
  for (let p = n.parent; p && p !== loop && p.type !== 'function_definition'; p = p.parent) if (p.type === 'if_statement') return guardModulo(p.child('condition'), loop, a);
  return undefined;
}

/**
 * Whether an earlier statement of a block around `n` (inside the loop) is `if not <guard>: ... continue` whose guard
 * tests `% N`: what follows it runs on exactly the iterations where the guard holds (timm's `if not need_update: continue`).
 */
function continuesUnless(n: PyNode, loop: PyNode, a: Analysis, modulo: string): boolean {
  for (let s: PyNode | null = n; s && s !== loop && s.type !== 'function_definition'; s = s.parent) {
    const block = s.parent;
    if (block?.type !== 'block') continue;
    for (const prev of block.namedChildren) {
      if (prev.start >= s.start) break;
      if (prev.type !== 'if_statement' || prev.childrenOf('alternative').length > 0) continue;
      const cond = unparen(prev.child('condition'));
      const last = prev.child('consequence')?.namedChildren.filter((c) => c.type !== 'comment').pop();
      if (cond?.type !== 'not_operator' || (last?.type !== 'continue_statement' && last?.type !== 'return_statement')) continue;
      if (guardModulo(cond.child('argument'), loop, a) === modulo) return true;
    }
  }
  return false;
}

/**
 * Gradient accumulation written as windows: `if i % N == 0: optimizer.zero_grad()` at the start of each window and
 * `if (i + 1) % N == 0: optimizer.step()` at its end (also through a flag: `if need_update: optimizer.step()` and
 * `if not need_update: continue` before the reset). Every step and some reset test the same `% N`: the path analysis
 * cannot pair the two conditions, but the gradients are reset once per window, as intended.
 */
function accumulationWindow(u: LoopUpdate, a: Analysis): boolean {
  const moduli = u.steps.map((s) => moduloOf(s, u.loop, a));
  const n = moduli[0];
  if (n === undefined || moduli.some((m) => m !== n)) return false;
  let paired = false;
  for (const body of [u.loop.child('body'), ...u.stepFunctions.map((f) => f.child('body'))]) {
    body?.walk((c) => {
      if (paired || ((c.type === 'function_definition' || c.type === 'class_definition') && c !== body)) return false;
      if (c.type === 'call' && isZeroGrad(c) && (moduloOf(c, u.loop, a) === n || continuesUnless(c, u.loop, a, n))) paired = true;
    });
  }
  return paired;
}

/**
 * A zero_grad call earlier in the same function (or module), outside the loop. Not for a loop stepping a different
 * optimizer each iteration (`for opt in optimizers: ...; opt.step()`): a reset before it covers its one pass.
 */
export function zeroGradBefore(u: LoopUpdate) {
  if (steppedOncePerOptimizer(u)) return undefined;
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

/** The names a `for` binds: `i, (x, adv)` in `for i, (x, adv) in enumerate(...)`. */
function loopTargets(loop: PyNode): Set<string> {
  const out = new Set<string>();
  loop.child('left')?.walk((n) => void (n.type === 'identifier' && out.add(n.text)));
  return out;
}

/**
 * `for i, adv in enumerate(advs): ... opts[i].step()` or `for opt in optimizers: ... opt.step()`: every step of the
 * loop is of the optimizer the iteration picks, so each optimizer steps once per pass over the loop and the
 * iterations do not add into each other's gradients.
 */
function steppedOncePerOptimizer(u: LoopUpdate): boolean {
  if (u.loop.type !== 'for_statement' || u.stepFunctions.length > 0) return false;
  const targets = loopTargets(u.loop);
  return u.steps.every((s) => {
    const r = unparen(receiver(s));
    if (r?.type === 'identifier') return targets.has(r.text);
    if (r?.type !== 'subscript') return false;
    const keys = r.namedChildren.filter((c) => c !== r.child('value') && c.type !== 'comment');
    return keys.length === 1 && keys[0]!.type === 'identifier' && targets.has(keys[0]!.text) && !targets.has(unparen(r.child('value'))?.text ?? '');
  });
}

/**
 * A gradient reset earlier in the same function (and the same iteration of an enclosing loop), outside the loop:
 * `opt.zero_grad()`, or a call of a function or method of the file that resets (`self.get_optimizers(zero_all=True)`
 * zeroing every optimizer).
 */
function resetBefore(u: LoopUpdate, a: Analysis): boolean {
  const resets = trainingLoops(a).resets;
  for (let p = u.loop; p.type !== 'function_definition' && p.type !== 'module'; ) {
    const parent = p.parent;
    // A reset before an enclosing loop runs once for all its iterations: not one per pass.
    if (!parent || (p !== u.loop && (p.type === 'for_statement' || p.type === 'while_statement'))) return false;
    for (const sib of parent.children) {
      if (sib.start >= p.start) break;
      let found = false;
      sib.walk((n) => {
        if (found || n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
        if (n.type === 'call' && resets.isResetCall(n)) found = true;
        return undefined;
      });
      if (found) return true;
    }
    p = parent;
  }
  return false;
}
