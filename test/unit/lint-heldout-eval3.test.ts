// Held-out shapes for the evaluation rules (round 3): a per-batch helper that turns autograd off on one branch, chosen
// by a parameter the evaluation loop's call fills (`step(model, x, mode='test')`, `set_grad_enabled(is_train)`).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, useParser } from './lint/helpers';

useParser();

/** One helper for both loops: the forward runs under no_grad when `mode == 'test'`. */
const MODE_BRANCH = `${HEADER}
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(8, 32), nn.Dropout(0.3), nn.Linear(32, 3))

    def forward(self, x):
        return self.body(x)


def run_batch(net, xb, yb, loss_fn, mode=''):
    if mode == 'test':
        with torch.no_grad():
            out = net(xb)
    else:
        out = net(xb)
    return loss_fn(out, yb), (out.argmax(1) == yb).sum().item()


def fit_epoch(net, loader, opt, loss_fn):
    net.train()
    for xb, yb in loader:
        opt.zero_grad()
        loss, _ = run_batch(net, xb, yb, loss_fn, mode='train')
        loss.backward()
        opt.step()


def test_epoch(net, loader, loss_fn):
    net.eval()
    hits = 0
    for xb, yb in loader:
        _, h = run_batch(net, xb, yb, loss_fn, mode='test')
        hits += h
    return hits
`;

test('EV003: the helper call selects the branch that runs under no_grad: quiet', () => {
  assert.deepEqual(ids(MODE_BRANCH, 'EV003'), []);
  // `elif` / membership / negated conditions select the same way.
  const membership = MODE_BRANCH.replace("    if mode == 'test':", "    if mode in ('val', 'test'):").replace("mode='test')\n        hits", "mode='val')\n        hits");
  assert.deepEqual(ids(membership, 'EV003'), []);
  const negated = MODE_BRANCH.replace("    if mode == 'test':\n        with torch.no_grad():\n            out = net(xb)\n    else:\n        out = net(xb)", "    if mode == 'train':\n        out = net(xb)\n    elif mode != 'train':\n        with torch.inference_mode():\n            out = net(xb)");
  assert.deepEqual(ids(negated, 'EV003'), []);
  // The value reaches the helper through a parameter of the evaluation function every call fills the same way.
  const throughCaller = MODE_BRANCH.replace('def test_epoch(net, loader, loss_fn):', 'def test_epoch(net, loader, loss_fn, phase):')
    .replace("loss_fn, mode='test')", 'loss_fn, mode=phase)') + "\n\ndef main(net, dl):\n    test_epoch(net, dl, nn.CrossEntropyLoss(), 'test')\n";
  assert.deepEqual(ids(throughCaller, 'EV003'), []);
});

test('EV003: the evaluation call selects the branch with autograd on, or a value not known: still reported', () => {
  // A validation loop that passes 'val' to a helper that only turns autograd off for 'test': the real bug.
  assert.deepEqual(ids(MODE_BRANCH.replace("loss_fn, mode='test')", "loss_fn, mode='val')"), 'EV003'), ['EV003']);
  // The default selects the branch with autograd on.
  assert.deepEqual(ids(MODE_BRANCH.replace("loss_fn, mode='test')", 'loss_fn)'), 'EV003'), ['EV003']);
  // The mode is not a literal the file shows.
  assert.deepEqual(ids(MODE_BRANCH.replace("loss_fn, mode='test')", 'loss_fn, mode=current_mode())'), 'EV003'), ['EV003']);
  // Callers that disagree: not known.
  const disagree = MODE_BRANCH.replace('def test_epoch(net, loader, loss_fn):', 'def test_epoch(net, loader, loss_fn, phase):')
    .replace("loss_fn, mode='test')", 'loss_fn, mode=phase)') + "\n\ndef main(net, dl):\n    test_epoch(net, dl, nn.CrossEntropyLoss(), 'test')\n    test_epoch(net, dl, nn.CrossEntropyLoss(), 'val')\n";
  assert.deepEqual(ids(disagree, 'EV003'), ['EV003']);
  // A helper whose forward is never under no_grad.
  const never = MODE_BRANCH.replace("    if mode == 'test':\n        with torch.no_grad():\n            out = net(xb)\n    else:\n        out = net(xb)", '    out = net(xb)');
  assert.deepEqual(ids(never, 'EV003'), ['EV003']);
});

