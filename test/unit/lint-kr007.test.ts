// KR007: a Keras model with Dropout/BatchNormalization called in a GradientTape without training=True.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fix, ids, useParser } from './lint/helpers';

useParser();

const seq = (layers: string, call: string) => `import tensorflow as tf
model = tf.keras.Sequential([${layers}])
loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
optimizer = tf.keras.optimizers.Adam()

@tf.function
def train_step(x, y):
    with tf.GradientTape() as tape:
        logits = ${call}
        loss = loss_fn(y, logits)
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
`;
const DROP = 'tf.keras.layers.Dense(64, activation="relu"), tf.keras.layers.Dropout(0.3), tf.keras.layers.Dense(10)';

test('KR007: Sequential model with Dropout called as model(x) in the tape; fix passes training=True', () => {
  const code = seq(DROP, 'model(x)');
  assert.deepEqual(ids(code, 'KR007'), ['KR007']);
  const fixed = fix(code, 'KR007');
  assert.match(fixed, /model\(x, training=True\)/);
  assert.deepEqual(ids(fixed, 'KR007'), []);
});

test('KR007: subclassed model holding BatchNormalization', () => {
  const code = `import tensorflow as tf
class Net(tf.keras.Model):
    def __init__(self):
        super().__init__()
        self.conv = tf.keras.layers.Conv2D(32, 3)
        self.bn = tf.keras.layers.BatchNormalization()
        self.out = tf.keras.layers.Dense(10)
    def call(self, x, training=False):
        return self.out(tf.reduce_mean(self.bn(self.conv(x), training=training), axis=[1, 2]))

model = Net()
for x, y in ds:
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x))
    opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
`;
  assert.deepEqual(ids(code, 'KR007'), ['KR007']);
});

test('KR007 look-alikes: training passed, no Dropout/BN, outside a tape, unknown models', () => {
  assert.deepEqual(ids(seq(DROP, 'model(x, training=True)'), 'KR007'), []);
  assert.deepEqual(ids(seq('tf.keras.layers.Dense(64, activation="relu"), tf.keras.layers.Dense(10)', 'model(x)'), 'KR007'), []);
  assert.deepEqual(ids(seq(DROP, 'model(x)').replace('with tf.GradientTape() as tape:', 'if True:'), 'KR007'), []);
  assert.deepEqual(ids(seq(DROP, 'other(x)'), 'KR007'), []);
});
