import { keywordArg, positionalArgs, unparen } from '../../analysis';
import { kerasModels } from '../../analysis/keras';
import type { Rule } from '../../types';

const SEQUENCE_DATA = /gen|dataset|ds\b|_ds|loader|seq|series|window|time|stream/i;

export const KR005: Rule = {
  meta: {
    id: 'KR005',
    name: 'fit-without-shuffle',
    group: 'keras',
    defaultSeverity: 'warning',
    summary: '`model.fit(..., shuffle=False)` on ordinary (non-sequence) arrays trains on the samples in a fixed order.',
    why:
      'With `shuffle=False` every epoch sees the samples in the order they are stored, which for data sorted by class or ' +
      'source gives batches of one kind: gradients swing from one class to the next and the model ends up biased toward ' +
      'whatever came last. With `validation_split`, Keras takes the validation set from the *last* samples before any ' +
      'shuffling, so on sorted data it validates on classes the model never trained on. Shuffle the arrays once and keep ' +
      '`shuffle=True` (the default); only time-ordered data for stateful RNNs needs a fixed order.',
    wrong:
      'from tensorflow import keras\nmodel = keras.Sequential([keras.layers.Dense(32, activation="relu"), keras.layers.Dense(3, activation="softmax")])\nmodel.fit(x_train, y_train, epochs=10, shuffle=False)',
    right:
      'from tensorflow import keras\nmodel = keras.Sequential([keras.layers.Dense(32, activation="relu"), keras.layers.Dense(3, activation="softmax")])\nmodel.fit(x_train, y_train, epochs=10, shuffle=True)',
    concept: 'Training data order: shuffling makes mini-batches representative',
    fixable: true,
  },
  check(ctx) {
    for (const m of kerasModels(ctx.analysis).models) {
      // Recurrent / 1-D convolutional models usually train on ordered sequences: stay silent.
      if (!m.complete || m.layers.some((l) => l.kind === 'rnn' || l.kind === 'conv1d' || l.kind === 'pool1d' || l.kind === 'other')) continue;
      for (const fit of m.fits) {
        const sh = keywordArg(fit, 'shuffle');
        if (sh?.text !== 'False') continue;
        const x = unparen(positionalArgs(fit)[0] ?? keywordArg(fit, 'x'));
        if (!x || x.type === 'call' || SEQUENCE_DATA.test(x.text)) continue;
        const split = keywordArg(fit, 'validation_split');
        ctx.report({
          node: sh.parent ?? sh,
          message: split
            ? 'shuffle=False with validation_split: batches follow the storage order and the validation set is the last slice of it. Shuffle the data (shuffle=True, and shuffle the arrays before fit).'
            : 'shuffle=False trains every epoch on the samples in storage order, which biases the batches. Use shuffle=True (the default) for non-sequential data.',
          fixes: [{ title: 'Use shuffle=True', edits: [{ start: sh.start, end: sh.end, newText: 'True' }] }],
        });
      }
    }
  },
};
