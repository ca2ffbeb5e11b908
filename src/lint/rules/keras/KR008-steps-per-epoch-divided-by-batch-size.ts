import { calleeName, keywordArg, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { parameterArguments } from '../../analysis/parameters';
import { valueBefore } from '../../analysis/values';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

/** Keywords that count batches per epoch (Keras `fit`/`evaluate`/`predict`, `OneCycleLR`, Lightning-style trainers). */
const STEP_KEYWORDS = new Set(['steps_per_epoch', 'validation_steps']);
/** `steps=` counts batches only in these calls. */
const STEPS_CALLS = /^(evaluate|predict)(_generator)?$/;

/** Wrappers that round a count and keep what it counts: `int(...)`, `np.ceil(...)`, `math.floor(...)`. */
const ROUNDING = /^(int|round|ceil|floor)$/;
/** A divisor that is the batch size by its name. */
const BATCH_NAME = /batch|(^|[^a-z])bsz?($|[^a-z])/i;

/** Keras base classes whose `__len__` is, by contract, the number of batches. */
const SEQUENCE_BASES = new Set(['keras.utils.Sequence', 'keras.utils.data_utils.Sequence', 'keras.utils.PyDataset', 'keras.utils.all_utils.Sequence']);
/** tf.data methods that keep a dataset's batching (`len` still counts batches). */
const DATASET_KEEP = new Set(['prefetch', 'cache', 'shuffle', 'map', 'with_options', 'take', 'skip']);
/** Keras loaders that return a dataset already batched (`batch_size=32` by default). */
const BATCHED_LOADERS = new Set(['image_dataset_from_directory', 'text_dataset_from_directory', 'audio_dataset_from_directory', 'timeseries_dataset_from_array']);
const FLOWS = new Set(['flow', 'flow_from_directory', 'flow_from_dataframe']);

/** What a batched data source is, for the message. */
interface Batched {
  what: string;
  /** The batch size the source was built with, when given (`batch_size=` of its constructor). */
  batchSize?: PyNode;
}

function candidateKeyword(kw: PyNode): boolean {
  const name = kw.child('name')?.text ?? '';
  if (STEP_KEYWORDS.has(name)) return true;
  const call = kw.parent?.parent;
  return name === 'steps' && call?.type === 'call' && STEPS_CALLS.test(calleeName(call) ?? '');
}

/** Classes of the file by name, once per lint. */
const classCache = new WeakMap<Analysis, Map<string, PyNode>>();
function classNamed(a: Analysis, name: string): PyNode | undefined {
  let m = classCache.get(a);
  if (!m) {
    m = new Map();
    for (const c of a.index.of('class_definition')) {
      const n = c.child('name')?.text;
      if (n && !m.has(n)) m.set(n, c);
    }
    classCache.set(a, m);
  }
  return m.get(name);
}

/** Whether a class of the file subclasses `keras.utils.Sequence` (directly or through other classes of the file). */
function isSequenceClass(a: Analysis, cls: PyNode, depth = 0): boolean {
  if (depth > 6) return false;
  for (const base of cls.child('superclasses')?.namedChildren ?? []) {
    if (SEQUENCE_BASES.has(a.qname(base) ?? '')) return true;
    const local = base.type === 'identifier' ? classNamed(a, base.text) : undefined;
    if (local && local !== cls && isSequenceClass(a, local, depth + 1)) return true;
  }
  return false;
}

/**
 * Whether the Sequence's `__len__` (of the class or a base of the file) counts batches: it divides, rounds or names the
 * batch size. A `__len__` that returns the sample count makes `len(seq) // batch_size` the right number of batches.
 */
function lenCountsBatches(a: Analysis, cls: PyNode, depth = 0): boolean {
  if (depth > 6) return true;
  const len = cls.child('body')?.namedChildren.find((f) => f.type === 'function_definition' && f.child('name')?.text === '__len__');
  if (len) return /\/|ceil|floor|batch/i.test(len.child('body')?.text ?? '');
  for (const base of cls.child('superclasses')?.namedChildren ?? []) {
    const local = base.type === 'identifier' ? classNamed(a, base.text) : undefined;
    if (local && local !== cls) return lenCountsBatches(a, local, depth + 1);
  }
  return true;
}

/** The batched data source an expression holds: a Keras Sequence of the file, a generator's flow, a batched dataset, a DataLoader. */
function batchedSource(a: Analysis, expr: PyNode | undefined, depth = 0): Batched | undefined {
  const e = unparen(expr);
  if (!e || depth > 8) return undefined;
  if (e.type === 'identifier') {
    const v = valueBefore(a, e);
    if (v) return batchedSource(a, v, depth + 1);
    if (v !== null) return undefined;
    // A parameter: what every call site of the function passes, when they all agree.
    const args = parameterArguments(a, e);
    if (!args?.length) return undefined;
    const found = args.map((x) => batchedSource(a, x, depth + 1));
    return found.every((f) => f !== undefined) ? found[0] : undefined;
  }
  if (e.type === 'attribute' && e.child('object')?.text === 'self') {
    const cls = e.ancestor('class_definition');
    const values = cls ? a.scopes.selfAttr(cls, e.child('attribute')?.text ?? '') : [];
    return values.length === 1 ? batchedSource(a, values[0], depth + 1) : undefined;
  }
  if (e.type !== 'call') return undefined;
  const fn = e.child('function');
  const name = calleeName(e) ?? '';
  const size = keywordArg(e, 'batch_size');
  if (size?.text === 'None') return undefined;
  if (fn?.type === 'identifier') {
    const cls = classNamed(a, fn.text);
    if (cls && isSequenceClass(a, cls) && lenCountsBatches(a, cls)) return { what: `a Keras Sequence (${fn.text}) whose __len__ returns the number of batches`, batchSize: size };
  }
  const q = a.callee(e) ?? '';
  if (q === 'torch.utils.data.DataLoader') return { what: 'a DataLoader', batchSize: size ?? positionalArgs(e)[1] };
  if (BATCHED_LOADERS.has(name) && q.startsWith('keras.')) return { what: `a dataset from ${name}, batched by ${size ? size.text : 32}`, batchSize: size };
  if (FLOWS.has(name) && fn?.type === 'attribute' && (name !== 'flow' || imageGenerator(a, receiver(e)))) {
    return { what: `an ImageDataGenerator iterator from ${name}, which yields batches`, batchSize: size };
  }
  if (fn?.type === 'attribute' && (name === 'batch' || name === 'padded_batch')) {
    return { what: 'a tf.data dataset after .batch()', batchSize: keywordArg(e, 'batch_size') ?? positionalArgs(e)[0] };
  }
  if (fn?.type === 'attribute' && DATASET_KEEP.has(name)) return batchedSource(a, receiver(e), depth + 1);
  return undefined;
}

/** Whether an expression holds an `ImageDataGenerator(...)`. */
function imageGenerator(a: Analysis, expr: PyNode | undefined, depth = 0): boolean {
  const e = unparen(expr);
  if (!e || depth > 4) return false;
  if (e.type === 'identifier') {
    const v = valueBefore(a, e);
    return !!v && imageGenerator(a, v, depth + 1);
  }
  return e.type === 'call' && calleeName(e) === 'ImageDataGenerator';
}

interface Division {
  /** The `len(x) / batch_size` expression. */
  node: PyNode;
  /** The `len(x)` call. */
  len: PyNode;
  source: Batched;
}

/** `len(gen) // batch_size` in the value, through rounding wrappers, `-(-a // b)` and names bound to it. */
function division(a: Analysis, value: PyNode | undefined, depth = 0): Division | undefined {
  const e = unparen(value);
  if (!e || depth > 6) return undefined;
  if (e.type === 'identifier') {
    const v = valueBefore(a, e);
    return v ? division(a, v, depth + 1) : undefined;
  }
  if (e.type === 'unary_operator') return division(a, e.child('argument'), depth + 1);
  if (e.type === 'call') {
    const args = e.child('arguments')?.namedChildren.filter((c) => c.type !== 'comment') ?? [];
    return ROUNDING.test(calleeName(e) ?? '') && args.length === 1 ? division(a, args[0], depth + 1) : undefined;
  }
  if (e.type !== 'binary_operator') return undefined;
  const op = e.children.find((c) => !c.named)?.text;
  if (op !== '/' && op !== '//') return undefined;
  const len = lenCall(e.child('left'));
  const target = len && positionalArgs(len)[0];
  if (!target) return undefined;
  const source = batchedSource(a, target);
  if (!source) return undefined;
  const right = unparen(e.child('right'));
  if (!right || !byBatchSize(right, source)) return undefined;
  return { node: e, len, source };
}

/** `len(x)`, also inside `-len(x)` and `int(len(x))`. */
function lenCall(n: PyNode | undefined): PyNode | undefined {
  let e = unparen(n);
  for (let i = 0; i < 4 && e; i++) {
    if (e.type === 'unary_operator') e = unparen(e.child('argument'));
    else if (e.type === 'call' && calleeName(e) === 'float' && e.child('function')?.type === 'identifier') e = unparen(positionalArgs(e)[0]);
    else break;
  }
  return e?.type === 'call' && e.child('function')?.text === 'len' && positionalArgs(e).length === 1 ? e : undefined;
}

/** The divisor is the batch size: named so, or the same expression the source was batched with. */
function byBatchSize(right: PyNode, source: Batched): boolean {
  const text = right.type === 'call' && ROUNDING.test(calleeName(right) ?? '') ? (positionalArgs(right)[0]?.text ?? right.text) : right.text;
  if (BATCH_NAME.test(text)) return true;
  return source.batchSize !== undefined && unparen(source.batchSize)?.text === text;
}

export const KR008: Rule = {
  meta: {
    id: 'KR008',
    name: 'steps-per-epoch-divided-by-batch-size',
    group: 'keras',
    defaultSeverity: 'error',
    summary: '`steps_per_epoch=len(gen) // batch_size` on a generator or dataset that already yields batches: each epoch sees 1/batch_size of the data.',
    why:
      '`len()` of a `keras.utils.Sequence`, of an `ImageDataGenerator` iterator (`.flow`, `.flow_from_directory`, ' +
      '`.flow_from_dataframe`), of a tf.data dataset after `.batch()` (or from `image_dataset_from_directory`) and of a ' +
      'PyTorch `DataLoader` is already the number of batches. Dividing it by the batch size again sets `steps_per_epoch` ' +
      '(or `validation_steps`) to 1/batch_size of an epoch: training sees a small slice of the data per "epoch", callbacks, ' +
      'learning-rate schedules and early stopping run far too often, and validation scores a small sample. Pass ' +
      '`len(gen)` itself, or leave the argument out (Keras then runs the whole generator). `len()` of an array or list ' +
      'of samples divided by the batch size is right and is not reported.',
    wrong:
      'from tensorflow import keras\ntrain_gen = keras.preprocessing.image.ImageDataGenerator(rescale=1 / 255).flow_from_directory("data/train", batch_size=32)\n' +
      'model.fit(train_gen, epochs=10, steps_per_epoch=len(train_gen) // 32)',
    right:
      'from tensorflow import keras\ntrain_gen = keras.preprocessing.image.ImageDataGenerator(rescale=1 / 255).flow_from_directory("data/train", batch_size=32)\n' +
      'model.fit(train_gen, epochs=10, steps_per_epoch=len(train_gen))',
    concept: 'Epochs and steps: len() of a batched generator counts batches, not samples',
    fixable: true,
  },
  nodeTypes: ['keyword_argument'],
  // Not statement-local: the value and the generator are followed through names, `self.x` and call sites.
  candidate: { reads: [], test: (kw) => candidateKeyword(kw) },
  visit(kw, ctx) {
    if (!candidateKeyword(kw)) return;
    const value = kw.child('value');
    const d = division(ctx.analysis, value);
    if (!d) return;
    const name = kw.child('name')!.text;
    const gen = d.len.text;
    // The fix rewrites the argument only when the division is written in it (not in a name bound elsewhere).
    const inPlace = value !== undefined && d.node.start >= value.start && d.node.end <= value.end;
    ctx.report({
      node: kw,
      message: `${gen} already counts batches (${positionalArgs(d.len)[0]!.text} is ${d.source.what}); dividing it by the batch size makes each epoch run 1/batch_size of the data. Use ${name}=${gen}.`,
      fixes: inPlace && value ? [{ title: `Use ${name}=${gen}`, edits: [{ start: value.start, end: value.end, newText: gen }] }] : undefined,
    });
  },
};
