// What a loop over a literal list of phases runs for one of its elements. `for phase, loader in [('train',
// train_loader), ('val', val_loader)]` binds `phase = 'val'` for the element that holds `val_loader`; a statement of
// the body that a condition on those values rules out for that element (`if phase == 'train': optimizer.step()`, or
// after `if phase != 'train': continue`) does not run for it. Unknown conditions never rule anything out.
import type { PyNode } from '../parser';
import { calleeName, positionalArgs, receiver, unparen, type Analysis } from './index';
import { evaluate, ruledOut, type Env } from './gates';

const MAX_DEPTH = 3;

/** The items of a list or tuple literal. */
function items(n: PyNode | undefined): PyNode[] | undefined {
  const u = unparen(n);
  return u?.type === 'list' || u?.type === 'tuple' ? u.namedChildren.filter((c) => c.type !== 'comment') : undefined;
}

/** The names a loop binds when every target is a plain name (`phase`, `phase, loader`, `(phase, loader)`). */
function targetNames(left: PyNode | null | undefined): string[] | undefined {
  if (left?.type === 'identifier') return [left.text];
  if (left?.type !== 'pattern_list' && left?.type !== 'tuple_pattern' && left?.type !== 'list_pattern') return undefined;
  const names = left.namedChildren.filter((c) => c.type !== 'comment');
  return names.every((c) => c.type === 'identifier') ? names.map((c) => c.text) : undefined;
}

function contains(outer: PyNode, inner: PyNode): boolean {
  return outer.start <= inner.start && inner.end <= outer.end;
}

/** One element of the iterable unpacked into the names: a row `('val', val_loader)` or, for one name, the element. */
function bindRow(names: string[], row: PyNode): Map<string, PyNode> | undefined {
  if (names.length === 1) return new Map([[names[0]!, row]]);
  const parts = items(row);
  if (parts?.length !== names.length) return undefined;
  return new Map(names.map((n, i) => [n, parts[i]!]));
}

/**
 * For each name the loop binds, the expression it holds on the iteration whose element contains `node`: a list or
 * tuple of rows, `zip([...], [...])` of literal lists, or `{'train': ..., 'val': ...}.items()`.
 */
export function elementBindings(loop: PyNode, node: PyNode): Map<string, PyNode> | undefined {
  const names = targetNames(loop.child('left'));
  const right = unparen(loop.child('right') ?? undefined);
  if (!names || !right) return undefined;
  const rows = items(right);
  if (rows) {
    const row = rows.find((r) => contains(r, node));
    return row ? bindRow(names, row) : undefined;
  }
  if (right.type !== 'call') return undefined;
  const name = calleeName(right);
  if (name === 'zip' && right.child('function')?.type === 'identifier') {
    const columns = positionalArgs(right).map(items);
    if (columns.length !== names.length) return undefined;
    const at = columns.map((col) => col?.findIndex((x) => contains(x, node)) ?? -1).find((k) => k >= 0);
    if (at === undefined || columns.some((col) => col?.[at] === undefined)) return undefined;
    return new Map(names.map((n, j) => [n, columns[j]![at]!]));
  }
  const dict = name === 'items' && positionalArgs(right).length === 0 ? unparen(receiver(right)) : undefined;
  if (dict?.type === 'dictionary' && names.length === 2) {
    const pair = dict.namedChildren.find((p) => p.type === 'pair' && contains(p, node));
    const key = pair?.child('key');
    const value = pair?.child('value');
    return key && value ? new Map([[names[0]!, key], [names[1]!, value]]) : undefined;
  }
  return undefined;
}

/** Whether the loop body binds a name again (an assignment target, an inner loop's target, `as` name). */
function rebinds(body: PyNode, name: string): boolean {
  let found = false;
  body.walk((n) => {
    if (found || n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    const assigns = n.type === 'assignment' || n.type === 'augmented_assignment' || n.type === 'for_statement';
    const target = assigns ? n.child('left') : n.type === 'as_pattern' ? n.child('alias') : undefined;
    target?.walk((t) => void (t.type === 'identifier' && t.text === name && (found = true)));
    return undefined;
  });
  return found;
}

/**
 * The values names hold on that iteration: a loop target (not rebound in the body) is its element's literal; a name
 * assigned in the body (`is_train = phase == 'train'`) is its value evaluated the same way.
 */
function iterationEnv(a: Analysis, loop: PyNode, bindings: Map<string, PyNode>, depth = 0): Env {
  const body = loop.child('body');
  return (id) => {
    if (!body || depth > MAX_DEPTH) return undefined;
    const value = a.scopes.valueAt(id.text, id);
    if (value && contains(body, value)) {
      const asg = value.parent;
      if (asg?.type !== 'assignment' || asg.child('left')?.type !== 'identifier') return undefined;
      return evaluate(value, iterationEnv(a, loop, bindings, depth + 1));
    }
    const bound = bindings.get(id.text);
    if (!bound || value !== null || rebinds(body, id.text)) return undefined;
    return evaluate(bound, () => undefined);
  };
}

/** `if cond: continue` (break, return, raise) whose condition holds, before `node` in a block up to `scope`. */
function exitedBefore(node: PyNode, scope: PyNode, env: Env): boolean {
  for (let p: PyNode | null = node; p && p !== scope; p = p.parent) {
    const block: PyNode | null = p.parent;
    if (block?.type !== 'block') continue;
    for (const s of block.namedChildren) {
      if (s === p) break;
      if (s.type !== 'if_statement' || s.childrenOf('alternative').length > 0) continue;
      const last = s.child('consequence')?.namedChildren.filter((c) => c.type !== 'comment').pop();
      if (!last || !/^(continue|break|return|raise)_statement$/.test(last.type)) continue;
      const v = evaluate(s.child('condition') ?? undefined, env);
      if (v !== undefined && v !== null && v !== false && v !== 0 && v !== '') return true;
    }
  }
  return false;
}

/**
 * A test of whether a node of the loop's body is skipped on the iteration whose element holds `element` (a
 * `val_loader` in `[('train', train_loader), ('val', val_loader)]`); undefined when the loop's iterable is not a
 * literal list of such elements.
 */
export function skippedForElement(a: Analysis, loop: PyNode, element: PyNode): ((n: PyNode) => boolean) | undefined {
  const bindings = elementBindings(loop, element);
  const body = loop.child('body');
  if (!bindings || !body) return undefined;
  const env = iterationEnv(a, loop, bindings);
  return (n) => ruledOut(n, body, env) || exitedBefore(n, body, env);
}
