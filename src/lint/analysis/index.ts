// Per-file facts shared by all rules, computed once per lint from the engine's node index. Each part is lazy so a
// rule set that does not need it does not pay for it.
import type { PyNode } from '../parser';
import { Imports } from './imports';
import { ModuleClass, findModuleClasses } from './modules';
import { Scopes } from './scopes';

export { canonical } from './imports';
export type { ModuleClass } from './modules';

export interface NodeIndex {
  of(type: string): readonly PyNode[];
}

export class Analysis {
  private _imports?: Imports;
  private _scopes?: Scopes;
  private _modules?: ModuleClass[];
  private _functions?: Map<string, PyNode[]>;
  private readonly qnames = new Map<PyNode, string | undefined>();

  constructor(
    readonly root: PyNode,
    readonly index: NodeIndex,
  ) {}

  get scopes(): Scopes {
    this._scopes ??= new Scopes(this.index);
    return this._scopes;
  }

  get imports(): Imports {
    this._imports ??= new Imports([...this.index.of('import_statement'), ...this.index.of('import_from_statement')], (name) =>
      this.scopes.isBoundAnywhere(name),
    );
    return this._imports;
  }

  /** Qualified name of a dotted expression, e.g. `nn.CrossEntropyLoss` -> `torch.nn.CrossEntropyLoss`. */
  qname(node: PyNode | undefined): string | undefined {
    if (!node) return undefined;
    // Many rules ask about the same callees: resolve each node once.
    const cached = this.qnames.get(node);
    if (cached !== undefined || this.qnames.has(node)) return cached;
    const q = this.imports.resolve(node);
    this.qnames.set(node, q);
    return q;
  }

  /** Qualified name of what a call calls (`F.softmax(x)` -> `torch.nn.functional.softmax`). */
  callee(call: PyNode): string | undefined {
    return call.type === 'call' ? this.qname(call.child('function')) : undefined;
  }

  /** nn.Module subclasses in the file (also LightningModule and subclasses of those). */
  get modules(): ModuleClass[] {
    this._modules ??= findModuleClasses(this);
    return this._modules;
  }

  moduleClass(name: string): ModuleClass | undefined {
    return this.modules.find((m) => m.name === name);
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

  /** for/while loops in document order. */
  get loops(): PyNode[] {
    return [...this.index.of('for_statement'), ...this.index.of('while_statement')].sort((a, b) => a.start - b.start);
  }
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
  for (const c of args.children) if (c.type === 'keyword_argument' && c.child('name')?.text === name) return c.child('value');
  return undefined;
}

export function hasKeywordSplat(call: PyNode): boolean {
  return call.child('arguments')?.children.some((c) => c.type === 'dictionary_splat' || c.type === 'list_splat') ?? false;
}

/** `a.b.c(...)` -> 'c' ; `f(...)` -> 'f'. */
export function calleeName(call: PyNode): string | undefined {
  const f = call.child('function');
  if (!f) return undefined;
  if (f.type === 'identifier') return f.text;
  if (f.type === 'attribute') return f.child('attribute')?.text;
  return undefined;
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

export function enclosingFunction(node: PyNode): PyNode | undefined {
  return node.ancestor('function_definition');
}

/** Decorators of a function (the `decorated_definition` wrapper holds them). */
export function decoratorsOf(fn: PyNode): PyNode[] {
  const p = fn.parent;
  return p?.type === 'decorated_definition' ? p.children.filter((c) => c.type === 'decorator') : [];
}
