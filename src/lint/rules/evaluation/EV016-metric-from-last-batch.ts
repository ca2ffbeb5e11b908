import { calleeName, callsWithin, keywordArg, unparen, type Analysis } from '../../analysis';
import { evaluation } from '../../analysis/evaluation';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

// An evaluation loop that overwrites a metric (`acc = (pred == y).float().mean()`) on every batch and reads it after
// the loop: the reported value is the last batch's, not the data set's.

/** Names of whole-set metrics: `acc`, `val_acc`, `test_accuracy`, `correct`, `num_correct`, `f1`, `auc`. */
const METRIC = /^(?:\w+_)?(?:acc|accuracy|correct|f1|f1_score|auc|auroc|precision|recall)$/i;

/** Calls that only show a value: reading the metric in them inside the loop does not accumulate it. */
const SHOW = /^(print|log|info|debug|write|set_postfix|set_description|add_scalar|log_metric|log_metrics)$/;

/**
 * `acc = <expr>` statements directly in the loop body or nested blocks (not in nested functions or lambdas), and the
 * metrics among the names a tuple is unpacked into (`loss, acc = evaluate_batch(model, x, y)`).
 */
function overwrites(loop: PyNode): { asg: PyNode; name: string }[] {
  const out: { asg: PyNode; name: string }[] = [];
  loop.child('body')?.walk((n) => {
    if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.type !== 'assignment') return;
    const left = n.child('left');
    if (left?.type === 'identifier' && METRIC.test(left.text)) out.push({ asg: n, name: left.text });
    if (left?.type === 'pattern_list' || left?.type === 'tuple_pattern') {
      for (const t of left.namedChildren) if (t.type === 'identifier' && METRIC.test(t.text)) out.push({ asg: n, name: t.text });
    }
  });
  return out;
}

/** Identifiers named `name` inside `n` that are read (not the left side of an assignment). */
function reads(n: PyNode, name: string): PyNode[] {
  const out: PyNode[] = [];
  n.walk((x) => {
    if (x.type === 'function_definition' || x.type === 'class_definition' || x.type === 'lambda') return false;
    if (x.type === 'identifier' && x.text === name && x.field !== 'attribute' && !isAssignedName(x)) out.push(x);
    // Strings are parsed as leaves: an f-string's `{acc:.3f}` is read from its text.
    else if (x.type === 'string' && /^[rb]*f/i.test(x.text) && interpolates(x.text, name)) out.push(x);
  });
  return out;
}

function interpolates(fstring: string, name: string): boolean {
  for (const m of fstring.matchAll(/\{([^{}]*)\}/g)) if (new RegExp(`(^|[^\\w.])${name}\\b`).test(m[1]!)) return true;
  return false;
}

function isAssignedName(id: PyNode): boolean {
  let target: PyNode = id;
  // `loss, acc = ...`: a name of the unpacked tuple.
  if (id.parent?.type === 'pattern_list' || id.parent?.type === 'tuple_pattern') target = id.parent;
  const p = target.parent;
  return (p?.type === 'assignment' || p?.type === 'augmented_assignment') && p.child('left') === target;
}

/**
 * How the loop uses the metric besides showing it: 'itself' (`acc = acc + x`), 'elsewhere' (`accs.append(acc)`,
 * `total += acc`, `best = acc`), or not at all.
 */
function accumulatedInLoop(loop: PyNode, name: string, own: PyNode): 'itself' | 'elsewhere' | undefined {
  let found: 'elsewhere' | undefined;
  for (const r of reads(loop, name)) {
    if (own.start <= r.start && r.end <= own.end) return 'itself';
    const call = r.ancestor('call');
    if (!call || !SHOW.test(calleeName(call) ?? '')) found = 'elsewhere';
  }
  return found;
}

/**
 * The first read of `name` after `loop` in the statements that follow it, in its block and the enclosing blocks up to
 * the function (or module): undefined if the name is assigned again (or the function ends) first.
 */
export function readAfter(loop: PyNode, name: string): PyNode | undefined {
  for (let stmt: PyNode = loop; stmt.parent; stmt = stmt.parent) {
    const block = stmt.parent;
    if (block.type === 'function_definition' || block.type === 'class_definition') return undefined;
    if (block.type !== 'block' && block.type !== 'module') continue;
    // Inside an enclosing loop, the next iteration comes back to this loop: stop at its end.
    const siblings = block.namedChildren;
    for (let i = siblings.indexOf(stmt) + 1; i < siblings.length; i++) {
      const s = siblings[i]!;
      const read = reads(s, name)[0];
      if (read) return read;
      if (assigns(s, name)) return undefined;
    }
    const around = block.parent;
    if (around?.type === 'for_statement' || around?.type === 'while_statement') return undefined;
  }
  return undefined;
}

function assigns(s: PyNode, name: string): boolean {
  let hit = false;
  s.walk((n) => {
    if (hit || n.type === 'function_definition' || n.type === 'class_definition') return false;
    if (n.type !== 'assignment' && n.type !== 'augmented_assignment') return;
    const left = n.child('left');
    if (left?.text === name || ((left?.type === 'pattern_list' || left?.type === 'tuple_pattern') && left.namedChildren.some((t) => t.text === name))) hit = true;
  });
  return hit;
}

