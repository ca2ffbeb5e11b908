// Per-file facts shared by all rules, computed once per lint from the engine's node index. Each part is lazy so a
// rule set that does not need it does not pay for it.
import type { NodeMemo, PyNode } from '../parser';
import { CONVENTIONAL_NAMES, Imports, canonical, conventionalModule } from './imports';
import { ModuleClass, findModuleClasses } from './modules';
import { Scopes } from './scopes';

export { canonical } from './imports';
export type { ModuleClass } from './modules';

export interface NodeIndex {
  of(type: string): readonly PyNode[];
  /** The nodes of a type per top-level statement, in document order, each list kept while its statement is (editor). */
  partsOf?(type: string): readonly (readonly PyNode[])[] | undefined;
}

/** The whole file's index, as the engine builds it for an `Analysis`. */
export interface FileIndex extends NodeIndex {
  /** The syntax-error regions, whose insides are not indexed. */
  readonly errorNodes: readonly PyNode[];
}

/**
 * What an editor's re-lint knows about the top-level statement holding a node (statements.ts): `kept` is the same
 * object on each lint while the statement's text is the same, `key` stands for what code inside it may read of other
 * statements (imports and module-level bindings). Undefined for a statement with a syntax error.
 */
export interface StatementFacts {
  top: PyNode;
  kept: object;
  key: number;
}

/** What an editor's re-lint already knows about the file (statements.ts); a one-off lint passes none of it. */
export interface EditorFacts {
  /** Whether the file binds a name anywhere, known without the file's Scopes. */
  boundAnywhere?: (name: string) => boolean;
  /** The serial of the previous analysis when the imports are the same: qualified names memoised on kept nodes hold. */
  sameResolutionAs?: number;
  /** The bindings of each top-level statement, in order: the file's Scopes is their merge. */
  scopeParts?: () => Scopes[];
  /** The facts of the statement holding a node, for `perStatement`. */
  statementFacts?: (node: PyNode) => StatementFacts | undefined;
}

interface MemoEntry {
  key: number;
  value: unknown;
  /** The bindings the computation looked up (Scopes.recorder): each must still be in the tree. */
  bindings: PyNode[];
}

/**
 * Per statement text (its `kept` object): the statement node the results were computed on, and per node inside it,
 * per kind of result, what was computed. A statement rebuilt with the same text (new nodes) starts afresh.
 */
const statementMemos = new WeakMap<object, { top: PyNode; byNode: Map<PyNode, Map<string, MemoEntry>> }>();

let analyses = 0;

/**
 * Nodes of one type by a name (calls by callee name, identifiers by text) joined from the kept per-statement lists of
 * an editor's document, carried from one lint to the next: a name's joined list is kept until a statement holding
 * that name changes (`sync`). One store per type serves every document; an analysis syncs it to its own statements
 * before each lookup it has not made yet.
 */
class NamedStore {
  private parts: readonly (readonly PyNode[])[] = [];
  /** Joined lists of the names looked up so far, for `parts`. */
  private joined = new Map<string, readonly PyNode[]>();
  private readonly perPart = new WeakMap<readonly PyNode[], Map<string, PyNode[]>>();
  /** The maps of `parts`, in order (made on the first join after a sync). */
  private maps?: Map<string, PyNode[]>[];

  constructor(private readonly nameOf: (n: PyNode) => string | undefined) {}

  private byName(part: readonly PyNode[]): Map<string, PyNode[]> {
    let m = this.perPart.get(part);
    if (!m) this.perPart.set(part, (m = groupByName(part, this.nameOf)));
    return m;
  }

  get(parts: readonly (readonly PyNode[])[], name: string): readonly PyNode[] {
    if (parts !== this.parts) this.sync(parts);
    let list = this.joined.get(name);
    if (list === undefined) {
      const lists: (readonly PyNode[])[] = [];
      this.maps ??= parts.map((p) => this.byName(p));
      for (const m of this.maps) {
        const l = m.get(name);
        if (l) lists.push(l);
      }
      list = lists.length === 0 ? NO_NODES : lists.length === 1 ? lists[0]! : NO_NODES.concat(...lists);
      this.joined.set(name, list);
    }
    return list;
  }

