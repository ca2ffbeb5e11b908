// Precision of the evaluation rules (sweep 3): shape smoke tests on made-up tensors (`def test(): y =
// net(torch.randn(1, 3, 32, 32)); print(y.size())`) are no evaluation (EV001 / EV003), a decoding loop of the model's
// own method leaves the mode to its caller (EV001), and `F.dropout` under a branch on `self.training` is correct (EV007).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, useParser } from './lint/helpers';

useParser();

const NET = `${HEADER}
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = F.relu(self.bn(self.conv(x)))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))

`;

const both = (code: string) => [...ids(code, 'EV001'), ...ids(code, 'EV003')];

test('EV001/EV003: a shape smoke test on torch.randn through a name, output size printed, is quiet', () => {
  const code = `${NET}
def test():
    net = Net()
    x = torch.randn(2, 3, 32, 32)
    y = net(x)
    print(y.size())
`;
  assert.deepEqual(both(code), []);
});

test('EV001/EV003: smoke tests with the tensor inline, moved to a device, shape asserted or the output printed', () => {
  for (const body of [
    'y = net(torch.randn(1, 3, 32, 32))\n    print(y.shape)',
    'x = torch.zeros(4, 3, 32, 32).to("cpu")\n    y = net(x)\n    assert y.shape == (4, 10)',
    'y = net((torch.rand(1, 3, 32, 32)))\n    print(y)',
    'print(net(torch.ones(1, 3, 32, 32)).shape)',
    'out = net(torch.empty(1, 3, 32, 32))\n    print(f"{out.shape}")',
  ]) {
    const code = `${NET}
def test():
    net = Net()
    ${body}
`;
    assert.deepEqual(both(code), [], body);
  }
});

test('EV001/EV003: a made-up input whose output meets a loss, a label comparison or is returned is still an evaluation', () => {
  for (const body of [
    'y = net(x)\n    loss = F.cross_entropy(y, torch.tensor([1, 0]))\n    print(loss.item())',
    'y = net(x)\n    acc = (y.argmax(1) == torch.tensor([1, 0])).float().mean()\n    print(acc)',
    'y = net(x)\n    print(y.size())\n    return y',
  ]) {
    const code = `${NET}
def test():
    net = Net()
    x = torch.randn(2, 3, 32, 32)
    ${body}
`;
    assert.deepEqual(both(code), ['EV001', 'EV003'], body);
  }
});

test('EV001/EV003: real data given to the model, output only printed: still reported', () => {
  const code = `${NET}
def test():
    net = Net()
    x = torch.load("batch.pt")
    y = net(x)
    print(y.size())
`;
  assert.deepEqual(both(code), ['EV001', 'EV003']);
});

test('EV001/EV003: a smoke loop over batch sizes in an evaluation-named function is quiet; a loader loop is not', () => {
  const smoke = `${NET}
def evaluate(net):
    for bs in (1, 4):
        y = net(torch.randn(bs, 3, 32, 32))
        print(bs, y.shape)
`;
  assert.deepEqual(both(smoke), []);
  const real = `${NET}
def evaluate(net, loader):
    for x, t in loader:
        y = net(x)
        print(y.shape)
`;
  assert.deepEqual(both(real), ['EV001', 'EV003']);
});

const SEQ2SEQ = `${HEADER}
class EncDec(nn.Module):
    def __init__(self, vocab, hidden=64):
        super().__init__()
        self.emb = nn.Embedding(vocab, hidden)
        self.encoder = nn.GRU(hidden, hidden, batch_first=True)
        self.decoder = nn.GRU(hidden, hidden, batch_first=True)
        self.drop = nn.Dropout(0.2)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, src, tgt):
        _, h = self.encoder(self.drop(self.emb(src)))
        y, _ = self.decoder(self.drop(self.emb(tgt)), h)
        return self.out(y)
`;

test('EV001: a decoding loop in the model\'s own predict method, calling self.decoder, leaves the mode to its caller', () => {
  const code = `${SEQ2SEQ}
    def predict_step(self, src, bos, num_steps):
        _, h = self.encoder(self.emb(src))
        tok, outs = bos, []
        for _ in range(num_steps):
            y, h = self.decoder(self.emb(tok), h)
            tok = self.out(y).argmax(-1)
            outs.append(tok)
        return torch.cat(outs, 1)
`;
  assert.deepEqual(ids(code, 'EV001'), []);
});

test('EV001: a d2l add_to_class method of a model class is the model\'s own; one of a trainer is not', () => {
  const model = `import torch
from torch import nn
from d2l import torch as d2l


@d2l.add_to_class(d2l.EncoderDecoder)
def predict_step(self, batch, num_steps):
    src, tgt = batch
    state = self.decoder.init_state(self.encoder(src))
    outputs = [tgt[:, :1]]
    for _ in range(num_steps):
        Y, state = self.decoder(outputs[-1], state)
        outputs.append(Y.argmax(2))
    return torch.cat(outputs[1:], 1)
`;
  assert.deepEqual(ids(model, 'EV001'), []);
  assert.deepEqual(ids(model.replace('d2l.EncoderDecoder', 'd2l.ModelTrainer'), 'EV001'), ['EV001']);
});

test('EV001: a loop of a model method over held-out data, and a decoding loop of a wrapper object, are still reported', () => {
  const overData = `${SEQ2SEQ}
    def predict(self, val_loader):
        outs = []
        for src, tgt in val_loader:
            outs.append(self(src, tgt).argmax(-1))
        return outs
`;
  assert.deepEqual(ids(overData, 'EV001'), ['EV001']);
  const wrapper = `${HEADER}
class Translator:
    def __init__(self, model):
        self.model = model

    def predict(self, src, num_steps):
        outs = []
        for _ in range(num_steps):
            src = self.model(src).argmax(-1)
            outs.append(src)
        return outs
`;
  assert.deepEqual(ids(wrapper, 'EV001'), ['EV001']);
});

const dropoutIn = (line: string) => `${HEADER}
class Block(nn.Module):
    def __init__(self, rate=0.2):
        super().__init__()
        self.fc = nn.Linear(16, 16)
        self.rate = rate
        self.use_dropout = True

    def forward(self, x):
        out = self.fc(x)
${line}
        return out
`;

test('EV007: F.dropout under a branch on self.training is quiet', () => {
  for (const line of [
    '        if self.training and self.rate > 0:\n            out = F.dropout(out, p=self.rate)',
    '        if self.training:\n            out = F.dropout(out, self.rate)',
    '        out = F.dropout(out, p=self.rate) if self.training else out',
    '        if not self.training:\n            pass\n        else:\n            out = F.dropout(out, self.rate)',
    '        if self.rate > 0:\n            if (self.training):\n                out = F.dropout(out, self.rate)',
  ]) {
    assert.deepEqual(ids(dropoutIn(line), 'EV007'), [], line);
  }
});

test('EV007: a branch that does not imply training mode still reports F.dropout', () => {
  for (const line of [
    '        if self.use_dropout:\n            out = F.dropout(out, p=self.rate)',
    '        if self.training or self.use_dropout:\n            out = F.dropout(out, p=self.rate)',
    '        out = out if self.training else F.dropout(out, p=self.rate)',
    '        if self.training:\n            pass\n        else:\n            out = F.dropout(out, self.rate)',
    '        if not self.training:\n            out = F.dropout(out, self.rate)',
  ]) {
    assert.deepEqual(ids(dropoutIn(line), 'EV007'), ['EV007'], line);
  }
});
