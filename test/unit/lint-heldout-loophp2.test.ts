// Held-out shapes for the training-loop and hyperparameter rules: a backward pass inside an optional-AMP if/else
// (TL020, TL003, TL018), an optimizer built under a default-argument guard `if opt is None:` in the epoch function
// (TL013), a LambdaLR whose function ignores its step and reads a global counter (TL013, quiet), and dropout rates
// followed through parameter defaults, call sites and `self.p = p` to a literal (HP004).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, lint, useParser } from './lint/helpers';

useParser();

const AMP_ACCUM = `${HEADER}
def train(model, loader, optimizer, scaler, accum):
    for i, (x, y) in enumerate(loader):
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        if scaler is not None:
            scaler.scale(loss / accum).backward()
        else:
            (loss / accum).backward()
        if (i + 1) % accum == 0:
            if scaler is not None:
                scaler.step(optimizer)
                scaler.update()
            else:
                optimizer.step()
`;

test('TL020: the backward of every micro-batch sits in both branches of an optional-AMP if/else', () => {
  assert.deepEqual(ids(AMP_ACCUM, 'TL020'), ['TL020']);
  // elif chains back-propagate on every path too
  const elif = AMP_ACCUM.replace('        else:\n            (loss / accum)', '        elif accum > 1:\n            (loss / accum).backward()\n        else:\n            loss');
  assert.deepEqual(ids(elif, 'TL020'), ['TL020']);
  // inside a `with` block
  const withed = AMP_ACCUM.replace('        if scaler is not None:\n            scaler.scale', '        with torch.autograd.set_detect_anomaly(False):\n          if scaler is not None:\n            scaler.scale').replace(
    '        else:\n            (loss / accum).backward()',
    '          else:\n            (loss / accum).backward()',
  );
  assert.deepEqual(ids(withed, 'TL020'), ['TL020']);
});

test('TL020: quiet when some path skips the backward', () => {
  // no else: the backward only runs with a scaler, so not every batch adds gradients
  const noElse = AMP_ACCUM.replace('        else:\n            (loss / accum).backward()\n', '');
  assert.deepEqual(ids(noElse, 'TL020'), []);
  // one branch back-propagates, the other does not
  const oneSided = AMP_ACCUM.replace('            (loss / accum).backward()', '            print(loss.item())');
  assert.deepEqual(ids(oneSided, 'TL020'), []);
  // zero_grad right after the step in the accumulation branch: correct accumulation
  const right = AMP_ACCUM.replace('        optimizer.zero_grad(set_to_none=True)\n', '').replace('                optimizer.step()\n', '                optimizer.step()\n            optimizer.zero_grad()\n');
  assert.deepEqual(ids(right, 'TL020'), []);
});

test('TL003 / TL018: an if/else that back-propagates on every path counts as the backward', () => {
  const between = `${HEADER}
def train(model, loader, optimizer, scaler, use_amp):
    for x, y in loader:
        loss = F.cross_entropy(model(x), y)
        if use_amp:
            scaler.scale(loss).backward()
        else:
            loss.backward()
        optimizer.zero_grad()
        optimizer.step()
`;
  assert.deepEqual(ids(between, 'TL003'), ['TL003']);
  // reset before the backward: right
  const right = between.replace('        optimizer.zero_grad()\n', '').replace('        loss = F', '        optimizer.zero_grad()\n        loss = F');
  assert.deepEqual(ids(right, 'TL003'), []);
  // an if/else that also steps in a branch is not a plain backward
  const steps = between.replace('            loss.backward()', '            loss.backward()\n            optimizer.step()');
  assert.deepEqual(ids(steps, 'TL003'), []);
  const before = `${HEADER}
def train(model, loader, optimizer, scaler, use_amp):
    for x, y in loader:
        optimizer.step()
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        if use_amp:
            scaler.scale(loss).backward()
        else:
            loss.backward()
`;
  assert.deepEqual(ids(before, 'TL018'), ['TL018']);
  // only one branch back-propagates: not every path, quiet
  assert.deepEqual(ids(before.replace('            loss.backward()', '            pass'), 'TL018'), []);
  // step after the if/else: right
  const after = before.replace('        optimizer.step()\n', '') + '        optimizer.step()\n';
  assert.deepEqual(ids(after, 'TL018'), []);
});

const GUARDED = `${HEADER}
import torch.optim as optim

def train_epoch(model, loader, lr=1e-3, opt=None):
    if opt is None:
        opt = optim.Adam(model.parameters(), lr=lr)
    for x, y in loader:
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

net = nn.Linear(8, 2)
for epoch in range(10):
    train_epoch(net, train_loader)
`;

