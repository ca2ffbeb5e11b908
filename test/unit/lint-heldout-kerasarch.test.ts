// Held-out shapes for the Keras and architecture rules: TF1/TF2 low-level losses given softmax outputs as logits,
// Keras conv helpers and optional global pooling before Dense, plain lists of modules filled by append, and
// attention scores multiplied by a 0/1 mask before the softmax.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ids, useParser } from './lint/helpers';

useParser();

test('KR003: a softmax output given as logits= to a TF logits loss', () => {
  // TF1 layers: the last dense applies softmax, returned in a tuple from a builder of the file.
  const tf1 = `
    import tensorflow as tf

    def build(images, n_classes):
        hidden = tf.layers.dense(images, 256, activation=tf.nn.relu)
        probs = tf.layers.dense(hidden, n_classes, activation=tf.nn.softmax)
        return images, probs

    inputs = tf.placeholder(tf.float32, [None, 784])
    labels = tf.placeholder(tf.float32, [None, 10])
    _, out = build(inputs, 10)
    cost = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=labels, logits=out))
  `;
  assert.deepEqual(ids(tf1, 'KR003'), ['KR003']);
  // The same without the activation: logits, quiet.
  assert.deepEqual(ids(tf1.replace(', activation=tf.nn.softmax', ''), 'KR003'), []);
  // tf.nn.softmax through a name, into the sparse loss; the log-softmax is fine (softmax of it is the same).
  const direct = `
    import tensorflow as tf
    def loss_fn(w, x, y):
        z = tf.matmul(x, w)
        pred = tf.nn.softmax(z)
        return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=pred))
  `;
  assert.deepEqual(ids(direct, 'KR003'), ['KR003']);
  assert.deepEqual(ids(direct.replace('tf.nn.softmax(z)', 'tf.nn.log_softmax(z)'), 'KR003'), []);
  assert.deepEqual(ids(direct.replace('logits=pred', 'logits=z'), 'KR003'), []);
  // An applied Keras layer with a softmax, into the TF2 positional form, and through a parameter all call sites agree on.
  const keras = `
    import tensorflow as tf
    from tensorflow.keras import layers

    def head(features):
        return layers.Dense(5, activation="sigmoid")(features)

    def compute_loss(targets, scores):
        return tf.nn.sigmoid_cross_entropy_with_logits(targets, scores)

    def step(x, y):
        return compute_loss(y, head(x))
  `;
  assert.deepEqual(ids(keras, 'KR003'), ['KR003']);
  assert.deepEqual(ids(keras.replace(', activation="sigmoid"', ''), 'KR003'), []);
  // A second call site passing raw logits: the parameter is not known.
  assert.deepEqual(ids(`${keras.trimEnd()}\n    def other(x, y):\n        return compute_loss(y, layers.Dense(5)(x))\n`, 'KR003'), []);
  // A TF1 model class: self.probs set once; tf.compat.v1.losses form.
  const cls = `
    import tensorflow as tf
    class Model:
        def __init__(self, x, y):
            self.scores = tf.compat.v1.layers.dense(x, 3)
            self.probs = tf.nn.softmax(self.scores)
            self.loss = tf.compat.v1.losses.softmax_cross_entropy(y, self.probs)
  `;
  assert.deepEqual(ids(cls, 'KR003'), ['KR003']);
  assert.deepEqual(ids(cls.replace('(y, self.probs)', '(y, self.scores)'), 'KR003'), []);
});

