// Label arrays whose class count the file shows: the labels of a built-in dataset (`keras.datasets.mnist.load_data()`
// gives digits 0-9, `sklearn.datasets.load_iris()` three species), followed through names, tuple unpacking (also the
// nested `(x_train, y_train), (x_test, y_test) = mnist.load_data()`), `train_test_split`, `.target`, slicing and
// shape / dtype conversions. Anything that could change the labels (`y == 5`, `to_categorical(y)`, a function) stops
// the search: undefined.
import type { PyNode } from '../parser';
import { calleeName, keywordArg, positionalArgs, receiver, unparen, type Analysis } from './index';
import { scopeOf } from './scopes';
import { elementBefore, valueBefore } from './values';

export interface ClassLabels {
  classes: number;
  /** The dataset, for messages (`mnist`, `load_iris()`). */
  origin: string;
}

/** Keras datasets whose `load_data()` returns `(x_train, y_train), (x_test, y_test)` with integer class labels. */
const KERAS_DATASETS = new Map([['mnist', 10], ['fashion_mnist', 10], ['cifar10', 10], ['cifar100', 100]]);
/** scikit-learn loaders of classification data sets (a Bunch with `.target`, or `(X, y)` with return_X_y=True). */
const SKLEARN_LOADERS = new Map([['load_iris', 3], ['load_digits', 10], ['load_wine', 3]]);

/** Methods and functions that keep which class each label names. */
const KEEP_METHODS = new Set(['astype', 'reshape', 'ravel', 'flatten', 'squeeze', 'copy']);
const KEEP_FNS = /^(numpy\.(array|asarray|squeeze|ravel|copy)|tensorflow\.(convert_to_tensor|constant|squeeze|reshape))$/;

function kerasDataset(a: Analysis, call: PyNode): ClassLabels | undefined {
  const m = /^(?:tensorflow\.)?keras\.datasets\.(\w+)\.load_data$/.exec(a.callee(call) ?? snippetDataset(a, call));
  const classes = m ? KERAS_DATASETS.get(m[1]!) : undefined;
  if (!classes) return undefined;
  const coarse = m![1] === 'cifar100' && /coarse/.test(keywordArg(call, 'label_mode')?.text ?? '');
  return { classes: coarse ? 20 : classes, origin: m![1]! };
}

/** `mnist.load_data()` in a snippet that leaves out `from keras.datasets import mnist` (the name bound nowhere). */
function snippetDataset(a: Analysis, call: PyNode): string {
  const r = receiver(call);
  const known = r?.type === 'identifier' && KERAS_DATASETS.has(r.text) && !a.imports.wildcards.length && !a.scopes.isBoundAnywhere(r.text);
  return known ? `keras.datasets.${r.text}.load_data` : '';
}

function sklearnLoader(a: Analysis, call: PyNode): ClassLabels | undefined {
  const m = /^sklearn\.datasets\.(\w+)$/.exec(a.callee(call) ?? '');
  let classes = m ? SKLEARN_LOADERS.get(m[1]!) : undefined;
  if (!classes) return undefined;
  const n = keywordArg(call, 'n_class');
  if (n) classes = n.type === 'integer' ? Number(n.text) : undefined;
  return classes && classes > 2 ? { classes, origin: `${m![1]}()` } : undefined;
}

/** The labels an expression holds, when they come from a data set with a known number of classes. */
export function classLabelsOf(a: Analysis, expr: PyNode | undefined, steps = 0): ClassLabels | undefined {
  const e = unparen(expr);
  if (!e || steps > 8) return undefined;
  if (e.type === 'identifier') return labelsOfName(a, e, steps);
  // `y[:1000]` keeps the classes; `y[mask]` may select two of them.
  if (e.type === 'subscript') return e.namedChildren.slice(1).every((i) => i.type === 'slice') ? classLabelsOf(a, e.child('value'), steps + 1) : undefined;
  if (e.type === 'attribute') {
    // `load_iris().target`, `iris = load_iris()` ... `iris.target`
    if (e.child('attribute')?.text !== 'target') return undefined;
    let obj = unparen(e.child('object'));
    if (obj?.type === 'identifier') obj = unparen(valueBefore(a, obj) ?? undefined);
    return obj?.type === 'call' && !keywordArg(obj, 'return_X_y') ? sklearnLoader(a, obj) : undefined;
  }
  if (e.type !== 'call') return undefined;
  const q = a.callee(e);
  if (q) return KEEP_FNS.test(q) ? classLabelsOf(a, positionalArgs(e)[0], steps + 1) : undefined;
  if (e.child('function')?.type !== 'attribute' || !KEEP_METHODS.has(calleeName(e) ?? '')) return undefined;
  return classLabelsOf(a, receiver(e), steps + 1);
}

