// Session 14 (wild6): HP005 through helpers, hook state and negated losses; KR003 and KR007 / EV007 on Keras and TF2 code.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

const PLATEAU = 'torch.optim.lr_scheduler.ReduceLROnPlateau';

/** A helper that builds the optimizer and the scheduler, and a loop that steps what it returns. */
const helperScript = (ret: string, unpack: string, step: string, extra = '') => `${HEADER}
def setup(model, lr):
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    scheduler = ${PLATEAU}(optimizer, patience=2, factor=0.2)
${extra}    return ${ret}

def main(model):
    ${unpack} = setup(model, 1e-3)
    for epoch in range(100):
        train(model, optimizer)
        val_acc = evaluate(model)
        sched.step(val_acc)
`.replace('sched.step(val_acc)', step);

test('HP005: a scheduler returned by a helper of the file (whole or as a tuple element)', () => {
  assert.deepEqual(ids(helperScript('optimizer, scheduler', 'optimizer, sched', 'sched.step(val_acc)'), 'HP005'), ['HP005']);
  assert.deepEqual(ids(helperScript('(optimizer, scheduler)', 'opt, sched', 'sched.step(val_acc)'), 'HP005'), ['HP005']);
  assert.deepEqual(ids(helperScript('scheduler', 'sched', 'sched.step(val_acc)'), 'HP005'), ['HP005']);
  // The constructor fix lands in the helper.
  const f = lint(helperScript('optimizer, scheduler', 'optimizer, sched', 'sched.step(val_acc)'), { select: ['HP005'] });
  assert.equal(f[0]!.fixes?.[0]?.edits.length, 1);
});

test('HP005: a helper whose returns disagree, or the element that is not the scheduler, is silent', () => {
  // The other element of the tuple is the optimizer.
  assert.deepEqual(ids(helperScript('optimizer, scheduler', 'sched, optimizer', 'sched.step(val_acc)'), 'HP005'), []);
  // One return hands back another scheduler.
  const other = '    if lr > 1:\n        return optimizer, torch.optim.lr_scheduler.StepLR(optimizer, 10)\n';
  assert.deepEqual(ids(helperScript('optimizer, scheduler', 'optimizer, sched', 'sched.step(val_acc)', other), 'HP005'), []);
  // The same shape stepped with a loss: right.
  assert.deepEqual(ids(helperScript('optimizer, scheduler', 'optimizer, sched', 'sched.step(val_loss)'), 'HP005'), []);
});

test('HP005: a negated loss is a value that rises', () => {
  const script = (build: string, step: string, pre = '') =>
    `${HEADER}model = nn.Linear(4, 2)\noptimizer = torch.optim.SGD(model.parameters(), lr=0.1)\nscheduler = ${build}\nfor epoch in range(20):\n    ${pre}val_loss, val_acc = evaluate(model)\n    ${step}\n`;
  const f = lint(script(`${PLATEAU}(optimizer)`, 'scheduler.step(-val_loss)'), { select: ['HP005'] });
  assert.deepEqual(f.map((x) => x.rule), ['HP005']);
  assert.match(f[0]!.message, /^-val_loss should rise, .* Build it with mode='max', or drop the minus\.$/);
  assert.deepEqual(ids(script(`${PLATEAU}(optimizer)`, 'scheduler.step(-(val_loss))'), 'HP005'), ['HP005']);
  assert.deepEqual(ids(script(`${PLATEAU}(optimizer)`, 'scheduler.step(-loss_meter.avg)'), 'HP005'), ['HP005']);
  // mode='max' with a negated accuracy: falls as the model improves.
  assert.deepEqual(ids(script(`${PLATEAU}(optimizer, mode='max')`, 'scheduler.step(-val_acc)'), 'HP005'), ['HP005']);
  // Right pairs: mode='max' with the negated loss, the default with the negated accuracy, a double negation.
  assert.deepEqual(ids(script(`${PLATEAU}(optimizer, mode='max')`, 'scheduler.step(-val_loss)'), 'HP005'), []);
  assert.deepEqual(ids(script(`${PLATEAU}(optimizer)`, 'scheduler.step(-val_acc)'), 'HP005'), []);
  assert.deepEqual(ids(script(`${PLATEAU}(optimizer)`, 'scheduler.step(-neg_loss)'), 'HP005'), []);
  assert.deepEqual(ids(script(`${PLATEAU}(optimizer)`, 'scheduler.step(-meter.avg)'), 'HP005'), []);
});

