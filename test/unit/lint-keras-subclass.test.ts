// Keras beyond Sequential: subclassed keras.Model (output layer read from `call`) and GradientTape loops that score
// the model's output with a loss object or function.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ids, useParser } from './lint/helpers';

useParser();

const subclass = (head: string, lossLine: string, loop = true) => `import tensorflow as tf

class MyModel(tf.keras.Model):
    def __init__(self):
        super().__init__()
        self.d1 = tf.keras.layers.Dense(128, activation="relu")
        self.out = ${head}

    def call(self, x, training=False):
        x = self.d1(x)
        return self.out(x)

model = MyModel()
${lossLine}
optimizer = tf.keras.optimizers.Adam()
${loop ? `for x, y in dataset:
    with tf.GradientTape() as tape:
        logits = model(x, training=True)
        loss = loss_object(y, logits)
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))` : ''}
`;

test('KR003: subclassed model with a linear head scored by a loss object without from_logits in a tape loop', () => {
  assert.deepEqual(ids(subclass('tf.keras.layers.Dense(10)', 'loss_object = tf.keras.losses.SparseCategoricalCrossentropy()'), 'KR003'), ['KR003']);
  // softmax head with from_logits=True
  assert.deepEqual(ids(subclass('tf.keras.layers.Dense(10, activation="softmax")', 'loss_object = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)'), 'KR003'), ['KR003']);
});

test('KR003: subclassed model compiled with a mismatched loss', () => {
  const code = subclass('tf.keras.layers.Dense(10, activation="softmax")', 'model.compile(optimizer="adam", loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))', false);
  assert.deepEqual(ids(code, 'KR003'), ['KR003']);
});

test('KR003 look-alikes: matching pairs, outputs passed through tf.nn.softmax, unknown heads', () => {
  assert.deepEqual(ids(subclass('tf.keras.layers.Dense(10)', 'loss_object = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)'), 'KR003'), []);
  assert.deepEqual(ids(subclass('tf.keras.layers.Dense(10, activation="softmax")', 'loss_object = tf.keras.losses.SparseCategoricalCrossentropy()'), 'KR003'), []);
  const softmaxed = subclass('tf.keras.layers.Dense(10)', 'loss_object = tf.keras.losses.SparseCategoricalCrossentropy()').replace('logits = model(x, training=True)', 'logits = tf.nn.softmax(model(x, training=True))');
  assert.deepEqual(ids(softmaxed, 'KR003'), []);
  assert.deepEqual(ids(subclass('make_head()', 'loss_object = tf.keras.losses.SparseCategoricalCrossentropy()'), 'KR003'), []);
});

test('KR003: a Sequential model in a tf.function train step with a loss function and from_logits on the call', () => {
  const code = (flag: string) => `import tensorflow as tf
model = tf.keras.Sequential([tf.keras.layers.Dense(64, activation="relu"), tf.keras.layers.Dense(5)])
optimizer = tf.keras.optimizers.Adam()

@tf.function
def train_step(x, y):
    with tf.GradientTape() as tape:
        logits = model(x, training=True)
        loss = tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(y, logits${flag}))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
`;
  assert.deepEqual(ids(code(''), 'KR003'), ['KR003']);
  assert.deepEqual(ids(code(', from_logits=True'), 'KR003'), []);
});
