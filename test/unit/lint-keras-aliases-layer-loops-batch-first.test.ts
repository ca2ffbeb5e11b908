// Keras models behind a module alias (`keras = tf.keras`), sparse crossentropy on sigmoid outputs, Linear layers
// stacked by a loop whose activation is None, and sequence-first layers whose input or output is read batch-first
// (inputs built with the batch size first, outputs read through a helper or kept as a whole tuple).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fix, HEADER, ids, lint, useParser } from './lint/helpers';

useParser();

test('KR003: layers reached through a module alias `keras = tf.keras`', () => {
  const code = `
    import tensorflow as tf
    keras = tf.keras
    head = keras.layers.Dense(1)
    model = keras.Sequential([keras.layers.Dense(16, activation="relu"), head])
    model.compile(optimizer="adam", loss="binary_crossentropy")
  `;
  assert.deepEqual(ids(code, 'KR003'), ['KR003']);
  assert.deepEqual(ids(code.replace('Dense(1)', 'Dense(1, activation="sigmoid")'), 'KR003'), []);
  // An alias of the layers module, and a functional model.
  const layersAlias = `
    import tensorflow as tf
    L = tf.keras.layers
    inputs = tf.keras.Input(shape=(8,))
    x = L.Dense(16, activation="relu")(inputs)
    outputs = L.Dense(1)(x)
    model = tf.keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss=tf.keras.losses.BinaryCrossentropy())
  `;
  assert.deepEqual(ids(layersAlias, 'KR003'), ['KR003']);
  assert.deepEqual(ids(layersAlias.replace('BinaryCrossentropy()', 'BinaryCrossentropy(from_logits=True)'), 'KR003'), []);
  // A name bound twice is not an alias we can trust.
  assert.deepEqual(ids(code.replace('keras = tf.keras\n', 'keras = tf.keras\n    keras = make_keras()\n'), 'KR003'), []);
});

test('KR002: sparse_categorical_crossentropy on a multi-unit sigmoid output', () => {
  const functional = `
    import keras
    from keras import layers
    inputs = keras.Input(shape=(8,))
    x = layers.Embedding(1000, 32)(inputs)
    x = layers.GlobalAveragePooling1D()(x)
    outputs = layers.Dense(1000, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
  `;
  const f = lint(functional, { select: ['KR002'] });
  assert.deepEqual(f.map((x) => x.rule), ['KR002']);
  assert.match(f[0]!.message, /^sparse_categorical_crossentropy expects a softmax distribution .* Use a softmax output\.$/);
  assert.match(fix(functional, 'KR002'), /Dense\(1000, activation="softmax"\)/);
  assert.deepEqual(ids(functional.replace('"sigmoid"', '"softmax"'), 'KR002'), []);
  // A loss object, a Sequential built in a function.
  const built = `
    import tensorflow as tf
    def build(n):
        return tf.keras.Sequential([tf.keras.layers.Dense(64, activation="relu"), tf.keras.layers.Dense(n, activation="sigmoid")])
    model = build(10)
    model.compile(optimizer="adam", loss=tf.keras.losses.SparseCategoricalCrossentropy())
  `;
  assert.deepEqual(ids(built, 'KR002'), ['KR002']);
  // Multi-label sigmoid outputs with binary crossentropy: right.
  assert.deepEqual(ids(built.replace('SparseCategoricalCrossentropy()', 'BinaryCrossentropy()'), 'KR002'), []);
});

const MLP = (init: string, extra = '') => `${HEADER}
class MLP(nn.Module):
    def __init__(self, dims, act=None):
        super().__init__()
        layers = []
${init
  .split('\n')
  .map((l) => '        ' + l)
  .join('\n')}
        self.mlp = nn.Sequential(*layers)

    def forward(self, x):
        return self.mlp(x)
${extra}`;

const OPTIONAL_ACT = `for i, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:])):
    linear = nn.Linear(d_in, d_out)
    layers.append(linear)
    if i == len(dims) - 2:
        continue
    if act is not None:
        layers.append(act)`;

