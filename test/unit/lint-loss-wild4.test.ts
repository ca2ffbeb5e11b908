// Loss and output flow, wild set 4: a softmax written as exp(log_softmax), a loop over the rows of probabilities, a
// loss module's default criterion (LS001); a linear map written by hand and a model whose parameters are set again
// after it is built (LS009).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fix, HEADER, ids, useParser } from './lint/helpers';

useParser();

describe('LS001: exp of log-probabilities is probabilities', () => {
  it('flags torch.exp(F.log_softmax(...)) fed to CrossEntropyLoss, and removes both steps', () => {
    const code = HEADER + 'criterion = nn.CrossEntropyLoss()\nloss = criterion(torch.exp(F.log_softmax(logits, dim=1)), y)\n';
    assert.deepEqual(ids(code, 'LS001'), ['LS001']);
    assert.match(fix(code, 'LS001'), /criterion\(logits, y\)/);
  });

  it('flags .exp() of a LogSoftmax layer in forward, through a name and a view', () => {
    const code =
      HEADER +
      [
        'class Ranker(nn.Module):',
        '    def __init__(self):',
        '        super().__init__()',
        '        self.score = nn.Linear(16, 1)',
        '        self.norm = nn.LogSoftmax(dim=0)',
        '    def forward(self, cands, gold):',
        '        s = self.score(cands).squeeze(-1)',
        '        probs = self.norm(s).exp()',
        '        return F.cross_entropy(probs.view(1, -1), gold)',
      ].join('\n') + '\n';
    assert.deepEqual(ids(code, 'LS001'), ['LS001']);
  });

  it('flags NLLLoss on exp(log_softmax) too (LS003: probabilities, not log-probabilities)', () => {
    const code = HEADER + 'lp = F.log_softmax(logits, dim=1)\nloss = F.nll_loss(lp.exp(), y)\n';
    assert.deepEqual(ids(code, 'LS003'), ['LS003']);
  });

  it('stays quiet on exp of anything else', () => {
    assert.deepEqual(ids(HEADER + 'loss = F.cross_entropy(torch.exp(logits), y)\n', 'LS001'), []);
    assert.deepEqual(ids(HEADER + 'lp = F.log_softmax(logits, dim=1)\nloss = F.cross_entropy(lp, y)\nacc = lp.exp().argmax(1)\n', 'LS001'), ['LS001']);
    // exp of log-probabilities used as the NLL's target weights, not as its input: LS003 is about the input.
    assert.deepEqual(ids(HEADER + 'lp = F.log_softmax(logits, dim=1)\nloss = F.nll_loss(lp, y)\nconf = lp.exp().max(1)\n', 'LS003'), []);
  });
});

describe('LS001: a for loop over the rows of probabilities', () => {
  const wrap = (loop: string) =>
    HEADER +
    [
      'def pair_loss(scores, targets):',
      '    ce = nn.CrossEntropyLoss()',
      '    probs = torch.softmax(scores, -1)',
      '    total = 0',
      ...loop.split('\n').map((l) => '    ' + l),
      '    return total',
    ].join('\n') +
    '\n';

  it('flags a row of a softmax tensor', () => {
    assert.deepEqual(ids(wrap('for row in probs:\n    total += ce(row, torch.arange(row.shape[0]))'), 'LS001'), ['LS001']);
  });

  it('flags the element enumerate and zip pick', () => {
    assert.deepEqual(ids(wrap('for i, row in enumerate(probs):\n    total += ce(row, targets[i])'), 'LS001'), ['LS001']);
    assert.deepEqual(ids(wrap('for row, t in zip(probs, targets):\n    total += ce(row, t)'), 'LS001'), ['LS001']);
    assert.deepEqual(ids(wrap('for k, (row, t) in enumerate(zip(probs, targets), 1):\n    total += ce(row, t)'), 'LS001'), ['LS001']);
  });

  it('stays quiet on rows of logits, on the other zip element, and on iterables it does not follow', () => {
    assert.deepEqual(ids(wrap('for row in scores:\n    total += ce(row, torch.arange(row.shape[0]))'), 'LS001'), []);
    assert.deepEqual(ids(wrap('for t, row in zip(probs, scores):\n    total += ce(row, t.argmax(-1))'), 'LS001'), []);
    assert.deepEqual(ids(wrap('for row in [scores, scores * 2]:\n    total += ce(row, targets)'), 'LS001'), []);
    assert.deepEqual(ids(wrap('for row in probs.chunk(4):\n    total += ce(row, targets)'), 'LS001'), []);
  });

  it('stays quiet when the body binds the name again before the loss', () => {
    assert.deepEqual(ids(wrap('for row in probs:\n    row = torch.log(row + 1e-9) - row.mean()\n    total += ce(row, targets)'), 'LS001'), []);
  });
});