  private sync(parts: readonly (readonly PyNode[])[]): void {
    const old = this.parts;
    this.parts = parts;
    this.maps = undefined;
    if (old.length === parts.length) {
      const changed: number[] = [];
      for (let i = 0; i < parts.length && changed.length <= 16; i++) if (parts[i] !== old[i]) changed.push(i);
      if (changed.length <= 16) {
        for (const i of changed) {
          for (const k of this.byName(old[i]!).keys()) this.joined.delete(k);
          for (const k of this.byName(parts[i]!).keys()) this.joined.delete(k);
        }
        return;
      }
    }
    this.joined = new Map();
  }
}

const NO_NODES: readonly PyNode[] = [];

/** Nodes by name, in the order given. */
function groupByName(nodes: readonly PyNode[], nameOf: (n: PyNode) => string | undefined): Map<string, PyNode[]> {
  const m = new Map<string, PyNode[]>();
  for (const c of nodes) {
    const n = nameOf(c);
    if (n === undefined) continue;
    const list = m.get(n);
    if (list) list.push(c);
    else m.set(n, [c]);
  }
  return m;
}

const callStore = new NamedStore(calleeName);
const identifierStore = new NamedStore((n) => n.text);

function newMemo(): NodeMemo {
  return { qnameOwner: 0, qname: undefined, calleeOwner: 0, callee: undefined, calleeName: undefined };
}

export class Analysis {
  /**
   * Tells this analysis' memos on nodes (`PyNode.memo`) from those of earlier analyses. An editor's re-lint passes
   * the number of the previous analysis when the imports are the same (statements.ts): a kept node's qualified names
   * then still hold.
   */
  readonly serial: number;
  private _imports?: Imports;
  private _scopes?: Scopes;
  private _modules?: ModuleClass[];
  private _modulesByName?: Map<string, ModuleClass[]>;
  private _callsTo?: Map<string, PyNode[]>;
  private _functions?: Map<string, PyNode[]>;
  private _classNames?: Set<string>;
  private _callsByName?: Map<string, PyNode[]>;
  private _identifiersByName?: Map<string, PyNode[]>;
  private _loops?: PyNode[];
  /** The calls and identifiers per top-level statement (editor's document; null for a one-off lint), for the stores. */
  private _callParts?: readonly (readonly PyNode[])[] | null;
  private _identifierParts?: readonly (readonly PyNode[])[] | null;

  private readonly boundAnywhere?: (name: string) => boolean;
  private readonly scopeParts?: () => Scopes[];
  private readonly statementFacts?: (node: PyNode) => StatementFacts | undefined;

  constructor(
    readonly root: PyNode,
    readonly index: FileIndex,
    editor: EditorFacts = {},
  ) {
    this.serial = editor.sameResolutionAs ?? ++analyses;
    this.boundAnywhere = editor.boundAnywhere;
    this.scopeParts = editor.scopeParts;
    this.statementFacts = editor.statementFacts;
  }

  /**
   * A result about `node` that depends only on the subtree of its top-level statement, the imports and the
   * module-level bindings its lookups find (valueAt): computed once and, in an editor's document, kept between lints
   * while the statement keeps its text and PyNode, its facts key holds, and every binding looked up is still in the
   * tree. Results must not hold offsets (nodes move), and must not depend on call sites or other statements' code.
   */
  perStatement<T>(node: PyNode, kind: string, compute: () => T): T {
    const facts = this.statementFacts?.(node);
    if (!facts) return compute();
    let memo = statementMemos.get(facts.kept);
    if (memo?.top !== facts.top) statementMemos.set(facts.kept, (memo = { top: facts.top, byNode: new Map() }));
    const entry = memo.byNode.get(node)?.get(kind);
    if (entry && entry.key === facts.key && entry.bindings.every((b) => this.inTree(b))) {
      this.scopes.recorder?.push(...entry.bindings);
      return entry.value as T;
    }
    const scopes = this.scopes;
    const outer = scopes.recorder;
    const bindings: PyNode[] = [];
    scopes.recorder = bindings;
    let value: T;
    try {
      value = compute();
    } finally {
      scopes.recorder = outer;
      outer?.push(...bindings);
    }
    let byKind = memo.byNode.get(node);
    if (!byKind) memo.byNode.set(node, (byKind = new Map()));
    byKind.set(kind, { key: facts.key, value, bindings });
    return value;
  }

  private inTree(n: PyNode): boolean {
    let p = n;
    while (p.parent) p = p.parent;
    return p === this.root;
  }

