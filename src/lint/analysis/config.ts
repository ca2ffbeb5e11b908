// Hyperparameters a script reads from its own configuration, when the file shows their literal value:
// - argparse: `args.lr` with `args = parser.parse_args()` (or a local `def get_args(): ... return parser.parse_args()`)
//   and `parser.add_argument('--lr', type=float, default=0.1)` (`--learning-rate` -> `args.learning_rate`, `dest=`);
// - a config object: `cfg.lr` where `cfg = TrainConfig()` builds a file-local `@dataclass` (or a plain class with class
//   attributes) whose `lr: float = 0.1` is the default, or `TrainConfig.lr` itself; `TrainConfig(lr=0.5)` gives 0.5;
// - a dict literal: `config['lr']` with `config = {'lr': 0.1}`.
// The holder may reach a function as a parameter (`def main(args)` called as `main(parser.parse_args())`).
// Precision first: only literal values, and nothing when the file may change the value elsewhere: an assignment to
// `args.lr` / `cfg.lr` / `config['lr']` (augmented too), `setattr(args, ...)`, `vars(args).update(...)`,
// `args.__dict__.update(...)`, `config.update(...)`, `parser.set_defaults(...)`, a `global` of the name, a required
// option, or a `parse_args([...])` given its own argument list.
import type { PyNode } from '../parser';
import { calleeName, hasKeywordSplat, keywordArg, positionalArgs, receiver, unparen, type Analysis } from './index';
import { parameterArguments } from './parameters';
import { stringValue } from './runtime';

export interface ConfigValue {
  /** The literal the expression holds (a default or a constructor's keyword), somewhere else in the file. */
  node: PyNode;
  /** Where it comes from, for messages: `--lr default 0.1`, `TrainConfig.lr default 1e-3`, `'lr': 0.1 in config`. */
  origin: string;
}

const SCALAR = new Set(['integer', 'float', 'string', 'true', 'false', 'none']);

/** A literal: a number, string, bool, None, a negated number, or a list / tuple of those. */
function isLiteral(n: PyNode | undefined): boolean {
  const e = unparen(n);
  if (!e) return false;
  if (SCALAR.has(e.type)) return e.type !== 'string' || stringValue(e) !== undefined;
  if (e.type === 'unary_operator') {
    const arg = e.child('argument');
    return arg?.type === 'integer' || arg?.type === 'float';
  }
  if (e.type === 'list' || e.type === 'tuple') return e.namedChildren.every((c) => c.type === 'comment' || isLiteral(c));
  return false;
}

/** What the file may change: `name.attr` and `name[key]` written, names whose every attribute / key may change. */
interface Writes {
  attrs: Set<string>;
  keys: Set<string>;
  whole: Set<string>;
  /** `set_defaults` is called on some parser. */
  setDefaults: boolean;
}

const writesCache = new WeakMap<Analysis, Writes>();

/** The name an object expression stands for, through `X.__dict__` and `vars(X)`: what writing into it changes. */
function ownerName(n: PyNode | undefined): string | undefined {
  const e = unparen(n);
  if (e?.type === 'identifier') return e.text;
  if (e?.type === 'attribute' && e.child('attribute')?.text === '__dict__') return ownerName(e.child('object'));
  if (e?.type === 'call' && e.child('function')?.text === 'vars') return ownerName(positionalArgs(e)[0]);
  return undefined;
}

