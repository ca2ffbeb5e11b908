import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, lint, useParser } from './lint/helpers';

useParser();

const indent = (body: string, n: number) =>
  body
    .split('\n')
    .map((l) => ' '.repeat(n) + l)
    .join('\n');

/** A module class with the given __init__ lines and forward body. */
const net = (init: string, forward: string, header = HEADER) =>
  `${header}\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n${indent(init, 8)}\n\n    def forward(self, x):\n${indent(forward, 8)}\n`;

const LSTM = 'self.lstm = nn.LSTM(input_size=8, hidden_size=32, num_layers=1)\nself.fc = nn.Linear(32, 2)';

test('AR008: LSTM without batch_first, out[:, -1, :] in forward: an error at the subscript', () => {
  const code = net(LSTM, 'out, _ = self.lstm(x)\nreturn self.fc(out[:, -1, :])');
  const f = lint(code);
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}`), ['AR008:error']);
  const line = code.split('\n')[f[0]!.range.start.line]!;
  assert.equal(line.slice(f[0]!.range.start.column, f[0]!.range.end.column), 'out[:, -1, :]');
  assert.equal(
    f[0]!.message,
    "self.lstm is sequence-first (no batch_first=True): out[:, -1, :] is the last sample of the batch at every time step, not each sample's last time step. Build it with batch_first=True for (batch, seq, features) inputs, or take out[-1].",
  );
  assert.equal(f[0]!.fixes, undefined);
});

test('AR008: GRU and RNN, out[:, -1] and out[:, -1, :], (h, c) unpacking', () => {
  assert.deepEqual(ids(net('self.gru = nn.GRU(8, 32)\nself.fc = nn.Linear(32, 2)', 'out, h = self.gru(x)\nreturn self.fc(out[:, -1])')), ['AR008']);
  assert.deepEqual(ids(net('self.rnn = nn.RNN(8, 32, 2)\nself.fc = nn.Linear(32, 2)', 'out, h_n = self.rnn(x)\nlast = out[:, -1, :]\nreturn self.fc(last)')), ['AR008']);
  assert.deepEqual(ids(net(LSTM, 'out, (h, c) = self.lstm(x)\nreturn self.fc(out[:, -1])')), ['AR008']);
  assert.deepEqual(ids(net(LSTM, '(out, _) = self.lstm(x)\nreturn self.fc(out[:, -1, :])')), ['AR008']);
  assert.deepEqual(ids(net(LSTM, 'out, _ = self.lstm(x)\nreturn self.fc(out[:, - 1, :32])')), ['AR008'], 'spaced -1 and a partial feature slice');
});

test('AR008: batch_first=False written explicitly; the message says so', () => {
  const f = lint(net('self.lstm = nn.LSTM(8, 32, batch_first=False)\nself.fc = nn.Linear(32, 2)', 'out, _ = self.lstm(x)\nreturn self.fc(out[:, -1])'));
  assert.deepEqual(f.map((x) => x.rule), ['AR008']);
  assert.match(f[0]!.message, /^self\.lstm is sequence-first \(batch_first=False\): out\[:, -1\] is the last sample/);
});

test('AR008: from torch.nn import LSTM, from torch import nn, torch.nn.GRU spelled out', () => {
  const imported = net('self.lstm = LSTM(8, 32)\nself.fc = Linear(32, 2)', 'out, _ = self.lstm(x)\nreturn self.fc(out[:, -1, :])', 'import torch\nfrom torch.nn import LSTM, Linear, Module as M\nimport torch.nn as nn\n');
  assert.deepEqual(ids(imported), ['AR008']);
  const fromTorch = net(LSTM, 'out, _ = self.lstm(x)\nreturn self.fc(out[:, -1, :])', 'import torch\nfrom torch import nn\n');
  assert.deepEqual(ids(fromTorch), ['AR008']);
  const full = net('self.gru = torch.nn.GRU(8, 32)\nself.fc = torch.nn.Linear(32, 2)', 'out, _ = self.gru(x)\nreturn self.fc(out[:, -1])', 'import torch\nimport torch.nn as nn\n');
  assert.deepEqual(ids(full), ['AR008']);
});

test('AR008: out = self.gru(x)[0] and the direct subscript self.lstm(x)[0][:, -1, :]', () => {
  assert.deepEqual(ids(net('self.gru = nn.GRU(8, 32)\nself.fc = nn.Linear(32, 2)', 'out = self.gru(x)[0]\nreturn self.fc(out[:, -1])')), ['AR008']);
  const direct = lint(net(LSTM, 'return self.fc(self.lstm(x)[0][:, -1, :])'));
  assert.deepEqual(direct.map((x) => x.rule), ['AR008']);
  assert.match(direct[0]!.message, /: self\.lstm\(x\)\[0\]\[:, -1, :\] is the last sample .* or take self\.lstm\(x\)\[0\]\[-1\]\.$/);
});

test('AR008: other methods of the class; one finding per subscript', () => {
  const code = `${HEADER}
class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(16, 64)

    def encode(self, x):
        out, _ = self.rnn(x)
        return out[:, -1]

    def forward(self, x):
        return self.encode(x)
`;
  assert.deepEqual(ids(code), ['AR008']);
  assert.deepEqual(ids(net(LSTM, 'out, _ = self.lstm(x)\na = out[:, -1]\nb = out[:, -1, :]\nreturn self.fc(a + b)')), ['AR008', 'AR008']);
});

test('AR008: negatives: batch_first=True, unknown batch_first, splats, 5 positional arguments', () => {
  const fwd = 'out, _ = self.lstm(x)\nreturn self.fc(out[:, -1, :])';
  assert.deepEqual(ids(net('self.lstm = nn.LSTM(8, 32, batch_first=True)\nself.fc = nn.Linear(32, 2)', fwd)), []);
  assert.deepEqual(ids(net('self.lstm = nn.LSTM(8, 32, batch_first=bf)\nself.fc = nn.Linear(32, 2)', fwd)), [], 'a variable');
  assert.deepEqual(ids(net('self.lstm = nn.LSTM(8, 32, **kwargs)\nself.fc = nn.Linear(32, 2)', fwd)), [], '**kwargs');
  assert.deepEqual(ids(net('self.lstm = nn.LSTM(*args)\nself.fc = nn.Linear(32, 2)', fwd)), [], '*args');
  assert.deepEqual(ids(net('self.lstm = nn.LSTM(8, 32, 1, True, True)\nself.fc = nn.Linear(32, 2)', fwd)), [], 'batch_first positional');
  // assigned twice in the class, once batch-first: not known to be sequence-first
  const both = net('if cfg:\n    self.lstm = nn.LSTM(8, 32, batch_first=True)\nelse:\n    self.lstm = nn.LSTM(8, 32)\nself.fc = nn.Linear(32, 2)', fwd);
  assert.deepEqual(ids(both), []);
});

test('AR008: negatives: out[-1], h_n[-1], other index patterns', () => {
  assert.deepEqual(ids(net(LSTM, 'out, _ = self.lstm(x)\nreturn self.fc(out[-1])')), [], 'out[-1] is the last step of a seq-first output');
  assert.deepEqual(ids(net(LSTM, 'out, (h_n, c_n) = self.lstm(x)\nreturn self.fc(h_n[-1])')), [], 'the hidden state');
  assert.deepEqual(ids(net(LSTM, 'out, (h_n, c_n) = self.lstm(x)\nreturn self.fc(h_n[:, -1])')), [], 'h_n is not the output sequence');
  assert.deepEqual(ids(net(LSTM, 'out, _ = self.lstm(x)\nreturn self.fc(out[-1, :, :])')), []);
  assert.deepEqual(ids(net(LSTM, 'out, _ = self.lstm(x)\nreturn self.fc(out[:, :, -1])')), []);
  assert.deepEqual(ids(net(LSTM, 'out, _ = self.lstm(x)\nreturn self.fc(out[0:, -1])')), [], 'not a bare slice');
  assert.deepEqual(ids(net(LSTM, 'out, _ = self.lstm(x)\nreturn self.fc(out[:, -2])')), []);
  assert.deepEqual(ids(net(LSTM, 'res = self.lstm(x)\nreturn self.fc(res[1][:, -1])')), [], 'the state part of the tuple');
  assert.deepEqual(ids(net(LSTM, 'return self.fc(self.lstm(x)[1][0][:, -1])')), []);
});

test('AR008: negatives: out from something else, or permuted back to batch-first before indexing', () => {
  const proj = 'self.lstm = nn.LSTM(8, 32)\nself.proj = nn.Linear(8, 32)\nself.fc = nn.Linear(32, 2)';
  assert.deepEqual(ids(net(proj, 'out = self.proj(x)\nreturn self.fc(out[:, -1])')), [], 'not the RNN layer');
  assert.deepEqual(ids(net(proj, 'out, _ = self.lstm(x)\nout = self.proj(x)\nreturn self.fc(out[:, -1])')), [], 'rebound to another layer');
  assert.deepEqual(ids(net(LSTM, 'out, _ = self.lstm(x.permute(1, 0, 2))\nout = out.permute(1, 0, 2)\nreturn self.fc(out[:, -1, :])')), []);
  assert.deepEqual(ids(net(LSTM, 'out, _ = self.lstm(x.transpose(0, 1))\nout = out.transpose(0, 1)\nreturn self.fc(out[:, -1])')), []);
  assert.deepEqual(ids(net(LSTM, 'out, _ = self.lstm(x)\nout_bf = out.transpose(0, 1)\nreturn self.fc(out_bf[:, -1])')), []);
  assert.deepEqual(ids(net(LSTM, 'out, _ = self.lstm(x)\nfor out in outs:\n    pass\nreturn self.fc(out[:, -1])')), [], 'rebound by a loop');
  assert.deepEqual(ids(net(LSTM, 'y = out[:, -1]\nout, _ = self.lstm(x)\nreturn self.fc(y)')), [], 'indexed before the call');
  // the name of another function
  const other = `${HEADER}\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.lstm = nn.LSTM(8, 32)\n\n    def forward(self, x):\n        out, _ = self.lstm(x)\n        return out\n\n    def head(self, out):\n        return out[:, -1]\n`;
  assert.deepEqual(ids(other), []);
});

test('AR008: negatives: not in an nn.Module class, not self.<layer>, nested functions', () => {
  const plain = `${HEADER}\nlstm = nn.LSTM(8, 32)\nout, _ = lstm(x)\nlast = out[:, -1, :]\n`;
  assert.deepEqual(ids(plain), []);
  const notModule = `${HEADER}\nclass Wrapper:\n    def __init__(self):\n        self.lstm = nn.LSTM(8, 32)\n\n    def __call__(self, x):\n        out, _ = self.lstm(x)\n        return out[:, -1]\n`;
  assert.deepEqual(ids(notModule), []);
  assert.deepEqual(ids(net(LSTM, 'out, _ = self.lstm(x)\ndef last(out):\n    return out[:, -1]\nreturn self.fc(last(out))')), [], 'a nested function parameter');
});

// ---- attention layers: MultiheadAttention, TransformerEncoderLayer/DecoderLayer, TransformerEncoder/Decoder, Transformer

const ENC_LAYER = 'self.embed = nn.Embedding(100, 64)\nself.fc = nn.Linear(64, 2)';

test('AR008: TransformerEncoder whose layer is a local name without batch_first, out[:, 0]: the message', () => {
  const code = net(`layer = nn.TransformerEncoderLayer(d_model=64, nhead=4)\nself.encoder = nn.TransformerEncoder(layer, num_layers=2)\n${ENC_LAYER}`, 'out = self.encoder(self.embed(x))\nreturn self.fc(out[:, 0])');
  const f = lint(code);
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}`), ['AR008:error']);
  const line = code.split('\n')[f[0]!.range.start.line]!;
  assert.equal(line.slice(f[0]!.range.start.column, f[0]!.range.end.column), 'out[:, 0]');
  assert.equal(
    f[0]!.message,
    'self.encoder is sequence-first (its layer has no batch_first=True): out[:, 0] reads the batch dimension as the sequence. Build the layer with batch_first=True for (batch, seq, features) inputs, or index the sequence on dim 0.',
  );
  assert.equal(f[0]!.fixes, undefined);
});

