import { calleeName, keywordArg, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { losses, type LossKind } from '../../analysis/losses';
import { operatorOf } from '../../analysis/order';
import { callbackArguments } from '../../analysis/callbacks';
import { fileFunctionOf } from '../../analysis/calls';
import { returnValues } from '../../analysis/modules';
import { parameterArguments } from '../../analysis/parameters';
import { elementBefore } from '../../analysis/values';
import type { PyNode } from '../../parser';
import type { RawFix, Rule, RuleContext } from '../../types';
import { argmaxOverBatchDim } from './EV011-argmax-over-batch-dim';
import { emptyListAt } from './EV015-ranking-metric-on-hard-labels';

const PASS = new Set(['squeeze', 'view', 'reshape', 'flatten', 'float', 'cpu', 'detach', 'contiguous', 'clone', 'cuda', 'to']);

/** Strips shape-only methods and `.data`: `out.squeeze(1).cpu()` -> `out`. */
function base(n: PyNode | undefined): PyNode | undefined {
  let e = unparen(n);
  for (;;) {
    if (e?.type === 'attribute' && e.child('attribute')?.text === 'data') e = unparen(e.child('object'));
    else if (e?.type === 'call' && e.child('function')?.type === 'attribute' && PASS.has(calleeName(e) ?? '')) e = unparen(receiver(e));
    else return e;
  }
}

/** The model call an expression holds: `out` bound to `model(x)` -> `model`; a direct `model(x)` -> `model`. */
function modelCallee(a: Analysis, n: PyNode): string | undefined {
  let e = base(n);
  if (e?.type === 'identifier') e = base(a.scopes.valueAt(e.text, e) ?? undefined);
  if (e?.type !== 'call') return undefined;
  const f = e.child('function');
  if (!f || a.qname(f)) return undefined; // torch.* and other library calls are not the model
  if (f.type === 'identifier' || (f.type === 'attribute' && f.child('object')?.text === 'self')) {
    if (f.type === 'identifier' && (a.functions.has(f.text) || a.moduleClass(f.text))) return undefined;
    return f.text;
  }
  return undefined;
}

interface Source {
  /** The identifier passed to the loss, with its binding. */
  name?: string;
  binding?: PyNode | null;
  /** The model that produced it, when known. */
  model?: string;
}

const sourceCache = new WeakMap<Analysis, Map<LossKind, Source[]>>();

function sourcesOf(a: Analysis, kind: LossKind): Source[] {
  let m = sourceCache.get(a);
  if (!m) sourceCache.set(a, (m = new Map()));
  let list = m.get(kind);
  if (!list) m.set(kind, (list = computeSources(a, kind)));
  return list;
}

function computeSources(a: Analysis, kind: LossKind): Source[] {
  const l = losses(a);
  const out: Source[] = [];
  for (const c of l.calls) {
    if (c.kind !== kind) continue;
    const flowKind = l.flow.of(c.input).kind;
    if (flowKind !== 'unknown' && flowKind !== 'logits') continue;
    const b = base(c.input);
    const src: Source = { model: modelCallee(a, c.input) };
    if (b?.type === 'identifier' && (kind !== 'cross_entropy' || unparen(c.input) === b)) {
      src.name = b.text;
      src.binding = a.scopes.valueAt(b.text, b);
    }
    // CrossEntropyLoss: only an output passed as is has its classes on dim 1.
    if (kind === 'cross_entropy' && unparen(c.input) !== b) src.model = undefined;
    if (src.name || src.model) out.push(src);
  }
  return out;
}

const LOGIT_NAME = /^logits?$|_logits?$|^logits?_/i;
const MODEL_NAME = /model|net|clf|classifier/i;

/** The file's binary loss is BCEWithLogitsLoss (built or called), and it never uses BCELoss. */
const withLogitsOnly = new WeakMap<Analysis, boolean>();
function fileUsesLogitsLoss(a: Analysis): boolean {
  let v = withLogitsOnly.get(a);
  if (v === undefined) {
    let logits = false;
    let probs = false;
    for (const c of a.index.of('call')) {
      const q = a.callee(c);
      if (q === 'torch.nn.BCEWithLogitsLoss' || q === 'torch.nn.functional.binary_cross_entropy_with_logits') logits = true;
      if (q === 'torch.nn.BCELoss' || q === 'torch.nn.functional.binary_cross_entropy') probs = true;
    }
    withLogitsOnly.set(a, (v = logits && !probs));
  }
  return v;
}

/** Without a loss call to follow: a name that says logits, or a model's raw output, in a file that trains with BCEWithLogitsLoss. */
function looksLikeLogits(a: Analysis, expr: PyNode | undefined): boolean {
  const b = base(expr);
  if (!b || !fileUsesLogitsLoss(a)) return false;
  const kind = losses(a).flow.of(b).kind;
  if (kind !== 'unknown' && kind !== 'logits') return false;
  if (b.type === 'identifier' && LOGIT_NAME.test(b.text)) {
    const v = base(a.scopes.valueAt(b.text, b) ?? undefined);
    // bound to something we can see: it must be a model call, not e.g. torch.sigmoid(...) under a misleading name
    return !v || (v.type === 'call' && !a.qname(v.child('function')));
  }
  const m = modelCallee(a, b);
  return m !== undefined && MODEL_NAME.test(m);
}

const CONCAT = new Set(['torch.cat', 'torch.concat', 'torch.stack', 'torch.vstack', 'torch.hstack', 'numpy.concatenate', 'numpy.vstack', 'numpy.hstack', 'numpy.stack']);

/**
 * `torch.cat(outs)` of a list that starts empty (`outs = []`) and grows only by `outs.append(x)`: the appended
 * items (undefined when the list is filled any other way).
 */
function concatenatedItems(a: Analysis, expr: PyNode | undefined): PyNode[] | undefined {
  const b = base(expr);
  if (b?.type !== 'call' || !CONCAT.has(a.callee(b) ?? '')) return undefined;
  const list = unparen(positionalArgs(b)[0]);
  const empty = list?.type === 'identifier' ? emptyListAt(a, list.text, list) : undefined;
  if (!empty) return undefined;
  const fills = (r: PyNode | undefined) => r?.type === 'identifier' && r.text === list!.text && emptyListAt(a, r.text, r) === empty;
  if (a.callsNamed('extend').some((c) => fills(receiver(c))) || a.callsNamed('insert').some((c) => fills(receiver(c)))) return undefined;
  if (a.index.of('augmented_assignment').some((s) => fills(s.child('left')))) return undefined;
  const items: PyNode[] = [];
  for (const c of a.callsNamed('append')) {
    if (!fills(receiver(c))) continue;
    const args = positionalArgs(c);
    if (args.length !== 1) return undefined;
    items.push(args[0]!);
  }
  return items.length ? items : undefined;
}

/** How many steps `matches` follows (parameters, helpers' returns, bindings, concatenations). */
const MAX_STEPS = 6;

/** `binaryLogits`: the BCE check, which may also use the file-level evidence of `looksLikeLogits`. */
function matches(a: Analysis, expr: PyNode | undefined, sources: Source[], binaryLogits = false, depth = 0): boolean {
  if (matchesSource(a, expr, sources) || (binaryLogits && looksLikeLogits(a, expr))) return true;
  if (depth >= MAX_STEPS) return false;
  // `torch.cat(outputs)` of the batches' outputs: logits when every appended one is.
  const items = concatenatedItems(a, expr);
  if (items) return items.every((item) => matches(a, item, sources, binaryLogits, depth + 1));
  // `def binary_acc(y_pred, y): (y_pred > 0.5)`: the scores every call site passes.
  const args = parameterOf(a, expr);
  if (args) return args.length > 0 && args.every((arg) => matches(a, arg, sources, binaryLogits, depth + 1));
  const b = base(expr);
  if (b?.type !== 'identifier') return false;
  // `_, y_hat = run_epoch(...)`: the same element of each tuple the helper returns.
  const returned = returnedElements(a, b);
  if (returned) return returned.length > 0 && returned.every((r) => matches(a, r, sources, binaryLogits, depth + 1));
  // `scores = torch.cat(outs)`: what the name was bound to.
  const v = a.scopes.valueAt(b.text, b);
  return !!v && unparen(v)?.type === 'call' && matches(a, v, sources, binaryLogits, depth + 1);
}

/** The arguments a helper's parameter receives, when `expr` (shape methods aside) reads one: direct calls, or calls through a parameter it is passed for. */
function parameterOf(a: Analysis, expr: PyNode | undefined): readonly PyNode[] | undefined {
  const b = base(expr);
  if (b?.type !== 'identifier' || a.scopes.valueAt(b.text, b) !== null || elementBefore(a, b)) return undefined;
  return parameterArguments(a, b) ?? callbackArguments(a, b);
}

/** `model, loss, y, y_hat = run_epoch(...)` with `run_epoch` a function of the file: element 3 of each tuple it returns. */
function returnedElements(a: Analysis, id: PyNode): PyNode[] | undefined {
  const el = elementBefore(a, id);
  const src = unparen(el?.source);
  if (!el || typeof el.index !== 'number' || src?.type !== 'call') return undefined;
  const fn = fileFunctionOf(src, a);
  if (!fn) return undefined;
  const out: PyNode[] = [];
  for (const r of returnValues(fn)) {
    const t = unparen(r);
    const item = t?.type === 'tuple' || t?.type === 'expression_list' ? t.namedChildren.filter((c) => c.type !== 'comment')[el.index] : undefined;
    if (!item) return undefined;
    out.push(item);
  }
  return out;
}

function matchesSource(a: Analysis, expr: PyNode | undefined, sources: Source[]): boolean {
  const b = base(expr);
  if (!b) return false;
  if (b.type === 'identifier') {
    const binding = a.scopes.valueAt(b.text, b);
    if (sources.some((s) => s.name === b.text && s.binding === binding && binding !== undefined)) return true;
  }
  const m = modelCallee(a, b);
  if (!m) return false;
  // A sigmoid/softmax applied to it on the way is a probability, not this rule.
  return sources.some((s) => s.model === m);
}

const HALF = /^0?\.50*$/;

function thresholdFix(num: PyNode): RawFix {
  return { title: 'Threshold logits at 0 (same as sigmoid > 0.5)', edits: [{ start: num.start, end: num.end, newText: '0' }] };
}

function checkThreshold(n: PyNode, a: Analysis, ctx: RuleContext, bce: Source[]): void {
  if (n.type === 'comparison_operator') {
    const op = operatorOf(n);
    const [l, r] = n.namedChildren;
    if (!l || !r || n.namedChildren.length !== 2) return;
    if ((op === '>' || op === '>=') && HALF.test(r.text) && matches(a, l, bce, true)) {
      ctx.report({ node: n, message: `${l.text} holds logits (it goes to BCEWithLogitsLoss), so "> 0.5" is the wrong threshold: compare with 0, or apply torch.sigmoid first.`, fixes: [thresholdFix(r)] });
    } else if ((op === '<' || op === '<=') && HALF.test(l.text) && matches(a, r, bce, true)) {
      ctx.report({ node: n, message: `${r.text} holds logits (it goes to BCEWithLogitsLoss), so comparing with 0.5 is the wrong threshold: compare with 0, or apply torch.sigmoid first.`, fixes: [thresholdFix(l)] });
    }
    return;
  }
  const gt = thresholdCall(n, a);
  if (gt && matches(a, gt.scores, bce, true)) {
    ctx.report({ node: n, message: `${gt.scores.text} holds logits (it goes to BCEWithLogitsLoss), so thresholding it at 0.5 is the wrong scale: compare with 0, or apply torch.sigmoid first.`, fixes: [thresholdFix(gt.threshold)] });
    return;
  }
  // torch.round(logits) / logits.round()
  const q = a.callee(n);
  const arg = q === 'torch.round' ? positionalArgs(n)[0] : calleeName(n) === 'round' && !q ? receiver(n) : undefined;
  if (arg && matches(a, arg, bce, true)) {
    const torch = a.imports.localName('torch') ?? 'torch';
    const fix: RawFix = { title: 'Apply torch.sigmoid before rounding', edits: [{ start: arg.start, end: arg.end, newText: `${torch}.sigmoid(${arg.text})` }] };
    ctx.report({ node: n, message: `Rounding ${arg.text}, which holds logits (it goes to BCEWithLogitsLoss), thresholds at 0.5 on the wrong scale: apply torch.sigmoid first.`, fixes: [fix] });
  }
}

const GREATER = new Set(['gt', 'ge', 'greater', 'greater_equal']);

/** `scores.ge(0.5)`, `torch.gt(scores, 0.5)`: the comparison with 0.5 written as a call. */
function thresholdCall(n: PyNode, a: Analysis): { scores: PyNode; threshold: PyNode } | undefined {
  const name = calleeName(n);
  if (!name || !GREATER.has(name)) return undefined;
  const q = a.callee(n);
  const args = positionalArgs(n);
  const [scores, threshold] = q === 'torch.' + name ? [args[0], args[1] ?? keywordArg(n, 'other')] : !q ? [receiver(n), args[0] ?? keywordArg(n, 'other')] : [];
  return scores && threshold && HALF.test(threshold.text) ? { scores, threshold } : undefined;
}

/** `out.argmax(0)`, `torch.argmax(out, dim=0)`, `torch.max(out, 0)`, `out.max(0)`: the reduced axis, when literal 0. */
function argmaxDim0(n: PyNode, a: Analysis): { target: PyNode; dim: PyNode } | undefined {
  const q = a.callee(n);
  const name = calleeName(n);
  let target: PyNode | undefined;
  let dim: PyNode | undefined;
  if (q === 'torch.argmax' || q === 'torch.max') {
    target = positionalArgs(n)[0];
    dim = positionalArgs(n)[1] ?? keywordArg(n, 'dim');
  } else if (!q && (name === 'argmax' || name === 'max')) {
    target = receiver(n);
    dim = positionalArgs(n)[0] ?? keywordArg(n, 'dim');
  }
  if (!target || dim?.text !== '0') return undefined;
  return { target, dim };
}

/**
 * What EV006 can report on, seen from the node alone: a comparison with 0.5 (`x > 0.5`, `0.5 < x`), a rounding
 * (`torch.round(x)`, `x.round()`) or an argmax/max over dim 0. Whether `x` holds logits reads the whole file.
 */
function mayReport(n: PyNode, a: Analysis): boolean {
  if (n.type === 'comparison_operator') {
    const op = operatorOf(n);
    const [l, r] = n.namedChildren;
    if (!l || !r || n.namedChildren.length !== 2) return false;
    return ((op === '>' || op === '>=') && HALF.test(r.text)) || ((op === '<' || op === '<=') && HALF.test(l.text));
  }
  const q = a.callee(n);
  return q === 'torch.round' || (calleeName(n) === 'round' && !q) || thresholdCall(n, a) !== undefined || argmaxDim0(n, a) !== undefined;
}

/**
 * EV006's second case: `argmax(0)` of scores that go to CrossEntropyLoss in this file, when EV011 does not report it
 * (a model output reduced in a batch loop is EV011's, whose message names the fix directly).
 */
function argmaxOverBatchOfLogits(n: PyNode, a: Analysis): { target: PyNode; dim: PyNode } | undefined {
  if (!losses(a).calls.some((c) => c.kind === 'cross_entropy')) return undefined;
  if (argmaxOverBatchDim(n, a)) return undefined;
  const hit = argmaxDim0(n, a);
  return hit && matches(a, hit.target, sourcesOf(a, 'cross_entropy')) ? hit : undefined;
}

export const EV006: Rule = {
  meta: {
    id: 'EV006',
    name: 'metric-on-logits',
    group: 'evaluation',
    defaultSeverity: 'warning',
    summary: 'Accuracy thresholds raw logits at 0.5, or takes argmax over the batch axis.',
    why:
      'With `BCEWithLogitsLoss` the model outputs logits, not probabilities: `logits > 0.5` means probability > 0.62, so ' +
      'borderline positives are counted as negatives and the reported accuracy (and any tuned threshold) is wrong. Compare ' +
      'logits with 0, or apply `torch.sigmoid` first. Likewise the class scores passed to `CrossEntropyLoss` are ' +
      '`[batch, classes]`: `argmax(dim=0)` picks, for each class, the sample with the highest score, which is not a ' +
      'prediction at all. Descent reports it only for outputs that go to those losses in this file, followed through ' +
      'helpers (their parameters, also when the metric is passed as a function, and the tuples they return), and for ' +
      '`> 0.5`, `.gt(0.5)`/`.ge(0.5)` and rounding.',
    wrong: 'criterion = nn.BCEWithLogitsLoss()\nout = model(x)\nloss = criterion(out, y)\npreds = out > 0.5',
    right: 'criterion = nn.BCEWithLogitsLoss()\nout = model(x)\nloss = criterion(out, y)\npreds = torch.sigmoid(out) > 0.5',
    concept: 'Evaluation: logits, probabilities and decision thresholds',
    fixable: true,
  },
  nodeTypes: ['comparison_operator', 'call'],
  candidate: { reads: ['imports'], test: (n, ctx) => mayReport(n, ctx.analysis) },
  visit(n, ctx) {
    const a = ctx.analysis;
    if (!mayReport(n, a)) return;
    const kinds = losses(a).calls;
    if (kinds.some((c) => c.kind === 'bce_with_logits') || fileUsesLogitsLoss(a)) {
      checkThreshold(n, a, ctx, sourcesOf(a, 'bce_with_logits'));
    }
    if (kinds.length === 0) return;
    if (n.type === 'call') {
      const hit = argmaxOverBatchOfLogits(n, a);
      if (hit) {
        ctx.report({
          node: n,
          message: `${hit.target.text} is [batch, classes] (it goes to CrossEntropyLoss): reducing dim=0 takes the max over the batch. Use dim=1.`,
          fixes: [{ title: 'Reduce over the class axis (dim=1)', edits: [{ start: hit.dim.start, end: hit.dim.end, newText: '1' }] }],
        });
      }
    }
  },
};
