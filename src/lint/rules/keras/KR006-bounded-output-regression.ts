import { kerasModels, outputLayer } from '../../analysis/keras';
import type { Rule } from '../../types';
import { replaceString } from './shared';

const REGRESSION_LOSS = new Set(['mean_squared_error', 'mean_absolute_error', 'mean_squared_logarithmic_error', 'mean_absolute_percentage_error', 'huber', 'log_cosh']);
const CLASSIFICATION_METRIC = /acc|auc|precision|recall|f1|crossentropy/i;

export const KR006: Rule = {
  meta: {
    id: 'KR006',
    name: 'bounded-output-regression',
    group: 'keras',
    defaultSeverity: 'warning',
    summary: 'A regression output (mse/mae loss) goes through sigmoid or tanh, which bounds the predictions.',
    why:
      'Sigmoid outputs lie in (0, 1) and tanh in (-1, 1). For a regression target outside that range (prices, ' +
      'temperatures, counts) the model can never reach the target: it saturates at the bound, gradients vanish there and ' +
      'the loss plateaus. Regression outputs should be linear (no activation); scale the targets instead if you need a ' +
      'range. Not reported when the file scales targets with a MinMaxScaler or tracks classification metrics.',
    wrong:
      'from tensorflow import keras\nmodel = keras.Sequential([keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1, activation="sigmoid")])\nmodel.compile(optimizer="adam", loss="mse", metrics=["mae"])',
    right:
      'from tensorflow import keras\nmodel = keras.Sequential([keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1)])\nmodel.compile(optimizer="adam", loss="mse", metrics=["mae"])',
    concept: 'Output layer: regression needs an unbounded (linear) output',
    fixable: true,
  },
  check(ctx) {
    if (/MinMaxScaler|minmax_scale/.test(ctx.source)) return;
    for (const m of kerasModels(ctx.analysis).models) {
      const out = outputLayer(m);
      if (!out || (out.activation !== 'sigmoid' && out.activation !== 'tanh')) continue;
      // Small outputs only: a wide sigmoid output (autoencoder reconstructing [0, 1] pixels) is idiomatic.
      if (out.units === undefined || out.units > 8) continue;
      for (const { loss, metrics } of m.compiles) {
        if (!loss || !REGRESSION_LOSS.has(loss.name)) continue;
        if (metrics && CLASSIFICATION_METRIC.test(metrics.text)) continue;
        const fix = out.actLayer === out.dense ? replaceString(out.actLayer?.activationNode, 'linear', 'Use a linear output') : undefined;
        ctx.report({
          node: out.actLayer?.activationNode ?? out.actLayer?.call ?? loss.node,
          message: `A ${out.activation} output bounds the predictions to ${out.activation === 'sigmoid' ? '(0, 1)' : '(-1, 1)'} but the ${loss.name} loss is a regression objective. Use a linear output (no activation) unless the targets are scaled into that range.`,
          fixes: fix ? [fix] : undefined,
        });
      }
    }
  },
};
