// What EV009 and EV011 share: a model's output (a (batch, classes) tensor) reduced inside a loop over batches.
import { enclosingFunction, unparen, type Analysis } from '../../analysis';
import { MODEL_NAME } from '../../analysis/outputs';
import { BATCH_ITERABLE, innermostLoop } from '../../analysis/training';
import type { PyNode } from '../../parser';

// The loop goes over batches: a loader, its batches, or a dataset iterated in batches.
const BATCHES = new RegExp(`${BATCH_ITERABLE.source}|dataset|data\\b|\\.items\\(\\)`, 'i');

/** `outputs.data`, `outputs.detach()`, `outputs.cpu()`, `outputs.numpy()` -> `outputs` (the same values). */
function stripCopies(e: PyNode | undefined): PyNode | undefined {
  for (;;) {
    e = unparen(e);
    if (e?.type === 'attribute' && e.child('attribute')?.text === 'data') e = e.child('object');
    else if (e?.type === 'call' && /^(detach|cpu|numpy)$/.test(e.child('function')?.child('attribute')?.text ?? '') && !e.child('arguments')?.namedChildren.length) e = e.child('function')?.child('object');
    else return e;
  }
}

/** The tensor of a structured model output: `model(x)["out"]`, `outputs.logits` -> `model(x)`, `outputs`. */
function outputOf(e: PyNode | undefined): PyNode | undefined {
  if (e?.type === 'subscript') {
    // A string key only: `model(x)[0]` may be the first sample of the batch.
    const keys = e.childrenOf('subscript');
    return keys.length === 1 && keys[0]!.type === 'string' && !keys[0]!.text.startsWith('f') ? e.child('value') : undefined;
  }
  if (e?.type === 'attribute' && /^(logits|out|pred_logits)$/.test(e.child('attribute')?.text ?? '')) return e.child('object');
  return undefined;
}

/**
 * The model call an expression is the output of: `model(x)`, `self.net(x)`, a name bound to one, its `.data`, or the
 * logits of a structured output (`model(x)["out"]`, `model(**batch).logits`, through names).
 */
export function modelOutputCall(a: Analysis, expr: PyNode | undefined): PyNode | undefined {
  let e = stripCopies(expr);
  for (let hops = 0; hops < 3; hops++) {
    if (e?.type === 'identifier') e = stripCopies(a.scopes.valueAt(e.text, e) ?? undefined);
    const inner = outputOf(e);
    if (!inner) break;
    e = stripCopies(inner);
  }
  if (e?.type !== 'call') return undefined;
  const fn = e.child('function');
  const name = fn?.type === 'identifier' ? fn.text : fn?.type === 'attribute' ? (fn.child('attribute')?.text ?? '') : '';
  return MODEL_NAME.test(name) ? e : undefined;
}

/** Whether an expression is a model's output: `model(x)`, `self.net(x)`, a name bound to one, or its `.data`. */
export function isModelOutput(a: Analysis, expr: PyNode | undefined): boolean {
  return modelOutputCall(a, expr) !== undefined;
}

// A dataset iterated directly yields single samples, not batches (torch's Dataset; a DataLoader makes batches).
const SAMPLES = /(dataset|_ds|set)$/i;

/** `for img, label in test_dataset:` (also through enumerate/tqdm): the loop goes over samples. */
function iteratesSamples(loop: PyNode): boolean {
  let it = unparen(loop.child('right'));
  while (it?.type === 'call' && /^(enumerate|tqdm|iter)$/.test(it.child('function')?.text ?? '')) it = unparen(it.child('arguments')?.namedChildren[0]);
  const name = it?.type === 'identifier' ? it.text : it?.type === 'attribute' ? (it.child('attribute')?.text ?? '') : '';
  return SAMPLES.test(name) && !BATCH_ITERABLE.test(name);
}

/** Whether a node sits in a `for` loop over batches (its innermost loop). */
export function inBatchLoop(node: PyNode): boolean {
  const loop = innermostLoop(node);
  const over = loop?.type === 'for_statement' ? loop.child('right')?.text : undefined;
  return !!over && BATCHES.test(over) && !iteratesSamples(loop!);
}

/**
 * Whether a node sits in a LightningModule's per-batch hook (`def validation_step(self, batch, batch_idx):`): the
 * body runs once per batch, like a batch loop's.
 */
export function inLightningStep(node: PyNode): boolean {
  const fn = enclosingFunction(node);
  if (!fn || !/^(training|validation|test|predict)_step$/.test(fn.child('name')?.text ?? '') || !fn.ancestor('class_definition')) return false;
  const params = fn.child('parameters')?.namedChildren ?? [];
  return params.length >= 2 && params[0]!.text === 'self' && /^(batch|train_batch|val_batch|test_batch)$/.test(params[1]!.text);
}

/** Value-keeping calls on a model input: `x.to(device)`, `x.float()`. */
const INPUT_CHAIN = /^(to|cuda|float|double)$/;

function peelInput(arg: PyNode | undefined): PyNode | undefined {
  let e = unparen(arg);
  while (e?.type === 'call' && INPUT_CHAIN.test(e.child('function')?.child('attribute')?.text ?? '')) e = unparen(e.child('function')?.child('object'));
  return e;
}

/** The model ran on a whole data split at once (`model(X_test)`): its output is a batch without any loop. */
export function onWholeSplit(call: PyNode): boolean {
  const e = peelInput(call.child('arguments')?.namedChildren[0]);
  return e?.type === 'identifier' && /^(x|X)_?(train|test|val|valid)$/.test(e.text);
}

/** The model ran on one sample made a batch of one: `x.unsqueeze(0)`, `x[None]`, `x.view(1, -1)`, `torch.unsqueeze(x, 0)`. */
export function onSingleSample(call: PyNode): boolean {
  const e = peelInput(call.child('arguments')?.namedChildren[0]);
  if (e?.type === 'subscript') return /^(None|np\.newaxis|numpy\.newaxis)$/.test(e.childrenOf('subscript')[0]?.text ?? '');
  if (e?.type !== 'call') return false;
  const method = e.child('function')?.child('attribute')?.text ?? '';
  const args = e.child('arguments')?.namedChildren ?? [];
  const first = args[0]?.type === 'keyword_argument' ? args[0].child('value') : args[0];
  if (method === 'unsqueeze') return e.child('function')?.child('object')?.text === 'torch' ? args[1]?.text === '0' : first?.text === '0';
  return (method === 'view' || method === 'reshape') && first?.text === '1';
}