test('AR008: TransformerEncoder with an inline layer, a keyword layer, a self.<attr> layer, batch_first=False on the layer', () => {
  const fwd = 'x = self.encoder(x)\nreturn self.fc(x[:, 0, :])';
  assert.deepEqual(ids(net(`self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(64, 4, 256), 2)\n${ENC_LAYER}`, fwd)), ['AR008'], 'inline');
  assert.deepEqual(ids(net(`enc = nn.TransformerEncoderLayer(64, 4)\nself.encoder = nn.TransformerEncoder(encoder_layer=enc, num_layers=2)\n${ENC_LAYER}`, fwd)), ['AR008'], 'keyword');
  assert.deepEqual(ids(net(`self.layer = nn.TransformerEncoderLayer(64, 4)\nself.encoder = nn.TransformerEncoder(self.layer, 2)\n${ENC_LAYER}`, fwd)), ['AR008'], 'self.layer');
  const f = lint(net(`self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(64, 4, batch_first=False), 2)\n${ENC_LAYER}`, fwd));
  assert.deepEqual(f.map((x) => x.rule), ['AR008']);
  assert.match(f[0]!.message, /^self\.encoder is sequence-first \(its layer has batch_first=False\): x\[:, 0, :\] reads the batch dimension/);
  const dec = net(`layer = nn.TransformerDecoderLayer(64, 4)\nself.decoder = nn.TransformerDecoder(layer, 2)\n${ENC_LAYER}`, 'out = self.decoder(x, memory)\nreturn self.fc(out[:, -1])');
  assert.deepEqual(ids(dec), ['AR008'], 'TransformerDecoder');
  const imported = net(`self.encoder = TransformerEncoder(TransformerEncoderLayer(64, 4), 2)\n${ENC_LAYER}`, fwd, `${HEADER}from torch.nn import TransformerEncoder, TransformerEncoderLayer\n`);
  assert.deepEqual(ids(imported), ['AR008'], 'from torch.nn import');
});

