import { callsWithin, calleeName, keywordArg, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { BATCH_ITERABLE, innermostLoop, trainingLoops } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { RawFix, Rule, RuleContext } from '../../types';

/** Calls that back-propagate (through a graph that retain_graph=True may be keeping for them). */
const GRAD_CALL = /backward|^grad$|^(jacobian|hessian|vjp|jvp|hvp|vhp)$/i;
/** Loop headers of a mini-batch or truncated-BPTT loop. */
const BATCH_HEADER = /bptt|seq_len/i;

export const TL027: Rule = {
  meta: {
    id: 'TL027',
    name: 'retain-graph-in-training-loop',
    group: 'training-loop',
    defaultSeverity: 'warning',
    summary: 'backward(retain_graph=True) every batch with no second backward through that graph: earlier graphs stay alive, memory and step time grow.',
    why:
      '`retain_graph=True` keeps the graph\'s buffers so that a second `backward()` can run through it. It is usually added ' +
      'to silence "Trying to backward through the graph a second time", whose real cause is a tensor (an RNN hidden state, a ' +
      'running value) carried from one batch to the next without `.detach()`: with `retain_graph=True` every step keeps all ' +
      'earlier graphs alive and back-propagates through the whole history, so memory and step time grow until training crawls ' +
      'or runs out of memory, and truncated BPTT is silently not truncated. Drop `retain_graph=True` and detach the carried ' +
      'state (`hidden = hidden.detach()`) at the start of each batch.',
    wrong:
      'hidden = model.init_hidden(batch_size)\nfor x, y in train_loader:\n    optimizer.zero_grad()\n    out, hidden = model(x, hidden)\n' +
      '    loss = criterion(out, y)\n    loss.backward(retain_graph=True)\n    optimizer.step()',
    right:
      'hidden = model.init_hidden(batch_size)\nfor x, y in train_loader:\n    hidden = hidden.detach()\n    optimizer.zero_grad()\n' +
      '    out, hidden = model(x, hidden)\n    loss = criterion(out, y)\n    loss.backward()\n    optimizer.step()',
    concept: 'Autograd: a graph is freed by backward() unless retained; tensors carried across batches chain their graphs',
    fixable: true,
  },
  check(ctx) {
    const a = ctx.analysis;
    const candidates = [...a.callsNamed('backward')].filter(retainsGraph);
    if (candidates.length === 0) return;
    let gradFunctions: Set<string> | undefined;
    for (const call of candidates) {
      const loop = innermostLoop(call);
      const body = loop?.child('body');
      if (!loop || !body || !isBatchLoop(loop)) continue;
      if (!trainingLoops(a).updates.some((u) => u.loop === loop)) continue;
      if (!lossBuiltIn(a, call, body)) continue;
      gradFunctions ??= functionsThatBackprop(a);
      const calls = callsWithin(body);
      if (calls.some((c) => c !== call && backpropagates(c, gradFunctions!))) continue;
      report(ctx, call, body);
    }
  },
};

/** `....backward(..., retain_graph=True)` without `create_graph` (higher-order gradients need the graph). */
function retainsGraph(call: PyNode): boolean {
  if (keywordArg(call, 'retain_graph')?.type !== 'true') return false;
  const create = keywordArg(call, 'create_graph');
  return !create || create.type === 'false';
}

function isBatchLoop(loop: PyNode): boolean {
  if (loop.type !== 'for_statement') return false;
  const header = `${loop.child('left')?.text ?? ''} ${loop.child('right')?.text ?? ''}`;
  return BATCH_ITERABLE.test(header) || BATCH_HEADER.test(header);
}

function inside(n: PyNode | undefined | null, region: PyNode): boolean {
  return !!n && region.start <= n.start && n.end <= region.end;
}

/**
 * The loss that is back-propagated is built in this loop body: a graph built once before the loop and back-propagated
 * every iteration does need retain_graph=True.
 */
function lossBuiltIn(a: Analysis, call: PyNode, body: PyNode): boolean {
  let loss: PyNode | undefined = calleeName(call) === 'backward' && positionalArgs(call).length > 0 && isAutogradBackward(a, call)
    ? unparen(positionalArgs(call)[0])
    : unparen(receiver(call));
  if (loss?.type === 'call' && /\.scale$/.test(loss.child('function')?.text ?? '')) loss = unparen(positionalArgs(loss)[0]);
  if (!loss) return false;
  if (loss.type !== 'identifier') return inside(loss, body);
  const value = a.scopes.valueAt(loss.text, call);
  const built = value ?? a.scopes.elementAt(loss.text, call)?.source;
  return inside(built, body);
}

function isAutogradBackward(a: Analysis, call: PyNode): boolean {
  const q = a.callee(call) ?? '';
  return q === 'torch.autograd.backward' || /(^|\.)autograd\.backward$/.test(call.child('function')?.text ?? '');
}

/** Names of the file's functions that back-propagate (a loop calling one may run a second backward). */
function functionsThatBackprop(a: Analysis): Set<string> {
  const out = new Set<string>();
  for (const name of ['backward', 'grad', 'manual_backward']) {
    for (const c of a.callsNamed(name)) {
      for (let f = c.ancestor('function_definition'); f; f = f.ancestor('function_definition')) {
        const n = f.child('name')?.text;
        if (n) out.add(n);
      }
    }
  }
  return out;
}

function backpropagates(call: PyNode, gradFunctions: Set<string>): boolean {
  const name = calleeName(call);
  if (name === undefined) return false;
  return GRAD_CALL.test(name) || gradFunctions.has(name);
}

/**
 * State carried across iterations: `out, hidden = model(x, hidden)` in the loop body, the name passed back to the call
 * that produces it, with no detach (`hidden.detach()`, `detach_()`, `repackage_hidden(hidden)`) nor other assignment
 * of it in the body. Returns the first such name.
 */
function carriedState(body: PyNode): string | undefined {
  const assigned = new Map<string, PyNode[]>();
  const fromOwnCall = new Map<string, PyNode>();
  body.walk((n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type !== 'assignment' && n.type !== 'augmented_assignment') return undefined;
    const left = n.child('left');
    const right = unparen(n.child('right'));
    if (!left) return undefined;
    const targets: string[] = [];
    left.walk((t) => {
      if (t.type === 'identifier' || t.type === 'attribute') {
        targets.push(t.text);
        return false;
      }
      return t.type === 'subscript' ? false : undefined;
    });
    for (const t of targets) assigned.set(t, [...(assigned.get(t) ?? []), n]);
    if (n.type === 'assignment' && right?.type === 'call') {
      const args = right.child('arguments');
      if (args) {
        for (const t of targets) if (mentions(args, t)) fromOwnCall.set(t, n);
      }
    }
    return undefined;
  });
  for (const [name, at] of fromOwnCall) {
    if (!(assigned.get(name) ?? []).some((x) => x !== at) && !detached(body, name)) return name;
  }
  return undefined;
}

