import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, lint, useParser } from './lint/helpers';

useParser();

const step = (body: string, pre = '') =>
  `${HEADER}import math\n${pre}model = Net()\noptimizer = torch.optim.Adam(model.parameters())\ncriterion = nn.CrossEntropyLoss()\nfor x, y in loader:\n${body
    .split('\n')
    .map((l) => '    ' + l)
    .join('\n')}\n    optimizer.zero_grad()\n    loss.backward()\n    optimizer.step()\n`;

const tl007 = (code: string) => lint(code, { select: ['TL007'] });

// ---- TL007: a term of the back-propagated loss that has no gradient ----
test('TL007: a loss term computed by a method from argmax, accumulated and weighted, added to the loss', () => {
  const code = `${HEADER}
class ConsistencyLoss:
    def __init__(self, weight=0.5):
        self.weight = weight

    def mismatch(self, coarse, fine):
        return torch.FloatTensor([int(c) != int(f) // 2 for c, f in zip(coarse, fine)])

    def penalty(self, outputs):
        total = 0
        for k in range(1, len(outputs)):
            top = torch.argmax(torch.softmax(outputs[k - 1], dim=1), dim=1)
            low = torch.argmax(outputs[k], dim=1)
            total += torch.mean(torch.exp(self.mismatch(top, low)))
        return self.weight * total

aux = ConsistencyLoss()
for x, y in loader:
    coarse, fine = model(x)
    ce = F.cross_entropy(fine, y)
    pen = aux.penalty([coarse, fine])
    loss = ce + pen
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
`;
  const f = tl007(code);
  assert.deepEqual(f.map((x) => x.rule), ['TL007']);
  assert.match(f[0]!.message, /pen has no gradient: it goes through torch\.argmax\(\)/);
});

test('TL007: terms cut by a threshold, .item(), .long(), no_grad, in a sum or with +=', () => {
  // a comparison
  assert.deepEqual(ids(step('out = model(x)\nhit = ((out > 0).float() == y).float().mean()\nloss = criterion(out, y) + 0.1 * (1 - hit)'), 'TL007'), ['TL007']);
  // .item() inside a generator summed into a penalty
  assert.deepEqual(ids(step('out = model(x)\nl2 = sum(p.norm().item() for p in model.parameters())\nloss = criterion(out, y) + 1e-4 * l2'), 'TL007'), ['TL007']);
  // an integer cast
  assert.deepEqual(ids(step('out = model(x)\nloss = criterion(out, y)\nloss += out.long().float().mean()'), 'TL007'), ['TL007']);
  // computed under no_grad
  assert.deepEqual(ids(step('out = model(x)\nwith torch.no_grad():\n    smooth = model(x).pow(2).mean()\nloss = criterion(out, y) - 0.01 * smooth'), 'TL007'), ['TL007']);
  // torch.tensor of a Python number
  assert.deepEqual(ids(step('out = model(x)\nacc = (out.argmax(1) == y).sum().item() / len(y)\nloss = criterion(out, y) + torch.tensor(1.0 - acc)'), 'TL007'), ['TL007']);
});

test('TL007: a whole loss built from accuracy and re-wrapped with requires_grad', () => {
  const f = tl007(step('out = model(x)\ncorrect = (out.argmax(dim=1) == y).sum().item()\nloss = torch.tensor(1 - correct / len(y), requires_grad=True)'));
  assert.deepEqual(f.map((x) => x.rule), ['TL007']);
  assert.match(f[0]!.message, /^The loss passed to backward\(\) has no gradient: it goes through \.argmax\(\)/);
});

