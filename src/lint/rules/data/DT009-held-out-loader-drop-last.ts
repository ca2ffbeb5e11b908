import { keywordArg } from '../../analysis';
import { HELD_OUT_DATA } from '../../analysis/order';
import { isDataLoaderQname, loaderNamed } from '../../analysis/runtime';
import type { Rule } from '../../types';

export const DT009: Rule = {
  meta: {
    id: 'DT009',
    name: 'held-out-loader-drop-last',
    group: 'data',
    defaultSeverity: 'warning',
    summary: 'A validation or test DataLoader with `drop_last=True` leaves the last samples out of every evaluation.',
    why:
      '`drop_last=True` discards the final incomplete batch. That is sometimes wanted in training (batch norm on a ' +
      'batch of one), but in a validation or test loader it means some samples are never evaluated: the reported ' +
      'metrics are computed on part of the set, and which samples are missing depends on the batch size. Keep ' +
      '`drop_last=False` (the default) for evaluation.',
    wrong: 'from torch.utils.data import DataLoader\ntest_loader = DataLoader(test_ds, batch_size=256, drop_last=True)',
    right: 'from torch.utils.data import DataLoader\ntest_loader = DataLoader(test_ds, batch_size=256)',
    concept: 'Evaluation: every held-out sample counts once',
    fixable: true,
  },
  nodeTypes: ['call'],
  local: ['imports'],
  visit(call, ctx) {
    if (!isDataLoaderQname(ctx.analysis.callee(call))) return;
    const drop = keywordArg(call, 'drop_last');
    if (drop?.text !== 'True') return;
    const held = loaderNamed(call, HELD_OUT_DATA);
    if (!held) return;
    ctx.report({
      node: drop.parent ?? drop,
      message: `${held} is evaluation data: drop_last=True leaves its last samples out of every evaluation. Use drop_last=False.`,
      fixes: [{ title: 'Use drop_last=False', edits: [{ start: drop.start, end: drop.end, newText: 'False' }] }],
    });
  },
};
