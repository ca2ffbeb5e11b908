// Label arrays whose class count the file shows: the labels of a built-in dataset (`keras.datasets.mnist.load_data()`
// gives digits 0-9, `sklearn.datasets.load_iris()` three species), followed through names, tuple unpacking (also the
// nested `(x_train, y_train), (x_test, y_test) = mnist.load_data()`), `train_test_split`, `.target`, slicing and
// shape / dtype conversions. Anything that could change the labels (`y == 5`, `to_categorical(y)`, a function) stops
// the search: undefined.
import type { PyNode } from '../parser';
import { calleeName, keywordArg, positionalArgs, receiver, unparen, type Analysis } from './index';
import { scopeOf } from './scopes';
import { parameterArguments } from './parameters';
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

/** Labels with exactly one class per sample: one-hot rows built from class indices, or the indices themselves. */
export interface SingleLabels {
  form: 'onehot' | 'index';
  /** The number of classes, when the file shows it. */
  classes?: number;
  /** How they were made, for messages (`to_categorical`, `mnist`). */
  origin: string;
}

/** Calls and methods that keep the rows of a label array as they are. */
const KEEP_ROW_METHODS = new Set([...KEEP_METHODS, 'toarray', 'todense', 'to_numpy']);
const ONE_HOT_FNS = /^(tensorflow|keras\.ops|keras\.backend|tensorflow\.keras\.backend)\.one_hot$/;

/** An integer literal, or a name bound to one (`NUM_CLASSES = 10`). */
function intOf(a: Analysis, n: PyNode | undefined): number | undefined {
  let e = unparen(n);
  if (e?.type === 'identifier') e = unparen(valueBefore(a, e) ?? undefined);
  return e?.type === 'integer' ? Number(e.text) : undefined;
}

/**
 * The labels an expression holds when each sample has exactly one class: one-hot rows made from class indices
 * (`to_categorical(y)`, `tf.one_hot(y, 10)`, `np.eye(10)[y]`, `LabelBinarizer().fit_transform(y)`,
 * `OneHotEncoder` of one column, `pd.get_dummies(df['label'])`), or the integer labels of a known data set
 * (classLabelsOf). Followed through names, tuples, `train_test_split`, slices and dtype / container conversions.
 * Multi-label targets (`MultiLabelBinarizer`, a tag matrix) and anything unknown give undefined.
 */
export function singleLabelsOf(a: Analysis, expr: PyNode | undefined): SingleLabels | undefined {
  const hot = oneHotLabels(a, expr, 0);
  if (hot) return hot;
  const idx = classLabelsOf(a, expr);
  return idx ? { form: 'index', classes: idx.classes, origin: idx.origin } : undefined;
}

function oneHotLabels(a: Analysis, expr: PyNode | undefined, steps: number): SingleLabels | undefined {
  const e = unparen(expr);
  if (!e || steps > 8) return undefined;
  const built = oneHotBuilt(a, e);
  if (built) return built;
  if (e.type === 'identifier') {
    if (editedInPlace(a).has(e.text)) return undefined;
    const v = valueBefore(a, e);
    if (v) return oneHotLabels(a, v, steps + 1);
    const el = v === null ? elementBefore(a, e) : undefined;
    const s = unparen(el?.source);
    if (s?.type === 'tuple' || s?.type === 'expression_list') return oneHotLabels(a, s.namedChildren.filter((c) => c.type !== 'comment')[el!.index], steps + 1);
    if (s?.type === 'call' && calleeName(s) === 'train_test_split' && !keywordArg(s, 'arrays')) return oneHotLabels(a, positionalArgs(s)[Math.floor(el!.index / 2)], steps + 1);
    // `def train(model, x, y): model.fit(x, y)`: what every call site passes, when they all agree
    return el ? undefined : agreedOneHot(a, parameterArguments(a, e), steps);
  }
  // `y[:1000]` keeps the rows; `y[:, :5]` or `y[mask]` may not.
  if (e.type === 'subscript') {
    const idx = e.namedChildren.slice(1);
    return idx.length === 1 && idx[0]!.type === 'slice' ? oneHotLabels(a, e.child('value'), steps + 1) : undefined;
  }
  // `pd.get_dummies(...).values`
  if (e.type === 'attribute') return e.child('attribute')?.text === 'values' ? oneHotLabels(a, e.child('object'), steps + 1) : undefined;
  if (e.type !== 'call') return undefined;
  const q = a.callee(e);
  if (q) return KEEP_FNS.test(q) ? oneHotLabels(a, positionalArgs(e)[0], steps + 1) : undefined;
  if (e.child('function')?.type !== 'attribute' || !KEEP_ROW_METHODS.has(calleeName(e) ?? '')) return undefined;
  return oneHotLabels(a, receiver(e), steps + 1);
}

function agreedOneHot(a: Analysis, args: readonly PyNode[] | undefined, steps: number): SingleLabels | undefined {
  let found: SingleLabels | undefined;
  for (const arg of args ?? []) {
    const l = oneHotLabels(a, arg, steps + 1);
    if (!l) return undefined;
    if (found && found.classes !== l.classes) found = { ...found, classes: undefined };
    else found ??= l;
  }
  return found;
}

/** The classes of labels a one-hot constructor was given (`to_categorical(y_train)` of mnist labels). */
function classesOfIndices(a: Analysis, labels: PyNode | undefined): number | undefined {
  return labels ? classLabelsOf(a, labels)?.classes : undefined;
}

