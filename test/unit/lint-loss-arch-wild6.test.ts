// Loss and architecture, wild set 6: a library wrapper applying the layer it is given (LS001), a model reloaded from
// a checkpoint on one path and the file's tensor-returning model class guessed for an unseen model (LS001), a
// zero-init function applied only to one named part (AR007 quiet), and biased ModuleList layers feeding a list of
// BatchNorms by index (AR001).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HEADER, ids, useParser } from './lint/helpers';

useParser();

const lines = (...l: string[]) => l.join('\n') + '\n';

describe('LS001: a library wrapper called with the input and the layer it applies', () => {
  const wrap = (head: string, call = 'self.drop4(x, nn.Sequential(self.fc2, self.act))') =>
    'import torch.nn as nn\nimport torch.nn.functional as F\nfrom mcdrop import Wrapper\n' +
    lines(
      'class Net(nn.Module):',
      '    def __init__(self):',
      '        super().__init__()',
      '        self.fc1 = nn.Linear(784, 64)',
      '        self.fc2 = nn.Linear(64, 10)',
      `        self.act = ${head}`,
      '        self.drop1 = Wrapper(p=0.1)',
      '        self.drop4 = Wrapper(p=0.1)',
      '',
      '    def forward(self, x):',
      '        x = self.drop1(x, self.fc1)',
      `        return ${call}`,
      '',
      'def train(model, loader):',
      '    for x, y in loader:',
      '        loss = F.cross_entropy(model(x), y)',
      '',
      'train(Net(), [])',
    );

  it('flags the softmax of the layer the wrapper applies (built in place, or a self layer)', () => {
    assert.deepEqual(ids(wrap('nn.Softmax(dim=1)'), 'LS001'), ['LS001']);
    assert.deepEqual(ids(wrap('nn.Softmax(dim=1)', 'self.drop4(x, self.act)'), 'LS001'), ['LS001']);
  });

  it('stays quiet on logits, and when two layers are passed (which one runs last is unknown)', () => {
    assert.deepEqual(ids(wrap('nn.Identity()', 'self.drop4(x, self.fc2)'), 'LS001'), []);
    assert.deepEqual(ids(wrap('nn.Softmax(dim=1)', 'self.drop4(x, self.fc2, self.act)'), 'LS001'), []);
  });

  it('follows torch.utils.checkpoint.checkpoint(layer, x)', () => {
    const code =
      HEADER +
      'from torch.utils.checkpoint import checkpoint\n' +
      lines(
        'class Net(nn.Module):',
        '    def __init__(self):',
        '        super().__init__()',
        '        self.head = nn.Sequential(nn.Linear(8, 3), nn.Softmax(dim=1))',
        '    def forward(self, x):',
        '        return checkpoint(self.head, x)',
        '',
        'def train(model, x, y):',
        '    return F.cross_entropy(model(x), y)',
        '',
        'train(Net(), None, None)',
      );
    assert.deepEqual(ids(code, 'LS001'), ['LS001']);
    assert.deepEqual(ids(code.replace(', nn.Softmax(dim=1))', ')'), 'LS001'), []);
  });
});

describe('LS001: an unseen model, reloaded from a checkpoint on one path', () => {
  const trainer = (reload: string) =>
    HEADER +
    lines(
      'class Encoder(nn.Module):',
      '    def __init__(self):',
      '        super().__init__()',
      '        self.rnn = nn.GRU(8, 8, batch_first=True)',
      '    def forward(self, x):',
      '        out, h = self.rnn(x)',
      '        return out, h',
      '',
      'class Scorer(nn.Module):',
      '    def __init__(self, enc):',
      '        super().__init__()',
      '        self.enc = enc',
      '        self.norm = nn.Softmax(dim=-1)',
      '    def forward(self, a, b):',
      '        out, _ = self.enc(a)',
      '        return self.norm(out[:, -1])',
      '',
      'class Trainer:',
      '    def __init__(self, loss_fn=nn.CrossEntropyLoss()):',
      '        self.loss_fn = loss_fn',
      '',
      '    def _step(self, a, b, y, model):',
      '        scores = model(a, b)',
      '        return self.loss_fn(scores, y)',
      '',
      '    def _epochs(self, data, model):',
      '        for a, b, y in data:',
      '            self._step(a, b, y, model)',
      '',
      '    def train(self, model, data, resume=False):',
      '        if resume:',
      `            ${reload}`,
      '        self._epochs(data, model)',
    );

  it('flags the softmax of the one model class that returns a tensor, past the reload branch', () => {
    assert.deepEqual(ids(trainer('ckpt = Checkpoint.load(path)\n            model = ckpt.model'), 'LS001'), ['LS001']);
    assert.deepEqual(ids(trainer("model = torch.load(path)['model']"), 'LS001'), ['LS001']);
  });

  it('stays quiet when the other branch builds something unknown', () => {
    assert.deepEqual(ids(trainer('model = make_model(cfg)'), 'LS001'), []);
  });

  it('stays quiet when two tensor-returning classes disagree', () => {
    const code = trainer('ckpt = Checkpoint.load(path)\n            model = ckpt.model') + lines('class Plain(nn.Module):', '    def forward(self, a, b):', '        return a + b');
    assert.deepEqual(ids(code, 'LS001'), []);
  });
});

