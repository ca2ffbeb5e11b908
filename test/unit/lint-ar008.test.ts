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