function writesOf(a: Analysis): Writes {
  let w = writesCache.get(a);
  if (w) return w;
  w = { attrs: new Set(), keys: new Set(), whole: new Set(), setDefaults: a.callsNamed('set_defaults').length > 0 };
  const target = (t: PyNode, augmented: boolean) => {
    const e = unparen(t);
    if (!e) return;
    if (e.type === 'pattern_list' || e.type === 'tuple_pattern' || e.type === 'list_pattern' || e.type === 'tuple' || e.type === 'list') {
      for (const c of e.namedChildren) target(c, augmented);
    } else if (e.type === 'list_splat_pattern') {
      for (const c of e.namedChildren) target(c, augmented);
    } else if (e.type === 'identifier') {
      // `config |= {...}`, `args += ...`: the object itself changes.
      if (augmented) w!.whole.add(e.text);
    } else if (e.type === 'attribute') {
      const obj = unparen(e.child('object'));
      const attr = e.child('attribute')?.text;
      if (obj?.type === 'identifier' && attr) {
        if (attr === '__dict__') w!.whole.add(obj.text);
        else w!.attrs.add(`${obj.text}.${attr}`);
      } else {
        const owner = ownerName(obj);
        if (owner) w!.whole.add(owner);
      }
    } else if (e.type === 'subscript') {
      const value = unparen(e.child('value'));
      const idx = e.childrenOf('subscript');
      const key = idx.length === 1 ? stringValue(idx[0]) : undefined;
      if (value?.type === 'identifier' && key !== undefined) w!.keys.add(`${value.text}[${key}]`);
      else {
        const owner = ownerName(value);
        if (owner) w!.whole.add(owner);
      }
    }
  };
  for (const s of a.index.of('assignment')) {
    const left = s.child('left');
    if (left) target(left, false);
  }
  for (const s of a.index.of('augmented_assignment')) {
    const left = s.child('left');
    if (left) target(left, true);
  }
  for (const name of ['setattr', 'delattr']) {
    for (const c of a.callsNamed(name)) {
      const owner = c.child('function')?.type === 'identifier' ? ownerName(positionalArgs(c)[0]) : undefined;
      if (owner) w.whole.add(owner);
    }
  }
  for (const name of ['update', 'setdefault', 'pop', 'clear', 'merge_from_file', 'merge_from_list']) {
    for (const c of a.callsNamed(name)) {
      const owner = ownerName(receiver(c));
      if (owner) w.whole.add(owner);
    }
  }
  for (const g of [...a.index.of('global_statement'), ...a.index.of('nonlocal_statement')]) {
    for (const c of g.namedChildren) if (c.type === 'identifier') w.whole.add(c.text);
  }
  writesCache.set(a, w);
  return w;
}

type Holder = { kind: 'call'; call: PyNode } | { kind: 'class'; cls: PyNode } | { kind: 'dict'; dict: PyNode };

/** The class definition of a name when the file defines exactly one class of that name. */
function uniqueClass(a: Analysis, name: string): PyNode | undefined {
  if (!a.definesClass(name)) return undefined;
  let found: PyNode | undefined;
  for (const c of a.index.of('class_definition')) {
    if (c.child('name')?.text !== name) continue;
    if (found) return undefined;
    found = c;
  }
  return found;
}

/**
 * What an identifier holds, seen where it is read: a call (`parser.parse_args()`, `TrainConfig()`), a class (the name of
 * one), or a dict literal; through a parameter's arguments at every call site and plain aliases. Undefined when any
 * path is unknown, or when a name on the way may be changed as a whole (`setattr`, `.update`).
 */
function holdersOf(a: Analysis, id: PyNode, names: Set<string>, depth = 0): Holder[] | undefined {
  if (depth > 3 || writesOf(a).whole.has(id.text)) return undefined;
  names.add(id.text);
  const bound = a.scopes.valueAt(id.text, id);
  const fromExpr = (e: PyNode | undefined): Holder[] | undefined => {
    const u = unparen(e);
    if (u?.type === 'call') return [{ kind: 'call', call: u }];
    if (u?.type === 'dictionary') return [{ kind: 'dict', dict: u }];
    if (u?.type === 'identifier') return holdersOf(a, u, names, depth + 1);
    return undefined;
  };
  if (bound) return fromExpr(bound);
  if (bound === undefined || a.scopes.elementAt(id.text, id)) return undefined;
  const args = parameterArguments(a, id);
  if (args) {
    const out: Holder[] = [];
    for (const arg of args) {
      const h = fromExpr(arg);
      if (!h) return undefined;
      out.push(...h);
    }
    return out.length ? out : undefined;
  }
  const cls = uniqueClass(a, id.text);
  return cls ? [{ kind: 'class', cls }] : undefined;
}

/** The one `return` value of a file-local function of that name (not a method), when it has exactly one. */
function onlyReturn(a: Analysis, name: string): PyNode | undefined {
  const defs = (a.functions.get(name) ?? []).filter((f) => f.ancestor('class_definition') === undefined);
  if (defs.length !== 1) return undefined;
  const returns: PyNode[] = [];
  defs[0]!.child('body')?.walk((n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type === 'return_statement') {
      returns.push(n);
      return false;
    }
  });
  if (returns.length !== 1) return undefined;
  return unparen(returns[0]!.namedChildren.find((c) => c.type !== 'comment'));
}

/** `parser.parse_args()` / `parser.parse_args(argv)` on an `argparse.ArgumentParser(...)` of the file: that build. */
function parsedParser(a: Analysis, call: PyNode): PyNode | undefined {
  if (calleeName(call) !== 'parse_args' || keywordArg(call, 'namespace') || keywordArg(call, 'args') || hasKeywordSplat(call)) return undefined;
  const argv = unparen(positionalArgs(call)[0]);
  // `parse_args(['--lr', '0.5'])`: the script passes its own options.
  if (argv && (argv.type === 'list' || argv.type === 'tuple')) return undefined;
  const p = unparen(receiver(call));
  if (p?.type !== 'identifier') return undefined;
  const built = unparen(a.scopes.valueAt(p.text, p) ?? undefined);
  return built?.type === 'call' && a.callee(built) === 'argparse.ArgumentParser' ? built : undefined;
}