/** A call or subscript that turns class indices into one-hot rows. */
function oneHotBuilt(a: Analysis, e: PyNode): SingleLabels | undefined {
  if (e.type === 'subscript') {
    // np.eye(10)[y]: row y of the identity
    const eye = unparen(e.child('value') ?? undefined);
    const idx = e.namedChildren.slice(1);
    if (eye?.type !== 'call' || idx.length !== 1 || idx[0]!.type === 'slice' || idx[0]!.type === 'tuple') return undefined;
    if (!/^(numpy|tensorflow)\.(eye|identity)$/.test(a.callee(eye) ?? '')) return undefined;
    return { form: 'onehot', classes: intOf(a, positionalArgs(eye)[0]), origin: eye.child('function')!.text };
  }
  if (e.type !== 'call') return undefined;
  const name = calleeName(e);
  const args = positionalArgs(e);
  if (name === 'to_categorical') {
    const classes = intOf(a, args[1] ?? keywordArg(e, 'num_classes')) ?? classesOfIndices(a, args[0] ?? keywordArg(e, 'y'));
    return { form: 'onehot', classes, origin: 'to_categorical' };
  }
  if (ONE_HOT_FNS.test(a.callee(e) ?? '')) {
    const classes = intOf(a, args[1] ?? keywordArg(e, 'depth') ?? keywordArg(e, 'num_classes')) ?? classesOfIndices(a, args[0]);
    return { form: 'onehot', classes, origin: 'one_hot' };
  }
  if (name === 'label_binarize' && /^(sklearn\.preprocessing\.label_binarize)?$/.test(a.callee(e) ?? '')) {
    const classes = unparen(keywordArg(e, 'classes') ?? args[1]);
    const n = classes?.type === 'list' || classes?.type === 'tuple' ? classes.namedChildren.length : undefined;
    return { form: 'onehot', classes: n, origin: 'label_binarize' };
  }
  if (name === 'get_dummies') return dummiesOfOneColumn(a, e) ? { form: 'onehot', origin: 'get_dummies' } : undefined;
  if (name === 'fit_transform' || name === 'transform') return binarizerOutput(a, e);
  return undefined;
}

/** `LabelBinarizer().fit_transform(y)`, `enc.transform(y)` with `enc = OneHotEncoder()` of one column. */
function binarizerOutput(a: Analysis, call: PyNode): SingleLabels | undefined {
  let enc = unparen(receiver(call));
  for (let i = 0; i < 3 && enc; i++) {
    if (enc.type === 'identifier') enc = unparen(valueBefore(a, enc) ?? undefined);
    // LabelBinarizer().fit(y).transform(y)
    else if (enc.type === 'call' && calleeName(enc) === 'fit') enc = unparen(receiver(enc));
    else break;
  }
  const cls = enc?.type === 'call' ? calleeName(enc) : undefined;
  const labels = positionalArgs(call)[0];
  if (cls === 'LabelBinarizer') {
    // Two classes give one column of 0/1: then the model has one unit and this is not the mistake.
    return { form: 'onehot', classes: classesOfIndices(a, labels), origin: 'LabelBinarizer' };
  }
  if (cls === 'OneHotEncoder' && oneColumn(a, labels)) return { form: 'onehot', classes: undefined, origin: 'OneHotEncoder' };
  return undefined;
}

/** One column of a table: `df['label']`, `df.label`, `df.iloc[:, -1]`, `y.reshape(-1, 1)`, `df[['label']]`. */
function oneColumn(a: Analysis, n: PyNode | undefined, steps = 0): boolean {
  const e = unparen(n);
  if (!e || steps > 4) return false;
  if (e.type === 'identifier') {
    const v = valueBefore(a, e);
    return v ? oneColumn(a, v, steps + 1) : classLabelsOf(a, e) !== undefined;
  }
  if (e.type === 'attribute') {
    const attr = e.child('attribute')?.text ?? '';
    if (attr === 'values') return oneColumn(a, e.child('object'), steps + 1);
    return e.child('object')?.type === 'identifier' && !/^(values|T|iloc|loc|columns|index|shape)$/.test(attr);
  }
  if (e.type === 'call') {
    const m = calleeName(e);
    if (m === 'reshape') return /^\(?\s*-1\s*,\s*1\s*\)?$/.test(positionalArgs(e).map((x) => x.text).join(', '));
    if (m === 'to_numpy' || m === 'astype' || m === 'copy') return oneColumn(a, receiver(e), steps + 1);
    return classLabelsOf(a, e) !== undefined;
  }
  if (e.type !== 'subscript') return false;
  const idx = e.namedChildren.slice(1);
  const key = idx.length === 1 ? unparen(idx[0]) : undefined;
  if (key?.type === 'string') return true;
  if (key?.type === 'list') return key.namedChildren.length === 1 && key.namedChildren[0]!.type === 'string';
  // df.iloc[:, -1], data[:, 4], df.loc[:, 'label']: all rows, one column
  const pair = key?.type === 'tuple' ? key.namedChildren : idx;
  return pair.length === 2 && pair[0]!.type === 'slice' && pair[0]!.namedChildren.length === 0 && /^(-?\d+|'[^']*'|"[^"]*")$/.test(pair[1]!.text.replace(/\s/g, ''));
}

/** `pd.get_dummies(df['label'])`: one column gives one 1 per row (a whole frame gives one per column). */
function dummiesOfOneColumn(a: Analysis, call: PyNode): boolean {
  const q = a.callee(call);
  if (q ? q !== 'pandas.get_dummies' : !/^(pd\.|pandas\.)?get_dummies$/.test(call.child('function')?.text ?? '')) return false;
  if (keywordArg(call, 'columns')) return false;
  return oneColumn(a, positionalArgs(call)[0] ?? keywordArg(call, 'data'));
}
