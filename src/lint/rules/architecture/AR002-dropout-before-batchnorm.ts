import { kerasModels } from '../../analysis/keras';
import type { Rule } from '../../types';
import { stepsOfKind } from './shared';

export const AR002: Rule = {
  meta: {
    id: 'AR002',
    name: 'dropout-before-batchnorm',
    group: 'architecture',
    defaultSeverity: 'info',
    summary: 'Dropout feeds straight into BatchNorm, so BatchNorm learns statistics that differ between training and evaluation.',
    why:
      'During training Dropout zeroes activations and rescales the survivors, which changes the variance BatchNorm sees; at ' +
      'evaluation Dropout is off, but BatchNorm keeps normalising with the running variance it collected under dropout. The ' +
      'shift in variance costs accuracy at test time ("variance shift"). Put BatchNorm first and Dropout after the activation ' +
      '(Linear/Conv → BatchNorm → activation → Dropout).',
    wrong: 'head = nn.Sequential(nn.Linear(256, 128), nn.ReLU(), nn.Dropout(0.5), nn.BatchNorm1d(128), nn.Linear(128, 10))',
    right: 'head = nn.Sequential(nn.Linear(256, 128, bias=False), nn.BatchNorm1d(128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))',
    concept: 'Batch normalisation and dropout: train/eval statistics must match',
    fixable: true,
  },
  check(ctx) {
    for (const s of stepsOfKind(ctx.analysis, ['batchnorm'])) {
      const d = s.prev;
      if (s.kind !== 'batchnorm' || d?.kind !== 'dropout') continue;
      // Swapping is local only when both are adjacent elements of the same literal Sequential.
      const sameSeq = d.container && d.container === s.container && d.site.parent === s.site.parent;
      const between = ctx.source.slice(d.site.end, s.site.start);
      const fixes = sameSeq
        ? [{ title: 'Swap Dropout and BatchNorm', edits: [{ start: d.site.start, end: s.site.end, newText: `${s.site.text}${between}${d.site.text}` }] }]
        : undefined;
      ctx.report({
        node: d.site,
        message: 'Dropout right before BatchNorm shifts the variance BatchNorm learns between training and evaluation. Apply BatchNorm first and Dropout after the activation.',
        fixes: sameSeq && /^\s*,\s*$/.test(between) ? fixes : undefined,
      });
    }
    // Keras: Dropout(...) then BatchNormalization() in a Sequential list, add() calls or a functional chain.
    for (const m of kerasModels(ctx.analysis).models) {
      for (let i = 1; i < m.layers.length; i++) {
        const d = m.layers[i - 1]!;
        const bn = m.layers[i]!;
        if (d.cls !== 'Dropout' || bn.cls !== 'BatchNormalization' || !d.call || !bn.call) continue;
        ctx.report({
          node: d.call,
          message: 'Dropout right before BatchNormalization shifts the variance BatchNormalization learns between training and inference. Apply BatchNormalization first and Dropout after the activation.',
          fixes: [{ title: 'Swap Dropout and BatchNormalization', edits: [{ start: d.call.start, end: d.call.end, newText: bn.call.text }, { start: bn.call.start, end: bn.call.end, newText: d.call.text }] }],
        });
      }
    }
  },
};
