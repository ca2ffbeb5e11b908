// Held-out shapes for the evaluation rules (round 2): modes switched through the file's own functions and wrapper
// methods (EV001 / EV002).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

/** A plain wrapper object (not an nn.Module) whose methods switch its two encoders' modes. */
const PAIR = `${HEADER}
class Encoder(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d, 64), nn.Dropout(0.2), nn.Linear(64, 32))

    def forward(self, x):
        return self.net(x)


class PairModel:
    def __init__(self, d):
        self.left = Encoder(d)
        self.right = Encoder(d)
        self.opt = torch.optim.Adam(list(self.left.parameters()) + list(self.right.parameters()))

    def to_train(self):
        self.left.train()
        self.right.train()

    def to_eval(self):
        self.left.eval()
        self.right.eval()

    def step(self, a, b):
        self.opt.zero_grad()
        loss = (self.left(a) - self.right(b)).pow(2).mean()
        loss.backward()
        self.opt.step()


def embed_all(pair, loader):
    pair.to_eval()
    out = []
    with torch.no_grad():
        for a, b in loader:
            out.append(pair.left(a))
    return out


def check(pair, dev_loader):
    return len(embed_all(pair, dev_loader))


def fit(pair, train_loader, dev_loader, every):
    pair.to_train()
    for i, (a, b) in enumerate(train_loader):
        pair.step(a, b)
        if i % every == 0:
            check(pair, dev_loader)


def main(train_loader, dev_loader):
    pair = PairModel(16)
    for epoch in range(10):
        fit(pair, train_loader, dev_loader, 100)
        check(pair, dev_loader)
`;

test('EV002: a wrapper method switches to eval (two functions down) inside the batch loop; its train method runs only before', () => {
  const found = lint(PAIR, { select: ['EV002'] });
  assert.deepEqual(
    found.map((f) => f.rule),
    ['EV002'],
  );
  assert.match(found[0]!.message, /pair is switched to eval mode inside this loop.*Call pair\.to_train\(\)/);
  assert.match(fix(PAIR, 'EV002'), /for i, \(a, b\) in enumerate\(train_loader\):\n {8}pair\.to_train\(\)\n {8}pair\.step\(a, b\)/);
});

test('EV002: the wrapper switched back per iteration, conditionally, both ways, or not an instance of it stays quiet', () => {
  // to_train() at the start of every iteration.
  assert.deepEqual(ids(PAIR.replace('        pair.step(a, b)\n', '        pair.to_train()\n        pair.step(a, b)\n'), 'EV002'), []);
  // to_eval() switches only under an if: not on every path.
  assert.deepEqual(ids(PAIR.replace('    def to_eval(self):\n        self.left.eval()\n        self.right.eval()', '    def to_eval(self, freeze=False):\n        if freeze:\n            self.left.eval()\n            self.right.eval()'), 'EV002'), []);
  // A method that switches both ways is not a mode switch.
  assert.deepEqual(ids(PAIR.replace('        self.right.eval()\n', '        self.right.eval()\n        self.right.train()\n'), 'EV002'), []);
  // `pair` built by a factory the file does not define: its to_eval() cannot be resolved.
  assert.deepEqual(ids(PAIR.replace('    pair = PairModel(16)', '    pair = load_pair(16)'), 'EV002'), []);
  // The train method called in the epoch loop, before the batch loop of another function: `fit` still keeps it outside.
  assert.deepEqual(ids(PAIR.replace('        fit(pair, train_loader, dev_loader, 100)', '        pair.to_train()\n        fit(pair, train_loader, dev_loader, 100)'), 'EV002'), ['EV002']);
});

test('EV002: a wrapper without a plain train method is reported without a fix', () => {
  const src = PAIR.replace('    def to_train(self):', '    def to_train(self, verbose=False):');
  const found = lint(src, { select: ['EV002'] });
  assert.deepEqual(
    found.map((f) => f.rule),
    ['EV002'],
  );
  assert.match(found[0]!.message, /Switch it back to training mode/);
  assert.equal(found[0]!.fixes, undefined);
});

