// `if` statements that test the same condition: `if optimizer is not None: optimizer.zero_grad()` ... `if optimizer is
// not None: optimizer.step()`, `if train:` ... `if not train:`. When the condition reads only names, attributes and
// literals, and nothing rebinds those names in between, both tests take the same value in one pass: a path analysis
// can walk the two cases once each instead of pairing the branches independently.
import type { PyNode } from '../parser';
import { unparen } from './index';

/** A condition's text, whitespace-normalised and with its polarity: `not x` and `x is not None` are `x` / `x is None` negated. */
export interface ConditionKey {
  key: string;
  negated: boolean;
}

const PURE = new Set(['identifier', 'attribute', 'integer', 'float', 'string', 'true', 'false', 'none', 'comparison_operator', 'boolean_operator', 'not_operator', 'parenthesized_expression', 'binary_operator', 'unary_operator', 'subscript', 'string_start', 'string_content', 'string_end']);

/** Whether evaluating a condition has no effect and reads only names, attributes and literals (no call). */
function isPure(cond: PyNode): boolean {
  let pure = true;
  cond.walk((n) => {
    if (!pure) return false;
    if (n.named && !PURE.has(n.type)) pure = false;
    return undefined;
  });
  return pure;
}

const flat = (n: PyNode) => n.text.replace(/\s+/g, ' ');

/** The key of a pure condition, else undefined. */
export function conditionKey(cond: PyNode | undefined): ConditionKey | undefined {
  let c = unparen(cond);
  if (!c || !isPure(c)) return undefined;
  let negated = false;
  while (c?.type === 'not_operator') {
    negated = !negated;
    c = unparen(c.child('argument'));
  }
  if (!c) return undefined;
  // `x is not None` / `x != y`: the negation of `x is None` / `x == y`
  const ops = c.type === 'comparison_operator' ? c.children.filter((k) => !k.named) : [];
  const operands = c.type === 'comparison_operator' ? c.namedChildren.filter((k) => k.type !== 'comment') : [];
  if (ops.length === 1 && operands.length === 2) {
    const op = ops[0]!.text.replace(/\s+/g, ' ');
    const positive = op === 'is not' ? 'is' : op === '!=' ? '==' : op;
    if (positive !== op) negated = !negated;
    return { key: `${flat(operands[0]!)} ${positive} ${flat(operands[1]!)}`, negated };
  }
  return { key: flat(c), negated };
}

const keysCache = new WeakMap<PyNode, string[]>();

/** The keys of the `if` / `elif` conditions in a statement (its nested blocks included, nested functions and classes not). */
export function conditionKeysIn(stmt: PyNode): string[] {
  let keys = keysCache.get(stmt);
  if (keys) return keys;
  const found = new Set<string>();
  stmt.walk((n) => {
    if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.type !== 'if_statement' && n.type !== 'elif_clause') return undefined;
    const k = conditionKey(n.child('condition'));
    if (k) found.add(k.key);
    return undefined;
  });
  keys = [...found];
  keysCache.set(stmt, keys);
  return keys;
}

/** The names a pure condition reads (roots of attributes included) and its attribute paths (`self.training`). */
function readsOf(cond: PyNode): { names: Set<string>; attributes: Set<string> } {
  const names = new Set<string>();
  const attributes = new Set<string>();
  cond.walk((n) => {
    if (n.type === 'identifier') names.add(n.text);
    if (n.type === 'attribute') attributes.add(flat(n));
  });
  return { names, attributes };
}

/**
 * Whether the statements may change what the condition reads: they bind one of its names (assignment, loop target,
 * `with ... as`, walrus, `del`, `global`), assign one of its attributes, or, for a condition on an attribute, call
 * `train()` / `eval()` / `setattr` (which flip `self.training`).
 */
export function mayChange(cond: PyNode, stmts: readonly PyNode[]): boolean {
  const { names, attributes } = readsOf(cond);
  let changed = false;
  const binds = (target: PyNode | undefined) =>
    target?.walk((t) => {
      if (changed) return false;
      if (t.type === 'identifier' && names.has(t.text)) changed = true;
      if (t.type === 'attribute') {
        if (attributes.has(flat(t))) changed = true;
        return false;
      }
      if (t.type === 'subscript') return false;
      return undefined;
    });
  for (const s of stmts) {
    s.walk((n) => {
      if (changed) return false;
      switch (n.type) {
        case 'assignment':
        case 'augmented_assignment':
        case 'for_statement':
        case 'for_in_clause':
          binds(n.child('left'));
          break;
        case 'named_expression':
          binds(n.child('name'));
          break;
        case 'as_pattern':
          binds(n.child('alias'));
          break;
        case 'delete_statement':
        case 'global_statement':
        case 'nonlocal_statement':
          binds(n);
          break;
        case 'call':
          if (attributes.size > 0 && /(^|\.)(train|eval|setattr)$/.test(n.child('function')?.text ?? '')) changed = true;
          break;
      }
      return undefined;
    });
    if (changed) return true;
  }
  return false;
}

/** The first pure condition tested by an `if` in `stmt` (outside nested functions) whose key is `key`. */
export function conditionNamed(stmt: PyNode, key: string): PyNode | undefined {
  let found: PyNode | undefined;
  stmt.walk((n) => {
    if (found || n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.type !== 'if_statement' && n.type !== 'elif_clause') return undefined;
    const c = n.child('condition');
    if (conditionKey(c)?.key === key) found = c;
    return undefined;
  });
  return found;
}
