// What a loader expression holds, for the data rules: names, parameters (the argument every call site of the function
// passes, when they agree), `self.x` (its one assignment) and literal-key entries of dicts
// (`loaders = {"train": DataLoader(...)}` read as `loaders["train"]`, also through `self.loaders = loaders` and a
// constructor parameter). A dict that may change after it is built (an entry assigned or deleted with that key or an
// unknown one, `update`, `setdefault`, `pop`, `|=`, anywhere in the file under the same name) gives nothing.
import type { PyNode } from '../parser';
import { calleeName, positionalArgs, receiver, unparen, type Analysis } from './index';
import { parameterArguments } from './parameters';
import { SAMPLING_LOADERS, isDataLoaderCall, stringValue, trainedLoaders, type TrainedLoader } from './runtime';
import { trainingLoops } from './training';

/** Dict methods that add, replace or remove entries. */
const MUTATORS = new Set(['update', 'setdefault', 'pop', 'popitem', 'clear', '__setitem__', '__delitem__']);

/** The key of a literal-key dict entry: `{"train": X}` / `dict(train=X)` -> `train` for X. */
export function dictKeyOf(value: PyNode): string | undefined {
  const p = value.parent;
  if (p?.type === 'pair' && p.child('value') === value) return stringValue(p.child('key') ?? undefined);
  if (p?.type === 'keyword_argument' && p.child('value') === value && p.parent?.parent?.type === 'call' && calleeName(p.parent.parent) === 'dict') {
    return p.child('name')?.text;
  }
  return undefined;
}

/** The value of `key` in a dict literal or `dict(key=...)` call (undefined when absent or spread from elsewhere). */
function entryOf(dict: PyNode, key: string): PyNode | undefined {
  if (dict.type === 'dictionary') {
    if (dict.namedChildren.some((c) => c.type === 'dictionary_splat')) return undefined;
    const pair = dict.namedChildren.find((c) => c.type === 'pair' && stringValue(c.child('key') ?? undefined) === key);
    return pair?.child('value') ?? undefined;
  }
  if (dict.type === 'call' && calleeName(dict) === 'dict' && dict.child('function')?.type === 'identifier') {
    const args = dict.child('arguments')?.namedChildren ?? [];
    if (args.some((c) => c.type !== 'keyword_argument' && c.type !== 'comment')) return undefined;
    return args.find((c) => c.type === 'keyword_argument' && c.child('name')?.text === key)?.child('value') ?? undefined;
  }
  return undefined;
}

/** The last name of a holder expression: `loaders` for `loaders` and `self.loaders`. */
function lastName(e: PyNode): string | undefined {
  if (e.type === 'identifier') return e.text;
  if (e.type === 'attribute') return e.child('attribute')?.text;
  return undefined;
}

const mutationCache = new WeakMap<Analysis, Map<string, boolean>>();

/** Whether some statement of the file may change the entry `key` of a dict held under `name` (or every entry). */
function mayMutate(a: Analysis, name: string, key: string): boolean {
  let m = mutationCache.get(a);
  if (!m) mutationCache.set(a, (m = new Map()));
  const id = `${name}\0${key}`;
  let out = m.get(id);
  if (out === undefined) m.set(id, (out = findMutation(a, name, key)));
  return out;
}

function findMutation(a: Analysis, name: string, key: string): boolean {
  const heldUnder = (e: PyNode | undefined) => {
    const x = unparen(e);
    return x !== undefined && lastName(x) === name;
  };
  const touchesKey = (sub: PyNode) => {
    if (!heldUnder(sub.child('value') ?? undefined)) return false;
    const k = stringValue(unparen(sub.child('subscript') ?? undefined));
    return k === undefined || k === key;
  };
  for (const asg of [...a.index.of('assignment'), ...a.index.of('augmented_assignment')]) {
    const left = asg.child('left');
    if (asg.type === 'augmented_assignment' && left && heldUnder(left)) return true;
    let hit = false;
    left?.walk((t) => {
      if (t.type === 'subscript' && touchesKey(t)) hit = true;
    });
    if (hit) return true;
  }
  for (const del of a.index.of('delete_statement')) {
    let hit = false;
    del.walk((t) => {
      if (t.type === 'subscript' && touchesKey(t)) hit = true;
    });
    if (hit) return true;
  }
  for (const m of MUTATORS) if (a.callsNamed(m).some((c) => heldUnder(receiver(c)))) return true;
  return false;
}

/**
 * One step of what an expression holds: a name's value where it is read (for a parameter, the one expression all
 * call sites pass, evaluated where it stands), `self.x`'s one assignment, a dict literal's entry for `d["key"]`.
 */