const DIRECT = `${HEADER}
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(8, 32), nn.Dropout(0.5), nn.Linear(32, 2))

    def forward(self, x):
        return self.body(x)


def score(net, loader):
    net.eval()
    total = 0
    with torch.no_grad():
        for x, y in loader:
            total += (net(x).argmax(1) == y).sum().item()
    return total


def report(net, loader):
    print(score(net, loader))


def run(train_loader, val_loader):
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    for epoch in range(5):
        for x, y in train_loader:
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
        report(model, val_loader)
`;

test('EV002: eval() two plain functions down from the epoch loop (arguments mapped at each call)', () => {
  const found = lint(DIRECT, { select: ['EV002'] });
  assert.deepEqual(
    found.map((f) => f.rule),
    ['EV002'],
  );
  assert.match(found[0]!.message, /^model is switched to eval mode/);
  // Switched back by a helper function that trains on every path.
  const back = DIRECT.replace('def run(', 'def set_train(m):\n    m.train()\n\n\ndef run(').replace('        for x, y in train_loader:\n            opt.zero_grad()', '        set_train(model)\n        for x, y in train_loader:\n            opt.zero_grad()');
  assert.deepEqual(ids(back, 'EV002'), []);
});

test('EV001: an eval-mode switch through a wrapper method or a helper function counts as model.eval()', () => {
  const src = `${HEADER}
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(8, 32), nn.Dropout(0.5), nn.Linear(32, 2))

    def forward(self, x):
        return self.body(x)


def set_eval(m):
    m.eval()


def validate(model, val_loader):
    set_eval(model)
    with torch.no_grad():
        for x, y in val_loader:
            out = model(x)
`;
  assert.deepEqual(ids(src, 'EV001'), []);
  // Without the switch the loop is reported (the look-alike: a helper that does not switch on every path).
  assert.deepEqual(ids(src.replace('def set_eval(m):\n    m.eval()', 'def set_eval(m, on=False):\n    if on:\n        m.eval()'), 'EV001'), ['EV001']);
});

/** A trainer class whose test loader is built from the test split and stored on self. */
const BEST_TEST = `${HEADER}
class Runner:
    def __init__(self, net, train_set, test_set, epochs):
        self.net = net
        self.epochs = epochs
        self.opt = torch.optim.Adam(net.parameters())
        self.train_dl = DataLoader(train_set, batch_size=32, shuffle=True)
        self.test_dl2 = DataLoader(test_set, batch_size=32)

    def one_pass(self, loader, opt):
        hits, n = 0, 0
        for x, y in loader:
            out = self.net(x)
            if opt is not None:
                opt.zero_grad()
                F.cross_entropy(out, y).backward()
                opt.step()
            hits += (out.argmax(1) == y).sum().item()
            n += len(y)
        return hits / n

    def run(self, log):
        top = 0.0
        for epoch in range(self.epochs):
            self.net.train()
            self.one_pass(self.train_dl, self.opt)
            self.net.eval()
            with torch.no_grad():
                score = self.one_pass(self.test_dl2, None)
            top = max(top, score)
        log.write(str(top))
`;

test('EV005: the best test score over the epochs (running max), reported after the epoch loop', () => {
  const found = lint(BEST_TEST, { select: ['EV005'] });
  assert.deepEqual(
    found.map((f) => f.rule),
    ['EV005'],
  );
  assert.match(found[0]!.message, /^top keeps the best test-set score \(score\) over the training epochs/);
  // The `if score > best: best = score` form, returned.
  const ifForm = BEST_TEST.replace('            top = max(top, score)\n', '            if score > best:\n                best = score\n').replace('        top = 0.0\n', '        best = 0.0\n').replace('        log.write(str(top))\n', '        return best\n');
  assert.deepEqual(ids(ifForm, 'EV005'), ['EV005']);
  // A module-level script with a named test metric.
  const script = `${HEADER}best_acc = 0
for epoch in range(20):
    for x, y in train_loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
    test_acc = evaluate(model, test_loader)
    best_acc = max(test_acc, best_acc)
print("best", best_acc)
`;
  assert.deepEqual(ids(script, 'EV005'), ['EV005']);
});

