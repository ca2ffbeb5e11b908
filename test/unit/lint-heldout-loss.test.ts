// Held-out loss / output-activation shapes (session 11): a loss module moved with `.cuda()` / `.to(device)` and handed
// to a helper as a parameter (LS003, LS001, LS002); a model or its output reaching the CrossEntropyLoss of a helper
// through a parameter or `self.model` (LS006); a model returning a dict read by literal key (LS001, LS002); picked
// probabilities (`gather`, `probs[:, k]`) under a log (LS004).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, useParser } from './lint/helpers';

useParser();

// ---- the loss reaches a helper as a parameter ----

const batchStep = `${HEADER}
def batch_step(model, xb, yb, nll, opt):
    opt.zero_grad()
    preds = model(xb)
    loss = nll(preds, yb)
    loss.backward()
    opt.step()
`;

test('LS003: an NLLLoss moved with .cuda() and handed to a helper with a Softmax model', () => {
  const code = `${batchStep}
def run(X, Y, wide=False):
    nll = nn.NLLLoss()
    if torch.cuda.is_available():
        nll = nll.cuda()
    if wide:
        model = nn.Sequential(nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 5), nn.Softmax(dim=1))
    else:
        model = nn.Sequential(nn.Linear(8, 5), nn.Softmax(dim=1))
    opt = torch.optim.Adam(model.parameters())
    for i in range(100):
        batch_step(model, X, Y, nll, opt)
`;
  assert.deepEqual(ids(code, 'LS003'), ['LS003']);
  // `nn.NLLLoss().to(device)` in one expression, and the loss passed by keyword.
  const chained = `${batchStep}
def run(X, Y, device):
    model = nn.Sequential(nn.Linear(8, 5), nn.Softmax(dim=1)).to(device)
    opt = torch.optim.Adam(model.parameters())
    batch_step(model, X, Y, opt=opt, nll=nn.NLLLoss().to(device))
`;
  assert.deepEqual(ids(chained, 'LS003'), ['LS003']);
});

test('LS003: quiet when the model ends in LogSoftmax, or call sites pass different losses', () => {
  const logSoftmax = `${batchStep}
def run(X, Y):
    nll = nn.NLLLoss().cuda()
    model = nn.Sequential(nn.Linear(8, 5), nn.LogSoftmax(dim=1))
    batch_step(model, X, Y, nll, torch.optim.Adam(model.parameters()))
`;
  assert.deepEqual(ids(logSoftmax, 'LS003'), []);
  const disagree = `${batchStep}
def run(X, Y):
    model = nn.Sequential(nn.Linear(8, 5), nn.Softmax(dim=1))
    opt = torch.optim.Adam(model.parameters())
    batch_step(model, X, Y, nn.NLLLoss().cuda(), opt)
    batch_step(model, X, Y, nn.MSELoss().cuda(), opt)
`;
  assert.deepEqual(ids(disagree, 'LS003'), []);
});

test('LS001 / LS002: a loss re-bound through .cuda() / .to() reaches a helper or a method', () => {
  const ce = `${HEADER}
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 3)
    def forward(self, x):
        return F.softmax(self.fc(x), dim=1)

def fit(net, data, criterion, opt):
    for x, y in data:
        opt.zero_grad()
        criterion(net(x), y).backward()
        opt.step()

def main(data):
    model = Net().cuda()
    criterion = nn.CrossEntropyLoss()
    criterion = criterion.cuda()
    fit(net=model, data=data, criterion=criterion, opt=torch.optim.SGD(model.parameters(), lr=0.1))
`;
  assert.deepEqual(ids(ce, 'LS001'), ['LS001']);
  const bce = `${HEADER}
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 1)
    def forward(self, x):
        return torch.sigmoid(self.fc(x))

class Trainer:
    def __init__(self, net, crit):
        self.net = net
        self.crit = crit
    def step(self, x, y, loss_fn):
        return loss_fn(self.net(x), y)
    def fit(self, x, y):
        return self.step(x, y, loss_fn=self.crit)

Trainer(Net(), nn.BCEWithLogitsLoss().to('cuda')).fit(xs, ys)
`;
  assert.deepEqual(ids(bce, 'LS002'), ['LS002']);
  // The same with a BCELoss: probabilities are what it wants.
  assert.deepEqual(ids(bce.replace('nn.BCEWithLogitsLoss()', 'nn.BCELoss()'), 'LS002'), []);
});

// ---- LS006: the model or its output reaches the loss through a parameter ----

const reluNet = `${HEADER}
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 3)
    def forward(self, x):
        return torch.relu(self.fc(x))
`;

test('LS006: a ReLU-ended model handed to a method as self.model', () => {
  const code = `${reluNet}
class Runner:
    def __init__(self):
        self.model = Net()
        self.crit = nn.CrossEntropyLoss()
    def _step(self, model, batch, crit):
        x, y = batch
        return crit(model(x), y)
    def epoch(self, loader):
        for batch in loader:
            self._step(self.model, batch, self.crit).backward()
`;
  assert.deepEqual(ids(code, 'LS006'), ['LS006']);
  // A model whose forward ends in the Linear: nothing.
  assert.deepEqual(ids(code.replace('torch.relu(self.fc(x))', 'self.fc(x)'), 'LS006'), []);
});