/** A loop that ends early (`break`) or runs over a loader built to hold the whole set in one batch. */
function singleBatch(a: Analysis, loop: PyNode): boolean {
  let hit = false;
  loop.child('body')?.walk((n) => {
    if (n.type === 'function_definition' || n.type === 'for_statement' || n.type === 'while_statement') return false;
    if (n.type === 'break_statement') hit = true;
  });
  if (hit) return true;
  let it = unparen(loop.child('right'));
  // `enumerate(loader)`, `tqdm(loader)`.
  while (it?.type === 'call' && /^(enumerate|tqdm|iter)$/.test(calleeName(it) ?? '')) it = unparen(it.child('arguments')?.namedChildren[0]);
  const built = it?.type === 'identifier' ? unparen(a.scopes.valueAt(it.text, it) ?? undefined) : undefined;
  const size = built?.type === 'call' ? keywordArg(built, 'batch_size')?.text : undefined;
  return !!size && /len\(|shape|size\(|\bN\b|num_samples|n_samples/.test(size);
}

export const EV016: Rule = {
  meta: {
    id: 'EV016',
    name: 'metric-from-last-batch',
    group: 'evaluation',
    defaultSeverity: 'warning',
    summary: 'An evaluation loop overwrites the metric on every batch and reads it after the loop: only the last batch counts.',
    why:
      'In an evaluation loop, `acc = (pred == y).float().mean()` (or `loss, acc = evaluate_batch(model, x, y)`) replaces ' +
      'the value of the previous batch each time. ' +
      'Whatever reads `acc` after the loop (a `return`, a print, a logged value, early stopping) sees the accuracy of ' +
      'the last batch alone, which is often a partial batch of a few samples: the reported figure jumps between runs ' +
      'and says little about the model. Accumulate over the batches instead: add up the correct predictions and the ' +
      'number of samples (`correct += (pred == y).sum().item()`, `total += y.size(0)`) and divide after the loop, or ' +
      'update a torchmetrics metric per batch and call `compute()` after the loop. A loop that also sums the value into ' +
      'something else (`accs.append(acc)`) is reported only when the raw last value is what the function returns.',
    wrong:
      'def evaluate(model, loader):\n    model.eval()\n    with torch.no_grad():\n        for x, y in loader:\n            acc = (model(x).argmax(1) == y).float().mean()\n    return acc',
    right:
      'def evaluate(model, loader):\n    model.eval()\n    correct, total = 0, 0\n    with torch.no_grad():\n        for x, y in loader:\n            correct += (model(x).argmax(1) == y).sum().item()\n            total += y.size(0)\n    return correct / total',
    concept: 'Metrics: average over the whole held-out set',
    fixable: false,
  },
  check(ctx) {
    const a = ctx.analysis;
    for (const { loop, forwards } of evaluation(a).loops) {
      if (loop.type !== 'for_statement') continue;
      const candidates = overwrites(loop);
      if (!candidates.length || singleBatch(a, loop)) continue;
      const reported = new Set<string>();
      for (const { asg, name } of candidates) {
        if (reported.has(name)) continue;
        // The value must come from this iteration's predictions: the right side reads something the loop computes.
        const right = asg.child('right');
        if (!right || !computedPerBatch(right, loop, forwards)) continue;
        const used = accumulatedInLoop(loop, name, asg);
        if (used === 'itself') continue;
        const after = readAfter(loop, name);
        // Summed into something else (`totals.append([loss, acc])`) yet the raw last value is what the function
        // returns: the aggregate was computed and then not used.
        if (!after || (used === 'elsewhere' && !after.ancestor('return_statement'))) continue;
        reported.add(name);
        const line = ctx.lines.position(after.start).line + 1;
        ctx.report({
          node: asg,
          message: `${name} is overwritten on every batch of this loop and read after it (line ${line}): it holds the last batch's value only. Sum the counts over the batches and divide after the loop.`,
        });
      }
    }
  },
};

/** Whether `e` reads a name bound in the loop (its target, or an assignment in its body) or holds a forward call. */
function computedPerBatch(e: PyNode, loop: PyNode, forwards: readonly PyNode[]): boolean {
  if (forwards.some((f) => e.start <= f.start && f.end <= e.end)) return true;
  const bound = new Set<string>();
  loop.child('left')?.walk((n) => void (n.type === 'identifier' && bound.add(n.text)));
  loop.child('body')?.walk((n) => {
    if (n.type === 'function_definition' || n.type === 'class_definition') return false;
    if (n.type === 'assignment' && n.end <= e.start) n.child('left')?.walk((t) => void (t.type === 'identifier' && bound.add(t.text)));
  });
  for (const c of callsWithin(e)) if (forwards.includes(c)) return true;
  let hit = false;
  e.walk((n) => void (n.type === 'identifier' && n.field !== 'attribute' && bound.has(n.text) && (hit = true)));
  return hit;
}
