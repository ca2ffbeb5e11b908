import { positionalArgs, receiver, type Analysis } from '../../analysis';
import { kerasModels } from '../../analysis/keras';
import { torchLayers, type LayerStep } from '../../analysis/layers';
import { losses, type LossKind } from '../../analysis/losses';
import type { PyNode } from '../../parser';
import type { RawFix, Rule } from '../../types';
import { removeElement, sourceOf, type Source } from './shared';

function finalStep(a: Analysis, src: Source): LayerStep | undefined {
  const t = torchLayers(a);
  if ('seq' in src) {
    const s = t.sequentials.find((x) => x.call === src.seq);
    return s?.steps[s.steps.length - 1];
  }
  const outs = t.forward(src.cls).outputs;
  if (outs.length !== 1) return undefined;
  return outs[0];
}

const RELU = /^torch\.(nn\.(ReLU6?|functional\.relu6?)|relu)$/;

/** A ReLU straight after a Linear/Conv into CrossEntropyLoss is LS006's finding. */
function ls006(kind: LossKind, step: LayerStep): boolean {
  if (kind !== 'cross_entropy' || step.kind !== 'activation') return false;
  const method = step.site.type === 'call' ? step.site.child('function')?.child('attribute')?.text : undefined;
  const relu = RELU.test(step.q ?? '') || (!step.q && method === 'relu');
  return relu && (step.prev?.kind === 'linear' || step.prev?.kind === 'conv');
}

/** Kinds that LS001/LS002 already report for this loss. */
const OWNED_ELSEWHERE: Record<LossKind, string[]> = { cross_entropy: ['softmax'], bce_with_logits: ['sigmoid'], nll: [], bce: [] };

function removal(step: LayerStep): RawFix | undefined {
  if (step.container) {
    const items = (step.site.parent?.namedChildren ?? []).filter((c) => c.type !== 'comment');
    if (items[items.length - 1] !== step.site || items.length < 2) return undefined;
    return { title: 'Remove the layer after the output layer', edits: removeElement(step.site) };
  }
  // `return F.relu(self.fc(x))` / `return self.drop(self.fc(x))`: keep the inner expression.
  if (step.site.parent?.type === 'return_statement') {
    const fn = step.site.child('function');
    const inner = fn?.type === 'attribute' && !positionalArgs(step.site).length ? receiver(step.site) : positionalArgs(step.site)[0];
    if (inner) return { title: 'Return the output layer directly', edits: [{ start: step.site.start, end: step.site.end, newText: inner.text }] };
  }
  return undefined;
}

export const AR003: Rule = {
  meta: {
    id: 'AR003',
    name: 'activation-after-output-layer',
    group: 'architecture',
    defaultSeverity: 'warning',
    summary: 'Dropout or an activation is applied after the output layer of a classifier trained with a logits loss.',
    why:
      '`CrossEntropyLoss` and `BCEWithLogitsLoss` expect raw, unbounded logits from the last Linear layer. A ReLU after it ' +
      'clips every negative logit to 0 (the model can no longer say "not this class" strongly, and dead outputs stop ' +
      'learning); Tanh or a sigmoid squeezes logits into a narrow range so the loss cannot get close to 0; Dropout on the ' +
      'logits randomly zeroes class scores during training. The last Linear layer should be the output.',
    wrong: 'model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10), nn.Dropout(0.2))\ncriterion = nn.CrossEntropyLoss()\nloss = criterion(model(x), y)',
    right: 'model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))\ncriterion = nn.CrossEntropyLoss()\nloss = criterion(model(x), y)',
    concept: 'Output layer: logits must be unconstrained for a logits-based loss',
    fixable: true,
  },
  check(ctx) {
    const a = ctx.analysis;
    const reported = new Set<PyNode>();
    for (const { kind, input } of losses(a).calls) {
      if (kind !== 'cross_entropy' && kind !== 'bce_with_logits') continue;
      const src = sourceOf(a, input);
      const last = src && finalStep(a, src);
      if (!last || reported.has(last.site)) continue;
      const bad = last.kind === 'dropout' || last.kind === 'activation' || last.kind === 'sigmoid' || last.kind === 'softmax';
      if (!bad || OWNED_ELSEWHERE[kind].includes(last.kind) || ls006(kind, last)) continue;
      // The step before (past other activations / dropout) must be the output Linear/Conv layer.
      let p = last.prev;
      for (let i = 0; p && ['dropout', 'activation', 'sigmoid', 'softmax'].includes(p.kind) && i < 8; i++) p = p.prev;
      if (!p || (p.kind !== 'linear' && p.kind !== 'conv')) continue;
      // Any softmax/sigmoid before the end is LS001/LS002's finding, not a new one.
      if (last.prev && OWNED_ELSEWHERE[kind].includes(last.prev.kind)) continue;
      reported.add(last.site);
      const lossName = kind === 'cross_entropy' ? 'CrossEntropyLoss' : 'BCEWithLogitsLoss';
      const what = last.kind === 'dropout' ? 'Dropout' : last.kind === 'softmax' ? 'A softmax' : last.kind === 'sigmoid' ? 'A sigmoid' : 'An activation';
      const fix = removal(last);
      ctx.report({
        node: last.site,
        message: `${what} after the output layer distorts the logits that ${lossName} expects. Remove it and return the last Linear layer's output.`,
        fixes: fix ? [fix] : undefined,
      });
    }
    // Keras: a compiled model whose last layer is Dropout right after the output Dense.
    for (const m of kerasModels(a).models) {
      const L = m.layers;
      const last = L[L.length - 1];
      const prev = L[L.length - 2];
      if (!m.compiles.length || last?.kind !== 'dropout' || prev?.kind !== 'dense' || !last.call) continue;
      const fix = last.via === 'list' && L.length >= 2 ? { title: 'Remove the Dropout after the output layer', edits: removeElement(last.site) } : undefined;
      ctx.report({
        node: last.call,
        message: 'Dropout after the output Dense layer randomly zeroes the predictions during training. Remove it (put Dropout before the last Dense).',
        fixes: fix ? [fix] : undefined,
      });
    }
  },
};