test('EV005: running best of a validation score, only shown per epoch, not over training, or a holder of other data stays quiet', () => {
  // The stored loader is built from the validation split.
  assert.deepEqual(ids(BEST_TEST.replace('DataLoader(test_set, batch_size=32)', 'DataLoader(valid_set, batch_size=32)'), 'EV005'), []);
  // The best is only printed inside the loop, never reported after it.
  assert.deepEqual(ids(BEST_TEST.replace('        log.write(str(top))\n', '').replace('            top = max(top, score)\n', '            top = max(top, score)\n            print(epoch, top)\n'), 'EV005'), []);
  // No training in the loop: checkpoints compared after training (a different question).
  const ckpts = `${HEADER}best_acc = 0
for path in paths:
    model.load_state_dict(torch.load(path))
    test_acc = evaluate(model, test_loader)
    best_acc = max(best_acc, test_acc)
print(best_acc)
`;
  assert.deepEqual(ids(ckpts, 'EV005'), []);
  // A validation metric in the script form, and a running best reassigned before it is read.
  const script = `${HEADER}best_acc = 0
for epoch in range(20):
    for x, y in train_loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
    val_acc = evaluate(model, val_loader)
    best_acc = max(val_acc, best_acc)
print("best", best_acc)
`;
  assert.deepEqual(ids(script, 'EV005'), []);
  assert.deepEqual(ids(script.replace(/val_/g, 'test_').replace('print("best", best_acc)', 'best_acc = 0\nprint(best_acc)'), 'EV005'), []);
});

const UNPACKED = `${HEADER}
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc(x)


def batch_metrics(model, x, y):
    out = model(x)
    return F.cross_entropy(out, y).item(), (out.argmax(1) == y).float().mean().item()


def validate(model, val_loader):
    model.eval()
    with torch.no_grad():
        for x, y in val_loader:
            loss, acc = batch_metrics(model, x, y)
    return loss, acc
`;

test('EV016: a metric unpacked from a per-batch call is overwritten on every batch and returned after the loop', () => {
  const found = lint(UNPACKED, { select: ['EV016'] });
  assert.deepEqual(
    found.map((f) => f.rule),
    ['EV016'],
  );
  assert.match(found[0]!.message, /^acc is overwritten on every batch/);
});

test('EV016: unpacked metrics accumulated and used, folded into a running total, or not per batch stay quiet', () => {
  const appended = UNPACKED.replace('            loss, acc = batch_metrics(model, x, y)\n', '            loss, acc = batch_metrics(model, x, y)\n            accs.append(acc)\n');
  assert.deepEqual(ids(appended.replace('    return loss, acc\n', '    return loss, sum(accs) / len(accs)\n'), 'EV016'), []);
  // Appended, but the raw last value is still what comes out (session 12: reported).
  assert.deepEqual(ids(appended, 'EV016'), ['EV016']);
  assert.deepEqual(ids(UNPACKED.replace('loss, acc = batch_metrics(model, x, y)', 'loss, acc = add_batch(acc, model, x, y)'), 'EV016'), []);
  assert.deepEqual(ids(UNPACKED.replace('loss, acc = batch_metrics(model, x, y)', 'out = model(x)\n            loss, acc = cached'), 'EV016'), []);
});

test('EV016: a metric unpacked again after the loop (before its read) is the new value', () => {
  assert.deepEqual(ids(UNPACKED.replace('    return loss, acc\n', '    loss, acc = summary(model, val_loader)\n    return loss, acc\n'), 'EV016'), []);
});
