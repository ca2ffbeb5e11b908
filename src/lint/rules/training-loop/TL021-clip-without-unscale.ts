import { callsWithin, calleeName, positionalArgs, receiver } from '../../analysis';
import { lastName, reachableCalls } from '../../analysis/order';
import { indentOf, innermostLoop, isBackward, lineStartIfAlone } from '../../analysis/training';
import type { PyNode } from '../../parser';
import { isGradScaler, scaledBackwardScaler } from './gradScaler';
import type { RawFix, Rule, RuleContext } from '../../types';

/** The clipping functions of `torch.nn.utils`, by the names `callsNamed` files them under. */
const CLIP_NAMES = ['clip_grad_norm_', 'clip_grad_value_', 'clip_grad_norm', 'clip_grad_value'];
const TORCH_CLIP = /^torch\.nn\.utils\.(clip_grad\.)?clip_grad_(norm|value)_?$/;

export const TL021: Rule = {
  meta: {
    id: 'TL021',
    name: 'clip-without-unscale',
    group: 'training-loop',
    defaultSeverity: 'warning',
    summary:
      'Gradients are clipped after scaler.scale(loss).backward() without scaler.unscale_(optimizer) first, so the clip acts on gradients multiplied by the loss scale.',
    why:
      'With mixed precision, `scaler.scale(loss).backward()` leaves every gradient multiplied by the loss scale (65,536 at ' +
      'the start). `clip_grad_norm_` / `clip_grad_value_` called on them compare the scaled values with the threshold, so ' +
      '`max_norm` acts as `max_norm / 65536`: almost every step is clipped, and once `scaler.step()` divides the scale back ' +
      'out the update is tiny. Training runs, only far slower or stalled, with no error. Call `scaler.unscale_(optimizer)` ' +
      'right before clipping; `scaler.step(optimizer)` then knows the gradients are already unscaled.',
    wrong:
      'scaler = torch.amp.GradScaler("cuda")\nfor x, y in train_loader:\n    optimizer.zero_grad()\n    with torch.autocast("cuda"):\n' +
      '        loss = criterion(model(x), y)\n    scaler.scale(loss).backward()\n    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n' +
      '    scaler.step(optimizer)\n    scaler.update()',
    right:
      'scaler = torch.amp.GradScaler("cuda")\nfor x, y in train_loader:\n    optimizer.zero_grad()\n    with torch.autocast("cuda"):\n' +
      '        loss = criterion(model(x), y)\n    scaler.scale(loss).backward()\n    scaler.unscale_(optimizer)\n' +
      '    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n    scaler.step(optimizer)\n    scaler.update()',
    concept: 'Mixed precision: loss scaling and gradient clipping',
    fixable: true,
  },
  check(ctx) {
    const a = ctx.analysis;
    if (a.callsNamed('scale').length === 0 || a.callsNamed('backward').length === 0) return;
    for (const name of CLIP_NAMES) {
      for (const clip of a.callsNamed(name)) {
        if (TORCH_CLIP.test(a.callee(clip) ?? '')) checkClip(clip, ctx);
      }
    }
  },
};

/** The statements that run before / after `stmt` on its path through the enclosing function (or module). */
function pathAround(stmt: PyNode): { before: PyNode[]; after: PyNode[]; region: PyNode } | undefined {
  const before: PyNode[] = [];
  const after: PyNode[] = [];
  let cur = stmt;
  for (;;) {
    const block = cur.parent;
    if (!block || (block.type !== 'block' && block.type !== 'module')) return undefined;
    const siblings = block.namedChildren;
    const i = siblings.indexOf(cur);
    before.push(...siblings.slice(0, i));
    after.push(...siblings.slice(i + 1));
    if (block.type === 'module') return { before, after, region: block };
    // Up to the statement that holds this block (`if` through its `else` clause, `try` through `except`, ...).
    let p = block.parent;
    while (p && p.parent && p.parent.type !== 'block' && p.parent.type !== 'module') {
      if (p.type === 'function_definition' || p.type === 'class_definition' || p.type === 'lambda') break;
      p = p.parent;
    }
    if (!p) return undefined;
    if (p.type === 'function_definition') return { before, after, region: block };
    // A class body, or a `case` of a match (its sibling cases are other branches, not the path): give up.
    if (p.type !== 'if_statement' && p.type !== 'for_statement' && p.type !== 'while_statement' && p.type !== 'with_statement' && p.type !== 'try_statement') return undefined;
    cur = p;
  }
}