test('AR008: TransformerEncoderLayer / DecoderLayer used alone, nn.Transformer, the direct forms', () => {
  assert.deepEqual(ids(net(`self.block = nn.TransformerEncoderLayer(64, 4)\n${ENC_LAYER}`, 'h = self.block(x)\nreturn self.fc(h[:, 0])')), ['AR008']);
  assert.deepEqual(ids(net(`self.block = nn.TransformerDecoderLayer(64, 4)\n${ENC_LAYER}`, 'h = self.block(x, mem)\nreturn self.fc(h.mean(dim=1))')), ['AR008']);
  const f = lint(net(`self.transformer = nn.Transformer(d_model=64, nhead=4, num_encoder_layers=2)\n${ENC_LAYER}`, 'out = self.transformer(src, tgt)\nreturn self.fc(out[:, -1])'));
  assert.deepEqual(f.map((x) => x.rule), ['AR008']);
  assert.match(f[0]!.message, /^self\.transformer is sequence-first \(no batch_first=True\): out\[:, -1\] reads the batch dimension as the sequence\. Build it with/);
  assert.deepEqual(ids(net(`self.block = nn.TransformerEncoderLayer(64, 4)\n${ENC_LAYER}`, 'return self.fc(self.block(x)[:, 0])')), ['AR008'], 'direct subscript');
  assert.deepEqual(ids(net(`self.block = nn.TransformerEncoderLayer(64, 4)\n${ENC_LAYER}`, 'return self.fc(self.block(x).mean(dim=1))')), ['AR008'], 'direct pooling');
  assert.deepEqual(ids(net(`self.block = nn.TransformerEncoderLayer(64, 4)\n${ENC_LAYER}`, 'return self.fc(torch.mean(self.block(x), dim=1))')), ['AR008'], 'torch.mean of the call');
});

