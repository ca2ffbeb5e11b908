import { calleeName, enclosingFunction, parameterNames, positionalArgs, receiver, rootOf, unparen, type Analysis, type ModuleClass } from '../../analysis';
import { returnValues } from '../../analysis/modules';
import { parameterArguments } from '../../analysis/parameters';
import type { PyNode } from '../../parser';
import type { RawFix, Rule } from '../../types';

/** torch.nn classes that are modules: capitalised names right under torch.nn (or torch.nn.modules.<file>). */
const NN_CLASS = /^torch\.nn\.(modules\.\w+\.)?[A-Z]\w*$/;
/** ...except parameters, buffers and the containers that do register their items. */
const NOT_MODULE = /^torch\.nn\.(modules\.\w+\.)?(Parameter|ParameterList|ParameterDict|ModuleList|ModuleDict|Buffer|Uninitialized\w*)$/;
/** Calls that only read a list: passing `self.layers` to them registers nothing. Any other call might. */
const READS = new Set(['len', 'enumerate', 'zip', 'reversed', 'iter', 'sorted', 'print', 'min', 'max', 'sum', 'map', 'filter', 'any', 'all', 'isinstance', 'str', 'repr', 'range', 'list', 'tuple']);
const REGISTERS = new Set(['add_module', 'register_module', 'setattr']);

type Kind = 'list' | 'tuple' | 'dict';

/** A collection of module constructions assigned to `self.X`, and how to wrap it. */
interface Found {
  kind: Kind;
  /** The edit that makes it a ModuleList/ModuleDict (given the local spelling of torch.nn); undefined: no safe fix. */
  fix?: (nn: string) => RawFix['edits'];
}

function isModuleCall(a: Analysis, n: PyNode | undefined, depth = 0): boolean {
  const v = unparen(n);
  if (!v) return false;
  if (v.type === 'conditional_expression') {
    const [x, , y] = v.namedChildren.filter((c) => c.type !== 'comment');
    return isModuleCall(a, x, depth) && isModuleCall(a, y, depth);
  }
  if (v.type === 'identifier' && depth === 0) {
    // `layer = nn.Linear(...)` then `self.layers.append(layer)`.
    const bound = a.scopes.valueAt(v.text, v);
    return !!bound && !bound.hasError && isModuleCall(a, bound, 1) && !assignedToSelf(v);
  }
  if (v.type !== 'call') return false;
  const fn = v.child('function');
  if (fn?.type === 'identifier' && a.moduleClass(fn.text)) return true;
  const q = a.callee(v);
  if (!q) return false;
  if (q === 'copy.deepcopy') return isModuleCall(a, positionalArgs(v)[0], depth);
  return NN_CLASS.test(q) && !NOT_MODULE.test(q);
}

/** The local name also becomes an attribute of self in its function (`self.fc = layer`): registered that way. */
function assignedToSelf(id: PyNode): boolean {
  const fn = enclosingFunction(id);
  let found = false;
  fn?.walk((n) => {
    if (found) return false;
    if (n.type !== 'assignment') return;
    const left = n.child('left');
    if (left?.type === 'attribute' && left.child('object')?.text === 'self' && unparen(n.child('right'))?.text === id.text) found = true;
  });
  return found;
}

/** A `ModuleDict` key known to be a valid name: a string literal without '.', an f-string without '.', `str(...)`. */
function stringKey(k: PyNode | undefined, literalOnly: boolean): boolean {
  const key = unparen(k);
  if (!key) return false;
  if (key.type === 'string') {
    const t = key.text;
    const prefix = /^[a-zA-Z]*/.exec(t)![0].toLowerCase();
    if (prefix.includes('b') || t.includes('.') || /^[a-zA-Z]*(''|""|''''''|"""""")$/.test(t)) return false;
    return !literalOnly || !prefix.includes('f');
  }
  return !literalOnly && key.type === 'call' && key.child('function')?.text === 'str';
}

