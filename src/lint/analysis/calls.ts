// Calls between the file's own functions, both ways: who calls a function (`callSitesOf`: plain functions through
// `f(...)`, methods through `self.m(...)`, `obj.m(...)` with `obj = Cls(...)` and `Cls(...).m(...)`), which function a
// call runs (`fileFunctionOf`), and what a call passes for one parameter (`argumentFor`, `argumentOrDefault`).
// parameters.ts reads a parameter's arguments from every call site on top of the same ideas.
import type { PyNode } from '../parser';
import { hasKeywordSplat, keywordArg, methodClass, parameterNames, positionalArgs, unparen, type Analysis } from './index';
import { methodsOf } from './modules';

export interface CallSites {
  /** Calls known to run the function. */
  known: PyNode[];
  /** Calls of that method name on an object we cannot tell (a parameter, a factory's result): maybe this method. */
  unknown: PyNode[];
}

/**
 * The calls of `fn` in the file. Undefined when they cannot be listed: a plain function defined twice, a method
 * whose class is subclassed (an override may run instead), a call that spreads `*args` / `**kwargs`.
 */
export function callSitesOf(a: Analysis, fn: PyNode): CallSites | undefined {
  const name = fn.child('name')?.text;
  if (!name) return undefined;
  const cls = methodClass(fn);
  const out: CallSites = { known: [], unknown: [] };
  if (!cls) {
    if ((a.functions.get(name) ?? []).filter((f) => !methodClass(f)).length !== 1) return undefined;
    for (const c of a.callsNamed(name)) {
      const f = c.child('function');
      if (f?.type === 'identifier' && a.scopes.valueAt(name, f) === null) out.known.push(c);
    }
  } else {
    const clsName = cls.child('name')?.text;
    if (!clsName || subclassed(a, clsName)) return undefined;
    for (const c of a.callsNamed(name)) {
      const owner = receiverClass(a, c);
      if (owner === cls) out.known.push(c);
      // `model.train()` is not `Trainer.train(self, model, epoch)`: a call that cannot fill the signature is another method.
      else if (owner === undefined && arityFits(fn, c)) out.unknown.push(c);
    }
  }
  const all = [...out.known, ...out.unknown];
  return all.some(hasKeywordSplat) ? undefined : out;
}

/**
 * The class of the object a method call runs on: its class node when that is a class of the file, null when it is
 * something else we know (an instance of an imported class, a module), undefined when we cannot tell.
 */
function receiverClass(a: Analysis, call: PyNode): PyNode | null | undefined {
  const f = call.child('function');
  if (f?.type !== 'attribute') return null;
  let obj = unparen(f.child('object') ?? undefined);
  if (obj?.type === 'identifier' && obj.text === 'self') return call.ancestor('class_definition') ?? undefined;
  if (obj?.type === 'identifier') {
    if (a.qname(obj)) return null; // a module or an imported name: `torch.save(...)`
    obj = unparen(a.scopes.valueAt(obj.text, obj) ?? undefined);
  } else if (obj?.type === 'attribute' && obj.child('object')?.text === 'self') {
    const cls = call.ancestor('class_definition');
    const values = cls ? a.scopes.selfAttr(cls, obj.child('attribute')!.text) : [];
    obj = values.length === 1 ? unparen(values[0]) : undefined;
  }
  if (obj?.type !== 'call') return undefined;
  const ctor = obj.child('function');
  if (ctor?.type !== 'identifier') return undefined;
  const cls = classNamed(a, ctor.text);
  if (cls) return cls;
  return a.qname(ctor) ? null : undefined; // an imported class: not one of the file's
}

/** The one class of the file with that name (none when it is defined twice). */
function classNamed(a: Analysis, name: string): PyNode | undefined {
  if (!a.definesClass(name)) return undefined;
  const found = a.index.of('class_definition').filter((c) => c.child('name')?.text === name);
  return found.length === 1 ? found[0] : undefined;
}

function subclassed(a: Analysis, clsName: string): boolean {
  return a.index.of('class_definition').some((c) => c.child('superclasses')?.namedChildren.some((b) => b.text === clsName));
}

