// Statement-order and grad-mode helpers shared by the training-loop, evaluation and loss rules TL004-TL011,
// EV002-EV006 and LS004-LS008: grad-disabling contexts that stop at `enable_grad`, scheduler steps, calls reachable
// through the file's functions, back-propagated loss calls, data-split names and line-level edits.
import type { PyNode } from '../parser';
import type { RawEdit } from '../types';
import { callsWithin, calleeName, decoratorsOf, fileCallName, keywordArg, positionalArgs, receiver, type Analysis } from './index';
import { backwardTensor, isBackward } from './training';

/** Names of held-out data: validation or test loaders / sets. */
export const HELD_OUT_DATA = /^(val|valid|validation|test|testing|dev|holdout)_?(loader|dataloader|dl|iter|iterator|data|dataset|set|batches|ds|gen|generator)?$/i;
/** Names of test data only (not validation). */
export const TEST_DATA = /^(test|testing)_?(loader|dataloader|dl|iter|iterator|data|dataset|set|batches|ds|gen|generator)?$|^(x|y|X|Y)_?test$/;
/** Names of metrics computed on the test split. */
export const TEST_METRIC = /^(test|testing)_?(loss|acc|accuracy|score|metric|f1|auc|err|error|perf|ppl|perplexity|mae|mse|rmse)\w*$|^(loss|acc|accuracy|score|f1|auc|err|error|mae|mse|rmse)_test$/i;

const GRAD_OFF = new Set(['torch.no_grad', 'torch.inference_mode', 'torch.autograd.no_grad', 'torch.autograd.grad_mode.no_grad', 'torch.autograd.grad_mode.inference_mode']);
const GRAD_ON = new Set(['torch.enable_grad', 'torch.autograd.enable_grad', 'torch.autograd.grad_mode.enable_grad']);

/** 'off' / 'on' when an expression (a with-item or a decorator) turns autograd off / back on; undefined otherwise. */
function gradMode(a: Analysis, expr: PyNode | undefined): 'off' | 'on' | undefined {
  if (!expr) return undefined;
  if (expr.type === 'as_pattern') return gradMode(a, expr.namedChildren[0]);
  const target = expr.type === 'call' ? expr.child('function') : expr;
  const q = a.qname(target) ?? '';
  if (GRAD_OFF.has(q)) {
    // inference_mode(False) / no_grad has no argument; inference_mode(mode=False) turns nothing off.
    return expr.type === 'call' && /False/.test(expr.child('arguments')?.text ?? '') ? undefined : 'off';
  }
  if (GRAD_ON.has(q)) return 'on';
  if (q === 'torch.set_grad_enabled' && expr.type === 'call') {
    const arg = expr.child('arguments')?.text ?? '';
    if (/^\(\s*False\s*\)$/.test(arg)) return 'off';
    return 'on'; // True, or a runtime flag: treat as possibly on
  }
  return undefined;
}

/**
 * The `with` statement or decorated function that disables autograd around `node`, stopping at an inner
 * `enable_grad()` / `set_grad_enabled(...)` and at the enclosing function (its callers are not followed).
 */
export function gradOffRegion(a: Analysis, node: PyNode): PyNode | undefined {
  for (let p = node.parent; p; p = p.parent) {
    if (p.type === 'with_statement') {
      const clause = p.children.find((c) => c.type === 'with_clause');
      for (const item of clause?.namedChildren ?? []) {
        const m = gradMode(a, item.namedChildren[0]);
        if (m === 'on') return undefined;
        if (m === 'off') return p;
      }
    }
    if (p.type === 'lambda' || p.type === 'class_definition') return undefined;
    if (p.type === 'function_definition') {
      for (const d of decoratorsOf(p)) {
        const m = gradMode(a, d.namedChildren[0]);
        if (m === 'on') return undefined;
        if (m === 'off') return p;
      }
      return undefined;
    }
  }
  return undefined;
}

