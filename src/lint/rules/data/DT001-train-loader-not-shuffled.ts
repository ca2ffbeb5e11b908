import { hasKeywordSplat, keywordArg, positionalArgs, type Analysis } from '../../analysis';
import { isIterableDataset } from '../../analysis/datasets';
import { TRAIN, assignedName, isTrainDataset } from '../../analysis/runtime';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

/** A training DataLoader without shuffle, sampler or batch_sampler: read from the call and its assignment alone. Its dataset. */
function unshuffledTrainLoader(call: PyNode, a: Analysis): PyNode | undefined | false {
  if (a.callee(call) !== 'torch.utils.data.DataLoader') return false;
  if (keywordArg(call, 'shuffle') || keywordArg(call, 'sampler') || keywordArg(call, 'batch_sampler') || hasKeywordSplat(call)) return false;
  const args = positionalArgs(call);
  if (args.length > 2) return false; // shuffle or sampler passed positionally
  const ds = args[0] ?? keywordArg(call, 'dataset');
  const name = assignedName(call);
  const isTrain = (name !== undefined && TRAIN.test(name)) || isTrainDataset(ds);
  if (!isTrain || /iter|stream/i.test(ds?.text ?? '')) return false;
  return ds;
}

export const DT001: Rule = {
  meta: {
    id: 'DT001',
    name: 'train-loader-not-shuffled',
    group: 'data',
    defaultSeverity: 'warning',
    summary: 'The training DataLoader does not shuffle (no shuffle=True, no sampler).',
    why:
      '`DataLoader` defaults to `shuffle=False`: every epoch sees the samples in the same order, often sorted by class or by ' +
      'source. Batches are then correlated, gradients are biased toward whatever came last, and the model converges slower ' +
      'or to a worse solution. Training data should be reshuffled every epoch. (An explicit `shuffle=False` is taken as a ' +
      'deliberate choice, e.g. for time series, and is not reported.)',
    wrong: 'train_loader = DataLoader(train_ds, batch_size=64)',
    right: 'train_loader = DataLoader(train_ds, batch_size=64, shuffle=True)',
    concept: 'Stochastic gradient descent: mini-batches should be random samples',
    fixable: true,
  },
  nodeTypes: ['call'],
  // The loader from its call alone; whether its dataset is iterable-style (shuffle=True raises) reads the bindings
  // and the file's classes.
  candidate: { reads: ['imports'], test: (call, ctx) => unshuffledTrainLoader(call, ctx.analysis) !== false },
  visit(call, ctx) {
    const ds = unshuffledTrainLoader(call, ctx.analysis);
    if (ds === false || isIterableDataset(ds, ctx.analysis)) return;
    const last = call.child('arguments')?.namedChildren.filter((c) => c.type !== 'comment').pop();
    const fixes = last ? [{ title: 'Add shuffle=True', edits: [{ start: last.end, end: last.end, newText: ', shuffle=True' }] }] : undefined;
    ctx.report({ node: call, message: 'Training DataLoader without shuffle=True: every epoch sees the same order. Add shuffle=True (or a sampler).', fixes });
  },
};
