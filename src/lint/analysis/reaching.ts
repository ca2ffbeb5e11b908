// Reaching definitions of a local name, path by path, inside one function (or the module): every assignment whose
// value can be what the name holds at a read. Unlike `Scopes.valueAt` (the nearest binding), an `if` without `else`
// lets the earlier binding through too, a loop may run zero times (and hands its last binding to its next
// iteration), and a branch ending in `return`/`raise`/`continue`/`break` reaches nothing after it. Undefined when a
// binding cannot be read (`x += 1`, `for x in`, `with ... as x`, an assignment inside `try`, `global x`).
import type { PyNode } from '../parser';

export interface ReachingDef {
  /** The assigned expression; undefined for a parameter of the enclosing function. */
  value?: PyNode;
  /** `a, b = f()`: the name is element `index` of `value`. */
  index?: number;
  /** The function the name is a parameter of. */
  parameterOf?: PyNode;
}

interface Defs {
  defs: ReachingDef[];
  /** Some path through the statement leaves the name as it was. */
  through: boolean;
}

const EXITS = new Set(['return_statement', 'raise_statement', 'continue_statement', 'break_statement']);
const LOOPS = new Set(['for_statement', 'while_statement']);

/** The statement holding `node` directly in a block (or the module). */
export function statementOf(node: PyNode): PyNode | undefined {
  let n: PyNode | null = node;
  while (n?.parent && n.parent.type !== 'block' && n.parent.type !== 'module') n = n.parent;
  return n?.parent ? n : undefined;
}

/** The definitions of `name` that can reach the read `id`. */
export function reachingDefs(id: PyNode): ReachingDef[] | undefined {
  const stmt = statementOf(id);
  return stmt ? reachingBefore(id.text, stmt) : undefined;
}

/** The definitions of `name` that can reach the start of statement `stmt`. */
export function reachingBefore(name: string, stmt: PyNode): ReachingDef[] | undefined {
  const out: ReachingDef[] = [];
  let cur = stmt;
  for (;;) {
    const block = cur.parent;
    if (!block) return undefined;
    const siblings = block.namedChildren;
    for (let i = siblings.indexOf(cur) - 1; i >= 0; i--) {
      const r = statementDefs(name, siblings[i]!);
      if (!r) return undefined;
      out.push(...r.defs);
      if (!r.through) return out;
    }
    if (block.type === 'module') return out;
    let owner = block.parent;
    if (owner?.type === 'elif_clause' || owner?.type === 'else_clause') owner = owner.parent;
    if (!owner) return undefined;
    if (owner.type === 'function_definition') {
      const params = owner.child('parameters')?.namedChildren ?? [];
      const isParam = params.some((p) => (p.type === 'identifier' ? p : p.namedChildren.find((c) => c.type === 'identifier'))?.text === name);
      // A name bound nowhere in the function comes from outside (a closure, a global): not followed.
      return isParam ? [...out, { parameterOf: owner }] : undefined;
    }
    if (owner.type === 'class_definition' || owner.type === 'try_statement' || owner.type === 'except_clause' || owner.type === 'finally_clause') return undefined;
    if (LOOPS.has(owner.type)) {
      if (owner.type === 'for_statement' && bindsName(owner.child('left'), name)) return undefined;
      // The previous iteration's binding reaches the top of the body too.
      const body = blockDefs(name, owner.child('body'));
      if (!body) return undefined;
      out.push(...body.defs);
    }
    if (owner.type === 'with_statement' && withBinds(owner, name)) return undefined;
    cur = owner;
  }
}

/** What a block leaves in `name` at its end; through when some path does not bind it. */
function blockDefs(name: string, block: PyNode | null | undefined): Defs | undefined {
  if (!block) return undefined;
  const stmts = block.namedChildren.filter((c) => c.type !== 'comment');
  const last = stmts[stmts.length - 1];
  if (last && EXITS.has(last.type)) return { defs: [], through: false };
  const defs: ReachingDef[] = [];
  for (let i = stmts.length - 1; i >= 0; i--) {
    const r = statementDefs(name, stmts[i]!);
    if (!r) return undefined;
    defs.push(...r.defs);
    if (!r.through) return { defs, through: false };
  }
  return { defs, through: true };
}