const wrap = (node: PyNode, cls: string, text = node.text) => (nn: string) => [{ start: node.start, end: node.end, newText: `${nn}.${cls}(${text})` }];

/** A non-empty literal or comprehension whose items are module constructions. */
function literal(a: Analysis, v: PyNode): Found | undefined {
  const items = v.namedChildren.filter((c) => c.type !== 'comment');
  switch (v.type) {
    case 'list':
      return items.length && items.every((e) => isModuleCall(a, e)) ? { kind: 'list', fix: wrap(v, 'ModuleList') } : undefined;
    case 'tuple': {
      if (!items.length || !items.every((e) => isModuleCall(a, e))) return undefined;
      const inner = v.text.startsWith('(') ? v.text.slice(1, -1) : v.text;
      return { kind: 'tuple', fix: wrap(v, 'ModuleList', `[${inner}]`) };
    }
    case 'list_comprehension':
      return isModuleCall(a, v.child('body')) ? { kind: 'list', fix: wrap(v, 'ModuleList') } : undefined;
    case 'dictionary': {
      if (!items.length || !items.every((p) => p.type === 'pair' && isModuleCall(a, p.child('value')))) return undefined;
      return { kind: 'dict', fix: items.every((p) => stringKey(p.child('key'), true)) ? wrap(v, 'ModuleDict') : undefined };
    }
    case 'dictionary_comprehension': {
      const pair = v.child('body');
      if (!isModuleCall(a, pair?.child('value'))) return undefined;
      return { kind: 'dict', fix: stringKey(pair?.child('key'), false) ? wrap(v, 'ModuleDict') : undefined };
    }
    case 'call': {
      // list(nn.Linear(...) for ...), tuple(...)
      const fn = v.child('function');
      const gen = v.child('arguments');
      if (fn?.type !== 'identifier' || (fn.text !== 'list' && fn.text !== 'tuple') || gen?.type !== 'generator_expression') return undefined;
      if (!isModuleCall(a, gen.child('body'))) return undefined;
      return { kind: fn.text, fix: (nn) => [{ start: fn.start, end: fn.end, newText: `${nn}.ModuleList` }] };
    }
  }
  return undefined;
}

/** `[]`, `list()`: 'list'; `{}`, `dict()`: 'dict'. */
function emptyKind(v: PyNode): 'list' | 'dict' | undefined {
  if (v.type === 'list' && !v.namedChildren.some((c) => c.type !== 'comment')) return 'list';
  if (v.type === 'dictionary' && !v.namedChildren.some((c) => c.type !== 'comment')) return 'dict';
  if (v.type === 'call' && (v.child('arguments')?.namedChildren.length ?? 1) === 0) {
    const fn = v.child('function')?.text;
    if (fn === 'list') return 'list';
    if (fn === 'dict') return 'dict';
  }
  return undefined;
}

/**
 * How an empty list/dict held by `target` (`self.layers` or a local name) is filled within `scope`: whether it gets
 * module constructions, and whether every dict key is a valid ModuleDict name.
 */
function fills(a: Analysis, scope: PyNode, target: string, kind: 'list' | 'dict'): { modules: boolean; keysOk: boolean; nodes: PyNode[]; likely: boolean } {
  let modules = false;
  let keysOk = true;
  let likely = false;
  const nodes: PyNode[] = [];
  const isTarget = (n: PyNode | undefined) => unparen(n)?.text === target;
  scope.walk((n) => {
    if (n.type === 'class_definition' && n !== scope) return false;
    if (n.type === 'call') {
      const name = calleeName(n);
      if (!isTarget(receiver(n))) return;
      const args = positionalArgs(n);
      if (kind === 'list' && (name === 'append' || name === 'insert')) {
        nodes.push(n);
        const item = args[name === 'insert' ? 1 : 0];
        if (isModuleCall(a, item)) modules = true;
        else if (likelyModule(a, item, n)) likely = true;
      } else if (kind === 'list' && name === 'extend') {
        nodes.push(n);
        const l = unparen(args[0]);
        if (l && literal(a, l)) modules = true;
      } else if (kind === 'dict' && name === 'update') {
        nodes.push(n);
        const d = unparen(args[0]);
        const f = d && literal(a, d);
        if (f?.kind === 'dict') {
          modules = true;
          if (!f.fix) keysOk = false;
        }
      }
    } else if (n.type === 'augmented_assignment' && kind === 'list' && isTarget(n.child('left'))) {
      nodes.push(n);
      const r = unparen(n.child('right'));
      if (r && literal(a, r)) modules = true;
    } else if (n.type === 'assignment' && kind === 'dict') {
      const left = n.child('left');
      if (left?.type === 'subscript' && isTarget(left.child('value')) && isModuleCall(a, n.child('right'))) {
        nodes.push(n);
        modules = true;
        if (!stringKey(left.child('subscript'), false)) keysOk = false;
      }
    }
  });
  return { modules, keysOk, nodes, likely };
}

