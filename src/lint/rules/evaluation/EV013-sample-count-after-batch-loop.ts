import { calleeName, positionalArgs, receiver, unparen } from '../../analysis';
import type { PyNode } from '../../parser';
import type { RawFix, Rule } from '../../types';

// `total += labels.size(0)` dedented one level: it runs once, after the batch loop, and counts the last batch only.

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

/** Whether the for loop's target binds `name` (`for images, labels in loader`, `for i, (x, y) in enumerate(...)`). */
function bindsName(loop: PyNode, name: string): boolean {
  let hit = false;
  loop.child('left')?.walk((n) => void (n.type === 'identifier' && n.text === name && (hit = true)));
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
      '100 %). Indent the line into the loop.',
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
  candidate: { reads: [], test: (aug) => aug.children.some((c) => c.type === '+=') && measured(aug.child('right'))?.type === 'identifier' },
  visit(aug, ctx) {
    if (!aug.children.some((c) => c.type === '+=')) return;
    const counter = aug.child('left');
    const batch = measured(aug.child('right'));
    if (counter?.type !== 'identifier' || batch?.type !== 'identifier') return;
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
    if (!counters.length || counters.includes(counter.text)) return;
    // The fix indents the line to the loop body's indentation when it directly follows the loop on its own line.
    const body = loop.child('body');
    const src = ctx.source;
    const lineStart = src.lastIndexOf('\n', stmt.start - 1) + 1;
    const bodyLineStart = body ? src.lastIndexOf('\n', body.start - 1) + 1 : -1;
    const bodyIndent = body && bodyLineStart >= 0 ? src.slice(bodyLineStart, body.start) : undefined;
    const fixes: RawFix[] | undefined =
      siblings[i - 1] === loop && bodyIndent !== undefined && /^[ \t]*$/.test(bodyIndent) && /^[ \t]*$/.test(src.slice(lineStart, stmt.start)) && !src.slice(stmt.start, stmt.end).includes('\n')
        ? [{ title: 'Indent the count into the loop', edits: [{ start: lineStart, end: stmt.start, newText: bodyIndent }] }]
        : undefined;
    ctx.report({
      node: aug,
      message: `${aug.text} runs once, after the loop over ${batch.text}: ${counter.text} counts only the last batch while ${counters[0]} counts them all. Indent it into the loop.`,
      fixes,
    });
  },
};