test('TL007: differentiable, constant or unknown terms are not reported', () => {
  const clean = [
    // a differentiable regulariser
    'out = model(x)\nloss = criterion(out, y) + 0.1 * out.pow(2).mean()',
    // a cut mask times the prediction still carries a gradient
    'out = model(x)\nmask = (y > 0).float()\nloss = criterion(out, y) + (mask * out).mean()',
    // constants
    'out = model(x)\nloss = criterion(out, y) + torch.tensor(0.0) + math.log(10)',
    // detach inside a term, not over it
    'out = model(x)\nloss = criterion(out, y) + F.mse_loss(out, out.detach().roll(1, 0))',
    // an imported helper we cannot see
    'out = model(x)\nloss = criterion(out, y) + reg_term(model)',
    // argmax only for metrics
    'out = model(x)\nacc = (out.argmax(1) == y).float().mean()\nloss = criterion(out, y)',
    // a learnable weight times a cut term: the weight gets a gradient
    'out = model(x)\nhit = (out.argmax(1) == y).float().mean()\nloss = criterion(out, y) + log_var.exp() * hit',
  ];
  for (const body of clean) assert.deepEqual(ids(step(body, 'log_var = nn.Parameter(torch.zeros(1))\n'), 'TL007'), [], body);
  // a parameter rebound in its function: what it held on entry is not followed
  const rebound = step('out = model(x)\nloss = criterion(out, y) + scaled(out)', 'def scaled(p):\n    p = p.float()\n    return p.mean()\n');
  assert.deepEqual(ids(rebound, 'TL007'), []);
  // a learnable weight held by the class
  const learned = `${HEADER}
class Weighted(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(1))

    def extra(self, out, y):
        return self.w * (out.argmax(1) == y).float().mean()

crit = Weighted()
for x, y in loader:
    out = model(x)
    loss = F.cross_entropy(out, y) + crit.extra(out, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
`;
  assert.deepEqual(ids(learned, 'TL007'), []);
});

test('TL007: trainable leaves and attributes named like cuts are not gradient-free', () => {
  // a leaf made with requires_grad, updated in place under no_grad
  const leaf = `${HEADER}w = torch.arange(0, 1, 0.1)\nw = torch.tensor(0.5, requires_grad=True)\nfor it in range(10):\n    loss = -(3 * torch.log(w) + 2 * torch.log(1 - w))\n    loss.backward()\n    with torch.no_grad():\n        w -= 0.1 * w.grad\n    w.grad.zero_()\n`;
  assert.deepEqual(ids(leaf, 'TL007'), []);
  // a constant made trainable afterwards, times a detached factor
  const alpha = `${HEADER}import numpy as np
class Agent(nn.Module):
    def __init__(self):
        super().__init__()
        self.log_alpha = torch.tensor(np.log(0.01))
        self.log_alpha.requires_grad = True
        self.alpha_opt = torch.optim.Adam([self.log_alpha])

    def update(self, log_prob):
        alpha_loss = -(self.log_alpha.exp() * (log_prob - 2.0).detach()).mean()
        self.alpha_opt.zero_grad()
        alpha_loss.backward()
        self.alpha_opt.step()
`;
  assert.deepEqual(ids(alpha, 'TL007'), []);
  // \`self.data\` of a class is a list of saved steps, not a tensor's .data
  const episodes = `${HEADER}
class Policy(nn.Module):
    def __init__(self):
        super().__init__()
        self.data = []

    def put(self, item):
        self.data.append(item)

    def train_net(self):
        ret = 0
        for r, prob in self.data[::-1]:
            ret = r + 0.9 * ret
            loss = -torch.log(prob) * ret
            loss.backward()
`;
  assert.deepEqual(ids(episodes, 'TL007'), []);
});

// ---- LS005: one-hot targets made elsewhere ----
const ls005 = (code: string) => ids(code, 'LS005');

const dsLoop = (label: string, loss = 'F.cross_entropy(model(x), y)') => `${HEADER}import numpy as np
from torch.utils.data import Dataset

class Items(Dataset):
    def __init__(self, xs, ys):
        self.xs, self.ys = xs, ys

    def __len__(self):
        return len(self.xs)

    def __getitem__(self, i):
${label
  .split('\n')
  .map((l) => '        ' + l)
  .join('\n')}
        return self.xs[i], target

loader = DataLoader(Items(xs, ys), batch_size=32, shuffle=True)
for epoch in range(3):
    for step, (x, y) in enumerate(loader):
        loss = ${loss}
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
`;