test('HP005: the tracker behind an aggregate names the value (meter.avg, metric.compute())', () => {
  const script = (step: string) =>
    `${HEADER}model = nn.Linear(4, 2)\noptimizer = torch.optim.SGD(model.parameters(), lr=0.1)\nscheduler = ${PLATEAU}(optimizer)\nfor epoch in range(20):\n    evaluate(model, acc_meter, loss_meter)\n    ${step}\n`;
  for (const step of ['scheduler.step(acc_meter.avg)', 'scheduler.step(val_acc_metric.compute())', "scheduler.step(meters['val_acc'].avg)"]) {
    assert.deepEqual(ids(script(step), 'HP005'), ['HP005'], step);
  }
  for (const step of ['scheduler.step(loss_meter.avg)', 'scheduler.step(meter.avg)', 'scheduler.step(acc_meter.count)']) {
    assert.deepEqual(ids(script(step), 'HP005'), [], step);
  }
});

/** Hooks of a framework's engine that hands its state to each hook (the scheduler among its entries). */
const hookScript = (builds: string, step: string) => `${HEADER}
from core.engine import Engine
model = build_model()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
${builds}

def on_update(state):
    if state['t'] % 100 == 0:
        val_state = engine.test(network, val_loader)
        ${step}

engine = Engine()
engine.hooks['on_update'] = on_update
engine.train(network, train_loader, optimizer=optimizer, scheduler=scheduler)
`;

test("HP005: state['scheduler'] in a hook is the file's only scheduler build", () => {
  const plateau = `scheduler = ${PLATEAU}(optimizer, factor=0.5, patience=3)`;
  assert.deepEqual(ids(hookScript(plateau, "state['scheduler'].step(-val_state['loss_meter'].avg)"), 'HP005'), ['HP005']);
  assert.deepEqual(ids(hookScript(plateau, 'state.lr_scheduler.step(val_state.acc)'), 'HP005'), ['HP005']);
  // Right: the loss itself.
  assert.deepEqual(ids(hookScript(plateau, "state['scheduler'].step(val_state['loss_meter'].avg)"), 'HP005'), []);
  // Another scheduler built in the file (or by a factory): which one the state holds is unknown.
  const two = `${plateau}\nwarmup = torch.optim.lr_scheduler.LinearLR(optimizer)`;
  assert.deepEqual(ids(hookScript(two, "state['scheduler'].step(-val_state['loss_meter'].avg)"), 'HP005'), []);
  const factory = `${plateau}\nother = build_scheduler(cfg, optimizer)`;
  assert.deepEqual(ids(hookScript(factory, "state['scheduler'].step(-val_state['loss_meter'].avg)"), 'HP005'), []);
  // An entry not named for a scheduler.
  assert.deepEqual(ids(hookScript(plateau, "state['opt'].step(-val_state['loss_meter'].avg)"), 'HP005'), []);
});

/** A TensorFlow graph-era script: the network's output goes into a `*_with_logits` loss by position. */
const graphScript = (out: string, loss: string, pre = 'x = tf.placeholder("float", [None, 784])\ny = tf.placeholder("float", [None, 10])\n') => `import tensorflow as tf
${pre}W1 = tf.Variable(tf.random_normal([784, 256]))
W2 = tf.Variable(tf.random_normal([256, 10]))

def net(inputs):
    hidden = tf.nn.relu(tf.matmul(inputs, W1))
    return ${out}

pred = net(x)
cost = tf.reduce_mean(${loss})
train_op = tf.train.AdamOptimizer(1e-3).minimize(cost)
sess = tf.Session()
sess.run(tf.initialize_all_variables())
`;

