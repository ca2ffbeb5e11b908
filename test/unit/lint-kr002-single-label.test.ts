// KR002: a single-label multi-class Keras classifier trained with K > 2 sigmoid outputs and binary_crossentropy.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fix, ids, lint, useParser } from './lint/helpers';

useParser();

/** A Sequential model ending in `head`, compiled with `loss`, fit on `fitArgs`, after `prep` lines. */
const script = (prep: string, fitArgs: string, head = "Dense(10, activation='sigmoid')", loss = "'binary_crossentropy'") => `import numpy as np
import pandas as pd
from tensorflow import keras
from tensorflow.keras.layers import Dense
from tensorflow.keras.utils import to_categorical
${prep}
model = keras.Sequential([Dense(64, activation='relu'), ${head}])
model.compile(optimizer='adam', loss=${loss}, metrics=['accuracy'])
model.fit(${fitArgs}, epochs=5)
`;

const MNIST = '(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()';
const kr = (code: string) => ids(code, 'KR002');

test('KR002 single-label: mnist labels through to_categorical, 10 sigmoid units + BCE; warning with a fix', () => {
  const code = script(`${MNIST}\ny_train = to_categorical(y_train)\n`, 'x_train, y_train');
  const f = lint(code, { select: ['KR002'] });
  assert.equal(f.length, 1);
  assert.equal(f[0]!.severity, 'warning');
  assert.match(f[0]!.message, /single-label one-hot rows \(to_categorical.*independent yes\/no.*per-unit binary accuracy.*softmax output with categorical_crossentropy/);
  const fixed = fix(code, 'KR002');
  assert.match(fixed, /Dense\(10, activation='softmax'\)/);
  assert.match(fixed, /loss='categorical_crossentropy'/);
  assert.deepEqual(kr(fixed), []);
});

test('KR002 single-label: one-hot constructors of class indices (to_categorical, np.eye, tf.one_hot, LabelBinarizer, get_dummies, OneHotEncoder)', () => {
  const cases = [
    ['labels = np.load("y.npy")\nY = keras.utils.to_categorical(labels, 10)\n', 'X, Y'],
    ['labels = np.load("y.npy")\nY = np.eye(10)[labels]\n', 'X, Y'],
    ['import tensorflow as tf\nlabels = np.load("y.npy")\nY = tf.one_hot(labels, depth=10)\n', 'X, Y'],
    ['from sklearn.preprocessing import LabelBinarizer\nlb = LabelBinarizer()\nY = lb.fit_transform(df["species"])\n', 'X, Y'],
    ['from sklearn.preprocessing import LabelBinarizer\nY = LabelBinarizer().fit(df.label).transform(df.label)\n', 'X, Y'],
    ['df = pd.read_csv("data.csv")\nY = pd.get_dummies(df["label"]).values\n', 'X, Y'],
    ['df = pd.read_csv("data.csv")\nY = pd.get_dummies(df.iloc[:, -1]).to_numpy()\n', 'X, Y'],
    ['from sklearn.preprocessing import OneHotEncoder\nenc = OneHotEncoder()\nY = enc.fit_transform(labels.reshape(-1, 1)).toarray()\n', 'X, Y'],
    ['from sklearn.preprocessing import label_binarize\nY = label_binarize(y, classes=[0, 1, 2, 3])\n', 'X, Y'],
  ];
  for (const [prep, args] of cases) assert.deepEqual(kr(script(prep!, args!)), ['KR002'], prep);
});

test('KR002 single-label: followed through train_test_split, slices, validation_data, generators and a helper parameter', () => {
  const split = 'from sklearn.model_selection import train_test_split\nY = to_categorical(labels)\nX_tr, X_te, y_tr, y_te = train_test_split(X, Y, test_size=0.2)\n';
  assert.deepEqual(kr(script(split, 'X_tr, y_tr[:5000]')), ['KR002']);
  // y unknown (a generator from elsewhere), validation labels one-hot
  assert.deepEqual(kr(script(split, 'train_gen, validation_data=(X_te, y_te)')), ['KR002']);
  // ImageDataGenerator.flow and tf.data pairs
  const flow = `from tensorflow.keras.preprocessing.image import ImageDataGenerator\n${MNIST}\ny_train = to_categorical(y_train, 10)\ngen = ImageDataGenerator(rotation_range=10)\n`;
  assert.deepEqual(kr(script(flow, 'gen.flow(x_train, y_train, batch_size=32)')), ['KR002']);
  const ds = `import tensorflow as tf\n${MNIST}\nds = tf.data.Dataset.from_tensor_slices((x_train, to_categorical(y_train))).shuffle(1000).batch(32)\n`;
  assert.deepEqual(kr(script(ds, 'ds')), ['KR002']);
  const helper = `import numpy as np
from tensorflow import keras
from tensorflow.keras.utils import to_categorical

def build():
    model = keras.Sequential([keras.layers.Dense(32, activation="relu"), keras.layers.Dense(5, activation="sigmoid")])
    model.compile(optimizer="adam", loss=keras.losses.BinaryCrossentropy(), metrics=["accuracy"])
    return model

def train(model, x, y):
    model.fit(x, y, epochs=10)

model = build()
train(model, X, to_categorical(y, 5))
`;
  assert.deepEqual(kr(helper), ['KR002']);
});

test('KR002 single-label: known data set class indices (iris, cifar10) with sigmoid units; the fix names the sparse loss', () => {
  const iris = "from sklearn.datasets import load_iris\nX, y = load_iris(return_X_y=True)\n";
  const code = script(iris, 'X, y', "Dense(3, activation='sigmoid')");
  const f = lint(code, { select: ['KR002'] });
  assert.equal(f.length, 1);
  assert.match(f[0]!.message, /class indices \(load_iris\(\).*sparse_categorical_crossentropy/);
  assert.match(fix(code, 'KR002'), /loss='sparse_categorical_crossentropy'/);
  const cifar = '(x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()\n';
  assert.deepEqual(kr(script(cifar, 'x_train, y_train', 'Dense(NUM_CLASSES, activation="sigmoid")').replace('import numpy', 'NUM_CLASSES = 10\nimport numpy')), ['KR002']);
});

test('KR002 single-label: linear logits with BinaryCrossentropy(from_logits=True) on one-hot labels; no fix', () => {
  const code = script(`${MNIST}\ny_train = to_categorical(y_train)\n`, 'x_train, y_train', 'Dense(10)', 'keras.losses.BinaryCrossentropy(from_logits=True)');
  const f = lint(code, { select: ['KR002'] });
  assert.equal(f.length, 1);
  assert.match(f[0]!.message, /logits with binary_crossentropy\(from_logits=True\).*categorical_crossentropy\(from_logits=True\)/);
  assert.equal(f[0]!.fixes, undefined);
});

test('KR002 single-label: no fix when the loss or activation is not a literal of this compile', () => {
  const code = script(`${MNIST}\ny_train = to_categorical(y_train)\nLOSS = 'binary_crossentropy'\n`, 'x_train, y_train', "Dense(10, activation='sigmoid')", 'LOSS');
  const f = lint(code, { select: ['KR002'] });
  assert.equal(f.length, 1);
  assert.equal(f[0]!.fixes, undefined);
});

test('KR002 single-label: quiet on multi-label and unknown targets', () => {
  const cases = [
    // multi-label: several 1s per row
    ['from sklearn.preprocessing import MultiLabelBinarizer\nY = MultiLabelBinarizer().fit_transform(df["tags"])\n', 'X, Y'],
    ['df = pd.read_csv("data.csv")\nY = pd.get_dummies(df[["color", "size"]]).values\n', 'X, Y'],
    ['df = pd.read_csv("data.csv")\nY = pd.get_dummies(df).values\n', 'X, Y'],
    ['Y = df["tags"].str.get_dummies("|").values\n', 'X, Y'],
    ['Y = to_categorical(a, 10) + to_categorical(b, 10)\n', 'X, Y'],
    ['from sklearn.preprocessing import OneHotEncoder\nY = OneHotEncoder().fit_transform(df[["a", "b"]]).toarray()\n', 'X, Y'],
    ['Y = np.eye(10)[labels]\nY[:, 3] = 1\n', 'X, Y'],
    // unknown labels
    ['Y = np.load("targets.npy")\n', 'X, Y'],
    ['', 'train_generator'],
    // an autoencoder on mnist images: the targets are the pixels, not the labels
    [`${MNIST}\n`, 'x_train, x_train'],
    ['', 'X, Y'],
  ];
  for (const [prep, args] of cases) assert.deepEqual(kr(script(prep!, args!)), [], prep);
});

test('KR002 single-label: quiet on two classes, one unit, softmax or categorical loss already', () => {
  const onehot = `${MNIST}\ny_train = to_categorical(y_train)\n`;
  assert.deepEqual(kr(script('Y = to_categorical(y, 2)\n', 'X, Y', "Dense(2, activation='sigmoid')")), []);
  assert.deepEqual(kr(script('Y = np.eye(2)[y]\n', 'X, Y', 'Dense(num_classes, activation="sigmoid")')), []);
  assert.deepEqual(kr(script('from sklearn.preprocessing import LabelBinarizer\nY = LabelBinarizer().fit_transform(y)\n', 'X, Y', "Dense(1, activation='sigmoid')")), []);
  assert.deepEqual(kr(script(onehot, 'x_train, y_train', "Dense(10, activation='softmax')", "'categorical_crossentropy'")), []);
  assert.deepEqual(kr(script(onehot, 'x_train, y_train', "Dense(10, activation='sigmoid')", "'mse'")), []);
  // from_logits=True on sigmoid outputs is KR003's finding, not this one
  assert.deepEqual(kr(script(onehot, 'x_train, y_train', "Dense(10, activation='sigmoid')", 'keras.losses.BinaryCrossentropy(from_logits=True)')), []);
  // relu outputs with BCE keep KR002's "not probabilities" finding (an error), not this warning
  const relu = lint(script(onehot, 'x_train, y_train', "Dense(10, activation='relu')"), { select: ['KR002'] });
  assert.equal(relu.length, 1);
  assert.match(relu[0]!.message, /not probabilities/);
});
