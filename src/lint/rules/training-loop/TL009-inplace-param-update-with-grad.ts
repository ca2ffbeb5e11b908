import { calleeName } from '../../analysis';
import { evaluation } from '../../analysis/evaluation';
import { operatorOf } from '../../analysis/order';
import { indentOf, lineStartIfAlone } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { RawFix, Rule, RuleContext } from '../../types';

function usesGradOf(right: PyNode, target: string): boolean {
  let hit = false;
  right.walk((n) => {
    if (hit) return false;
    if (n.type === 'attribute' && n.child('attribute')?.text === 'grad' && n.child('object')?.text === target) hit = true;
  });
  return hit;
}

function wrapFix(stmt: PyNode, ctx: RuleContext): RawFix | undefined {
  const at = lineStartIfAlone(stmt);
  if (at === undefined || stmt.text.includes('\n')) return undefined;
  const src = ctx.source;
  const nl = src.indexOf('\n', stmt.end);
  if ((nl === -1 ? src.slice(stmt.end) : src.slice(stmt.end, nl)).trim() !== '') return undefined;
  const torch = ctx.analysis.imports.localName('torch') ?? 'torch';
  const indent = indentOf(stmt);
  const unit = indent.includes('\t') ? '\t' : '    ';
  return { title: `Wrap the update in \`with ${torch}.no_grad():\``, edits: [{ start: at, end: stmt.end, newText: `${indent}with ${torch}.no_grad():\n${indent}${unit}${stmt.text}` }] };
}

/**
 * `w -= lr * w.grad` / `w += ...` / `w.sub_(lr * w.grad)` / `w.add_(w.grad, alpha=-lr)` on a name or attribute (not
 * `.data`), outside a method named `step`: the updated tensor, else undefined. Syntax only.
 */
function gradUpdate(aug: PyNode): PyNode | undefined {
  let left: PyNode | undefined;
  let right: PyNode | undefined;
  if (aug.type === 'call') {
    const name = calleeName(aug);
    if (name !== 'sub_' && name !== 'add_') return undefined; // memoised: most calls stop here
    const f = aug.child('function');
    if (f?.type !== 'attribute' || !['sub_', 'add_'].includes(f.child('attribute')?.text ?? '')) return undefined;
    left = f.child('object');
    right = aug.child('arguments');
    if (aug.parent?.type !== 'expression_statement') return undefined;
  } else {
    const op = operatorOf(aug);
    if (op !== '-=' && op !== '+=') return undefined;
    left = aug.child('left');
    right = aug.child('right');
  }
  if (!left || !right || (left.type !== 'identifier' && left.type !== 'attribute')) return undefined;
  // `w.data -= ...` bypasses autograd on purpose.
  if (left.type === 'attribute' && left.child('attribute')?.text === 'data') return undefined;
  if (!usesGradOf(right, left.text)) return undefined;
  // A custom optimizer's step() is normally decorated or called under no_grad; without seeing it, stay silent in methods named step.
  if (aug.ancestor('function_definition')?.child('name')?.text === 'step') return undefined;
  return left;
}

export const TL009: Rule = {
  meta: {
    id: 'TL009',
    name: 'inplace-param-update-with-grad',
    group: 'training-loop',
    defaultSeverity: 'error',
    summary: 'A weight that requires grad is updated in place (`w -= lr * w.grad`) with autograd on.',
    why:
      'A hand-written gradient step such as `w -= lr * w.grad` modifies a leaf tensor that requires grad. With autograd ' +
      'recording, PyTorch refuses: "a leaf Variable that requires grad is being used in an in-place operation". (Writing ' +
      '`w = w - lr * w.grad` instead runs, but turns `w` into a non-leaf whose `.grad` is never filled again.) Do the update ' +
      'under `torch.no_grad()`, then zero `w.grad`, or let a `torch.optim` optimizer do it.',
    wrong: 'w = torch.randn(3, requires_grad=True)\nfor x, y in data:\n    loss = ((x @ w - y) ** 2).mean()\n    loss.backward()\n    w -= 0.1 * w.grad\n    w.grad.zero_()',
    right: 'w = torch.randn(3, requires_grad=True)\nfor x, y in data:\n    loss = ((x @ w - y) ** 2).mean()\n    loss.backward()\n    with torch.no_grad():\n        w -= 0.1 * w.grad\n    w.grad.zero_()',
    concept: 'Autograd: leaf tensors, requires_grad and manual gradient descent',
    fixable: true,
  },
  nodeTypes: ['augmented_assignment', 'call'],
  // In-place updates of a tensor by its own .grad; whether autograd is off there reads the file's no_grad regions and callers.
  candidate: { reads: [], test: (aug) => gradUpdate(aug) !== undefined },
  visit(aug, ctx) {
    const left = gradUpdate(aug);
    if (!left) return;
    const ev = evaluation(ctx.analysis);
    if (ev.isNoGrad(aug)) return;
    const fn = aug.ancestor('function_definition');
    if (fn && ev.allCallersNoGrad(fn)) return;
    const stmt = aug.parent?.type === 'expression_statement' ? aug.parent : undefined;
    const fix = stmt ? wrapFix(stmt, ctx) : undefined;
    ctx.report({
      node: aug,
      message: `In-place update of ${left.text}, which requires grad, with autograd on: PyTorch raises on a leaf tensor. Do the update under torch.no_grad() (or use an optimizer).`,
      fixes: fix ? [fix] : undefined,
    });
  },
};