function statementDefs(name: string, s: PyNode): Defs | undefined {
  switch (s.type) {
    case 'expression_statement':
      return assignmentDefs(name, s);
    case 'if_statement': {
      const branches = [s.child('consequence')];
      let hasElse = false;
      for (const alt of s.namedChildren) {
        if (alt.type === 'elif_clause') branches.push(alt.child('consequence'));
        else if (alt.type === 'else_clause') {
          branches.push(alt.child('body'));
          hasElse = true;
        }
      }
      const defs: ReachingDef[] = [];
      let through = !hasElse;
      for (const b of branches) {
        const r = blockDefs(name, b);
        if (!r) return undefined;
        defs.push(...r.defs);
        through ||= r.through;
      }
      return { defs, through };
    }
    case 'for_statement':
    case 'while_statement': {
      if (s.type === 'for_statement' && bindsName(s.child('left'), name)) return undefined;
      if (s.namedChildren.some((c) => c.type === 'else_clause' && assigns(c, name))) return undefined;
      const r = blockDefs(name, s.child('body'));
      return r ? { defs: r.defs, through: true } : undefined;
    }
    case 'with_statement':
      return withBinds(s, name) ? undefined : blockDefs(name, s.child('body'));
    case 'function_definition':
    case 'class_definition':
      return s.child('name')?.text === name ? undefined : { defs: [], through: true };
    case 'decorated_definition': {
      const d = s.child('definition');
      return d ? statementDefs(name, d) : undefined;
    }
    case 'global_statement':
    case 'nonlocal_statement':
      return s.namedChildren.some((c) => c.text === name) ? undefined : { defs: [], through: true };
    default:
      return assigns(s, name) ? undefined : { defs: [], through: true };
  }
}

/** `x = v`, `x, n = f()`; any other binding of the name in the statement is unknown. */
function assignmentDefs(name: string, s: PyNode): Defs | undefined {
  const asg = s.namedChildren[0];
  if (asg?.type === 'assignment') {
    const left = asg.child('left');
    const right = asg.child('right');
    if (left?.type === 'identifier' && left.text === name) return right && right.type !== 'assignment' ? { defs: [{ value: right }], through: false } : undefined;
    if (left?.type === 'pattern_list' || left?.type === 'tuple_pattern') {
      const items = left.namedChildren;
      const i = items.findIndex((c) => c.type === 'identifier' && c.text === name);
      if (i >= 0) return right && !items.some((c) => c.type === 'list_splat_pattern') ? { defs: [{ value: right, index: i }], through: false } : undefined;
    }
  }
  return assigns(s, name) ? undefined : { defs: [], through: true };
}

/** Whether anything in `node` (outside nested functions) rebinds `name`. */
function assigns(node: PyNode, name: string): boolean {
  let found = false;
  node.walk((n) => {
    if (found || n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type === 'assignment' || n.type === 'augmented_assignment' || n.type === 'named_expression') {
      if (bindsName(n.child('left') ?? n.child('name'), name)) found = true;
    } else if (n.type === 'for_statement' || n.type === 'for_in_clause') {
      if (bindsName(n.child('left'), name)) found = true;
    } else if (n.type === 'as_pattern_target' && bindsName(n, name)) found = true;
    return undefined;
  });
  return found;
}

function bindsName(target: PyNode | null | undefined, name: string): boolean {
  if (!target) return false;
  if (target.type === 'identifier') return target.text === name;
  if (target.type === 'attribute' || target.type === 'subscript') return false;
  return target.namedChildren.some((c) => bindsName(c, name));
}

function withBinds(w: PyNode, name: string): boolean {
  let found = false;
  for (const c of w.namedChildren) if (c.type === 'with_clause') c.walk((n) => void (n.type === 'as_pattern_target' && bindsName(n, name) && (found = true)));
  return found;
}