/** Text of the last name of a dotted expression: `self.opt` -> `opt`. */
export function lastName(n: PyNode | undefined): string {
  if (!n) return '';
  return n.type === 'attribute' ? (n.child('attribute')?.text ?? '') : n.text;
}

const SCHEDULER_NAME = /sched/i;

// Hugging Face (transformers, diffusers) schedule factories: `get_linear_schedule_with_warmup`, `get_cosine_schedule_with_warmup`,
// `get_constant_schedule(_with_warmup)`, `get_polynomial_decay_schedule_with_warmup`, `get_scheduler(name, ...)`. Each returns a
// LambdaLR (or, for get_scheduler("reduce_lr_on_plateau"), a ReduceLROnPlateau: see hfSchedulerBuild).
const HF_SCHEDULE = /^(transformers|diffusers)(\.optimization)?\.get_(\w+_schedule(_with_warmup)?|scheduler)$/;

/** A Hugging Face schedule factory call (not one that builds a ReduceLROnPlateau): the name of the factory, else undefined. */
export function hfSchedulerBuild(a: Analysis, call: PyNode): string | undefined {
  if (call.type !== 'call') return undefined;
  const q = a.callee(call);
  if (!q || !HF_SCHEDULE.test(q) || /plateau/i.test(q)) return undefined;
  const name = q.slice(q.lastIndexOf('.') + 1);
  if (name === 'get_scheduler') {
    // get_scheduler(name, optimizer, ...): any name but the plateau one (whose step() needs a metric anyway).
    const kind = keywordArg(call, 'name') ?? positionalArgs(call)[0];
    if (!kind || /plateau/i.test(kind.text)) return undefined;
  }
  return name;
}

/** A learning-rate scheduler built by this call: `torch.optim.lr_scheduler.X(...)` (not ReduceLROnPlateau) or a Hugging Face schedule. */
export function isLrSchedulerBuild(a: Analysis, call: PyNode): boolean {
  const q = call.type === 'call' ? a.callee(call) : undefined;
  if (!q) return false;
  if (q.startsWith('torch.optim.lr_scheduler.')) return !/ReduceLROnPlateau$/.test(q);
  return hfSchedulerBuild(a, call) !== undefined;
}

// LR schedulers from outside torch.optim whose step() follows the optimizer's as torch's do (subclasses of LambdaLR or
// _LRScheduler): pytorch_transformers' Warmup*Schedule, and a copy of a Hugging Face schedule factory in another module.
// A scheduler class of the project's own is not assumed to be one (some are meant to be stepped first).
const OTHER_SCHEDULERS = /^(pytorch_transformers|transformers)(\.optimization)?\.(Warmup\w*Schedule|ConstantLRSchedule|AdafactorSchedule)$|\.get_\w+_schedule_with_warmup$/;

/** The value a receiver (`scheduler`, `self.scheduler`) was built from, when the file shows one. */
export function receiverValue(a: Analysis, recv: PyNode): PyNode | undefined {
  if (recv.type === 'identifier') return a.scopes.valueAt(recv.text, recv) ?? undefined;
  if (recv.type === 'attribute' && recv.child('object')?.text === 'self') {
    const cls = recv.ancestor('class_definition');
    const attr = recv.child('attribute')?.text;
    const values = cls && attr ? a.scopes.selfAttr(cls, attr) : [];
    return values.length === 1 ? values[0] : undefined;
  }
  return undefined;
}

