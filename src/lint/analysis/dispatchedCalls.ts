// Calls whose function is picked by a loop: `for f in ["accuracy_score", "roc_auc_score"]: getattr(metrics, f)(y, p)`,
// `for fn in (accuracy_score, roc_auc_score): fn(y, p)`, `for name, fn in {"acc": accuracy_score}.items(): fn(y, p)`.
// The same arguments go to every function of the list: what one of them demands of them, the others get.
import type { PyNode } from '../parser';
import { calleeName, loopTargetBinds, positionalArgs, unparen, type Analysis } from './index';

const COMPREHENSIONS = new Set(['list_comprehension', 'generator_expression', 'set_comprehension', 'dictionary_comprehension']);

/**
 * The innermost `for` loop (or comprehension clause) around `at`, in its function, whose target binds `name`, when the
 * target is a plain name or a pair.
 */
export function bindingLoop(at: PyNode, name: string): { loop: PyNode; index: number } | undefined {
  for (let p = at.parent; p && p.type !== 'function_definition' && p.type !== 'class_definition' && p.type !== 'module'; p = p.parent) {
    // `[getattr(m, n)(y, p) for n in names]`: the comprehension's for clause binds the name for its body.
    const clause = COMPREHENSIONS.has(p.type) ? p.namedChildren.find((c) => c.type === 'for_in_clause' && loopTargetBinds(c, name)) : undefined;
    if (!clause && (p.type !== 'for_statement' || at.start < (p.child('body')?.start ?? Infinity))) continue;
    const loop = clause ?? p;
    // index: -1 for `for x in ...`, else the position of the name in a pair target
    const left = loop.child('left');
    if (left?.type === 'identifier') {
      if (left.text === name) return { loop, index: -1 };
      continue;
    }
    const parts = left?.type === 'pattern_list' || left?.type === 'tuple_pattern' ? left.namedChildren : [];
    const i = parts.findIndex((c) => c.type === 'identifier' && c.text === name);
    if (i >= 0) return parts.length === 2 ? { loop, index: i } : undefined;
    if (parts.some((c) => c.text === name)) return undefined;
  }
  return undefined;
}

/** A literal collection, directly or through the name it is bound to. */
function literal(a: Analysis, e: PyNode | undefined): PyNode | undefined {
  let x = unparen(e);
  if (x?.type === 'identifier') x = unparen(a.scopes.valueAt(x.text, x) ?? undefined);
  return x?.type === 'list' || x?.type === 'tuple' || x?.type === 'dictionary' || x?.type === 'set' ? x : undefined;
}

const items = (n: PyNode) => n.namedChildren.filter((c) => c.type !== 'comment');

/**
 * The elements a loop variable takes: `for x in [a, b]` -> a, b; `for k, v in {...}.items()` / `for k, v in [(s, f)]`
 * (index 1) -> the values; `for v in {...}.values()`. undefined when not all of them are written out.
 */
function loopElements(a: Analysis, loop: PyNode, index: number): PyNode[] | undefined {
  let right = unparen(loop.child('right'));
  let method: string | undefined;
  if (right?.type === 'call' && right.child('function')?.type === 'attribute' && positionalArgs(right).length === 0) {
    method = calleeName(right);
    right = right.child('function')!.child('object') ?? undefined;
  }
  const coll = literal(a, right);
  if (!coll) return undefined;
  if (coll.type === 'dictionary') {
    const pairs = items(coll);
    if (!pairs.every((p) => p.type === 'pair')) return undefined;
    if (method === 'values' && index === -1) return pairs.map((p) => p.child('value')!);
    if (method === 'items' && index === 1) return pairs.map((p) => p.child('value')!);
    return undefined;
  }
  if (method !== undefined) return undefined;
  const els = items(coll);
  if (index === -1) return els;
  const out: PyNode[] = [];
  for (const el of els) {
    const t = unparen(el);
    const parts = t?.type === 'tuple' ? items(t) : [];
    if (parts.length !== 2) return undefined;
    out.push(parts[index]!);
  }
  return out;
}

/**
 * The qualified names of the functions a dispatched call may run, when every one is known: `getattr(M, f)(...)` with
 * `f` looping over string literals and `M` a module, or a loop variable over names of functions. undefined otherwise.
 */
export function dispatchedCallees(a: Analysis, call: PyNode): string[] | undefined {
  const fn = unparen(call.child('function'));
  if (fn?.type === 'call' && calleeName(fn) === 'getattr' && fn.child('function')?.type === 'identifier') {
    const [owner, attr] = positionalArgs(fn);
    const module = owner && a.qname(owner);
    if (!module || attr?.type !== 'identifier') return undefined;
    const b = bindingLoop(call, attr.text);
    const els = b && loopElements(a, b.loop, b.index);
    if (!els?.length || !els.every((e) => e.type === 'string' && !e.text.includes('{'))) return undefined;
    return els.map((e) => `${module}.${e.text.replace(/^[rbu]*['"]+|['"]+$/gi, '')}`);
  }
  if (fn?.type !== 'identifier' || a.functions.has(fn.text) || a.callee(call) !== undefined) return undefined;
  const b = bindingLoop(call, fn.text);
  const els = b && loopElements(a, b.loop, b.index);
  if (!els?.length) return undefined;
  const names = els.map((e) => (e.type === 'identifier' || e.type === 'attribute' ? a.qname(e) : undefined));
  return names.every((n) => n !== undefined) ? (names as string[]) : undefined;
}

/** Cheap statement-local first test for dispatchedCallees: the callee is `getattr(...)` or an unresolved plain name. */
export function mayBeDispatched(a: Analysis, call: PyNode): boolean {
  const fn = call.child('function');
  if (fn?.type === 'call') return calleeName(fn) === 'getattr';
  return fn?.type === 'identifier' && a.callee(call) === undefined && bindingLoop(call, fn.text) !== undefined;
}
