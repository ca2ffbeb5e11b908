// The classes a called name may stand for when it is no import: a module-level alias (`BN = nn.BatchNorm2d`, also
// both arms of a `try: from encoding.nn import SyncBatchNorm as BN / except: BN = nn.BatchNorm2d` fallback), a local
// alias (`norm = nn.BatchNorm1d if flat else nn.BatchNorm2d`) or a parameter (`def block(c, norm=nn.BatchNorm2d)`: what
// every call site passes, or its default when nothing in the file calls the function). Rules that read a class's
// arguments (a batch-norm momentum) ask this when the callee does not resolve. Precision first: one binding that is
// not a plain class name (a call, a loop variable, `partial(...)`) makes the answer undefined.
import type { PyNode } from '../parser';
import { unparen, type Analysis } from './index';
import { unpassed, signatureDefault } from './parameterDefaults';
import { parameterArguments } from './parameters';
import { reachingDefs } from './reaching';
import { scopeOf } from './scopes';

const moduleBindingsCache = new WeakMap<Analysis, ReadonlyMap<string, (PyNode | undefined)[]>>();

function moduleBindings(a: Analysis): ReadonlyMap<string, (PyNode | undefined)[]> {
  let m = moduleBindingsCache.get(a);
  if (!m) moduleBindingsCache.set(a, (m = a.scopes.moduleBindings()));
  return m;
}

/**
 * The qualified names of the classes the called identifier `fn` may hold (see the file comment), or undefined when
 * one of its values is not a plain class name. The file's own functions and classes are not aliases. In a function, an
 * import of the same name counts as one more binding (`from encoding.nn import SyncBatchNorm as BN` in a `try`).
 */
export function aliasedClasses(a: Analysis, fn: PyNode): string[] | undefined {
  if (fn.type !== 'identifier' || a.functions.has(fn.text) || a.definesClass(fn.text)) return undefined;
  const values = aliasValues(a, fn);
  if (!values?.length) return undefined;
  const imported = a.imports.aliases.get(fn.text);
  const out: string[] = imported && scopeOf(fn) !== null ? [imported] : [];
  for (const v of values) {
    const classes = v && classesOf(a, v);
    if (!classes) return undefined;
    out.push(...classes);
  }
  return out;
}

/** The expressions `fn` may hold where it is called; undefined when one binding is unknown. */
function aliasValues(a: Analysis, fn: PyNode): (PyNode | undefined)[] | undefined {
  const bound = a.scopes.valueAt(fn.text, fn);
  if (bound === undefined) return undefined;
  // Bound at module level and not in the calling function: every module-level binding may be the one that ran.
  if (bound !== null && scopeOf(bound) === null && scopeOf(fn) !== null) {
    return moduleBindings(a).get(fn.text);
  }
  const defs = reachingDefs(fn);
  if (!defs?.length) return undefined;
  const out: (PyNode | undefined)[] = [];
  for (const d of defs) {
    if (d.index !== undefined) return undefined;
    if (d.value) out.push(d.value);
    else if (d.parameterOf) {
      const args = parameterArguments(a, fn) ?? (unpassed(a, fn) ? [signatureDefault(fn)] : undefined);
      if (!args) return undefined;
      out.push(...args);
    } else return undefined;
  }
  return out;
}

/** The classes an alias value names: `nn.BatchNorm2d`, `SyncBatchNorm`, or both arms of a conditional expression. */
function classesOf(a: Analysis, value: PyNode): string[] | undefined {
  const v = unparen(value);
  if (v?.type === 'conditional_expression') {
    const [x, , y] = v.namedChildren.filter((c) => c.type !== 'comment');
    const left = x && classesOf(a, x);
    const right = y && classesOf(a, y);
    return left && right ? [...left, ...right] : undefined;
  }
  const q = v?.type === 'attribute' || v?.type === 'identifier' ? a.qname(v) : undefined;
  return q ? [q] : undefined;
}