test('AR008: MultiheadAttention: the first element of its result', () => {
  const attn = 'self.attn = nn.MultiheadAttention(64, 4)\nself.fc = nn.Linear(64, 2)';
  const f = lint(net(attn, 'attn_out, _ = self.attn(x, x, x)\nreturn self.fc(attn_out.mean(dim=1))'));
  assert.deepEqual(f.map((x) => x.rule), ['AR008']);
  assert.equal(
    f[0]!.message,
    'self.attn is sequence-first (no batch_first=True): attn_out.mean(dim=1) averages over the batch, not the sequence. Build it with batch_first=True for (batch, seq, features) inputs, or pool over dim 0.',
  );
  assert.deepEqual(ids(net(attn, 'attn_out, weights = self.attn(x, x, x, need_weights=False)\nreturn self.fc(attn_out[:, 0])')), ['AR008']);
  assert.deepEqual(ids(net(attn, 'a = self.attn(x, x, x)[0]\nreturn self.fc(a[:, -1, :])')), ['AR008']);
  assert.deepEqual(ids(net(attn, 'return self.fc(self.attn(x, x, x)[0][:, 0])')), ['AR008']);
  assert.deepEqual(ids(net('self.attn = nn.MultiheadAttention(embed_dim=64, num_heads=4, dropout=0.1, batch_first=False)\nself.fc = nn.Linear(64, 2)', 'o, _ = self.attn(x, x, x)\nreturn self.fc(o.sum(dim=1))')), ['AR008']);
});