/** `scheduler.step()` without arguments (ReduceLROnPlateau's `step(metric)` excluded). */
export function isSchedulerStep(call: PyNode, a: Analysis): boolean {
  if (calleeName(call) !== 'step' || positionalArgs(call).length > 0 || call.child('arguments')?.namedChildren.some((c) => c.type === 'keyword_argument')) return false;
  const recv = receiver(call);
  if (!recv) return false;
  const value = receiverValue(a, recv);
  const q = value?.type === 'call' ? a.callee(value) : undefined;
  if (q) return isLrSchedulerBuild(a, value!) || OTHER_SCHEDULERS.test(q);
  // Built by something we do not know (a factory): stay silent. `scheduler = None` is the other branch of an optional
  // scheduler (a step on None would fail): the name tells.
  if (value && value.type !== 'none') return false;
  return SCHEDULER_NAME.test(lastName(recv)) && !/plateau/i.test(lastName(recv));
}

/**
 * Calls of functions of this file reached from `node` (identifier calls and `self.method` calls), to `depth`. `resolve`
 * gives the definition a call runs when the file defines its name other than once (evaluation.ts passes one that
 * also knows methods called on instances: `model.train_emb(x)`).
 */
export function reachableCalls(a: Analysis, node: PyNode, depth = 2, seen = new Set<PyNode>(), resolve?: (call: PyNode) => PyNode | undefined): PyNode[] {
  const out = callsWithin(node);
  if (depth <= 0) return out;
  const more: PyNode[] = [];
  for (const c of out) {
    const name = fileCallName(c);
    const defs = name ? a.functions.get(name) : undefined;
    const def = defs ? (defs.length === 1 ? defs[0] : undefined) : resolve?.(c);
    if (!def || seen.has(def) || (def.start <= c.start && c.end <= def.end)) continue;
    seen.add(def);
    const body = def.child('body');
    if (body) more.push(...reachableCalls(a, body, depth - 1, seen, resolve));
  }
  return [...out, ...more];
}

/** Edit that deletes the whole line(s) of a statement, when nothing else shares them. */
export function deleteStatementLines(stmt: PyNode): RawEdit | undefined {
  const src = stmt.src.text;
  const lineStart = src.lastIndexOf('\n', stmt.start - 1) + 1;
  if (src.slice(lineStart, stmt.start).trim() !== '') return undefined;
  const nl = src.indexOf('\n', stmt.end);
  const rest = nl === -1 ? src.slice(stmt.end) : src.slice(stmt.end, nl);
  if (rest.trim() !== '' && !rest.trim().startsWith('#')) return undefined;
  return { start: lineStart, end: nl === -1 ? src.length : nl + 1, newText: '' };
}

/** The operator of an augmented assignment / binary or comparison operator (`+=`, `*`, `>`), as text. */
export function operatorOf(n: PyNode): string | undefined {
  return n.children.find((c) => !c.named && c.text !== '(' && c.text !== ')')?.text;
}

/** The loss call's result is back-propagated: `criterion(...).backward()` or `loss = criterion(...)` then `loss.backward()`. */
export function isBackpropagated(a: Analysis, call: PyNode): boolean {
  const p = call.parent;
  if (p?.type === 'attribute' && p.parent?.type === 'call' && isBackward(p.parent)) return true;
  if (p?.type !== 'assignment' || p.child('right') !== call) return false;
  const name = p.child('left');
  if (name?.type !== 'identifier') return false;
  const scope = call.ancestor('function_definition') ?? call.ancestor('module');
  if (!scope) return false;
  return callsWithin(scope).some((c) => {
    if (!isBackward(c) || c.start < call.end) return false;
    const r = backwardTensor(c);
    if (r?.type !== 'identifier' || r.text !== name.text || a.scopes.valueAt(r.text, c) !== call) return false;
    // `loss /= n` between the two rescales it: not the raw result any more.
    return !rescaledBetween(scope, name.text, call.end, c.start);
  });
}


function rescaledBetween(scope: PyNode, name: string, from: number, to: number): boolean {
  let hit = false;
  scope.walk((n) => {
    if (hit || n.end < from || n.start > to) return false;
    if (n.type === 'augmented_assignment' && n.child('left')?.text === name && n.start >= from && n.end <= to) hit = true;
  });
  return hit;
}
