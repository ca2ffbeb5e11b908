// Keras shapes from real buggy scripts the rules used to miss: snippets posted without their imports, a loss helper
// that receives a model's output as a parameter (also through `self.` attributes of a GAN class), a Keras loss called
// on a tensor that already went through a sigmoid/softmax outside any model, and a one-unit binary output fit on the
// labels of a data set with ten classes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ids, lint, useParser } from './lint/helpers';

useParser();

test('KR001/KR002: a snippet without imports (Sequential, Dense, models./layers. unbound) is read as Keras', () => {
  const seq = (head: string, out: string, loss: string) => `
    ${head}
    net = Sequential()
    net.add(Dense(64, activation='relu', input_dim=20))
    net.add(${out})
    net.compile(optimizer='adam', loss='${loss}', metrics=['accuracy'])
  `;
  assert.deepEqual(ids(seq('', "Dense(1, activation='softmax')", 'binary_crossentropy'), 'KR001'), ['KR001']);
  assert.deepEqual(ids(seq('', "Dense(10, activation='softmax')", 'binary_crossentropy'), 'KR002'), ['KR002']);
  // Dense(n) then Activation('softmax'), with `models.` / `layers.` module names left unimported
  const modules = `
    clf = models.Sequential()
    clf.add(layers.Flatten(input_shape=(28, 28)))
    clf.add(layers.Dense(n_out))
    clf.add(layers.Activation('softmax'))
    clf.compile(loss='binary_crossentropy', optimizer='sgd')
  `;
  assert.deepEqual(ids(modules, 'KR002'), ['KR002']);
  // the right pairs stay quiet
  assert.deepEqual(ids(seq('', "Dense(1, activation='sigmoid')", 'binary_crossentropy')).filter((r) => r.startsWith('KR')), []);
  assert.deepEqual(ids(seq('', "Dense(10, activation='softmax')", 'categorical_crossentropy')).filter((r) => r.startsWith('KR')), []);
});

test('KR001/KR002: an unbound name is Keras only when nothing in the file could define it', () => {
  const file = (head: string) => `${head}\nnet = Sequential()\nnet.add(Dense(10, activation='softmax'))\nnet.compile(optimizer='adam', loss='binary_crossentropy')\n`;
  assert.deepEqual(ids(file(''), 'KR002'), ['KR002']);
  // a star import of an unknown module may define Sequential / Dense
  assert.deepEqual(ids(file('from mylib import *'), 'KR002'), []);
  // the file defines its own Dense / Sequential, or imports them from elsewhere
  assert.deepEqual(ids(file('def Dense(n, activation=None):\n    return (n, activation)'), 'KR002'), []);
  assert.deepEqual(ids(file('from mylib.nets import Sequential'), 'KR002'), []);
  assert.deepEqual(ids(file('Sequential = list'), 'KR002'), []);
});

test('KR003: a loss helper gets the model output as a parameter; every call site agrees', () => {
  const gan = (act: string, second: string, extra = '') => `
    import tensorflow as tf
    from tensorflow.keras import layers, Sequential

    def make_critic():
        net = Sequential()
        net.add(layers.Flatten(input_shape=(32, 32, 3)))
        net.add(layers.Dense(1${act}))
        return net

    critic = make_critic()
    bce = tf.keras.losses.BinaryCrossentropy(from_logits=True)

    def critic_loss(real_scores, fake_scores):
        return bce(tf.ones_like(real_scores), real_scores) + bce(tf.zeros_like(fake_scores), fake_scores)

    def step(real, fake):
        with tf.GradientTape() as tape:
            a = critic(real, training=True)
            b = ${second}
            loss = critic_loss(a, b)
        return loss
    ${extra}
  `;
  assert.deepEqual(ids(gan(", activation='sigmoid'", 'critic(fake, training=True)'), 'KR003'), ['KR003']);
  // the output through tf.squeeze and a slice
  const direct = (pred: string) => `
    import tensorflow as tf
    from tensorflow import keras
    clf = keras.Sequential([keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1, activation="sigmoid")])
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    def step(x, y):
        return bce(y, ${pred})
  `;
  assert.deepEqual(ids(direct('tf.squeeze(clf(x))'), 'KR003'), ['KR003']);
  assert.deepEqual(ids(direct('clf(x)[:, 0]'), 'KR003'), ['KR003']);
  assert.deepEqual(ids(direct('tf.reduce_max(clf(x), axis=0)'), 'KR003'), []);
  // logits out: from_logits=True is right
  assert.deepEqual(ids(gan('', 'critic(fake, training=True)'), 'KR003'), []);
  // another call site passes other scores for both parameters: the call sites disagree, silent
  const other = gan(", activation='sigmoid'", 'critic(fake, training=True)', 'warmup = critic_loss(tf.random.normal([8, 1]), tf.random.normal([8, 1]))');
  assert.deepEqual(ids(other, 'KR003'), []);
});

test('KR003: a GAN class keeps the discriminator and the loss in self attributes set from parameters', () => {
  const src = (act: string) => `
    import tensorflow as tf
    from tensorflow import keras

    disc = keras.Sequential([keras.Input(shape=(64,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(1${act})])

    class Adversarial(keras.Model):
        def __init__(self, disc):
            super().__init__()
            self.disc = disc

        def compile(self, opt, criterion):
            super().compile()
            self.opt = opt
            self.criterion = criterion

        def train_step(self, batch):
            with tf.GradientTape() as tape:
                scores = self.disc(batch)
                loss = self.criterion(tf.ones_like(scores), scores)
            return {"loss": loss}

    model = Adversarial(disc)
    model.compile(opt=keras.optimizers.Adam(), criterion=keras.losses.BinaryCrossentropy(from_logits=True))
  `;
  assert.deepEqual(ids(src(', activation="sigmoid"'), 'KR003'), ['KR003']);
  assert.deepEqual(ids(src(''), 'KR003'), []);
});

