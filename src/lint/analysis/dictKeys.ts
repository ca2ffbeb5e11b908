// Dicts a model returns (`return {'exist': torch.sigmoid(h)}`, or `out = {}; out['seg'] = ...; return out`), read
// by literal string key: which expression a key holds where the dict is read. For the output flow (outputs.ts).
import type { PyNode } from '../parser';
import { positionalArgs, rootOf, type Analysis } from './index';
import { scopeOf } from './scopes';

/** What `x[...]` selects: a tuple element by position, or a dict entry by literal string key. */
export type Element = number | string;

/** The text of a plain string literal (`'exist'`, `"probs"`); undefined for f-strings, concatenations, other nodes. */
export function stringKey(node: PyNode | undefined): string | undefined {
  if (node?.type !== 'string' || node.children.some((c) => c.type === 'interpolation')) return undefined;
  const m = /^[rRuU]?(['"])([^'"\\\n]*)\1$/.exec(node.text);
  return m?.[2];
}

/**
 * The entries of a dict literal (`{'a': x}`) or `dict(a=x)`, by key; undefined when it is not one, or when some key
 * is not a literal string or it spreads another dict (a key may then come from elsewhere).
 */
export function dictEntries(a: Analysis, node: PyNode): Map<string, PyNode> | undefined {
  const out = new Map<string, PyNode>();
  if (node.type === 'dictionary') {
    for (const pair of node.namedChildren) {
      if (pair.type === 'comment') continue;
      const key = pair.type === 'pair' ? stringKey(pair.child('key')) : undefined;
      const value = pair.child('value');
      if (key === undefined || !value) return undefined;
      out.set(key, value);
    }
    return out;
  }
  const fn = node.type === 'call' ? node.child('function') : undefined;
  if (fn?.type !== 'identifier' || fn.text !== 'dict' || a.scopes.isBoundAnywhere('dict')) return undefined;
  if (positionalArgs(node).length) return undefined;
  for (const arg of node.child('arguments')?.namedChildren ?? []) {
    if (arg.type === 'comment') continue;
    const name = arg.type === 'keyword_argument' ? arg.child('name')?.text : undefined;
    const value = arg.child('value');
    if (!name || !value) return undefined;
    out.set(name, value);
  }
  return out;
}

/** Dict methods that do not change it. */
const READ_METHODS = new Set(['get', 'keys', 'values', 'items', 'copy', '__getitem__', '__contains__']);

/**
 * The expressions key `key` of the dict bound to `read`'s name may hold where `read` reads it: `value` is the binding
 * (a dict literal or `dict(...)`), then the `name['key'] = ...` writes after it in its scope. A write in the binding's
 * own block replaces what came before; one under an `if` or a loop adds a possibility. Undefined when `value` is not a
 * dict; null when the dict is also used in a way this does not follow (`name.update(...)`, `name[k] = ...` with a
 * computed key, `del`, `+=` on the key, the dict handed to a call) before the read.
 */
export function builtDict(a: Analysis, read: PyNode, value: PyNode, key: string): PyNode[] | null | undefined {
  const entries = dictEntries(a, value);
  if (!entries) return undefined;
  const binding = value.parent?.type === 'assignment' ? value.parent : undefined;
  const block = binding?.parent?.type === 'expression_statement' ? binding.parent.parent : undefined;
  if (!binding || !block) return null;
  const scope = scopeOf(binding);
  const root = scope ?? rootOf(binding);
  const from = binding.end;
  const to = scopeOf(read) === scope ? read.start : root.end;
  const name = read.text;
  const entry = entries.get(key);
  let values: PyNode[] = entry ? [entry] : [];
  let unknown = false;
  root.walk((n) => {
    if (unknown || n.end <= from || n.start >= to) return false;
    if (n.type !== 'identifier' || n.text !== name) return;
    const use = useOf(n, key);
    if (use === 'read') return;
    if (use === 'other') {
      unknown = true;
      return false;
    }
    // A write of this key: in the binding's block it replaces the earlier values, elsewhere it is one more.
    const stmt = use.parent;
    if (stmt?.type === 'expression_statement' && stmt.parent === block) values = [use.child('right')!];
    else values.push(use.child('right')!);
  });
  return unknown ? null : values;
}

/** How an occurrence of the dict's name uses it: reads it, writes `key` (the assignment), or something else. */
function useOf(n: PyNode, key: string): 'read' | 'other' | PyNode {
  const p = n.parent;
  if (!p) return 'other';
  // `self.out`, `f(out=x)`: another name.
  if ((p.type === 'attribute' && n.field === 'attribute') || (p.type === 'keyword_argument' && n.field === 'name')) return 'read';
  if (p.type === 'attribute') return READ_METHODS.has(p.child('attribute')?.text ?? '') ? 'read' : 'other';
  if (p.type !== 'subscript' || n.field !== 'value') return 'other';
  const k = stringKey(p.child('subscript'));
  const g = p.parent;
  if (g?.type === 'assignment' && g.child('left') === p) {
    if (k === undefined) return 'other';
    return k === key && g.child('right') ? g : 'read';
  }
  if (g?.type === 'augmented_assignment' && g.child('left') === p) return k === undefined || k === key ? 'other' : 'read';
  if (g?.type === 'delete_statement' || g?.parent?.type === 'delete_statement') return 'other';
  return 'read';
}

