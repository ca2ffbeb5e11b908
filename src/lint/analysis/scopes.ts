// Simple assignments: name -> value node, per function and at module level, and `self.x = ...` per class.
// No type inference: a name bound by a parameter, a loop target or tuple unpacking has an unknown value.
import type { PyNode } from '../parser';
import type { NodeIndex } from './index';

interface Binding {
  /** Where the name is bound (the assignment, the function of a parameter, the loop): a node, so it moves with edits. */
  at: PyNode;
  /** The assigned expression, or undefined when unknown (parameter, unpacking, loop target, with-as). */
  value: PyNode | undefined;
  /** `a, b = rhs`: the name is element `index` of `rhs` (a tuple literal, or a call returning one). */
  element?: Element;
}

export interface Element {
  source: PyNode;
  index: number;
}

type ScopeMap = Map<string, Binding[]>;

export class Scopes {
  private readonly scopes = new Map<PyNode | null, ScopeMap>();
  /** class node -> attribute -> values assigned to `self.<attribute>` in its methods */
  private readonly selfAttrs = new Map<PyNode, Map<string, PyNode[]>>();
  private readonly bound = new Set<string>();
  /** While set, each binding a lookup finds is pushed here (`Analysis.perStatement` checks they are still in the tree). */
  recorder: PyNode[] | undefined;

  /** The bindings of the nodes of `index` (a file, or one top-level statement); none with no index (see `merge`). */
  constructor(index?: NodeIndex) {
    if (!index) return;
    for (const a of index.of('assignment')) this.addAssignment(a);
    for (const f of index.of('function_definition')) {
      const name = f.child('name')?.text;
      if (name) this.bind(scopeOf(f), name, f, undefined);
      for (const p of f.child('parameters')?.namedChildren ?? []) {
        const id = p.type === 'identifier' ? p : p.namedChildren.find((c) => c.type === 'identifier');
        if (id) this.bind(f, id.text, f, undefined);
      }
    }
    for (const c of index.of('class_definition')) {
      const name = c.child('name')?.text;
      if (name) this.bind(scopeOf(c), name, c, undefined);
    }
    for (const loop of index.of('for_statement')) {
      const left = loop.child('left');
      if (left) left.walk((n) => void (n.type === 'identifier' && this.bind(scopeOf(loop), n.text, loop, undefined)));
    }
    for (const w of index.of('as_pattern')) {
      const alias = w.child('alias');
      if (alias) alias.walk((n) => void (n.type === 'identifier' && this.bind(scopeOf(w), n.text, w, undefined)));
    }
    for (const list of this.scopes.values()) for (const b of list.values()) b.sort((x, y) => x.at.start - y.at.start);
  }

  /**
   * The file's scopes from those of its top-level statements, in document order (an editor keeps one per unchanged
   * statement: a binding holds its node, not an offset, so it stays right when the statement moves).
   */
  static merge(parts: readonly Scopes[]): Scopes {
    const out = new Scopes();
    const module = new Map<string, Binding[]>();
    const addModule = (list: Binding[], name: string) => {
      const all = module.get(name);
      module.set(name, all ? all.concat(list) : list);
    };
    const addScope = (map: ScopeMap, scope: PyNode | null) => {
      if (scope === null) {
        if (!out.scopes.has(null)) out.scopes.set(null, module);
        map.forEach(addModule);
      } else out.scopes.set(scope, map); // a function belongs to one statement
    };
    const addAttrs = (attrs: Map<string, PyNode[]>, cls: PyNode) => out.selfAttrs.set(cls, attrs);
    const addBound = (name: string) => out.bound.add(name);
    // forEach, not for-of: no [key, value] array per entry (this runs over every statement's bindings on each lint).
    for (const part of parts) {
      part.scopes.forEach(addScope);
      part.selfAttrs.forEach(addAttrs);
      part.bound.forEach(addBound);
    }
    return out;
  }

  private bind(scope: PyNode | null, name: string, at: PyNode, value: PyNode | undefined, element?: Element): void {
    let map = this.scopes.get(scope);
    if (!map) this.scopes.set(scope, (map = new Map()));
    const list = map.get(name) ?? [];
    list.push(element ? { at, value, element } : { at, value });
    map.set(name, list);
    this.bound.add(name);
  }

