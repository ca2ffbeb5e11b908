// KR008 (steps_per_epoch = len(batched source) // batch_size), KR002 on an activation and a loss held by an estimator's
// constructor defaults, and KR007 on a multi-output functional model passed through several training functions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fix, ids, useParser } from './lint/helpers';

useParser();

const SEQUENCE = `
  import math
  import numpy as np
  from tensorflow import keras

  class Tiles(keras.utils.Sequence):
      def __init__(self, paths, batch_size=16):
          self.paths = paths
          self.batch_size = batch_size

      def __len__(self):
          return math.ceil(len(self.paths) / self.batch_size)

      def __getitem__(self, i):
          return np.zeros((self.batch_size, 64, 64, 3)), np.zeros((self.batch_size, 1))

  def run(model, train_paths, val_paths, bs=16):
      train = Tiles(train_paths, batch_size=bs)
      val = Tiles(val_paths, batch_size=bs)
      model.fit(train, validation_data=val, epochs=5,
                steps_per_epoch=math.ceil(len(train) / bs),
                validation_steps=len(val) // bs)
`;

test('KR008: len() of a Keras Sequence of the file divided by the batch size', () => {
  assert.deepEqual(ids(SEQUENCE, 'KR008'), ['KR008', 'KR008']);
  assert.match(fix(SEQUENCE, 'KR008'), /steps_per_epoch=len\(train\),/);
  // A Sequence whose __len__ counts samples: dividing by the batch size gives the batches.
  const samples = SEQUENCE.replace('return math.ceil(len(self.paths) / self.batch_size)', 'return len(self.paths)');
  assert.deepEqual(ids(samples, 'KR008'), []);
  // The batch count passed as is.
  assert.deepEqual(ids(SEQUENCE.replace('math.ceil(len(train) / bs)', 'len(train)').replace('len(val) // bs', 'len(val)'), 'KR008'), []);
});

test('KR008: ImageDataGenerator iterators, batched tf.data datasets, DataLoaders, names and parameters', () => {
  const flow = `
    from tensorflow.keras.preprocessing.image import ImageDataGenerator
    BATCH = 32
    gen = ImageDataGenerator(rescale=1 / 255)
    train_it = gen.flow_from_directory("data/train", batch_size=BATCH)
    steps = len(train_it) // BATCH
    model.fit(train_it, epochs=3, steps_per_epoch=steps)
  `;
  assert.deepEqual(ids(flow, 'KR008'), ['KR008']);
  const arrays = `
    from tensorflow.keras.preprocessing.image import ImageDataGenerator
    gen = ImageDataGenerator(horizontal_flip=True)
    model.fit(gen.flow(x_train, y_train, batch_size=64), steps_per_epoch=len(gen.flow(x_train, y_train, batch_size=64)) // 64)
    model.fit(gen.flow(x_train, y_train, batch_size=64), steps_per_epoch=len(x_train) // 64)
  `;
  assert.deepEqual(ids(arrays, 'KR008'), ['KR008']);
  const dataset = `
    import tensorflow as tf
    def make(x, y, batch_size):
        return tf.data.Dataset.from_tensor_slices((x, y)).shuffle(1000).batch(batch_size).prefetch(2)
    def train(model, ds, batch_size):
        model.fit(ds, epochs=2, steps_per_epoch=int(len(ds) / batch_size))
    train(model, tf.data.Dataset.from_tensor_slices((x, y)).batch(128), 128)
  `;
  assert.deepEqual(ids(dataset, 'KR008'), ['KR008']);
  const loader = `
    import torch
    from torch.utils.data import DataLoader
    loader = DataLoader(train_set, batch_size=batch_size, shuffle=True)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, epochs=10, steps_per_epoch=len(loader) // batch_size)
    ok = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, epochs=10, steps_per_epoch=len(loader) // accumulation_steps)
    raw = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, epochs=10, steps_per_epoch=len(train_set) // batch_size)
  `;
  assert.deepEqual(ids(loader, 'KR008'), ['KR008']);
  assert.deepEqual(ids(loader.replace('batch_size=batch_size, shuffle', 'batch_size=None, shuffle'), 'KR008'), []);
});

