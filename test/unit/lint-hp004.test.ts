import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, lint, useParser } from './lint/helpers';

useParser();

// ---- HP004 dropout-rate-as-keep-probability ----
const TF = 'import tensorflow as tf\nfrom tensorflow import keras\nfrom tensorflow.keras import layers\n';

test('HP004: nn.Dropout(0.8) is a warning naming the complement; no fix', () => {
  const f = lint(`${HEADER}\nmodel = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.8), nn.Linear(256, 10))\n`);
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}:${x.range.start.line}`), ['HP004:warning:5']);
  assert.equal(f[0]!.message, 'nn.Dropout(0.8) drops 80 % of the units (p is the probability to drop, not to keep): did you mean 0.2?');
  assert.equal(f[0]!.fixes, undefined);
  assert.equal(f[0]!.range.start.column, 'model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Dropout('.length);
});

test('HP004: layer variants, p=, functional dropout, complements without float noise', () => {
  const msg = (code: string) => lint(code, { select: ['HP004'] }).map((x) => x.message);
  assert.deepEqual(msg(`${HEADER}self.drop = nn.Dropout(p=0.9)\n`), ['nn.Dropout(p=0.9) drops 90 % of the units (p is the probability to drop, not to keep): did you mean 0.1?']);
  assert.deepEqual(msg(`${HEADER}d = nn.Dropout2d(0.95)\n`), ['nn.Dropout2d(0.95) drops 95 % of the units (p is the probability to drop, not to keep): did you mean 0.05?']);
  assert.deepEqual(ids(`${HEADER}d = nn.Dropout3d(0.8)\na = nn.AlphaDropout(0.85)\nb = torch.nn.Dropout(0.875)\n`, 'HP004'), ['HP004', 'HP004', 'HP004']);
  assert.match(msg(`${HEADER}b = torch.nn.Dropout(0.875)\n`)[0]!, /drops 87\.5 % .*did you mean 0\.125\?$/);
  assert.deepEqual(msg(`${HEADER}x = F.dropout(x, 0.8, training=self.training)\n`), ['F.dropout(..., 0.8) drops 80 % of the units (p is the probability to drop, not to keep): did you mean 0.2?']);
  assert.deepEqual(ids(`${HEADER}x = F.dropout(x, p=0.9, training=self.training)\n`, 'HP004'), ['HP004']);
  assert.deepEqual(ids(`${HEADER}x = torch.nn.functional.dropout(x, p=0.8, training=self.training)\n`, 'HP004'), ['HP004']);
  assert.deepEqual(ids(`from torch.nn import Dropout\nd = Dropout(0.8)\n`, 'HP004'), ['HP004']);
  assert.match(msg(`${HEADER}d = nn.Dropout(1.0)\n`)[0]!, /^nn\.Dropout\(1\.0\) drops every unit .*did you mean p=0 \(no dropout\)\?$/);
});

test('HP004: Keras Dropout(rate) in its spellings', () => {
  assert.deepEqual(
    lint(`${TF}model = keras.Sequential([layers.Dense(64, activation="relu"), layers.Dropout(0.8), layers.Dense(10)])\n`, { select: ['HP004'] }).map((x) => `${x.severity}:${x.message}`),
    ['warning:layers.Dropout(0.8) drops 80 % of the units (rate is the fraction to drop, not to keep): did you mean 0.2?'],
  );
  assert.deepEqual(ids(`${TF}d = keras.layers.Dropout(rate=0.9)\n`, 'HP004'), ['HP004']);
  assert.deepEqual(ids(`${TF}d = tf.keras.layers.Dropout(0.8)\n`, 'HP004'), ['HP004']);
  assert.deepEqual(ids(`from keras.layers import Dropout\nd = Dropout(0.85)\n`, 'HP004'), ['HP004']);
});

test('HP004: negatives: usual rates, variables, p=0.0, 1 - keep_prob, other calls', () => {
  assert.deepEqual(ids(`${HEADER}a = nn.Dropout(0.5)\nb = nn.Dropout(p=0.1)\nc = nn.Dropout(0.79)\nd = nn.Dropout()\n`, 'HP004'), []);
  assert.deepEqual(ids(`${HEADER}a = nn.Dropout(p)\nb = nn.Dropout(p=args.dropout)\nc = nn.Dropout(self.drop_rate)\n`, 'HP004'), []);
  assert.deepEqual(ids(`${HEADER}a = nn.Dropout(p=0.0)\nb = nn.Dropout(0)\n`, 'HP004'), []);
  assert.deepEqual(ids(`${HEADER}keep_prob = 0.8\na = nn.Dropout(1 - keep_prob)\nb = F.dropout(x, p=1 - keep_prob, training=self.training)\n`, 'HP004'), []);
  assert.deepEqual(ids(`${HEADER}x = F.dropout(x, training=self.training)\nd = nn.Dropout(inplace=True)\nm = nn.Linear(0.9, 10)\n`, 'HP004'), []);
  assert.deepEqual(ids(`${TF}d = layers.Dropout(0.3)\ne = layers.Dense(0.9)\nopt = keras.optimizers.SGD(momentum=0.9)\n`, 'HP004'), []);
  // not dropout at all: a local class or function of the same name
  assert.deepEqual(ids(`class Dropout:\n    pass\n\nd = Dropout(0.9)\n`, 'HP004'), []);
});