test('AR004: a loop appends Linear layers and its activation only when a parameter that is None here is set', () => {
  const f = lint(MLP(OPTIONAL_ACT), { select: ['AR004'] });
  assert.deepEqual(f.map((x) => x.rule), ['AR004']);
  assert.match(f[0]!.message, /^Each pass of this loop appends a Linear layer and no activation \(act is None here\)/);
  // Every call site passes None (the default would be a ReLU).
  const passed = MLP(OPTIONAL_ACT, '\nhead = MLP([64, 32, 1], act=None)\nhead2 = MLP([8, 4, 2], None)\n').replace('act=None):', 'act=nn.ReLU()):');
  assert.deepEqual(ids(passed, 'AR004'), ['AR004']);
  // A call site passes a real activation: quiet.
  assert.deepEqual(ids(MLP(OPTIONAL_ACT, '\nhead = MLP([64, 32, 1], act=nn.ReLU())\n'), 'AR004'), []);
  assert.deepEqual(ids(MLP(OPTIONAL_ACT, '\nhead = MLP([64, 32, 1], act=None)\nother = MLP([8, 2], act=nn.GELU())\n'), 'AR004'), []);
  // A boolean flag that is False.
  const flag = MLP('for d_in, d_out in zip(dims[:-1], dims[1:]):\n    layers.append(nn.Linear(d_in, d_out))\n    if use_act:\n        layers.append(nn.ReLU())').replace('act=None', 'use_act=False');
  assert.deepEqual(ids(flag, 'AR004'), ['AR004']);
  assert.deepEqual(ids(flag.replace('use_act=False', 'use_act=True'), 'AR004'), []);
});

test('AR004: a loop that appends only Linear layers; the usual last-layer exceptions stay quiet', () => {
  const plain = MLP('for d_in, d_out in zip(dims[:-1], dims[1:]):\n    layers.append(nn.Linear(d_in, d_out))\n    layers.append(nn.Dropout(0.1))');
  assert.deepEqual(ids(plain, 'AR004'), ['AR004']);
  // Conv layers too; the list started before the loop and finished after it.
  const conv = MLP('layers.append(nn.Flatten())\nfor c_in, c_out in zip(dims[:-1], dims[1:]):\n    layers += [nn.Conv1d(c_in, c_out, 3)]\nlayers.append(nn.Linear(dims[-1], 1))');
  assert.deepEqual(ids(conv, 'AR004'), ['AR004']);
  // An activation after every layer but the last (a condition we cannot evaluate): right.
  assert.deepEqual(ids(MLP('for i in range(len(dims) - 1):\n    layers.append(nn.Linear(dims[i], dims[i + 1]))\n    if i < len(dims) - 2:\n        layers.append(nn.ReLU())'), 'AR004'), []);
  // Unconditional activation; an activation we do not know (a parameter, a helper).
  assert.deepEqual(ids(MLP('for d_in, d_out in zip(dims[:-1], dims[1:]):\n    layers.extend([nn.Linear(d_in, d_out), nn.Tanh()])'), 'AR004'), []);
  assert.deepEqual(ids(MLP('for d_in, d_out in zip(dims[:-1], dims[1:]):\n    layers.append(nn.Linear(d_in, d_out))\n    layers.append(get_act(act))'), 'AR004'), []);
  // Low-rank factorisation without bias; a loop that leaves early; a list also filled in another loop.
  assert.deepEqual(ids(MLP('for d_in, d_out in zip(dims[:-1], dims[1:]):\n    layers.append(nn.Linear(d_in, d_out, bias=False))'), 'AR004'), []);
  assert.deepEqual(ids(MLP('for d_in, d_out in zip(dims[:-1], dims[1:]):\n    layers.append(nn.Linear(d_in, d_out))\n    if d_out == 1:\n        break'), 'AR004'), []);
  assert.deepEqual(ids(MLP('for d in dims:\n    layers.append(nn.Linear(d, d))\nfor d in dims:\n    layers.append(nn.ReLU())'), 'AR004'), []);
});

const seqNet = (init: string, forward: string, extra = '') => `${HEADER}
class Net(nn.Module):
    def __init__(self):
        super().__init__()
${init
  .split('\n')
  .map((l) => '        ' + l)
  .join('\n')}

    def forward(self, x):
${forward
  .split('\n')
  .map((l) => '        ' + l)
  .join('\n')}
${extra}`;

const SELECT_LAST = `
def select_last(seq, lengths):
    batch_size = seq.size(0)
    idx = (lengths - 1).view(batch_size, 1, 1).expand(batch_size, 1, seq.size(2))
    return seq.gather(1, idx).squeeze(1)
`;

