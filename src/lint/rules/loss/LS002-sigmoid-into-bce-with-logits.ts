import { losses, where } from '../../analysis/losses';
import type { Rule } from '../../types';

export const LS002: Rule = {
  meta: {
    id: 'LS002',
    name: 'sigmoid-into-bce-with-logits',
    group: 'loss',
    defaultSeverity: 'error',
    summary: 'sigmoid output is passed to BCEWithLogitsLoss, which applies the sigmoid itself.',
    why:
      '`nn.BCEWithLogitsLoss` and `F.binary_cross_entropy_with_logits` take logits and apply a sigmoid inside (in a numerically ' +
      'stable way). A sigmoid before them squashes twice: every prediction lands above 0.5, the loss cannot reach 0 and the ' +
      'gradients vanish, so the model learns slowly or not at all. Use a sigmoid only for predictions and metrics. Also checked ' +
      'where a module and the loss are handed to a library together (skorch `NeuralNetBinaryClassifier`, whose default loss is this one).',
    wrong: 'out = torch.sigmoid(model(x))\nloss = nn.BCEWithLogitsLoss()(out, y)',
    right: 'logits = model(x)\nloss = nn.BCEWithLogitsLoss()(logits, y)\npreds = torch.sigmoid(logits) > 0.5  # metrics only',
    concept: 'Loss functions: binary cross-entropy with logits (sigmoid inside the loss)',
    fixable: true,
  },
  check(ctx) {
    const l = losses(ctx.analysis);
    for (const { call, kind, input } of l.calls) {
      if (kind !== 'bce_with_logits') continue;
      const out = l.flowAt(call).of(input);
      if (out.kind !== 'sigmoid') continue;
      ctx.report({
        node: input,
        message: `BCEWithLogitsLoss receives sigmoid output${where(out.site, input)}; it applies the sigmoid itself. Pass the raw logits.`,
        fixes: out.removal ? [out.removal] : undefined,
      });
    }
    // `NeuralNetBinaryClassifier(Net)`, `Trainer(model, criterion=nn.BCEWithLogitsLoss())`: the library applies the loss to the module's output.
    for (const { kind, loss, module } of l.handedOver) {
      if (kind !== 'bce_with_logits') continue;
      const out = l.flow.handedModule(module);
      if (out.kind !== 'sigmoid') continue;
      ctx.report({
        node: loss,
        message: `BCEWithLogitsLoss is applied to \`${module.text}\`'s output, which is sigmoid output${where(out.site, loss)}; it applies the sigmoid itself. Return the raw logits from the module.`,
      });
    }
  },
};