  private addAssignment(a: PyNode): void {
    const left = a.child('left');
    let value = a.child('right');
    // a = b = value: the value is the innermost right-hand side.
    while (value?.type === 'assignment') value = value.child('right');
    if (!left) return;
    const scope = scopeOf(a);
    if (left.type === 'identifier') {
      this.bind(scope, left.text, a, value);
    } else if (left.type === 'attribute' && left.child('object')?.text === 'self') {
      const cls = a.ancestor('class_definition');
      const attr = left.child('attribute')?.text;
      if (cls && attr && value) {
        let m = this.selfAttrs.get(cls);
        if (!m) this.selfAttrs.set(cls, (m = new Map()));
        m.set(attr, [...(m.get(attr) ?? []), value]);
      }
    } else if (value && flatTargets(left)) {
      // `recon, mu, logvar = model(x)`: each name is an element of the right-hand side; its value stays unknown
      // to valueAt (no type inference), elementAt tells which element.
      flatTargets(left)!.forEach((id, index) => this.bind(scope, id.text, a, undefined, { source: value, index }));
    } else {
      // Nested or starred unpacking: every name gets an unknown value.
      left.walk((n) => {
        if (n.type === 'attribute' || n.type === 'subscript') return false;
        if (n.type === 'identifier') this.bind(scope, n.text, a, undefined);
      });
    }
  }

  /** The values of each module-level name, in order (undefined: bound to something unknown). For statements.ts. */
  moduleBindings(): ReadonlyMap<string, (PyNode | undefined)[]> {
    const out = new Map<string, (PyNode | undefined)[]>();
    for (const [name, list] of this.scopes.get(null) ?? []) out.set(name, list.map((b) => b.value ?? b.element?.source));
    return out;
  }

  /**
   * Whether `valueAt(name, at)` can return a binding these scopes do not hold, when they are one statement's
   * (statements.ts): no enclosing function binds the name where it holds at `at`, and no module-level binding here
   * comes before `at` (that one would be the nearest). The same walk as valueAt's.
   */
  resolvesOutside(name: string, at: PyNode): boolean {
    const own = scopeOf(at);
    for (let scope = own; scope !== null; scope = scopeOf(scope)) {
      const list = this.scopes.get(scope)?.get(name);
      if (list?.length && (scope !== own || list.some((b) => b.at.start < at.start))) return false;
    }
    return !this.scopes.get(null)?.get(name)?.some((b) => b.at.start < at.start);
  }

  /** Every name bound anywhere (what isBoundAnywhere reads). */
  boundNames(): Set<string> {
    return this.bound;
  }

  isBoundAnywhere(name: string): boolean {
    return this.bound.has(name);
  }

  /**
   * The value a name has at `at`: the last binding before it in the enclosing function, else the module's last
   * binding. `null` when the name is bound but to something unknown (a parameter); undefined when never bound.
   */
  valueAt(name: string, at: PyNode): PyNode | null | undefined {
    const b = this.bindingAt(name, at);
    return b ? (b.value ?? null) : undefined;
  }

  /** For a name valueAt finds bound by tuple unpacking: which element of which expression it holds. */
  elementAt(name: string, at: PyNode): Element | undefined {
    return this.bindingAt(name, at)?.element;
  }

  private bindingAt(name: string, at: PyNode): Binding | undefined {
    for (let scope: PyNode | null = scopeOf(at); ; scope = scope ? scopeOf(scope) : null) {
      const list = this.scopes.get(scope)?.get(name);
      if (list?.length) {
        let chosen: Binding | undefined;
        for (const b of list) if (b.at.start < at.start) chosen = b;
        // Inside a function the module-level binding holds whatever its position (the function runs later).
        chosen ??= scope === scopeOf(at) && scope !== null ? undefined : list[list.length - 1];
        if (chosen) {
          this.recorder?.push(chosen.at);
          return chosen;
        }
      }
      if (scope === null) return undefined;
    }
  }

  /** Values assigned to `self.<attr>` in the methods of a class. */
  selfAttr(cls: PyNode, attr: string): PyNode[] {
    return this.selfAttrs.get(cls)?.get(attr) ?? [];
  }

  selfAttrNames(cls: PyNode): string[] {
    return [...(this.selfAttrs.get(cls)?.keys() ?? [])];
  }
}

/** The names of `a, b, c = ...` / `(a, b) = ...` when every target is a plain name. */
function flatTargets(left: PyNode): PyNode[] | undefined {
  if (left.type !== 'pattern_list' && left.type !== 'tuple_pattern' && left.type !== 'list_pattern') return undefined;
  const names = left.namedChildren.filter((c) => c.type !== 'comment');
  return names.length > 1 && names.every((c) => c.type === 'identifier') ? names : undefined;
}

/** The function a node belongs to (null: module level). Class bodies belong to their enclosing scope. */
export function scopeOf(node: PyNode): PyNode | null {
  for (let p = node.parent; p; p = p.parent) if (p.type === 'function_definition') return p;
  return null;
}
