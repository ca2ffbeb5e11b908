import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lintNotebookCells } from '../../src/lint';
import { fix, ids, lint, useParser } from './lint/helpers';

useParser();

const TF = 'import tensorflow as tf\n';
const FK = 'from tensorflow import keras\nfrom tensorflow.keras import layers\n';

test('KR001: Dense(1, activation="softmax") in every spelling; fix uses sigmoid', () => {
  const code = `${TF}model = tf.keras.Sequential([\n    tf.keras.layers.Dense(16, activation="relu"),\n    tf.keras.layers.Dense(1, activation='softmax'),\n])\n`;
  assert.deepEqual(ids(code), ['KR001']);
  const fixed = fix(code, 'KR001');
  assert.match(fixed, /Dense\(1, activation='sigmoid'\)/);
  assert.deepEqual(ids(fixed), []);
  assert.deepEqual(ids(`import keras\nout = keras.layers.Dense(units=1, activation="softmax")\n`), ['KR001']);
  assert.deepEqual(ids(`from keras.layers import Dense\nhead = Dense(1, "softmax")\n`), ['KR001']);
  const act = `from keras.models import Sequential\nfrom keras.layers import Dense, Activation\nmodel = Sequential()\nmodel.add(Dense(8, input_dim=4, activation="relu"))\nmodel.add(Dense(1))\nmodel.add(Activation("softmax"))\n`;
  assert.deepEqual(ids(act), ['KR001']);
  assert.deepEqual(ids(fix(act, 'KR001')), []);
});

test('KR001: negatives: softmax over several units, sigmoid on one unit, non-Keras Dense', () => {
  assert.deepEqual(ids(`${FK}m = keras.Sequential([layers.Dense(10, activation="softmax")])\nb = layers.Dense(1, activation="sigmoid")\n`), []);
  assert.deepEqual(ids(`class Dense:\n    pass\nd = Dense(1, activation="softmax")\n`), []);
  assert.deepEqual(ids(`${FK}n = 1\nd = layers.Dense(n, activation="softmax")\n`), [], 'units not a literal');
});

test('KR002: binary_crossentropy on a multi-unit softmax; categorical on one unit or sigmoid', () => {
  const bce = `${FK}model = keras.Sequential([layers.Dense(64, activation="relu"), layers.Dense(5, activation="softmax")])\nmodel.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])\n`;
  assert.deepEqual(ids(bce), ['KR002']);
  const cce1 = `${FK}model = keras.Sequential([layers.Dense(64, activation="relu"), layers.Dense(1, activation="sigmoid")])\nmodel.compile("adam", "categorical_crossentropy")\n`;
  assert.deepEqual(ids(cce1), ['KR002']);
  const fixed = fix(cce1, 'KR002');
  assert.match(fixed, /model\.compile\("adam", "binary_crossentropy"\)/);
  assert.deepEqual(ids(fixed), []);
  const obj = `${FK}model = keras.Sequential([layers.Dense(64, activation="relu"), layers.Dense(4, activation="sigmoid")])\nmodel.compile(optimizer="adam", loss=keras.losses.CategoricalCrossentropy())\n`;
  assert.deepEqual(ids(obj), ['KR002']);
  const sparse1 = `${FK}model = keras.Sequential([layers.Dense(1, activation="sigmoid")])\nmodel.compile(optimizer="adam", loss="sparse_categorical_crossentropy")\n`;
  assert.deepEqual(ids(sparse1), ['KR002']);
});

test('KR002: negatives: matching pairs, multi-label sigmoid + BCE, loss unknown, Dense(1, softmax) + binary CE left to KR001', () => {
  assert.deepEqual(ids(`${FK}m = keras.Sequential([layers.Dense(10, activation="softmax")])\nm.compile(optimizer="adam", loss="categorical_crossentropy")\n`), []);
  assert.deepEqual(ids(`${FK}m = keras.Sequential([layers.Dense(10, activation="softmax")])\nm.compile(optimizer="adam", loss="sparse_categorical_crossentropy")\n`), []);
  assert.deepEqual(ids(`${FK}m = keras.Sequential([layers.Dense(20, activation="sigmoid")])\nm.compile(optimizer="adam", loss="binary_crossentropy")\n`), []);
  assert.deepEqual(ids(`${FK}m = keras.Sequential([layers.Dense(10, activation="softmax")])\nm.compile(optimizer="adam", loss=my_loss)\n`), []);
  const one = `${FK}m = keras.Sequential([layers.Dense(1, activation="softmax")])\nm.compile(optimizer="adam", loss="binary_crossentropy")\n`;
  assert.deepEqual(ids(one), ['KR001']);
  // categorical CE over that one unit is identically 0: the loss is wrong too (session 17)
  assert.deepEqual(ids(one.replace('binary_crossentropy', 'categorical_crossentropy')), ['KR001', 'KR002']);
});

