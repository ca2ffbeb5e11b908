// Layers collected in a Python list by a loop and unpacked into `nn.Sequential(*layers)`: what one iteration of the
// loop appends, path by path (`if` branches with a condition we can evaluate take their one branch; others take
// both; `continue` ends the iteration). The condition most worth evaluating is the optional activation,
// `if act is not None: layers.append(act)`, where `act` is a parameter that is None by default and at every call
// site of the file. Anything else that touches the list (a nested loop, `break`, a rebinding, a slice) gives up.
import type { PyNode } from '../parser';
import { keywordArg, positionalArgs, receiver, unparen, type Analysis } from './index';
import { torchLayers, type StepKind } from './layers';
import { parameterArguments } from './parameters';
import { scopeOf } from './scopes';
import { valueBefore } from './values';

export interface Appended {
  kind: StepKind;
  /** The appended expression (`nn.Linear(...)`, or a name bound to it). */
  node: PyNode;
  /** The layer constructor, when known. */
  layer?: PyNode;
}

export interface LoopBuiltSequential {
  /** The `nn.Sequential(*layers)` call. */
  call: PyNode;
  loop: PyNode;
  /** What one iteration appends, one entry per feasible path through the loop body. */
  paths: Appended[][];
  /** The constants that decided a branch (`act is None`), for the message. */
  pruned: string[];
}

const MAX_PATHS = 16;

type Paths = { items: Appended[]; ended: boolean }[];

class Reader {
  readonly pruned = new Set<string>();
  constructor(
    private readonly a: Analysis,
    private readonly list: string,
  ) {}

  /** Paths through a block; undefined when the list is used in a way not followed. */
  block(stmts: readonly PyNode[], paths: Paths): Paths | undefined {
    for (const s of stmts) {
      if (s.type === 'comment') continue;
      const next = this.statement(s, paths);
      if (!next || next.length > MAX_PATHS) return undefined;
      paths = next;
    }
    return paths;
  }

  private statement(s: PyNode, paths: Paths): Paths | undefined {
    const live = paths.filter((p) => !p.ended);
    const done = paths.filter((p) => p.ended);
    if (s.type === 'continue_statement') return [...done, ...live.map((p) => ({ ...p, ended: true }))];
    if (s.type === 'pass_statement') return paths;
    if (s.type === 'if_statement') return this.ifStatement(s, live)?.concat(done);
    if (s.type === 'expression_statement') {
      const added = this.appended(s.namedChildren[0]);
      if (added) return [...done, ...live.map((p) => ({ items: [...p.items, ...added], ended: false }))];
    }
    // Any other statement: fine when it does not touch the list (nor leave the loop).
    return this.touches(s) ? undefined : paths;
  }

  private ifStatement(s: PyNode, live: Paths): Paths | undefined {
    const branches: { cond?: PyNode; body: PyNode[] }[] = [{ cond: s.child('condition') ?? undefined, body: s.child('consequence')?.namedChildren ?? [] }];
    let hasElse = false;
    for (const alt of s.childrenOf('alternative')) {
      if (alt.type === 'elif_clause') branches.push({ cond: alt.child('condition') ?? undefined, body: alt.child('consequence')?.namedChildren ?? [] });
      else if (alt.type === 'else_clause') {
        branches.push({ body: alt.child('body')?.namedChildren ?? [] });
        hasElse = true;
      }
    }
    if (!hasElse) branches.push({ body: [] });
    const out: Paths = [];
    for (const b of branches) {
      const truth = b.cond ? this.truth(b.cond) : true;
      if (truth === false) continue;
      const got = this.block(b.body, live);
      if (!got) return undefined;
      out.push(...got);
      if (truth === true) return out; // later branches are not reached
    }
    return out;
  }

  /** `layers.append(x)`, `layers.extend([x, y])`, `layers += [x, y]`: the appended layers. */
  private appended(e: PyNode | undefined): Appended[] | undefined {
    if (e?.type === 'augmented_assignment' && e.child('left')?.text === this.list) return this.elements(e.child('right'));
    if (e?.type !== 'call' || receiver(e)?.text !== this.list) return undefined;
    const method = e.child('function')?.child('attribute')?.text;
    const arg = positionalArgs(e)[0];
    if (method === 'append' && arg && positionalArgs(e).length === 1) return [this.item(arg)];
    if (method === 'extend') return this.elements(arg);
    return undefined;
  }

  private elements(list: PyNode | undefined): Appended[] | undefined {
    const l = unparen(list);
    if (l?.type !== 'list' && l?.type !== 'tuple') return undefined;
    const out: Appended[] = [];
    for (const el of l.namedChildren) {
      if (el.type === 'comment') continue;
      if (el.type === 'list_splat') return undefined;
      out.push(this.item(el));
    }
    return out;
  }

  private item(e: PyNode): Appended {
    const k = torchLayers(this.a).layerKind(e);
    return { kind: k.kind, node: e, layer: k.layer };
  }

  /** Whether a statement reads or writes the list, or leaves the loop (then its paths are not followed). */
  private touches(s: PyNode): boolean {
    let found = false;
    s.walk((n) => {
      if (found) return false;
      if (n.type === 'break_statement' || n.type === 'return_statement' || n.type === 'raise_statement' || n.type === 'continue_statement') found = true;
      else if (n.type === 'identifier' && n.text === this.list) found = true;
    });
    return found;
  }

