// The calls that run a module class's `forward` through an instance of it: `crit = FocalLoss().cuda(); crit(out, y)`,
// `self.head = Head(); self.head(x)`, `FocalLoss()(out, y)`, `train(model, FocalLoss())` calling `criterion(out, y)`.
// parameters.ts reads the call sites of plain functions and methods; `forward` runs through `m(x)`, which is this.
import type { PyNode } from '../parser';
import { keywordArg, methodClass, parameterNames, positionalArgs, unparen, type Analysis } from './index';
import { fileFunctionOf } from './calls';
import { signatureDefault, unpassed } from './parameterDefaults';
import { parameterArguments } from './parameters';
import { reachingDefs } from './reaching';
import { valueBefore } from './values';

/** Module methods that return the module itself. */
const MODULE_CHAIN = new Set(['to', 'cuda', 'cpu', 'train', 'eval', 'float', 'double', 'half']);

const callsCache = new WeakMap<Analysis, Map<PyNode, PyNode[] | undefined>>();

/**
 * When `id` reads a parameter of a module class's `forward` (or `__call__`): the argument each instance call of the
 * file passes for it. Undefined when the class is subclassed here, when there is no instance call, or when one passes
 * `*args` / `**kwargs` or leaves the parameter out without a default.
 */
export function forwardArguments(a: Analysis, id: PyNode): PyNode[] | undefined {
  const defs = reachingDefs(id);
  const fn = defs?.length === 1 && !defs[0]!.value ? defs[0]!.parameterOf : undefined;
  const name = fn?.child('name')?.text;
  if (!fn || (name !== 'forward' && name !== '__call__')) return undefined;
  const cls = methodClass(fn);
  if (!cls) return undefined;
  const params = fn.child('parameters')?.namedChildren.filter((p) => p.type !== 'comment') ?? [];
  if (params.some((p) => p.type === 'list_splat_pattern' || p.type === 'dictionary_splat_pattern' || p.type === 'keyword_separator')) return undefined;
  const index = parameterNames(fn).indexOf(id.text) - 1; // `self` is not among a call's arguments
  if (index < 0) return undefined;
  const calls = instanceCalls(a, cls);
  if (!calls?.length) return undefined;
  const fallback = params[index + 1]?.child('value') ?? undefined;
  const out: PyNode[] = [];
  for (const call of calls) {
    const arg = positionalArgs(call)[index] ?? keywordArg(call, id.text) ?? fallback;
    if (!arg) return undefined;
    out.push(arg);
  }
  return out;
}

/** The calls of instances of `cls`, once per class and lint. */
function instanceCalls(a: Analysis, cls: PyNode): PyNode[] | undefined {
  let m = callsCache.get(a);
  if (!m) callsCache.set(a, (m = new Map()));
  if (!m.has(cls)) m.set(cls, findInstanceCalls(a, cls));
  return m.get(cls);
}

function findInstanceCalls(a: Analysis, cls: PyNode): PyNode[] | undefined {
  const clsName = cls.child('name')?.text;
  if (!clsName || a.index.of('class_definition').some((c) => c.child('superclasses')?.namedChildren.some((b) => b.text === clsName))) return undefined;
  const out = new Set<PyNode>();
  const holders = new Set<string>();
  for (const ctor of a.callsNamed(clsName)) {
    if (ctor.child('function')?.type !== 'identifier' || a.scopes.valueAt(clsName, ctor) !== null) continue;
    const holder = chainEnd(ctor);
    const p = holder.parent;
    // `FocalLoss()(out, y)`
    if (p?.type === 'call' && p.child('function') === holder) out.add(p);
    for (const n of holderNames(a, holder)) {
      holders.add(n);
      for (const c of a.callsNamed(n)) if (!out.has(c) && isInstance(a, c.child('function'), clsName, 0)) out.add(c);
    }
  }
  if (!out.size) for (const n of holders) for (const c of a.callsNamed(n)) if (isUnseenHolder(a, c.child('function'), n)) out.add(c);
  return [...out].some((c) => c.child('arguments')?.namedChildren.some((x) => x.type === 'list_splat' || x.type === 'dictionary_splat')) ? undefined : [...out];
}

