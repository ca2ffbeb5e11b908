// Recall round 9, Keras/TensorFlow: KR009 (TensorFlow 1 dropout / batch norm in the wrong mode: no training=, a
// Python bool flag, contrib batch_norm always training, UPDATE_OPS never run or collected outside the graph).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ids, lint, useParser } from './lint/helpers';

useParser();

const TF = 'import tensorflow as tf\n';

test('KR009: tf.layers.dropout without training= (tf, compat.v1, tensorflow.python.layers.core)', () => {
  for (const code of [
    `${TF}def net(x, rate):\n    h = tf.layers.dense(x, 64)\n    return tf.layers.dropout(h, rate=rate)\n`,
    `${TF}def net(x):\n    return tf.compat.v1.layers.dropout(x, 0.3)\n`,
    `import tensorflow.compat.v1 as tf1\ndef net(x):\n    return tf1.layers.dropout(x, rate=0.5, name="drop")\n`,
    `from tensorflow.python.layers import core as core_layers\ndef net(x):\n    return core_layers.dropout(x, 0.5)\n`,
  ]) {
    assert.deepEqual(ids(code, 'KR009'), ['KR009'], code);
  }
});

test('KR009: negatives: dropout given its mode (keyword, positional, **kwargs), Keras Dropout layers, tf.nn.dropout', () => {
  for (const code of [
    `${TF}def net(x, is_training):\n    return tf.layers.dropout(x, rate=0.5, training=is_training)\n`,
    `${TF}def net(x, mode):\n    return tf.layers.dropout(x, 0.5, None, None, mode == tf.estimator.ModeKeys.TRAIN)\n`,
    `${TF}def net(x, **kw):\n    return tf.layers.dropout(x, rate=0.5, **kw)\n`,
    `${TF}model = tf.keras.Sequential([tf.keras.layers.Dense(8), tf.keras.layers.Dropout(0.5), tf.keras.layers.BatchNormalization()])\nmodel.compile("adam", "mse")\nmodel.fit(x, y)\n`,
    `${TF}def net(x, keep):\n    return tf.nn.dropout(x, keep)\n`,
    `${TF}def dropout(x, rate):\n    return x\ny = dropout(x, 0.5)\n`,
  ]) {
    assert.deepEqual(ids(code, 'KR009'), [], code);
  }
});

test('KR009: tf.layers.batch_normalization without training= only in a file that trains with a TF1 optimizer', () => {
  const net = `${TF}def net(x):\n    h = tf.layers.conv2d(x, 32, 3)\n    h = tf.layers.batch_normalization(h)\n    return tf.layers.dense(tf.layers.flatten(h), 10)\n`;
  const train = 'logits = net(images)\nloss = tf.losses.sparse_softmax_cross_entropy(labels, logits)\nstep = tf.train.MomentumOptimizer(0.01, 0.9).minimize(loss)\n';
  assert.deepEqual(ids(net + train, 'KR009'), ['KR009']);
  // A definition alone (an inference-only port, or trained elsewhere) stays quiet.
  assert.deepEqual(ids(net, 'KR009'), []);
  assert.deepEqual(ids(net.replace('batch_normalization(h)', 'batch_normalization(h, training=False)') + train, 'KR009'), []);
});

test('KR009: training=self.flag, a Python bool flipped after the graph is built', () => {
  const cls = (trainBody: string) =>
    `${TF}class Net:\n    def __init__(self):\n        self.is_training = False\n    def build(self, x):\n` +
    `        h = tf.layers.dense(x, 32)\n        self.out = tf.layers.dropout(h, 0.5, training=self.is_training)\n` +
    `    def train(self, sess, op):\n${trainBody}`;
  const flips = cls('        self.is_training = True\n        sess.run(op)\n');
  const found = lint(flips, { select: ['KR009'] });
  assert.deepEqual(found.map((f) => f.rule), ['KR009']);
  assert.match(found[0]!.message, /Python bool.*train\(\)/);
  // Rebuilding after the flip, a placeholder flag, or no session run in the flipping method: quiet.
  assert.deepEqual(ids(cls('        self.is_training = True\n        self.build(x)\n        sess.run(op)\n'), 'KR009'), []);
  assert.deepEqual(ids(flips.replace('self.is_training = False', 'self.is_training = tf.placeholder_with_default(False, ())'), 'KR009'), []);
  assert.deepEqual(ids(cls('        self.is_training = True\n        return op\n'), 'KR009'), []);
  // A Python bool set once and never flipped is a constant choice: not this rule's concern.
  assert.deepEqual(ids(cls('        sess.run(op)\n'), 'KR009'), []);
});

test('KR009: contrib / slim batch_norm without is_training, outside any arg_scope', () => {
  const block = (call: string) => `${TF}def block(x, w):\n    return tf.nn.relu(${call})\n`;
  assert.deepEqual(ids(block('tf.contrib.layers.batch_norm(tf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME"))'), 'KR009'), ['KR009']);
  assert.deepEqual(ids(`import tensorflow.contrib.slim as slim\n${block('slim.batch_norm(x)')}`, 'KR009'), ['KR009']);
  for (const code of [
    block('tf.contrib.layers.batch_norm(x, is_training=training)'),
    block('tf.contrib.layers.batch_norm(x, 0.9, True, True, 1e-3, None, None, None, None, training)'),
    `import tensorflow.contrib.slim as slim\ndef net(x, training):\n    with slim.arg_scope([slim.batch_norm], is_training=training):\n        return slim.batch_norm(x)\n`,
    block('tf.contrib.layers.batch_norm(x, updates_collections=None)'),
  ]) {
    assert.deepEqual(ids(code, 'KR009'), [], code);
  }
});