test('KR002: a categorical Keras loss called on a tensor that went through a sigmoid, outside any model', () => {
  const src = (act: string, loss: string) => `
    import tensorflow as tf
    from tensorflow.keras.losses import ${loss}

    def decode(raw, n):
        box, cls = tf.split(raw, (4, n), axis=-1)
        cls = ${act}(cls)
        return box, cls

    def head_loss(y_true, y_pred):
        box, cls_prob = decode(y_pred, 20)
        return ${loss}(y_true[..., 4], cls_prob)
  `;
  const got = lint(src('tf.sigmoid', 'sparse_categorical_crossentropy'), { select: ['KR002'] });
  assert.deepEqual(got.map((f) => f.rule), ['KR002']);
  assert.match(got[0]!.message, /comes from a sigmoid \(line 6\)/);
  assert.deepEqual(ids(src('tf.nn.sigmoid', 'categorical_crossentropy'), 'KR002'), ['KR002']);
  // softmax probabilities, or sigmoid with binary crossentropy: right
  assert.deepEqual(ids(src('tf.nn.softmax', 'sparse_categorical_crossentropy'), 'KR002'), []);
  assert.deepEqual(ids(src('tf.sigmoid', 'binary_crossentropy'), 'KR002'), []);
  // unknown activation (a helper of another module): silent
  assert.deepEqual(ids(src('helpers.squash', 'sparse_categorical_crossentropy'), 'KR002'), []);
});

test('KR003: a Keras loss with from_logits=True called on a tensor already through a softmax', () => {
  const src = (flag: string, pred: string) => `
    import tensorflow as tf
    xent = tf.keras.losses.CategoricalCrossentropy(from_logits=${flag})

    def score(weights, x, y):
        logits = tf.matmul(x, weights)
        probs = tf.nn.softmax(logits)
        return xent(y, ${pred})
  `;
  assert.deepEqual(ids(src('True', 'probs'), 'KR003'), ['KR003']);
  assert.deepEqual(ids(src('True', 'logits'), 'KR003'), []);
  assert.deepEqual(ids(src('False', 'probs'), 'KR003'), []);
  // the function form, with from_logits in the call
  const fn = `
    import tensorflow as tf
    def score(z, y):
        p = tf.sigmoid(z)
        return tf.keras.losses.binary_crossentropy(y, p, from_logits=True)
  `;
  assert.deepEqual(ids(fn, 'KR003'), ['KR003']);
  assert.deepEqual(ids(fn.replace('from_logits=True', 'from_logits=False'), 'KR003'), []);
});

test('LS005: a one-unit binary output fit on the labels of a many-class data set', () => {
  const mnist = (prep: string, units = '1', act = 'sigmoid', loss = 'binary_crossentropy') => `
    from keras.datasets import mnist
    from keras.models import Sequential
    from keras.layers import Dense
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    x_train = x_train.reshape(-1, 784) / 255.0
    ${prep}
    model = Sequential()
    model.add(Dense(64, activation='relu', input_shape=(784,)))
    model.add(Dense(${units}, activation='${act}'))
    model.compile(optimizer='adam', loss='${loss}', metrics=['accuracy'])
    model.fit(x_train, labels, epochs=3)
  `;
  const got = lint(mnist('labels = y_train.astype("float32")'), { select: ['LS005'] });
  assert.deepEqual(got.map((f) => f.rule), ['LS005']);
  assert.match(got[0]!.message, /10 class labels of mnist/);
  assert.deepEqual(ids(mnist('labels = y_train[:5000]'), 'LS005'), ['LS005']);
  // binarised labels: a comparison, an in-place edit, a mask that keeps two digits
  assert.deepEqual(ids(mnist('labels = (y_train == 3).astype(int)'), 'LS005'), []);
  assert.deepEqual(ids(mnist('y_train[y_train > 0] = 1\nlabels = y_train'), 'LS005'), []);
  assert.deepEqual(ids(mnist('keep = (y_train == 0) | (y_train == 1)\nlabels = y_train[keep]'), 'LS005'), []);
  // one-hot labels, or a softmax head: not this bug
  assert.deepEqual(ids(mnist('labels = to_categorical(y_train)'), 'LS005'), []);
  assert.deepEqual(ids(mnist('labels = y_train', '10', 'softmax', 'sparse_categorical_crossentropy'), 'LS005'), []);
});

test('LS005: scikit-learn loaders and train_test_split carry the class count', () => {
  const iris = (load: string) => `
    from sklearn.datasets import load_iris, load_digits
    from sklearn.model_selection import train_test_split
    from tensorflow import keras
    ${load}
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2)
    clf = keras.Sequential([keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1, activation="sigmoid")])
    clf.compile(optimizer="adam", loss="binary_crossentropy")
    clf.fit(X_tr, y_tr, epochs=20)
  `;
  assert.deepEqual(ids(iris('X, y = load_iris(return_X_y=True)'), 'LS005'), ['LS005']);
  assert.deepEqual(ids(iris('data = load_digits()\nX = data.data\ny = data.target'), 'LS005'), ['LS005']);
  // two classes asked for, or the X half of the split
  assert.deepEqual(ids(iris('X, y = load_digits(n_class=2, return_X_y=True)'), 'LS005'), []);
  assert.deepEqual(ids(iris('X, y = load_iris(return_X_y=True)').replace('clf.fit(X_tr, y_tr', 'clf.fit(X_tr, X_te'), 'LS005'), []);
});
