import { calleeName, callsWithin, keywordArg, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { gradOffRegion, isBackpropagated, operatorOf } from '../../analysis/order';
import { parameterArguments } from '../../analysis/parameters';
import { gradientStatus, type GradientCut, type GradientStatus } from '../../analysis/gradientCuts';
import { reachingDefs } from '../../analysis/reaching';
import { backwardTensor, innermostLoop, isBackward } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { Rule, RuleContext } from '../../types';

/** Losses that train the model: a `torch.nn.*Loss` module or a functional loss of torch.nn.functional. */
const LOSS_FN = /^torch\.nn\.functional\.(cross_entropy|nll_loss|binary_cross_entropy(_with_logits)?|mse_loss|l1_loss|smooth_l1_loss|huber_loss|kl_div|soft_margin_loss|multilabel_soft_margin_loss|poisson_nll_loss|gaussian_nll_loss|multi_margin_loss|hinge_embedding_loss|cosine_embedding_loss|margin_ranking_loss|triplet_margin_loss|ctc_loss)$/;
const LOSS_CLASS = /^torch\.nn\.\w+Loss$/;

/** Methods / functions whose result carries no gradient back to the prediction. */
const CUT_METHODS = new Set(['argmax', 'argmin', 'round', 'item', 'detach', 'numpy', 'tolist', 'argsort', 'sign']);
const CUT_FNS = new Set(['torch.argmax', 'torch.argmin', 'torch.round', 'torch.sign', 'torch.argsort', 'numpy.argmax', 'numpy.round', 'numpy.array', 'numpy.asarray']);
const PASS_METHODS = new Set(['view', 'reshape', 'squeeze', 'unsqueeze', 'flatten', 'float', 'double', 'long', 'to', 'contiguous', 'cpu', 'cuda', 'type', 'view_as', 'reshape_as']);

/** `_, preds = torch.max(out, 1)` / `out.max(1)` / `out.topk(k)`: `preds` is the indices (second) element. */
function unpackedIndices(a: Analysis, id: PyNode): Cut | undefined {
  const scope = id.ancestor('function_definition') ?? id.ancestor('module');
  let found: Cut | undefined;
  let bestStart = -1;
  scope?.walk((n) => {
    if (n.type === 'function_definition' && n !== scope) return false;
    if (n.type !== 'assignment' || n.start >= id.start || n.start < bestStart) return;
    const left = n.child('left');
    const right = unparen(n.child('right'));
    if ((left?.type !== 'pattern_list' && left?.type !== 'tuple_pattern') || right?.type !== 'call') return;
    const names = left.namedChildren;
    const i = names.findIndex((x) => x.type === 'identifier' && x.text === id.text);
    if (i < 0) return;
    bestStart = n.start;
    const q = a.callee(right);
    const m = q ? undefined : calleeName(right);
    const isMax = q === 'torch.max' ? positionalArgs(right).length === 2 || keywordArg(right, 'dim') !== undefined : m === 'max' && receiver(right) !== undefined && positionalArgs(right).length + (keywordArg(right, 'dim') ? 1 : 0) === 1;
    const isTopk = q === 'torch.topk' || (m === 'topk' && receiver(right) !== undefined);
    found = i === 1 && names.length === 2 && (isMax || isTopk) ? { node: right, what: `the indices of ${right.text}` } : undefined;
  });
  return found;
}

function isLossCallee(a: Analysis, callee: PyNode | undefined, depth = 0): boolean {
  const c = unparen(callee);
  if (!c || depth > 3) return false;
  const q = a.qname(c);
  if (q && LOSS_FN.test(q)) return true;
  if (c.type === 'call') return LOSS_CLASS.test(a.callee(c) ?? '');
  if (c.type === 'identifier') {
    const v = a.scopes.valueAt(c.text, c);
    return v ? isLossCallee(a, v, depth + 1) : false;
  }
  return false;
}

/** A loss callable this file does not show by its name: `loss_fn` / `criterion` passed in, imported or never bound. */
const LOSS_NAME = /loss|criterion|^crit$/i;

/**
 * Statement-local part of `unresolvedLoss`: an identifier named like a loss with no value here (a parameter, an
 * import, or unbound).
 */
function mayBeUnresolvedLoss(a: Analysis, callee: PyNode | undefined): boolean {
  const c = unparen(callee);
  return c?.type === 'identifier' && LOSS_NAME.test(c.text) && !a.scopes.valueAt(c.text, c);
}

/**
 * `loss_fn(preds, y)` with `loss_fn` unresolved: not a function or class of this file, and when it is a parameter
 * the file calls with arguments, each of them a torch loss.
 */
function unresolvedLoss(a: Analysis, callee: PyNode | undefined): boolean {
  const c = unparen(callee);
  if (!c || !mayBeUnresolvedLoss(a, c) || a.functions.has(c.text) || a.definesClass(c.text)) return false;
  if (a.scopes.valueAt(c.text, c) === undefined) return true;
  const args = parameterArguments(a, c);
  return !args || args.every((x) => isLossCallee(a, x));
}

/** Element functions that keep the prediction computed: `softmax(logits)` before the argmax. */
const ACTIVATIONS = /^torch\.(nn\.functional\.)?(softmax|log_softmax|sigmoid|tanh)$/;

/**
 * Whether the value a cut is applied to is computed by a model (`model(x).argmax(1)`, `torch.softmax(logits, 1).round()`
 * with `logits = net(x)`), not read from the data (`y.round()` of a loop target): for a loss callable of unknown
 * signature, the cut input must be a prediction.
 */
function fromModelCall(a: Analysis, e: PyNode | undefined, depth = 0): boolean {
  const x = unparen(e);
  if (!x || depth > 8) return false;
  if (x.type === 'identifier') {
    const v = a.scopes.valueAt(x.text, x);
    return v ? fromModelCall(a, v, depth + 1) : false;
  }
  if (x.type === 'attribute' || x.type === 'subscript') return fromModelCall(a, x.child(x.type === 'attribute' ? 'object' : 'value'), depth + 1);
  if (x.type !== 'call') return false;
  const fn = x.child('function');
  const q = a.callee(x);
  if (q && ACTIVATIONS.test(q)) return fromModelCall(a, positionalArgs(x)[0], depth + 1);
  if (q && CUT_FNS.has(q)) return fromModelCall(a, positionalArgs(x)[0], depth + 1);
  if (fn?.type === 'attribute') {
    const m = fn.child('attribute')?.text ?? '';
    if (PASS_METHODS.has(m) || CUT_METHODS.has(m) || m === 'softmax' || m === 'sigmoid') return fromModelCall(a, fn.child('object'), depth + 1);
    // `self.net(x)`: a layer or model of the class.
    return fn.child('object')?.text === 'self' && !q;
  }
  // `model(x)`, `net(x)`: a call of a name that is no torch function.
  return fn?.type === 'identifier' && !q?.startsWith('torch.') && !q?.startsWith('numpy.');
}

/** The expression a cut is applied to: the receiver of `.argmax()`, the argument of `torch.round(...)`, `x` of `x.data`. */
function cutOperand(cut: PyNode): PyNode | undefined {
  if (cut.type === 'attribute') return cut.child('object') ?? undefined;
  if (cut.type === 'comparison_operator') return cut.namedChildren[0];
  if (cut.type === 'subscript') return cut.child('value') ?? undefined;
  if (cut.type !== 'call') return undefined;
  const fn = cut.child('function');
  return fn?.type === 'attribute' ? (fn.child('object') ?? undefined) : positionalArgs(cut)[0];
}

interface Cut {
  node: PyNode;
  what: string;
}

/** Where the prediction's gradient is cut: `.argmax()`, `torch.round(...)`, `.detach()`, `.item()`, `.data`, `x > 0.5`. */
function cutIn(a: Analysis, expr: PyNode | undefined, depth = 0): Cut | undefined {
  const e = unparen(expr);
  if (!e || depth > 6) return undefined;
  if (e.type === 'identifier') {
    const v = a.scopes.valueAt(e.text, e);
    if (v) return cutIn(a, v, depth + 1);
    return v === null ? unpackedIndices(a, e) : undefined;
  }
  if (e.type === 'attribute' && e.child('attribute')?.text === 'data') return { node: e, what: '.data' };
  if (e.type === 'comparison_operator') return { node: e, what: 'a comparison' };
  if (e.type === 'subscript') {
    // torch.max(out, 1)[1] / out.max(1)[1]: indices
    const v = unparen(e.child('value'));
    const idx = e.child('subscript')?.text;
    if (v?.type === 'call' && idx === '1' && (a.callee(v) === 'torch.max' || (calleeName(v) === 'max' && receiver(v) && positionalArgs(v).length === 1))) return { node: e, what: 'max(...)[1] (indices)' };
    return undefined;
  }
  if (e.type !== 'call') return undefined;
  const q = a.callee(e);
  if (q && CUT_FNS.has(q)) return { node: e, what: `${q.split('.').pop()}()` };
  if (q === 'torch.tensor' || q === 'torch.Tensor' || q === 'torch.FloatTensor' || q === 'torch.LongTensor' || q === 'torch.from_numpy' || q === 'torch.as_tensor') {
    const inner = cutIn(a, positionalArgs(e)[0], depth + 1);
    return inner ? { node: inner.node, what: inner.what } : undefined;
  }
  if (q) return undefined;
  const fn = e.child('function');
  if (fn?.type !== 'attribute') return undefined;
  const m = fn.child('attribute')?.text ?? '';
  if (CUT_METHODS.has(m)) return { node: e, what: `.${m}()` };
  if (PASS_METHODS.has(m)) return cutIn(a, fn.child('object'), depth + 1);
  return undefined;
}

/** Names `.backward()` is called on in a scope. */
function backwardNames(scope: PyNode): Set<string> {
  const out = new Set<string>();
  scope.walk((n) => {
    if (n.type === 'call' && isBackward(n)) {
      const r = unparen(receiver(n));
      if (r?.type === 'identifier') out.add(r.text);
    }
  });
  return out;
}

/**
 * `loss.requires_grad = True` / `loss = Variable(loss, requires_grad=True)` / `torch.tensor(loss, requires_grad=True)` on
 * the tensor that is back-propagated: PyTorch only allows it on a leaf, so the loss is no longer connected to the model.
 */
function forcedRequiresGrad(asg: PyNode, ctx: RuleContext): void {
  const name = forcedName(asg, ctx.analysis);
  if (!name) return;
  const scope = asg.ancestor('function_definition') ?? asg.ancestor('module');
  if (!scope || !backwardNames(scope).has(name)) return;
  ctx.report({
    node: asg,
    message: `Forcing requires_grad on ${name} makes it a new leaf cut off from the model: backward() runs but no weight gets a gradient. Find the op that detached the loss (argmax, .item(), .numpy(), torch.tensor(...)) and compute the loss on the logits instead.`,
  });
}

/** The loss-like name an assignment forces requires_grad on (`loss.requires_grad = True`, `loss = Variable(loss, ...)`). */
function forcedName(asg: PyNode, a: Analysis): string | undefined {
  const left = asg.child('left');
  const right = unparen(asg.child('right'));
  if (!left || !right) return undefined;
  let name: string | undefined;
  if (left.type === 'attribute' && left.child('attribute')?.text === 'requires_grad' && right.text === 'True' && left.child('object')?.type === 'identifier') {
    name = left.child('object')!.text;
  } else if (left.type === 'identifier' && right.type === 'call' && keywordArg(right, 'requires_grad')?.text === 'True') {
    const q = a.callee(right) ?? '';
    if (!/^torch\.(autograd\.)?(Variable|tensor)$|^torch\.autograd\.variable\.Variable$/.test(q)) return undefined;
    const arg = unparen(positionalArgs(right)[0]);
    // re-wrapping a loss value: `Variable(loss)`, `torch.tensor(loss.item())`
    if (!arg || !/loss/i.test(arg.text)) return undefined;
    name = left.text;
  }
  return name && /loss|cost/i.test(name) ? name : undefined;
}

/** `+=` / `-=` of `name` in `scope` between two offsets: more terms of the same sum. */
function addedTerms(a: Analysis, scope: PyNode, name: string, from: number, to: number): PyNode[] {
  const out: PyNode[] = [];
  for (const n of a.index.of('augmented_assignment')) {
    if (n.start < from || n.end > to || n.child('left')?.text !== name) continue;
    if ((n.ancestor('function_definition') ?? n.ancestor('module')) !== scope) continue;
    const op = operatorOf(n);
    const right = n.child('right');
    if ((op === '+=' || op === '-=') && right) out.push(right);
  }
  return out;
}

/**
 * The terms summed into the tensor a backward call back-propagates: `a + b - c`, through a name bound to a sum and the
 * `loss += term` that follow its binding. A product is one term (a weight times a term is still that term).
 */
function lossTerms(a: Analysis, expr: PyNode | undefined, at: PyNode, depth = 0): PyNode[] {
  const e = unparen(expr);
  if (!e) return [];
  if (e.type === 'binary_operator' && (operatorOf(e) === '+' || operatorOf(e) === '-')) return [...lossTerms(a, e.child('left'), at, depth), ...lossTerms(a, e.child('right'), at, depth)];
  if (e.type !== 'identifier' || depth > 2) return [e];
  // `if use_adv: loss = l1 + adv` / `else: loss = l1`: the terms of every assignment that reaches the read.
  const paths = rebound(a, e) ? reachingDefs(e) : undefined;
  if (paths && paths.length > 1 && paths.every((d) => d.value && d.index === undefined && d.value.parent?.type === 'assignment')) {
    return paths.flatMap((d) => lossTerms(a, d.value, d.value!, depth + 1));
  }
  const terms = nameTerms(a, e, at, depth);
  if (terms) return terms;
  // `loss = criterion(out, y)`: a loss call, checked where it is (and the common case: answered without reading the scope)
  const v = unparen(a.scopes.valueAt(e.text, at) ?? undefined);
  return [v && isLossCall(a, v) ? v : e];
}

/** The terms a name holds at `at`: its binding's (when a sum or followed by `+=`), `loss += t` adding `t`. */
function nameTerms(a: Analysis, id: PyNode, at: PyNode, depth: number): PyNode[] | undefined {
  const v = unparen(a.scopes.valueAt(id.text, at) ?? undefined);
  const binding = v?.parent;
  const scope = at.ancestor('function_definition') ?? at.ancestor('module');
  if (!v || !binding || !scope) return undefined;
  if (binding.type === 'augmented_assignment') {
    const op = operatorOf(binding);
    if (op !== '+=' && op !== '-=') return undefined;
    return [...(nameTerms(a, id, binding, depth + 1) ?? [id]), ...lossTerms(a, v, binding, depth + 1)];
  }
  if (binding.type !== 'assignment') return undefined;
  const added = addedTerms(a, scope, id.text, binding.end, at.start);
  const sum = v.type === 'binary_operator' && (operatorOf(v) === '+' || operatorOf(v) === '-');
  if (!sum && !added.length) return undefined;
  return [...(sum ? lossTerms(a, v, binding, depth + 1) : [v]), ...added.flatMap((t) => lossTerms(a, t, t, depth + 1))];
}

/** A term that is itself a loss call: its input is checked where the call is (the loss-call part of the rule). */
function isLossCall(a: Analysis, term: PyNode): boolean {
  return term.type === 'call' && (isLossCallee(a, term.child('function')) || unresolvedLoss(a, term.child('function')));
}

function shortText(n: PyNode): string {
  const t = n.text.replace(/\s+/g, ' ');
  return t.length > 50 ? `${t.slice(0, 47)}...` : t;
}

/** Terms of a back-propagated loss that carry no gradient: argmax/round/threshold/.item()/no_grad all the way down. */
function gradientFreeTerms(call: PyNode, ctx: RuleContext): void {
  const a = ctx.analysis;
  const tensor = backwardTensor(call);
  if (!tensor || gradOffRegion(a, call)) return;
  const terms = [...new Set(lossTerms(a, tensor, call))];
  for (const term of terms) {
    if (isLossCall(a, term)) continue;
    const s = termStatus(a, term, deliberateCut(a, isSubtracted(term)));
    if (typeof s !== 'object') continue;
    if (terms.length === 1) {
      if (forcedByName(a, term)) continue;
      ctx.report({ node: term, message: `The loss passed to backward() has no gradient: it goes through ${describe(s)}. backward() raises or trains nothing; compute the loss from the model's raw output with differentiable ops.` });
    } else {
      ctx.report({ node: term, message: `The loss term ${shortText(term)} has no gradient: it goes through ${describe(s)}, so it (and its weight) does not train the model. Build it from differentiable ops (probabilities, not argmax/thresholds) or leave it out.` });
    }
  }
}

/**
 * A term's gradient status; for a name that may carry a gradient by some binding of its function, what the bindings
 * that reach this read give (`adv = bce(...)` then `adv = adv.item()` before `loss = l1 + adv`).
 */
function termStatus(a: Analysis, term: PyNode, deliberate: ReturnType<typeof deliberateCut>, depth = 0): GradientStatus {
  const s = gradientStatus(a, term, deliberate);
  const t = unparen(term);
  // Only a name rebound to a detached value can differ path by path (the common term is answered by the first line).
  if (s !== 'may' || !t || depth > 3 || !anyRebound(a, t)) return s;
  // `0.05 * adv`: the operands' own answers (a weight times a constant is constant)
  if (t.type === 'binary_operator' || t.type === 'unary_operator') return firstCut(t.namedChildren.filter((c) => c.type !== 'comment').map((c) => termStatus(a, c, deliberate, depth + 1)));
  if (t.type !== 'identifier' || madeTrainable(a, t.text)) return s;
  const defs = reachingDefs(t);
  if (!defs?.length || defs.some((d) => !d.value || d.index !== undefined)) return s;
  return firstCut(defs.map((d) => gradientStatus(a, d.value, deliberate)));
}

/** Whether the binding of `id` that reaches it textually follows another binding of the same name in its function. */
function rebound(a: Analysis, id: PyNode): boolean {
  const v = a.scopes.valueAt(id.text, id);
  const binding = v?.parent;
  if (!v || !binding) return false;
  const before = a.scopes.valueAt(id.text, binding);
  return !!before && before.ancestor('function_definition') === id.ancestor('function_definition');
}

/** A value that reads as detached: `x.detach()`, `x.item()`, `float(x)`, `x.data`, `x.cpu().numpy()`. */
const DETACHED_TEXT = /\.(detach|item|numpy|tolist)\(\)|^float\(|\.data\b/;

/** Some name read in `e` (a term: `0.1 * adv`) is `rebound`, last to a value that reads as detached. */
function anyRebound(a: Analysis, e: PyNode): boolean {
  if (e.type === 'identifier') return DETACHED_TEXT.test(a.scopes.valueAt(e.text, e)?.text ?? '') && rebound(a, e);
  if (e.type !== 'binary_operator' && e.type !== 'unary_operator' && e.type !== 'parenthesized_expression') return false;
  return e.namedChildren.some((c) => anyRebound(a, c));
}

/** `x.requires_grad = True` / `x.requires_grad_()` somewhere in the file: what `x` was built from does not tell. */
function madeTrainable(a: Analysis, name: string): boolean {
  if (a.callsNamed('requires_grad_').some((c) => unparen(receiver(c))?.text === name)) return true;
  return a.index.of('assignment').some((asg) => asg.child('left')?.text === `${name}.requires_grad`);
}

/** 'may' when one may carry a gradient, else the first cut, else 'const'. */
function firstCut(list: GradientStatus[]): GradientStatus {
  if (list.includes('may')) return 'may';
  return list.find((x) => x !== 'const') ?? 'const';
}

/**
 * Whether a term is subtracted in the sum it belongs to: the right side of a `-` (an even number of them), a unary
 * minus, or the value of `loss -= term`.
 */
function isSubtracted(term: PyNode): boolean {
  let negated = false;
  for (let n = term, p = term.parent; p; n = p, p = p.parent) {
    if (p.type === 'parenthesized_expression') continue;
    if (p.type === 'unary_operator' && p.text.startsWith('-')) negated = !negated;
    else if (p.type === 'binary_operator' && (operatorOf(p) === '+' || operatorOf(p) === '-')) {
      if (operatorOf(p) === '-' && p.child('right') === n) negated = !negated;
    } else {
      if (p.type === 'augmented_assignment' && operatorOf(p) === '-=' && p.child('right') === n) negated = !negated;
      break;
    }
  }
  return negated;
}

/** Cuts that say "a constant here" outright: `.detach()`, `.data`, `.item()`, `float(...)`, `Variable(...)`, `torch.tensor(...)`. */
function explicitDetach(a: Analysis, cut: PyNode): boolean {
  if (cut.type === 'attribute') return cut.child('attribute')?.text === 'data';
  if (cut.type !== 'call') return false;
  const q = a.callee(cut);
  if (q) return /^torch\.(autograd\.(variable\.)?Variable|tensor|as_tensor|Tensor|FloatTensor)$/.test(q);
  const f = cut.child('function');
  if (f?.type === 'identifier') return f.text === 'float';
  return /^(detach|item)$/.test(calleeName(cut) ?? '');
}

/** Methods that keep a loss a loss: `loss.mean()`, `loss.detach().cpu()`. */
const LOSS_KEEPING = /^(detach|item|mean|sum|clone|cpu|float|double|squeeze|view|reshape|to)$/;

/**
 * Whether a value is a loss: a loss call, a name like `loss` / `prev_loss` / `cost`, and, through a name bound in its
 * function, sums and products of those with constants (`0.9 * baseline + 0.1 * loss`).
 */
function lossValue(a: Analysis, expr: PyNode | undefined, depth = 0): boolean {
  const e = unparen(expr);
  if (!e || depth > 4) return false;
  if (e.type === 'identifier') {
    if (/loss|cost/i.test(e.text)) return true;
    const v = a.scopes.valueAt(e.text, e);
    return !!v && lossValue(a, v, depth + 1);
  }
  if (e.type === 'attribute') return e.child('attribute')?.text === 'data' && lossValue(a, e.child('object'), depth + 1);
  if (e.type === 'call') {
    if (isLossCall(a, e)) return true;
    const f = e.child('function');
    return f?.type === 'attribute' && LOSS_KEEPING.test(f.child('attribute')?.text ?? '') && lossValue(a, f.child('object'), depth + 1);
  }
  if (e.type === 'binary_operator') {
    const sides = [e.child('left'), e.child('right')].filter((x) => !/^(integer|float)$/.test(unparen(x)?.type ?? ''));
    return sides.length > 0 && sides.every((x) => lossValue(a, x, depth + 1));
  }
  return false;
}

/**
 * The cuts a loss term may make on purpose: a detached copy of a loss (the previous loss, a running average of it)
 * is a baseline or a normaliser, and any explicitly detached value subtracted from the loss is a baseline
 * (`loss - baseline.detach()`): the term shifts the loss, it was never meant to train.
 */
function deliberateCut(a: Analysis, subtracted: boolean) {
  return (cut: PyNode, operand: PyNode | undefined) => explicitDetach(a, cut) && (subtracted || (lossValue(a, operand) && !lostLoss(a, cut, operand)));
}

/**
 * An added detached loss that is no baseline: `adv = bce(disc(fake), ones)` then `loss = l1 + adv.detach().item()`.
 * The detached name holds, on every path, a value computed earlier in the same iteration (not a previous loss, not a
 * parameter) whose graph no backward() of the function reaches: the term was meant to train and is lost.
 */
function lostLoss(a: Analysis, cut: PyNode, operand: PyNode | undefined): boolean {
  let x = unparen(operand);
  while (x?.type === 'call' && x.child('function')?.type === 'attribute' && LOSS_KEEPING.test(x.child('function')!.child('attribute')?.text ?? '')) x = unparen(x.child('function')!.child('object'));
  if (x?.type !== 'identifier') return false;
  const scope = cut.ancestor('function_definition') ?? cut.ancestor('module');
  const loop = innermostLoop(cut);
  const defs = reachingDefs(x);
  if (!scope || !defs?.length) return false;
  const fresh = defs.every((d) => d.value && d.value.end <= cut.start && (loop ? loop.start <= d.value.start : d.value.ancestor('function_definition') === cut.ancestor('function_definition')));
  if (!fresh) return false;
  const reached = backpropagatedValues(a, scope);
  return defs.every((d) => !reached.has(d.value!));
}

const reachedCache = new WeakMap<Analysis, Map<PyNode, Set<PyNode>>>();

/**
 * The expressions whose graph some backward() of `scope` reaches: from each back-propagated tensor through names
 * (every reaching assignment), operators and call arguments, stopping at explicit detaches. Generous on purpose: a
 * value found here is not reported as lost.
 */
function backpropagatedValues(a: Analysis, scope: PyNode): Set<PyNode> {
  let perLint = reachedCache.get(a);
  if (!perLint) reachedCache.set(a, (perLint = new Map()));
  const known = perLint.get(scope);
  if (known) return known;
  const out = new Set<PyNode>();
  perLint.set(scope, out);
  let budget = 600;
  const visit = (e: PyNode | undefined): void => {
    const x = unparen(e);
    if (!x || out.has(x) || --budget < 0) return;
    out.add(x);
    if (x.type === 'identifier') {
      const defs = reachingDefs(x);
      if (defs) for (const d of defs) visit(d.value);
      else visit(a.scopes.valueAt(x.text, x) ?? undefined);
      return;
    }
    if (x.type === 'call' && explicitDetach(a, x)) return;
    for (const c of x.namedChildren) if (c.type !== 'comment') visit(c.type === 'keyword_argument' ? c.child('value') : c);
  };
  for (const c of callsWithin(scope)) if (isBackward(c)) visit(backwardTensor(c));
  return out;
}

function describe(cut: GradientCut): string {
  return cut.node.text.length > 50 || cut.what === 'torch.no_grad()' ? cut.what : `${cut.what} in ${shortText(cut.node)}`;
}

/** A name bound by an assignment that forces requires_grad (reported by that part of the rule). */
function forcedByName(a: Analysis, term: PyNode): boolean {
  if (term.type !== 'identifier') return false;
  const v = a.scopes.valueAt(term.text, term);
  return v?.parent?.type === 'assignment' && forcedName(v.parent, a) !== undefined;
}

export const TL007: Rule = {
  meta: {
    id: 'TL007',
    name: 'loss-from-non-differentiable-ops',
    group: 'training-loop',
    defaultSeverity: 'error',
    summary: 'The prediction passed to the loss went through argmax/round/.item()/.detach()/.numpy(), which carry no gradient.',
    why:
      '`argmax`, `round`, thresholds (`out > 0.5`) and `max(...)[1]` have zero or no gradient; `.detach()`, `.data`, `.item()`, ' +
      '`.numpy()` and re-wrapping with `torch.tensor(...)` cut the prediction out of the graph. A loss built from them either ' +
      'raises on `backward()` ("does not require grad") or back-propagates nothing into the model, so the weights never ' +
      'change. Compute the loss on the raw logits and keep argmax/round for metrics. Descent reports it only when that loss ' +
      'is the one `backward()` is called on, and for a loss it cannot see (a `loss_fn` / `criterion` passed in or imported) ' +
      'only when the cut is applied to a model\'s output. It also reports a term added into the back-propagated loss ' +
      '(`loss = ce + beta * penalty`, `loss += term`), or the whole loss, when every path from it to the model goes ' +
      'through such a cut (followed through the file\'s functions, methods and attributes): that term adds a constant, ' +
      'so it and its weight have no effect on training. A baseline is not reported: a detached copy of a loss ' +
      '(`loss - prev_loss.detach()`, a running average of `loss.item()`) or any explicitly detached value subtracted from the loss.',
    wrong: 'criterion = nn.MSELoss()\nout = model(x)\npred = out.argmax(dim=1)\nloss = criterion(pred.float(), y)\nloss.backward()',
    right: 'criterion = nn.CrossEntropyLoss()\nout = model(x)\nloss = criterion(out, y)\nloss.backward()\npred = out.argmax(dim=1)  # metrics only',
    concept: 'Autograd: only differentiable operations pass gradients back to the weights',
    fixable: false,
  },
  nodeTypes: ['call', 'assignment'],
  // The loss calls and the forced assignments; whether their loss is back-propagated reads the whole scope.
  candidate: {
    reads: ['imports', 'scopes'],
    test: (n, ctx) =>
      n.type === 'assignment' ? forcedName(n, ctx.analysis) !== undefined : isBackward(n) || isLossCallee(ctx.analysis, n.child('function')) || mayBeUnresolvedLoss(ctx.analysis, n.child('function')),
  },
  visit(call, ctx) {
    const a = ctx.analysis;
    if (call.type === 'assignment') return forcedRequiresGrad(call, ctx);
    if (isBackward(call)) return gradientFreeTerms(call, ctx);
    const known = isLossCallee(a, call.child('function'));
    if (!known && !unresolvedLoss(a, call.child('function'))) return;
    const input = positionalArgs(call)[0] ?? keywordArg(call, 'input');
    if (!input) return;
    const cut = cutIn(a, input);
    if (!cut || !isBackpropagated(a, call)) return;
    // A loss of unknown signature: `(prediction, target)` only, the cut applied to a prediction, not to data.
    if (!known && (positionalArgs(call).length !== 2 || !fromModelCall(a, cutOperand(cut.node)))) return;
    ctx.report({
      node: input,
      message: `The loss input goes through ${cut.what}, which has no gradient: backward() raises or the model never learns. Pass the raw model output (logits) to the loss.`,
    });
  },
};