test('AR008: every evidence form: [:, 0], [:, -1], mean/max/sum over dim 1, method and torch.* spellings', () => {
  const enc = `self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(64, 4), 2)\n${ENC_LAYER}`;
  const forms: [string, RegExp][] = [
    ['out[:, 0]', /out\[:, 0\] reads the batch/],
    ['out[:, 0, :]', /out\[:, 0, :\] reads the batch/],
    ['out[:, -1]', /out\[:, -1\] reads the batch/],
    ['out.mean(dim=1)', /out\.mean\(dim=1\) averages over the batch, not the sequence/],
    ['out.mean(1)', /out\.mean\(1\) averages over the batch/],
    ['torch.mean(out, dim=1)', /torch\.mean\(out, dim=1\) averages over the batch/],
    ['torch.mean(out, 1)', /torch\.mean\(out, 1\) averages/],
    ['out.max(dim=1)[0]', /out\.max\(dim=1\) takes the maximum over the batch/],
    ['out.max(dim=1).values', /out\.max\(dim=1\) takes the maximum/],
    ['out.sum(dim=1)', /out\.sum\(dim=1\) sums over the batch/],
    ['out.mean(dim=1, keepdim=True)', /averages over the batch/],
    ['(out).mean(dim=1)', /averages over the batch/],
  ];
  for (const [read, msg] of forms) {
    const f = lint(net(enc, `out = self.encoder(x)\nreturn self.fc(${read})`));
    assert.deepEqual(f.map((x) => x.rule), ['AR008'], read);
    assert.match(f[0]!.message, msg, read);
  }
});

test('AR008: LSTM/GRU with pooling over dim 1 or out[:, 0]', () => {
  const f = lint(net(LSTM, 'out, _ = self.lstm(x)\nreturn self.fc(out.mean(dim=1))'));
  assert.deepEqual(f.map((x) => x.rule), ['AR008']);
  assert.equal(
    f[0]!.message,
    'self.lstm is sequence-first (no batch_first=True): out.mean(dim=1) averages over the batch, not the sequence. Build it with batch_first=True for (batch, seq, features) inputs, or pool over dim 0.',
  );
  assert.deepEqual(ids(net('self.gru = nn.GRU(8, 32)\nself.fc = nn.Linear(32, 2)', 'out, h = self.gru(x)\npooled, _ = torch.max(out, dim=1)\nreturn self.fc(pooled)')), ['AR008']);
  const first = lint(net(LSTM, 'out, _ = self.lstm(x)\nreturn self.fc(out[:, 0])'));
  assert.deepEqual(first.map((x) => x.rule), ['AR008']);
  assert.equal(
    first[0]!.message,
    "self.lstm is sequence-first (no batch_first=True): out[:, 0] is the first sample of the batch at every time step, not each sample's first time step. Build it with batch_first=True for (batch, seq, features) inputs, or take out[0].",
  );
  assert.deepEqual(ids(net(LSTM, 'out, _ = self.lstm(x)\nreturn self.fc(out.sum(1) + out.max(1)[0])')), ['AR008', 'AR008']);
});

