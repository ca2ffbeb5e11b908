// Sweep-4 precision fixes. KR007: a subclassed Keras model with a mode switch of its own (`call(self, x,
// is_training=False)` forwarding `training=is_training`), and subclassed models whatever their `call` returns.
// AR006: softmax without dim on a tensor whose rank is known and whose implicit axis is the right one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fix, HEADER, ids, lint, useParser } from './lint/helpers';

useParser();

const kr7 = (code: string) => ids(code, 'KR007');

/** A subclassed model: `sig` is its call signature, `mode` the training= it gives its layers, `ret` what call returns. */
const critic = (sig: string, mode: string, site: string, ret = 'self.head(h)') => `import tensorflow as tf
from tensorflow.keras import layers

class Critic(tf.keras.Model):
    def __init__(self):
        super().__init__()
        self.proj = layers.Dense(128)
        self.norm = layers.BatchNormalization()
        self.drop = layers.Dropout(0.25)
        self.head = layers.Dense(1)

    def call(${sig}):
        h = self.norm(self.proj(inputs)${mode})
        h = self.drop(tf.nn.relu(h)${mode})
        return ${ret}

critic = Critic()
adam = tf.keras.optimizers.Adam(2e-4)

def update(real, fake):
    with tf.GradientTape() as tape:
        score_real = ${site.replace('$X', 'real')}
        score_fake = ${site.replace('$X', 'fake')}
        loss = tf.reduce_mean(score_fake) - tf.reduce_mean(score_real)
    grads = tape.gradient(loss, critic.trainable_variables)
    adam.apply_gradients(zip(grads, critic.trainable_variables))
`;

const OWN = ', training=train_mode';
const SIG_OWN = 'self, inputs, train_mode=False';

test('KR007: an own mode switch passed True by keyword or by position is training mode', () => {
  assert.deepEqual(kr7(critic(SIG_OWN, OWN, 'critic($X, train_mode=True)')), []);
  assert.deepEqual(kr7(critic(SIG_OWN, OWN, 'critic($X, True)')), []);
  // An explicit False says what the author means: not this rule's business.
  assert.deepEqual(kr7(critic(SIG_OWN, OWN, 'critic($X, train_mode=False)')), []);
  // The switch defaults to True: omitted, the layers train.
  assert.deepEqual(kr7(critic('self, inputs, train_mode=True', OWN, 'critic($X)')), []);
  // Any argument named like a training flag: quiet (the model reads it somehow).
  assert.deepEqual(kr7(critic('self, inputs, is_train=False, train_mode=False', OWN, 'critic($X, is_train=True)')), []);
});

test('KR007: an own mode switch omitted (default False) is reported, and the fix passes that switch', () => {
  const code = critic(SIG_OWN, OWN, 'critic($X)');
  const found = lint(code, { select: ['KR007'] });
  assert.deepEqual(
    found.map((f) => f.rule),
    ['KR007', 'KR007'],
  );
  assert.match(found[0]!.message, /train_mode=True/);
  const fixed = fix(code, 'KR007');
  assert.match(fixed, /critic\(real, train_mode=True\)/);
  // A positional argument for the input only does not bind the switch.
  assert.deepEqual(kr7(critic(SIG_OWN, OWN, 'critic($X, )')), ['KR007', 'KR007']);
});

test("KR007: Keras's own flag: omitted is inference unless call's default is True; explicit literals are not read", () => {
  assert.deepEqual(kr7(critic('self, inputs, training=None', ', training=training', 'critic($X)')), ['KR007', 'KR007']);
  assert.deepEqual(kr7(critic('self, inputs', '', 'critic($X)')), ['KR007', 'KR007']);
  assert.deepEqual(kr7(critic('self, inputs, training=True', ', training=training', 'critic($X)')), []);
  assert.deepEqual(kr7(critic('self, inputs', ', training=True', 'critic($X)')), []);
  // One layer on Keras's flag, the other on an own switch: which argument to pass is unclear, stay quiet.
  const mixed = critic(SIG_OWN, OWN, 'critic($X)').replace('self.drop(tf.nn.relu(h), training=train_mode)', 'self.drop(tf.nn.relu(h))');
  assert.deepEqual(kr7(mixed), []);
});