/** Names of values and factories that hold layers (`layer`, `get_layer(...)`, `make_block(...)`). */
const LAYERISH = /layer|block|module|encoder|decoder|head|conv|mlp|cell/i;

/**
 * An appended value that is not a module construction but is one by another sign: checked by
 * `isinstance(v, nn.Module)` around the append, named like a layer, or made by a layer factory (`get_layer(...)`,
 * a function of the file that returns a module construction). Functions (`F.relu`) and attributes are not.
 */
function likelyModule(a: Analysis, item: PyNode | undefined, at: PyNode): boolean {
  const v = unparen(item);
  if (v?.type === 'identifier') {
    // Also kept as `self.fc = layer`, or read from a registered attribute (`layer = self.fc`): registered already.
    const bound = unparen(a.scopes.valueAt(v.text, v) ?? undefined);
    if (assignedToSelf(v) || (bound?.type === 'attribute' && bound.child('object')?.text === 'self')) return false;
    if (guardedAsModule(v.text, at)) return true;
    // A local value is judged by what it holds (`layer = getattr(self, name)` is not a new layer); a parameter or
    // loop target by its name.
    if (bound) return bound.type === 'call' && likelyModule(a, bound, at);
    return LAYERISH.test(v.text);
  }
  if (v?.type !== 'call') return false;
  const fn = v.child('function');
  const q = a.callee(v);
  if (q && /^(torch|builtins|copy|functools)\./.test(q)) return false;
  if (fn?.type === 'identifier') {
    const defs = a.functions.get(fn.text);
    if (defs?.length === 1) return returnValues(defs[0]!).some((r) => isModuleCall(a, r));
  }
  return LAYERISH.test(calleeName(v) ?? '');
}

/** The append sits in the body of `if isinstance(name, nn.Module):`. */
function guardedAsModule(name: string, at: PyNode): boolean {
  const guard = new RegExp(`isinstance\\(\\s*${name}\\s*,\\s*[\\w.]*Module\\s*\\)`);
  for (let n: PyNode | null = at; n && n.type !== 'function_definition'; n = n.parent) {
    const p: PyNode | null = n.parent;
    if ((p?.type === 'if_statement' || p?.type === 'elif_clause') && p.child('consequence') === n && guard.test(p.child('condition')?.text ?? '')) return true;
  }
  return false;
}

/**
 * A method calls the items of `target` like modules: `for layer in self.layers: x = layer(x)` (also through
 * `enumerate` / `zip` / `reversed`), or `self.layers[i](x)`.
 */
function itemsCalled(cls: PyNode, target: string): boolean {
  let found = false;
  cls.walk((n) => {
    if (found) return false;
    if (n.type === 'call') {
      const fn = n.child('function');
      if (fn?.type === 'subscript' && fn.child('value')?.text === target) found = true;
    } else if (n.type === 'for_statement') {
      const right = unparen(n.child('right'));
      const iterated = right?.text === target || (right?.type === 'call' && /^(enumerate|zip|reversed)$/.test(right.child('function')?.text ?? '') && positionalArgs(right).some((x) => x.text === target));
      if (!iterated) return undefined;
      const names = new Set<string>();
      n.child('left')?.walk((t) => void (t.type === 'identifier' && names.add(t.text)));
      n.child('body')?.walk((c) => {
        if (c.type === 'call' && c.child('function')?.type === 'identifier' && names.has(c.child('function')!.text)) found = true;
      });
    }
    return undefined;
  });
  return found;
}

