// A name read after a loop that still holds the loop's last 0-based index: `for i, batch in enumerate(loader)` leaves
// `i` at n - 1 (and `count = i` in the body does the same), so dividing a sum over the loop by it is off by one.
import type { PyNode } from '../parser';
import { calleeName, keywordArg, positionalArgs, unparen } from './index';

export interface LastIndex {
  /** The loop whose index the name holds. */
  loop: PyNode;
  /** The enumerate index name the loop binds. */
  index: string;
}

/** `for i, x in enumerate(it)` (no start): the index name, else undefined. */
function enumerateIndex(loop: PyNode): string | undefined {
  const it = unparen(loop.child('right'));
  if (it?.type !== 'call' || calleeName(it) !== 'enumerate' || it.child('function')?.type !== 'identifier') return undefined;
  if (positionalArgs(it).length !== 1 || keywordArg(it, 'start')) return undefined;
  const left = loop.child('left');
  const first = left?.type === 'pattern_list' || left?.type === 'tuple_pattern' ? left.namedChildren[0] : undefined;
  return first?.type === 'identifier' ? first.text : undefined;
}

/** Statements of the loop body (nested blocks included, nested functions not) that bind `name`, or a `break`. */
function bodyBindings(loop: PyNode, name: string): { binds: PyNode[]; breaks: boolean } {
  const binds: PyNode[] = [];
  let breaks = false;
  loop.child('body')?.walk((n) => {
    if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    // A `break` of a nested loop does not end this one.
    if (n.type === 'for_statement' || n.type === 'while_statement') {
      n.child('body')?.walk((m) => {
        if (m.type === 'function_definition' || m.type === 'class_definition') return false;
        if ((m.type === 'assignment' || m.type === 'augmented_assignment') && bindsIn(m.child('left'), name)) binds.push(m);
      });
      return false;
    }
    if (n.type === 'break_statement' || n.type === 'return_statement') breaks = true;
    if ((n.type === 'assignment' || n.type === 'augmented_assignment') && bindsIn(n.child('left'), name)) binds.push(n);
  });
  return { binds, breaks };
}

function bindsIn(left: PyNode | undefined | null, name: string): boolean {
  let hit = false;
  left?.walk((t) => void (t.type === 'identifier' && t.text === name && (hit = true)));
  return hit;
}

/**
 * What a loop leaves in `name`: its enumerate index (the loop target, or `name = i` as the only binding in the body),
 * when the loop runs to its end (no `break` or `return`). Undefined when the loop rebinds `name` otherwise.
 */
function leftByLoop(loop: PyNode, name: string): LastIndex | 'other' | undefined {
  const index = enumerateIndex(loop);
  const { binds, breaks } = bodyBindings(loop, name);
  const targets = bindsIn(loop.child('left'), name);
  if (!targets && binds.length === 0) return undefined;
  if (!index || breaks) return 'other';
  if (targets) return name === index && binds.length === 0 ? { loop, index } : 'other';
  const only = binds.length === 1 && binds[0]!.type === 'assignment' ? binds[0]! : undefined;
  return only && unparen(only.child('right'))?.text === index && only.child('left')?.text === name ? { loop, index } : 'other';
}

/** Statements that may bind `name` without being a loop this module reads: anything but a plain expression. */
function rebinds(st: PyNode, name: string): boolean {
  let hit = false;
  st.walk((n) => {
    if (hit || n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if ((n.type === 'assignment' || n.type === 'augmented_assignment') && bindsIn(n.child('left'), name)) hit = true;
    if (n.type === 'for_statement' && bindsIn(n.child('left'), name)) hit = true;
    if (n.type === 'with_clause' && bindsIn(n, name)) hit = true;
  });
  return hit;
}

/** The last statement of a `with` block (where a `with torch.no_grad():` eval loop stands), else the statement. */
function innermost(st: PyNode): PyNode {
  let s = st;
  while (s.type === 'with_statement') {
    const last = s.child('body')?.namedChildren.filter((c) => c.type !== 'comment').at(-1);
    if (!last) break;
    s = last;
  }
  return s;
}

/**
 * When the identifier `id` (read after a loop, in the same function) holds that loop's last enumerate index: the loop.
 * Walks back over the statements before the read, in its block and the enclosing ones up to the function.
 */
export function lastIndexAt(id: PyNode): LastIndex | undefined {
  const name = id.text;
  let stmt: PyNode = id;
  while (stmt.parent && stmt.parent.type !== 'block' && stmt.parent.type !== 'module') stmt = stmt.parent;
  for (; stmt.parent; stmt = stmt.parent) {
    const block = stmt.parent;
    if (block.type === 'function_definition' || block.type === 'class_definition' || block.type === 'lambda') return undefined;
    if (block.type !== 'block' && block.type !== 'module') continue;
    // Inside a loop, the read may come before the loop that binds the name on the next iteration: stop.
    const around = block.parent;
    const siblings = block.namedChildren;
    for (let i = siblings.indexOf(stmt) - 1; i >= 0; i--) {
      const s = innermost(siblings[i]!);
      if (s.type === 'for_statement') {
        const left = leftByLoop(s, name);
        if (left === 'other') return undefined;
        if (left) return left;
      } else if (rebinds(siblings[i]!, name)) return undefined;
    }
    if (around?.type === 'for_statement' || around?.type === 'while_statement') return undefined;
  }
  return undefined;
}

