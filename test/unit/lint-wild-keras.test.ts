// Keras (and torch) code shapes seen in real buggy snippets: star imports (`from keras.layers import *`), a model
// passed to a custom training function, an augmenting ImageDataGenerator that also yields the validation subset.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lintDocument, lintSource, ParsedDocument } from '../../src/lint';
import { Imports } from '../../src/lint/analysis/imports';
import { parseSource } from '../../src/lint/parser';
import { dedent, editSteps, ids, useParser } from './lint/helpers';

useParser();

/** Qualified name of each expression given, with the imports (and bound names) of `src`. */
function resolve(src: string, names: string[], bound: string[] = []): (string | undefined)[] {
  const doc = parseSource(src);
  const imports = doc.root.namedChildren.filter((n) => n.type === 'import_statement' || n.type === 'import_from_statement');
  const im = new Imports(imports, (n) => bound.includes(n));
  return names.map((n) => im.resolve(parseSource(n).root.namedChildren[0]!.namedChildren[0]));
}

test('star imports: a name the file never binds resolves to the star-imported module that exports it', () => {
  const both = 'from tensorflow.keras.layers import *\nfrom keras.models import *\nfrom keras.optimizers import *\n';
  assert.deepEqual(resolve(both, ['Dense', 'Sequential', 'Adam', 'Model', 'foo', 'print']), ['keras.layers.Dense', 'keras.models.Sequential', 'keras.optimizers.Adam', 'keras.models.Model', undefined, undefined]);
  // Keras 0.x/1.x spells the layers module keras.layers.core.
  assert.deepEqual(resolve('from keras.layers.core import *\n', ['Dense']), ['keras.layers.core.Dense']);
  assert.deepEqual(resolve('from torch.nn import *\nfrom torch.optim import *\n', ['CrossEntropyLoss', 'Adam', 'max']), ['torch.nn.CrossEntropyLoss', 'torch.optim.Adam', undefined]);
  // The last star import that exports a name wins, as in Python.
  assert.deepEqual(resolve('from torch import *\nfrom torch.nn.functional import *\n', ['softmax']), ['torch.nn.functional.softmax']);
  // A name the file binds (a def, an assignment) is its own, and an explicit import wins.
  assert.deepEqual(resolve(both, ['Dense'], ['Dense']), [undefined]);
  assert.deepEqual(resolve(`${both}from mylib import Dense\n`, ['Dense']), ['mylib.Dense']);
  // A module without a table resolves nothing (no rule knows its names; unresolved reads as "maybe the user's").
  assert.deepEqual(resolve('from utils import *\n', ['build_model', 'len']), [undefined, undefined]);
  assert.deepEqual(resolve('from utils import *\nfrom keras.layers import *\n', ['build_model', 'Dense']), [undefined, 'keras.layers.Dense']);
  assert.deepEqual(resolve('from .utils import *\nfrom helpers import *\n', ['build_model']), [undefined]);
  // Conventional names keep their meaning (`nn` is torch.nn in snippets, not whatever utils exports).
  assert.deepEqual(resolve('from utils import *\n', ['nn.Linear']), ['torch.nn.Linear']);
});

test('KR001/KR003 see layers behind `from keras.layers import *`', () => {
  const seq = (imports: string) => `${imports}\nmodel = Sequential([Dense(16, activation="relu"), Dense(1, activation="softmax")])\nmodel.compile(loss="binary_crossentropy", optimizer="adam")\n`;
  assert.deepEqual(ids(seq('from tensorflow.keras.models import Sequential\nfrom tensorflow.keras.layers import *'), 'KR001'), ['KR001']);
  assert.deepEqual(ids(seq('from keras.models import *\nfrom keras.layers import *\nfrom keras.optimizers import *'), 'KR001'), ['KR001']);
  // Look-alikes: the file's own Dense; a star import of a module that is not Keras.
  assert.deepEqual(ids(seq('from keras.models import *\nfrom keras.layers import *\nclass Dense:\n    pass'), 'KR001'), []);
  assert.deepEqual(ids(seq('from keras.models import Sequential\nfrom mylayers import *'), 'KR001'), []);
  const tape = (imports: string) => `import tensorflow as tf
${imports}

def build(n):
    inp = Input((20,))
    x = Dense(64, activation="relu")(inp)
    return Model(inputs=inp, outputs=Dense(n, activation="softmax")(x))

model = build(5)
loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
with tf.GradientTape() as tape:
    loss = loss_fn(y, model(x))
`;
  assert.deepEqual(ids(tape('from tensorflow.keras.layers import *\nfrom tensorflow.keras.models import *'), 'KR003'), ['KR003']);
  assert.deepEqual(ids(tape('from tensorflow.keras.layers import *\nfrom tensorflow.keras.models import *').replace('"softmax"', 'None'), 'KR003'), []);
});

