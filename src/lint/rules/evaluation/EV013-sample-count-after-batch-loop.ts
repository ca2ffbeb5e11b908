import { calleeName, positionalArgs, receiver, unparen } from '../../analysis';
import { indentOf, lineStartIfAlone } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { RawFix, Rule } from '../../types';

// `total += labels.size(0)` dedented one level: it runs once, after the batch loop, and counts the last batch only.

/** The name at the root of `labels`, `batch["labels"]`, `batch.labels`, `data[1]`. */
function rootName(e: PyNode | undefined): PyNode | undefined {
  let x = unparen(e);
  while (x?.type === 'subscript' || x?.type === 'attribute') x = unparen(x.type === 'subscript' ? x.child('value') : x.child('object'));
  return x?.type === 'identifier' ? x : undefined;
}

/**
 * The batch an added amount measures, and whether it is a weighted sum (`loss.item() * x.size(0)`,
 * `len(data) * criterion(out, y).item()`) rather than a plain count (`labels.size(0)`).
 */
function addedBatch(e: PyNode | undefined): { batch: PyNode; weighted: boolean } | undefined {
  const x = unparen(e);
  const direct = rootName(measured(x));
  if (direct) return { batch: direct, weighted: false };
  if (x?.type !== 'binary_operator' || !x.children.some((c) => c.type === '*')) return undefined;
  const b = rootName(measured(x.child('left'))) ?? rootName(measured(x.child('right')));
  return b && { batch: b, weighted: true };
}

/** The batch a size expression measures: `labels.size(0)`, `labels.shape[0]`, `len(labels)`, `labels.numel()`. */
function measured(e: PyNode | undefined): PyNode | undefined {
  const x = unparen(e);
  if (x?.type === 'call') {
    const name = calleeName(x);
    if (name === 'len' && x.child('function')?.type === 'identifier') return unparen(positionalArgs(x)[0]);
    if (name === 'size' && positionalArgs(x)[0]?.text === '0') return unparen(receiver(x));
    if (name === 'numel' && positionalArgs(x).length === 0) return unparen(receiver(x));
    return undefined;
  }
  if (x?.type === 'subscript' && x.child('subscript')?.text === '0') {
    const shape = x.child('value');
    if (shape?.type === 'attribute' && shape.child('attribute')?.text === 'shape') return unparen(shape.child('object'));
  }
  return undefined;
}

/**
 * Whether the loop binds `name` per iteration: its target (`for images, labels in loader`) or an assignment in its
 * body (`images, labels = data[0].to(device), data[1].to(device)`).
 */
function bindsName(loop: PyNode, name: string): boolean {
  let hit = false;
  loop.child('left')?.walk((n) => void (n.type === 'identifier' && n.text === name && (hit = true)));
  loop.child('body')?.walk((n) => {
    if (hit || n.type === 'function_definition' || n.type === 'class_definition') return false;
    if (n.type === 'assignment') n.child('left')?.walk((t) => void (t.type === 'identifier' && t.text === name && (hit = true)));
  });
  return hit;
}

/**
 * `total_loss = 0.0` in the block that holds the loop (or an enclosing one), before it, and no other `+=` or
 * assignment of the name between there and `stmt`: the dedented `+=` adds once to zero, so it cannot be meant.
 */
function zeroedBeforeOnly(counter: string, loop: PyNode, stmt: PyNode): boolean {
  for (let block = loop.parent; block; block = block.parent) {
    if (block.type === 'function_definition' || block.type === 'class_definition') return false;
    if (block.type !== 'block' && block.type !== 'module') continue;
    // Stop at a loop around the block: the count would grow across its iterations.
    const init = block.namedChildren.find((st) => st.end <= loop.start && zeroes(st, counter));
    if (init) return !assignsBetween(block, counter, init.end, stmt.start, stmt);
    const around = block.parent;
    if (around?.type === 'for_statement' || around?.type === 'while_statement') return false;
  }
  return false;
}

/** `name = 0`, `name = 0.0`, `a, name = 0, 0`. */
function zeroes(st: PyNode, name: string): boolean {
  const a = st.type === 'expression_statement' ? st.namedChildren[0] : undefined;
  if (a?.type !== 'assignment') return false;
  const left = a.child('left');
  const right = unparen(a.child('right'));
  if (left?.type === 'identifier') return left.text === name && /^0(\.0*)?$/.test(right?.text ?? '');
  if ((left?.type === 'pattern_list' || left?.type === 'tuple_pattern') && (right?.type === 'expression_list' || right?.type === 'tuple')) {
    const i = left.namedChildren.findIndex((t) => t.text === name);
    return i >= 0 && /^0(\.0*)?$/.test(right.namedChildren[i]?.text ?? '');
  }
  return false;
}

