import { kerasModels, outputLayer } from '../../analysis/keras';
import { tfActivations } from '../../analysis/tfActivations';
import type { Analysis } from '../../analysis';
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
      'unit the loss is constant and nothing is learned, and on sigmoid outputs the probabilities do not form one ' +
      'distribution. Pair softmax with categorical crossentropy and a one-unit sigmoid with binary crossentropy. Outside a ' +
      'model the same holds for a categorical loss called on a tensor that went through `tf.sigmoid` (followed through ' +
      'names, tuple returns of the file\'s functions and parameters).',
    wrong:
      'from tensorflow import keras\nmodel = keras.Sequential([keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1, activation="sigmoid")])\nmodel.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])',
    right:
      'from tensorflow import keras\nmodel = keras.Sequential([keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1, activation="sigmoid")])\nmodel.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])',
    concept: 'Loss functions: binary vs categorical cross-entropy and the output layer they need',
    fixable: true,
  },
  check(ctx) {
    for (const m of kerasModels(ctx.analysis).models) {
      const out = outputLayer(m);
      if (!out || out.activation === undefined) continue;
      for (const { loss } of m.compiles) {
        if (!loss) continue;
        const { activation: act } = out;
        const units = out.units ?? out.dense?.namedUnits;
        if (act === 'softmax' && units === 1) continue; // KR001
        let message: string | undefined;
        let fix: RawFix | undefined;
        // A Dense softmax whose width is not a literal (`len(classes)`) has several units in practice: one unit is KR001's bug.
        const several = units === undefined ? out.dense !== undefined : units > 1;
        if (loss.name === 'binary_crossentropy' && act === 'softmax' && several) {
          message = `binary_crossentropy on a softmax over ${units ?? 'several'} units optimises independent yes/no outputs and reports a misleading binary accuracy. Use categorical_crossentropy (or sparse_categorical_crossentropy for integer labels).`;
        } else if ((loss.name === 'categorical_crossentropy' || loss.name === 'sparse_categorical_crossentropy') && units === 1 && act !== 'softmax') {
          message = `${loss.name} on a single output unit cannot learn (one class only). Use binary_crossentropy with a sigmoid output, or one softmax unit per class.`;
          if (act === 'sigmoid' && loss.form === 'string') fix = replaceString(loss.node, 'binary_crossentropy', 'Use binary_crossentropy');
        } else if (loss.name === 'categorical_crossentropy' && act === 'sigmoid') {
          message = 'categorical_crossentropy expects a softmax distribution but the output layer uses sigmoid. Use softmax for single-label classes, or binary_crossentropy for multi-label outputs.';
        } else if (loss.name === 'sparse_categorical_crossentropy' && act === 'sigmoid') {
          // Integer labels name one class per sample: single-label, so the outputs must be one softmax distribution.
          message = 'sparse_categorical_crossentropy expects a softmax distribution over the classes but the output layer uses sigmoid (independent per-unit probabilities that do not sum to 1). Use a softmax output.';
          if (out.actLayer === out.dense) fix = replaceString(out.actLayer?.activationNode, 'softmax', 'Use softmax');
        } else if (CROSSENTROPY.has(loss.name) && loss.fromLogits === false && act && !PROBABILITY.has(act)) {
          const want = loss.name === 'binary_crossentropy' ? 'sigmoid' : 'softmax';
          message = `${loss.name} expects probabilities but the output layer uses ${act}, whose outputs are not probabilities (zeros or negatives give NaN / infinite losses). Use a ${want} output.`;
          if (out.actLayer === out.dense) fix = replaceString(out.actLayer?.activationNode, want, `Use ${want}`);
        }
        if (message) ctx.report({ node: loss.node, message, fixes: fix ? [fix] : undefined });
      }
    }
    for (const { node, message } of sigmoidTensorsScoredAsClasses(ctx.analysis, ctx.source)) ctx.report({ node, message });
  },
};

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