test('LS005: integer one-hot given to CrossEntropyLoss through conversions, eye tables and a Dataset', () => {
  assert.deepEqual(ls005(`${HEADER}for x, y in loader:\n    t = F.one_hot(y, 10).to(device)\n    loss = F.cross_entropy(model(x), t)\n`), ['LS005']);
  assert.deepEqual(ls005(`${HEADER}import numpy as np\ncriterion = nn.CrossEntropyLoss()\nfor x, y in loader:\n    t = torch.from_numpy(np.eye(10, dtype=np.int64)[y])\n    loss = criterion(model(x), t)\n`), ['LS005']);
  assert.deepEqual(ls005(`${HEADER}for x, y in loader:\n    t = F.one_hot(y, 10).float().long().cuda()\n    loss = F.cross_entropy(model(x), t)\n`), ['LS005']);
  const f = lint(dsLoop('target = torch.zeros(10, dtype=torch.long)\ntarget[self.ys[i]] = 1'), { select: ['LS005'] });
  assert.deepEqual(f.map((x) => x.rule), ['LS005']);
  assert.match(f[0]!.message, /CrossEntropyLoss gets one-hot targets \(integer rows made by torch\.zeros\(10, dtype=torch\.long\)\)/);
});

test('LS005: any one-hot given to NLLLoss', () => {
  assert.deepEqual(ls005(`${HEADER}import numpy as np\nfor x, y in loader:\n    t = torch.from_numpy(np.eye(10)[y])\n    loss = F.nll_loss(F.log_softmax(model(x), 1), t)\n`), ['LS005']);
  assert.deepEqual(ls005(`${HEADER}from keras.utils import to_categorical\nY = torch.tensor(to_categorical(labels))\nloss = nn.NLLLoss()(F.log_softmax(model(X), 1), Y)\n`), ['LS005']);
  assert.deepEqual(ls005(dsLoop('target = np.zeros(10)\ntarget[self.ys[i]] = 1.0', 'F.nll_loss(F.log_softmax(model(x), 1), y)')), ['LS005']);
});

test('LS005: float one-hot (class probabilities) for CE, index masks and argmax-ed targets stay quiet', () => {
  assert.deepEqual(ls005(`${HEADER}for x, y in loader:\n    t = F.one_hot(y, 10).float().to(device)\n    loss = F.cross_entropy(model(x), t)\n`), []);
  assert.deepEqual(ls005(`${HEADER}import numpy as np\nfor x, y in loader:\n    t = torch.from_numpy(np.eye(10)[y]).float()\n    loss = F.cross_entropy(model(x), t)\n`), []);
  assert.deepEqual(ls005(`${HEADER}for x, y in loader:\n    t = F.one_hot(y, 10).argmax(dim=1)\n    loss = F.cross_entropy(model(x), t)\n`), []);
  assert.deepEqual(ls005(dsLoop('target = torch.zeros(10)\ntarget[self.ys[i]] = 1')), []);
  // a 2-D mask of class indices, not one-hot rows
  assert.deepEqual(ls005(dsLoop('target = torch.zeros(64, 64, dtype=torch.long)\ntarget[8:24, 8:24] = 1')), []);
  // the batch's one-hot rows are turned into indices before the loss
  const converted = dsLoop('target = torch.zeros(10, dtype=torch.long)\ntarget[self.ys[i]] = 1').replace('        loss =', '        x, y = x.to(dev), y.argmax(dim=1)\n        loss =');
  assert.deepEqual(ls005(converted), []);
  assert.deepEqual(ls005(converted.replace('y.argmax(dim=1)', 'y.to(dev)')), ['LS005']);
  // a long vector filled with a slice: not one-hot
  assert.deepEqual(ls005(dsLoop('target = torch.zeros(10, dtype=torch.long)\ntarget[:3] = 1')), []);
});
