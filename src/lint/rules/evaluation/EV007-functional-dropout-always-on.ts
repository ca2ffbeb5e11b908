import { enclosingFunction, hasKeywordSplat, keywordArg, positionalArgs } from '../../analysis';
import type { Rule } from '../../types';

// torch.nn.functional's dropouts default to training=True (unlike nn.Dropout, which follows model.train()/eval()).
const DROPOUTS = new Set(['dropout', 'dropout1d', 'dropout2d', 'dropout3d', 'alpha_dropout', 'feature_alpha_dropout'].map((n) => `torch.nn.functional.${n}`));

export const EV007: Rule = {
  meta: {
    id: 'EV007',
    name: 'functional-dropout-always-on',
    group: 'evaluation',
    defaultSeverity: 'warning',
    summary: '`F.dropout` in a model method without `training=self.training` drops units in eval mode too.',
    why:
      '`nn.Dropout` follows `model.train()` and `model.eval()`, but the function `F.dropout(x, p)` does not: its `training` ' +
      'argument defaults to True. Called in `forward` without it, dropout stays on when the model is evaluated, so ' +
      'validation accuracy is lower and noisier than the model really is, and predictions change from one call to the ' +
      'next. Pass `training=self.training`, or use an `nn.Dropout` layer.',
    wrong: 'class Net(nn.Module):\n    def forward(self, x):\n        x = F.relu(self.fc1(x))\n        x = F.dropout(x, p=0.5)\n        return self.fc2(x)',
    right: 'class Net(nn.Module):\n    def forward(self, x):\n        x = F.relu(self.fc1(x))\n        x = F.dropout(x, p=0.5, training=self.training)\n        return self.fc2(x)',
    concept: 'Dropout: on in training, off in evaluation',
    fixable: true,
  },
  nodeTypes: ['call'],
  local: ['imports'],
  visit(call, ctx) {
    const q = ctx.analysis.callee(call);
    if (!q || !DROPOUTS.has(q)) return;
    if (keywordArg(call, 'training') || hasKeywordSplat(call)) return;
    const pos = positionalArgs(call);
    if (pos.length >= 3 || pos.some((p) => p.type === 'list_splat')) return; // training given by position
    // Only in a method (a function defined in a class body) whose first parameter is `self`: a model's forward.
    const fn = enclosingFunction(call);
    const holder = fn?.parent?.type === 'decorated_definition' ? fn.parent.parent : fn?.parent;
    if (!fn || holder?.type !== 'block' || holder.parent?.type !== 'class_definition') return;
    if (fn.child('parameters')?.namedChildren[0]?.text !== 'self') return;
    const args = call.child('arguments')!;
    const close = args.end - 1;
    const last = args.namedChildren[args.namedChildren.length - 1];
    const trailingComma = last ? /^\s*,/.test(ctx.source.slice(last.end, close)) : false;
    // After the last argument, or before the `)` when the arguments end with a comma.
    const edit = trailingComma ? { start: close, end: close, newText: ' training=self.training' } : { start: last!.end, end: last!.end, newText: ', training=self.training' };
    ctx.report({
      node: call,
      message: `${call.child('function')?.text ?? 'F.dropout'}() without training= keeps dropping units in eval mode: pass training=self.training.`,
      fixes: last ? [{ title: 'Pass training=self.training', edits: [edit] }] : undefined,
    });
  },
};
