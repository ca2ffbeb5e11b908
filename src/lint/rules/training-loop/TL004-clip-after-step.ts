import { callsWithin, calleeName } from '../../analysis';
import { deleteStatementLines } from '../../analysis/order';
import { indentOf, isBackward, isOptimizerStep, lineStartIfAlone } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { RawFix, Rule, RuleContext } from '../../types';

const CLIP = /^clip_grad_(norm|value)_?$/;

function isClip(call: PyNode, ctx: RuleContext): boolean {
  const q = ctx.analysis.callee(call) ?? '';
  if (/^torch\.nn\.utils\.(clip_grad\.)?clip_grad_(norm|value)_?$/.test(q)) return true;
  // `model.clip_grad_norm_(...)` (FSDP) or an imported helper; `accelerator.clip_grad_norm_` too.
  return q === '' && CLIP.test(calleeName(call) ?? '');
}

export const TL004: Rule = {
  meta: {
    id: 'TL004',
    name: 'clip-grad-after-step',
    group: 'training-loop',
    defaultSeverity: 'warning',
    summary: 'Gradient clipping runs after optimizer.step(), so the update already used the unclipped gradients.',
    why:
      '`clip_grad_norm_` and `clip_grad_value_` rescale the `.grad` tensors in place. The optimizer reads `.grad` inside ' +
      '`step()`, so clipping only helps between `loss.backward()` and `optimizer.step()`. Called after the step it changes ' +
      'gradients that are about to be zeroed: exploding gradients go through untouched and the training silently behaves as ' +
      'if there were no clipping at all. Descent reports a clip that follows a step in the same block with no backward pass ' +
      'in between.',
    wrong: 'for x, y in loader:\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.step()\n    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)',
    right: 'for x, y in loader:\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n    loss.backward()\n    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n    optimizer.step()',
    concept: 'Optimisation: gradient clipping must act on the gradients the step uses',
    fixable: true,
  },
  check(ctx) {
    const blocks = new Set<PyNode>();
    for (const c of ctx.nodesOfType('call')) {
      if (!isClip(c, ctx)) continue;
      const stmt = c.ancestor('expression_statement');
      if (stmt?.parent?.type === 'block' || stmt?.parent?.type === 'module') blocks.add(stmt.parent);
      // `if args.clip: clip(...)`: the block holding the if
      const guard = stmt?.parent?.parent;
      if (guard?.type === 'if_statement' && guard.parent) blocks.add(guard.parent);
    }
    for (const b of blocks) checkBlock(b, ctx);
  },
};

function checkBlock(block: PyNode, ctx: RuleContext): void {
  const a = ctx.analysis;
  let step: PyNode | undefined; // statement holding the last optimizer step (with no backward after it yet)
  let clipBeforeStep = false;
  let clipSeen = false;
  for (const s of block.namedChildren) {
    if (s.type === 'comment') continue;
    const calls = callsWithin(s);
    // `clip(...)` or `if args.clip: clip(...)` (an if that holds no backward / step of its own)
    const clip =
      s.type === 'expression_statement' || (s.type === 'if_statement' && !calls.some((c) => isBackward(c) || isOptimizerStep(c, a)))
        ? calls.find((c) => isClip(c, ctx))
        : undefined;
    if (calls.some(isBackward)) {
      step = undefined;
      clipSeen = false;
    }
    if (clip && step && !clipBeforeStep) {
      ctx.report({
        node: clip,
        message: `${calleeName(clip)} runs after ${step.text.trim().split('\n')[0]}: the update already used the unclipped gradients. Clip between backward() and step().`,
        fixes: moveBefore(s, step),
      });
      step = undefined;
      continue;
    }
    if (clip) clipSeen = true;
    if (s.type === 'expression_statement' && calls.some((c) => isOptimizerStep(c, a))) {
      step = s;
      clipBeforeStep = clipSeen;
    }
  }
}

function moveBefore(clipStmt: PyNode, stepStmt: PyNode): RawFix[] | undefined {
  if (clipStmt.type !== 'expression_statement') return undefined;
  // AMP: clipping before scaler.step needs scaler.unscale_ first; not a one-line move.
  if (/scaler/i.test(stepStmt.text)) return undefined;
  const del = deleteStatementLines(clipStmt);
  const at = lineStartIfAlone(stepStmt);
  if (!del || at === undefined) return undefined;
  return [
    {
      title: 'Move the clipping between backward() and step()',
      edits: [
        { start: at, end: at, newText: `${indentOf(stepStmt)}${clipStmt.text}\n` },
        del,
      ],
    },
  ];
}
