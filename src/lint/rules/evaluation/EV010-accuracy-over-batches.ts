import { keywordArg, positionalArgs, unparen, type Analysis } from '../../analysis';
import { BATCH_ITERABLE } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

// Counters of correct samples (not of batches, not losses): `correct`, `n_correct`, `num_right`, `hits`.
const SAMPLE_COUNT = /^(n_|num_|total_)?(correct|right|hits|matches|correct_preds?|correct_predictions)$/i;

/** The identifier at the left end of a product or a sum: `100.0 * correct` -> correct. */
function counted(n: PyNode | undefined): PyNode | undefined {
  let e = n;
  while (e?.type === 'parenthesized_expression') e = e.namedChildren[0];
  if (e?.type === 'identifier' || e?.type === 'attribute') return e;
  if (e?.type === 'binary_operator') return counted(e.child('right')) ?? counted(e.child('left'));
  return undefined;
}

/** A DataLoader built without a batch size (the default is 1) or with `batch_size=1`: batches are samples. */
function batchesOfOne(a: Analysis, loader: PyNode): boolean {
  const v = unparen(a.scopes.valueAt(loader.text, loader) ?? undefined);
  if (v?.type !== 'call' || a.callee(v) !== 'torch.utils.data.DataLoader') return false;
  if (keywordArg(v, 'batch_sampler') || v.child('arguments')?.children.some((c) => c.type === 'dictionary_splat' || c.type === 'list_splat')) return false;
  const size = keywordArg(v, 'batch_size') ?? positionalArgs(v)[1];
  return !size || size.text === '1';
}

export const EV010: Rule = {
  meta: {
    id: 'EV010',
    name: 'accuracy-over-batches',
    group: 'evaluation',
    defaultSeverity: 'error',
    summary: '`correct / len(test_loader)` divides a count of samples by the number of batches: the accuracy is wrong.',
    why:
      '`len(loader)` is the number of batches, not of samples. A count of correct predictions divided by it is off by ' +
      'a factor of the batch size: accuracies above 100 % with large batches, plausible-looking but wrong numbers ' +
      'otherwise. Divide by the number of samples, `len(test_loader.dataset)` (or count them as you go). Averaging ' +
      'per-batch mean losses over `len(loader)` is fine; this rule only looks at counts of correct predictions.',
    wrong: 'correct = 0\nfor x, y in test_loader:\n    correct += (model(x).argmax(dim=1) == y).sum().item()\naccuracy = correct / len(test_loader)',
    right: 'correct = 0\nfor x, y in test_loader:\n    correct += (model(x).argmax(dim=1) == y).sum().item()\naccuracy = correct / len(test_loader.dataset)',
    concept: 'Metrics: average over samples, not batches',
    fixable: true,
  },
  nodeTypes: ['binary_operator'],
  local: ['imports', 'scopes'],
  visit(op, ctx) {
    if (!op.children.some((c) => c.type === '/')) return;
    const denominator = op.child('right');
    if (denominator?.type !== 'call' || denominator.child('function')?.text !== 'len') return;
    const loader = positionalArgs(denominator)[0];
    if (!loader || (loader.type !== 'identifier' && loader.type !== 'attribute') || !BATCH_ITERABLE.test(loader.text)) return;
    if (loader.type === 'attribute' && /^(dataset|sampler|indices)$/.test(loader.child('attribute')?.text ?? '')) return; // samples
    if (loader.type === 'identifier' && batchesOfOne(ctx.analysis, loader)) return;
    const count = counted(op.child('left'));
    const name = count?.type === 'attribute' ? count.child('attribute')?.text : count?.text;
    if (!name || !SAMPLE_COUNT.test(name)) return;
    ctx.report({
      node: op,
      message: `${count!.text} counts samples but len(${loader.text}) counts batches: divide by len(${loader.text}.dataset).`,
      fixes: [{ title: `Divide by len(${loader.text}.dataset)`, edits: [{ start: loader.end, end: loader.end, newText: '.dataset' }] }],
    });
  },
};
