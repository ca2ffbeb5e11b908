// What EV009 and EV011 share: a model's output (a (batch, classes) tensor) reduced inside a loop over batches.
import { unparen, type Analysis } from '../../analysis';
import { MODEL_NAME } from '../../analysis/outputs';
import { BATCH_ITERABLE, innermostLoop } from '../../analysis/training';
import type { PyNode } from '../../parser';

// The loop goes over batches: a loader, its batches, or a dataset iterated in batches.
const BATCHES = new RegExp(`${BATCH_ITERABLE.source}|dataset|data\\b|\\.items\\(\\)`, 'i');

/** `outputs.data`, `outputs.detach()`, `outputs.cpu()` -> `outputs` (the same values). */
function stripCopies(e: PyNode | undefined): PyNode | undefined {
  for (;;) {
    e = unparen(e);
    if (e?.type === 'attribute' && e.child('attribute')?.text === 'data') e = e.child('object');
    else if (e?.type === 'call' && /^(detach|cpu)$/.test(e.child('function')?.child('attribute')?.text ?? '') && !e.child('arguments')?.namedChildren.length) e = e.child('function')?.child('object');
    else return e;
  }
}

/** Whether an expression is a model's output: `model(x)`, `self.net(x)`, a name bound to one, or its `.data`. */
export function isModelOutput(a: Analysis, expr: PyNode | undefined): boolean {
  let e = stripCopies(expr);
  if (e?.type === 'identifier') e = stripCopies(a.scopes.valueAt(e.text, e) ?? undefined);
  if (e?.type !== 'call') return false;
  const fn = e.child('function');
  const name = fn?.type === 'identifier' ? fn.text : fn?.type === 'attribute' ? (fn.child('attribute')?.text ?? '') : '';
  return MODEL_NAME.test(name);
}

/** Whether a node sits in a `for` loop over batches (its innermost loop). */
export function inBatchLoop(node: PyNode): boolean {
  const loop = innermostLoop(node);
  const over = loop?.type === 'for_statement' ? loop.child('right')?.text : undefined;
  return !!over && BATCHES.test(over);
}
