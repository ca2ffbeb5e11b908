import { calleeName, keywordArg, peelConversions, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { lastIndexAt, type LastIndex } from '../../analysis/loopIndex';
import { parameterArguments } from '../../analysis/parameters';
import { scopeOf } from '../../analysis/scopes';
import { BATCH_ITERABLE, innermostLoop, iteratesBatches } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { Rule, RuleContext } from '../../types';

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

/** What a `for` iterates, through `enumerate(...)` / `tqdm(...)`. */
function loopSource(loop: PyNode): PyNode | undefined {
  let it = unparen(loop.child('right'));
  while (it?.type === 'call' && /^(enumerate|tqdm)$/.test(calleeName(it) ?? '')) it = unparen(positionalArgs(it)[0]);
  return it;
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

/** `total / count` (or `total /= count`) with a plain name below: the sum and the name (syntax only). */
function sumOverName(op: PyNode): { sum: PyNode; name: PyNode } | undefined {
  if (!op.children.some((c) => c.type === (op.type === 'augmented_assignment' ? '/=' : '/'))) return undefined;
  const name = peelCasts(op.child('right'));
  if (name?.type !== 'identifier') return undefined;
  const sum = counted(op.child('left'));
  return sum?.type === 'identifier' ? { sum, name } : undefined;
}

/** Whether `n` reads the identifier `name`. */
function readsName(n: PyNode | undefined | null, name: string): boolean {
  let hit = false;
  n?.walk((x) => void (x.type === 'identifier' && x.text === name && (hit = true)));
  return hit;
}

/**
 * `sum += ...` in the loop's body on every iteration: not under a test of the index (`if i > 0:` skips a batch, so
 * the index may be the right count), and not in a nested loop.
 */
function summedEachIteration(loop: PyNode, sum: string, index: string): boolean {
  let found = false;
  let skips = false;
  loop.child('body')?.walk((n) => {
    if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda' || n.type === 'for_statement' || n.type === 'while_statement') return false;
    if (n.type === 'augmented_assignment' && n.child('left')?.text === sum && n.children.some((c) => c.type === '+=')) {
      found = true;
      for (let p = n.parent; p && p !== loop; p = p.parent) if ((p.type === 'if_statement' || p.type === 'elif_clause') && readsName(p.child('condition'), index)) skips = true;
    }
    if (n.type === 'continue_statement') skips = true;
  });
  return found && !skips;
}

/** The source of the function around `n` (the module's at top level): for textual first tests before any analysis. */
function enclosingText(n: PyNode): string {
  let p = n;
  while (p.parent && p.type !== 'function_definition') p = p.parent;
  return p.text;
}

/** Textual first test: an enumerate loop, and `for name, ...` or `name = ...` in the function's text. */
function mayBeIndex(text: string, name: string): boolean {
  return text.includes('enumerate(') && (text.includes(`for ${name},`) || text.includes(`for (${name},`) || text.includes(`${name} = `));
}

/** A cheap first test: the name is a loop target (or parameter) where it is read, or set from another name. */
function mayHoldIndex(a: Analysis, name: PyNode): boolean {
  const v = a.scopes.valueAt(name.text, name);
  // null: a loop target or a parameter, but not a name unpacked from a tuple (`total, n = 0, 0`).
  return (v === null && !a.scopes.elementAt(name.text, name)) || v?.type === 'identifier';
}

/** A sum over a loop divided by the loop's last 0-based enumerate index (n - 1 for n batches): the loop, or undefined. */
function overLastIndex(a: Analysis, op: PyNode): { sum: PyNode; name: PyNode; last: LastIndex } | undefined {
  const found = sumOverName(op);
  if (!found || !mayBeIndex(enclosingText(op), found.name.text) || !mayHoldIndex(a, found.name)) return undefined;
  const last = lastIndexAt(found.name);
  if (!last || !summedEachIteration(last.loop, found.sum.text, last.index)) return undefined;
  return { ...found, last };
}

/** `acc / len(loader.dataset)` (or `/=`): the sum and the `.dataset` attribute (syntax only). */
function sumOverSamples(op: PyNode): { sum: PyNode; dataset: PyNode } | undefined {
  if (!op.children.some((c) => c.type === (op.type === 'augmented_assignment' ? '/=' : '/'))) return undefined;
  const denominator = peelCasts(op.child('right'));
  if (denominator?.type !== 'call' || denominator.child('function')?.text !== 'len') return undefined;
  const dataset = positionalArgs(denominator)[0];
  const loader = dataset?.type === 'attribute' && dataset.child('attribute')?.text === 'dataset' ? dataset.child('object') : undefined;
  if (!loader || (loader.type !== 'identifier' && loader.type !== 'attribute') || !BATCH_ITERABLE.test(loader.text)) return undefined;
  const sum = counted(op.child('left'));
  return sum?.type === 'identifier' && dataset ? { sum, dataset } : undefined;
}

/** `acc += (pred == y).float().mean().item()`: a per-batch rate, not weighted by the batch size (`* y.size(0)`). */
function addsUnweightedRate(a: Analysis, s: PyNode): boolean {
  const right = peelCasts(s.child('right'));
  if (!s.children.some((c) => c.type === '+=') || !right) return false;
  if (right.type === 'binary_operator' && right.children.some((c) => c.type === '*')) return false;
  let weighted = false;
  right.walk((n) => void (n.type === 'binary_operator' && n.children.some((c) => c.type === '*') && (weighted = true)));
  return !weighted && addsRate(a, right);
}

/** `correct / n_batches`, `correct / (i + 1)` (or `/=`): the counter and the denominator (syntax only). */
function countOverCounter(op: PyNode): { count: PyNode; denominator: PyNode } | undefined {
  if (!op.children.some((c) => c.type === (op.type === 'augmented_assignment' ? '/=' : '/'))) return undefined;
  const denominator = peelCasts(op.child('right'));
  const plusOne = denominator?.type === 'binary_operator' && denominator.children.some((c) => c.type === '+') && denominator.child('right')?.text === '1' && denominator.child('left')?.type === 'identifier';
  if (denominator?.type !== 'identifier' && !plusOne) return undefined;
  const count = counted(op.child('left'));
  return count?.type === 'identifier' ? { count, denominator: denominator! } : undefined;
}

/**
 * The loop over batches whose iterations a denominator counts: `n_batches += 1` (every addition of the name, in one
 * loop over a loader), or `i + 1` after `for i, b in enumerate(loader)`. Undefined otherwise.
 */
function batchCounted(a: Analysis, denominator: PyNode, op: PyNode): PyNode | undefined {
  let loop: PyNode | undefined;
  // Textual first tests: `n_batches += 1` or an enumerate loop in the function.
  const text = enclosingText(op);
  const counts = denominator.type === 'identifier' ? text.includes(`${denominator.text} += 1`) || text.includes(`${denominator.text}+=1`) : text.includes('enumerate(');
  if (!counts) return undefined;
  if (denominator.type === 'identifier') {
    const adds = additions(a, denominator, op);
    if (adds.length === 0 || !adds.every((s) => s.children.some((c) => c.type === '+=') && s.child('right')?.text === '1')) return undefined;
    loop = innermostLoop(adds[0]!);
    if (!loop || !adds.every((s) => innermostLoop(s) === loop)) return undefined;
  } else {
    const index = denominator.child('left')!;
    if (!mayBeIndex(text, index.text) || !mayHoldIndex(a, index)) return undefined;
    loop = lastIndexAt(index)?.loop;
  }
  if (loop?.type !== 'for_statement' || !iteratesBatches(loop, a) || op.start < loop.end) return undefined;
  const it = loopSource(loop);
  if (it?.type === 'attribute' && /^(dataset|sampler|indices)$/.test(it.child('attribute')?.text ?? '')) return undefined; // samples
  if (it?.type === 'identifier' && (batchesOfOne(a, it) || parameterArguments(a, it)?.some((arg) => arg.type === 'identifier' && batchesOfOne(a, arg)))) return undefined;
  return loop;
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

const byTarget = new WeakMap<Analysis, Map<string, PyNode[]>>();

/** The file's augmented assignments by the text of their target, memoised: several divisions ask. */
function augmentedByTarget(a: Analysis): Map<string, PyNode[]> {
  let m = byTarget.get(a);
  if (!m) {
    m = new Map();
    for (const s of a.index.of('augmented_assignment')) {
      const t = s.child('left')?.text ?? '';
      const list = m.get(t);
      if (list) list.push(s);
      else m.set(t, [s]);
    }
    byTarget.set(a, m);
  }
  return m;
}

/** The `name += ...` statements of the counter's scope (the division itself excluded). */
function additions(a: Analysis, count: PyNode, op: PyNode): PyNode[] {
  const scope = scopeOf(count);
  return (augmentedByTarget(a).get(count.text) ?? []).filter((s) => s !== op && scopeOf(s) === scope);
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

// Accuracy-like sums (not losses: a mean of per-batch mean losses is the usual, accepted running figure).
const ACCURACY = /acc|correct|top_?[15]|precision|recall|f1/i;

/** The loader's DataLoader drops its last, short batch (`drop_last=True`): every batch has the same size. */
function dropsLast(a: Analysis, loader: PyNode): boolean {
  const v = loader.type === 'identifier' ? unparen(a.scopes.valueAt(loader.text, loader) ?? undefined) : undefined;
  return v?.type === 'call' && keywordArg(v, 'drop_last')?.text === 'True';
}

/**
 * `epoch_acc += acc / len(loader)` in a loop over that loader, `acc` a per-batch rate (`(out.argmax(1) == y).float().mean()`):
 * the sum and the loader, or undefined.
 */
function rateOverBatchesTerm(a: Analysis, op: PyNode, loader: PyNode): { sum: PyNode; loader: PyNode } | undefined {
  if (op.type !== 'binary_operator' || loader.type !== 'identifier') return undefined;
  const s = op.parent;
  if (s?.type !== 'augmented_assignment' || s.child('right') !== op || !s.children.some((c) => c.type === '+=')) return undefined;
  const sum = s.child('left');
  if (sum?.type !== 'identifier' || !ACCURACY.test(sum.text)) return undefined;
  const loop = innermostLoop(s);
  if (loop?.type !== 'for_statement' || loopSource(loop)?.text !== loader.text) return undefined;
  const rate = peelCasts(op.child('left'));
  if (rate?.type !== 'identifier') return undefined;
  const value = a.scopes.valueAt(rate.text, rate);
  return value && innermostLoop(value) === loop && addsRate(a, value) && !/\*/.test(value.text) ? { sum, loader } : undefined;
}

/** A mean of per-batch accuracies: right only when every batch has the same size. Reported mildly (info). */
function reportMeanOfMeans(op: PyNode, sum: string, loader: PyNode, ctx: RuleContext): void {
  const a = ctx.analysis;
  // Held-out loaders only: a running training accuracy is a rough figure like the running loss.
  if (loader.type !== 'identifier' || /train/i.test(loader.text) || /train/i.test(sum) || batchesOfOne(a, loader) || dropsLast(a, loader)) return;
  ctx.report({
    node: op,
    severity: 'info',
    message:
      `${sum} averages per-batch accuracies over len(${loader.text}): the last, smaller batch weighs as much as a full one. ` +
      `Sum the correct predictions and divide by len(${loader.text}.dataset).`,
  });
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
      'looks at counts of correct predictions, divided with `/` or `/=`. The same mix-up comes in other shapes: a count ' +
      'of correct samples over a batch counter (`n_batches += 1`, `i + 1`); per-batch means summed and divided by ' +
      '`len(loader.dataset)`; and a sum over `for i, b in enumerate(loader)` divided by `i` (or `count = i`) after the ' +
      'loop, the last 0-based index, one less than the number of batches.',
    wrong: 'correct = 0\nfor x, y in test_loader:\n    correct += (model(x).argmax(dim=1) == y).sum().item()\naccuracy = correct / len(test_loader)',
    right: 'correct = 0\nfor x, y in test_loader:\n    correct += (model(x).argmax(dim=1) == y).sum().item()\naccuracy = correct / len(test_loader.dataset)',
    concept: 'Metrics: average over samples, not batches',
    fixable: true,
  },
  nodeTypes: ['binary_operator', 'augmented_assignment'],
  candidate: { reads: [], test: (op) => countOverBatches(op) !== undefined || countOverCounter(op) !== undefined || sumOverSamples(op) !== undefined },
  visit(op, ctx) {
    const byIndex = overLastIndex(ctx.analysis, op);
    if (byIndex) {
      const { sum, name, last } = byIndex;
      const via = name.text === last.index ? '' : ` (set from ${last.index})`;
      ctx.report({
        node: op,
        message: `${name.text}${via} is the last 0-based index of the loop, one less than the number of batches it summed ${sum.text} over: divide by ${name.text} + 1.`,
        fixes: [{ title: `Divide by (${name.text} + 1)`, edits: [{ start: name.start, end: name.end, newText: `(${name.text} + 1)` }] }],
      });
      return;
    }
    const rates = sumOverSamples(op);
    if (rates) {
      const adds = additions(ctx.analysis, rates.sum, op);
      // Every addition is a per-batch mean: the sum has one term per batch, not per sample.
      if (adds.length > 0 && adds.every((s) => addsUnweightedRate(ctx.analysis, s))) {
        const loader = rates.dataset.child('object')!;
        ctx.report({
          node: op,
          message: `${rates.sum.text} adds one per-batch mean per batch but len(${rates.dataset.text}) counts samples: divide by len(${loader.text}), or add the per-batch counts instead.`,
          fixes: [{ title: `Divide by len(${loader.text})`, edits: [{ start: loader.end, end: rates.dataset.end, newText: '' }] }],
        });
      }
      return;
    }
    const byCounter = countOverCounter(op);
    if (byCounter) {
      const { count, denominator } = byCounter;
      const loop = batchCounted(ctx.analysis, denominator, op);
      if (!loop) return;
      const adds = additions(ctx.analysis, count, op);
      if (adds.some((s) => addsRate(ctx.analysis, s.child('right'))) || !adds.every((s) => innermostLoop(s) === loop)) return;
      if (!(SAMPLE_COUNT.test(count.text) || countsHits(ctx.analysis, count, adds))) return;
      ctx.report({
        node: op,
        message: `${count.text} counts samples but ${denominator.text} counts batches: divide by the number of samples (add y.size(0) per batch, or len(loader.dataset)).`,
      });
      return;
    }
    const found = countOverBatches(op);
    if (!found) return;
    const { count, loader } = found;
    if (loader.type === 'identifier' && batchesOfOne(ctx.analysis, loader)) return;
    const name = count.type === 'attribute' ? count.child('attribute')?.text : count.text;
    if (!name) return;
    const adds = additions(ctx.analysis, count, op);
    // A sum of per-batch rates (`correct += (...).float().mean().item()`): a mean of batch means, nearly right.
    if (adds.some((s) => addsRate(ctx.analysis, s.child('right')))) {
      if (ACCURACY.test(name) && adds.every((s) => addsUnweightedRate(ctx.analysis, s))) reportMeanOfMeans(op, count.text, loader, ctx);
      return;
    }
    const term = adds.length === 0 ? rateOverBatchesTerm(ctx.analysis, op, loader) : undefined;
    if (term) return reportMeanOfMeans(op, term.sum.text, term.loader, ctx);
    if (!(SAMPLE_COUNT.test(name) || countsHits(ctx.analysis, count, adds))) return;
    ctx.report({
      node: op,
      message: `${count.text} counts samples but len(${loader.text}) counts batches: divide by len(${loader.text}.dataset).`,
      fixes: [{ title: `Divide by len(${loader.text}.dataset)`, edits: [{ start: loader.end, end: loader.end, newText: '.dataset' }] }],
    });
  },
};
