// Lists built up step by step: `tfs = []; tfs.append(RandomCrop(32)); Compose(tfs)`, `cbs = [ckpt]; cbs += [stop]`.
// What a list-valued name holds where it is read: its literal's elements and every item added to it in between.
import type { PyNode } from '../parser';
import { calleeName, positionalArgs, receiver, unparen, type Analysis } from './index';
import { scopeOf } from './scopes';

export interface ListItem {
  item: PyNode;
  /** Added in a branch, loop or try block that does not hold the read: only some runs have it. */
  conditional: boolean;
}

/**
 * Whether `n` runs only on some paths to `at`: it sits in a block (of an if, loop, try, with excepted) that does not
 * hold `at`. `if __name__ == "__main__":` counts as always run.
 */
export function onSomePaths(n: PyNode, at: PyNode): boolean {
  for (let p = n.parent; p && p.type !== 'function_definition' && p.type !== 'module'; p = p.parent) {
    if (p.type !== 'block' || (p.start <= at.start && at.end <= p.end)) continue;
    const owner = p.parent;
    if (!owner || owner.type === 'class_definition' || owner.type === 'with_statement') continue;
    if (owner.type === 'if_statement' && /__name__/.test(owner.child('condition')?.text ?? '')) continue;
    return true;
  }
  return false;
}

/** The elements of a list / tuple literal (starred ones left out: their items are unknown). */
function literalItems(n: PyNode | undefined): PyNode[] | undefined {
  const e = unparen(n);
  if (e?.type !== 'list' && e?.type !== 'tuple') return undefined;
  return e.namedChildren.filter((c) => c.type !== 'comment' && c.type !== 'list_splat');
}

/** What one `name.append(x)` / `insert(i, x)` / `extend([...])` adds, when its receiver is the name. */
function addedBy(call: PyNode, name: string): PyNode[] | undefined {
  const recv = receiver(call);
  if (recv?.type !== 'identifier' || recv.text !== name) return undefined;
  const args = positionalArgs(call);
  const method = calleeName(call);
  if (method === 'append') return args.length === 1 ? [args[0]!] : undefined;
  if (method === 'insert') return args.length === 2 ? [args[1]!] : undefined;
  return method === 'extend' && args.length === 1 ? (literalItems(args[0]) ?? []) : undefined;
}

/**
 * The items the list a name is bound to holds at `id` (a read of the name): the elements of the literal it was bound
 * to, then what `append` / `insert` / `extend` / `+=` add in the same scope between that binding and the read, in order.
 * Undefined when the name is not bound to a list literal there.
 */
export function listItems(a: Analysis, id: PyNode): ListItem[] | undefined {
  if (id.type !== 'identifier') return undefined;
  const value = a.scopes.valueAt(id.text, id);
  const start = literalItems(value ?? undefined);
  if (!value || !start) return undefined;
  const scope = scopeOf(value);
  // `if aug: tfs = [RandomCrop(32)]`: the literal itself is only there on some paths
  const bound = value.parent ? onSomePaths(value.parent, id) : false;
  const out: ListItem[] = start.map((item) => ({ item, conditional: bound }));
  const between = (n: PyNode) => n.start > value.end && n.end <= id.start && scopeOf(n) === scope;
  const added: { at: PyNode; items: PyNode[] }[] = [];
  for (const method of ['append', 'insert', 'extend']) {
    for (const call of a.callsNamed(method)) {
      const items = between(call) ? addedBy(call, id.text) : undefined;
      if (items) added.push({ at: call, items });
    }
  }
  for (const aug of a.index.of('augmented_assignment')) {
    if (!between(aug) || aug.child('left')?.text !== id.text || !aug.children.some((c) => c.type === '+=')) continue;
    added.push({ at: aug, items: literalItems(aug.child('right')) ?? [] });
  }
  added.sort((x, y) => x.at.start - y.at.start);
  for (const { at, items } of added) {
    const conditional = bound || onSomePaths(at, id);
    for (const item of items) out.push({ item, conditional });
  }
  return out;
}