  get scopes(): Scopes {
    this._scopes ??= this.scopeParts ? Scopes.merge(this.scopeParts()) : new Scopes(this.index);
    return this._scopes;
  }

  get imports(): Imports {
    this._imports ??= new Imports(
      [...this.index.of('import_statement'), ...this.index.of('import_from_statement')],
      this.boundAnywhere ?? ((name) => this.scopes.isBoundAnywhere(name)),
    );
    return this._imports;
  }

  /** Qualified name of a dotted expression, e.g. `nn.CrossEntropyLoss` -> `torch.nn.CrossEntropyLoss`. */
  qname(node: PyNode | undefined): string | undefined {
    if (!node) return undefined;
    // Many rules ask about the same callees: resolve each node once per analysis (memo kept on the node).
    const m = (node.memo ??= newMemo());
    if (m.qnameOwner === this.serial) return m.qname;
    const q = this.imports.resolve(node);
    m.qnameOwner = this.serial;
    m.qname = q;
    return q;
  }

  /** Qualified name of what a call calls (`F.softmax(x)` -> `torch.nn.functional.softmax`). */
  callee(call: PyNode): string | undefined {
    if (call.type !== 'call') return undefined;
    const m = (call.memo ??= newMemo());
    if (m.calleeOwner === this.serial) return m.callee;
    const q = this.qname(call.child('function'));
    m.calleeOwner = this.serial;
    m.callee = q;
    return q;
  }

  /** nn.Module subclasses in the file (also LightningModule and subclasses of those). */
  get modules(): ModuleClass[] {
    this._modules ??= findModuleClasses(this);
    return this._modules;
  }

  /**
   * The module class of that name. A name defined twice (a notebook cell re-running an edited `class Net`) is the
   * last definition before `at` when given, else the file's last one: what Python holds by then.
   */
  moduleClass(name: string, at?: PyNode): ModuleClass | undefined {
    if (!this._modulesByName) {
      const byName = new Map<string, ModuleClass[]>();
      for (const m of this.modules) {
        const list = byName.get(m.name);
        if (list) list.push(m);
        else byName.set(m.name, [m]);
      }
      this._modulesByName = byName;
    }
    let found: ModuleClass | undefined;
    for (const m of this._modulesByName.get(name) ?? []) {
      if (found && at && m.node.start > at.start) break;
      found = m;
    }
    return found;
  }

  /** Whether the file defines a class of this name (any class, at any depth): a cheap first test before moduleClass. */
  definesClass(name: string): boolean {
    if (!this._classNames) {
      this._classNames = new Set();
      for (const c of this.index.of('class_definition')) {
        const n = c.child('name')?.text;
        if (n) this._classNames.add(n);
      }
    }
    return this._classNames.has(name);
  }

  /** Function definitions by name (methods included). */
  get functions(): Map<string, PyNode[]> {
    if (!this._functions) {
      this._functions = new Map();
      for (const f of this.index.of('function_definition')) {
        const name = f.child('name')?.text;
        if (!name) continue;
        const list = this._functions.get(name) ?? [];
        list.push(f);
        this._functions.set(name, list);
      }
    }
    return this._functions;
  }

  /**
   * Calls by the last name of what they call (`f(x)` and `a.b.f(x)` under 'f'), in document order: lets rules look
   * up the calls of one name without scanning every call of the file.
   */
  callsNamed(name: string): readonly PyNode[] {
    if (this._callParts === undefined) this._callParts = this.index.partsOf?.('call') ?? null;
    if (this._callParts) return callStore.get(this._callParts, name);
    this._callsByName ??= groupByName(this.index.of('call'), calleeName);
    return this._callsByName.get(name) ?? NO_NODES;
  }

  /** The identifiers spelled `name`, in document order. */
  identifiersNamed(name: string): readonly PyNode[] {
    if (this._identifierParts === undefined) this._identifierParts = this.index.partsOf?.('identifier') ?? null;
    if (this._identifierParts) return identifierStore.get(this._identifierParts, name);
    this._identifiersByName ??= groupByName(this.index.of('identifier'), (n) => n.text);
    return this._identifiersByName.get(name) ?? NO_NODES;
  }

