// Predictions of a shuffled loader paired with data in dataset order: `test_loader = DataLoader(UCRDataset(test_x,
// test_y), shuffle=True)`, `y_pred = predict(model, test_loader)`, then `accuracy_score(test_y, y_pred)` or
// `zip(test_x, y_pred)`: each prediction meets another sample.
import { calleeName, keywordArg, positionalArgs, receiver, unparen, type Analysis } from './index';
import { argumentRole } from './argumentRoles';
import { strip } from './metricArguments';
import { scopeOf } from './scopes';
import type { PyNode } from '../parser';

export interface Pairing {
  /** The predictions' read that is paired. */
  predictions: PyNode;
  /** The data in dataset order it is paired with. */
  data: PyNode;
}

/** Calls that keep the order of the values they are handed: `np.array(preds)`, `list(preds)`, `np.argmax(p, 1)`. */
const ORDER_KEEPING = /^(array|asarray|tensor|as_tensor|from_numpy|list|concatenate|cat|hstack|vstack|stack|ravel|flatten|squeeze|argmax|round)$/;

/** An identifier under subscripts, attributes and value-keeping calls: `test_x[:, 0]` -> `test_x`. */
function rootName(a: Analysis, e: PyNode | undefined): PyNode | undefined {
  let x = strip(a, e);
  for (let i = 0; i < 6 && x; i++) {
    if (x.type === 'subscript') x = strip(a, x.child('value'));
    else if (x.type === 'attribute') x = strip(a, x.child('object'));
    else if (x.type === 'call' && ORDER_KEEPING.test(calleeName(x) ?? '') && positionalArgs(x).length >= 1) x = strip(a, positionalArgs(x)[0]);
    else break;
  }
  return x?.type === 'identifier' ? x : undefined;
}

/** The names a dataset is made of, in their order: the dataset's own name and the arrays its constructor is given. */
function datasetSources(a: Analysis, ds: PyNode): PyNode[] {
  const out = [ds];
  const value = unparen(a.scopes.valueAt(ds.text, ds) ?? undefined);
  if (value?.type !== 'call') return out;
  for (const arg of positionalArgs(value)) {
    const id = rootName(a, arg);
    if (id) out.push(id);
  }
  return out;
}

/** `for x, y in tqdm(enumerate(loader))`: the loop's iterable once enumerate / tqdm are peeled. */
function iterated(loop: PyNode): PyNode | undefined {
  let it = unparen(loop.child('right'));
  while (it?.type === 'call' && /^(enumerate|tqdm|iter)$/.test(calleeName(it) ?? '') && it.child('function')?.type === 'identifier') it = unparen(positionalArgs(it)[0]);
  return it;
}

/**
 * The prediction names the loader feeds: the names, read as predictions, bound to a call handed the loader
 * (`y_pred, labels = get_all_preds(model, test_loader)`), and lists named as predictions that a loop over the loader
 * appends to or extends.
 */
function predictionsOf(a: Analysis, loader: PyNode): PyNode[] {
  const out: PyNode[] = [];
  for (const use of a.identifiersNamed(loader.text)) {
    if (use.start < loader.end || scopeOf(use) !== scopeOf(loader)) continue;
    const p = use.parent;
    if (p?.type === 'argument_list') {
      const asg = p.parent?.parent;
      if (asg?.type !== 'assignment' || asg.child('right') !== p.parent) continue;
      const left = asg.child('left');
      const names = left?.type === 'identifier' ? [left] : (left?.namedChildren.filter((c) => c.type === 'identifier') ?? []);
      out.push(...names.filter((n) => argumentRole(a, n) === 'predicted'));
    } else {
      const loop = use.ancestor('for_statement');
      if (!loop || iterated(loop) !== use) continue;
      loop.child('body')?.walk((c) => {
        if (c.type !== 'call' || !/^(append|extend)$/.test(calleeName(c) ?? '')) return;
        const r = receiver(c);
        if (r?.type === 'identifier' && argumentRole(a, r) === 'predicted') out.push(r);
      });
    }
  }
  return out;
}

