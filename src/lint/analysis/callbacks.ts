// A function of the file called through a parameter it was passed for: `def train(..., metric_fn)` calling
// `metric_fn(out, y)`, with `train(..., metric_fn=f1)`, `train(model, f1)` or `kw = {'metric_fn': f1}; train(**kw)`.
// parameters.ts reads a function's direct calls; these calls name another parameter, so it finds none. The arguments
// a callback receives are those of every call of the parameters it is passed for (a superset when other functions are
// passed for the same parameter, which is safe for "all call sites agree" questions). Unknown when the function's
// name is used any other way (stored, returned, passed on), so no call can hide.
import type { PyNode } from '../parser';
import { keywordArg, methodClass, parameterNames, positionalArgs, unparen, type Analysis } from './index';
import { stringKey } from './dictKeys';
import { fileFunctionOf } from './calls';
import { reachingDefs } from './reaching';

const sitesCache = new WeakMap<Analysis, Map<PyNode, PyNode[] | undefined>>();

/**
 * When `id` reads a parameter of a plain function of the file: the argument each of its calls passes for it, its
 * calls through parameters included. Undefined when a call spreads its arguments or leaves the parameter out without
 * a default, or when the function's uses are not all followed.
 */
export function callbackArguments(a: Analysis, id: PyNode): PyNode[] | undefined {
  const defs = reachingDefs(id);
  const fn = defs?.length === 1 && !defs[0]!.value ? defs[0]!.parameterOf : undefined;
  if (!fn || methodClass(fn)) return undefined;
  const params = fn.child('parameters')?.namedChildren.filter((p) => p.type !== 'comment') ?? [];
  if (params.some((p) => p.type === 'list_splat_pattern' || p.type === 'dictionary_splat_pattern' || p.type === 'keyword_separator')) return undefined;
  const index = parameterNames(fn).indexOf(id.text);
  if (index < 0) return undefined;
  const sites = callbackSites(a, fn);
  if (!sites?.length) return undefined;
  const fallback = params[index]?.child('value') ?? undefined;
  const out: PyNode[] = [];
  for (const call of sites) {
    if (call.child('arguments')?.namedChildren.some((x) => x.type === 'list_splat' || x.type === 'dictionary_splat')) return undefined;
    const arg = positionalArgs(call)[index] ?? keywordArg(call, id.text) ?? fallback;
    if (!arg) return undefined;
    out.push(arg);
  }
  return out;
}

function callbackSites(a: Analysis, fn: PyNode): PyNode[] | undefined {
  let m = sitesCache.get(a);
  if (!m) sitesCache.set(a, (m = new Map()));
  if (!m.has(fn)) m.set(fn, findSites(a, fn));
  return m.get(fn);
}

/** Direct calls of `fn` and calls of the parameters it is passed for; undefined when a use of its name is not one of those. */
function findSites(a: Analysis, fn: PyNode): PyNode[] | undefined {
  const name = fn.child('name')?.text;
  if (!name || (a.functions.get(name) ?? []).length !== 1) return undefined;
  const out: PyNode[] = [];
  let passed = false;
  for (const id of a.identifiersNamed(name)) {
    const p = id.parent;
    if (p === fn) continue; // the definition's name
    // `from metrics import f1`: the project context appends the imported definition to the file.
    if (id.ancestor('import_from_statement')) continue;
    if (a.scopes.valueAt(name, id) !== null) return undefined; // the name re-bound to something else
    if (p?.type === 'call' && p.child('function') === id) {
      out.push(p);
      continue;
    }
    const through = passedFor(a, id);
    if (!through) return undefined;
    for (const [g, param] of through) {
      const calls = parameterCalls(a, g, param);
      if (!calls) return undefined;
      out.push(...calls);
    }
    passed = true;
  }
  // Only worth an answer when some calls run through parameters (parameters.ts answers for the direct ones).
  return passed ? out : undefined;
}

/** The (function, parameter) pairs a function name is passed for: a keyword or positional argument, or a `**kwargs` dict entry. */
function passedFor(a: Analysis, id: PyNode): [PyNode, string][] | undefined {
  const p = id.parent;
  if (p?.type === 'keyword_argument' && p.child('value') === id) {
    const g = calleeFunction(a, p.parent?.parent);
    const key = p.child('name')?.text;
    return g && key ? [[g, key]] : undefined;
  }
  if (p?.type === 'argument_list') {
    const call = p.parent;
    const g = calleeFunction(a, call);
    const index = call ? positionalArgs(call).indexOf(id) : -1;
    const param = g && index >= 0 ? parameterNames(g)[index + (methodClass(g) ? 1 : 0)] : undefined;
    return g && param ? [[g, param]] : undefined;
  }
  if (p?.type === 'pair' && p.child('value') === id) return splattedEntry(a, p);
  return undefined;
}

/** `kw = {'metric_fn': f1}` used only as `g(**kw)` with `g` a function of the file: `[g, 'metric_fn']` per use. */
function splattedEntry(a: Analysis, pair: PyNode): [PyNode, string][] | undefined {
  const key = stringKey(pair.child('key') ?? undefined);
  const dict = pair.parent;
  const asg = dict?.parent;
  const left = asg?.type === 'assignment' && asg.child('right') === dict ? asg.child('left') : undefined;
  if (!key || left?.type !== 'identifier') return undefined;
  const out: [PyNode, string][] = [];
  for (const use of a.identifiersNamed(left.text)) {
    if (use === left) continue;
    const splat = use.parent;
    if (splat?.type !== 'dictionary_splat' || a.scopes.valueAt(left.text, use) !== dict) return undefined;
    const g = calleeFunction(a, splat.parent?.parent);
    if (!g) return undefined;
    out.push([g, key]);
  }
  return out;
}

function calleeFunction(a: Analysis, call: PyNode | null | undefined): PyNode | undefined {
  return call?.type === 'call' ? fileFunctionOf(call, a) : undefined;
}

/** The calls of parameter `param` inside `g`, when every read of it there is a call (it is not passed on or stored). */
function parameterCalls(a: Analysis, g: PyNode, param: string): PyNode[] | undefined {
  if (!parameterNames(g).includes(param)) return undefined;
  const body = g.child('body');
  if (!body) return undefined;
  const out: PyNode[] = [];
  for (const id of a.identifiersNamed(param)) {
    if (id.start < body.start || id.end > body.end) continue;
    const p = unparen(id)?.parent;
    if (p?.type !== 'call' || p.child('function') !== id || a.scopes.valueAt(param, id) !== null) return undefined;
    out.push(p);
  }
  return out;
}