/** The statement (a child of a block or the module) that holds `n`, not crossing a function, lambda or class. */
function statementOf(n: PyNode): PyNode | undefined {
  for (let cur: PyNode | null = n; cur; cur = cur.parent) {
    const p = cur.parent;
    if (p?.type === 'block' || p?.type === 'module') return cur;
    if (cur.type === 'lambda' || cur.type === 'function_definition' || cur.type === 'class_definition') return undefined;
  }
  return undefined;
}

function scalerCall(c: PyNode, scaler: string, name: string): boolean {
  if (calleeName(c) !== name) return false;
  const r = receiver(c);
  return r !== undefined && lastName(r) === scaler;
}

function checkClip(clip: PyNode, ctx: RuleContext): void {
  const a = ctx.analysis;
  const stmt = statementOf(clip);
  const path = stmt && pathAround(stmt);
  if (!stmt || !path) return;
  // The first scaled backward on the path before the clip.
  let backward: PyNode | undefined;
  let scaler: PyNode | undefined;
  for (const s of path.before) {
    for (const c of callsWithin(s)) {
      if (!isBackward(c) || (backward && backward.start < c.start)) continue;
      const x = scaledBackwardScaler(a, c);
      if (x && isGradScaler(a, x)) {
        backward = c;
        scaler = x;
      }
    }
  }
  if (!backward || !scaler) return;
  const name = lastName(scaler);
  // Anything between the backward and the clip that unscales (a helper of the file included) or steps: silent.
  const region = callsWithin(path.region);
  for (const c of region) {
    if (c.start <= backward.start || c.start >= clip.start) continue;
    if (/unscale/i.test(calleeName(c) ?? '') || scalerCall(c, name, 'step') || scalerCall(c, name, 'update')) return;
    const fn = c.child('function');
    const helper = fn?.type === 'identifier' || (fn?.type === 'attribute' && fn.child('object')?.text === 'self');
    if (helper && reachableCalls(a, c).some((h) => /unscale/i.test(calleeName(h) ?? ''))) return;
  }
  // The scaler's step that follows on the path.
  const steps = path.after.flatMap((s) => callsWithin(s)).filter((c) => scalerCall(c, name, 'step') && positionalArgs(c).length === 1);
  const step = steps[0];
  if (!step) return;
  const opt = positionalArgs(step)[0]!.text;
  const x = receiver(step)!.text;
  const fn = calleeName(clip)!;
  ctx.report({
    node: clip,
    message:
      `${fn} runs on gradients still multiplied by the loss scale of ${scaler.text} (65536 at the start), so its threshold acts ` +
      `divided by the scale and almost every update is shrunk: call ${x}.unscale_(${opt}) before clipping.`,
    fixes: unscaleFix(clip, stmt, step, steps, region, x, opt),
  });
}

function unscaleFix(clip: PyNode, stmt: PyNode, step: PyNode, steps: PyNode[], region: PyNode[], x: string, opt: string): RawFix[] | undefined {
  // One optimizer, unscaled once per step: not when an unscale_ already follows the clip, nor with the clip in a loop of its own.
  if (steps.some((s) => positionalArgs(s)[0]!.text !== opt)) return undefined;
  if (region.some((c) => c.start > clip.end && c.start < step.start && /unscale/i.test(calleeName(c) ?? ''))) return undefined;
  if (innermostLoop(clip) !== innermostLoop(step)) return undefined;
  const at = lineStartIfAlone(stmt);
  if (at === undefined) return undefined;
  return [{ title: `Insert ${x}.unscale_(${opt}) before clipping`, edits: [{ start: at, end: at, newText: `${indentOf(stmt)}${x}.unscale_(${opt})\n` }] }];
}
