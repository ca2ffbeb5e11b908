// The part of a dataset a name holds after a split: `train_ds, val_ds = random_split(ds, [n, m])`,
// `val_ds = random_split(ds, sizes)[1]`, `val_ds = Subset(ds, val_idx)`. Such a part's `.dataset` is the whole
// dataset it was taken from, not the part.
import type { PyNode } from '../parser';
import { calleeName, positionalArgs, unparen, type Analysis } from './index';

const RANDOM_SPLIT = /^torch\.utils\.data\.(dataset\.)?random_split$/;
const SUBSET = /^torch\.utils\.data\.(dataset\.)?Subset$/;

export interface SplitPart {
  /** The `random_split(...)` / `Subset(...)` call that made the part. */
  split: PyNode;
  /** Which part (0 for the first of random_split's, and for a Subset). */
  index: number;
}

/** `random_split(...)` (torch's, or an unresolved bare name) or `Subset(...)`: the kind of split a call is. */
function splitKind(a: Analysis, call: PyNode | undefined): 'split' | 'subset' | undefined {
  const c = unparen(call);
  if (c?.type !== 'call') return undefined;
  const name = calleeName(c);
  if (name !== 'random_split' && name !== 'Subset') return undefined;
  const q = a.callee(c);
  if (name === 'random_split' && (q === undefined || RANDOM_SPLIT.test(q))) return 'split';
  if (name === 'Subset' && q !== undefined && SUBSET.test(q)) return 'subset';
  return undefined;
}

/** The split part a name holds at its use `id`, or undefined when it holds anything else (or is re-bound since). */
export function splitPartOf(a: Analysis, id: PyNode): SplitPart | undefined {
  if (id.type !== 'identifier') return undefined;
  const value = unparen(a.scopes.valueAt(id.text, id) ?? undefined);
  if (value) {
    if (splitKind(a, value) === 'subset') return { split: value, index: 0 };
    // `random_split(ds, sizes)[1]`
    if (value.type === 'subscript') {
      const idx = value.childrenOf('subscript');
      if (idx.length === 1 && idx[0]!.type === 'integer' && splitKind(a, value.child('value')) === 'split') return { split: unparen(value.child('value'))!, index: Number(idx[0]!.text) };
    }
    return undefined;
  }
  const el = a.scopes.elementAt(id.text, id);
  if (!el || splitKind(a, el.source) !== 'split') return undefined;
  // `train_ds, val_ds = random_split(ds, [a, b])`: as many names as sizes, when the sizes are a literal list.
  const sizes = unparen(positionalArgs(unparen(el.source)!)[1]);
  if ((sizes?.type === 'list' || sizes?.type === 'tuple') && sizes.namedChildren.filter((c) => c.type !== 'comment').length < el.index + 1) return undefined;
  return { split: unparen(el.source)!, index: el.index };
}
