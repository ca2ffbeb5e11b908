import { keywordArg, unparen, type Analysis } from '../../analysis';
import { kerasModels, type KerasModel } from '../../analysis/keras';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

// In a custom training loop, `model(x)` inside `tf.GradientTape()` without `training=True` runs Dropout and
// BatchNormalization in inference mode: the model trains without its regularisation and BN never learns statistics.

/** Whether the model holds a layer that behaves differently in training: Dropout, BatchNormalization, noise. */
function hasTrainingLayers(a: Analysis, m: KerasModel): boolean | undefined {
  const k = kerasModels(a);
  if (m.node.type === 'class_definition') {
    // A subclassed model: the layers stored on self anywhere in the class.
    for (const attr of a.scopes.selfAttrNames(m.node)) {
      for (const v of a.scopes.selfAttr(m.node, attr)) {
        const l = k.layerOf(v, v, 'functional');
        if (l.kind === 'dropout' || l.kind === 'batchnorm') return true;
      }
    }
    return undefined;
  }
  if (m.layers.some((l) => l.kind === 'dropout' || l.kind === 'batchnorm')) return true;
  return m.complete ? false : undefined;
}

function isTape(a: Analysis, w: PyNode): boolean {
  const clause = w.children.find((c) => c.type === 'with_clause');
  return (
    clause?.namedChildren.some((item) => {
      let e = item.namedChildren[0];
      if (e?.type === 'as_pattern') e = e.namedChildren[0];
      const q = e?.type === 'call' ? a.callee(e) : undefined;
      return q === 'tensorflow.GradientTape' || q === 'tensorflow.autodiff.GradientTape';
    }) ?? false
  );
}

export const KR007: Rule = {
  meta: {
    id: 'KR007',
    name: 'tape-forward-without-training',
    group: 'keras',
    defaultSeverity: 'warning',
    summary: 'A model with Dropout or BatchNormalization is called in a GradientTape without `training=True`: it trains in inference mode.',
    why:
      '`model.fit` sets the training flag for you; a custom loop does not. Called as `model(x)` inside `tf.GradientTape()`, ' +
      'Keras layers get `training=None`, which means inference: Dropout drops nothing and BatchNormalization normalises with ' +
      'its moving statistics and never updates them. The model trains without its regularisation and evaluates with ' +
      'statistics it never learned, so it overfits or behaves differently at test time. Pass `training=True` in the ' +
      'training step (and `training=False` when evaluating).',
    wrong:
      'import tensorflow as tf\nmodel = tf.keras.Sequential([tf.keras.layers.Dense(64, activation="relu"), tf.keras.layers.Dropout(0.5), tf.keras.layers.Dense(10)])\nwith tf.GradientTape() as tape:\n    loss = loss_fn(y, model(x))',
    right:
      'import tensorflow as tf\nmodel = tf.keras.Sequential([tf.keras.layers.Dense(64, activation="relu"), tf.keras.layers.Dropout(0.5), tf.keras.layers.Dense(10)])\nwith tf.GradientTape() as tape:\n    loss = loss_fn(y, model(x, training=True))',
    concept: 'Training vs inference mode: Dropout and batch normalisation',
    fixable: true,
  },
  check(ctx) {
    const a = ctx.analysis;
    const k = kerasModels(a);
    if (!k.models.length) return;
    for (const w of a.index.of('with_statement')) {
      if (!isTape(a, w)) continue;
      w.child('body')?.walk((n) => {
        if (n.type === 'function_definition' || n.type === 'lambda') return false;
        if (n.type !== 'call' || keywordArg(n, 'training')) return;
        const fn = unparen(n.child('function'));
        if (fn?.type !== 'identifier') return;
        const m = k.modelAt(fn);
        if (!m || hasTrainingLayers(a, m) !== true) return;
        const args = n.child('arguments');
        const last = args?.namedChildren.filter((c) => c.type !== 'comment').pop();
        ctx.report({
          node: n,
          message: `${fn.text}(...) has Dropout/BatchNormalization but is called without training=True inside the GradientTape: it trains in inference mode. Pass training=True.`,
          fixes: last ? [{ title: 'Pass training=True', edits: [{ start: last.end, end: last.end, newText: ', training=True' }] }] : undefined,
        });
      });
    }
  },
};
