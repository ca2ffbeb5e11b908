import { calleeName, keywordArg, unparen, type Analysis } from '../../analysis';
import { isBackpropagated } from '../../analysis/order';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

const STRING = /^['"](sum)['"]$/;

/** The `reduction='sum'` value of a loss call (functional keyword or the criterion's constructor). */
function sumReduction(a: Analysis, call: PyNode): PyNode | undefined {
  const q = a.callee(call) ?? '';
  if (q.startsWith('torch.nn.functional.')) {
    const r = keywordArg(call, 'reduction');
    return r && STRING.test(r.text) ? r : undefined;
  }
  let fn = unparen(call.child('function'));
  if (fn?.type === 'identifier') fn = unparen(a.scopes.valueAt(fn.text, fn) ?? undefined);
  if (fn?.type !== 'call' || !/^torch\.nn\.\w+Loss$/.test(a.callee(fn) ?? '')) return undefined;
  const r = keywordArg(fn, 'reduction');
  return r && STRING.test(r.text) ? r : undefined;
}

/** The learning rates of the optimizers of the file: SGD only, literal lr >= 1e-3. */
function sgdMeanLr(a: Analysis): PyNode | undefined {
  const opts = a.index.of('call').filter((c) => {
    const q = a.callee(c) ?? '';
    return q.startsWith('torch.optim.') && !q.startsWith('torch.optim.lr_scheduler.') && /^[A-Z]/.test(calleeName(c) ?? '');
  });
  if (opts.length !== 1 || a.callee(opts[0]!) !== 'torch.optim.SGD') return undefined;
  const lr = keywordArg(opts[0]!, 'lr');
  if (!lr || !/^\d*\.?\d+(e-?\d+)?$/i.test(lr.text)) return undefined;
  const v = Number(lr.text);
  return v >= 1e-3 && v <= 1 ? lr : undefined;
}

export const LS008: Rule = {
  meta: {
    id: 'LS008',
    name: 'sum-reduction-with-mean-lr',
    group: 'loss',
    defaultSeverity: 'info',
    summary: "The training loss uses reduction='sum' with a plain SGD learning rate tuned for the mean.",
    why:
      "With `reduction='sum'` the loss, and so the gradient, is the batch size times larger than with the default mean. For " +
      'SGD the step is `lr * grad`, so a learning rate such as 0.01 or 0.1, typical for mean-reduced losses, acts like ' +
      '`lr * batch_size`: training diverges or oscillates, and changing the batch size silently changes the effective ' +
      'learning rate. Adaptive optimizers (Adam, RMSprop, ...) are nearly invariant to this scale, so Descent stays quiet ' +
      'for them; it reports only a back-propagated sum loss (not divided by the batch size) when the file\'s one optimizer ' +
      'is SGD with a literal lr of 1e-3 or more.',
    wrong: "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\ncriterion = nn.MSELoss(reduction='sum')\nloss = criterion(model(x), y)\nloss.backward()",
    right: "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\ncriterion = nn.MSELoss()\nloss = criterion(model(x), y)\nloss.backward()",
    concept: 'Optimisation: the learning rate and the scale of the loss',
    fixable: true,
  },
  nodeTypes: ['call'],
  // Loss calls with reduction='sum' (their own keyword or their criterion's); backward and the optimizer read the file.
  candidate: { reads: ['imports', 'scopes'], test: (call, ctx) => sumReduction(ctx.analysis, call) !== undefined },
  visit(call, ctx) {
    const a = ctx.analysis;
    const r = sumReduction(a, call);
    if (!r || !isBackpropagated(a, call)) return;
    const lr = sgdMeanLr(a);
    if (!lr) return;
    const q = r.text[0];
    ctx.report({
      node: r,
      message: `reduction='sum' scales the gradient by the batch size, so SGD's lr=${lr.text} acts batch-size times larger. Use the mean (or divide the lr by the batch size).`,
      fixes: [{ title: "Use reduction='mean'", edits: [{ start: r.start, end: r.end, newText: `${q}mean${q}` }] }],
    });
  },
};