test('AR008: a sequence-first output read batch-first inside a helper of the file, or by its batch size', () => {
  const code = seqNet('self.emb = nn.Embedding(100, 16)\nself.rnn = nn.GRU(16, 32)', 'out, _ = self.rnn(self.emb(x))\nreturn select_last(out, x.ne(0).sum(1))', SELECT_LAST);
  const f = lint(code, { select: ['AR008'] });
  assert.deepEqual(f.map((x) => x.rule), ['AR008']);
  assert.match(f[0]!.message, /^self\.rnn is sequence-first \(no batch_first=True\): batch_size = seq\.size\(0\) in select_last\(\) reads dim 0 of its output as the batch size/);
  assert.deepEqual(ids(code.replace('nn.GRU(16, 32)', 'nn.GRU(16, 32, batch_first=True)'), 'AR008'), []);
  // The helper reads dim 1 as the batch: right for a sequence-first output.
  assert.deepEqual(ids(code.replace('batch_size = seq.size(0)', 'batch_size = seq.size(1)'), 'AR008'), []);
  // A method of the class, and the batch-first pooling in it.
  const method = seqNet('self.rnn = nn.LSTM(16, 32)', 'out, _ = self.rnn(x)\nreturn self.pool(out)', '\n    def pool(self, h):\n        return h.mean(dim=1)\n');
  assert.deepEqual(ids(method, 'AR008'), ['AR008']);
  // In forward: b, t, c = out.shape unpacks the batch first.
  assert.deepEqual(ids(seqNet('self.rnn = nn.LSTM(16, 32)', 'out, _ = self.rnn(x)\nb, t, c = out.shape\nreturn out.reshape(b * t, c)'), 'AR008'), ['AR008']);
  assert.deepEqual(ids(seqNet('self.rnn = nn.LSTM(16, 32)', 'out, _ = self.rnn(x)\nt, b, c = out.shape\nreturn out.reshape(b * t, c)'), 'AR008'), []);
});

test('AR008: MultiheadAttention output kept as a tuple and unpacked later', () => {
  const code = seqNet('self.attn = nn.MultiheadAttention(32, 4)', 'h = self.attn(x, x, x)\nh = h[0]\nreturn h.mean(dim=1)');
  assert.deepEqual(ids(code, 'AR008'), ['AR008']);
  assert.deepEqual(ids(code.replace('h = h[0]', 'h = h[1]'), 'AR008'), [], 'the attention weights');
  assert.deepEqual(ids(code.replace('nn.MultiheadAttention(32, 4)', 'nn.MultiheadAttention(32, 4, batch_first=True)'), 'AR008'), []);
  assert.deepEqual(ids(code.replace('dim=1', 'dim=0'), 'AR008'), []);
});

test('AR008: the input of a sequence-first layer is known to be batch-first', () => {
  // One decoder step built (batch, 1, features) with the batch size first.
  const step = seqNet(
    'self.rnn = nn.LSTM(48, 32)\nself.fc = nn.Linear(32, 4)',
    'batch = x.size(0)\nprev = torch.zeros(batch, 1, 32)\nouts = []\nfor t in range(x.size(1)):\n    inp = torch.cat((x[:, t].unsqueeze(1), prev), dim=-1)\n    prev, _ = self.rnn(inp)\n    outs.append(prev)\nreturn self.fc(torch.cat(outs, dim=1))',
  );
  const f = lint(step, { select: ['AR008'] });
  assert.deepEqual(f.map((x) => x.rule), ['AR008']);
  assert.match(f[0]!.message, /it receives inp, which is batch-first \(a tensor created with the batch size `batch` first\), so it recurs over the samples/);
  assert.deepEqual(ids(step.replace('nn.LSTM(48, 32)', 'nn.LSTM(48, 32, batch_first=True)'), 'AR008'), []);
  // A feature map flattened into batch-first tokens for attention; DETR's seq-first permute is right.
  const tokens = seqNet('self.attn = nn.MultiheadAttention(64, 8)', 'tokens = x.flatten(2).transpose(1, 2)\nout, _ = self.attn(tokens, tokens, tokens)\nreturn out');
  assert.deepEqual(ids(tokens, 'AR008'), ['AR008']);
  assert.deepEqual(ids(tokens.replace('x.flatten(2).transpose(1, 2)', 'x.flatten(2).permute(2, 0, 1)'), 'AR008'), []);
  // Embeddings of loader batches.
  const loader = seqNet('self.emb = nn.Embedding(100, 16)\nself.rnn = nn.GRU(16, 32)', 'out, h = self.rnn(self.emb(x))\nreturn h[-1]', '\nmodel = Net()\nloader = DataLoader(data, batch_size=32)\nfor tokens, y in loader:\n    model(tokens)\n');
  assert.deepEqual(ids(loader, 'AR008'), ['AR008']);
  assert.deepEqual(ids(loader.replace('self.rnn(self.emb(x))', 'self.rnn(self.emb(x).transpose(0, 1))'), 'AR008'), []);
  assert.deepEqual(ids(loader.replace('batch_size=32)', 'batch_size=32, collate_fn=pad_collate)'), 'AR008'), [], 'own collate: may be time-first');
  // A batch of one joined with a batched context (the classic one-step attention decoder): dim 0 is 1 either way.
  const oneStep = seqNet(
    'self.emb = nn.Embedding(100, 16)\nself.drop = nn.Dropout(0.1)\nself.rnn = nn.GRU(32, 16)',
    'e = self.drop(self.emb(x).view(1, 1, -1))\nctx = torch.bmm(w, enc)\nout, h = self.rnn(torch.cat((e, ctx), 2))\nreturn out',
  );
  assert.deepEqual(ids(oneStep, 'AR008'), []);
});