test('KR003: linear output with a probability loss (string and object); fixes set from_logits=True', () => {
  const str = `${FK}model = keras.Sequential([layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dense(10)])\nmodel.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])\n`;
  assert.deepEqual(ids(str), ['KR003']);
  const fixed = fix(str, 'KR003');
  assert.match(fixed, /loss=keras\.losses\.SparseCategoricalCrossentropy\(from_logits=True\)/);
  assert.deepEqual(ids(fixed), []);
  const obj = `${TF}model = tf.keras.Sequential([tf.keras.layers.Dense(1)])\nloss_fn = tf.keras.losses.BinaryCrossentropy()\nmodel.compile(optimizer="adam", loss=loss_fn)\n`;
  assert.deepEqual(ids(obj), ['KR003']);
  assert.match(fix(obj, 'KR003'), /BinaryCrossentropy\(from_logits=True\)/);
  assert.deepEqual(ids(fix(obj, 'KR003')), []);
  const explicit = `${TF}model = tf.keras.Sequential([tf.keras.layers.Dense(3, activation=None)])\nmodel.compile(optimizer="adam", loss=tf.keras.losses.CategoricalCrossentropy(from_logits=False))\n`;
  assert.deepEqual(ids(explicit), ['KR003']);
});

test('KR003: softmax / sigmoid output with from_logits=True; functional models', () => {
  const code = `${FK}model = keras.Sequential([layers.Dense(10, activation="softmax")])\nmodel.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))\n`;
  assert.deepEqual(ids(code), ['KR003']);
  const fixed = fix(code, 'KR003');
  assert.match(fixed, /from_logits=False/);
  assert.deepEqual(ids(fixed), []);
  const fn = `${FK}inputs = keras.Input(shape=(784,))\nx = layers.Dense(64, activation="relu")(inputs)\noutputs = layers.Dense(10)(x)\nmodel = keras.Model(inputs=inputs, outputs=outputs)\nmodel.compile(optimizer="rmsprop", loss="categorical_crossentropy")\n`;
  assert.deepEqual(ids(fn), ['KR003']);
});

test('KR003: negatives: logits with from_logits=True, softmax with the default, unknown activation, built in a function', () => {
  assert.deepEqual(ids(`${FK}m = keras.Sequential([layers.Dense(10)])\nm.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))\n`), []);
  assert.deepEqual(ids(`${FK}m = keras.Sequential([layers.Dense(10, activation="softmax")])\nm.compile(optimizer="adam", loss="sparse_categorical_crossentropy")\n`), []);
  assert.deepEqual(ids(`${FK}m = keras.Sequential([layers.Dense(10, activation=act)])\nm.compile(optimizer="adam", loss="sparse_categorical_crossentropy")\n`), []);
  assert.deepEqual(ids(`${FK}m = keras.Sequential([layers.Dense(1)])\nm.compile(optimizer="adam", loss="mse")\n`), [], 'regression');
  const built = `${FK}def build():\n    model = keras.Sequential()\n    model.add(layers.Dense(32, activation="relu"))\n    model.add(layers.Dense(10))\n    return model\n\nmodel = build()\nmodel.compile(optimizer="adam", loss="sparse_categorical_crossentropy")\n`;
  assert.deepEqual(ids(built), ['KR003'], 'followed through the builder');
  const loop = `${FK}model = keras.Sequential()\nfor units in [64, 32]:\n    model.add(layers.Dense(units, activation="relu"))\nmodel.compile(optimizer="adam", loss="sparse_categorical_crossentropy")\n`;
  assert.deepEqual(ids(loop), [], 'layers added in a loop: unknown');
});