describe('LS001: the default of a parameter no call in the file passes', () => {
  const lossModule = (init: string, extra = '') =>
    HEADER +
    [
      'class PairLoss(nn.Module):',
      `    def __init__(self, ${init}):`,
      '        super(PairLoss, self).__init__()',
      '        self.loss = loss',
      '    def forward(self, raw, target):',
      '        probs = torch.softmax(raw, -1)',
      '        return self.loss(probs, target)',
    ].join('\n') +
    '\n' +
    extra;

  it('flags a loss module whose default criterion is CrossEntropyLoss (super(Cls, self) is no call)', () => {
    assert.deepEqual(ids(lossModule("reduction='mean', loss=nn.CrossEntropyLoss(reduction='sum')"), 'LS001'), ['LS001']);
  });

  it('follows a default activation module as well', () => {
    const code =
      HEADER +
      [
        'class Head(nn.Module):',
        '    def __init__(self, normalize=nn.Softmax(dim=-1), criterion=nn.CrossEntropyLoss()):',
        '        super().__init__()',
        '        self.normalize = normalize',
        '        self.criterion = criterion',
        '    def forward(self, raw, target):',
        '        return self.criterion(self.normalize(raw), target)',
      ].join('\n') +
      '\n';
    assert.deepEqual(ids(code, 'LS001'), ['LS001']);
  });

  it('stays quiet when the file builds the class with another loss, names it elsewhere, or the default is None', () => {
    assert.deepEqual(ids(lossModule('loss=nn.CrossEntropyLoss()', 'crit = PairLoss(loss=nn.MSELoss())\n'), 'LS001'), []);
    assert.deepEqual(ids(lossModule('loss=nn.CrossEntropyLoss()', "LOSSES = {'pair': PairLoss}\n"), 'LS001'), []);
    assert.deepEqual(ids(lossModule('loss=nn.CrossEntropyLoss()', 'class WeightedPairLoss(PairLoss):\n    pass\n'), 'LS001'), []);
    assert.deepEqual(ids(lossModule('loss=None'), 'LS001'), []);
  });
});

