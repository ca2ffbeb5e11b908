import type { Rule } from '../../types';

export const API003: Rule = {
  meta: {
    id: 'API003',
    name: 'require-grad-typo',
    group: 'deprecated-api',
    defaultSeverity: 'warning',
    summary: '`x.require_grad = ...` is a typo for `requires_grad`; it sets an unused attribute.',
    why:
      'Tensors and parameters accept new Python attributes, so `p.require_grad = False` raises no error: it creates an ' +
      'attribute nobody reads. The parameter keeps training (or, with `True`, a tensor still gets no gradient), which ' +
      'silently breaks fine-tuning with frozen layers. The attribute is `requires_grad`.',
    wrong: 'for p in model.parameters():\n    p.require_grad = False',
    right: 'for p in model.parameters():\n    p.requires_grad = False',
    concept: 'Autograd: requires_grad decides which tensors get gradients (freezing layers)',
    fixable: true,
  },
  nodeTypes: ['assignment', 'augmented_assignment'],
  local: [],
  visit(node, ctx) {
    const left = node.child('left');
    const targets = left?.type === 'pattern_list' || left?.type === 'tuple_pattern' ? left.namedChildren : left ? [left] : [];
    for (const t of targets) {
      const attr = t.type === 'attribute' ? t.child('attribute') : undefined;
      if (attr?.text !== 'require_grad') continue;
      ctx.report({
        node: attr,
        message: '`require_grad` is a typo: this sets an unused attribute and the tensor\'s gradient flag does not change. Use `requires_grad`.',
        fixes: [{ title: 'Rename to requires_grad', edits: [{ start: attr.start, end: attr.end, newText: 'requires_grad' }] }],
      });
    }
  },
};