/** The parser build a receiver of `add_argument` stands for (the parser, or a group of it). */
function parserOf(a: Analysis, recv: PyNode | undefined): PyNode | undefined {
  const r = unparen(recv);
  if (r?.type !== 'identifier') return undefined;
  const v = unparen(a.scopes.valueAt(r.text, r) ?? undefined);
  if (v?.type !== 'call') return undefined;
  if (a.callee(v) === 'argparse.ArgumentParser') return v;
  const name = calleeName(v);
  return name === 'add_argument_group' || name === 'add_mutually_exclusive_group' ? parserOf(a, receiver(v)) : undefined;
}

/** The attribute an `add_argument` call stores: `dest=`, else the first long option (`--learning-rate` -> learning_rate). */
function destOf(call: PyNode): { dest: string; option: string } | undefined {
  const options = positionalArgs(call).map((n) => stringValue(n));
  if (!options.length || options.some((o) => o === undefined)) return undefined;
  const long = options.find((o) => o!.startsWith('--')) ?? options[0]!;
  const given = keywordArg(call, 'dest');
  if (given) {
    const d = stringValue(given);
    return d === undefined ? undefined : { dest: d, option: long };
  }
  return { dest: long.replace(/^-+/, '').replace(/-/g, '_'), option: long };
}

/** The literal default of the option stored in `attr` by the parser `built`. */
function argparseDefault(a: Analysis, built: PyNode, attr: string): ConfigValue | undefined {
  if (writesOf(a).setDefaults) return undefined;
  let found: ConfigValue | undefined;
  for (const c of a.callsNamed('add_argument')) {
    if (parserOf(a, receiver(c)) !== built) continue;
    // An option whose name or keywords are computed (`f'--{k}'`, `**spec`) may be this one.
    const d = hasKeywordSplat(c) ? undefined : destOf(c);
    if (!d) return undefined;
    if (d.dest !== attr) continue;
    // Two options storing the same name, or one the command line must give: no single default.
    if (found) return undefined;
    const required = keywordArg(c, 'required');
    if (required && required.type !== 'false') return undefined;
    const def = keywordArg(c, 'default');
    if (!def || !isLiteral(def)) return undefined;
    found = { node: unparen(def)!, origin: `${d.option} default ${unparen(def)!.text}` };
  }
  return found;
}

/** A config class: `@dataclass` (any spelling, with or without arguments), or a plain class without bases. */
function configClass(cls: PyNode): 'dataclass' | 'plain' | undefined {
  const deco = cls.parent?.type === 'decorated_definition' ? cls.parent.children.filter((c) => c.type === 'decorator') : [];
  if (deco.some((d) => /^@\s*(dataclasses\s*\.\s*)?dataclass\b/.test(d.text))) return 'dataclass';
  if (deco.length) return undefined;
  const bases = cls.child('superclasses')?.namedChildren.filter((c) => c.type !== 'comment') ?? [];
  return bases.length === 0 || (bases.length === 1 && bases[0]!.text === 'object') ? 'plain' : undefined;
}