test('KR003: TensorFlow before 1.0 took (logits, labels) by position; graph-era files are read that way', () => {
  const f = lint(graphScript('tf.sigmoid(tf.matmul(hidden, W2))', 'tf.nn.softmax_cross_entropy_with_logits(pred, y)'), { select: ['KR003'] });
  assert.deepEqual(f.map((x) => x.rule), ['KR003']);
  assert.match(f[0]!.message, /receives the output of a sigmoid \(line 9\), so a softmax is applied on top of the sigmoid\./);
  assert.deepEqual(ids(graphScript('tf.nn.softmax(tf.matmul(hidden, W2))', 'tf.nn.sparse_softmax_cross_entropy_with_logits(pred, labels)'), 'KR003'), ['KR003']);
  assert.deepEqual(ids(graphScript('tf.nn.sigmoid(tf.matmul(hidden, W2))', 'tf.nn.sigmoid_cross_entropy_with_logits(pred, y)', 'x = tf.placeholder(tf.float32)\n'), 'KR003'), ['KR003']);
  // A session alone (no placeholder) says the same.
  assert.deepEqual(ids(graphScript('tf.sigmoid(tf.matmul(hidden, W2))', 'tf.nn.softmax_cross_entropy_with_logits(pred, y)', 'x, y = iterator.get_next()\n'), 'KR003'), ['KR003']);
});

test('KR003: positional losses outside graph-era files, keywords, and raw logits stay as they were', () => {
  // TF2 (no graph-mode calls): (labels, logits); soft labels from a softmax are labels, not logits.
  const tf2 = `import tensorflow as tf
def distill(teacher_logits, student_logits, T=2.0):
    soft = tf.nn.softmax(teacher_logits / T)
    return tf.nn.softmax_cross_entropy_with_logits(soft, student_logits / T)
`;
  assert.deepEqual(ids(tf2, 'KR003'), []);
  // Graph era, but raw logits first.
  assert.deepEqual(ids(graphScript('tf.matmul(hidden, W2)', 'tf.nn.softmax_cross_entropy_with_logits(pred, y)'), 'KR003'), []);
  // Keywords say which is which.
  assert.deepEqual(ids(graphScript('tf.sigmoid(tf.matmul(hidden, W2))', 'tf.nn.softmax_cross_entropy_with_logits(labels=pred, logits=z)'), 'KR003'), []);
  assert.deepEqual(ids(graphScript('tf.sigmoid(tf.matmul(hidden, W2))', 'tf.nn.softmax_cross_entropy_with_logits(logits=pred, labels=y)'), 'KR003'), ['KR003']);
  // tf.losses.* always took (labels, logits).
  assert.deepEqual(ids(graphScript('tf.nn.softmax(tf.matmul(hidden, W2))', 'tf.losses.softmax_cross_entropy(pred, z)'), 'KR003'), []);
  // The _v2 loss came with TF 1.5: never (logits, labels).
  assert.deepEqual(ids(graphScript('tf.nn.softmax(tf.matmul(hidden, W2))', 'tf.nn.softmax_cross_entropy_with_logits_v2(pred, z)'), 'KR003'), []);
});

/** An estimator's model_fn that builds its Keras model inside and scores it with a loss object called at once. */
const modelFn = (head: string, loss: string) => `import tensorflow as tf

def model_fn(features, labels, mode):
    model = tf.keras.Sequential([
        tf.keras.layers.Flatten(input_shape=(28, 28)),
        tf.keras.layers.Dense(128, activation='relu'),
        ${head},
    ])
    logits = model(features, training=mode == tf.estimator.ModeKeys.TRAIN)
    loss = ${loss}(labels, logits)
    optimizer = tf.compat.v1.train.AdamOptimizer(1e-3)
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=optimizer.minimize(loss))
`;

