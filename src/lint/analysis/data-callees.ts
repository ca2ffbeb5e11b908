// Which function of the file a call runs, and which argument of the call a parameter of it receives: the reverse of
// parameters.ts (which reads a parameter's arguments from every call site). Used by data rules that follow a value
// into a helper (`X = self.preprocess(X)`) or out of it.
import type { PyNode } from '../parser';
import { decoratorsOf, keywordArg, parameterNames, positionalArgs, unparen, type Analysis } from './index';
import { methodsOf } from './modules';

/** The class a function is a method of (defined directly in its body). */
export function classOfMethod(fn: PyNode): PyNode | undefined {
  const cls = fn.ancestor('class_definition');
  return cls && methodsOf(cls).includes(fn) ? cls : undefined;
}

function fileClass(name: string, a: Analysis): PyNode | undefined {
  const all = a.index.of('class_definition').filter((c) => c.child('name')?.text === name);
  return all.length === 1 ? all[0] : undefined;
}

function methodNamed(cls: PyNode, name: string): PyNode | undefined {
  const all = methodsOf(cls).filter((m) => m.child('name')?.text === name);
  return all.length === 1 ? all[0] : undefined;
}

/** Whether a method is subclassed in the file with an override of the same name (the call may run either). */
function overridden(cls: PyNode, name: string, a: Analysis): boolean {
  const clsName = cls.child('name')?.text;
  return a.index
    .of('class_definition')
    .some((c) => (c.child('superclasses')?.namedChildren ?? []).some((b) => b.text === clsName) && methodNamed(c, name) !== undefined);
}

/**
 * The function definition of this file a call runs, when that is certain: `f(...)` for the one module-level `def f`
 * (not re-bound), `self.m(...)` inside a class, `obj.m(...)` with `obj = Cls(...)` and `Cls.m(...)` for a class of the
 * file that defines `m` once (and no subclass of the file overrides it).
 */
export function fileFunctionOf(call: PyNode, a: Analysis): PyNode | undefined {
  const f = call.child('function');
  if (f?.type === 'identifier') {
    const defs = (a.functions.get(f.text) ?? []).filter((d) => !classOfMethod(d));
    return defs.length === 1 && a.scopes.valueAt(f.text, call) === null ? defs[0] : undefined;
  }
  if (f?.type !== 'attribute') return undefined;
  const name = f.child('attribute')?.text ?? '';
  let obj = unparen(f.child('object'));
  let cls: PyNode | undefined;
  if (obj?.type === 'identifier' && obj.text === 'self') cls = call.ancestor('class_definition');
  else {
    if (obj?.type === 'identifier' && !a.definesClass(obj.text)) obj = unparen(a.scopes.valueAt(obj.text, obj) ?? undefined);
    const ctor = obj?.type === 'call' ? obj.child('function') : obj;
    if (ctor?.type === 'identifier' && a.definesClass(ctor.text)) cls = fileClass(ctor.text, a);
  }
  if (!cls || overridden(cls, name, a)) return undefined;
  return methodNamed(cls, name);
}

/** Whether calls of a function pass its first parameter implicitly (`self` / `cls` of a method). */
function skipsFirst(fn: PyNode): boolean {
  return classOfMethod(fn) !== undefined && !decoratorsOf(fn).some((d) => /staticmethod$/.test(d.text));
}

/** The argument a call passes for one parameter of the function it runs (by position or keyword; undefined if none). */
export function argumentFor(call: PyNode, fn: PyNode, param: string): PyNode | undefined {
  const names = parameterNames(fn);
  let index = names.indexOf(param);
  if (index < 0) return undefined;
  if (skipsFirst(fn)) index--;
  const kw = keywordArg(call, param);
  if (kw) return kw;
  // a splat before the position makes the position unknown
  const args = call.child('arguments')?.namedChildren ?? [];
  if (args.some((x) => x.type === 'list_splat')) return undefined;
  return index >= 0 ? positionalArgs(call)[index] : undefined;
}
