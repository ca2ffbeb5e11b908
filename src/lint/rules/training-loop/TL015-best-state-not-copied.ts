import { calleeName, enclosingFunction, positionalArgs, receiver } from '../../analysis';
import { innermostLoop } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

export const TL015: Rule = {
  meta: {
    id: 'TL015',
    name: 'best-state-not-copied',
    group: 'training-loop',
    defaultSeverity: 'error',
    summary: '`best_state = model.state_dict()` in the training loop keeps references, not a copy: later steps overwrite the "best" weights.',
    why:
      '`state_dict()` returns the model\'s own parameter tensors, not copies. Kept in a variable during training (the ' +
      'usual early-stopping pattern "remember the best epoch"), they go on changing with every optimizer step, so the ' +
      '`load_state_dict(best_state)` after the loop restores the last weights, not the best ones. Nothing fails. Copy ' +
      'the tensors when you keep them: `copy.deepcopy(model.state_dict())` or ' +
      '`{k: v.detach().clone() for k, v in model.state_dict().items()}` (or save them to a file).',
    wrong:
      'best = float("inf")\nfor epoch in range(100):\n    val_loss = train_and_validate(model)\n    if val_loss < best:\n        best = val_loss\n        best_state = model.state_dict()\nmodel.load_state_dict(best_state)',
    right:
      'best = float("inf")\nfor epoch in range(100):\n    val_loss = train_and_validate(model)\n    if val_loss < best:\n        best = val_loss\n        best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}\nmodel.load_state_dict(best_state)',
    concept: 'Tensors are references: copy what you want to keep',
    fixable: true,
  },
  nodeTypes: ['assignment'],
  visit(assignment, ctx) {
    const left = assignment.child('left');
    const right = assignment.child('right');
    if (left?.type !== 'identifier' || right?.type !== 'call' || calleeName(right) !== 'state_dict' || positionalArgs(right).length) return;
    const loop = innermostLoop(assignment);
    if (!loop) return;
    const name = left.text;
    const scope = enclosingFunction(assignment) ?? null;
    // Restored after the loop from the variable: load_state_dict(best_state) in the same scope.
    const restored = ctx.analysis
      .callsNamed('load_state_dict')
      .some((c: PyNode) => c.start >= loop.end && positionalArgs(c)[0]?.text === name && (enclosingFunction(c) ?? null) === scope);
    if (!restored) return;
    const model = receiver(right)?.text ?? 'model';
    ctx.report({
      node: right,
      message: `${name} holds ${model}'s live tensors, which later steps keep changing: load_state_dict(${name}) after the loop restores the last weights, not the best. Copy them.`,
      fixes: [{ title: 'Keep a copy of the tensors', edits: [{ start: right.start, end: right.end, newText: `{k: v.detach().clone() for k, v in ${right.text}.items()}` }] }],
    });
  },
};