test('KR007: a subclassed model is read whatever its call returns (an op, several returns)', () => {
  const tanh = critic('self, inputs, training=False', ', training=training', 'critic($X)', 'tf.nn.tanh(self.head(h))');
  assert.deepEqual(kr7(tanh), ['KR007', 'KR007']);
  assert.deepEqual(kr7(tanh.replace(/critic\((real|fake)\)/g, 'critic($1, training=True)')), []);
  const own = critic(SIG_OWN, OWN, 'critic($X, train_mode=True)', 'tf.nn.tanh(self.head(h))');
  assert.deepEqual(kr7(own), []);
  assert.deepEqual(kr7(own.replace(/, train_mode=True\)/g, ')')), ['KR007', 'KR007']);
});

test('KR007: LayerNormalization behaves the same in training; model(x, True) passes training by position', () => {
  const seq = (layers: string, call: string) => `import tensorflow as tf
model = tf.keras.Sequential([${layers}])
with tf.GradientTape() as tape:
    loss = loss_fn(y, ${call})
`;
  const norm = 'tf.keras.layers.Dense(32), tf.keras.layers.LayerNormalization(), tf.keras.layers.Dense(4)';
  assert.deepEqual(kr7(seq(norm, 'model(x)')), []);
  assert.deepEqual(kr7(seq(norm.replace('LayerNormalization', 'BatchNormalization'), 'model(x)')), ['KR007']);
  assert.deepEqual(kr7(seq(norm.replace('LayerNormalization', 'BatchNormalization'), 'model(x, True)')), []);
});

// AR006: F.softmax without dim.
const ar6 = (code: string) => lint(`${HEADER}${code}`, { select: ['AR006'] });

test('AR006: a 1-D or 2-D input of known rank: the implicit axis is right, info and a softer message', () => {
  for (const made of ['torch.zeros(n_steps)', 'torch.randn(4, 10)', 'torch.tensor([0.5, 1.5, 2.0])', 'scores.view(-1)', 'torch.empty((n, k))', 'logits.view(-1, logits.size(-1))']) {
    const found = ar6(`w = ${made}\np = F.softmax(w)\n`);
    assert.equal(found.length, 1, made);
    assert.equal(found[0]!.severity, 'info', made);
    assert.match(found[0]!.message, /deprecated/, made);
    assert.doesNotMatch(found[0]!.message, /batch/, made);
  }
  // The fix keeps the implicit axis: -1 for 1-D and 2-D, 1 for 4-D (channels).
  assert.match(fix(`${HEADER}w = torch.zeros(n_steps)\np = F.softmax(w)\n`, 'AR006'), /F\.softmax\(w, dim=-1\)/);
  const four = ar6('w = torch.randn(2, 5, 8, 8)\np = F.softmax(w)\n');
  assert.equal(four[0]!.severity, 'info');
  assert.match(fix(`${HEADER}w = torch.randn(2, 5, 8, 8)\np = F.softmax(w)\n`, 'AR006'), /F\.softmax\(w, dim=1\)/);
});

test('AR006: 3-D or unknown rank keeps the warning that dim 0 may be the batch', () => {
  for (const made of ['torch.zeros(b, t, c)', 'model(x)', 'torch.zeros(*shape)', 'torch.zeros(size)']) {
    const found = ar6(`w = ${made}\np = F.softmax(w)\n`);
    assert.equal(found.length, 1, made);
    assert.equal(found[0]!.severity, 'warning', made);
    assert.match(found[0]!.message, /batch/, made);
  }
  assert.match(ar6('w = torch.zeros(b, t, c)\np = F.softmax(w)\n')[0]!.message, /3-D input normalises over dim 0/);
  // Rebound after the rank-known assignment: the last value counts.
  assert.equal(ar6('w = torch.zeros(n)\nw = model(w)\np = F.softmax(w)\n')[0]!.severity, 'warning');
});
