// The number an expression stands for, followed through the file to a literal: a parameter to the arguments of every
// call site (all must agree) or, for a function nothing in the file calls or names, to its default; `self.x` to the
// one value the class assigns it; a configuration read (`args.p`, `cfg['p']`) to its default; a local name to the
// one top-level assignment that reaches it. Precision first: anything we cannot follow gives undefined.
import { isWordChar } from '../chunks';
import type { PyNode } from '../parser';
import { unparen, type Analysis } from './index';
import { configValue } from './config';
import { parameterArguments } from './parameters';
import { scopeOf } from './scopes';

export interface NumberValue {
  /** The numeric literal (integer or float). */
  node: PyNode;
  value: number;
  /** Where it comes from, for messages (`dropout defaults to 0.9`); undefined for a literal written in place. */
  origin: string | undefined;
}

const MAX_DEPTH = 4;

/** The number `expr` holds when the file shows it as a literal (see the file comment), else undefined. */
export function numberValue(a: Analysis, expr: PyNode | undefined, depth = 0): NumberValue | undefined {
  const e = unparen(expr);
  if (!e || depth > MAX_DEPTH) return undefined;
  if (e.type === 'float' || e.type === 'integer') {
    const value = Number(e.text.replace(/_/g, ''));
    return Number.isFinite(value) ? { node: e, value, origin: undefined } : undefined;
  }
  if (e.type === 'identifier') return nameValue(a, e, depth);
  if (e.type === 'attribute' && e.child('object')?.text === 'self') return selfValue(a, e, depth);
  if (e.type === 'attribute' || e.type === 'subscript') {
    const c = configValue(a, e);
    const n = c ? numberValue(a, c.node, depth + 1) : undefined;
    return n && { ...n, origin: c!.origin };
  }
  return undefined;
}

/**
 * The value of a name assigned by a statement of its function (or module) body itself (`p = 0.9`; not one branch of an
 * if, not a loop's); null for a parameter (or a def / class); undefined for anything else.
 */
export function plainBinding(a: Analysis, id: PyNode): PyNode | null | undefined {
  const bound = a.scopes.valueAt(id.text, id);
  if (!bound) return bound;
  const asg = bound.parent;
  const stmt = asg?.type === 'assignment' && asg.child('left')?.type === 'identifier' ? asg.parent : undefined;
  const block = stmt?.type === 'expression_statement' ? stmt.parent : undefined;
  return block && (block.type === 'module' || block.parent?.type === 'function_definition') ? bound : undefined;
}

function nameValue(a: Analysis, id: PyNode, depth: number): NumberValue | undefined {
  const bound = plainBinding(a, id);
  if (bound) {
    const n = numberValue(a, bound, depth + 1);
    return n && { ...n, origin: n.origin ?? `${id.text} = ${n.node.text}` };
  }
  if (bound !== null) return undefined;
  const owner = parameterOwner(id);
  if (!owner) return undefined;
  // Every read of one parameter gets the same answer: computed once per lint (dropout layers share `p`).
  let perOwner = parameterValues.get(a);
  if (!perOwner) parameterValues.set(a, (perOwner = new WeakMap()));
  let byName = perOwner.get(owner);
  if (!byName) perOwner.set(owner, (byName = new Map()));
  if (!byName.has(id.text)) byName.set(id.text, parameterValue(a, owner, id, depth));
  return byName.get(id.text);
}

const parameterValues = new WeakMap<Analysis, WeakMap<PyNode, Map<string, NumberValue | undefined>>>();