/** Calls that show or measure their arguments one by one, pairing nothing. */
const NOT_PAIRING = /^(print|len|str|repr|format|type|isinstance|shape|info|debug|write|log)$/;

/** A name bound (assigned, unpacked, a loop target) between two reads of it, in the scope of the first. */
function reboundBetween(a: Analysis, first: PyNode, later: PyNode): boolean {
  return a.identifiersNamed(first.text).some((id) => {
    if (id.start <= first.end || id.start >= later.start || scopeOf(id) !== scopeOf(first)) return false;
    let t: PyNode = id;
    while (t.parent && (t.parent.type === 'pattern_list' || t.parent.type === 'tuple_pattern' || t.parent.type === 'list_pattern')) t = t.parent;
    const p = t.parent;
    return (p?.type === 'assignment' || p?.type === 'augmented_assignment' || p?.type === 'for_statement') && p.child('left') === t;
  });
}

/** The same binding of a name at two reads (not re-assigned in between). */
function sameBinding(a: Analysis, x: PyNode, y: PyNode): boolean {
  if (reboundBetween(a, x, y) || a.scopes.valueAt(x.text, x) !== a.scopes.valueAt(y.text, y)) return false;
  const ex = a.scopes.elementAt(x.text, x);
  const ey = a.scopes.elementAt(y.text, y);
  return ex?.source === ey?.source && ex?.index === ey?.index;
}

/** The other elements of the call, tuple, list or dict a read sits in, once value-keeping wrappers are climbed. */
function siblings(a: Analysis, read: PyNode): PyNode[] {
  let x = read;
  for (let i = 0; i < 6; i++) {
    const p = x.parent;
    if (!p) return [];
    if ((p.type === 'subscript' && p.child('value') === x) || (p.type === 'attribute' && p.child('object') === x)) x = p;
    else if (p.type === 'call' && p.child('function') === x) x = p;
    else if (p.type === 'argument_list' && p.parent?.type === 'call' && ORDER_KEEPING.test(calleeName(p.parent) ?? '') && positionalArgs(p.parent)[0] === x) x = p.parent;
    else break;
  }
  let holder = x.parent;
  let element = x;
  if (holder?.type === 'pair' && holder.child('value') === x) {
    element = holder;
    holder = holder.parent;
    if (holder?.type !== 'dictionary') return [];
    return holder.namedChildren.filter((c) => c !== element && c.type === 'pair').map((c) => c.child('value')!).filter(Boolean);
  }
  if (holder?.type === 'keyword_argument') {
    element = holder;
    holder = holder.parent;
  }
  if (holder?.type !== 'argument_list' && holder?.type !== 'tuple' && holder?.type !== 'list') return [];
  if (holder.type === 'argument_list' && NOT_PAIRING.test(calleeName(holder.parent!) ?? '')) return [];
  return holder.namedChildren.filter((c) => c !== element).map((c) => (c.type === 'keyword_argument' ? c.child('value')! : c)).filter(Boolean);
}

/**
 * `test_loader = DataLoader(ds, shuffle=True)` (the call): the first place its predictions are paired with the data
 * the dataset was built from (the same binding of it), in dataset order.
 */
export function shuffledPairing(a: Analysis, loaderCall: PyNode): Pairing | undefined {
  const asg = loaderCall.parent;
  const loader = asg?.type === 'assignment' && asg.child('right') === loaderCall ? asg.child('left') : undefined;
  const ds = unparen(positionalArgs(loaderCall)[0] ?? keywordArg(loaderCall, 'dataset'));
  if (loader?.type !== 'identifier' || ds?.type !== 'identifier') return undefined;
  const sources = datasetSources(a, ds);
  for (const pred of predictionsOf(a, loader)) {
    for (const read of a.identifiersNamed(pred.text)) {
      if (read.start <= pred.end || scopeOf(read) !== scopeOf(pred)) continue;
      for (const sib of siblings(a, read)) {
        const id = rootName(a, sib);
        const source = id && sources.find((s) => s.text === id.text);
        if (source && sameBinding(a, source, id)) return { predictions: read, data: sib };
      }
    }
  }
  return undefined;
}