test('LS006: the ReLU output handed to a loss helper as data', () => {
  const code = `${reluNet}
def compute(out, y, crit):
    return crit(out, y)

def train(loader):
    net = Net()
    crit = nn.CrossEntropyLoss()
    for x, y in loader:
        compute(net(x), y, crit).backward()
    report(net)
`;
  assert.deepEqual(ids(code, 'LS006'), ['LS006']);
  // Another call site passes something else: no agreement, no finding.
  const mixed = code.replace('    report(net)', '    report(net)\n    compute(torch.randn(4, 3), y, crit)');
  assert.deepEqual(ids(mixed, 'LS006'), []);
});

// ---- a model returning a dict ----

test('LS002 / LS001: an activation stored under a dict key and read by that key', () => {
  const built = `${HEADER}
class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.seg = nn.Conv2d(8, 4, 1)
        self.fc = nn.Linear(8, 4)
    def forward(self, x):
        out = {}
        out['seg'] = self.seg(x)
        out['exist'] = torch.sigmoid(self.fc(x.mean((2, 3))))
        return out

model = Head()
seg_crit = nn.CrossEntropyLoss()
exist_crit = nn.BCEWithLogitsLoss()
for x, m, e in loader:
    output = model(x)
    loss = seg_crit(output['seg'], m) + exist_crit(output['exist'], e)
    loss.backward()
`;
  assert.deepEqual(ids(built, 'LS002'), ['LS002']);
  assert.deepEqual(ids(built, 'LS001'), []);
  // A dict literal, read through a Trainer method's parameter.
  const literal = `${HEADER}
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 4)
    def forward(self, x):
        h = self.fc(x)
        return {'probs': F.softmax(h, dim=1), 'logits': h}

class Trainer:
    def __init__(self, model):
        self.model = model
        self.crit = nn.CrossEntropyLoss()
    def compute_loss(self, output, y):
        return self.crit(output['probs'], y)
    def step(self, x, y):
        output = self.model(x)
        return self.compute_loss(output, y)

Trainer(Net()).step(xs, ys)
`;
  assert.deepEqual(ids(literal, 'LS001'), ['LS001']);
  assert.deepEqual(ids(literal.replace("output['probs']", "output['logits']"), 'LS001'), []);
  // `dict(...)` and a subscript of the call itself.
  const dictCall = `${HEADER}
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 4)
    def forward(self, x):
        h = self.fc(x)
        return dict(probs=F.softmax(h, dim=1), logits=h)

net = Net()
for x, y in loader:
    loss = F.cross_entropy(net(x)['probs'], y)
`;
  assert.deepEqual(ids(dictCall, 'LS001'), ['LS001']);
});

test('LS001 / LS002: quiet when the dict key may hold something else', () => {
  const code = (body: string) => `${HEADER}
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 4)
    def forward(self, x, extra, k):
        h = self.fc(x)
${body}
        return out

net = Net()
for x, y in loader:
    out = net(x, {}, 'probs')
    loss = F.cross_entropy(out['probs'], y) + F.binary_cross_entropy_with_logits(out['exist'], y)
`;
  const cases = [
    // Overwritten under an `if`: logits on one path.
    "        out = {'probs': h, 'exist': torch.sigmoid(h)}\n        if self.training:\n            out['exist'] = h",
    // Merged with another dict, or written with a computed key.
    "        out = {'probs': F.softmax(h, dim=1), 'exist': torch.sigmoid(h)}\n        out.update(extra)",
    "        out = {'probs': F.softmax(h, dim=1), 'exist': torch.sigmoid(h)}\n        out[k] = h",
    // Replaced in the dict's own block: the last write holds.
    "        out = {'probs': F.softmax(h, dim=1), 'exist': torch.sigmoid(h)}\n        out['probs'] = h\n        out['exist'] = h",
  ];
  for (const body of cases) assert.deepEqual(ids(code(body), 'LS001').concat(ids(code(body), 'LS002')), [], body);
  // The positive of the same shape.
  const plain = code("        out = {'probs': F.softmax(h, dim=1)}\n        out['exist'] = torch.sigmoid(h)");
  assert.deepEqual(ids(plain, 'LS001').concat(ids(plain, 'LS002')), ['LS001', 'LS002']);
});

// ---- LS004: picked probabilities under a log ----

test('LS004: log of softmax probabilities picked with gather or a slice', () => {
  const code = `${HEADER}
policy = nn.Sequential(nn.Linear(4, 64), nn.ReLU(), nn.Linear(64, 2), nn.Softmax(dim=1))
opt = torch.optim.Adam(policy.parameters())
for states, actions, returns in batches:
    probs = policy(states)
    chosen = probs.gather(1, actions.long().view(-1, 1)).squeeze()
    loss = -torch.sum(returns * torch.log(chosen))
    first = torch.log(probs[:, 0])
    opt.zero_grad(); loss.backward(); opt.step()
`;
  assert.deepEqual(ids(code, 'LS004'), ['LS004', 'LS004']);
  // With an epsilon, or on a model with a plain Linear head: nothing.
  assert.deepEqual(ids(code.replace('torch.log(chosen)', 'torch.log(chosen + 1e-8)').replace('torch.log(probs[:, 0])', 'torch.log(probs[:, 0] + 1e-8)'), 'LS004'), []);
  assert.deepEqual(ids(code.replace(', nn.Softmax(dim=1))', ')'), 'LS004'), []);
});