function parameterValue(a: Analysis, owner: PyNode, id: PyNode, depth: number): NumberValue | undefined {
  const args = parameterArguments(a, id);
  if (args) {
    const values = args.map((x) => numberValue(a, x, depth + 1));
    const first = values[0];
    if (!first || !values.every((v) => v?.value === first.value)) return undefined;
    const byDefault = args.every((x) => x.parent?.type === 'default_parameter' || x.parent?.type === 'typed_default_parameter');
    return { ...first, origin: byDefault ? `${id.text} defaults to ${first.node.text}` : `${id.text} is ${first.node.text} at every call` };
  }
  // Nothing in the file calls the function (a library's model class): its default is what a caller gets.
  const def = defaultOf(owner, id.text);
  if (!def || rebinds(owner, id.text) || !unnamedElsewhere(a, owner)) return undefined;
  const n = numberValue(a, def, depth + 1);
  return n && { ...n, origin: `${id.text} defaults to ${n.node.text}` };
}

/** The function whose parameter `id` reads (the nearest enclosing one that declares it). */
function parameterOwner(id: PyNode): PyNode | undefined {
  for (let fn = scopeOf(id); fn; fn = scopeOf(fn)) {
    if (fn.type !== 'function_definition') return undefined;
    if (paramNode(fn, id.text)) return fn;
  }
  return undefined;
}

function paramNode(fn: PyNode, name: string): PyNode | undefined {
  return fn.child('parameters')?.namedChildren.find((p) => {
    const n = p.type === 'identifier' ? p : (p.child('name') ?? p.namedChildren.find((c) => c.type === 'identifier'));
    return n?.text === name;
  });
}

function defaultOf(fn: PyNode, name: string): PyNode | undefined {
  const p = paramNode(fn, name);
  return p?.type === 'default_parameter' || p?.type === 'typed_default_parameter' ? (p.child('value') ?? undefined) : undefined;
}

/**
 * The function's name (its class's for `__init__`) appears nowhere in the file but its definition (and the class's
 * own `super(Net, self)`): no call, no reference handed elsewhere (`partial(Net, ...)`, a registry), no subclass.
 */
export function unnamedElsewhere(a: Analysis, fn: PyNode): boolean {
  let name = fn.child('name')?.text;
  if (name === '__init__') name = fn.ancestor('class_definition')?.child('name')?.text;
  if (!name || name.startsWith('__')) return false;
  // Called somewhere (the usual case): settled without reading the whole text.
  if (a.callsNamed(name).length) return false;
  let known = unnamed.get(a);
  if (!known) unnamed.set(a, (known = new Map()));
  let answer = known.get(name);
  if (answer === undefined) {
    const text = a.root.text;
    // `super(Net, self).__init__()` inside the class names it too.
    answer = wordsInText(a, name) - superCalls(a, text, name) === 1;
    known.set(name, answer);
  }
  return answer;
}

/**
 * Whole-word occurrences of a name in the file's text: its identifier nodes plus the words of the text no identifier
 * node covers, strings, comments and syntax-error regions (a soft keyword can be a name too: counted in the text).
 */
function wordsInText(a: Analysis, name: string): number {
  if (SOFT_KEYWORDS.has(name)) return wordCount(a.root.text, name);
  let prose = proseOf.get(a);
  if (prose === undefined) {
    const parts: string[] = [];
    for (const t of ['string', 'comment']) for (const n of a.index.of(t)) parts.push(n.text);
    for (const n of a.index.errorNodes) parts.push(n.text);
    proseOf.set(a, (prose = parts.join('\n')));
  }
  return a.identifiersNamed(name).length + wordCount(prose, name);
}

/** Words that can be a name and a keyword token (no identifier node) alike. */
const SOFT_KEYWORDS = new Set(['match', 'case', 'type', '_', 'print', 'exec']);

/** Per lint: the text of the file's strings, comments and syntax-error regions (`wordsInText`). */
const proseOf = new WeakMap<Analysis, string>();

/** Per lint: the answers of unnamedElsewhere by name (each reads the whole text). */
const unnamed = new WeakMap<Analysis, Map<string, boolean>>();

/** Per lint: where `super(` follows a non-word character (one indexOf pass, shared by every name asked about). */
const superStarts = new WeakMap<Analysis, number[]>();

