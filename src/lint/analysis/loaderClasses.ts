// DataLoader constructions that do not spell torch's class: a DataLoader subclass of the file that keeps torch's
// arguments and defaults (`class InfiniteDataLoader(DataLoader)` with `__init__(self, *args, **kwargs)`), and a name
// bound to a choice between such classes (`loader = DataLoader if weighted else InfiniteDataLoader; loader(ds, ...)`).
import type { PyNode } from '../parser';
import { keywordArg, unparen, type Analysis } from './index';
import { isDataLoaderQname } from './runtime';

const subclassCache = new WeakMap<Analysis, Set<string>>();
const anySubclassCache = new WeakMap<Analysis, Set<string>>();

/** Code in a subclass that may order the batches itself (its own shuffle, sampler default or permutation). */
const OWN_ORDER = /shuffle|randperm|permutation|random/;

/** `__init__` absent, or taking only `*args, **kwargs` (handed on to torch's DataLoader, defaults kept). */
function keepsTorchSignature(cls: PyNode): boolean {
  for (const s of cls.child('body')?.namedChildren ?? []) {
    const f = s.type === 'decorated_definition' ? s.child('definition') : s;
    if (f?.type !== 'function_definition' || f.child('name')?.text !== '__init__') continue;
    const params = f.child('parameters')?.namedChildren ?? [];
    return params.every((p, i) => (i === 0 && p.text === 'self') || p.type === 'list_splat_pattern' || p.type === 'dictionary_splat_pattern');
  }
  return true;
}

function subclassesOf(a: Analysis, keep: (cls: PyNode) => boolean): Set<string> {
  const out = new Set<string>();
  const classes = a.index.of('class_definition');
  // a few passes reach subclasses of subclasses whatever the order of definition
  for (let pass = 0; pass < 3; pass++) {
    for (const cls of classes) {
      const name = cls.child('name')?.text;
      if (!name || out.has(name)) continue;
      const bases = cls.child('superclasses')?.namedChildren ?? [];
      const extendsLoader = bases.some((b) => isDataLoaderQname(a.qname(b)) || (b.type === 'identifier' && out.has(b.text)));
      if (extendsLoader && keep(cls)) out.add(name);
    }
  }
  return out;
}

/** Classes of the file that subclass torch's DataLoader (directly or through another such class) and keep its defaults. */
export function loaderSubclasses(a: Analysis): Set<string> {
  let out = subclassCache.get(a);
  if (!out) subclassCache.set(a, (out = subclassesOf(a, (cls) => keepsTorchSignature(cls) && !OWN_ORDER.test(cls.text))));
  return out;
}

/** Whether the call builds a DataLoader of any kind: torch's, or any subclass of it in the file (whatever its arguments). */
export function buildsAnyDataLoader(call: PyNode, a: Analysis): boolean {
  if (isDataLoaderQname(a.callee(call))) return true;
  const fn = call.child('function');
  if (fn?.type !== 'identifier' || !a.definesClass(fn.text)) return false;
  let out = anySubclassCache.get(a);
  if (!out) anySubclassCache.set(a, (out = subclassesOf(a, () => true)));
  return out.has(fn.text);
}

/** A class expression that is torch's DataLoader or such a subclass. */
function isLoaderClass(node: PyNode | undefined, a: Analysis): boolean {
  const n = unparen(node);
  if (!n) return false;
  if (n.type === 'identifier' && a.definesClass(n.text)) return loaderSubclasses(a).has(n.text);
  return isDataLoaderQname(a.qname(n));
}

/** Keywords only a DataLoader-like call takes: a cheap test before following a local name to its value. */
const LOADER_KEYWORDS = ['batch_size', 'sampler', 'num_workers', 'collate_fn', 'pin_memory'];

/**
 * The call builds a DataLoader with torch's defaults: torch's class, a subclass of the file that keeps them, or a
 * name bound to a conditional choosing between those (`loader = A if c else B`).
 */
export function constructsDataLoader(call: PyNode, a: Analysis): boolean {
  if (isDataLoaderQname(a.callee(call))) return true;
  const fn = call.child('function');
  if (fn?.type !== 'identifier') return false;
  if (a.definesClass(fn.text)) return loaderSubclasses(a).has(fn.text);
  if (!LOADER_KEYWORDS.some((k) => keywordArg(call, k))) return false;
  const v = unparen(a.scopes.valueAt(fn.text, fn) ?? undefined);
  if (v?.type !== 'conditional_expression') return false;
  const [then, , other] = v.namedChildren;
  return isLoaderClass(then, a) && isLoaderClass(other, a);
}
