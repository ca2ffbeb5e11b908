import { losses, where } from '../../analysis/losses';
import type { Rule } from '../../types';

export const LS001: Rule = {
  meta: {
    id: 'LS001',
    name: 'softmax-into-cross-entropy',
    group: 'loss',
    defaultSeverity: 'error',
    summary: 'softmax or log_softmax output is passed to CrossEntropyLoss, which expects raw logits.',
    why:
      '`nn.CrossEntropyLoss` and `F.cross_entropy` apply `log_softmax` themselves. Feeding them probabilities normalises twice: ' +
      'the inputs are squeezed into [0, 1], the loss can never get close to 0, and the gradients shrink, so training stalls at a ' +
      'poor accuracy without any error. (A `log_softmax` before the loss is harmless but redundant.) Also checked where a module ' +
      'and the loss are handed to a library that trains one with the other (skorch `NeuralNetClassifier(Net, criterion=nn.CrossEntropyLoss)`).',
    wrong: 'class Net(nn.Module):\n    def forward(self, x):\n        return F.softmax(self.fc(x), dim=1)\n\ncriterion = nn.CrossEntropyLoss()\nloss = criterion(model(x), y)',
    right: 'class Net(nn.Module):\n    def forward(self, x):\n        return self.fc(x)  # logits\n\ncriterion = nn.CrossEntropyLoss()\nlogits = model(x)\nloss = criterion(logits, y)\nprobs = logits.softmax(dim=1)  # only for predictions',
    concept: 'Loss functions: cross-entropy is computed from logits (log-softmax + negative log-likelihood)',
    fixable: true,
  },
  check(ctx) {
    const l = losses(ctx.analysis);
    for (const { call, kind, input } of l.calls) {
      if (kind !== 'cross_entropy') continue;
      const out = l.flowAt(call).of(input);
      if (out.kind !== 'softmax' && out.kind !== 'log_softmax') continue;
      const at = where(out.site, input);
      const message =
        out.kind === 'softmax'
          ? `CrossEntropyLoss receives softmax probabilities${at}; it applies log_softmax itself, so training stalls. Pass the raw logits.`
          : `CrossEntropyLoss receives log_softmax output${at}; it applies log_softmax itself (harmless: the loss is the same, but the layer is redundant). Pass the raw logits, or use NLLLoss.`;
      // log_softmax is idempotent, so CE on log-probabilities equals CE on the logits: a redundancy, not a bug.
      ctx.report({ node: input, message, fixes: out.removal ? [out.removal] : undefined, severity: out.kind === 'log_softmax' ? 'info' : undefined });
    }
    // `NeuralNetClassifier(Net, criterion=nn.CrossEntropyLoss)`: the library applies the loss to the module's output.
    for (const { kind, loss, module } of l.handedOver) {
      if (kind !== 'cross_entropy') continue;
      const out = l.flow.handedModule(module);
      if (out.kind !== 'softmax' && out.kind !== 'log_softmax') continue;
      const at = where(out.site, loss);
      const message =
        out.kind === 'softmax'
          ? `CrossEntropyLoss is applied to \`${module.text}\`'s output, softmax probabilities${at}; it applies log_softmax itself, so training stalls. Return the raw logits from the module.`
          : `CrossEntropyLoss is applied to \`${module.text}\`'s output, log_softmax${at}; it applies log_softmax itself (harmless but redundant). Return the raw logits, or use NLLLoss.`;
      ctx.report({ node: loss, message, severity: out.kind === 'log_softmax' ? 'info' : undefined });
    }
  },
};