  /** The truth of a condition on a name known to hold None / True / False: `act is not None`, `act`, `not use_act`. */
  private truth(cond: PyNode): boolean | undefined {
    const c = unparen(cond);
    if (c?.type === 'not_operator') {
      const t = this.truth(c.child('argument') ?? c.namedChildren[0]!);
      return t === undefined ? undefined : !t;
    }
    if (c?.type === 'identifier' || c?.type === 'attribute') {
      const k = constantOf(this.a, c, 0);
      return k ? this.prune(c, k, k === 'True') : undefined;
    }
    if (c?.type === 'comparison_operator') {
      const [left, right] = c.namedChildren;
      const op = c.children.filter((x) => x !== left && x !== right).map((x) => x.type).join(' ');
      if (right?.type !== 'none' || !left || constantOf(this.a, left, 0) !== 'None') return undefined;
      if (op === 'is' || op === '==') return this.prune(left, 'None', true);
      if (op === 'is not' || op === '!=') return this.prune(left, 'None', false);
    }
    return undefined;
  }

  private prune(id: PyNode, constant: Constant, value: boolean): boolean {
    this.pruned.add(`${id.text} is ${constant}`);
    return value;
  }
}

type Constant = 'None' | 'True' | 'False';

/**
 * The constant an expression holds: the literal, a name or `self.x` bound to it, or a parameter that holds it at every
 * call site of its function (its default when the file never calls the function).
 */
export function constantOf(a: Analysis, expr: PyNode | undefined, depth: number): Constant | undefined {
  const e = unparen(expr);
  if (!e || depth > 4) return undefined;
  if (e.type === 'none') return 'None';
  if (e.type === 'true') return 'True';
  if (e.type === 'false') return 'False';
  if (e.type === 'attribute' && e.child('object')?.text === 'self') {
    const cls = e.ancestor('class_definition');
    const values = cls ? a.scopes.selfAttr(cls, e.child('attribute')?.text ?? '') : [];
    return values.length === 1 ? constantOf(a, values[0], depth + 1) : undefined;
  }
  if (e.type !== 'identifier') return undefined;
  const v = valueBefore(a, e);
  if (v) return constantOf(a, v, depth + 1);
  if (v !== null) return undefined;
  const args = parameterArguments(a, e);
  if (!args) return constantOf(a, uncalledDefault(a, e), depth + 1);
  const first = args.length ? constantOf(a, args[0], depth + 1) : undefined;
  return first && args.every((arg) => constantOf(a, arg, depth + 1) === first) ? first : undefined;
}

/** The default of a parameter whose function (or class, for `__init__`) the file never calls by name. */
function uncalledDefault(a: Analysis, id: PyNode): PyNode | undefined {
  const fn = scopeOf(id);
  if (fn?.type !== 'function_definition') return undefined;
  let name = fn.child('name')?.text;
  if (name === '__init__') name = fn.ancestor('class_definition')?.child('name')?.text;
  if (!name || a.callsNamed(name).length) return undefined;
  for (const p of fn.child('parameters')?.namedChildren ?? []) {
    if ((p.type === 'default_parameter' || p.type === 'typed_default_parameter') && p.child('name')?.text === id.text) return unparen(p.child('value'));
  }
  return undefined;
}

/** The `for` loop of the function that builds the list, when every use of the list before `use` is in it. */
function buildingLoop(fn: PyNode, list: string, use: PyNode): PyNode | undefined {
  let loop: PyNode | undefined;
  let ok = true;
  let init = false;
  fn.child('body')?.walk((n) => {
    if (!ok || n === use) return false;
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type !== 'identifier' || n.text !== list || n.start >= use.start) return;
    const stmt = n.ancestor('expression_statement');
    const asg = stmt?.namedChildren[0];
    // layers = []
    if (asg?.type === 'assignment' && asg.child('left') === n && unparen(asg.child('right'))?.text === '[]' && !loopAround(n, fn)) {
      init = !loop;
      return;
    }
    // Uses outside any loop (a first or last layer added around the loop) do not change what one iteration adds.
    const f = loopAround(n, fn);
    if (!f) return;
    if (f.type !== 'for_statement' || (loop && loop !== f)) ok = false;
    else loop = f;
  });
  return ok && init && loop && !loopAround(loop, fn) ? loop : undefined;
}

/** The innermost loop around a node, inside `fn`. */
function loopAround(n: PyNode, fn: PyNode): PyNode | undefined {
  for (let p = n.parent; p && p !== fn; p = p.parent) if (p.type === 'for_statement' || p.type === 'while_statement') return p;
  return undefined;
}

const cache = new WeakMap<Analysis, LoopBuiltSequential[]>();

/** `nn.Sequential(*layers)` calls whose list a `for` loop filled, with what each iteration appends. */
export function loopBuiltSequentials(a: Analysis): LoopBuiltSequential[] {
  let out = cache.get(a);
  if (out) return out;
  out = [];
  for (const call of a.callsNamed('Sequential')) {
    if (a.callee(call) !== 'torch.nn.Sequential' || keywordArg(call, 'layers')) continue;
    const args = call.child('arguments')?.namedChildren.filter((c) => c.type !== 'comment') ?? [];
    const splat = args.length === 1 && args[0]!.type === 'list_splat' ? unparen(args[0]!.namedChildren[0]) : undefined;
    if (splat?.type !== 'identifier') continue;
    const fn = scopeOf(splat);
    if (fn?.type !== 'function_definition') continue;
    const loop = buildingLoop(fn, splat.text, call);
    const body = loop?.child('body');
    if (!loop || !body || loop.child('alternative') || loop.end > call.start) continue;
    const reader = new Reader(a, splat.text);
    const paths = reader.block(body.namedChildren, [{ items: [], ended: false }]);
    if (paths) out.push({ call, loop, paths: paths.map((p) => p.items), pruned: [...reader.pruned] });
  }
  cache.set(a, out);
  return out;
}
