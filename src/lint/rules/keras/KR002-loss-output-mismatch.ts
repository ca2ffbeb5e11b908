import { calleeName, keywordArg, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { singleLabelsOf, type SingleLabels } from '../../analysis/classLabels';
import { kerasModels, outputLayer, type KerasModel, type KLoss, type OutputLayer } from '../../analysis/keras';
import { tfActivations } from '../../analysis/tfActivations';
import { valueBefore } from '../../analysis/values';
import { heldString } from '../../analysis/stringValues';
import { stringValue } from '../../analysis/runtime';
import type { PyNode } from '../../parser';
import type { RawFix, Rule } from '../../types';
import { CROSSENTROPY, replaceString } from './shared';

const PROBABILITY = new Set(['softmax', 'sigmoid', 'hard_sigmoid']);

export const KR002: Rule = {
  meta: {
    id: 'KR002',
    name: 'loss-output-mismatch',
    group: 'keras',
    defaultSeverity: 'error',
    summary: 'The loss does not match the output layer (binary crossentropy on a multi-unit softmax, categorical crossentropy on one unit or sigmoid outputs, a crossentropy on ReLU/tanh outputs).',
    why:
      '`binary_crossentropy` treats every output unit as an independent yes/no probability; on a softmax over several ' +
      'classes it optimises the wrong objective and Keras then reports *binary* accuracy, which looks far better than the ' +
      'real accuracy. `categorical_crossentropy` (and the sparse variant) needs one softmax unit per class: with a single ' +
      'unit the loss is constant (0 on a one-unit softmax) and nothing is learned, and on sigmoid outputs the probabilities do not form one ' +
      'distribution. Pair softmax with categorical crossentropy and a one-unit sigmoid with binary crossentropy. Outside a ' +
      'model the same holds for a categorical loss called on a tensor that went through `tf.sigmoid` (followed through ' +
      'names, tuple returns of the file\'s functions and parameters). Several sigmoid units with `binary_crossentropy` are right ' +
      'for multi-label targets, but a warning is given when `fit` gets labels known to be single-label: one-hot rows made from ' +
      'class indices (`to_categorical`, `np.eye(K)[y]`, `tf.one_hot`, `LabelBinarizer`, `pd.get_dummies` of one column) or the ' +
      'labels of a known data set (`mnist.load_data()`, `load_iris()`): the classes are exclusive, so use softmax with ' +
      'categorical_crossentropy (sparse_categorical_crossentropy for class indices). An activation or loss given by name ' +
      '(`Dense(n, activation=self.activation)`, `compile(loss=self.loss)`) is followed through `self.x = x` and the call ' +
      'sites to the constructor\'s default when nothing in the file passes another value.',
    wrong:
      'from tensorflow import keras\nmodel = keras.Sequential([keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1, activation="sigmoid")])\nmodel.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])',
    right:
      'from tensorflow import keras\nmodel = keras.Sequential([keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1, activation="sigmoid")])\nmodel.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])',
    concept: 'Loss functions: binary vs categorical cross-entropy and the output layer they need',
    fixable: true,
  },
  check(ctx) {
    for (const m of kerasModels(ctx.analysis).models) {
      const found = outputLayer(m);
      const out = found && withHeldActivation(ctx.analysis, found);
      if (!out || out.activation === undefined) continue;
      for (const compile of m.compiles) {
        const loss = compile.loss ?? heldLoss(ctx.analysis, compile.call);
        if (!loss) continue;
        const { activation: act } = out;
        const units = out.units ?? out.dense?.namedUnits;
        const categorical = loss.name === 'categorical_crossentropy' || loss.name === 'sparse_categorical_crossentropy';
        // A one-unit softmax is KR001's bug; the loss is wrong too only when it is categorical (fixing the layer alone leaves it at 0).
        if (act === 'softmax' && units === 1 && !categorical) continue;
        let message: string | undefined;
        let fix: RawFix | undefined;
        let severity: 'warning' | undefined;
        // A Dense softmax whose width is not a literal (`len(classes)`) has several units in practice: one unit is KR001's bug.
        const several = units === undefined ? out.dense !== undefined : units > 1;
        if (categorical && units === 1 && act === 'softmax') {
          message = `${loss.name} on a one-unit softmax is identically 0 (the softmax is always 1), so nothing is learned. For two classes use one sigmoid unit with binary_crossentropy, or two softmax units.`;
        } else if (loss.name === 'binary_crossentropy' && act === 'softmax' && several) {
          message = `binary_crossentropy on a softmax over ${units ?? 'several'} units optimises independent yes/no outputs and reports a misleading binary accuracy. Use categorical_crossentropy (or sparse_categorical_crossentropy for integer labels).`;
        } else if (categorical && units === 1 && act !== 'softmax') {
          message = `${loss.name} on a single output unit cannot learn (one class only). Use binary_crossentropy with a sigmoid output, or one softmax unit per class.`;
          if (act === 'sigmoid' && loss.form === 'string') fix = replaceString(loss.node, 'binary_crossentropy', 'Use binary_crossentropy');
        } else if (loss.name === 'categorical_crossentropy' && act === 'sigmoid') {
          message = 'categorical_crossentropy expects a softmax distribution but the output layer uses sigmoid. Use softmax for single-label classes, or binary_crossentropy for multi-label outputs.';
        } else if (loss.name === 'sparse_categorical_crossentropy' && act === 'sigmoid') {
          // Integer labels name one class per sample: single-label, so the outputs must be one softmax distribution.
          message = 'sparse_categorical_crossentropy expects a softmax distribution over the classes but the output layer uses sigmoid (independent per-unit probabilities that do not sum to 1). Use a softmax output.';
          if (out.actLayer === out.dense) fix = replaceString(out.actLayer?.activationNode, 'softmax', 'Use softmax');
        } else if (loss.name === 'binary_crossentropy' && independentOutputs(act, loss) && out.dense) {
          // Several sigmoid units + BCE is right for multi-label targets: only labels known to be single-label count.
          const found = singleLabelFit(ctx.analysis, m, units);
          if (found) {
            ({ message, fix } = singleLabelProblem(out, loss, found));
            severity = 'warning';
          }
        } else if (CROSSENTROPY.has(loss.name) && loss.fromLogits === false && act && !PROBABILITY.has(act)) {
          const want = loss.name === 'binary_crossentropy' ? 'sigmoid' : 'softmax';
          message = `${loss.name} expects probabilities but the output layer uses ${act}, whose outputs are not probabilities (zeros or negatives give NaN / infinite losses). Use a ${want} output.`;
          if (out.actLayer === out.dense) fix = replaceString(out.actLayer?.activationNode, want, `Use ${want}`);
        }
        if (message) ctx.report({ node: loss.node, message, fixes: fix ? [fix] : undefined, severity });
      }
    }
    for (const { node, message } of sigmoidTensorsScoredAsClasses(ctx.analysis, ctx.source)) ctx.report({ node, message });
  },
};

/**
 * An output layer whose activation is a name (`Dense(n, activation=self.activation)`): the string it holds, through
 * `self.x = x` and call sites to the parameter's default when nothing in the file passes it.
 */
function withHeldActivation(a: Analysis, out: OutputLayer): OutputLayer {
  if (out.activation !== undefined || !out.actLayer?.activationNode) return out;
  const held = heldString(a, out.actLayer.activationNode);
  if (!held) return out;
  const act = held.value === 'linear' || held.value === '' ? null : held.value.toLowerCase();
  return { ...out, activation: act };
}

/** A crossentropy named by a string the compile's `loss=` holds through names, `self.loss` and parameter defaults. */
function heldLoss(a: Analysis, compile: PyNode): KLoss | undefined {
  const arg = keywordArg(compile, 'loss');
  if (!arg || stringValue(arg) !== undefined) return undefined;
  const held = heldString(a, arg);
  return held && CROSSENTROPY.has(held.value) ? { name: held.value, fromLogits: false, form: 'string', node: arg } : undefined;
}

/** Outputs scored one unit at a time: sigmoid probabilities, or linear logits with from_logits=True. */
function independentOutputs(act: string | null | undefined, loss: KLoss): boolean {
  return (act === 'sigmoid' && loss.fromLogits === false) || (act === null && loss.fromLogits === true);
}

interface SingleLabelFit {
  y: PyNode;
  labels: SingleLabels;
  classes: number;
}

/** A fit of the model on single-label targets of more than two classes (one unit per class). */
function singleLabelFit(a: Analysis, m: KerasModel, units: number | undefined): SingleLabelFit | undefined {
  if (units !== undefined && units <= 2) return undefined;
  for (const fit of m.fits) {
    for (const y of fitTargets(a, fit)) {
      const labels = singleLabelsOf(a, y);
      const classes = units ?? labels?.classes;
      if (labels && classes !== undefined && classes > 2) return { y, labels, classes };
    }
  }
  return undefined;
}

/**
 * The targets a `fit` call trains on: its `y`, or the labels of the generator it is given (`datagen.flow(x, y)`,
 * `tf.data.Dataset.from_tensor_slices((x, y)).shuffle(n).batch(32)`); then its `validation_data=(x_val, y_val)`.
 */
function fitTargets(a: Analysis, fit: PyNode): PyNode[] {
  const out: PyNode[] = [];
  const y = keywordArg(fit, 'y') ?? positionalArgs(fit)[1];
  const train = y ?? generatorLabels(a, keywordArg(fit, 'x') ?? positionalArgs(fit)[0]);
  if (train) out.push(train);
  const val = pairElement(a, keywordArg(fit, 'validation_data'), 0);
  if (val) out.push(val);
  return out;
}

/** Dataset methods that keep which label goes with which sample. */
const KEEP_PAIRS = new Set(['batch', 'shuffle', 'prefetch', 'repeat', 'cache', 'take', 'skip', 'unbatch']);

function generatorLabels(a: Analysis, x: PyNode | undefined): PyNode | undefined {
  let e = unparen(x);
  for (let i = 0; i < 8 && e; i++) {
    if (e.type === 'identifier') e = unparen(valueBefore(a, e) ?? undefined);
    else if (e.type === 'call' && KEEP_PAIRS.has(calleeName(e) ?? '') && e.child('function')?.type === 'attribute') e = unparen(receiver(e));
    else break;
  }
  if (e?.type !== 'call') return undefined;
  const name = calleeName(e);
  if (name === 'flow') return keywordArg(e, 'y') ?? positionalArgs(e)[1];
  return name === 'from_tensor_slices' ? pairElement(a, positionalArgs(e)[0], 0) : undefined;
}

/** The second element of a literal pair `(x, y)` (or a name bound to one). */
function pairElement(a: Analysis, n: PyNode | undefined, depth: number): PyNode | undefined {
  const e = unparen(n);
  if (e?.type === 'identifier' && depth < 3) return pairElement(a, valueBefore(a, e) ?? undefined, depth + 1);
  const items = e?.type === 'tuple' || e?.type === 'list' ? e.namedChildren.filter((c) => c.type !== 'comment') : [];
  return items.length === 2 ? items[1] : undefined;
}

function singleLabelProblem(out: OutputLayer, loss: KLoss, f: SingleLabelFit): { message: string; fix?: RawFix } {
  const want = f.labels.form === 'onehot' ? 'categorical_crossentropy' : 'sparse_categorical_crossentropy';
  const kind = f.labels.form === 'onehot' ? 'one-hot rows' : 'class indices';
  const sigmoid = out.activation === 'sigmoid';
  const what = sigmoid ? `${f.classes} sigmoid outputs with binary_crossentropy` : `${f.classes} logits with binary_crossentropy(from_logits=True)`;
  const todo = sigmoid ? `Use a softmax output with ${want}` : `Use ${want}(from_logits=True)`;
  const message =
    `${shortText(f.y)} holds single-label ${kind} (${f.labels.origin}: one class per sample), but ${what} treat the classes as ` +
    `independent yes/no questions and "accuracy" becomes per-unit binary accuracy (high even for a poor model). ${todo}.`;
  return { message, fix: sigmoid ? softmaxFix(out, loss, want) : undefined };
}

/** `activation='sigmoid'` -> 'softmax' and `loss='binary_crossentropy'` -> the categorical loss, both literals written in place. */
function softmaxFix(out: OutputLayer, loss: KLoss, want: string): RawFix | undefined {
  if (loss.form !== 'string') return undefined;
  // The loss string must be the compile's own argument (not a shared constant or parameter default).
  const arg = loss.node.parent?.type === 'keyword_argument' ? loss.node.parent.parent : loss.node.parent;
  if (arg?.type !== 'argument_list' || arg.parent?.type !== 'call' || calleeName(arg.parent) !== 'compile') return undefined;
  const act = replaceString(out.actLayer?.activationNode, 'softmax', '');
  const lossFix = replaceString(loss.node, want, '');
  if (!act || !lossFix) return undefined;
  return { title: `Use softmax with ${want}`, edits: [...act.edits, ...lossFix.edits] };
}

const CATEGORICAL = new Set(['categorical_crossentropy', 'sparse_categorical_crossentropy']);

/**
 * Outside a model: a categorical loss called on a tensor that went through a sigmoid (`p = tf.sigmoid(z)` ... in a
 * helper whose return is unpacked ... `sparse_categorical_crossentropy(y, p)`).
 */
function* sigmoidTensorsScoredAsClasses(a: Analysis, source: string): Generator<{ node: PyNode; message: string }> {
  const k = kerasModels(a);
  for (const { call, loss, pred } of k.lossCalls) {
    if (!CATEGORICAL.has(loss.name) || k.modelOfOutput(pred)) continue;
    const act = tfActivations(a).of(pred);
    if (act?.kind !== 'sigmoid') continue;
    const line = source.slice(0, act.site.start).split('\n').length;
    yield {
      node: call,
      message: `${loss.name} expects a softmax distribution over the classes but ${shortText(pred)} comes from a sigmoid (line ${line}): independent per-class probabilities that do not sum to 1. Apply softmax instead, or use binary_crossentropy for multi-label targets.`,
    };
  }
}

function shortText(n: PyNode): string {
  const t = n.text.replace(/\s+/g, ' ');
  return t.length > 30 ? `${t.slice(0, 27)}...` : t;
}
