import { loneExpression } from '../../analysis';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

// Methods whose whole point is their side effect: written without parentheses as a statement, nothing happens.
const METHODS = new Set(['zero_grad', 'step', 'backward', 'eval', 'train']);

/** `'optimizer': optimizer.state_dict`, `torch.save(model.state_dict, path)`, `best = model.state_dict`: a bound method stored or saved instead of the weights. */
function uncalledStateDict(value: PyNode | undefined): PyNode | undefined {
  if (value?.type !== 'attribute' || value.child('attribute')?.text !== 'state_dict') return undefined;
  // A model or optimizer (torch.export's ExportedProgram.state_dict, for one, is a property).
  const owner = value.child('object')?.text.split('.').pop() ?? '';
  return /model|net|optim|opt$|sched|encoder|decoder|generator|discriminator|ema|classifier|backbone/i.test(owner) ? value : undefined;
}

/** Where a stored state dict ends up in a checkpoint: `torch.save(x.state_dict, ...)`, a dict next to real `.state_dict()` calls, `best_state = ...`. */
function checkpointContext(node: PyNode, ctxCallee: (n: PyNode) => string | undefined): boolean {
  if (node.type === 'argument_list') return node.parent?.type === 'call' && ctxCallee(node.parent) === 'torch.save';
  if (node.type === 'assignment') return /best|state|ckpt|checkpoint|weights/i.test(node.child('left')?.text ?? '');
  const dict = node.parent;
  return dict?.type === 'dictionary' && (/state_dict\(\)/.test(dict.text) || (dict.parent?.type === 'argument_list' && dict.parent.parent?.type === 'call' && ctxCallee(dict.parent.parent) === 'torch.save'));
}

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
  nodeTypes: ['expression_statement', 'pair', 'argument_list', 'assignment'],
  local: ['imports'],
  visit(node, ctx) {
    if (node.type !== 'expression_statement') {
      if (!checkpointContext(node, (c) => ctx.analysis.callee(c))) return;
      const values = node.type === 'pair' ? [node.child('value')] : node.type === 'assignment' ? [node.child('right')] : node.namedChildren.map((c) => (c.type === 'keyword_argument' ? c.child('value') : c));
      for (const v of values) {
        const sd = uncalledStateDict(v ?? undefined);
        if (!sd) continue;
        ctx.report({
          node: sd,
          message: `\`${sd.text}\` is the method, not the weights: add \`()\` (as written, the bound method is stored, and saving it pickles the whole object).`,
          fixes: [{ title: `Call ${sd.text}()`, edits: [{ start: sd.end, end: sd.end, newText: '()' }] }],
        });
      }
      return;
    }
    const statement = node;
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