test('AR008: negatives: batch_first=True (on the layer for a TransformerEncoder), a variable, splats, positional batch_first', () => {
  const fwd = 'out = self.encoder(x)\nreturn self.fc(out[:, 0])';
  assert.deepEqual(ids(net(`layer = nn.TransformerEncoderLayer(64, 4, batch_first=True)\nself.encoder = nn.TransformerEncoder(layer, 2)\n${ENC_LAYER}`, fwd)), []);
  assert.deepEqual(ids(net(`self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(64, 4, batch_first=True), 2)\n${ENC_LAYER}`, fwd)), []);
  assert.deepEqual(ids(net(`self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(64, 4, batch_first=bf), 2)\n${ENC_LAYER}`, fwd)), [], 'a variable');
  assert.deepEqual(ids(net(`self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(64, 4, **cfg), 2)\n${ENC_LAYER}`, fwd)), [], 'splat');
  assert.deepEqual(ids(net(`self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(64, 4, 256, 0.1, "relu", 1e-5, True), 2)\n${ENC_LAYER}`, fwd)), [], 'positional batch_first');
  assert.deepEqual(ids(net(`self.encoder = nn.TransformerEncoderLayer(64, 4, batch_first=True)\n${ENC_LAYER}`, fwd)), []);
  assert.deepEqual(ids(net(`self.encoder = nn.Transformer(64, 4, batch_first=True)\n${ENC_LAYER}`, fwd)), []);
  assert.deepEqual(ids(net(`self.encoder = nn.Transformer(64, 4, custom_encoder=enc)\n${ENC_LAYER}`, fwd)), [], 'a custom encoder');
  const attn = 'self.attn = nn.MultiheadAttention(64, 4, batch_first=True)\nself.fc = nn.Linear(64, 2)';
  assert.deepEqual(ids(net(attn, 'out, _ = self.attn(x, x, x)\nreturn self.fc(out[:, 0] + out.mean(dim=1))')), []);
  assert.deepEqual(ids(net('self.attn = nn.MultiheadAttention(64, 4, 0.0, True, False, False, None, None, True)\nself.fc = nn.Linear(64, 2)', 'out, _ = self.attn(x, x, x)\nreturn self.fc(out[:, 0])')), []);
  // a layer chosen at run time
  const both = `if cfg.bf:\n    layer = nn.TransformerEncoderLayer(64, 4, batch_first=True)\nelse:\n    layer = nn.TransformerEncoderLayer(64, 4)\nself.encoder = nn.TransformerEncoder(layer, 2)\n${ENC_LAYER}`;
  assert.deepEqual(ids(net(both, fwd)), []);
});

test('AR008: negatives: a TransformerEncoder whose layer cannot be resolved', () => {
  const fwd = '\n    def forward(self, x):\n        out = self.encoder(x)\n        return out[:, 0]\n';
  const param = `${HEADER}\nclass Net(nn.Module):\n    def __init__(self, layer):\n        super().__init__()\n        self.encoder = nn.TransformerEncoder(layer, 2)\n${fwd}`;
  assert.deepEqual(ids(param), [], 'a parameter');
  const defaulted = `${HEADER}\nclass Net(nn.Module):\n    def __init__(self, layer=None):\n        super().__init__()\n        if layer is None:\n            layer = nn.TransformerEncoderLayer(64, 4)\n        self.encoder = nn.TransformerEncoder(layer, 2)\n${fwd}`;
  assert.deepEqual(ids(defaulted), [], 'a parameter with a default layer');
  const factory = `${HEADER}\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.encoder = nn.TransformerEncoder(make_layer(), 2)\n${fwd}`;
  assert.deepEqual(ids(factory), [], 'a factory call');
  const custom = `${HEADER}\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.encoder = nn.TransformerEncoder(MyLayer(64, 4), 2)\n${fwd}`;
  assert.deepEqual(ids(custom), [], 'a custom layer class');
  const global = `${HEADER}\nLAYER = nn.TransformerEncoderLayer(64, 4)\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.encoder = nn.TransformerEncoder(LAYER, 2)\n${fwd}`;
  assert.deepEqual(ids(global), [], 'a module-level name: not the same method');
  const loop = `${HEADER}\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        for layer in layers:\n            pass\n        self.encoder = nn.TransformerEncoder(layer, 2)\n${fwd}`;
  assert.deepEqual(ids(loop), [], 'a loop target');
});