/**
 * `target` reaches another owner: passed to a call other than a plain read (`nn.Sequential(*self.layers)`,
 * `nn.ModuleList(layers)`, a helper), or the functions that fill it call add_module/register_module/setattr.
 */
function registeredElsewhere(scope: PyNode, target: string, fillers: PyNode[], except?: PyNode): boolean {
  let found = false;
  scope.walk((n) => {
    if (found) return false;
    if (n.type !== 'call' || n === except) return;
    const name = calleeName(n);
    if (name && READS.has(name) && n.child('function')?.type === 'identifier') return;
    const args = n.child('arguments');
    if (!args) return;
    for (const arg of args.namedChildren) {
      const v = arg.type === 'list_splat' || arg.type === 'keyword_argument' ? arg.namedChildren[arg.namedChildren.length - 1] : arg;
      if (unparen(v)?.text === target) found = true;
    }
  });
  if (found) return true;
  const fns = new Set(fillers.map((n) => enclosingFunction(n) ?? n));
  for (const fn of fns) {
    for (const c of fn.type === 'function_definition' ? fn.children : []) {
      c.walk((n) => {
        if (found) return false;
        if (n.type !== 'call') return;
        const name = calleeName(n);
        if (!name || !REGISTERS.has(name)) return;
        if (name === 'setattr' ? positionalArgs(n)[0]?.text === 'self' : receiver(n)?.text === 'self') found = true;
      });
    }
  }
  return found;
}

/** `super().__init__()` (or `Base.__init__(self)`) comes after the assignment: a ModuleList cannot be assigned yet. */
function beforeModuleInit(assign: PyNode): boolean {
  const fn = enclosingFunction(assign);
  let after = false;
  fn?.walk((n) => {
    if (after) return false;
    if (n.type === 'call' && n.start > assign.end && calleeName(n) === '__init__') after = true;
  });
  return after;
}

/** The local spelling of torch.nn for the fix: `nn`, or `torch.nn` with only `import torch`; undefined: neither imported. */
function nnSpelling(a: Analysis): string | undefined {
  const nn = a.imports.localName('torch.nn');
  if (nn) return nn;
  const torch = a.imports.localName('torch');
  return torch ? `${torch}.nn` : undefined;
}

const message = (attr: string, kind: Kind) =>
  `self.${attr} is a plain ${kind}: its modules are not registered, so model.parameters() (and the optimizer), .to(device) and state_dict() skip them. ` +
  `Use nn.${kind === 'dict' ? 'ModuleDict' : 'ModuleList'}(...).`;

/** Values that can hold modules without registering them: the only ones worth a closer look. */
const COLLECTIONS = new Set(['list', 'dictionary', 'tuple', 'list_comprehension', 'dictionary_comprehension']);
const COLLECTION_CALLS = new Set(['list', 'tuple', 'dict']);

/** A collection literal, `list(...)`/`tuple(...)`/`dict()`, or a local name bound to one of those in its function. */
function mayHoldModules(v: PyNode | undefined): boolean {
  if (!v) return false;
  if (COLLECTIONS.has(v.type)) return true;
  if (v.type === 'call') {
    const fn = v.child('function');
    return fn?.type === 'identifier' && COLLECTION_CALLS.has(fn.text);
  }
  // `self.layers = layers`: only when the function binds that name to a collection (`self.size = size` is the common
  // case), or takes it as a parameter (its call sites are read later).
  if (v.type !== 'identifier') return false;
  const fn = enclosingFunction(v);
  return localCollections(fn).has(v.text) || (!!fn && parameterNames(fn).includes(v.text));
}

