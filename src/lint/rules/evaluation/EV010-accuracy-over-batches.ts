import { calleeName, keywordArg, peelConversions, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { scopeOf } from '../../analysis/scopes';
import { BATCH_ITERABLE } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

// Counters of correct samples (not of batches, not losses): `correct`, `n_correct`, `num_right`, `hits`.
const SAMPLE_COUNT = /^(n_|num_|total_)?(correct|right|hits|matches|correct_preds?|correct_predictions)$/i;

// Conversions that keep a number: `float(correct)`, `correct.double()`, `correct.item()`.
const CAST_FUNCTIONS = /^(float|int)$/;
const CAST_METHODS = /^(float|double|item|long|int|cpu|numpy)$/;

/** `float(x)`, `x.double()`, `x.cpu().item()` -> x (a conversion does not change what is counted). */
const peelCasts = (n: PyNode | undefined) => peelConversions(n, CAST_FUNCTIONS, CAST_METHODS, true);

/** The identifier at the left end of a product or a sum, through casts: `100.0 * float(correct)` -> correct. */
function counted(n: PyNode | undefined): PyNode | undefined {
  const e = peelCasts(n);
  if (e?.type === 'identifier' || e?.type === 'attribute') return e;
  if (e?.type === 'binary_operator') return counted(e.child('right')) ?? counted(e.child('left'));
  return undefined;
}

const DATA_LOADERS = new Set(['torch.utils.data.DataLoader', 'torch_geometric.loader.DataLoader', 'torch_geometric.data.DataLoader', 'torch_geometric.loader.DenseDataLoader']);

/** A DataLoader built without a batch size (the default is 1) or with `batch_size=1`: batches are samples. */
function batchesOfOne(a: Analysis, loader: PyNode): boolean {
  const v = unparen(a.scopes.valueAt(loader.text, loader) ?? undefined);
  if (v?.type !== 'call' || !DATA_LOADERS.has(a.callee(v) ?? '')) return false;
  if (keywordArg(v, 'batch_sampler') || v.child('arguments')?.children.some((c) => c.type === 'dictionary_splat' || c.type === 'list_splat')) return false;
  const size = keywordArg(v, 'batch_size') ?? positionalArgs(v)[1];
  return !size || size.text === '1';
}

/**
 * The division `count / len(loader)` (or `count /= len(loader)`) over a loader of batches: the counter, or undefined
 * (syntax only).
 */
function countOverBatches(op: PyNode): { count: PyNode; loader: PyNode } | undefined {
  if (!op.children.some((c) => c.type === (op.type === 'augmented_assignment' ? '/=' : '/'))) return undefined;
  const denominator = peelCasts(op.child('right'));
  if (denominator?.type !== 'call' || denominator.child('function')?.text !== 'len') return undefined;
  const loader = positionalArgs(denominator)[0];
  if (!loader || (loader.type !== 'identifier' && loader.type !== 'attribute') || !BATCH_ITERABLE.test(loader.text)) return undefined;
  if (loader.type === 'attribute' && /^(dataset|sampler|indices)$/.test(loader.child('attribute')?.text ?? '')) return undefined; // samples
  const count = counted(op.child('left'));
  return count && { count, loader };
}

// Calls that keep a tensor's values (and so its comparison): `.float()`, `.view(-1)`, `.cpu()`.
const KEEPS = /^(float|double|long|int|cpu|detach|reshape|view|flatten|contiguous|squeeze)$/;

/** `(pred == y)`, `pred.eq(y)`, through value-keeping calls, slices and one name: a tensor of hits per sample. */
function isComparison(a: Analysis, n: PyNode | undefined, hops = 0): boolean {
  const e = unparen(n);
  if (!e) return false;
  if (e.type === 'comparison_operator') return e.children.some((c) => c.type === '==');
  if (e.type === 'subscript') return isComparison(a, e.child('value'), hops);
  if (e.type === 'call') {
    const m = calleeName(e) ?? '';
    if (m === 'eq' && receiver(e)) return true;
    return KEEPS.test(m) && isComparison(a, receiver(e), hops);
  }
  if (e.type === 'identifier' && hops < 2) return isComparison(a, a.scopes.valueAt(e.text, e) ?? undefined, hops + 1);
  return false;
}

/** `(pred == y).sum().item()`, `hit[:, :1].sum()`, `torch.sum(pred == y)`: a number of correct samples. */
function isHitSum(a: Analysis, n: PyNode | undefined): boolean {
  let e = unparen(n);
  while (e?.type === 'call' && ((calleeName(e) === 'item' && receiver(e)) || /^(int|float)$/.test(e.child('function')?.text ?? ''))) {
    e = unparen(calleeName(e) === 'item' ? receiver(e) : positionalArgs(e)[0]);
  }
  if (e?.type !== 'call' || calleeName(e) !== 'sum') return false;
  return a.callee(e) === 'torch.sum' ? isComparison(a, positionalArgs(e)[0]) : isComparison(a, receiver(e));
}

/** The `name += ...` statements of the counter's scope (the division itself excluded). */
function additions(a: Analysis, count: PyNode, op: PyNode): PyNode[] {
  const scope = scopeOf(count);
  return a.index.of('augmented_assignment').filter((s) => s !== op && s.child('left')?.text === count.text && scopeOf(s) === scope);
}

/**
 * A counter of correct samples judged by how it grows (`top1 += hit[:, :1].sum().item()`): every `name += ...` of its
 * scope adds a sum of hits. A meter of per-batch percentages (`top1 += acc1.item()`) is not one.
 */
function countsHits(a: Analysis, count: PyNode, adds: PyNode[]): boolean {
  if (count.type !== 'identifier') return false;
  return adds.length > 0 && adds.every((s) => s.children.some((c) => c.type === '+=') && isHitSum(a, s.child('right')));
}

/**
 * `correct += (pred == y).float().mean().item()`, `acc += hits / y.size(0)`, `acc += accuracy(out, y)` whose helper
 * returns such a mean: a per-batch rate, so dividing the sum by the number of batches is a mean of batch means.
 */
function addsRate(a: Analysis, e: PyNode | undefined, depth = 0): boolean {
  let rate = false;
  e?.walk((n) => {
    if (rate) return false;
    if (n.type === 'call' && calleeName(n) === 'mean') rate = true;
    else if (n.type === 'binary_operator' && n.children.some((c) => c.type === '/')) rate = true;
    else if (n.type === 'call' && depth < 2 && n.child('function')?.type === 'identifier') {
      const defs = a.functions.get(n.child('function')!.text);
      if (defs?.length === 1) {
        defs[0]!.child('body')?.walk((r) => {
          if (rate || r.type === 'function_definition' || r.type === 'lambda') return false;
          if (r.type === 'return_statement' && addsRate(a, r, depth + 1)) rate = true;
        });
      }
    }
  });
  return rate;
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
      'per-batch mean losses (or per-batch accuracies, `.float().mean()`) over `len(loader)` is fine; this rule only ' +
      'looks at counts of correct predictions, divided with `/` or `/=`.',
    wrong: 'correct = 0\nfor x, y in test_loader:\n    correct += (model(x).argmax(dim=1) == y).sum().item()\naccuracy = correct / len(test_loader)',
    right: 'correct = 0\nfor x, y in test_loader:\n    correct += (model(x).argmax(dim=1) == y).sum().item()\naccuracy = correct / len(test_loader.dataset)',
    concept: 'Metrics: average over samples, not batches',
    fixable: true,
  },
  nodeTypes: ['binary_operator', 'augmented_assignment'],
  candidate: { reads: [], test: (op) => countOverBatches(op) !== undefined },
  visit(op, ctx) {
    const found = countOverBatches(op);
    if (!found) return;
    const { count, loader } = found;
    if (loader.type === 'identifier' && batchesOfOne(ctx.analysis, loader)) return;
    const name = count.type === 'attribute' ? count.child('attribute')?.text : count.text;
    if (!name) return;
    const adds = additions(ctx.analysis, count, op);
    // A sum of per-batch rates (`correct += (...).float().mean().item()`): the mean over batches is right.
    if (adds.some((s) => addsRate(ctx.analysis, s.child('right')))) return;
    if (!(SAMPLE_COUNT.test(name) || countsHits(ctx.analysis, count, adds))) return;
    ctx.report({
      node: op,
      message: `${count.text} counts samples but len(${loader.text}) counts batches: divide by len(${loader.text}.dataset).`,
      fixes: [{ title: `Divide by len(${loader.text}.dataset)`, edits: [{ start: loader.end, end: loader.end, newText: '.dataset' }] }],
    });
  },
};