test('TL013: the epoch function builds its optimizer under `if opt is None:` and no call passes one', () => {
  assert.deepEqual(ids(GUARDED, 'TL013'), ['TL013']);
  // `if not opt:` guards the same way
  assert.deepEqual(ids(GUARDED.replace('if opt is None:', 'if not opt:'), 'TL013'), ['TL013']);
  // backend branches that each build under their own guard, a last one that raises; the step in a local step function
  const branches = `${HEADER}
import torch.optim as optim

def train_epoch(model, tasks, backend, lr=5e-5, opt=None):
    if backend == "tf":
        import tensorflow as tf
        if opt is None:
            opt = tf.keras.optimizers.Adam(lr)
    elif backend == "torch":
        if opt is None:
            opt = optim.Adam(model.net.parameters(), lr=lr)

        def train_step(task):
            opt.zero_grad()
            loss = model.loss(task)
            loss.backward()
            opt.step()
            return loss.item()
    else:
        raise ValueError(backend)
    return [train_step(t) for t in tasks]

for epoch in range(20):
    train_epoch(model, tasks, "torch")
`;
  assert.deepEqual(ids(branches, 'TL013'), ['TL013']);
});

test('TL013: quiet when a call passes the optimizer, or the guard builds it once inside the loop', () => {
  // one call site passes an optimizer built once: the guard is a fallback
  const passed = GUARDED.replace('    train_epoch(net, train_loader)', '    train_epoch(net, train_loader)\nopt = optim.Adam(net.parameters())\nfor epoch in range(3):\n    train_epoch(net, train_loader, opt=opt)');
  assert.deepEqual(ids(passed, 'TL013'), []);
  // passed by position
  assert.deepEqual(ids(GUARDED.replace('train_epoch(net, train_loader)', 'train_epoch(net, train_loader, 1e-3, shared_opt)'), 'TL013'), []);
  // the guard tests something else
  assert.deepEqual(ids(GUARDED.replace('if opt is None:', 'if opt is not None:'), 'TL013'), []);
  // no None default: the caller must pass it
  assert.deepEqual(ids(GUARDED.replace('opt=None', 'opt=False').replace('if opt is None:', 'if opt is False:'), 'TL013'), []);
  // `if opt is None:` inside the epoch loop: built on the first epoch only
  const once = `${HEADER}
import torch.optim as optim

def fit(model, loader, epochs):
    opt = None
    for epoch in range(epochs):
        if opt is None:
            opt = optim.Adam(model.parameters(), lr=1e-3)
        for x, y in loader:
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
`;
  assert.deepEqual(ids(once, 'TL013'), []);
  // without the guard the same loop rebuilds it every epoch
  assert.deepEqual(ids(once.replace('        if opt is None:\n            opt =', '        opt ='), 'TL013'), ['TL013']);
});

const POLY = `${HEADER}
import math
import torch.optim as optim

def train(args, loader, model, optimizer, epoch):
    for it, (x, y) in enumerate(loader):
        args.cur_iter = epoch * len(loader) + it
        poly = lambda e: math.pow(1 - args.cur_iter / args.max_iter, 0.9)
        scheduler = optim.lr_scheduler.LambdaLR(optimizer, lr_lambda=poly)
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
`;

test('TL013: a LambdaLR rebuilt every iteration whose function ignores its step and reads a global counter', () => {
  assert.deepEqual(ids(POLY, 'TL013'), []);
  // `lambda _:` inline, a def that ignores its argument, MultiplicativeLR
  assert.deepEqual(ids(POLY.replace('lr_lambda=poly', 'lambda _: 1 - args.cur_iter / args.max_iter'), 'TL013'), []);
  const def = POLY.replace('        poly = lambda e: math.pow(1 - args.cur_iter / args.max_iter, 0.9)\n', '').replace(
    'def train(',
    'def poly(step):\n    return (1 - STATE["it"] / 1000) ** 0.9\n\ndef train(',
  );
  assert.deepEqual(ids(def, 'TL013'), []);
  assert.deepEqual(ids(POLY.replace('LambdaLR(optimizer, lr_lambda=poly)', 'MultiplicativeLR(optimizer, lambda _: 0.999)'), 'TL013'), []);
});