describe('AR007: a zero-init function applied only to one named part', () => {
  const model = (applies: string) =>
    HEADER +
    lines(
      'def zero_init(m):',
      "    if m.__class__.__name__.find('Linear') != -1:",
      '        nn.init.zeros_(m.weight.data)',
      '        nn.init.zeros_(m.bias.data)',
      '',
      'class Net(nn.Module):',
      '    def __init__(self):',
      '        super().__init__()',
      '        self.body = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU())',
      '        self.film = nn.Sequential(nn.Linear(4, 16), nn.Tanh())',
      `        ${applies}`,
      '',
      '    def forward(self, x, c):',
      '        return self.body(x) * (1 + self.film(c)[:, :8])',
    );

  it('stays quiet on a conditioning layer started at zero', () => {
    assert.deepEqual(ids(model('self.film.apply(zero_init)'), 'AR007'), []);
  });

  it('still flags the function applied to the whole model or to a multi-layer part', () => {
    assert.deepEqual(ids(model('self.apply(zero_init)'), 'AR007'), ['AR007']);
    assert.deepEqual(ids(model('self.body.apply(zero_init)'), 'AR007'), ['AR007']);
    assert.deepEqual(ids(model('self.film.apply(zero_init)\n        self.body.apply(zero_init)'), 'AR007'), ['AR007']);
  });
});

describe('AR001: biased ModuleList layers feeding a list of BatchNorms by index', () => {
  const mlp = (linear: string, norm = 'nn.BatchNorm1d(d)') =>
    HEADER +
    lines(
      'class MLP(nn.Module):',
      '    def __init__(self, n, d):',
      '        super().__init__()',
      '        self.lins = nn.ModuleList()',
      `        self.norms = nn.ModuleList([${norm} for _ in range(n)])`,
      '        for i in range(n):',
      `            self.lins.append(${linear})`,
      '',
      '    def forward(self, x):',
      '        for i in range(len(self.norms)):',
      '            x = F.relu(self.norms[i](self.lins[i](x)))',
      '        return x',
    );

  it('flags the list read feeding the norm', () => {
    assert.deepEqual(ids(mlp('nn.Linear(d, d)'), 'AR001'), ['AR001']);
  });

  it('follows x = layer(x) then x = F.relu(norm(x)) inside a loop of forward', () => {
    const split = mlp('nn.Linear(d, d)').replace('            x = F.relu(self.norms[i](self.lins[i](x)))', '            x = self.lins[i](x)\n            x = F.relu(self.norms[i](x))');
    assert.deepEqual(ids(split, 'AR001'), ['AR001']);
    const single = HEADER + lines('class B(nn.Module):', '    def __init__(self):', '        super().__init__()', '        self.conv = nn.Conv2d(3, 8, 3)', '        self.bn = nn.BatchNorm2d(8)', '    def forward(self, x):', '        x = self.conv(x)', '        x = F.relu(self.bn(x))', '        return x');
    assert.deepEqual(ids(single, 'AR001'), ['AR001']);
    assert.deepEqual(ids(single.replace('x = F.relu(self.bn(x))', 'x = F.relu(self.bn(F.relu(x)))'), 'AR001'), []);
  });

  it('stays quiet with bias=False, a LayerNorm list, or a list holding something unknown', () => {
    assert.deepEqual(ids(mlp('nn.Linear(d, d, bias=False)'), 'AR001'), []);
    assert.deepEqual(ids(mlp('nn.Linear(d, d)', 'nn.LayerNorm(d)'), 'AR001'), []);
    assert.deepEqual(ids(mlp('make_layer(d)'), 'AR001'), []);
  });
});