/** `Cls(...).cuda().to(device)`: the outermost call of the chain (the expression that holds the instance). */
function chainEnd(ctor: PyNode): PyNode {
  let n = ctor;
  for (;;) {
    const p = n.parent;
    if (p?.type === 'parenthesized_expression') n = p;
    else if (p?.type === 'attribute' && p.child('object') === n && MODULE_CHAIN.has(p.child('attribute')?.text ?? '') && p.parent?.type === 'call') n = p.parent;
    else return n;
  }
}

/** The names an instance is kept under: the assigned name or `self.name`, or the parameter it is passed for. */
function holderNames(a: Analysis, holder: PyNode): string[] {
  const p = holder.parent;
  if (p?.type === 'assignment' && p.child('right') === holder) {
    const left = p.child('left');
    if (left?.type === 'identifier') return [left.text];
    if (left?.type === 'attribute' && left.child('object')?.text === 'self') return [left.child('attribute')!.text];
    return [];
  }
  if (p?.type === 'keyword_argument' && p.child('value') === holder) return [p.child('name')!.text];
  const call = p?.type === 'argument_list' ? p.parent : undefined;
  const fn = call?.type === 'call' ? fileFunctionOf(call, a) : undefined;
  if (!fn) return [];
  const skip = methodClass(fn) ? 1 : 0;
  const name = parameterNames(fn)[positionalArgs(call!).indexOf(holder) + skip];
  return name ? [name] : [];
}

/**
 * `criterion = JointLoss(); return criterion` in a factory, and `self.criterion(out, y)` in a model whose `criterion`
 * parameter nothing here passes: the file never shows the instance reaching the call, yet the same name on both ends
 * is how such code is wired. Only calls of that name whose value this file does not show at all count, and only for
 * a class with no instance call of its own here.
 */
function isUnseenHolder(a: Analysis, callee: PyNode | undefined, name: string): boolean {
  const c = unparen(callee);
  if (c?.type === 'identifier') return c.text === name && isUnseenParameter(a, c);
  if (c?.type !== 'attribute' || c.child('object')?.text !== 'self' || c.child('attribute')?.text !== name) return false;
  const owner = c.ancestor('class_definition');
  const values = owner ? a.scopes.selfAttr(owner, name) : [];
  return values.length > 0 && values.every((v) => v.type === 'identifier' && isUnseenParameter(a, v));
}

/** A parameter (without a default other than None) of a function nothing in the file calls or names. */
function isUnseenParameter(a: Analysis, id: PyNode): boolean {
  if (valueBefore(a, id) !== null || !unpassed(a, id)) return false;
  const fallback = signatureDefault(id);
  return !fallback || fallback.text === 'None';
}

/** Whether a callee (`crit`, `self.crit`) holds an instance of the class wherever it is read here. */
function isInstance(a: Analysis, callee: PyNode | undefined, clsName: string, depth: number): boolean {
  const c = unparen(callee);
  if (!c || depth > 8) return false;
  if (c.type === 'call') {
    const f = c.child('function');
    if (f?.type === 'identifier') return f.text === clsName && a.scopes.valueAt(clsName, c) === null;
    return f?.type === 'attribute' && MODULE_CHAIN.has(f.child('attribute')?.text ?? '') && isInstance(a, f.child('object'), clsName, depth + 1);
  }
  if (c.type === 'identifier') {
    const v = valueBefore(a, c);
    if (v) return isInstance(a, v, clsName, depth + 1);
    if (v === undefined) return false;
    const args = parameterArguments(a, c);
    return !!args?.length && args.every((x) => isInstance(a, x, clsName, depth + 1));
  }
  if (c.type === 'attribute' && c.child('object')?.text === 'self') {
    const owner = c.ancestor('class_definition');
    const values = owner ? a.scopes.selfAttr(owner, c.child('attribute')!.text) : [];
    return values.length > 0 && values.every((v) => isInstance(a, v, clsName, depth + 1));
  }
  return false;
}