const ESTIMATOR = `
  from tensorflow import keras

  class DenseClassifier:
      def __init__(self, epochs=100, loss="categorical_crossentropy", activation="sigmoid"):
          self.epochs = epochs
          self.loss = loss
          self.activation = activation

      def build_model(self, input_shape, n_classes):
          inputs = keras.layers.Input(input_shape)
          x = keras.layers.Dense(64, activation="relu")(inputs)
          out = keras.layers.Dense(n_classes, activation=self.activation)(x)
          model = keras.models.Model(inputs=inputs, outputs=out)
          model.compile(loss=self.loss, optimizer="adam")
          return model
`;

test('KR002: activation and loss held by constructor defaults nothing in the file overrides', () => {
  assert.deepEqual(ids(ESTIMATOR, 'KR002'), ['KR002']);
  assert.deepEqual(ids(ESTIMATOR.replace('activation="sigmoid"', 'activation="softmax"'), 'KR002'), []);
  // The file builds the class with another activation: the default is not what runs.
  assert.deepEqual(ids(`${ESTIMATOR}\nclf = DenseClassifier(activation="softmax")\n`, 'KR002'), []);
  // Built with the defaults: still reported.
  assert.deepEqual(ids(`${ESTIMATOR}\nclf = DenseClassifier(epochs=5)\n`, 'KR002'), ['KR002']);
});

const POSE = `
  import tensorflow as tf
  from tensorflow.keras import layers

  def block(x, filters):
      x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
      x = layers.BatchNormalization()(x)
      return layers.ReLU()(x)

  def build():
      inputs = layers.Input((64, 64, 3))
      x = block(inputs, 32)
      heat = layers.Conv2D(17, 1)(x)
      paf = layers.Conv2D(34, 1)(x)
      return tf.keras.Model(inputs=inputs, outputs=[heat, paf])

  def step(model, opt, x, y):
      with tf.GradientTape() as tape:
          pred = model(x)
          loss = tf.reduce_mean((pred[0] - y[0]) ** 2) + tf.reduce_mean((pred[1] - y[1]) ** 2)
      grads = tape.gradient(loss, model.trainable_variables)
      opt.apply_gradients(zip(grads, model.trainable_variables))

  def fit(model, opt, ds):
      for x, y in ds:
          step(model, opt, x, y)

  net = build()
  fit(net, tf.keras.optimizers.Adam(), dataset)
`;

test('KR007: a multi-output functional model with BatchNormalization from a helper, passed down two calls', () => {
  assert.deepEqual(ids(POSE, 'KR007'), ['KR007']);
  assert.deepEqual(ids(POSE.replace('pred = model(x)', 'pred = model(x, training=True)'), 'KR007'), []);
  // One output: a model the Keras analysis reads, its BatchNormalization inside a helper, two calls away.
  const single = POSE.replace('outputs=[heat, paf]', 'outputs=heat');
  assert.deepEqual(ids(single, 'KR007'), ['KR007']);
  assert.deepEqual(ids(single.replace('x = layers.BatchNormalization()(x)', 'x = layers.LayerNormalization()(x)'), 'KR007'), []);
  // A Sequential with Dropout, passed down the same two calls.
  const sequential = POSE.replace('net = build()', 'net = tf.keras.Sequential([layers.Dense(8, activation="relu"), layers.Dropout(0.5), layers.Dense(2)])');
  assert.deepEqual(ids(sequential, 'KR007'), ['KR007']);
  assert.deepEqual(ids(sequential.replace('layers.Dropout(0.5), ', ''), 'KR007'), []);
  // No layer that trains differently anywhere in the builder.
  assert.deepEqual(ids(POSE.replace('x = layers.BatchNormalization()(x)', 'x = layers.LayerNormalization()(x)'), 'KR007'), []);
});