test('AR008: negatives: sequence-first readings out[0], out[-1], pooling over dim 0, other dims', () => {
  const enc = `self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(64, 4), 2)\n${ENC_LAYER}`;
  for (const read of ['out[0]', 'out[-1]', 'out[0, :, :]', 'out.mean(dim=0)', 'out.mean(0)', 'torch.mean(out, dim=0)', 'out.max(dim=0)[0]', 'out.sum(0)', 'out.mean()', 'out.mean(dim=2)', 'out.mean(dim=-1)', 'out[:, 1]', 'out[:, :, 0]', 'torch.max(out, other)', 'out.mean(dim=1, *a)', 'out.std(dim=1)']) {
    assert.deepEqual(ids(net(enc, `out = self.encoder(x)\nreturn self.fc(${read})`)), [], read);
  }
  assert.deepEqual(ids(net(enc, 'return self.fc(self.encoder(x)[0])')), [], 'self.encoder(x)[0]: the first position');
  const attn = 'self.attn = nn.MultiheadAttention(64, 4)\nself.fc = nn.Linear(64, 2)';
  assert.deepEqual(ids(net(attn, 'out, weights = self.attn(x, x, x)\nreturn self.fc(weights.mean(dim=1))')), [], 'the attention weights are (batch, L, S)');
  assert.deepEqual(ids(net(attn, 'res = self.attn(x, x, x)\nreturn self.fc(res[1].mean(dim=1))')), [], 'the weights by index');
  assert.deepEqual(ids(net(LSTM, 'out, _ = self.lstm(x)\nreturn self.fc(out.mean(dim=0))')), []);
  assert.deepEqual(ids(net(LSTM, 'out, (h, c) = self.lstm(x)\nreturn self.fc(h.mean(dim=1))')), [], 'the hidden state');
});

test('AR008: negatives: attention output permuted / transposed back, or the input made sequence-first and read on dim 0', () => {
  const enc = `self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(64, 4), 2)\n${ENC_LAYER}`;
  assert.deepEqual(ids(net(enc, 'out = self.encoder(x)\nout = out.transpose(0, 1)\nreturn self.fc(out[:, 0])')), []);
  assert.deepEqual(ids(net(enc, 'out = self.encoder(x)\nreturn self.fc(out.permute(1, 0, 2)[:, 0])')), []);
  assert.deepEqual(ids(net(enc, 'out = self.encoder(x)\nout = out.permute(1, 0, 2)\nreturn self.fc(out.mean(dim=1))')), []);
  assert.deepEqual(ids(net(enc, 'x = x.transpose(0, 1)\nout = self.encoder(x)\nreturn self.fc(out[0])')), []);
  assert.deepEqual(ids(net(enc, 'out = self.encoder(x.permute(1, 0, 2))\nreturn self.fc(out.mean(dim=0))')), []);
  const attn = 'self.attn = nn.MultiheadAttention(64, 4)\nself.fc = nn.Linear(64, 2)';
  assert.deepEqual(ids(net(attn, 'q = x.transpose(0, 1)\nout, _ = self.attn(q, q, q)\nout = out.transpose(0, 1)\nreturn self.fc(out[:, 0])')), []);
  assert.deepEqual(ids(net(attn, 'out, _ = self.attn(x, x, x)\nout = self.norm(x + out)\nreturn self.fc(out.mean(dim=1))')), [], 'rebound');
  const plain = `${HEADER}\nenc = nn.TransformerEncoder(nn.TransformerEncoderLayer(64, 4), 2)\nout = enc(x)\ny = out[:, 0]\n`;
  assert.deepEqual(ids(plain), [], 'not in an nn.Module class');
});