test('torch rules see classes behind `from torch.nn import *`', () => {
  const src = 'import torch\nfrom torch.nn import *\n\ncriterion = CrossEntropyLoss(size_average=False)\n';
  assert.deepEqual(ids(src, 'API002'), ['API002']);
  assert.deepEqual(ids(`${src}\ndef CrossEntropyLoss(size_average=True):\n    pass\n`, 'API002'), []);
});

// --- Incremental re-lint: whether a star import resolves a name depends on the names the file binds elsewhere.


test('incremental: binding or unbinding a name a known star import resolves re-resolves unchanged functions', () => {
  const text = dedent(`
    import torch
    from torch.nn import *


    def train(model, loader):
        criterion = CrossEntropyLoss(size_average=False)
        for x, y in loader:
            loss = criterion(model(x), y)


    LIMIT = 3
  `);
  editSteps(text, [
    ['LIMIT = 3', 'CrossEntropyLoss = LIMIT'],
    ['CrossEntropyLoss = LIMIT', 'LIMIT = 3'],
    ['LIMIT = 3', 'def CrossEntropyLoss(size_average=True):\n    pass'],
    ['def CrossEntropyLoss(size_average=True):\n    pass', 'LIMIT = 3'],
  ]);
});

test('incremental: random edits of files with star imports equal a fresh lint', () => {
  const docs = [
    dedent(`
      import tensorflow as tf
      from tensorflow.keras.layers import *
      from tensorflow.keras.models import *
      from torch.nn import *
      from utils import *


      def build(n):
          inp = Input((20,))
          x = Dense(64, activation="relu")(inp)
          x = Dropout(0.8)(x)
          return Model(inputs=inp, outputs=Dense(n, activation="softmax")(x))


      model = Sequential([Dense(16, activation="relu"), Dense(1, activation="softmax")])
      model.compile(loss="binary_crossentropy", optimizer="adam")
      criterion = CrossEntropyLoss(size_average=False)
      drop = Dropout(0.9)
      probe(1)
    `),
    dedent(`
      import torch
      from torch.nn import *


      class Net(Module):
          def __init__(self):
              super().__init__()
              self.fc = Linear(10, 3)
              self.drop = Dropout(0.8)

          def forward(self, x):
              return Softmax(dim=1)(self.fc(x))


      def train(loader):
          model = Net()
          criterion = CrossEntropyLoss(reduce=False)
          for x, y in loader:
              loss = criterion(model(x), y)
              loss.backward()


      Dropout = 1
    `),
  ];
  const snippets = ['x', '(', ')', ' ', '\n', 'Dense = 1\n', 'Dropout = None\n', 'CrossEntropyLoss = 2\n', 'from keras.layers import *\n', 'from kit import *\n', 'def Linear(): pass\n', '#'];
  let s = 17;
  const rnd = (n: number) => ((s = (s * 1103515245 + 12345) % 2147483648) % n);
  let changed = 0;
  for (const text of docs) {
    const doc = new ParsedDocument(text);
    let before = JSON.stringify(lintDocument(doc));
    try {
      for (let i = 0; i < 80; i++) {
        const at = rnd(doc.source.length + 1);
        if (rnd(3) === 0) doc.applyEdit(at, Math.min(doc.source.length, at + 1 + rnd(12)), '');
        else doc.applyEdit(at, at, snippets[rnd(snippets.length)]!);
        const got = lintDocument(doc);
        assert.deepEqual(got, lintSource(doc.source, { verifyCandidates: true }), `edit ${i} at ${at}`);
        if (JSON.stringify(got) !== before) changed++;
        before = JSON.stringify(got);
      }
    } finally {
      doc.dispose();
    }
  }
  assert.ok(changed > 10, `findings changed after ${changed} edits`);
});

test('KR003: a model passed to a custom training function is followed to its call sites, one level up', () => {
  const src = (calls: string, act = '"softmax"') => `import tensorflow as tf
from tensorflow import keras

def make(n):
    inp = keras.Input((8,))
    return keras.Model(inp, keras.layers.Dense(n, activation=${act})(inp))

def fit_step(net, xb, yb):
    loss_fn = keras.losses.CategoricalCrossentropy(from_logits=True)
    with tf.GradientTape() as tape:
        loss = loss_fn(yb, net(xb, training=True))
    return tape.gradient(loss, net.trainable_variables)

${calls}
`;
  assert.deepEqual(ids(src('clf = make(4)\nfit_step(clf, xs, ys)'), 'KR003'), ['KR003']);
  assert.deepEqual(ids(src('fit_step(net=make(4), xb=xs, yb=ys)\nfit_step(make(3), xs, ys)'), 'KR003'), ['KR003']);
  // Look-alikes: a logits model; call sites that pass different models; an unknown model; two levels of calls.
  assert.deepEqual(ids(src('clf = make(4)\nfit_step(clf, xs, ys)', 'None'), 'KR003'), []);
  const two = 'def make2():\n    inp = keras.Input((8,))\n    return keras.Model(inp, keras.layers.Dense(4)(inp))\n\nfit_step(make(4), xs, ys)\nfit_step(make2(), xs, ys)';
  assert.deepEqual(ids(src(two), 'KR003'), []);
  assert.deepEqual(ids(src('fit_step(keras.models.load_model("m.keras"), xs, ys)'), 'KR003'), []);
  assert.deepEqual(ids(src('def outer(m):\n    return fit_step(m, xs, ys)\n\nouter(make(4))'), 'KR003'), []);
});