  /**
   * The calls whose callee is `qname`, in document order: found among the calls named like its last part (`nn.Linear`,
   * `torch.nn.Linear`) and those of the local names an import or convention binds to it (`from torch.nn import
   * Linear as L`), instead of resolving every call of the file. (Resolution keeps the last part of a dotted name, and
   * a name alone resolves to what its import or convention binds.)
   */
  callsTo(qname: string): readonly PyNode[] {
    this._callsTo ??= new Map();
    let calls = this._callsTo.get(qname);
    if (!calls) {
      const names = new Set([qname.slice(qname.lastIndexOf('.') + 1)]);
      for (const [local, q] of this.imports.aliases) if (canonical(q) === qname) names.add(local);
      for (const local of CONVENTIONAL_NAMES) if (canonical(conventionalModule(local)) === qname) names.add(local);
      calls = [];
      for (const name of names) for (const c of this.callsNamed(name)) if (this.callee(c) === qname) calls.push(c);
      if (names.size > 1) calls.sort((x, y) => x.start - y.start);
      this._callsTo.set(qname, calls);
    }
    return calls;
  }

  /** for/while loops in document order (sorted once per analysis). */
  get loops(): readonly PyNode[] {
    this._loops ??= [...this.index.of('for_statement'), ...this.index.of('while_statement')].sort((a, b) => a.start - b.start);
    return this._loops;
  }
}

/** The top-level statement holding a node (the child of the module root on its path; the root itself for the root). */
export function topStatementOf(node: PyNode): PyNode {
  let top = node;
  while (top.parent?.parent) top = top.parent;
  return top;
}

/** The root of the tree holding a node (the module). */
export function rootOf(node: PyNode): PyNode {
  let r = node;
  while (r.parent) r = r.parent;
  return r;
}

/** Unwraps parentheses. */
export function unparen(n: PyNode | undefined): PyNode | undefined {
  while (n && n.type === 'parenthesized_expression') n = n.namedChildren.find((c) => c.type !== 'comment');
  return n;
}

/** Positional arguments of a call (keywords, *args and comments excluded). */
export function positionalArgs(call: PyNode): PyNode[] {
  const args = call.child('arguments');
  if (!args || args.type !== 'argument_list') return [];
  return args.namedChildren.filter((c) => c.type !== 'keyword_argument' && c.type !== 'comment' && c.type !== 'list_splat' && c.type !== 'dictionary_splat');
}

export function keywordArg(call: PyNode, name: string): PyNode | undefined {
  const args = call.child('arguments');
  if (!args) return undefined;
  for (const c of args.children) {
    if (c.type !== 'keyword_argument') continue;
    const n = c.child('name');
    // Compared in place: no substring per keyword.
    if (n && n.end - n.start === name.length && n.src.text.startsWith(name, n.start)) return c.child('value');
  }
  return undefined;
}

export function hasKeywordSplat(call: PyNode): boolean {
  return call.child('arguments')?.children.some((c) => c.type === 'dictionary_splat' || c.type === 'list_splat') ?? false;
}

/** The name under which a call runs a function of the file: `train` for `train(...)` and for `self.train(...)`. */
export function fileCallName(call: PyNode): string | undefined {
  const f = call.child('function');
  if (f?.type === 'identifier') return f.text;
  return f?.type === 'attribute' && f.child('object')?.text === 'self' ? f.child('attribute')?.text : undefined;
}

/** The parameter names of a function, in order (plain, typed, defaulted and splat ones). */
export function parameterNames(fn: PyNode): string[] {
  return (fn.child('parameters')?.namedChildren ?? []).map((p) => (p.type === 'identifier' ? p.text : (p.child('name')?.text ?? p.namedChildren[0]?.text ?? '')));
}

/**
 * An expression without the conversions around it that keep its value: calls of `functions` on it (`float(x)`) and
 * calls of `methods` without arguments (`x.item()`, `x.cpu().numpy()`). With `oneArgument`, a function call counts
 * only when the expression is its only argument (`round(x, 2)` is then kept).
 */
export function peelConversions(n: PyNode | undefined, functions: RegExp, methods: RegExp, oneArgument = false): PyNode | undefined {
  let e = unparen(n);
  while (e?.type === 'call') {
    const f = e.child('function');
    const args = e.child('arguments')?.namedChildren ?? [];
    const asArgument = args.length >= 1 && (!oneArgument || args.length === 1) && args[0]!.type !== 'keyword_argument';
    if (f?.type === 'identifier' && functions.test(f.text) && asArgument) e = unparen(args[0]);
    else if (f?.type === 'attribute' && methods.test(calleeName(e) ?? '') && args.length === 0 && receiver(e)) e = unparen(receiver(e));
    else break;
  }
  return e;
}