/**
 * Matches of /\bsuper\(\s*Name\s*,/g in the text: the pattern tested only where `super(` starts (matches cannot
 * overlap), instead of one regex pass over the whole text per name.
 */
function superCalls(a: Analysis, text: string, name: string): number {
  let starts = superStarts.get(a);
  if (!starts) {
    starts = [];
    for (let i = text.indexOf('super('); i !== -1; i = text.indexOf('super(', i + 6)) if (!isWordChar(text.charCodeAt(i - 1))) starts.push(i);
    superStarts.set(a, starts);
  }
  if (starts.length === 0) return 0;
  const re = new RegExp(`super\\(\\s*${name}\\s*,`, 'y');
  let n = 0;
  for (const i of starts) {
    re.lastIndex = i;
    if (re.test(text)) n++;
  }
  return n;
}

/** Occurrences of `word` as a whole word (indexOf: far cheaper than a regex over the file). */
export function wordCount(text: string, word: string): number {
  let n = 0;
  for (let i = text.indexOf(word); i !== -1; i = text.indexOf(word, i + word.length)) {
    if (!isWordChar(text.charCodeAt(i - 1)) && !isWordChar(text.charCodeAt(i + word.length))) n++;
  }
  return n;
}

/** Per function node (kept across edits while its subtree is unchanged): names its body assigns. */
const rebound = new WeakMap<PyNode, Map<string, boolean>>();

/** Whether the function assigns the name anywhere (`p = 1 - p`, `p *= 0.5`, a loop target). */
function rebinds(fn: PyNode, name: string): boolean {
  let memo = rebound.get(fn);
  if (!memo) rebound.set(fn, (memo = new Map()));
  let hit = memo.get(name);
  if (hit === undefined) memo.set(name, (hit = scanRebinds(fn, name)));
  return hit;
}

function scanRebinds(fn: PyNode, name: string): boolean {
  let hit = false;
  fn.child('body')?.walk((n) => {
    if (hit || n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    const left = n.type === 'assignment' || n.type === 'augmented_assignment' || n.type === 'for_statement' ? n.child('left') : undefined;
    left?.walk((c) => {
      if (c.type === 'attribute' || c.type === 'subscript') return false; // `self.p = p` keeps p
      if (c.type === 'identifier' && c.text === name) hit = true;
      return undefined;
    });
    if (n.type === 'named_expression' && n.child('name')?.text === name) hit = true;
    return undefined;
  });
  return hit;
}

/** `self.keep_prob` with one `self.keep_prob = ...` in the class, written nowhere else (no `self.keep_prob *= ...`). */
function selfValue(a: Analysis, attr: PyNode, depth: number): NumberValue | undefined {
  const cls = attr.ancestor('class_definition');
  const name = attr.child('attribute')?.text;
  if (!cls || !name) return undefined;
  const values = a.scopes.selfAttr(cls, name);
  if (values.length !== 1) return undefined;
  let augmented = false;
  cls.walk((n) => {
    if (augmented) return false;
    if (n.type === 'augmented_assignment' && n.child('left')?.text === `self.${name}`) augmented = true;
    return undefined;
  });
  if (augmented) return undefined;
  const n = numberValue(a, values[0], depth + 1);
  return n && { ...n, origin: n.origin ?? `self.${name} = ${n.node.text}` };
}

/** An integer literal written in place, possibly negated (`1`, `-1`, `1_000`), else undefined. */
export function signedInt(n: PyNode | undefined): number | undefined {
  const e = unparen(n);
  if (e?.type === 'integer') {
    const v = Number(e.text.replace(/_/g, ''));
    return Number.isSafeInteger(v) ? v : undefined;
  }
  if (e?.type === 'unary_operator' && e.children[0]?.type === '-') {
    const v = signedInt(e.namedChildren[0]);
    return v === undefined ? undefined : -v;
  }
  return undefined;
}