test('KR004: Dense right after Conv2D / MaxPooling2D without Flatten; fix inserts Flatten()', () => {
  const list = `${FK}model = keras.Sequential([layers.Conv2D(32, 3, activation="relu", input_shape=(28, 28, 1)), layers.MaxPooling2D(), layers.Dense(10, activation="softmax")])\n`;
  assert.deepEqual(ids(list), ['KR004']);
  const fixed = fix(list, 'KR004');
  assert.match(fixed, /layers\.MaxPooling2D\(\), layers\.Flatten\(\), layers\.Dense\(10/);
  assert.deepEqual(ids(fixed), []);
  const add = `from keras.models import Sequential\nfrom keras.layers import Conv2D, Dense, Dropout, Flatten\nmodel = Sequential()\nmodel.add(Conv2D(32, (3, 3), activation="relu", input_shape=(32, 32, 3)))\nmodel.add(Dropout(0.25))\nmodel.add(Dense(10, activation="softmax"))\n`;
  assert.deepEqual(ids(add), ['KR004']);
  const fixedAdd = fix(add, 'KR004');
  assert.match(fixedAdd, /model\.add\(Dropout\(0\.25\)\)\nmodel\.add\(Flatten\(\)\)\nmodel\.add\(Dense/);
  assert.deepEqual(ids(fixedAdd), []);
});

test('KR004: negatives: Flatten / GlobalAveragePooling2D present, Dense after Conv1D, flattening later', () => {
  assert.deepEqual(ids(`${FK}m = keras.Sequential([layers.Conv2D(8, 3), layers.GlobalAveragePooling2D(), layers.Dense(10, activation="softmax")])\n`), []);
  assert.deepEqual(ids(`${FK}m = keras.Sequential([layers.Conv2D(8, 3), layers.MaxPooling2D(), layers.Flatten(), layers.Dense(10, activation="softmax")])\n`), []);
  assert.deepEqual(ids(`${FK}m = keras.Sequential([layers.Conv1D(8, 3), layers.Dense(4)])\n`), []);
  assert.deepEqual(ids(`${FK}m = keras.Sequential([layers.Conv2D(8, 3), layers.Dense(16, activation="relu"), layers.Flatten(), layers.Dense(10, activation="softmax")])\n`), []);
});

test('KR005: fit(shuffle=False) on arrays of a feed-forward model; fix shuffle=True', () => {
  const code = `${FK}model = keras.Sequential([layers.Dense(32, activation="relu"), layers.Dense(3, activation="softmax")])\nmodel.compile(optimizer="adam", loss="categorical_crossentropy")\nmodel.fit(X_train, y_train, epochs=10, validation_split=0.2, shuffle=False)\n`;
  assert.deepEqual(ids(code), ['KR005']);
  assert.match(lint(code)[0]!.message, /validation_split/);
  const fixed = fix(code, 'KR005');
  assert.match(fixed, /shuffle=True\)/);
  assert.deepEqual(ids(fixed), []);
  const withInput = `import keras\nfrom keras import layers\nmodel = keras.Sequential([keras.Input(shape=(20,)), layers.Dense(16, activation="relu"), layers.Dense(1, activation="sigmoid")])\nmodel.fit(x, y, epochs=10, shuffle=False)\n`;
  assert.deepEqual(ids(withInput), ['KR005']);
});

test('KR005: negatives: RNN models, generators / datasets, default shuffle, unknown models', () => {
  assert.deepEqual(ids(`${FK}m = keras.Sequential([layers.LSTM(32, stateful=True), layers.Dense(1)])\nm.fit(X, y, shuffle=False)\n`), []);
  assert.deepEqual(ids(`${FK}m = keras.Sequential([layers.Dense(32, activation="relu"), layers.Dense(1)])\nm.fit(train_gen, shuffle=False)\nm.fit(make_ds(), shuffle=False)\nm.fit(X, y)\n`), []);
  assert.deepEqual(ids(`${FK}model = load_model("m.h5")\nmodel.fit(X, y, shuffle=False)\n`), []);
});

test('KR006: sigmoid / tanh output with an mse / mae loss; fix makes the output linear', () => {
  const code = `${FK}model = keras.Sequential([layers.Dense(64, activation="relu"), layers.Dense(1, activation="sigmoid")])\nmodel.compile(optimizer="adam", loss="mse", metrics=["mae"])\n`;
  assert.deepEqual(ids(code), ['KR006']);
  const fixed = fix(code, 'KR006');
  assert.match(fixed, /Dense\(1, activation="linear"\)/);
  assert.deepEqual(ids(fixed), []);
  assert.deepEqual(ids(`${TF}m = tf.keras.Sequential([tf.keras.layers.Dense(2, activation="tanh")])\nm.compile(optimizer="sgd", loss=tf.keras.losses.MeanAbsoluteError())\n`), ['KR006']);
});

test('KR006: negatives: linear output, accuracy metric, autoencoders, MinMaxScaler-scaled targets', () => {
  assert.deepEqual(ids(`${FK}m = keras.Sequential([layers.Dense(1)])\nm.compile(optimizer="adam", loss="mse")\n`), []);
  assert.deepEqual(ids(`${FK}m = keras.Sequential([layers.Dense(1, activation="sigmoid")])\nm.compile(optimizer="adam", loss="mse", metrics=["accuracy"])\n`), []);
  assert.deepEqual(ids(`${FK}m = keras.Sequential([layers.Dense(32, activation="relu"), layers.Dense(784, activation="sigmoid")])\nm.compile(optimizer="adam", loss="mse")\n`), []);
  assert.deepEqual(ids(`from sklearn.preprocessing import MinMaxScaler\n${FK}y = MinMaxScaler().fit_transform(y)\nm = keras.Sequential([layers.Dense(1, activation="sigmoid")])\nm.compile(optimizer="adam", loss="mse")\n`), []);
});

test('Keras: a clean, idiomatic Keras script has no findings', () => {
  const clean = `import numpy as np
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train = x_train.astype("float32") / 255.0
x_test = x_test.astype("float32") / 255.0
x_train = np.expand_dims(x_train, -1)
x_test = np.expand_dims(x_test, -1)

model = keras.Sequential(
    [
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ]
)
model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=128, epochs=15, validation_split=0.1)

inputs = keras.Input(shape=(20,))
h = layers.Dense(64, activation="relu")(inputs)
h = layers.BatchNormalization()(h)
logits = layers.Dense(3)(h)
clf = keras.Model(inputs, logits)
clf.compile(optimizer=keras.optimizers.Adam(1e-3), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])

reg = keras.Sequential([layers.Dense(64, activation="relu"), layers.Dense(64, activation="relu"), layers.Dense(1)])
reg.compile(optimizer="adam", loss="mse", metrics=["mae"])
reg.fit(x_train, y_train, epochs=100, validation_split=0.2)

binary = keras.Sequential([layers.Dense(16, activation="relu"), layers.Dense(1, activation="sigmoid")])
binary.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
`;
  assert.deepEqual(lint(clean).map((f) => `${f.rule}:${f.range.start.line + 1}`), []);
});

test('Keras functional chains re-binding the same name, old import paths and Keras 1 keywords', () => {
  const chain = `${FK}inputs = keras.Input(shape=(20,))\nx = layers.Dense(64, activation="relu")(inputs)\nx = layers.Dropout(0.2)(x)\nx = layers.Dense(10)(x)\nmodel = keras.Model(inputs=inputs, outputs=x)\nmodel.compile(optimizer="adam", loss="categorical_crossentropy")\n`;
  assert.deepEqual(ids(chain), ['KR003']);
  const old = `from keras.models import Sequential\nfrom keras.layers.core import Dense, Activation\nmodel = Sequential()\nmodel.add(Dense(output_dim=64, input_dim=100))\nmodel.add(Activation("relu"))\nmodel.add(Dense(output_dim=1))\nmodel.add(Activation("softmax"))\nmodel.compile(loss="binary_crossentropy", optimizer="sgd")\n`;
  assert.deepEqual(ids(old), ['KR001']);
  const py = `from tensorflow.python.keras.layers import Dense\nfrom tensorflow.python.keras.models import Sequential\nm = Sequential([Dense(3, activation="softmax")])\nm.compile(optimizer="adam", loss="binary_crossentropy")\n`;
  assert.deepEqual(ids(py), ['KR002']);
});

test('KR002: crossentropy on a non-probability output (relu / tanh); fix uses the matching activation', () => {
  const code = `${FK}m = keras.Sequential([layers.Dense(64, activation="relu"), layers.Dense(10, activation="relu")])\nm.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])\n`;
  assert.deepEqual(ids(code), ['KR002']);
  const fixed = fix(code, 'KR002');
  assert.match(fixed, /layers\.Dense\(10, activation="softmax"\)/);
  assert.deepEqual(ids(fixed), []);
  const tanh = `${FK}m = keras.Sequential([layers.Dense(1, activation="tanh")])\nm.compile(optimizer="adam", loss="binary_crossentropy")\n`;
  assert.deepEqual(ids(tanh), ['KR002']);
  assert.match(fix(tanh, 'KR002'), /activation="sigmoid"/);
  assert.deepEqual(ids(`${FK}m = keras.Sequential([layers.Dense(10, activation="relu")])\nm.compile(optimizer="adam", loss="mse")\n`), []);
});

test('Keras in a notebook: model built in one cell, compiled in another', () => {
  const cells = [
    'from tensorflow import keras\nfrom tensorflow.keras import layers',
    'model = keras.Sequential()\nmodel.add(layers.Dense(64, activation="relu"))\nmodel.add(layers.Dense(10))',
    'model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])',
  ];
  const f = lintNotebookCells(cells);
  assert.deepEqual(f.map((x) => [x.rule, x.cell, x.range.start.line]), [['KR003', 2, 0]]);
});
