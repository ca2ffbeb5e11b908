import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

const softmaxModel = `
${HEADER}
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 3)

    def forward(self, x):
        return F.softmax(self.fc(x), dim=1)

model = Net()
criterion = nn.CrossEntropyLoss()
out = model(x)
loss = criterion(out, y)
`;

test('LS001: softmax in forward reaches CrossEntropyLoss through a variable', () => {
  const f = lint(softmaxModel, { select: ['LS001'] });
  assert.equal(f.length, 1);
  assert.match(f[0]!.message, /softmax probabilities \(line 12\)/);
});

test('LS001: fix drops the softmax from forward, then the file is clean', () => {
  const fixed = fix(softmaxModel, 'LS001');
  assert.match(fixed, /return self\.fc\(x\)/);
  assert.deepEqual(ids(fixed, 'LS001'), []);
});

test('LS001: direct wrapper at the call site, F.cross_entropy, fix', () => {
  const code = `${HEADER}\nloss = F.cross_entropy(F.softmax(logits, dim=1), y)\n`;
  assert.deepEqual(ids(code, 'LS001'), ['LS001']);
  const fixed = fix(code, 'LS001');
  assert.match(fixed, /F\.cross_entropy\(logits, y\)/);
  assert.deepEqual(ids(fixed), []);
});

test('LS001: x.softmax(1), torch.softmax and log_softmax all count', () => {
  assert.deepEqual(ids(`${HEADER}\ncriterion = nn.CrossEntropyLoss()\nloss = criterion(out.softmax(1), y)\n`, 'LS001'), ['LS001']);
  assert.deepEqual(ids(`${HEADER}\nloss = nn.CrossEntropyLoss()(torch.softmax(out, -1), y)\n`, 'LS001'), ['LS001']);
  const f = lint(`${HEADER}\nloss = F.cross_entropy(F.log_softmax(out, 1), y)\n`, { select: ['LS001'] });
  assert.match(f[0]!.message, /log_softmax/);
});

test('LS001: self.softmax = nn.Softmax layer in forward, with statement-removing fix', () => {
  const code = `
${HEADER}
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 3)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x):
        x = self.fc(x)
        x = self.softmax(x)
        return x

def train(model, loader, optimizer):
    criterion = nn.CrossEntropyLoss()
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()

train(Net(), loader, opt)
`;
  assert.deepEqual(ids(code, 'LS001'), ['LS001']);
  const fixed = fix(code, 'LS001');
  assert.doesNotMatch(fixed, /x = self\.softmax\(x\)/);
  assert.deepEqual(ids(fixed, 'LS001'), []);
});

test('LS001: nn.Sequential ending in nn.Softmax, fix removes the layer', () => {
  const code = `${HEADER}\nmodel = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3), nn.Softmax(dim=1))\ncriterion = nn.CrossEntropyLoss()\nloss = criterion(model(x), y)\n`;
  assert.deepEqual(ids(code, 'LS001'), ['LS001']);
  const fixed = fix(code, 'LS001');
  assert.match(fixed, /nn\.Linear\(8, 3\)\)/);
  assert.deepEqual(ids(fixed, 'LS001'), []);
});

test('LS001: a function of the file that returns softmax; self.criterion in a class', () => {
  const code = `${HEADER}\ndef predict(model, x):\n    return torch.softmax(model(x), dim=1)\n\nclass Trainer:\n    def __init__(self):\n        self.criterion = nn.CrossEntropyLoss()\n\n    def step(self, x, y):\n        return self.criterion(predict(self.model, x), y)\n`;
  assert.deepEqual(ids(code, 'LS001'), ['LS001']);
});

test('LS001: negatives: logits into CE, softmax only for metrics, unknown model', () => {
  const code = `
${HEADER}
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 3)

    def forward(self, x):
        return self.fc(x)

model = Net()
criterion = nn.CrossEntropyLoss()
logits = model(x)
probs = F.softmax(logits, dim=1)
loss = criterion(logits, y)
acc = (probs.argmax(1) == y).float().mean()
loss2 = criterion(other_model(x), y)
`;
  assert.deepEqual(ids(code), []);
});

test('LS002: sigmoid into BCEWithLogitsLoss; fix; metric-only sigmoid is fine', () => {
  const bad = `${HEADER}\ncriterion = nn.BCEWithLogitsLoss()\nout = model(x)\nloss = criterion(torch.sigmoid(out), y)\n`;
  assert.deepEqual(ids(bad, 'LS002'), ['LS002']);
  assert.match(fix(bad, 'LS002'), /criterion\(out, y\)/);
  const metric = `${HEADER}\ncriterion = nn.BCEWithLogitsLoss()\nlogits = model(x).squeeze(1)\nloss = criterion(logits, y)\npreds = torch.sigmoid(logits) > 0.5\nacc = (preds == y).float().mean()\n`;
  assert.deepEqual(ids(metric), []);
});

test('LS002: through forward and F.binary_cross_entropy_with_logits; BCELoss after sigmoid is not LS002', () => {
  const code = `${HEADER}\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(4, 1)\n\n    def forward(self, x):\n        return torch.sigmoid(self.fc(x))\n\nnet = Net()\nloss = F.binary_cross_entropy_with_logits(net(x), y)\nloss2 = nn.BCELoss()(net(x), y)\n`;
  const f = lint(code, { select: ['LS002'] });
  assert.equal(f.length, 1);
  assert.equal(f[0]!.range.start.line, 14);
});

test('LS003: softmax into NLLLoss with a rename fix; raw logits; log_softmax is fine', () => {
  const bad = `${HEADER}\nloss = F.nll_loss(F.softmax(out, dim=1), y)\n`;
  assert.deepEqual(ids(bad, 'LS003'), ['LS003']);
  const fixed = fix(bad, 'LS003');
  assert.match(fixed, /F\.log_softmax\(out, dim=1\)/);
  assert.deepEqual(ids(fixed), []);
  const logits = `${HEADER}\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(4, 3)\n\n    def forward(self, x):\n        return self.fc(x)\n\nmodel = Net()\ncriterion = nn.NLLLoss()\nloss = criterion(model(x), y)\n`;
  assert.match(lint(logits, { select: ['LS003'] })[0]!.message, /raw logits/);
  const good = `${HEADER}\ncriterion = nn.NLLLoss()\nloss = criterion(F.log_softmax(model(x), dim=1), y)\nloss_fn = F.nll_loss\nl2 = loss_fn(torch.log_softmax(z, 1), y)\n`;
  assert.deepEqual(ids(good), []);
});
