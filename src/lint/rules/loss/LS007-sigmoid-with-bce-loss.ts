import { unparen, type Analysis } from '../../analysis';
import { losses, type LossCall } from '../../analysis/losses';
import type { PyNode } from '../../parser';
import type { RawEdit, RawFix, Rule } from '../../types';

/** Edit renaming the loss at its callee (`F.binary_cross_entropy` / `nn.BCELoss`), when it is written as an attribute. */
function renameLoss(a: Analysis, l: LossCall): RawEdit | undefined {
  const fn = unparen(l.call.child('function'));
  if (!fn) return undefined;
  if (fn.type === 'attribute' && a.qname(fn) === 'torch.nn.functional.binary_cross_entropy') {
    const attr = fn.child('attribute')!;
    return { start: attr.start, end: attr.end, newText: 'binary_cross_entropy_with_logits' };
  }
  let ctor: PyNode | undefined;
  if (fn.type === 'call') ctor = fn;
  else if (fn.type === 'identifier') {
    // A criterion used once in the file: changing its constructor changes only this call.
    const uses = a.identifiersNamed(fn.text);
    const v = a.scopes.valueAt(fn.text, fn);
    if (uses.length !== 2 || v?.type !== 'call' || v.parent?.type !== 'assignment') return undefined;
    ctor = v;
  }
  const cf = ctor?.child('function');
  if (!ctor || cf?.type !== 'attribute' || a.callee(ctor) !== 'torch.nn.BCELoss') return undefined;
  const attr = cf.child('attribute')!;
  return { start: attr.start, end: attr.end, newText: 'BCEWithLogitsLoss' };
}

export const LS007: Rule = {
  meta: {
    id: 'LS007',
    name: 'sigmoid-with-bce-loss',
    group: 'loss',
    defaultSeverity: 'info',
    summary: 'torch.sigmoid followed by BCELoss; BCEWithLogitsLoss on the logits is more stable.',
    why:
      '`BCELoss` takes probabilities and computes `log(p)` and `log(1 - p)`; after a sigmoid those underflow for confident ' +
      'predictions, so PyTorch clamps the logs at -100 and the gradient of saturated examples vanishes. `BCEWithLogitsLoss` ' +
      'fuses the sigmoid into the loss with the log-sum-exp trick: same value, exact gradients, no clamping (and it is the one ' +
      'autocast allows). Descent follows the prediction into the model (`forward`, `nn.Sequential` ending in `nn.Sigmoid`). ' +
      'The quick fix is offered only when the sigmoid wraps the prediction at the call: a model that ends in a sigmoid may ' +
      'feed probabilities to other code, so moving it out of the model is left to you.',
    wrong: 'criterion = nn.BCELoss()\nloss = criterion(torch.sigmoid(model(x)), y)',
    right: 'criterion = nn.BCEWithLogitsLoss()\nloss = criterion(model(x), y)',
    concept: 'Numerical stability: losses computed from logits',
    fixable: true,
  },
  check(ctx) {
    const a = ctx.analysis;
    const l = losses(a);
    for (const c of l.calls) {
      if (c.kind !== 'bce') continue;
      const out = l.flowAt(c.call).of(c.input);
      const site = out.site;
      if (out.kind !== 'sigmoid' || !site) continue;
      let fix: RawFix | undefined;
      const direct = unparen(c.input) === site;
      const rename = direct ? renameLoss(a, c) : undefined;
      if (rename && out.removal?.edits[0]) fix = { title: 'Use BCEWithLogitsLoss on the logits', edits: [rename, { start: site.start, end: site.end, newText: out.removal.edits[0]!.newText }] };
      ctx.report({
        node: c.input,
        message: 'sigmoid + BCELoss is less stable than BCEWithLogitsLoss on the raw logits (same loss, exact gradients).',
        fixes: fix ? [fix] : undefined,
      });
    }
  },
};
