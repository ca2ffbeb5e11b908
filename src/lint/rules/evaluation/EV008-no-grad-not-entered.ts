import { loneExpression } from '../../analysis';
import type { Rule } from '../../types';

// Context managers that only act inside a `with` block (or as decorators): called alone, they do nothing.
const CONTEXTS = new Set(['torch.no_grad', 'torch.inference_mode', 'torch.enable_grad', 'torch.autograd.no_grad', 'torch.autograd.enable_grad']);

export const EV008: Rule = {
  meta: {
    id: 'EV008',
    name: 'no-grad-not-entered',
    group: 'evaluation',
    defaultSeverity: 'error',
    summary: '`torch.no_grad()` on a line of its own does nothing: it only acts in a `with` block or as a decorator.',
    why:
      '`torch.no_grad()` builds a context manager; gradient tracking is switched off only between entering and leaving ' +
      'it, which is what `with` does. Called on its own line, it is built and thrown away, so the evaluation that follows ' +
      'still records the autograd graph: it uses more memory and time, and a `backward()` in it would still reach the ' +
      'weights. Use `with torch.no_grad():` around the evaluation, or `@torch.no_grad()` on the evaluation function.',
    wrong: 'model.eval()\ntorch.no_grad()\nfor x, y in val_loader:\n    out = model(x)',
    right: 'model.eval()\nwith torch.no_grad():\n    for x, y in val_loader:\n        out = model(x)',
    concept: 'Autograd: grad mode and context managers',
    fixable: false,
  },
  nodeTypes: ['expression_statement'],
  local: ['imports'],
  visit(statement, ctx) {
    const expr = loneExpression(statement);
    if (expr?.type !== 'call') return;
    const q = ctx.analysis.callee(expr);
    if (!q || !CONTEXTS.has(q)) return;
    ctx.report({
      node: expr,
      message: `${expr.text} on its own line does nothing: write \`with ${expr.text}:\` around the code it should cover.`,
    });
  },
};
