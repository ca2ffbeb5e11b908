// TensorFlow/Keras shapes from real buggy scripts (recall round 5) the rules used to miss: probabilities passed as
// logits through a subclassed model's `call`, a method of the file's class or a model parameter of a training function
// the file never calls (KR003); images predicted on raw 0-255 pixels when training rescaled them, and MNIST pixels only
// converted to a float tensor (DT006); a generic training step that calls a model it cannot see without training=True
// (KR007).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ids, useParser } from './lint/helpers';

useParser();

/** A subclassed model whose `call` returns `ret`, and a training script around it. */
const unet = (ret: string, extra = '', trainArgs = 'params, model, dataset') => `
  import tensorflow as tf

  class SegNet(tf.keras.Model):
      def __init__(self):
          super().__init__()
          self.body = tf.keras.layers.Conv2D(16, 3, padding="same", activation="relu")
          self.head = tf.keras.layers.Conv2D(2, 1)

      def call(self, x, training=True):
          out = self.head(self.body(x))
          ${ret}

  ${extra}

  def seg_losses(pred, target):
      n = pred.shape[-1]
      flat_pred = tf.reshape(tf.cast(pred, tf.float32), [tf.shape(pred)[0], -1, n])
      flat_target = tf.reshape(target, [tf.shape(pred)[0], -1, n])
      ce = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(logits=flat_pred, labels=flat_target))
      return ce

  def train(${trainArgs}):
      opt = tf.keras.optimizers.Adam(1e-3)

      @tf.function
      def step(images, masks):
          with tf.GradientTape() as tape:
              scores = model(images)
              loss = seg_losses(scores, masks)
          grads = tape.gradient(loss, model.trainable_variables)
          opt.apply_gradients(zip(grads, model.trainable_variables))

      for images, masks in dataset:
          step(images, masks)
`;

