// What a function's parameter holds, read from the function's call sites in this file:
// `def train(model, loader, criterion)` called as `train(net, dl, nn.CrossEntropyLoss())` gives `criterion` ->
// `nn.CrossEntropyLoss()`. The argument is taken by position (skipping `self` / `cls` of methods) or keyword, else the
// parameter's default. `__init__` is reached through `Cls(...)`, other methods through `self.m(...)` and
// `Cls(...).m(...)` / `obj.m(...)` with `obj = Cls(...)`. Unknown (undefined) when there is no call site, when a site
// passes *args / **kwargs or misses the argument, or when the function rebinds the name.
import type { PyNode } from '../parser';
import { decoratorsOf, hasKeywordSplat, keywordArg, methodClass, positionalArgs, unparen, type Analysis } from './index';
import { scopeOf } from './scopes';

interface Param {
  name: string;
  /** Position in the signature (`self` included), -1 for keyword-only parameters. */
  position: number;
  value: PyNode | undefined;
}

class Parameters {
  private readonly params = new Map<PyNode, Map<string, Param>>();
  private readonly rebound = new Map<PyNode, Set<string>>();
  private readonly sites = new Map<PyNode, readonly PyNode[] | undefined>();
  private readonly values = new Map<PyNode, Map<string, readonly PyNode[] | undefined>>();
  private subclassed?: Set<string>;

  constructor(private readonly a: Analysis) {}

  /** `id` reads a parameter of an enclosing function: the expressions it receives, one per call site. */
  argumentsOf(id: PyNode): readonly PyNode[] | undefined {
    if (id.type !== 'identifier') return undefined;
    const name = id.text;
    // Cheap tests first: the function with that parameter, then its call sites; reading the bodies in between for
    // other bindings of the name (a loop target, an unpacking) comes last.
    let owner: PyNode | null = scopeOf(id);
    while (owner && !this.paramsOf(owner).has(name)) owner = scopeOf(owner);
    if (!owner) return undefined;
    const args = this.argumentsFor(owner, this.paramsOf(owner).get(name)!);
    if (!args) return undefined;
    for (let fn: PyNode | null = scopeOf(id); fn; fn = fn === owner ? null : scopeOf(fn)) {
      if (this.reboundIn(fn).has(name)) return undefined;
    }
    return args;
  }

  private argumentsFor(fn: PyNode, p: Param): readonly PyNode[] | undefined {
    let m = this.values.get(fn);
    if (!m) this.values.set(fn, (m = new Map()));
    if (m.has(p.name)) return m.get(p.name);
    // Methods receive `self` / `cls` first: it is not among a call's arguments.
    const index = p.position >= 0 && this.skipsFirst(fn) ? p.position - 1 : p.position;
    const sites = p.position === 0 && index < 0 ? undefined : this.callSites(fn);
    let out: PyNode[] | undefined = sites ? [] : undefined;
    for (const site of sites ?? []) {
      const arg = (index >= 0 ? positionalArgs(site)[index] : undefined) ?? keywordArg(site, p.name) ?? p.value;
      if (!arg) {
        out = undefined;
        break;
      }
      out!.push(arg);
    }
    m.set(p.name, out);
    return out;
  }

  /** Parameters by name, with their position in the signature. */
  private paramsOf(fn: PyNode): Map<string, Param> {
    let m = this.params.get(fn);
    if (m) return m;
    m = new Map();
    const list = fn.child('parameters')?.namedChildren ?? [];
    let index = 0;
    let keywordOnly = false;
    for (const p of list) {
      if (p.type === 'list_splat_pattern' || p.type === 'keyword_separator' || p.type === 'dictionary_splat_pattern') {
        keywordOnly = true;
        continue;
      }
      if (p.type === 'positional_separator' || p.type === 'comment') continue;
      const id = p.type === 'identifier' ? p : (p.child('name') ?? p.namedChildren.find((c) => c.type === 'identifier'));
      if (id?.type === 'identifier') {
        const value = p.type === 'default_parameter' || p.type === 'typed_default_parameter' ? p.child('value') : undefined;
        m.set(id.text, { name: id.text, position: keywordOnly ? -1 : index, value });
      }
      if (!keywordOnly) index++;
    }
    this.params.set(fn, m);
    return m;
  }

