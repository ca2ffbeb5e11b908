// What a call of one of the file's functions selects inside it. `def step(model, x, mode=''): if mode == 'test':
// with torch.no_grad(): out = model(x) else: out = model(x)` called as `step(model, x, mode='test')` runs only the
// no_grad branch; `with torch.set_grad_enabled(mode == 'train'):` is off for that call. Conditions are evaluated with
// the function's parameters bound to the literals the call passes (or the defaults it leaves), followed up the chain of
// calls and, at the top, to every call site of the outer function (all must agree). Precision first: anything not
// known is unknown, and an unknown condition never rules a branch out.
import type { PyNode } from '../parser';
import { plainBinding, unnamedElsewhere } from './numbers';
import { keywordArg, positionalArgs, hasKeywordSplat, unparen, type Analysis } from './index';
import { parameterArguments } from './parameters';

export type Literal = string | number | boolean | null;
/** The value of a name read at `id`, when known. */
export type Env = (id: PyNode) => Literal | undefined;

const MAX_DEPTH = 3;

function truthy(v: Literal): boolean {
  return v !== null && v !== false && v !== 0 && v !== '';
}

/** A plain string literal's value (no f-string, no implicit concatenation). */
function stringValue(s: PyNode): string | undefined {
  const m = /^[rRuU]?(['"]{1,3})([\s\S]*)\1$/.exec(s.text);
  return m && !m[2]!.includes('\\') ? m[2] : undefined;
}

/** The literal `expr` evaluates to under `env`, when known. */
export function evaluate(expr: PyNode | undefined, env: Env): Literal | undefined {
  const e = unparen(expr);
  switch (e?.type) {
    case 'string':
      return stringValue(e);
    case 'integer':
      return /^\d+$/.test(e.text) ? Number(e.text) : undefined;
    case 'true':
      return true;
    case 'false':
      return false;
    case 'none':
      return null;
    case 'identifier':
      return env(e);
    case 'not_operator': {
      const v = evaluate(e.child('argument') ?? e.namedChildren[0], env);
      return v === undefined ? undefined : !truthy(v);
    }
    case 'boolean_operator': {
      const [l, r] = e.namedChildren;
      const left = evaluate(l, env);
      const and = e.children.some((c) => c.type === 'and');
      if (left !== undefined && truthy(left) !== and) return left; // `False and x`, `True or x`
      const right = evaluate(r, env);
      // `x and False` / `x or True` decide the truth of the whole, which is all a condition needs.
      if (left === undefined) return right !== undefined && truthy(right) !== and ? !and : undefined;
      return right;
    }
    case 'comparison_operator':
      return compare(e, env);
    default:
      return undefined;
  }
}

/** `a == 'x'`, `a != 'x'`, `a in ('x', 'y')`, `a not in [...]`, `a is None`, `a is not False`: one operator only. */
function compare(e: PyNode, env: Env): Literal | undefined {
  const operands = e.namedChildren.filter((c) => c.type !== 'comment');
  const ops = e.children.filter((c) => !c.named);
  if (operands.length !== 2 || ops.length !== 1) return undefined;
  const op = ops[0]!.type;
  const left = evaluate(operands[0], env);
  if (left === undefined) return undefined;
  if (op === 'in' || op === 'not in') {
    const box = unparen(operands[1]);
    if (box?.type !== 'tuple' && box?.type !== 'list' && box?.type !== 'set') return undefined;
    const items = box.namedChildren.map((x) => evaluate(x, env));
    if (items.some((x) => x === undefined)) return undefined;
    return items.includes(left) === (op === 'in');
  }
  const right = evaluate(operands[1], env);
  if (right === undefined) return undefined;
  if (op === '==' || op === 'is') return left === right;
  if (op === '!=' || op === 'is not') return left !== right;
  return undefined;
}

/**
 * `node` sits in a branch (between it and `scope`) that the bindings rule out: the body of an `if` / `elif` whose
 * condition is false, or an `elif` / `else` after a condition that is true.
 */
export function ruledOut(node: PyNode, scope: PyNode | undefined, env: Env): boolean {
  for (let p: PyNode | undefined = node; p && p !== scope; p = p.parent ?? undefined) {
    const parent: PyNode | null = p.parent;
    if (!parent) break;
    const isFalse = (cond: PyNode | undefined) => isFalsy(evaluate(cond, env));
    const isTrue = (cond: PyNode | undefined) => {
      const v = evaluate(cond, env);
      return v !== undefined && truthy(v);
    };
    if ((parent.type === 'if_statement' || parent.type === 'elif_clause') && p === parent.child('consequence') && isFalse(parent.child('condition'))) return true;
    if (parent.type === 'if_statement' && (p.type === 'elif_clause' || p.type === 'else_clause')) {
      if (isTrue(parent.child('condition'))) return true;
      for (const alt of parent.children) {
        if (alt === p) break;
        if (alt.type === 'elif_clause' && isTrue(alt.child('condition'))) return true;
      }
    }
  }
  return false;
}

function isFalsy(v: Literal | undefined): boolean {
  return v !== undefined && !truthy(v);
}

/**
 * A `with` around `node` (up to `scope`) turns autograd off under the bindings: `torch.set_grad_enabled(flag)` with a
 * false flag, or `torch.no_grad() if not train else nullcontext()` whose condition picks the no_grad.
 */
export function gradOffUnder(a: Analysis, node: PyNode, scope: PyNode | undefined, env: Env, disablesGrad: (e: PyNode) => boolean): boolean {
  for (let p = node.parent; p && p !== scope; p = p.parent) {
    if (p.type !== 'with_statement') continue;
    const clause = p.children.find((c) => c.type === 'with_clause');
    for (const item of clause?.namedChildren ?? []) {
      let e = unparen(item.namedChildren[0]);
      if (e?.type === 'as_pattern') e = unparen(e.namedChildren[0]);
      if (e?.type === 'conditional_expression') {
        const [then, cond, otherwise] = e.namedChildren;
        const v = evaluate(cond, env);
        const chosen = v === undefined ? undefined : unparen(truthy(v) ? then : otherwise);
        if (chosen && disablesGrad(chosen)) return true;
      } else if (e?.type === 'call' && a.callee(e) === 'torch.set_grad_enabled') {
        const flag = positionalArgs(e)[0] ?? keywordArg(e, 'mode');
        if (isFalsy(evaluate(flag, env))) return true;
      }
    }
  }
  return false;
}

/** The parameters of `def` by name: position among positional ones (-1 keyword-only) and default. */
function parametersOf(def: PyNode): Map<string, { position: number; value: PyNode | undefined }> {
  const m = new Map<string, { position: number; value: PyNode | undefined }>();
  let index = 0;
  let keywordOnly = false;
  for (const p of def.child('parameters')?.namedChildren ?? []) {
    if (p.type === 'list_splat_pattern' || p.type === 'keyword_separator' || p.type === 'dictionary_splat_pattern') {
      keywordOnly = true;
      continue;
    }
    if (p.type === 'positional_separator' || p.type === 'comment') continue;
    const id = p.type === 'identifier' ? p : (p.child('name') ?? p.namedChildren.find((c) => c.type === 'identifier'));
    const value = p.type === 'default_parameter' || p.type === 'typed_default_parameter' ? p.child('value') : undefined;
    if (id?.type === 'identifier') m.set(id.text, { position: keywordOnly ? -1 : index, value });
    if (!keywordOnly) index++;
  }
  return m;
}

/**
 * The bindings inside `def` for one call `site` of it: a parameter reads the argument passed for it (or its default),
 * evaluated where the call stands with `outer`. A name the function rebinds, or any other name, is unknown.
 */
export function callEnv(a: Analysis, def: PyNode, site: PyNode, outer: Env): Env {
  const params = parametersOf(def);
  // `self.step(...)` does not pass `self`; a static method has none.
  const decorators = def.parent?.type === 'decorated_definition' ? def.parent.children.filter((c) => c.type === 'decorator') : [];
  const method = site.child('function')?.type === 'attribute' && def.ancestor('class_definition') !== undefined && !decorators.some((d) => /staticmethod$/.test(d.text));
  const splat = site.child('arguments')?.children.some((c) => c.type === 'list_splat') || hasKeywordSplat(site);
  return (id) => {
    const p = params.get(id.text);
    // A parameter not rebound before the read (valueAt finds only the parameter itself).
    if (!p || splat || a.scopes.valueAt(id.text, id) !== null) return undefined;
    const index = p.position >= 0 ? p.position - (method ? 1 : 0) : -1;
    const given = (index >= 0 ? positionalArgs(site)[index] : undefined) ?? keywordArg(site, id.text);
    if (given) return evaluate(given, outer);
    return p.value ? evaluate(p.value, () => undefined) : undefined;
  };
}

/**
 * The bindings where no call is followed: a name assigned a literal by a statement of its function (or module) body, a
 * parameter that every call site of its function fills with the same literal.
 */
export function fileEnv(a: Analysis, depth = 0): Env {
  return (id) => {
    if (depth > MAX_DEPTH) return undefined;
    const bound = plainBinding(a, id);
    if (bound) return evaluate(bound, fileEnv(a, depth + 1));
    if (bound !== null) return undefined;
    const args = parameterArguments(a, id);
    if (!args?.length) return uncalledDefault(a, id);
    const values = args.map((x) => evaluate(x, fileEnv(a, depth + 1)));
    return values.every((v) => v !== undefined && v === values[0]) ? values[0] : undefined;
  };
}

/**
 * The default of a parameter of a function the file never calls nor names elsewhere (`def evaluate(model, loader,
 * train=False)` of a library module): what a caller that leaves it gets.
 */
function uncalledDefault(a: Analysis, id: PyNode): Literal | undefined {
  const fn = id.ancestor('function_definition');
  const p = fn ? parametersOf(fn).get(id.text) : undefined;
  const name = fn?.child('name')?.text;
  if (!p?.value || !name || /^__/.test(name)) return undefined;
  if (!unnamedElsewhere(a, fn)) return undefined;
  return evaluate(p.value, () => undefined);
}