test('KR004: a Dense output layer that can receive a conv helper\'s 4-D map', () => {
  const net = `
    from tensorflow.keras.layers import Input, Conv2D, BatchNormalization, Activation, Dense, GlobalAveragePooling2D, GlobalMaxPooling2D, Flatten, concatenate
    from tensorflow.keras.models import Model

    def conv_unit(t, filters):
        t = BatchNormalization()(t)
        t = Activation("relu")(t)
        return Conv2D(filters, 3, padding="same")(t)

    def stage(t, filters, n):
        for _ in range(n):
            t = concatenate([t, conv_unit(t, filters)])
        return t, filters * 2

    def build(classes, pooling=None):
        inp = Input((32, 32, 3))
        x = Conv2D(16, 3, padding="same")(inp)
        x, f = stage(x, 16, 4)
        x = Activation("relu")(x)
        if pooling == "avg":
            x = GlobalAveragePooling2D()(x)
        elif pooling == "max":
            x = GlobalMaxPooling2D()(x)
        x = Dense(classes, activation="softmax")(x)
        return Model(inp, x)
  `;
  assert.deepEqual(ids(net, 'KR004'), ['KR004']);
  // Every path pools (an else that flattens): quiet.
  assert.deepEqual(ids(net.replace('        x = Dense(', '        else:\n            x = Flatten()(x)\n        x = Dense('), 'KR004'), []);
  // A branch that raises reaches nothing.
  assert.deepEqual(ids(net.replace('        x = Dense(', '        else:\n            raise ValueError(pooling)\n        x = Dense('), 'KR004'), []);
  // The helper alone (no pooling anywhere) is a map too.
  const helperOnly = `
    from tensorflow.keras import layers, Model
    def block(t):
        t = layers.Conv2D(8, 3)(t)
        return layers.BatchNormalization()(t)
    inp = layers.Input((28, 28, 1))
    h = block(inp)
    out = layers.Dense(10, activation="softmax")(h)
    model = Model(inputs=inp, outputs=out)
  `;
  assert.deepEqual(ids(helperOnly, 'KR004'), ['KR004']);
  // A Dense in the middle (a per-pixel projection) is not the output: quiet; an unknown helper is quiet.
  assert.deepEqual(ids(helperOnly.replace('out = layers.Dense(10, activation="softmax")(h)', 'h = layers.Dense(16)(h)\nout = layers.Dense(10)(layers.Flatten()(h))'), 'KR004'), []);
  assert.deepEqual(ids(helperOnly.replace('h = block(inp)', 'h = unknown_block(inp)'), 'KR004'), []);
});

test('AR009: a plain list filled with layers that are not built in place, called in forward', () => {
  const merge = `
    import torch
    import torch.nn as nn

    def make_layer(spec):
        return nn.Linear(spec, spec)

    class Merge(nn.Module):
        def __init__(self, parts):
            super().__init__()
            self.parts = []
            for p in parts:
                if isinstance(p, nn.Module):
                    self.parts.append(p)
                else:
                    self.parts.append(make_layer(p))

        def forward(self, x):
            outs = []
            for part in self.parts:
                outs.append(part(x))
            return torch.cat(outs, dim=-1)
  `;
  assert.deepEqual(ids(merge, 'AR009'), ['AR009']);
  // Registered with add_module, or never called in forward: quiet.
  assert.deepEqual(ids(merge.replace('                    self.parts.append(p)', '                    self.parts.append(p)\n                    self.add_module(str(len(self.parts)), p)'), 'AR009'), []);
  assert.deepEqual(ids(merge.replace('outs.append(part(x))', 'outs.append(x * part)'), 'AR009'), []);
  // A list of activation functions called in forward is not a list of modules.
  const acts = `
    import torch
    import torch.nn as nn
    class MLP(nn.Module):
        def __init__(self, fns):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.acts = []
            for f in fns:
                self.acts.append(f)
            self.acts.append(torch.tanh)
        def forward(self, x):
            for act in self.acts:
                x = act(self.fc(x))
            return x
  `;
  assert.deepEqual(ids(acts, 'AR009'), []);
  // A helper named like a layer factory, items called by index.
  const blocks = `
    import torch.nn as nn
    class Net(nn.Module):
        def __init__(self, n):
            super().__init__()
            self.blocks = []
            for i in range(n):
                self.blocks.append(build_block(i))
        def forward(self, x):
            for i in range(len(self.blocks)):
                x = self.blocks[i](x)
            return x
  `;
  assert.deepEqual(ids(blocks, 'AR009'), ['AR009']);
});