test('EV001: the helper branch selected by the test call still runs the model (no eval() is reported)', () => {
  assert.deepEqual(ids(MODE_BRANCH.replace('    net.eval()\n    hits = 0', '    hits = 0'), 'EV001'), ['EV001']);
});

/** `torch.set_grad_enabled(flag)` in a shared helper: torchvision-tutorial style. */
const GRAD_FLAG = `${HEADER}
def forward_pass(model, inputs, labels, criterion, is_train):
    with torch.set_grad_enabled(is_train):
        outputs = model(inputs)
        loss = criterion(outputs, labels)
    return outputs, loss


def train_one_epoch(model, loader, criterion, optimizer):
    model.train()
    for inputs, labels in loader:
        optimizer.zero_grad()
        _, loss = forward_pass(model, inputs, labels, criterion, True)
        loss.backward()
        optimizer.step()


def validate(model, val_loader, criterion):
    model.eval()
    total = 0.0
    for inputs, labels in val_loader:
        _, loss = forward_pass(model, inputs, labels, criterion, False)
        total += loss.item()
    return total
`;

test('EV003: set_grad_enabled(flag) whose flag the evaluation call makes false: quiet', () => {
  assert.deepEqual(ids(GRAD_FLAG, 'EV003'), []);
  assert.deepEqual(ids(GRAD_FLAG.replace('criterion, False)', 'criterion, is_train=False)'), 'EV003'), []);
  // `phase == 'train'` as the flag, a phase name from the call.
  const phase = GRAD_FLAG.replace('criterion, is_train):', 'criterion, phase):').replace('set_grad_enabled(is_train)', "set_grad_enabled(phase == 'train')")
    .replace('criterion, True)', "criterion, 'train')").replace('criterion, False)', "criterion, 'val')");
  assert.deepEqual(ids(phase, 'EV003'), []);
  // A default the evaluation call leaves.
  const byDefault = GRAD_FLAG.replace('criterion, is_train):', 'criterion, is_train=False):').replace('criterion, False)', 'criterion)');
  assert.deepEqual(ids(byDefault, 'EV003'), []);
  // `torch.no_grad() if not train else nullcontext()`.
  const conditional = `import contextlib\n${GRAD_FLAG}`.replace('with torch.set_grad_enabled(is_train):', 'with (contextlib.nullcontext() if is_train else torch.no_grad()):');
  assert.deepEqual(ids(conditional, 'EV003'), []);
  // The flag on the loop's own function, in the loop.
  const direct = `${HEADER}
def evaluate(model, loader, train=False):
    total = 0
    for x, y in loader:
        with torch.set_grad_enabled(train):
            total += (model(x).argmax(1) == y).sum().item()
    return total
`;
  assert.deepEqual(ids(direct, 'EV003'), []);
  assert.deepEqual(ids(direct.replace('train=False', 'train=True'), 'EV003'), ['EV003']);
});

test('EV003: set_grad_enabled(flag) left on, or not known, for the evaluation call: reported', () => {
  assert.deepEqual(ids(GRAD_FLAG.replace('criterion, False)', 'criterion, True)'), 'EV003'), ['EV003']);
  assert.deepEqual(ids(GRAD_FLAG.replace('criterion, False)', 'criterion, model.training)'), 'EV003'), ['EV003']);
  const conditional = `import contextlib\n${GRAD_FLAG}`.replace('with torch.set_grad_enabled(is_train):', 'with (torch.no_grad() if is_train else contextlib.nullcontext()):');
  assert.deepEqual(ids(conditional, 'EV003'), ['EV003']);
});

test('EV003: a method helper selected by its positional flag (self not counted, a static method has none)', () => {
  const cls = `${HEADER}
class Runner:
    def __init__(self, model, opt):
        self.model = model
        self.opt = opt

    def step(self, x, y, train):
        with torch.set_grad_enabled(train):
            return nn.functional.cross_entropy(self.model(x), y)

    def fit(self, train_loader, val_loader):
        for x, y in train_loader:
            self.opt.zero_grad()
            self.step(x, y, True).backward()
            self.opt.step()
        self.model.eval()
        for x, y in val_loader:
            print(self.step(x, y, False).item())
`;
  assert.deepEqual(ids(cls, 'EV003'), []);
  assert.deepEqual(ids(cls.replace('self.step(x, y, False)', 'self.step(x, y, True)'), 'EV003'), ['EV003']);
});