test('KR003: a loss object built and called at once, on a model built in a function', () => {
  const f = lint(modelFn("tf.keras.layers.Dense(10, activation='softmax')", 'tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)'), { select: ['KR003'] });
  assert.deepEqual(f.map((x) => x.rule), ['KR003']);
  assert.match(f[0]!.message, /already applies softmax but the loss is told from_logits=True/);
  assert.deepEqual(ids(modelFn('tf.keras.layers.Dense(10)', 'tf.keras.losses.SparseCategoricalCrossentropy()'), 'KR003'), ['KR003']);
  assert.deepEqual(ids(modelFn("tf.keras.layers.Dense(1, activation='sigmoid')", 'tf.keras.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1)'), 'KR003'), ['KR003']);
  // Right pairs.
  assert.deepEqual(ids(modelFn('tf.keras.layers.Dense(10)', 'tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)'), 'KR003'), []);
  assert.deepEqual(ids(modelFn("tf.keras.layers.Dense(10, activation='softmax')", 'tf.keras.losses.SparseCategoricalCrossentropy()'), 'KR003'), []);
  // A loss from a factory of another module: unknown.
  assert.deepEqual(ids(modelFn("tf.keras.layers.Dense(10, activation='softmax')", "losses.get('xent', from_logits=True)"), 'KR003'), []);
});

/** A Keras layer or model whose `call` body is `body` (after `x = self.fc1(x)`). */
const kerasCall = (body: string, base = 'tf.keras.layers.Layer', sig = 'self, x', init = '') => `import tensorflow as tf
from tensorflow.keras import layers

class Block(${base}):
    def __init__(self, rate=0.3):
        super().__init__()
        self.fc1 = layers.Dense(128)
        self.fc2 = layers.Dense(10)
        self.rate = rate
${init}
    def call(${sig}):
        x = tf.nn.relu(self.fc1(x))
${body}
        return self.fc2(x)

block = Block()
out = block(tf.zeros([4, 32]))
`;

test('EV007: TF2 tf.nn.dropout with a fixed rate in a Keras call() has no training flag', () => {
  const f = lint(kerasCall('        x = tf.nn.dropout(x, 0.2)'), { select: ['EV007'] });
  assert.deepEqual(f.map((x) => x.rule), ['EV007']);
  assert.match(f[0]!.message, /^tf\.nn\.dropout\(\.\.\.\) in call\(\) ignores the training flag, .*layers\.Dropout\(0\.2\)/);
  assert.equal(f[0]!.fixes, undefined);
  for (const body of ['        x = tf.nn.dropout(x, rate=0.5)', '        x = tf.nn.dropout(x, self.rate)', '        x = tf.compat.v1.nn.dropout(x, rate=0.1)']) {
    assert.deepEqual(ids(kerasCall(body), 'EV007'), ['EV007'], body);
  }
  assert.deepEqual(ids(kerasCall('        x = tf.nn.dropout(x, 0.2)', 'tf.keras.Model'), 'EV007'), ['EV007']);
  // A training argument the method takes but only hands to another layer does not switch this one off.
  const passed = kerasCall('        x = self.norm(x, training=training)\n        x = tf.nn.dropout(x, 0.2)', 'tf.keras.Model', 'self, x, training=False', '        self.norm = layers.BatchNormalization()\n');
  assert.deepEqual(ids(passed, 'EV007'), ['EV007']);
});

test('EV007: TF2 dropout gated on training, in a branch function, outside a Keras call(), or Monte Carlo: silent', () => {
  for (const [body, sig] of [
    ['        if training:\n            x = tf.nn.dropout(x, 0.2)', 'self, x, training=None'],
    ['        x = tf.nn.dropout(x, 0.2) if training else x', 'self, x, training=None'],
    ['        if not training:\n            return self.fc2(x)\n        x = tf.nn.dropout(x, 0.2)', 'self, x, training=None'],
    ['        x = tf.cond(is_training, lambda: tf.nn.dropout(x, 0.2), lambda: x)', 'self, x, is_training'],
    ['        x = tf.keras.backend.in_train_phase(tf.nn.dropout(x, 0.2), x, training=training)', 'self, x, training=None'],
    ['        x = tf.nn.dropout(x, rate=self.rate * tf.cast(training, tf.float32))', 'self, x, training=None'],
    ['        x = tf.nn.dropout(x, rate=rate)', 'self, x, rate'],
    ['        x = tf.nn.dropout(x, keep_prob=0.8)', 'self, x'],
  ] as const) {
    assert.deepEqual(ids(kerasCall(body, 'tf.keras.layers.Layer', sig), 'EV007'), [], body);
  }
  // Not a Keras class, or not its call().
  assert.deepEqual(ids(kerasCall('        x = tf.nn.dropout(x, 0.2)', 'object'), 'EV007'), []);
  const helper = `import tensorflow as tf\ndef mlp(x, w):\n    h = tf.nn.relu(tf.matmul(x, w))\n    return tf.nn.dropout(h, 0.5)\n`;
  assert.deepEqual(ids(helper, 'EV007'), []);
  // Monte Carlo dropout keeps it on at prediction on purpose.
  assert.deepEqual(ids(`# Monte Carlo dropout for predictive uncertainty\n${kerasCall('        x = tf.nn.dropout(x, 0.2)')}`, 'EV007'), []);
});