test('TL013: a LambdaLR rebuilt every iteration whose function reads its step still restarts', () => {
  assert.deepEqual(ids(POLY.replace('lambda e: math.pow(1 - args.cur_iter', 'lambda e: math.pow(1 - e'), 'TL013'), ['TL013']);
  assert.deepEqual(ids(POLY.replace('lr_lambda=poly', 'lr_lambda=lambda e: 0.95 ** e'), 'TL013'), ['TL013']);
  // a list of functions: every one must ignore its step
  assert.deepEqual(ids(POLY.replace('lr_lambda=poly', 'lr_lambda=[poly, lambda e: 0.9 ** e]'), 'TL013'), ['TL013']);
  // a function we cannot see: still reported
  assert.deepEqual(ids(POLY.replace('lr_lambda=poly', 'lr_lambda=make_poly(args)'), 'TL013'), ['TL013']);
});

test('HP004: a dropout rate followed to a parameter default, a self attribute or the call sites', () => {
  const lib = `${HEADER}
class Head(nn.Module):
    def __init__(self, n_in, n_out, drop=0.9):
        super(Head, self).__init__()
        self.drop = nn.Dropout(drop)
        self.fc = nn.Linear(n_in, n_out)

    def forward(self, x):
        return self.fc(self.drop(x))
`;
  const f = lint(lib, { select: ['HP004'] });
  assert.deepEqual(
    f.map((x) => x.rule),
    ['HP004'],
  );
  assert.match(f[0]!.message, /drop defaults to 0\.9/);
  // every call leaves the default: same
  assert.deepEqual(ids(`${lib}\nhead = Head(16, 4)\n`, 'HP004'), ['HP004']);
  // the calls agree on a high value
  assert.deepEqual(ids(`${lib}\na = Head(16, 4, drop=0.8)\nb = Head(16, 4, 0.8)\n`, 'HP004'), ['HP004']);
  // self.p = p, read in forward through the functional form
  const attr = `${HEADER}
class Block(nn.Module):
    def __init__(self, width, keep=1):
        super().__init__()
        self.keep = keep
        self.fc = nn.Linear(width, width)

    def forward(self, x):
        return F.dropout(self.fc(x), p=self.keep, training=self.training)
`;
  assert.deepEqual(ids(attr, 'HP004'), ['HP004']);
  // a local name bound once at the top of the function
  assert.deepEqual(ids(`${HEADER}\ndef build(n):\n    rate = 0.85\n    return nn.Sequential(nn.Linear(n, n), nn.Dropout(rate))\n`, 'HP004'), ['HP004']);
});

test('HP004: quiet when the followed value is unknown, disagrees or is small', () => {
  const lib = `${HEADER}
class Head(nn.Module):
    def __init__(self, n_in, n_out, drop=0.9):
        super().__init__()
        self.drop = nn.Dropout(drop)
`;
  // a call site passes a small rate, or the calls disagree
  assert.deepEqual(ids(`${lib}\nhead = Head(16, 4, drop=0.1)\n`, 'HP004'), []);
  assert.deepEqual(ids(`${lib}\na = Head(16, 4)\nb = Head(16, 4, drop=0.2)\n`, 'HP004'), []);
  // the class is handed elsewhere (a subclass, a factory): its default may never be used
  assert.deepEqual(ids(`${lib}\nclass Big(Head):\n    pass\n`, 'HP004'), []);
  assert.deepEqual(ids(`${lib}\nREGISTRY = {"head": Head}\n`, 'HP004'), []);
  // the parameter is changed before use
  assert.deepEqual(ids(lib.replace('        self.drop = nn.Dropout(drop)', '        drop = 1 - drop\n        self.drop = nn.Dropout(drop)'), 'HP004'), []);
  // a small default
  assert.deepEqual(ids(lib.replace('drop=0.9', 'drop=0.3'), 'HP004'), []);
  // a keep-probability name whose default is a small number is a misnamed drop rate
  const smallKeep = `${HEADER}\nclass Head(nn.Module):\n    def __init__(self, keep_prob=0.2):\n        super().__init__()\n        self.drop = nn.Dropout(keep_prob)\n`;
  assert.deepEqual(ids(smallKeep, 'HP004'), []);
  assert.deepEqual(ids(smallKeep.replace('keep_prob=0.2', 'keep_prob=0.7'), 'HP004'), ['HP004']);
  // a name bound in one branch of an if: not followed
  assert.deepEqual(ids(`${HEADER}\ndef build(n, big):\n    rate = 0.1\n    if big:\n        rate = 0.85\n    return nn.Dropout(rate)\n`, 'HP004'), []);
  // self.p written twice
  const twice = `${HEADER}
class Block(nn.Module):
    def __init__(self, keep=1):
        super().__init__()
        self.keep = keep

    def set_rate(self, r):
        self.keep = r

    def forward(self, x):
        return F.dropout(x, p=self.keep, training=self.training)
`;
  assert.deepEqual(ids(twice.replace(/keep/g, 'rate'), 'HP004'), []);
});
