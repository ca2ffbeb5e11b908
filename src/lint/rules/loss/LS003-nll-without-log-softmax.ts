import { losses, where } from '../../analysis/losses';
import type { PyNode } from '../../parser';
import type { RawFix, Rule } from '../../types';

/** `F.softmax(...)` -> `F.log_softmax(...)`, `x.softmax(1)` -> `x.log_softmax(1)`, `nn.Softmax(1)` -> `nn.LogSoftmax(1)`. */
function toLogSoftmax(site: PyNode | undefined): RawFix | undefined {
  const fn = site?.type === 'call' ? site.child('function') : undefined;
  // `self.softmax(x)` calls a layer stored under that name: the module has no `log_softmax` attribute to call.
  if (fn?.type === 'attribute' && fn.child('object')?.text === 'self') return undefined;
  const name = fn?.type === 'attribute' ? fn.child('attribute') : fn;
  if (!name || name.type !== 'identifier') return undefined;
  if (name.text === 'softmax') return { title: 'Use log_softmax', edits: [{ start: name.start, end: name.end, newText: 'log_softmax' }] };
  if (name.text === 'Softmax') return { title: 'Use LogSoftmax', edits: [{ start: name.start, end: name.end, newText: 'LogSoftmax' }] };
  return undefined;
}

export const LS003: Rule = {
  meta: {
    id: 'LS003',
    name: 'nll-without-log-softmax',
    group: 'loss',
    defaultSeverity: 'error',
    summary: 'NLLLoss receives probabilities or raw logits instead of log-probabilities.',
    why:
      '`nn.NLLLoss` / `F.nll_loss` only pick `-input[target]`: they expect **log**-probabilities from `log_softmax`. With softmax ' +
      'probabilities the loss is negative and barely changes; with raw logits it is unbounded below, so the model learns to ' +
      'inflate one logit instead of classifying. Use `log_softmax` before it, or `CrossEntropyLoss` on the logits.',
    wrong: 'out = F.softmax(model(x), dim=1)\nloss = F.nll_loss(out, y)',
    right: 'out = F.log_softmax(model(x), dim=1)\nloss = F.nll_loss(out, y)\n# or: loss = F.cross_entropy(model(x), y)',
    concept: 'Loss functions: negative log-likelihood needs log-probabilities',
    fixable: true,
  },
  check(ctx) {
    const l = losses(ctx.analysis);
    for (const { call, kind, input } of l.calls) {
      if (kind !== 'nll') continue;
      const out = l.flowAt(call).of(input);
      const at = where(out.site, input);
      if (out.kind === 'softmax') {
        const fix = toLogSoftmax(out.site);
        ctx.report({ node: input, message: `NLLLoss receives softmax probabilities${at}; it needs log-probabilities. Use log_softmax.`, fixes: fix ? [fix] : undefined });
      } else if (out.kind === 'sigmoid') {
        ctx.report({ node: input, message: `NLLLoss receives sigmoid output${at}; it needs log-probabilities. Use log_softmax (or CrossEntropyLoss on the logits).` });
      } else if (out.kind === 'logits') {
        ctx.report({ node: input, message: `NLLLoss receives raw logits${at}; it needs log-probabilities. Apply log_softmax first, or use CrossEntropyLoss.` });
      }
    }
  },
};