export function heldValue(a: Analysis, e: PyNode): PyNode | undefined {
  if (e.type === 'identifier') {
    const v = a.scopes.valueAt(e.text, e);
    if (v) return unparen(v);
    if (v === null && !a.scopes.elementAt(e.text, e)) return agreedArgument(a, e);
    return undefined;
  }
  if (e.type === 'attribute' && e.child('object')?.text === 'self') {
    const cls = e.ancestor('class_definition');
    const attr = e.child('attribute')?.text;
    const values = cls && attr ? a.scopes.selfAttr(cls, attr) : [];
    return values.length === 1 ? unparen(values[0]) : undefined;
  }
  if (e.type === 'subscript') return dictEntry(a, e);
  return undefined;
}

/** The parameters whose call sites are being followed (a guard against recursion). */
const following = new Set<PyNode>();

/** The argument every call site passes for a parameter, when they all resolve to the same expression. */
function agreedArgument(a: Analysis, id: PyNode): PyNode | undefined {
  // a recursive function passes its own parameter on: stop there
  if (following.has(id)) return undefined;
  const args = parameterArguments(a, id);
  if (!args?.length) return undefined;
  following.add(id);
  try {
    const ends = args.map((x) => resolveHeld(a, x, 4) ?? x);
    return ends.every((x) => x === ends[0]) ? ends[0] : undefined;
  } finally {
    following.delete(id);
  }
}


/** Follows `heldValue` a few steps; the last expression reached (the expression itself when nothing is known). */
export function resolveHeld(a: Analysis, expr: PyNode | undefined, steps = 6): PyNode | undefined {
  let e = unparen(expr);
  for (let i = 0; e && i < steps; i++) {
    const v = heldValue(a, e);
    if (!v) return e;
    e = v;
  }
  return e;
}

/** `d["key"]` where `d` holds a dict literal (through names, parameters, `self.x`) that nothing may change: the entry. */
export function dictEntry(a: Analysis, sub: PyNode): PyNode | undefined {
  const key = stringValue(unparen(sub.child('subscript') ?? undefined));
  const base = unparen(sub.child('value') ?? undefined);
  if (key === undefined || !base) return undefined;
  // every name the dict is held under on the way, for the mutation check
  const holders: PyNode[] = [];
  let e: PyNode | undefined = base;
  for (let i = 0; e && i < 6 && (e.type === 'identifier' || e.type === 'attribute'); i++) {
    holders.push(e);
    e = heldValue(a, e);
  }
  if (e?.type !== 'dictionary' && !(e?.type === 'call' && calleeName(e) === 'dict')) return undefined;
  const holderNames = new Set(holders.map(lastName).filter((n): n is string => n !== undefined));
  const assigned = e.parent?.type === 'assignment' && e.parent.child('right') === e ? e.parent.child('left') : undefined;
  if (assigned) holderNames.add(lastName(assigned) ?? '');
  for (const name of holderNames) if (name && mayMutate(a, name, key)) return undefined;
  const v = entryOf(e, key);
  return v ? unparen(v) : undefined;
}

const ITERATION_WRAPPERS = new Set(['enumerate', 'tqdm', 'iter', 'track', 'progress_bar', 'progressbar']);
const trainedCache = new WeakMap<Analysis, Map<PyNode, TrainedLoader>>();

/**
 * `trainedLoaders` (the loader calls that loops stepping an optimizer iterate), plus those the loops reach through a
 * dict entry: `for x, y in loaders["train"]:`, `loader = self.loaders["train"]`.
 */
export function trainedLoadersWithEntries(a: Analysis): Map<PyNode, TrainedLoader> {
  let m = trainedCache.get(a);
  if (m) return m;
  m = new Map(trainedLoaders(a));
  trainedCache.set(a, m);
  for (const u of trainingLoops(a).updates) {
    if (u.loop.type !== 'for_statement') continue;
    let it = unparen(u.loop.child('right') ?? undefined);
    for (let i = 0; it?.type === 'call' && i < 3 && ITERATION_WRAPPERS.has(calleeName(it) ?? ''); i++) it = unparen(positionalArgs(it)[0]);
    if (!it || !throughEntry(a, it)) continue;
    const v = resolveHeld(a, it);
    if (v?.type === 'call' && (isDataLoaderCall(v, a) || SAMPLING_LOADERS.has(a.callee(v) ?? '')) && !m.has(v)) m.set(v, { loop: u.loop });
  }
  return m;
}

/** Whether resolving an expression reads a dict entry on the way (the cases `trainedLoaders` does not follow). */
function throughEntry(a: Analysis, expr: PyNode): boolean {
  let e: PyNode | undefined = expr;
  for (let i = 0; e && i < 6; i++) {
    if (e.type === 'subscript') return true;
    e = heldValue(a, e);
  }
  return false;
}