const edited = new WeakMap<Analysis, Set<string>>();
/** Names whose arrays the file changes in place (`y[y > 0] = 1`, `y -= 1`): their labels may be other classes. */
function editedInPlace(a: Analysis): Set<string> {
  let out = edited.get(a);
  if (out) return out;
  out = new Set();
  for (const n of [...a.index.of('assignment'), ...a.index.of('augmented_assignment')]) {
    const left = n.child('left');
    const target = n.type === 'augmented_assignment' ? left : left?.type === 'subscript' ? unparen(left.child('value')) : undefined;
    if (target?.type === 'identifier') out.add(target.text);
  }
  edited.set(a, out);
  return out;
}

function labelsOfName(a: Analysis, id: PyNode, steps: number): ClassLabels | undefined {
  if (editedInPlace(a).has(id.text)) return undefined;
  const v = valueBefore(a, id);
  if (v) return classLabelsOf(a, v, steps + 1);
  if (v === undefined) return undefined;
  const el = elementBefore(a, id);
  if (el) return labelsOfElement(a, el.source, el.index, steps);
  return nestedKerasLabels(a, id);
}

/** Element `index` of an unpacked value: `X, y = load_iris(return_X_y=True)`, `x, y = train` (a load_data pair), `train_test_split`. */
function labelsOfElement(a: Analysis, source: PyNode, index: number, steps: number): ClassLabels | undefined {
  const s = unparen(source);
  if (s?.type === 'tuple' || s?.type === 'expression_list') return classLabelsOf(a, s.namedChildren.filter((c) => c.type !== 'comment')[index], steps + 1);
  if (s?.type === 'identifier' && index === 1) {
    // `train, test = mnist.load_data()` then `x, y = train`
    const el = valueBefore(a, s) === null ? elementBefore(a, s) : undefined;
    const src = unparen(el?.source);
    return src?.type === 'call' && el!.index <= 1 ? kerasDataset(a, src) : undefined;
  }
  if (s?.type !== 'call') return undefined;
  if (calleeName(s) === 'train_test_split') {
    // X_train, X_test, y_train, y_test = train_test_split(X, y, ...): element i splits array i // 2
    if (keywordArg(s, 'arrays')) return undefined;
    return classLabelsOf(a, positionalArgs(s)[Math.floor(index / 2)], steps + 1);
  }
  return index === 1 && keywordArg(s, 'return_X_y')?.text === 'True' ? sklearnLoader(a, s) : undefined;
}

/** `(x_train, y_train), (x_test, y_test) = mnist.load_data()` earlier in the same function (or module) as the read. */
function nestedKerasLabels(a: Analysis, id: PyNode): ClassLabels | undefined {
  let found: ClassLabels | undefined;
  for (const c of a.callsNamed('load_data')) {
    if (c.start > id.start || scopeOf(c) !== scopeOf(id)) continue;
    const asg = c.parent;
    const left = asg?.type === 'assignment' && asg.child('right') === c ? asg.child('left') : undefined;
    const pairs = left?.namedChildren.filter((p) => p.type === 'tuple_pattern' || p.type === 'tuple' || p.type === 'pattern_list') ?? [];
    const binds = pairs.some((p) => p.namedChildren[1]?.type === 'identifier' && p.namedChildren[1].text === id.text);
    // A later unpacking of the same name from another call wins: take the last one before the read.
    if (left) found = binds ? kerasDataset(a, c) : left.text.includes(id.text) ? undefined : found;
  }
  return found;
}