function mentions(n: PyNode, text: string): boolean {
  let hit = false;
  n.walk((c) => {
    if (hit) return false;
    if ((c.type === 'identifier' || c.type === 'attribute') && c.text === text) hit = true;
    return undefined;
  });
  return hit;
}

function detached(body: PyNode, name: string): boolean {
  return callsWithin(body).some((c) => {
    const callee = calleeName(c) ?? '';
    if (callee === 'detach' || callee === 'detach_') return (receiver(c)?.text ?? '').startsWith(name);
    return /detach|repackage/i.test(callee) && mentions(c.child('arguments') ?? c, name);
  });
}

function report(ctx: RuleContext, call: PyNode, body: PyNode): void {
  const carried = carriedState(body);
  const kw = keywordArg(call, 'retain_graph')?.parent;
  let fixes: RawFix[] | undefined;
  if (!carried && kw?.type === 'keyword_argument') {
    const range = removalRange(kw);
    if (range) fixes = [{ title: 'Remove retain_graph=True', edits: [{ ...range, newText: '' }] }];
  }
  const message = carried
    ? `backward(retain_graph=True) runs every iteration but nothing backpropagates through this graph again: ${carried} is carried from batch to batch without .detach(), so each step keeps all earlier graphs alive and memory and step time grow. Detach it before the next step (${carried} = ${carried}.detach(); for an LSTM's (h, c) tuple, each tensor) and drop retain_graph=True.`
    : 'backward(retain_graph=True) runs every iteration but nothing backpropagates through this graph again: it only keeps the graph\'s buffers alive, and if any tensor is carried to the next batch, every step keeps all earlier graphs and memory and step time grow. Drop retain_graph=True; if a hidden state is carried across batches, detach it (hidden = hidden.detach()) before the next step.';
  ctx.report({ node: call, message, fixes });
}

/** The keyword argument with the comma that separates it from its neighbour (the one before, else the one after). */
function removalRange(kw: PyNode): { start: number; end: number } | undefined {
  const args = kw.parent;
  if (!args) return undefined;
  const ch = args.children;
  const i = ch.indexOf(kw);
  if (i < 0) return undefined;
  const prev = ch[i - 1];
  const next = ch[i + 1];
  if (prev?.text === ',' && ch[i - 2]?.named) return { start: ch[i - 2]!.end, end: kw.end };
  if (next?.text === ',') {
    const after = ch[i + 2];
    return { start: kw.start, end: after?.named ? after.start : next.end };
  }
  return { start: kw.start, end: kw.end };
}