/**
 * The argument `call` passes for parameter `name` of `fn` (by position, `self` skipped for a method called on an
 * object, by keyword), else the parameter's default (argumentFor below gives no default). Undefined when not known (`*args` in the signature or the call).
 */
export function argumentOrDefault(fn: PyNode, call: PyNode, name: string): PyNode | undefined {
  if (hasKeywordSplat(call)) return undefined;
  const params = fn.child('parameters')?.namedChildren.filter((p) => p.type !== 'comment') ?? [];
  const skip = methodClass(fn) && call.child('function')?.type === 'attribute' && !isStatic(fn) ? 1 : 0;
  let position = 0;
  for (const p of params) {
    if (p.type === 'list_splat_pattern' || p.type === 'dictionary_splat_pattern' || p.type === 'keyword_separator') return undefined;
    const id = p.type === 'identifier' ? p : (p.child('name') ?? p.namedChildren.find((c) => c.type === 'identifier'));
    if (id?.text === name) {
      const at = position - skip;
      return (at >= 0 ? positionalArgs(call)[at] : undefined) ?? keywordArg(call, name) ?? p.child('value') ?? undefined;
    }
    position++;
  }
  return undefined;
}

/** Whether a method call (`obj.m(...)`) passes what the method's signature needs: its required parameters, no more. */
function arityFits(fn: PyNode, call: PyNode): boolean {
  const args = call.child('arguments')?.namedChildren.filter((c) => c.type !== 'comment') ?? [];
  if (args.some((x) => x.type === 'list_splat' || x.type === 'dictionary_splat')) return true;
  const keywords = new Set(args.filter((x) => x.type === 'keyword_argument').map((x) => x.child('name')?.text));
  const positional = args.length - keywords.size;
  const params = (fn.child('parameters')?.namedChildren ?? []).filter((p) => p.type !== 'comment').slice(isStatic(fn) ? 0 : 1);
  if (params.some((p) => p.type === 'list_splat_pattern' || p.type === 'dictionary_splat_pattern')) return true;
  if (positional > params.length) return false;
  return params.every((p, i) => {
    if (p.type !== 'identifier' && p.type !== 'typed_parameter') return true; // has a default
    const name = p.type === 'identifier' ? p.text : p.namedChildren.find((c) => c.type === 'identifier')?.text;
    return i < positional || keywords.has(name);
  });
}

function isStatic(fn: PyNode): boolean {
  const p = fn.parent;
  return p?.type === 'decorated_definition' && p.children.some((d) => d.type === 'decorator' && /staticmethod$/.test(d.text));
}

/**
 * The one value the file assigns to an attribute: `self.x` through the class around the expression, `obj.x` with
 * `obj = Cls(...)` through the file's class `Cls` (`self.x = ...` in its methods). Undefined otherwise.
 */
export function attributeValue(a: Analysis, attr: PyNode): PyNode | undefined {
  if (attr.type !== 'attribute') return undefined;
  const name = attr.child('attribute')?.text;
  const obj = unparen(attr.child('object') ?? undefined);
  if (!name || obj?.type !== 'identifier') return undefined;
  let cls: PyNode | undefined;
  if (obj.text === 'self') cls = attr.ancestor('class_definition');
  else {
    const v = unparen(a.scopes.valueAt(obj.text, obj) ?? undefined);
    const ctor = v?.type === 'call' ? v.child('function') : undefined;
    cls = ctor?.type === 'identifier' ? classNamed(a, ctor.text) : undefined;
  }
  let values = cls ? a.scopes.selfAttr(cls, name) : [];
  // Assigned in a base class of the file (`super().__init__()` builds it).
  if (cls && !values.length) {
    const bases = (cls.child('superclasses')?.namedChildren ?? []).map((b) => (b.type === 'identifier' ? classNamed(a, b.text) : undefined));
    values = bases.flatMap((b) => (b ? a.scopes.selfAttr(b, name) : []));
  }
  return values.length === 1 ? values[0] : undefined;
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
    const defs = (a.functions.get(f.text) ?? []).filter((d) => !methodClass(d));
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
  return methodClass(fn) !== undefined && !isStatic(fn);
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
