// Mode switches on an object's attribute: `if self.method == 'multiclass': return F.cross_entropy(...)` runs only
// while `self.method` holds 'multiclass', so a helper of the same class that the value came through
// (`if self.method == 'binary': return torch.sigmoid(x)` / `if self.method == 'multiclass': return F.softmax(x, 1)`)
// took its 'multiclass' arm. Only `self.<attr> == <literal>` tests are read: the attribute is the same object's in
// every method of the class, and a literal compares without evaluation.
import type { PyNode } from '../parser';
import { stringKey } from './dictKeys';
import { unparen } from './index';

/** `self.<subject> == <value>` holds wherever the gated code runs, in methods of `cls`. */
export interface ModeGate {
  cls: PyNode;
  subject: string;
  value: string;
}

/** The literal a node is, as a comparable key (`'a'` and `"a"` alike), or undefined. */
function literalKey(n: PyNode | undefined): string | undefined {
  const x = unparen(n);
  if (!x) return undefined;
  const s = stringKey(x);
  if (s !== undefined) return 's:' + s;
  if (x.type === 'integer' || x.type === 'true' || x.type === 'false' || x.type === 'none') return 'v:' + x.text;
  return undefined;
}

/** `self.attr == literal` (either side): the attribute and the literal. */
function modeTest(cond: PyNode | undefined): { subject: string; value: string } | undefined {
  const c = unparen(cond);
  if (c?.type !== 'comparison_operator' || c.namedChildren.length !== 2) return undefined;
  if (!c.children.some((t) => t.type === '==')) return undefined;
  const [l, r] = c.namedChildren as [PyNode, PyNode];
  const pick = (attr: PyNode, lit: PyNode) => {
    const a = unparen(attr);
    const value = literalKey(lit);
    if (a?.type !== 'attribute' || a.child('object')?.text !== 'self' || value === undefined) return undefined;
    const subject = a.child('attribute')?.text;
    return subject ? { subject, value } : undefined;
  };
  return pick(l, r) ?? pick(r, l);
}

/**
 * The tests of the `if` chains between `node` and its function: the arm's own test (`inElse` false) and the tests of
 * the arms before it, which failed for it to run (`inElse` true; all of them for an `else`).
 */
function* armsAbove(node: PyNode): Generator<{ test: PyNode | undefined; inElse: boolean }> {
  let child = node;
  for (let p = node.parent; p && p.type !== 'function_definition' && p.type !== 'lambda'; child = p, p = p.parent) {
    const chain = p.type === 'if_statement' ? p : p.type === 'elif_clause' || p.type === 'else_clause' ? p.parent : undefined;
    if (chain?.type !== 'if_statement' || (p.type === 'if_statement' && child !== p.child('consequence'))) continue;
    if (p.type !== 'else_clause' && child === p.child('consequence')) yield { test: p.child('condition'), inElse: false };
    // The arms before this one: the `if` and the earlier `elif`s.
    if (p === chain) continue;
    yield { test: chain.child('condition'), inElse: true };
    for (const arm of chain.children) {
      if (arm === p) break;
      if (arm.type === 'elif_clause') yield { test: arm.child('condition'), inElse: true };
    }
  }
}

/** The mode tests that hold where `node` runs (the arms of `self.attr == literal` it sits in), within a class. */
export function modeGates(node: PyNode): ModeGate[] {
  const cls = node.ancestor('class_definition');
  if (!cls) return [];
  const out: ModeGate[] = [];
  for (const arm of armsAbove(node)) {
    const t = arm.inElse ? undefined : modeTest(arm.test);
    if (t) out.push({ cls, ...t });
  }
  return out;
}

/**
 * Whether `node` (a return value, say) cannot run under `gates`: it sits in the arm of a test of the same attribute
 * of the same class against another literal, or in the `else` of a test against the gate's own literal.
 */
export function ruledOutBy(node: PyNode, gates: readonly ModeGate[]): boolean {
  if (!gates.length) return false;
  const cls = node.ancestor('class_definition');
  const mine = gates.filter((g) => g.cls === cls);
  if (!mine.length) return false;
  for (const arm of armsAbove(node)) {
    const t = modeTest(arm.test);
    if (!t) continue;
    for (const g of mine) {
      if (g.subject !== t.subject) continue;
      if (arm.inElse ? g.value === t.value : g.value !== t.value) return true;
    }
  }
  return afterReturningArm(node, mine);
}

/**
 * `if self.task == 'multiclass': return F.softmax(x, 1)` earlier in a block that holds `node`: under that mode the
 * function has returned before `node` (the fall-through `return x` of a chain of mode tests).
 */
function afterReturningArm(node: PyNode, gates: readonly ModeGate[]): boolean {
  let child = node;
  for (let p = node.parent; p && p.type !== 'function_definition' && p.type !== 'lambda'; child = p, p = p.parent) {
    if (p.type !== 'block') continue;
    for (const s of p.namedChildren) {
      if (s === child || s.start >= child.start) break;
      if (s.type !== 'if_statement') continue;
      const arms = [s, ...s.children.filter((c) => c.type === 'elif_clause')];
      for (const arm of arms) {
        const t = modeTest(arm.child('condition'));
        if (t && gates.some((g) => g.subject === t.subject && g.value === t.value) && endsInExit(arm.child('consequence'))) return true;
      }
    }
  }
  return false;
}

/** A block whose last statement returns or raises. */
function endsInExit(block: PyNode | undefined): boolean {
  const last = block?.namedChildren.filter((c) => c.type !== 'comment').pop();
  return last?.type === 'return_statement' || last?.type === 'raise_statement';
}

/** A key naming a set of gates, for caches. */
export function gatesKey(gates: readonly ModeGate[]): string {
  return gates.map((g) => `${g.cls.start}:${g.subject}=${g.value}`).join('|');
}