test('KR009: a TF1 optimizer step without the UPDATE_OPS dependency, with batch norms switched by a flag', () => {
  const model = `${TF}def model(x, is_training):\n    h = tf.layers.conv2d(x, 16, 3)\n    h = tf.layers.batch_normalization(h, training=is_training)\n    return tf.layers.dense(tf.layers.flatten(h), 10)\n`;
  const loss = 'loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=model(x, True)))\n';
  for (const step of [
    'opt = tf.train.AdamOptimizer(1e-3)\ntrain_op = opt.minimize(loss)\n',
    'opt = tf.compat.v1.train.GradientDescentOptimizer(0.1)\ntrain_op = opt.apply_gradients(opt.compute_gradients(loss))\n',
  ]) {
    const found = lint(model + loss + step, { select: ['KR009'] });
    assert.deepEqual(found.map((f) => f.rule), ['KR009'], step);
    assert.match(found[0]!.message, /UPDATE_OPS.*line 4/);
  }
  for (const code of [
    // The update ops run, by the collection's constant or its string name.
    `${model}${loss}with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):\n    train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)\n`,
    `${model}${loss}extra = tf.get_collection("update_ops")\ntrain_op = tf.group(tf.train.AdamOptimizer(1e-3).minimize(loss), extra)\n`,
    // Always in training mode: the moving statistics are never read.
    `${model.replace('training=is_training', 'training=True')}${loss}train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)\n`,
    // A Keras optimizer (TF 2) or an unknown one: not this check.
    `${model}${loss}train_op = tf.keras.optimizers.Adam(1e-3).minimize(loss, var_list)\n`,
    `${model}${loss}train_op = make_optimizer().minimize(loss)\n`,
  ]) {
    assert.deepEqual(ids(code, 'KR009'), [], code);
  }
});

test('KR009: UPDATE_OPS collected outside the with graph.as_default() block that built the model', () => {
  const fit = (collect: string, inside: boolean) =>
    `${TF}class Clf:\n    def fit(self, X):\n        self._graph = tf.Graph()\n        with self._graph.as_default():\n            self._build()\n` +
    (inside ? `            ${collect}\n` : `        ${collect}\n`) +
    `        with tf.Session(graph=self._graph) as sess:\n            sess.run(self._train, feed_dict={self._X: X})\n`;
  const collect = 'ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)';
  assert.deepEqual(ids(fit(collect, false), 'KR009'), ['KR009']);
  assert.deepEqual(ids(fit(collect.replace('tf.get_collection', 'tf.compat.v1.get_collection'), false), 'KR009'), ['KR009']);
  assert.deepEqual(ids(fit(collect, true), 'KR009'), []);
  assert.deepEqual(ids(fit('ops = tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES)', false), 'KR009'), []);
  // The default graph (no tf.Graph() of its own): collecting after the block is right.
  assert.deepEqual(ids(fit(collect, false).replace('self._graph = tf.Graph()', 'self._graph = tf.get_default_graph()'), 'KR009'), []);
});

test('KR003: a TFLearn fully_connected softmax output given as logits', () => {
  const net = (act: string) =>
    `${TF}import tflearn\nX = tf.placeholder(tf.float32, [None, 784])\nY = tf.placeholder(tf.float32, [None, 10])\n` +
    `h = tflearn.fully_connected(X, 64, activation="relu")\nout = tflearn.fully_connected(h, 10, ${act})\n` +
    'loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=Y, logits=out))\n';
  assert.deepEqual(ids(net('activation="softmax"'), 'KR003'), ['KR003']);
  assert.deepEqual(ids(net("'softmax'"), 'KR003'), ['KR003']);
  assert.deepEqual(ids(net('activation="linear"'), 'KR003'), []);
  assert.deepEqual(ids(net('regularizer="L2"'), 'KR003'), []);
});

test('HP007: Keras batch-norm momentum 0 (a default followed through call sites) keeps only the last batch', () => {
  const model = (dflt: string) =>
    `${TF}def block(x, bn_momentum):\n    x = tf.keras.layers.Conv2D(32, 3)(x)\n    return tf.keras.layers.BatchNormalization(momentum=bn_momentum)(x)\n` +
    `def build(inputs, bn_momentum=${dflt}):\n    return block(inputs, bn_momentum=bn_momentum)\n`;
  const found = lint(model('0.0'), { select: ['HP007'] });
  assert.deepEqual(found.map((f) => f.rule), ['HP007']);
  assert.match(found[0]!.message, /only the last training batch.*momentum=0\.99/);
  assert.deepEqual(ids(model('0.99'), 'HP007'), []);
  assert.deepEqual(ids(model('0.5'), 'HP007'), []);
  // PyTorch's momentum 0 (statistics frozen at their start) is a different matter: not reported.
  assert.deepEqual(ids('import torch.nn as nn\nbn = nn.BatchNorm2d(8, momentum=0.0)\n', 'HP007'), []);
});