/** Names a function assigns a collection literal, comprehension or list()/dict() call to (cached per function node). */
const collectionNames = new WeakMap<PyNode, Set<string>>();
function localCollections(fn: PyNode | undefined): Set<string> {
  if (!fn) return new Set();
  let names = collectionNames.get(fn);
  if (!names) {
    const found = new Set<string>();
    fn.walk((n) => {
      if (n !== fn && (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda')) return false;
      if (n.type !== 'assignment') return;
      const left = n.child('left');
      if (left?.type === 'identifier' && mayHoldModules(rightOf(n)) && rightOf(n)?.type !== 'identifier') found.add(left.text);
    });
    collectionNames.set(fn, (names = found));
  }
  return names;
}

/** The `self.<attr> = value` statements of a class, by attribute, from the analysis' record of self attributes. */
function selfAssignments(a: Analysis, cls: PyNode): Map<string, PyNode[]> {
  const out = new Map<string, PyNode[]>();
  for (const attr of a.scopes.selfAttrNames(cls)) {
    const values = a.scopes.selfAttr(cls, attr);
    // Most attributes hold one layer or a number: only those assigned a collection (or a name bound to one) go on.
    if (!values.some((v) => mayHoldModules(unparen(v)))) continue;
    const target = `self.${attr}`;
    const statements: PyNode[] = [];
    for (const v of values) {
      let p = v.parent;
      while (p?.type === 'assignment' && p.child('left')?.text !== target) p = p.parent;
      if (p?.type === 'assignment') statements.push(p);
    }
    out.set(attr, statements);
  }
  return out;
}

function checkClass(a: Analysis, m: ModuleClass, byAttr: Map<string, PyNode[]>, report: (left: PyNode, f: Found, at: PyNode) => void): void {
  for (const [attr, list] of byAttr) {
    const target = `self.${attr}`;
    // Another value for the attribute (`self.layers = nn.ModuleList(self.layers)`, a builder's result): leave it.
    const values = list.map((s) => rightOf(s));
    if (values.some((v) => v?.type === 'call' && !emptyKind(v) && !literal(a, v))) continue;
    for (const s of list) {
      const v = rightOf(s);
      if (!v) continue;
      const left = s.child('left')!;
      let found = literal(a, v);
      let fillers: PyNode[] = [s];
      if (!found) {
        const empty = emptyKind(v);
        if (empty) {
          const f = fills(a, m.node, target, empty);
          if (!f.modules && !(f.likely && itemsCalled(m.node, target))) continue;
          fillers = [s, ...f.nodes];
          // Items only likely modules: no fix (ModuleList.append raises on anything else).
          found = { kind: empty, fix: !f.modules || (empty === 'dict' && !f.keysOk) ? undefined : (nn) => [{ start: v.start, end: v.end, newText: `${nn}.${empty === 'dict' ? 'ModuleDict' : 'ModuleList'}()` }] };
        } else if (v.type === 'identifier') {
          const local = localCollection(a, v) ?? parameterCollection(a, v);
          if (!local) continue;
          found = local;
        }
      }
      if (!found || registeredElsewhere(m.node, target, fillers)) continue;
      report(left, found, s);
    }
  }
}

/**
 * `self.layers = layers` where the local `layers` is a list of module constructions that goes nowhere else (but to
 * `except`, the call that hands it to the class, for a name of the caller).
 */
function localCollection(a: Analysis, id: PyNode, except?: PyNode): Found | undefined {
  const fn = except ? (enclosingFunction(id) ?? rootOf(id)) : enclosingFunction(id);
  const bound = a.scopes.valueAt(id.text, id);
  if (!fn || !bound || bound.hasError) return undefined;
  const v = unparen(bound)!;
  let kind: Kind | undefined;
  let keysOk = true;
  const lit = literal(a, v);
  if (lit) {
    kind = lit.kind;
    keysOk = !!lit.fix;
  } else {
    const empty = emptyKind(v);
    if (!empty) return undefined;
    const f = fills(a, fn, id.text, empty);
    if (!f.modules) return undefined;
    kind = empty;
    keysOk = f.keysOk;
  }
  if (registeredElsewhere(fn, id.text, [id], except)) return undefined;
  if (kind === 'dict' && !keysOk) return { kind };
  return { kind, fix: wrap(id, kind === 'dict' ? 'ModuleDict' : 'ModuleList') };
}


/**
 * `self.layers = layers` where `layers` is a parameter and every call site of the class (or function) passes a plain
 * collection of module constructions: a literal, or a name of the caller bound to one that goes nowhere else.
 */
function parameterCollection(a: Analysis, id: PyNode): Found | undefined {
  const fn = enclosingFunction(id);
  if (!fn || !parameterNames(fn).includes(id.text) || registeredElsewhere(fn, id.text, [id])) return undefined;
  const args = parameterArguments(a, id);
  if (!args?.length) return undefined;
  let kind: Kind | undefined;
  for (const arg of args) {
    const v = unparen(arg);
    const site = arg.ancestor('call');
    const found = v && (literal(a, v) ?? (v.type === 'identifier' && site ? localCollection(a, v, site) : undefined));
    if (!found || (kind && found.kind !== kind)) return undefined;
    kind = found.kind;
  }
  // Wrapped where it is stored: `self.layers = nn.ModuleList(layers)` (a dict's keys are not known here).
  return kind && { kind, fix: kind === 'dict' ? undefined : wrap(id, 'ModuleList') };
}

function rightOf(s: PyNode): PyNode | undefined {
  let v = s.child('right');
  while (v?.type === 'assignment') v = v.child('right');
  return unparen(v);
}

export const AR009: Rule = {
  meta: {
    id: 'AR009',
    name: 'modules-in-plain-list',
    group: 'architecture',
    defaultSeverity: 'error',
    summary: 'Layers kept in a plain Python list or dict attribute of an nn.Module are not registered sub-modules.',
    why:
      'nn.Module finds its sub-modules through attribute assignment of modules, nn.ModuleList and nn.ModuleDict; it does not ' +
      'look inside a plain list, tuple or dict. Layers kept there are invisible to the model: model.parameters() does not ' +
      'return their weights (the optimizer never updates them, they keep their random initial values), model.to(device) ' +
      'and .cuda() do not move them, state_dict() does not save them and model.eval() does not reach their dropout or ' +
      'BatchNorm. On a CPU nothing fails; the model just trains worse. Use nn.ModuleList (or nn.ModuleDict, string keys).',
    wrong:
      'class MLP(nn.Module):\n    def __init__(self, sizes):\n        super().__init__()\n        self.layers = [nn.Linear(a, b) for a, b in zip(sizes, sizes[1:])]\n\n    def forward(self, x):\n        for layer in self.layers:\n            x = torch.relu(layer(x))\n        return x',
    right:
      'class MLP(nn.Module):\n    def __init__(self, sizes):\n        super().__init__()\n        self.layers = nn.ModuleList([nn.Linear(a, b) for a, b in zip(sizes, sizes[1:])])\n\n    def forward(self, x):\n        for layer in self.layers:\n            x = torch.relu(layer(x))\n        return x',
    concept: 'nn.Module: how sub-modules are registered',
    fixable: true,
  },
  check(ctx) {
    const a = ctx.analysis;
    if (!a.modules.length) return;
    const nn = nnSpelling(a);
    for (const m of a.modules) {
      const own = selfAssignments(a, m.node);
      if (!own.size) continue;
      checkClass(a, m, own, (left, f, at) => {
        const attr = left.child('attribute')!.text;
        const fix = nn && f.fix && !beforeModuleInit(at) ? [{ title: `Use ${nn}.${f.kind === 'dict' ? 'ModuleDict' : 'ModuleList'}`, edits: f.fix(nn) }] : undefined;
        ctx.report({ node: left, message: message(attr, f.kind), fixes: fix });
      });
    }
  },
};