function assignsBetween(block: PyNode, name: string, from: number, to: number, except: PyNode): boolean {
  let hit = false;
  block.walk((n) => {
    if (hit || n.end <= from || n.start >= to) return false;
    if (n === except) return false;
    if ((n.type === 'augmented_assignment' || n.type === 'assignment') && n.start >= from) {
      n.child('left')?.walk((t) => void (t.type === 'identifier' && t.text === name && (hit = true)));
    }
  });
  return hit;
}

/** `x += ...` statements directly in the loop's body or nested blocks (not in nested functions). */
function countersIn(loop: PyNode): string[] {
  const out: string[] = [];
  loop.child('body')?.walk((n) => {
    if (n.type === 'function_definition' || n.type === 'class_definition') return false;
    if (n.type === 'augmented_assignment' && n.children.some((c) => c.type === '+=') && n.child('left')?.type === 'identifier') out.push(n.child('left')!.text);
  });
  return out;
}

export const EV013: Rule = {
  meta: {
    id: 'EV013',
    name: 'sample-count-after-batch-loop',
    group: 'evaluation',
    defaultSeverity: 'error',
    summary: '`total += labels.size(0)` sits after the batch loop, so it counts only the last batch: the accuracy is inflated.',
    why:
      'Accuracy is the number of correct predictions over the number of samples. When the line that adds each batch size ' +
      'to `total` is indented one level too little, it runs once after the loop has finished and adds only the size of ' +
      'the last batch, while `correct` was summed over every batch. The accuracy comes out far too high (often above ' +
      '100 %). Indent the line into the loop. The same holds for a weighted total (`total_loss += len(data) * ' +
      'loss.item()`) zeroed before the loop and added to only after it.',
    wrong:
      'correct, total = 0, 0\nfor images, labels in test_loader:\n    predicted = model(images).argmax(dim=1)\n    correct += (predicted == labels).sum().item()\ntotal += labels.size(0)\nprint(100 * correct / total)',
    right:
      'correct, total = 0, 0\nfor images, labels in test_loader:\n    predicted = model(images).argmax(dim=1)\n    correct += (predicted == labels).sum().item()\n    total += labels.size(0)\nprint(100 * correct / total)',
    concept: 'Metrics: average over samples, not batches',
    fixable: true,
  },
  nodeTypes: ['augmented_assignment'],
  // The loop is a sibling statement (at module level, another top-level statement): not local, but the `+=` of a
  // batch size is a syntax-only first test.
  candidate: { reads: [], test: (aug) => aug.children.some((c) => c.type === '+=') && addedBatch(aug.child('right')) !== undefined },
  visit(aug, ctx) {
    if (!aug.children.some((c) => c.type === '+=')) return;
    const counter = aug.child('left');
    const added = addedBatch(aug.child('right'));
    if (counter?.type !== 'identifier' || !added) return;
    const batch = added.batch;
    // The statement right after a for loop whose target is the measured batch, and which counts something else.
    const stmt = aug.parent;
    if (stmt?.type !== 'expression_statement') return;
    const siblings = stmt.parent?.namedChildren.filter((c) => c.type !== 'comment') ?? [];
    const i = siblings.indexOf(stmt);
    let loop = i > 0 ? siblings[i - 1] : undefined;
    // Up to two statements between the loop and the count (`correct += ...` left behind too is another story).
    for (let j = i - 1; j >= Math.max(0, i - 3) && loop?.type !== 'for_statement'; j--) loop = siblings[j];
    if (loop?.type !== 'for_statement' || !bindsName(loop, batch.text)) return;
    const counters = countersIn(loop);
    if (counters.includes(counter.text)) return;
    // Evidence that the line belongs in the loop: the loop counts something else per batch (`correct += ...`), or
    // a per-batch amount weighted by the batch size (`len(data) * loss.item()`) goes into a total zeroed just before
    // the loop, and this is its only addition.
    const other = counters.length > 0 && !added.weighted;
    if (!other && !(added.weighted && zeroedBeforeOnly(counter.text, loop, stmt))) return;
    // The fix indents the line to the loop body's indentation when it directly follows the loop on its own line.
    const body = loop.child('body');
    const lineStart = lineStartIfAlone(stmt);
    const fixes: RawFix[] | undefined =
      siblings[i - 1] === loop && body && lineStartIfAlone(body) !== undefined && lineStart !== undefined && !stmt.text.includes('\n')
        ? [{ title: 'Indent the count into the loop', edits: [{ start: lineStart, end: stmt.start, newText: indentOf(body) }] }]
        : undefined;
    ctx.report({
      node: aug,
      message: other
        ? `${aug.text} runs once, after the loop over ${batch.text}: ${counter.text} counts only the last batch while ${counters[0]} counts them all. Indent it into the loop.`
        : `${aug.text} runs once, after the loop over ${batch.text}: ${counter.text} adds only the last batch. Indent it into the loop.`,
      fixes,
    });
  },
};
