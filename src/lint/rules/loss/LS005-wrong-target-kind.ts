import { calleeName, keywordArg, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { losses, type LossKind } from '../../analysis/losses';
import { scopeOf } from '../../analysis/scopes';
import type { PyNode } from '../../parser';
import type { RawFix, Rule } from '../../types';

const TO_FLOAT = /^(float|double|half)$/;
const TO_INT = /^(long|int)$/;

interface Problem {
  node: PyNode;
  message: string;
  fix?: RawFix;
}

/** Follows one simple assignment: `t = F.one_hot(y, 10)` then `criterion(out, t)`. */
function resolve(a: Analysis, n: PyNode | undefined): { expr: PyNode; local: boolean } | undefined {
  const e = unparen(n);
  if (!e) return undefined;
  if (e.type === 'identifier') {
    const v = unparen(a.scopes.valueAt(e.text, e) ?? undefined);
    return v ? { expr: v, local: false } : undefined;
  }
  return { expr: e, local: true };
}

function isOneHot(a: Analysis, e: PyNode): boolean {
  return e.type === 'call' && a.callee(e) === 'torch.nn.functional.one_hot';
}

function check(a: Analysis, kind: LossKind, target: PyNode): Problem | undefined {
  const r = resolve(a, target);
  if (!r) return undefined;
  const e = r.expr;
  const method = e.type === 'call' && e.child('function')?.type === 'attribute' && !a.qname(e.child('function')) ? calleeName(e) : undefined;
  const inner = method ? unparen(receiver(e)) : undefined;
  if (kind === 'cross_entropy' || kind === 'nll') {
    const name = kind === 'nll' ? 'NLLLoss' : 'CrossEntropyLoss';
    // One-hot (long) targets: class-index losses need [N] indices; CrossEntropyLoss takes float probabilities only.
    if (isOneHot(a, e) || (method && TO_INT.test(method) && inner && isOneHot(a, inner))) {
      const oh = isOneHot(a, e) ? e : inner!;
      const idx = positionalArgs(oh)[0];
      return {
        node: target,
        message: `${name} gets one-hot targets (${oh.text}); it expects class indices of shape [N]. Pass the indices${kind === 'cross_entropy' ? ' (or float probabilities)' : ''}.`,
        fix: r.local && idx ? { title: `Pass the class indices ${idx.text}`, edits: [{ start: target.start, end: target.end, newText: idx.text }] } : undefined,
      };
    }
    if (kind === 'nll' && method && TO_FLOAT.test(method) && inner) {
      const fn = e.child('function')!.child('attribute')!;
      return {
        node: target,
        message: `NLLLoss needs integer class indices, but the target is converted with .${method}(): this raises "expected scalar type Long". Use .long().`,
        fix: r.local ? { title: 'Use .long()', edits: [{ start: fn.start, end: fn.end, newText: 'long' }] } : undefined,
      };
    }
    if (kind === 'nll' && method && TO_FLOAT.test(method) && !inner) return undefined;
    // torch.max(t, 1)[0] / t.max(1)[0]: the maximum values, not the indices
    if (e.type === 'subscript' && e.child('subscript')?.text === '0') {
      const v = unparen(e.child('value'));
      if (v?.type === 'call' && (a.callee(v) === 'torch.max' ? positionalArgs(v).length === 2 : !a.callee(v) && calleeName(v) === 'max' && positionalArgs(v).length === 1)) {
        const sub = e.child('subscript')!;
        return {
          node: target,
          message: `The target is ${e.text}, the maximum values (all 1 for one-hot labels), not the class indices: use [1] (or argmax).`,
          fix: r.local ? { title: 'Use the indices ([1])', edits: [{ start: sub.start, end: sub.end, newText: '1' }] } : undefined,
        };
      }
    }
    return undefined;
  }
  // BCE / BCEWithLogits: float targets of the input's shape.
  if (method && TO_INT.test(method) && inner) {
    const fn = e.child('function')!.child('attribute')!;
    const name = kind === 'bce' ? 'BCELoss' : 'BCEWithLogitsLoss';
    return {
      node: target,
      message: `${name} needs float targets, but the target is converted with .${method}(): this raises a dtype error. Use .float().`,
      fix: r.local ? { title: 'Use .float()', edits: [{ start: fn.start, end: fn.end, newText: 'float' }] } : undefined,
    };
  }
  return undefined;
}

const SPARSE_LOSS = /^['"]sparse_categorical_crossentropy['"]$|SparseCategoricalCrossentropy\(/;

/**
 * The `compile` in effect for a `fit`: the latest `compile` on the same receiver before it, on the same binding of the
 * name (`model = build(); model.compile(...)` then a later `model = other()` starts over). When none precedes it and the
 * receiver was returned by a function of this file, that function's last `compile`.
 */
function compileFor(a: Analysis, fit: PyNode, compiles: PyNode[]): PyNode | undefined {
  const recv = receiver(fit);
  if (!recv) return undefined;
  const binding = recv.type === 'identifier' ? a.scopes.valueAt(recv.text, fit) : undefined;
  let found: PyNode | undefined;
  for (const c of compiles) {
    if (c.start >= fit.start) break;
    const r = receiver(c);
    if (r?.text !== recv.text || scopeOf(c) !== scopeOf(fit)) continue;
    if (recv.type === 'identifier' && a.scopes.valueAt(recv.text, c) !== binding) continue;
    found = c;
  }
  if (found) return found;
  const v = unparen(binding ?? undefined);
  const fn = v?.type === 'call' ? v.child('function') : undefined;
  const defs = fn?.type === 'identifier' ? a.functions.get(fn.text) : undefined;
  if (defs?.length !== 1) return undefined;
  const def = defs[0]!;
  return compiles.filter((c) => c.start > def.start && c.end <= def.end).pop();
}

/** Keras: `loss='sparse_categorical_crossentropy'` compiled, and `fit` given labels built with `to_categorical`. */
function kerasSparseWithOneHot(a: Analysis, report: (n: PyNode, message: string) => void): void {
  const compiles = a.callsNamed('compile').filter((c) => keywordArg(c, 'loss') !== undefined);
  if (!compiles.some((c) => SPARSE_LOSS.test(keywordArg(c, 'loss')!.text))) return;
  compiles.sort((x, y) => x.start - y.start);
  for (const c of a.callsNamed('fit')) {
    if (!receiver(c)) continue;
    const y = positionalArgs(c)[1] ?? keywordArg(c, 'y');
    let v = unparen(y);
    if (v?.type === 'identifier') v = unparen(a.scopes.valueAt(v.text, v) ?? undefined);
    if (v?.type !== 'call' || calleeName(v) !== 'to_categorical') continue;
    const compile = compileFor(a, c, compiles);
    const loss = compile ? keywordArg(compile, 'loss') : undefined;
    if (!loss || !SPARSE_LOSS.test(loss.text)) continue;
    report(y!, `The model is compiled with sparse_categorical_crossentropy (integer labels) but fit gets one-hot labels from to_categorical: use categorical_crossentropy, or pass the integer labels.`);
  }
}

export const LS005: Rule = {
  meta: {
    id: 'LS005',
    name: 'wrong-target-kind',
    group: 'loss',
    defaultSeverity: 'error',
    summary: 'The loss target has the wrong kind: one-hot or float targets for a class-index loss, integer targets for BCE.',
    why:
      '`CrossEntropyLoss` and `NLLLoss` take class **indices** (`long`, shape `[N]`); `CrossEntropyLoss` also accepts float ' +
      'class probabilities of the input\'s shape, `NLLLoss` does not. `BCELoss` / `BCEWithLogitsLoss` take **float** targets. ' +
      'Mixing them up (passing `F.one_hot(y)`, `y.float()` to NLLLoss, `y.long()` to BCE, or `t.max(1)[0]`, the values, where ' +
      '`t.max(1)[1]`, the indices, was meant) either raises a shape/dtype error or silently trains against the wrong labels. ' +
      'Descent reports only conversions it can see in the file.',
    wrong: 'criterion = nn.BCEWithLogitsLoss()\nloss = criterion(model(x).squeeze(1), y.long())',
    right: 'criterion = nn.BCEWithLogitsLoss()\nloss = criterion(model(x).squeeze(1), y.float())',
    concept: 'Loss functions: targets as class indices, probabilities or binary labels',
    fixable: true,
  },
  check(ctx) {
    const a = ctx.analysis;
    kerasSparseWithOneHot(a, (node, message) => ctx.report({ node, message }));
    for (const c of losses(a).calls) {
      const target = positionalArgs(c.call)[1] ?? keywordArg(c.call, 'target');
      if (!target) continue;
      const p = check(a, c.kind, target);
      if (p) ctx.report({ node: p.node, message: p.message, fixes: p.fix ? [p.fix] : undefined });
    }
  },
};