describe('LS009: a linear map written by hand', () => {
  const data = HEADER + 'x = torch.randn(256, 3)\ny = torch.randn(256)\n';

  it('flags x @ w + b with a (k, 1) weight against a 1-D target', () => {
    const code = data + 'w = torch.randn(3, 1, requires_grad=True)\nb = torch.zeros(1, requires_grad=True)\nloss = F.mse_loss(x @ w + b, y)\n';
    assert.deepEqual(ids(code, 'LS009'), ['LS009']);
    assert.match(fix(code, 'LS009'), /F\.mse_loss\(\(x @ w \+ b\)\.squeeze\(1\), y\)/);
  });

  it('flags torch.matmul / .mm / F.linear forms', () => {
    assert.deepEqual(ids(data + 'w = torch.zeros((3, 1))\nloss = F.l1_loss(torch.matmul(x, w), y)\n', 'LS009'), ['LS009']);
    assert.deepEqual(ids(data + 'w = nn.Parameter(torch.randn(3, 1) * 0.01)\ncrit = nn.MSELoss()\nloss = crit(x.mm(w), y)\n', 'LS009'), ['LS009']);
    assert.deepEqual(ids(data + 'w = torch.randn(1, 3)\nb = torch.tensor([0.5])\nloss = F.mse_loss(F.linear(x, w, b), y)\n', 'LS009'), ['LS009']);
  });

  it('flags a module whose forward multiplies by its own (k, 1) parameter, registered or assigned', () => {
    const module = (init: string, ret: string) =>
      data +
      [
        'class Regressor(nn.Module):',
        '    def __init__(self, k):',
        '        super().__init__()',
        `        ${init}`,
        '        self.b = nn.Parameter(torch.zeros(1))',
        '    def forward(self, inputs):',
        `        return ${ret}`,
        'def fit(inputs, targets):',
        '    model = Regressor(inputs.shape[1])',
        '    out = model.forward(inputs)',
        '    return F.mse_loss(out, targets)',
        'fit(x, y)',
      ].join('\n') +
      '\n';
    assert.deepEqual(ids(module("self.register_parameter('w', nn.Parameter(torch.rand((k, 1)) * 0.01))", 'torch.matmul(inputs, self.w) + self.b'), 'LS009'), ['LS009']);
    assert.deepEqual(ids(module('self.w = nn.Parameter(torch.randn(k, 1))', 'torch.sigmoid(inputs @ self.w + self.b)'), 'LS009'), ['LS009']);
    // A 1-D weight gives a 1-D output: nothing broadcasts.
    assert.deepEqual(ids(module('self.w = nn.Parameter(torch.randn(k))', 'inputs @ self.w + self.b'), 'LS009'), []);
  });

  it('stays quiet on a wide weight, a 1-D input, a bias of many values, or a reshaped target', () => {
    assert.deepEqual(ids(data + 'w = torch.randn(3, 4)\nloss = F.mse_loss(x @ w, y)\n', 'LS009'), []);
    assert.deepEqual(ids(HEADER + 'x = torch.randn(3)\ny = torch.randn(256)\nw = torch.randn(3, 1)\nloss = F.mse_loss(x @ w, y)\n', 'LS009'), []);
    assert.deepEqual(ids(data + 'w = torch.randn(3, 1)\nb = torch.zeros(256)\nloss = F.mse_loss(x @ w + b, y)\n', 'LS009'), []);
    assert.deepEqual(ids(data + 'w = torch.randn(3, 1)\nloss = F.mse_loss(x @ w, y.view(-1, 1))\ny2 = y.view(-1, 1)\n', 'LS009'), []);
    assert.deepEqual(ids(data + 'w = torch.randn(3, 1)\nloss = F.mse_loss(x @ w, y.unsqueeze(1))\n', 'LS009'), []);
  });
});

describe('LS009: parameters set again after the model is built', () => {
  const script = (line: string) =>
    HEADER + 'x = torch.rand((512, 3))\ny = x[:, 0] + x[:, 1]\nm = nn.Sequential(nn.Linear(3, 1, bias=False))\n' + line + '\nmse = nn.MSELoss()\nloss = mse(m(x), y)\n';

  it('still flags a model whose weight is set to one row, frozen, or written in place', () => {
    assert.deepEqual(ids(script('m[0].weight = nn.Parameter(torch.tensor([[0.0, 0.0, 0.0]]))'), 'LS009'), ['LS009']);
    assert.deepEqual(ids(script('m[0].weight.requires_grad = False'), 'LS009'), ['LS009']);
    assert.deepEqual(ids(script('m[0].weight.data[0, 0] = 1.0'), 'LS009'), ['LS009']);
    assert.deepEqual(ids(script('m[0].bias = nn.Parameter(torch.zeros(1))'), 'LS009'), ['LS009']);
  });

  it('stays quiet when the new weight changes the output width, or a layer is replaced', () => {
    assert.deepEqual(ids(script('m[0].weight = nn.Parameter(torch.tensor([0.0, 0.0, 0.0]))'), 'LS009'), []);
    assert.deepEqual(ids(script('m[0].weight = nn.Parameter(torch.zeros(2, 3))'), 'LS009'), []);
    assert.deepEqual(ids(script('m[0].weight = nn.Parameter(w0)'), 'LS009'), []);
    assert.deepEqual(ids(script('m[0] = nn.Linear(3, 4)'), 'LS009'), []);
  });
});

describe('LS009: the default criterion of a class nothing here builds', () => {
  it('flags it', () => {
    const code =
      HEADER +
      [
        'class Fitter:',
        '    def __init__(self, crit=nn.MSELoss()):',
        '        self.crit = crit',
        '        self.model = nn.Linear(8, 1)',
        '    def run(self):',
        '        x = torch.randn(64, 8)',
        '        y = torch.randn(64)',
        '        return self.crit(self.model(x), y)',
      ].join('\n') +
      '\n';
    assert.deepEqual(ids(code, 'LS009'), ['LS009']);
    assert.deepEqual(ids(code + 'f = Fitter(crit=nn.CrossEntropyLoss())\n', 'LS009'), []);
  });
});