test('AR010: scores times a 0/1 mask feeding the softmax, weights used for pooling', () => {
  const pool = `
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    class AttnPool(nn.Module):
        def __init__(self, d):
            super().__init__()
            self.score = nn.Linear(d, 1)
        def forward(self, h, mask):
            a = self.score(h).squeeze(-1)
            a = a * mask
            a = F.softmax(a, dim=-1)
            return (h * a.unsqueeze(-1)).sum(dim=1)
  `;
  assert.deepEqual(ids(pool, 'AR010'), ['AR010']);
  // A comparison as the mask, right inside the softmax call.
  assert.deepEqual(ids(pool.replace('a = a * mask\n', '').replace('F.softmax(a, dim=-1)', 'F.softmax(a * (mask > 0).float(), dim=-1)'), 'AR010'), ['AR010']);
  // Masked and renormalised after the softmax: correct.
  assert.deepEqual(ids(pool.replace('            return', '            a = a * mask\n            a = a / a.sum(dim=-1, keepdim=True)\n            return'), 'AR010'), []);
  // The mask multiplies the softmax output (not its input): not this bug.
  assert.deepEqual(ids(pool.replace('a = a * mask\n', '').replace('F.softmax(a, dim=-1)', 'F.softmax(a, dim=-1) * mask'), 'AR010'), []);
  // A factor not named like a mask, or a log_softmax of a masked output (a masked loss): quiet.
  assert.deepEqual(ids(pool.replace('a = a * mask', 'a = a * scale'), 'AR010'), []);
  assert.deepEqual(ids(pool.replace('F.softmax(a, dim=-1)', 'F.log_softmax(a, dim=-1)'), 'AR010'), []);
  // Weights only returned (a distribution, not a weighting): quiet.
  assert.deepEqual(ids(pool.replace('return (h * a.unsqueeze(-1)).sum(dim=1)', 'return a'), 'AR010'), []);
  // Two assignments between the product and the softmax: not followed without a matmul.
  assert.deepEqual(ids(pool.replace('a = a * mask', 'b = a * mask\n            a = torch.tanh(b)'), 'AR010'), []);
});

test('KR003: a training helper nobody calls in the file scores the one model the file builds', () => {
  const src = `
    import tensorflow as tf
    from tensorflow import keras

    def build(n):
        inp = keras.Input((16,))
        h = keras.layers.Dense(32, activation="relu")(inp)
        out = keras.layers.Dense(n, activation="softmax")(h)
        return keras.Model(inputs=inp, outputs=out)

    net = build(4)

    def fit_custom(model, data):
        loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        opt = keras.optimizers.Adam()
        for x, y in data:
            with tf.GradientTape() as tape:
                pred = model(x, training=True)
                loss = loss_fn(y, pred)
            opt.apply_gradients(zip(tape.gradient(loss, model.trainable_weights), model.trainable_weights))
  `;
  assert.deepEqual(ids(src, 'KR003'), ['KR003']);
  // Two models built: which one is trained is unknown.
  assert.deepEqual(ids(src.replace('net = build(4)', 'net = build(4)\nother = keras.Sequential([keras.layers.Dense(3)])'), 'KR003'), []);
  // A parameter not named like a model, or a helper the file calls with something else: quiet.
  assert.deepEqual(ids(src.replace(/model/g, 'thing'), 'KR003'), []);
  assert.deepEqual(ids(`${src.trimEnd()}\n    fit_custom(load_pretrained(), [])\n`, 'KR003'), []);
});

test('AR009: appended layers already registered as attributes stay quiet', () => {
  const src = `
    import torch.nn as nn
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(4, 4)
            self.fc2 = nn.Linear(4, 4)
            self.layers = []
            for name in ("fc1", "fc2"):
                layer = getattr(self, name)
                self.layers.append(layer)
            block = self.fc2
            self.layers.append(block)
        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return x
  `;
  assert.deepEqual(ids(src, 'AR009'), []);
});