test('KR003: a model parameter of a training function the file never calls is the file\'s one model class', () => {
  assert.deepEqual(ids(unet('return tf.keras.activations.softmax(out, axis=-1)'), 'KR003'), ['KR003']);
  assert.deepEqual(ids(unet('return tf.nn.softmax(out)'), 'KR003'), ['KR003']);
  // the model returns logits: right
  assert.deepEqual(ids(unet('return out'), 'KR003'), []);
  // softmax only on one path (inference): the returns disagree, nothing is known
  assert.deepEqual(ids(unet('if training:\n              return out\n          return tf.nn.softmax(out)'), 'KR003'), []);
  // two model classes: which one the parameter holds is unknown
  const other = 'class Other(tf.keras.Model):\n      def call(self, x):\n          return x';
  assert.deepEqual(ids(unet('return tf.nn.softmax(out)', other), 'KR003'), []);
  // the training function is called in the file with a model it cannot see: no guess
  const called = 'def main(params, dataset):\n      train(params, load_network(), dataset)';
  assert.deepEqual(ids(unet('return tf.nn.softmax(out)', called), 'KR003'), []);
  // a parameter not named like a model
  assert.deepEqual(ids(unet('return tf.nn.softmax(out)', '', 'params, fwd, dataset').replace(/model\(/g, 'fwd('), 'KR003'), []);
});

test('KR003: a model instance of the file applied to its input runs its call (names, self attributes)', () => {
  const direct = `
    import tensorflow as tf

    class Tagger(tf.keras.Model):
        def __init__(self, n):
            super().__init__()
            self.proj = tf.keras.layers.Dense(n)

        def call(self, x):
            return tf.nn.sigmoid(self.proj(x))

    tagger = Tagger(5)
    def step(x, y):
        with tf.GradientTape() as tape:
            probs = tagger(x)
            loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=probs))
        return tape.gradient(loss, tagger.trainable_variables)
  `;
  assert.deepEqual(ids(direct, 'KR003'), ['KR003']);
  assert.deepEqual(ids(direct.replace('tf.nn.sigmoid(self.proj(x))', 'self.proj(x)'), 'KR003'), []);
  // the sigmoid only when not training (`call(x, is_training=False)`): the assignments reaching the return disagree
  const branch = 'h = self.proj(x)\n            if not is_training:\n                h = tf.nn.sigmoid(h)\n            return h';
  const switched = direct.replace('def call(self, x):', 'def call(self, x, is_training=False):').replace('return tf.nn.sigmoid(self.proj(x))', branch);
  assert.deepEqual(ids(switched.replace('probs = tagger(x)', 'probs = tagger(x, is_training=True)'), 'KR003'), []);
  // held in a trainer's attribute; a Keras loss told from_logits=True
  const trainer = `
    import tensorflow as tf

    class Head(tf.keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.out = tf.keras.layers.Dense(10, activation="softmax")

        def call(self, h):
            return self.out(h)

    class Trainer:
        def __init__(self):
            self.net = Head()
            self.loss_fn = tf.keras.losses.CategoricalCrossentropy(from_logits=True)

        def step(self, x, y):
            with tf.GradientTape() as tape:
                loss = self.loss_fn(y, self.net(x))
            return loss
  `;
  assert.deepEqual(ids(trainer, 'KR003'), ['KR003']);
  assert.deepEqual(ids(trainer.replace('from_logits=True', 'from_logits=False'), 'KR003'), []);
  assert.deepEqual(ids(trainer.replace('activation="softmax"', 'activation=None'), 'KR003'), []);
});

test('KR003: a method of the file\'s class (self.generator(x)) returns probabilities scored as logits', () => {
  const gan = (gen: string, use: string) => `
    import tensorflow as tf

    class SegGAN(object):
        def __init__(self, shape):
            self.x = tf.placeholder(tf.float32, shape=[None, *shape, 3])
            self.y = tf.placeholder(tf.float32, shape=[None, *shape, 1])
            self.build()

        def build(self):
            self.fake = self.generator(self.x)
            d_prob, d_logit = self.critic(tf.concat([self.x, self.fake], axis=3))
            self.adv = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(logits=${use}, labels=tf.ones_like(d_logit)))
            self.seg = tf.reduce_mean(tf.compat.v1.losses.sigmoid_cross_entropy(self.y, self.fake))

        def generator(self, data, name="g_"):
            with tf.variable_scope(name):
                h = tf.layers.conv2d(data, 32, 3, padding="same", activation=tf.nn.relu)
                out = tf.layers.conv2d(h, 1, 1)
                ${gen}

        def critic(self, data, name="d_"):
            with tf.variable_scope(name):
                out = tf.layers.dense(tf.layers.flatten(data), 1)
                return tf.nn.sigmoid(out), out
  `;
  // the segmentation loss gets the generator's sigmoid map
  assert.deepEqual(ids(gan('return tf.nn.sigmoid(out)', 'd_logit'), 'KR003'), ['KR003']);
  assert.deepEqual(ids(gan('return out', 'd_logit'), 'KR003'), []);
  // element 0 of the critic's (probability, logit) pair is not logits; element 1 is
  assert.deepEqual(ids(gan('return out', 'd_prob'), 'KR003'), ['KR003']);
  // through an instance of the class: gan.generator(x)
  const outside = `
    import tensorflow as tf

    class Nets:
        def generator(self, z):
            return tf.nn.softmax(tf.layers.dense(z, 10))

    nets = Nets()
    z = tf.placeholder(tf.float32, [None, 8])
    y = tf.placeholder(tf.int32, [None])
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(y, nets.generator(z))
  `;
  assert.deepEqual(ids(outside, 'KR003'), ['KR003']);
  assert.deepEqual(ids(outside.replace('tf.nn.softmax(tf.layers.dense(z, 10))', 'tf.layers.dense(z, 10)'), 'KR003'), []);
});

test('KR003: a Sequential model with a softmax output layer scored by a tf.nn loss in a custom loop', () => {
  const code = (act: string) => `
    import tensorflow as tf
    model = tf.keras.Sequential([tf.keras.layers.Flatten(), tf.keras.layers.Dense(10${act})])
    opt = tf.keras.optimizers.Adam()
    for x, y in ds:
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=model(x, training=True)))
        opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
  `;
  assert.deepEqual(ids(code(', activation="softmax"'), 'KR003'), ['KR003']);
  assert.deepEqual(ids(code(''), 'KR003'), []);
});

/** A generator-trained classifier, then a prediction on an uploaded image (`pre` prepares `x`). */
const rps = (pre: string, opts: { gen?: string; layers?: string; model?: string } = {}) => `
  import numpy as np
  import tensorflow as tf
  from tensorflow.keras.preprocessing import image
  from tensorflow.keras.preprocessing.image import ImageDataGenerator

  train_gen = ImageDataGenerator(${opts.gen ?? 'rescale=1.0 / 255, zoom_range=0.2'}).flow_from_directory("data/train", target_size=(150, 150))
  net = tf.keras.Sequential([
      ${opts.layers ?? ''}tf.keras.layers.Conv2D(32, 3, activation="relu", input_shape=(150, 150, 3)),
      tf.keras.layers.Flatten(),
      tf.keras.layers.Dense(3, activation="softmax"),
  ])
  net.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
  net.fit(train_gen, epochs=10)
  ${opts.model ?? ''}

  for path in uploads:
      pic = image.load_img(path, target_size=(150, 150))
      x = image.img_to_array(pic)
      ${pre}
      batch = np.vstack([np.expand_dims(x, axis=0)])
      print(net.predict(batch))
`;

test('DT006: trained on ImageDataGenerator(rescale=1/255) batches, predicted on raw img_to_array pixels', () => {
  assert.deepEqual(ids(rps('pass'), 'DT006'), ['DT006']);
  // scaled on the way to predict
  assert.deepEqual(ids(rps('x = x / 255.0'), 'DT006'), []);
  assert.deepEqual(ids(rps('x /= 255.'), 'DT006'), []);
  // the model scales its own inputs (and the generator does not)
  assert.deepEqual(ids(rps('pass', { gen: 'zoom_range=0.2', layers: 'tf.keras.layers.Rescaling(1.0 / 255),\n      ' }), 'DT006'), []);
  // a generator without rescale: nothing says the model expects 0-1 inputs
  assert.deepEqual(ids(rps('pass', { gen: 'zoom_range=0.2' }), 'DT006'), []);
  // a model loaded from disk may scale inside
  assert.deepEqual(ids(rps('pass', { model: 'net = tf.keras.models.load_model("best.h5")' }), 'DT006'), []);
  // np.array(load_img(...)) holds the same pixels
  const pil = rps('pass').replace('x = image.img_to_array(pic)', 'x = np.array(image.load_img(path))');
  assert.deepEqual(ids(pil, 'DT006'), ['DT006']);
});

test('DT006: training arrays divided by 255, held-out or prediction arrays left raw', () => {
  const mnist = (rest: string) => `
    import cv2
    import numpy as np
    import tensorflow as tf
    (x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data()
    x_train = x_train.astype("float32") / 255.0
    model = tf.keras.Sequential([tf.keras.layers.Flatten(), tf.keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    ${rest}
  `;
  assert.deepEqual(ids(mnist('model.fit(x_train, y_train)\n    model.evaluate(x_test, y_test)'), 'DT006'), ['DT006']);
  assert.deepEqual(ids(mnist('model.fit(x_train, y_train, validation_data=(x_test, y_test))'), 'DT006'), ['DT006']);
  assert.deepEqual(ids(mnist('x_test = x_test / 255.0\n    model.fit(x_train, y_train, validation_data=(x_test, y_test))\n    model.evaluate(x_test, y_test)'), 'DT006'), []);
  // a photo read with OpenCV, resized, predicted as it is
  const photo = 'model.fit(x_train, y_train)\n    img = cv2.resize(cv2.imread("digit.png", 0), (28, 28))\n    print(model.predict(img.reshape(1, 28, 28)))';
  assert.deepEqual(ids(mnist(photo), 'DT006'), ['DT006']);
  assert.deepEqual(ids(mnist(photo.replace('img.reshape(1, 28, 28)', 'img.reshape(1, 28, 28) / 255.0')), 'DT006'), []);
  // scaled for display only: no sign that the model trains on scaled inputs
  const display = `
    import cv2
    import matplotlib.pyplot as plt
    import tensorflow as tf
    model = tf.keras.Sequential([tf.keras.layers.Flatten(), tf.keras.layers.Dense(10, activation="softmax")])
    model.load_weights("w.h5")
    img = cv2.imread("digit.png", 0)
    plt.imshow(img / 255.0)
    print(model.predict(img.reshape(1, 28, 28)))
  `;
  assert.deepEqual(ids(display, 'DT006'), []);
});

test('DT006: pixels only converted to a float tensor (tf.convert_to_tensor, tf.cast) stay 0-255', () => {
  const code = (conv: string) => `
    import tensorflow as tf
    from tensorflow import keras
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    x_train = ${conv}
    model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    model.fit(x_train, y_train, epochs=10)
  `;
  assert.deepEqual(ids(code('tf.convert_to_tensor(x_train, dtype="float")'), 'DT006'), ['DT006']);
  assert.deepEqual(ids(code('tf.cast(x_train, tf.float32)'), 'DT006'), ['DT006']);
  assert.deepEqual(ids(code('tf.cast(x_train, tf.float32) / 255.0'), 'DT006'), []);
  // convert_image_dtype scales uint8 to [0, 1]
  assert.deepEqual(ids(code('tf.image.convert_image_dtype(x_train, tf.float32)'), 'DT006'), []);
});

test('KR007: a generic training step trains a model passed in from outside the file without training=True', () => {
  const wrapper = (forward: string, extra = '') => `
    import tensorflow as tf

    class Trainer(object):
        def __init__(self, model, loss_fn, learning_rate=1e-3):
            self.model = model
            self.loss_fn = loss_fn
            self.opt = tf.keras.optimizers.Adam(learning_rate)

        def make_step(self):
            @tf.function
            def step(x, y):
                with tf.GradientTape() as tape:
                    out = ${forward}
                    loss = self.loss_fn(out, y)
                grads = tape.gradient(loss, self.model.trainable_variables)
                self.opt.apply_gradients(zip(grads, self.model.trainable_variables))
                return loss
            return step
    ${extra}
  `;
  assert.deepEqual(ids(wrapper('self.model(x)'), 'KR007'), ['KR007']);
  assert.deepEqual(ids(wrapper('self.model(x, training=True)'), 'KR007'), []);
  // the file builds the trainer itself: the model is not one from outside (and has no Dropout here)
  const built = 'net = tf.keras.Sequential([tf.keras.layers.Dense(1)])\n    trainer = Trainer(net, tf.keras.losses.mse)';
  assert.deepEqual(ids(wrapper('self.model(x)', built), 'KR007'), []);
  // a function parameter of a step the file never calls
  const fnStep = (grads: string) => `
    import tensorflow as tf

    def train_step(model, optimizer, x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x) - y))
        grads = tape.gradient(loss, ${grads})
        optimizer.apply_gradients(zip(grads, ${grads}))
  `;
  assert.deepEqual(ids(fnStep('model.trainable_variables'), 'KR007'), ['KR007']);
  // not the model's own variables (a frozen feature extractor next to trained weights): no claim
  assert.deepEqual(ids(fnStep('head_vars'), 'KR007'), []);
  // a callable not named like a model (an encoder function, a loss)
  assert.deepEqual(ids(fnStep('model.trainable_variables').replace('model(x)', 'transform(x)').replace('def train_step(model,', 'def train_step(model, transform,'), 'KR007'), []);
});

test('KR007: a model parameter of a never-called training function is the file\'s one model class, with its call default', () => {
  const withDropout = (sig: string) =>
    unet('return out')
      .replace('self.head = tf.keras.layers.Conv2D(2, 1)', 'self.head = tf.keras.layers.Conv2D(2, 1)\n          self.drop = tf.keras.layers.Dropout(0.5)')
      .replace('out = self.head(self.body(x))', 'out = self.head(self.drop(self.body(x)))')
      .replace('def call(self, x, training=True):', `def call(self, ${sig}):`);
  // `call(self, x, training=True)`: Keras uses call's own default, the model trains in training mode
  assert.deepEqual(ids(unet('return out'), 'KR007'), []);
  assert.deepEqual(ids(withDropout('x, training=True'), 'KR007'), []);
  assert.deepEqual(ids(withDropout('x, training=None'), 'KR007'), ['KR007']);
});