test('DT010: one augmenting ImageDataGenerator also yields the validation subset', () => {
  const gen = (args: string, flows: string) => `from tensorflow.keras.preprocessing.image import ImageDataGenerator
gen = ImageDataGenerator(${args})
${flows}
model.fit(train_it, validation_data=val_it, epochs=5)
`;
  const aug = 'rescale=1/255, zoom_range=0.2, horizontal_flip=True, validation_split=0.25';
  const subsets = 'train_it = gen.flow_from_directory("imgs", subset="training")\nval_it = gen.flow_from_directory("imgs", subset="validation")';
  assert.deepEqual(ids(gen(aug, subsets), 'DT010'), ['DT010']);
  assert.deepEqual(ids(gen(aug, "train_it = gen.flow(xs, ys, subset='training')\nval_it = gen.flow(xs, ys, subset='validation')"), 'DT010'), ['DT010']);
  assert.deepEqual(ids(gen(aug, 'train_it = gen.flow_from_dataframe(df, subset="training")\nval_it = gen.flow_from_dataframe(df, subset="validation")'), 'DT010'), ['DT010']);
  // A held-out name or validation_data= without a subset: the validation images come from the augmenting generator.
  assert.deepEqual(ids(gen('rotation_range=30', 'train_it = gen.flow(x_tr, y_tr)\nvalidation_generator = gen.flow(x_va, y_va)'), 'DT010'), ['DT010']);
  assert.deepEqual(ids(gen('width_shift_range=0.1', 'train_it = gen.flow(x_tr, y_tr)\nmodel.fit(train_it, validation_data=gen.flow(x_va, y_va))'), 'DT010'), ['DT010']);
  // Look-alikes: only rescale / preprocessing_function; augmentation set to its no-op value; a separate validation
  // generator; the training subset only; test-time augmentation.
  assert.deepEqual(ids(gen('rescale=1./255, validation_split=0.2', subsets), 'DT010'), []);
  assert.deepEqual(ids(gen('preprocessing_function=preprocess_input, validation_split=0.2', subsets), 'DT010'), []);
  assert.deepEqual(ids(gen('rotation_range=0, zoom_range=[1, 1], horizontal_flip=False, validation_split=0.2', subsets), 'DT010'), []);
  const separate = `${aug.replace('rescale', 'rescale')})\nval_gen = ImageDataGenerator(rescale=1/255, validation_split=0.25`;
  assert.deepEqual(ids(gen(separate, 'train_it = gen.flow_from_directory("imgs", subset="training")\nval_it = val_gen.flow_from_directory("imgs", subset="validation")'), 'DT010'), []);
  assert.deepEqual(ids(gen(aug, 'train_it = gen.flow_from_directory("imgs", subset="training")\nval_it = None'), 'DT010'), []);
  assert.deepEqual(ids(gen(aug, 'train_it = gen.flow(xs, ys)\nval_tta = gen.flow(x_va, y_va)\nval_it = None'), 'DT010'), []);
});

test('KR001/KR002: Keras 0.x Dense(input_dim, output_dim) reads the second integer as the units', () => {
  const src = (layers: string, loss: string) => `from keras.models import Sequential
from keras.layers.core import Dense, Activation

net = Sequential()
${layers}
net.compile(loss="${loss}", optimizer="rmsprop")
`;
  const one = 'net.add(Dense(10, 32, activation="tanh"))\nnet.add(Dense(32, 1, activation="softmax"))';
  assert.deepEqual(ids(src(one, 'binary_crossentropy'), 'KR001'), ['KR001']);
  assert.deepEqual(ids(src(one, 'binary_crossentropy'), 'KR002'), []);
  // Look-alikes: one output unit with sigmoid; the third positional is `init`, not the activation; Keras 2's Dense(units, activation).
  assert.deepEqual(ids(src(one.replace('"softmax"', '"sigmoid"'), 'binary_crossentropy'), 'KR001'), []);
  assert.deepEqual(ids(src('net.add(Dense(32, 3, "uniform"))\nnet.add(Activation("softmax"))', 'categorical_crossentropy'), 'KR002'), []);
  assert.deepEqual(ids(src('net.add(Dense(1, "softmax"))', 'binary_crossentropy'), 'KR001'), ['KR001']);
});