/** The literal class-body default of `attr` in a config class (`lr: float = 0.1`, `lr = 0.1`, `field(default=0.1)`). */
function classDefault(a: Analysis, cls: PyNode, attr: string): PyNode | undefined {
  const kind = configClass(cls);
  if (!kind) return undefined;
  const body = cls.child('body');
  // A class that fills itself in (`setattr(self, k, v)`, `self.__dict__.update(...)`), a plain class with a
  // constructor, or one that assigns `self.lr` in a method: the class attribute is not what instances hold.
  if (!body || /\bsetattr\s*\(|__dict__|\bvars\s*\(/.test(body.text)) return undefined;
  if (a.scopes.selfAttr(cls, attr).length) return undefined;
  let value: PyNode | undefined;
  let count = 0;
  for (const s of body.namedChildren) {
    if (kind === 'plain' && s.type === 'function_definition' && /^__(init|new|post_init)__$/.test(s.child('name')?.text ?? '')) return undefined;
    const asg = s.type === 'expression_statement' ? s.namedChildren[0] : undefined;
    if (asg?.type !== 'assignment' || asg.child('left')?.text !== attr) continue;
    count++;
    value = unparen(asg.child('right'));
  }
  if (count !== 1 || !value) return undefined;
  if (value.type === 'call' && kind === 'dataclass' && /^(dataclasses\.)?field$/.test(value.child('function')?.text ?? '')) {
    value = unparen(keywordArg(value, 'default'));
  }
  return value && isLiteral(value) ? value : undefined;
}

/** `attr` of what a holder holds. */
function valueOfHolder(a: Analysis, h: Holder, attr: string): ConfigValue | undefined {
  if (h.kind === 'class') {
    const name = h.cls.child('name')!.text;
    if (writesOf(a).attrs.has(`${name}.${attr}`)) return undefined;
    const v = classDefault(a, h.cls, attr);
    return v ? { node: v, origin: `${name}.${attr} default ${v.text}` } : undefined;
  }
  if (h.kind !== 'call') return undefined;
  const call = h.call;
  const f = call.child('function');
  // A local function returning `parser.parse_args()` (`args = get_args()`).
  let parsed = parsedParser(a, call);
  if (!parsed && f?.type === 'identifier' && !positionalArgs(call).length && !call.child('arguments')?.namedChildren.some((c) => c.type !== 'comment')) {
    const r = onlyReturn(a, f.text);
    if (r?.type === 'call') parsed = parsedParser(a, r);
  }
  if (parsed) return argparseDefault(a, parsed, attr);
  // A config class built here: `TrainConfig()`, `TrainConfig(lr=0.5)`.
  if (f?.type !== 'identifier' || a.scopes.valueAt(f.text, f) !== null) return undefined;
  const cls = uniqueClass(a, f.text);
  if (!cls || hasKeywordSplat(call) || positionalArgs(call).length) return undefined;
  if (writesOf(a).attrs.has(`${f.text}.${attr}`)) return undefined;
  const kw = keywordArg(call, attr);
  if (kw) {
    if (!configClass(cls) || !isLiteral(kw)) return undefined;
    return { node: unparen(kw)!, origin: `${f.text}(${attr}=${unparen(kw)!.text})` };
  }
  const v = classDefault(a, cls, attr);
  return v ? { node: v, origin: `${f.text}.${attr} default ${v.text}` } : undefined;
}

/** `key` of a dict literal: its one pair with that string key, when the dict spreads nothing. */
function dictValue(dict: PyNode, key: string): PyNode | undefined {
  let found: PyNode | undefined;
  for (const c of dict.namedChildren) {
    if (c.type === 'dictionary_splat') return undefined;
    if (c.type !== 'pair' || stringValue(c.child('key')) !== key) continue;
    if (found) return undefined;
    found = unparen(c.child('value'));
  }
  return found && isLiteral(found) ? found : undefined;
}

/** The values every holder gives; one answer only when they all agree on the same literal node. */
function agree(values: (ConfigValue | undefined)[]): ConfigValue | undefined {
  const first = values[0];
  return first && values.every((v) => v?.node === first.node) ? first : undefined;
}

/**
 * The literal a configuration read holds, when the file shows it and nothing may change it: `args.lr`, `cfg.lr`,
 * `TrainConfig.lr`, `config['lr']`. Undefined otherwise (the caller stays silent).
 */
export function configValue(a: Analysis, expr: PyNode | undefined): ConfigValue | undefined {
  const e = unparen(expr);
  if (e?.type === 'attribute') {
    const obj = unparen(e.child('object'));
    const attr = e.child('attribute')?.text;
    if (obj?.type !== 'identifier' || !attr || attr.startsWith('__')) return undefined;
    const names = new Set<string>();
    const holders = holdersOf(a, obj, names);
    if (!holders?.length) return undefined;
    const w = writesOf(a);
    for (const n of names) if (w.attrs.has(`${n}.${attr}`)) return undefined;
    return agree(holders.map((h) => valueOfHolder(a, h, attr)));
  }
  if (e?.type === 'subscript') {
    const obj = unparen(e.child('value'));
    const idx = e.childrenOf('subscript');
    const key = idx.length === 1 ? stringValue(idx[0]) : undefined;
    if (obj?.type !== 'identifier' || key === undefined) return undefined;
    const names = new Set<string>();
    const holders = holdersOf(a, obj, names);
    if (!holders?.length) return undefined;
    const w = writesOf(a);
    for (const n of names) if (w.keys.has(`${n}[${key}]`)) return undefined;
    return agree(
      holders.map((h) => {
        const v = h.kind === 'dict' ? dictValue(h.dict, key) : undefined;
        return v ? { node: v, origin: `'${key}': ${v.text} in ${obj.text}` } : undefined;
      }),
    );
  }
  return undefined;
}
