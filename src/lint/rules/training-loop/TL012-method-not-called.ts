import { loneExpression } from '../../analysis';
import type { Rule } from '../../types';

// Methods whose whole point is their side effect: written without parentheses as a statement, nothing happens.
const METHODS = new Set(['zero_grad', 'step', 'backward', 'eval', 'train']);

export const TL012: Rule = {
  meta: {
    id: 'TL012',
    name: 'method-not-called',
    group: 'training-loop',
    defaultSeverity: 'error',
    summary: '`model.eval`, `optimizer.step`, `loss.backward`... written without `()`: the method is never called.',
    why:
      'In Python `optimizer.zero_grad` on its own line only looks the method up and throws it away; nothing is called and ' +
      'nothing warns. Without `()` the gradients are never reset (they add up across steps), the weights never update ' +
      '(`step`), no gradient is computed (`backward`), or the model stays in training mode during evaluation (`eval`), so ' +
      'dropout keeps dropping and batch norm keeps updating its statistics. The script runs, and the numbers are wrong.',
    wrong: 'model.eval\nwith torch.no_grad():\n    val_loss = criterion(model(x_val), y_val)',
    right: 'model.eval()\nwith torch.no_grad():\n    val_loss = criterion(model(x_val), y_val)',
    concept: 'Python: a method is only run when it is called',
    fixable: true,
  },
  nodeTypes: ['expression_statement'],
  local: [],
  visit(statement, ctx) {
    const expr = loneExpression(statement);
    if (expr?.type !== 'attribute') return;
    const name = expr.child('attribute')?.text;
    if (!name || !METHODS.has(name)) return;
    ctx.report({
      node: expr,
      message: `\`${expr.text}\` is never called: add \`()\` (as written, the line does nothing).`,
      fixes: [{ title: `Call ${expr.text}()`, edits: [{ start: expr.end, end: expr.end, newText: '()' }] }],
    });
  },
};