/** A model wrapper whose forward helper loops over its layers; `loop` is the loop body, `use` the training step's call. */
const stackScript = (loop: string, use = 'self.forward(x, training=True)', head = 'from tensorflow.keras.layers import BatchNormalization, Dropout, Dense') => `import tensorflow as tf
${head}

class Regressor:
    def __init__(self, specs):
        # specs: [{"units": 64}, {"dropout": 0.1}, {"batchnorm": True}]
        self.layers = build_layers(specs)
        self.opt = tf.keras.optimizers.Adam(1e-3)

    def forward(self, x, training=False):
        y = x
        for layer in self.layers:
${loop}
        return y

    def train_step(self, x, target):
        with tf.GradientTape() as tape:
            pred = ${use}
            loss = tf.reduce_mean(tf.square(pred - target))
        grads = tape.gradient(loss, self.weights)
        self.opt.apply_gradients(zip(grads, self.weights))
        return loss
`;

const GUARDED = '            if isinstance(layer, BatchNormalization):\n                y = layer(y, training=training)\n            else:\n                y = layer(y)';

test('KR007: a forward loop that passes training= to some layers only, called with training=True', () => {
  const f = lint(stackScript(GUARDED), { select: ['KR007'] });
  assert.deepEqual(f.map((x) => x.rule), ['KR007']);
  assert.match(f[0]!.message, /^layer\(y\) is called without training=training, which this loop passes to some layers only/);
  assert.equal(f[0]!.fixes?.[0]?.edits[0]?.newText, ', training=training');
  assert.deepEqual(ids(fix(stackScript(GUARDED), 'KR007'), 'KR007'), []);
  const expr = '            y = layer(y, training=training) if isinstance(layer, (BatchNormalization,)) else layer(y)';
  assert.deepEqual(ids(stackScript(expr), 'KR007'), ['KR007']);
  const byName = "            if 'batch_norm' in layer.name:\n                y = layer(y, training=training)\n            else:\n                y = layer(y)";
  assert.deepEqual(ids(stackScript(byName), 'KR007'), ['KR007']);
});

test('KR007: a forward loop that passes training= to every layer, is never called for training, or has no dropout: silent', () => {
  assert.deepEqual(ids(stackScript('            y = layer(y, training=training)'), 'KR007'), []);
  // Called with a runtime flag or without it: whether it trains is not shown.
  assert.deepEqual(ids(stackScript(GUARDED, 'self.forward(x, training=flag)'), 'KR007'), []);
  assert.deepEqual(ids(stackScript(GUARDED, 'self.forward(x)'), 'KR007'), []);
  // No dropout anywhere in the file.
  const plain = stackScript(GUARDED, undefined, 'from tensorflow.keras.layers import BatchNormalization, Dense').replace('{"dropout": 0.1}, ', '');
  assert.deepEqual(ids(plain, 'KR007'), []);
  // Not TensorFlow code.
  const torch = stackScript(GUARDED, undefined, 'import torch').replace('import tensorflow as tf\n', '');
  assert.deepEqual(ids(torch, 'KR007'), []);
});