/** `a.b.c(...)` -> 'c' ; `f(...)` -> 'f'. */
export function calleeName(call: PyNode): string | undefined {
  const m = (call.memo ??= newMemo());
  let name = m.calleeName;
  if (name === undefined) {
    const f = call.child('function');
    name = f?.type === 'identifier' ? f.text : f?.type === 'attribute' ? (f.child('attribute')?.text ?? null) : null;
    m.calleeName = name;
  }
  return name ?? undefined;
}

/** The object a method is called on: `opt.step()` -> `opt`. */
export function receiver(call: PyNode): PyNode | undefined {
  const f = call.child('function');
  return f?.type === 'attribute' ? f.child('object') : undefined;
}

/**
 * Calls of each subtree, cached by node. Valid across lints and edits: a PyNode kept by an incremental re-parse
 * has the same subtree (only its offsets move), and a changed subtree gets new PyNodes.
 */
const callsCache = new WeakMap<PyNode, PyNode[]>();

/** Calls within a node, not descending into nested functions, lambdas or classes. A fresh array on each call. */
export function callsWithin(node: PyNode): PyNode[] {
  let calls = callsCache.get(node);
  if (!calls) {
    const out: PyNode[] = [];
    const stack: PyNode[] = [node];
    let n: PyNode | undefined;
    while ((n = stack.pop())) {
      const t = n.type;
      if (n !== node && (t === 'function_definition' || t === 'lambda' || t === 'class_definition')) continue;
      if (t === 'ERROR') continue;
      if (t === 'call') out.push(n);
      const ch = n.children;
      for (let i = ch.length - 1; i >= 0; i--) if (ch[i]!.named || ch[i]!.children.length) stack.push(ch[i]!);
    }
    callsCache.set(node, (calls = out));
  }
  return calls.slice();
}

/** The statement list of a block-bearing node (`body` of for/while/if/with/def/class). */
export function bodyOf(node: PyNode): PyNode[] {
  const b = node.child('body');
  if (!b) return [];
  return b.type === 'block' ? b.namedChildren.filter((c) => c.type !== 'comment') : [b];
}

/** The expression of a statement that is nothing else (`model.eval` or `torch.no_grad()` on its own line). */
export function loneExpression(statement: PyNode): PyNode | undefined {
  return statement.namedChildren.length === 1 ? statement.namedChildren[0] : undefined;
}

/** The call a statement consists of (`optimizer.zero_grad()` alone), else undefined. */
export function statementCall(s: PyNode): PyNode | undefined {
  const e = s.type === 'expression_statement' ? loneExpression(s) : undefined;
  return e?.type === 'call' ? e : undefined;
}

/** Whether a function declares a parameter named `name` (`x`, `x: int`, `x=1`, `*args`, `**kwargs`). */
export function hasParameter(fn: PyNode | null | undefined, name: string): boolean {
  return (fn?.child('parameters')?.namedChildren ?? []).some((p) => (p.type === 'identifier' ? p : p.namedChildren.find((c) => c.type === 'identifier'))?.text === name);
}

/** Whether a for loop's target binds `name` (`for model in models:`, `for x, y in loader:`). */
export function loopTargetBinds(loop: PyNode, name: string): boolean {
  let bound = false;
  loop.child('left')?.walk((n) => void ((n.type === 'identifier' || n.type === 'attribute') && n.text === name && (bound = true)));
  return bound;
}

export function enclosingFunction(node: PyNode): PyNode | undefined {
  return node.ancestor('function_definition');
}

/** The class a function is a method of: defined in the class body, decorated or not (not a function nested in a method). */
export function methodClass(fn: PyNode | undefined): PyNode | undefined {
  if (fn?.type !== 'function_definition') return undefined;
  const holder = fn.parent?.type === 'decorated_definition' ? fn.parent.parent : fn.parent;
  return holder?.type === 'block' && holder.parent?.type === 'class_definition' ? holder.parent : undefined;
}

/** Decorators of a function (the `decorated_definition` wrapper holds them). */
export function decoratorsOf(fn: PyNode): PyNode[] {
  const p = fn.parent;
  return p?.type === 'decorated_definition' ? p.children.filter((c) => c.type === 'decorator') : [];
}
