// Keras / hyperparameter shapes from the eighth round of real buggy scripts: a batch norm built through an alias
// (module-level, try/except fallback, parameter, local conditional, partial), a functional model imported from an old
// Keras path (`keras.engine.Model`), and a categorical loss on a one-unit softmax.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ids, lint, useParser } from './lint/helpers';

useParser();

test('HP007: a batch-norm class reached through a module-level alias, also a try/except fallback', () => {
  const fallback = (m: string) => `
    import torch.nn as nn
    try:
        from encoding.nn import SyncBatchNorm
        NORM = SyncBatchNorm
    except ImportError:
        NORM = nn.BatchNorm2d

    class ConvBn(nn.Sequential):
        def __init__(self, cin, cout):
            super().__init__()
            self.add_module("conv", nn.Conv2d(cin, cout, 3, bias=False))
            self.add_module("bn", NORM(cout, eps=1e-5, momentum=${m}))
  `;
  const found = lint(fallback('0.999'), { select: ['HP007'] });
  assert.deepEqual(found.map((f) => f.rule), ['HP007']);
  assert.match(found[0]!.message, /NORM holds torch\.nn\.BatchNorm2d.*momentum=0\.001/);
  assert.deepEqual(ids(fallback('0.001'), 'HP007'), []);
  // a plain alias, and the import of the same name in the try
  const plain = `
    import torch.nn as nn
    BN = nn.BatchNorm1d
    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.bn = BN(128, momentum=0.9)
  `;
  assert.deepEqual(ids(plain, 'HP007'), ['HP007']);
  const imported = `
    import torch.nn as nn
    try:
        from apex.parallel import SyncBatchNorm as BN
    except ImportError:
        BN = nn.BatchNorm2d
    def block(c):
        return BN(c, momentum=0.99)
  `;
  assert.deepEqual(ids(imported, 'HP007'), ['HP007']);
});

test('HP007: aliases that may hold something else stay quiet', () => {
  // one binding is a call (a factory), another a class of an unknown library with another name
  const unknown = `
    import torch.nn as nn
    try:
        NORM = make_norm()
    except Exception:
        NORM = nn.BatchNorm2d
    def block(c):
        return NORM(c, momentum=0.9)
  `;
  assert.deepEqual(ids(unknown, 'HP007'), []);
  const other = `
    import torch.nn as nn
    from mylib import GroupNormish
    NORM = nn.BatchNorm2d
    if USE_GN:
        NORM = GroupNormish
    def block(c):
        return NORM(c, momentum=0.9)
  `;
  assert.deepEqual(ids(other, 'HP007'), []);
  // a parameter every call site passes something unknown for; the file's own class of that name
  const param = `
    import torch.nn as nn
    def block(c, norm):
        return norm(c, momentum=0.9)
    block(64, get_norm())
  `;
  assert.deepEqual(ids(param, 'HP007'), []);
  const ownClass = `
    import torch.nn as nn
    class MyNorm(nn.Module):
        def __init__(self, c, momentum=0.9):
            super().__init__()
    n = MyNorm(3, momentum=0.9)
  `;
  assert.deepEqual(ids(ownClass, 'HP007'), []);
});

test('HP007: a norm-layer parameter, a local conditional alias, partial and a Keras alias', () => {
  const param = `
    import torch.nn as nn
    class Block(nn.Module):
        def __init__(self, c, norm_layer=nn.BatchNorm2d):
            super().__init__()
            self.bn = norm_layer(c, momentum=0.99)
  `;
  assert.deepEqual(ids(param, 'HP007'), ['HP007']);
  // every call site passes a torch class
  const passed = `
    import torch.nn as nn
    def block(c, norm):
        return norm(c, momentum=0.9)
    a = block(64, nn.BatchNorm2d)
    b = block(32, nn.BatchNorm2d)
  `;
  assert.deepEqual(ids(passed, 'HP007'), ['HP007']);
  const local = `
    import torch.nn as nn
    def make(c, flat):
        norm = nn.BatchNorm1d if flat else nn.BatchNorm2d
        return norm(c, momentum=0.9)
  `;
  assert.deepEqual(ids(local, 'HP007'), ['HP007']);
  const partial = (m: string) => `
    import torch.nn as nn
    from functools import partial
    norm_layer = partial(nn.BatchNorm2d, eps=1e-3, momentum=${m})
  `;
  assert.deepEqual(ids(partial('0.99'), 'HP007'), ['HP007']);
  assert.deepEqual(ids(partial('0.01'), 'HP007'), []);
  const keras = (m: string) => `
    from tensorflow import keras
    BN = keras.layers.BatchNormalization
    x = BN(momentum=${m})(inputs)
  `;
  assert.deepEqual(ids(keras('0.1'), 'HP007'), ['HP007']);
  assert.deepEqual(ids(keras('0.99'), 'HP007'), []);
});

test('KR002: a functional model imported from an old Keras path (keras.engine.Model) is read', () => {
  const code = (imp: string, loss: string) => `
    ${imp}
    from keras.layers import Input, Dense, GlobalAveragePooling2D
    inp = Input(shape=(32, 32, 3))
    x = GlobalAveragePooling2D()(inp)
    out = Dense(10, activation='softmax')(x)
    net = Model(inputs=inp, outputs=out)
    net.compile(loss='${loss}', optimizer='sgd', metrics=['accuracy'])
  `;
  assert.deepEqual(ids(code('from keras.engine import Model', 'binary_crossentropy'), 'KR002'), ['KR002']);
  assert.deepEqual(ids(code('from keras.engine.training import Model', 'binary_crossentropy'), 'KR002'), ['KR002']);
  assert.deepEqual(ids(code('from keras.engine import Model', 'categorical_crossentropy'), 'KR002'), []);
  // a class named Model from another library is not Keras'
  assert.deepEqual(ids(code('from mylib.engine import Model', 'binary_crossentropy'), 'KR002'), []);
});

test('KR002: a categorical loss on a one-unit softmax is identically 0 (KR001 reports the layer)', () => {
  const code = (loss: string) => `
    import tensorflow as tf
    model = tf.keras.models.Sequential()
    model.add(tf.keras.layers.Flatten(input_shape=(7, 7, 512)))
    model.add(tf.keras.layers.Dense(256, activation='relu'))
    model.add(tf.keras.layers.Dense(1, activation='softmax'))
    model.compile(loss=${loss}, optimizer='adam', metrics=['accuracy'])
  `;
  const found = lint(code('tf.keras.losses.categorical_crossentropy'), { select: ['KR001', 'KR002'] });
  assert.deepEqual(found.map((f) => f.rule).sort(), ['KR001', 'KR002']);
  assert.match(found.find((f) => f.rule === 'KR002')!.message, /identically 0/);
  assert.deepEqual(ids(code("'sparse_categorical_crossentropy'"), 'KR002'), ['KR002']);
  // binary crossentropy on it: the layer is the one bug (KR001 only)
  assert.deepEqual(ids(code("'binary_crossentropy'"), 'KR002'), []);
});
