import { enclosingFunction } from '../../analysis';
import { optimizerBuilds } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

/** `torch.nn.Linear(...)` and other layer classes of torch.nn (not functions, not torch.nn.functional). */
function isLayer(q: string | undefined): boolean {
  return !!q && q.startsWith('torch.nn.') && !q.startsWith('torch.nn.functional.') && /\.[A-Z]\w*$/.test(q);
}

export const TL014: Rule = {
  meta: {
    id: 'TL014',
    name: 'layer-replaced-after-optimizer',
    group: 'training-loop',
    defaultSeverity: 'error',
    summary: 'A layer of the model is replaced after the optimizer was built from its parameters: the new layer is never trained.',
    why:
      '`optim.SGD(model.parameters(), ...)` takes the parameter tensors that exist at that moment. Replacing a layer ' +
      'afterwards (`model.fc = nn.Linear(512, 10)`, the usual transfer-learning step) creates new tensors the optimizer ' +
      'has never seen: they get gradients but are never updated, so the new head keeps its random weights while the ' +
      'rest trains. Build the optimizer after the last change to the model (or add the new parameters with ' +
      '`optimizer.add_param_group`).',
    wrong: 'model = Net()\noptimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)\nmodel.fc = nn.Linear(512, 10)',
    right: 'model = Net()\nmodel.fc = nn.Linear(512, 10)\noptimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)',
    concept: 'Optimizers hold references to parameter tensors',
    fixable: false,
  },
  nodeTypes: ['assignment'],
  visit(assignment, ctx) {
    const left = assignment.child('left');
    if (left?.type !== 'attribute' && left?.type !== 'subscript') return;
    const right = assignment.child('right');
    if (right?.type !== 'call' || !isLayer(ctx.analysis.callee(right))) return;
    const scope = enclosingFunction(assignment) ?? null;
    const sameScope = (n: PyNode) => (enclosingFunction(n) ?? null) === scope;
    const target = left.text;
    // The optimizers of this scope built from a model whose layer this assignment replaces.
    const built = optimizerBuilds(ctx.analysis)
      .filter((b) => b.scope === scope && (target.startsWith(b.model + '.') || target.startsWith(b.model + '[')))
      .map((b) => b.call);
    const before = built.filter((c) => c.end <= assignment.start);
    if (before.length === 0 || built.some((c) => c.start > assignment.end)) return; // none yet, or rebuilt afterwards
    if (ctx.analysis.callsNamed('add_param_group').some((c) => c.start > assignment.end && sameScope(c))) return;
    const optimizer = before[before.length - 1]!;
    ctx.report({
      node: left,
      message: `${target} is replaced after the optimizer was built (line ${ctx.lines.position(optimizer.start).line + 1}): the new layer's weights are not in the optimizer and never train. Build the optimizer after changing the model.`,
    });
  },
};
