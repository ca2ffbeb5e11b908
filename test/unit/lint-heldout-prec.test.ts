// Precision on held-out public training code (session 11): shapes of correct code the loss rules misread.
// A module attribute named after an activation (`self.softmax = nn.LogSoftmax()`, called as `self.softmax(x)`) is the
// layer it holds, not the tensor method `x.softmax(dim)`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

const charRnn = (layer: string, loss: string) => `${HEADER}
class CharClassifier(nn.Module):
    def __init__(self, n_in, n_hidden, n_out):
        super().__init__()
        self.to_hidden = nn.Linear(n_in + n_hidden, n_hidden)
        self.to_out = nn.Linear(n_in + n_hidden, n_out)
        self.softmax = ${layer}

    def forward(self, x, h):
        both = torch.cat((x, h), 1)
        h = self.to_hidden(both)
        out = self.to_out(both)
        out = self.softmax(out)
        return out, h

net = CharClassifier(57, 128, 18)
criterion = ${loss}
opt = torch.optim.SGD(net.parameters(), lr=0.005)
for letters, label in pairs:
    h = torch.zeros(1, 128)
    for i in range(letters.size(0)):
        out, h = net(letters[i], h)
    opt.zero_grad()
    loss = criterion(out, label)
    loss.backward()
    opt.step()
`;

test('LS003/LS001: self.softmax holding nn.LogSoftmax is log-probabilities, not a softmax', () => {
  assert.deepEqual(ids(charRnn('nn.LogSoftmax(dim=1)', 'nn.NLLLoss()'), 'LS003'), []);
  // CrossEntropyLoss after LogSoftmax is only the redundant-layer note, not the softmax error.
  const ce = charRnn('nn.LogSoftmax(dim=1)', 'nn.CrossEntropyLoss()');
  const found = lint(ce, { select: ['LS001'] });
  assert.deepEqual(found.map((f) => [f.rule, f.severity]), [['LS001', 'info']]);
  assert.match(found[0]!.message, /log_softmax output/);
});

test('LS003/LS001: self.softmax holding nn.Softmax is still reported', () => {
  assert.deepEqual(ids(charRnn('nn.Softmax(dim=1)', 'nn.NLLLoss()'), 'LS003'), ['LS003']);
  assert.deepEqual(ids(charRnn('nn.Softmax(dim=1)', 'nn.CrossEntropyLoss()'), 'LS001'), ['LS001']);
});

test('LS003: the tensor method out.softmax(1) before NLLLoss is still reported', () => {
  const code = `${HEADER}
model = nn.Linear(10, 4)
criterion = nn.NLLLoss()
opt = torch.optim.SGD(model.parameters(), lr=0.01)
for xb, yb in loader:
    opt.zero_grad()
    probs = model(xb).softmax(1)
    loss = criterion(probs, yb)
    loss.backward()
    opt.step()
`;
  assert.deepEqual(ids(code, 'LS003'), ['LS003']);
});

test('LS007: self.sigmoid holding another layer (nn.Hardtanh) is not a sigmoid', () => {
  const code = (layer: string) => `${HEADER}
class Scorer(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 1)
        self.sigmoid = ${layer}

    def forward(self, x):
        return self.sigmoid(self.fc(x))

model = Scorer()
criterion = nn.BCELoss()
opt = torch.optim.SGD(model.parameters(), lr=0.01)
for xb, yb in loader:
    opt.zero_grad()
    loss = criterion(model(xb), yb)
    loss.backward()
    opt.step()
`;
  assert.deepEqual(ids(code('nn.Sigmoid()'), 'LS007'), ['LS007']);
  assert.deepEqual(ids(code('nn.Hardtanh(0, 1)'), 'LS007'), []);
});

test('LS003: no rename fix for self.softmax(x) (the module has no log_softmax attribute); x.softmax(1) keeps it', () => {
  const found = lint(charRnn('nn.Softmax(dim=1)', 'nn.NLLLoss()'), { select: ['LS003'] });
  assert.equal(found.length, 1);
  assert.equal(found[0]!.fixes, undefined);
  const method = `${HEADER}
model = nn.Linear(10, 4)
opt = torch.optim.SGD(model.parameters(), lr=0.01)
for xb, yb in loader:
    opt.zero_grad()
    loss = F.nll_loss(model(xb).softmax(1), yb)
    loss.backward()
    opt.step()
`;
  assert.match(fix(method, 'LS003'), /model\(xb\)\.log_softmax\(1\)/);
});
