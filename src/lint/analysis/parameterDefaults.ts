// The default of a parameter that nothing in this file can pass: `class TripletLoss(nn.Module): def __init__(self,
// loss=nn.CrossEntropyLoss())` in a losses module whose classes are built elsewhere. `parameters.ts` reads what call
// sites pass; with no call site at all it knows nothing, yet the author's default is what the code was written for.
// Only when the function (for `__init__`, its class) is never named again in the file: a name passed around
// (`LOSSES = {'t': TripletLoss}`) or subclassed may be called with anything.
import type { PyNode } from '../parser';
import { methodClass, type Analysis } from './index';
import { reachingDefs } from './reaching';

/**
 * The default in the signature of the function `id` is read in, when it names a parameter there with one: a cheap,
 * syntactic first step. Whether the read holds it is `unpassed`'s question (costlier: callers ask it only of defaults
 * they know what to do with).
 */
export function signatureDefault(id: PyNode): PyNode | undefined {
  if (id.type !== 'identifier') return undefined;
  const fn = id.ancestor('function_definition');
  return fn ? defaultOf(fn, id.text) : undefined;
}

/** Whether `id` reads the parameter of its function (no other binding reaches it) and nothing in the file calls or names the function. */
export function unpassed(a: Analysis, id: PyNode): boolean {
  const fn = id.ancestor('function_definition');
  const caller = fn && callerName(fn);
  if (!caller || nameCount(a, caller) !== 1) return false;
  const defs = reachingDefs(id);
  return defs?.length === 1 && defs[0]!.parameterOf === fn;
}

/** The default of parameter `name` of `fn` (`name=value`, `name: T = value`). */
function defaultOf(fn: PyNode, name: string): PyNode | undefined {
  for (const p of fn.child('parameters')?.namedChildren ?? []) {
    if (p.type !== 'default_parameter' && p.type !== 'typed_default_parameter') continue;
    if (p.child('name')?.text === name) return p.child('value') ?? undefined;
  }
  return undefined;
}

/** The name a call of `fn` goes through: its class's for `__init__`, its own otherwise (not other dunders: `forward` runs as `model(x)`). */
function callerName(fn: PyNode): string | undefined {
  const name = fn.child('name')?.text;
  const cls = methodClass(fn);
  if (!name || !cls) return name;
  if (name === '__init__') return cls.child('name')?.text;
  return name.startsWith('__') || name === 'forward' ? undefined : name;
}

/**
 * How many times each identifier text occurs in the file (definitions included; not the class named in
 * `super(Cls, self)`, which calls nothing), once per Analysis.
 */
const counts = new WeakMap<Analysis, Map<string, number>>();
function nameCount(a: Analysis, name: string): number {
  let m = counts.get(a);
  if (!m) {
    m = new Map();
    for (const id of a.index.of('identifier')) if (!superClassArgument(id)) m.set(id.text, (m.get(id.text) ?? 0) + 1);
    counts.set(a, m);
  }
  return m.get(name) ?? 0;
}

function superClassArgument(id: PyNode): boolean {
  const args = id.parent;
  return args?.type === 'argument_list' && args.namedChildren[0] === id && args.parent?.child('function')?.text === 'super';
}