  /** Methods receive `self` / `cls` first, except static methods. */
  private skipsFirst(fn: PyNode): boolean {
    if (!methodClass(fn)) return false;
    return !decoratorsOf(fn).some((d) => /staticmethod$/.test(d.text));
  }

  /** Names a function binds other than as parameters (assignments, loops, with-as, nested defs, global). */
  private reboundIn(fn: PyNode): Set<string> {
    let s = this.rebound.get(fn);
    if (s) return s;
    s = new Set();
    const add = (n: PyNode | undefined) =>
      n?.walk((c) => {
        if (c.type === 'attribute' || c.type === 'subscript') return false;
        if (c.type === 'identifier') s!.add(c.text);
      });
    fn.child('body')?.walk((n) => {
      const t = n.type;
      if (t === 'function_definition' || t === 'class_definition') {
        add(n.child('name'));
        return false;
      }
      if (t === 'lambda') return false;
      if (t === 'assignment' || t === 'augmented_assignment') add(n.child('left'));
      else if (t === 'for_statement') add(n.child('left'));
      else if (t === 'as_pattern') add(n.child('alias'));
      else if (t === 'named_expression') add(n.child('name'));
      else if (t === 'global_statement' || t === 'nonlocal_statement') add(n);
    });
    this.rebound.set(fn, s);
    return s;
  }

  /** Calls of the function in this file; undefined when there are none or one spreads its arguments. */
  private callSites(fn: PyNode): readonly PyNode[] | undefined {
    if (this.sites.has(fn)) return this.sites.get(fn);
    const sites = this.findCallSites(fn);
    const out = sites.length && !sites.some(hasKeywordSplat) ? sites : undefined;
    this.sites.set(fn, out);
    return out;
  }

  private findCallSites(fn: PyNode): PyNode[] {
    const name = fn.child('name')?.text;
    if (!name) return [];
    const cls = methodClass(fn);
    if (!cls) {
      // A plain function: the one definition of its name that is not a method, called by that name.
      const defs = (this.a.functions.get(name) ?? []).filter((f) => !methodClass(f));
      if (defs.length !== 1) return [];
      return this.a.callsNamed(name).filter((c) => this.namesDefinition(c.child('function'), name));
    }
    const clsName = cls.child('name')?.text;
    // A subclass inherits the method and may call it with other arguments; forward runs through `model(x)` calls.
    if (!clsName || name === 'forward' || name === '__call__' || this.subclassNames().has(clsName)) return [];
    if (name === '__init__') return this.a.callsNamed(clsName).filter((c) => this.namesDefinition(c.child('function'), clsName));
    return this.a.callsNamed(name).filter((c) => this.isInstanceCall(c, cls, clsName));
  }

  /** `f` is the bare name of a definition (not re-bound to a value at the call). */
  private namesDefinition(f: PyNode | undefined, name: string): boolean {
    return f?.type === 'identifier' && f.text === name && this.a.scopes.valueAt(name, f) === null;
  }

  /** `self.m(...)` inside the class, `Cls(...).m(...)`, or `obj.m(...)` with `obj = Cls(...)`. */
  private isInstanceCall(call: PyNode, cls: PyNode, clsName: string): boolean {
    const f = call.child('function');
    if (f?.type !== 'attribute') return false;
    let obj = unparen(f.child('object'));
    if (obj?.type === 'identifier' && obj.text === 'self') return call.ancestor('class_definition') === cls;
    if (obj?.type === 'identifier') obj = unparen(this.a.scopes.valueAt(obj.text, obj) ?? undefined);
    const ctor = obj?.type === 'call' ? obj.child('function') : undefined;
    return this.namesDefinition(ctor, clsName);
  }

  private subclassNames(): Set<string> {
    if (!this.subclassed) {
      this.subclassed = new Set();
      for (const c of this.a.index.of('class_definition')) for (const b of c.child('superclasses')?.namedChildren ?? []) this.subclassed.add(b.text);
    }
    return this.subclassed;
  }
}

const cache = new WeakMap<Analysis, Parameters>();

/**
 * When `id` reads a parameter of its function: the argument passed for it at each call site in the file (evaluate each
 * where it stands). Undefined when that is not known for every call site.
 */
export function parameterArguments(a: Analysis, id: PyNode): readonly PyNode[] | undefined {
  let p = cache.get(a);
  if (!p) cache.set(a, (p = new Parameters(a)));
  return p.argumentsOf(id);
}
