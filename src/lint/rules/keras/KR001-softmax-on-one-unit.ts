import { kerasModels, mayCallKeras } from '../../analysis/keras';
import type { Rule } from '../../types';
import { replaceString } from './shared';

const MESSAGE = 'Softmax over a single unit always outputs 1.0, so the model cannot learn. Use activation="sigmoid" for one binary output (or more units for several classes).';

export const KR001: Rule = {
  meta: {
    id: 'KR001',
    name: 'softmax-on-one-unit',
    group: 'keras',
    defaultSeverity: 'error',
    summary: 'A Dense layer with one unit uses softmax, whose output is always 1.0.',
    why:
      'Softmax normalises the outputs of a layer so they sum to 1. With a single unit that output is exp(z)/exp(z) = 1 for ' +
      'every input: the prediction never changes, the loss gets no useful gradient and accuracy stays at the share of the ' +
      'positive class. For binary classification with one output unit use `sigmoid` (with `binary_crossentropy`); for ' +
      'softmax use one unit per class.',
    wrong: 'from tensorflow import keras\nmodel = keras.Sequential([keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1, activation="softmax")])',
    right: 'from tensorflow import keras\nmodel = keras.Sequential([keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1, activation="sigmoid")])',
    concept: 'Output layer: sigmoid for one binary output, softmax for mutually exclusive classes',
    fixable: true,
  },
  check(ctx) {
    const k = kerasModels(ctx.analysis);
    const reported = new Set<number>();
    // Dense(1, activation="softmax") anywhere (a model's layer or not).
    // Only a call resolving to a `Dense` can be one: the cheap name test first.
    const calls = mayCallKeras(ctx.analysis, 'Dense') ? ctx.nodesOfType('call') : [];
    for (const call of calls) {
      const layer = k.layerOf(call, call, 'list');
      if (layer.kind !== 'dense' || layer.units !== 1 || layer.activation !== 'softmax') continue;
      reported.add(call.start);
      const fix = replaceString(layer.activationNode, 'sigmoid', 'Use sigmoid');
      ctx.report({ node: layer.activationNode ?? call, message: MESSAGE, fixes: fix ? [fix] : undefined });
    }
    // Dense(1) followed by Activation("softmax") / Softmax().
    for (const m of k.models) {
      for (let i = 1; i < m.layers.length; i++) {
        const prev = m.layers[i - 1]!;
        const cur = m.layers[i]!;
        if (cur.kind !== 'activation' || cur.activation !== 'softmax' || prev.kind !== 'dense' || prev.units !== 1 || prev.activation !== null) continue;
        if (!cur.call || reported.has(cur.call.start)) continue;
        reported.add(cur.call.start);
        const fix = replaceString(cur.activationNode, 'sigmoid', 'Use sigmoid');
        ctx.report({ node: cur.call, message: MESSAGE, fixes: fix ? [fix] : undefined });
      }
    }
  },
};
