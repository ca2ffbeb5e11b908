// Held-out training-loop and hyperparameter shapes (session 11): an optimizer built in a method the epoch loop calls
// through an instance or one function deeper (TL013); an epoch scheduler reaching the batch loop as a parameter or a
// `self.x` of another class (HP003); fp16 by a project method or `.half()` in another function (HP002); a keep
// probability passed as a dropout rate (HP004).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, useParser } from './lint/helpers';

useParser();

// ---- TL013: the optimizer built in a function the epoch loop runs ----

const trainerClass = `${HEADER}
class Runner:
    def __init__(self, loader, lr):
        self.loader = loader
        self.lr = lr

    def one_epoch(self, net, epoch):
        opt = torch.optim.SGD(net.parameters(), lr=self.lr, momentum=0.9)
        for xb, yb in self.loader:
            opt.zero_grad()
            F.cross_entropy(net(xb), yb).backward()
            opt.step()
`;

test('TL013: an optimizer built in a method the epoch loop calls through an instance', () => {
  const code = `${trainerClass}
net = nn.Linear(4, 2)
runner = Runner(train_loader, 0.1)
checker = Checker()
for epoch in range(20):
    runner.one_epoch(net, epoch)
    checker.one_epoch(net)
`;
  assert.deepEqual(ids(code, 'TL013'), ['TL013']);
  // Inside main(), the instance kept as a local.
  const inMain = `${trainerClass}
def main():
    net = nn.Linear(4, 2)
    runner = Runner(train_loader, 0.1)
    for ep in range(20):
        runner.one_epoch(net, ep)
`;
  assert.deepEqual(ids(inMain, 'TL013'), ['TL013']);
});

test('TL013: a method named train, with model.train() calls around that cannot be it', () => {
  const code = `${HEADER}
class Runner:
    def __init__(self, loader):
        self.loader = loader

    def train(self, net, epoch):
        net.train()
        opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        for xb, yb in self.loader:
            opt.zero_grad()
            F.cross_entropy(net(xb), yb).backward()
            opt.step()

def evaluate(model):
    model.train()

net = nn.Linear(4, 2)
runner = Runner(train_loader)
for epoch in range(20):
    runner.train(net, epoch)
`;
  assert.deepEqual(ids(code, 'TL013'), ['TL013']);
});

test('TL013: an optimizer built one call level below the epoch loop', () => {
  const code = `${HEADER}
def fit_batches(net, loader):
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for xb, yb in loader:
        opt.zero_grad()
        F.mse_loss(net(xb), yb).backward()
        opt.step()

def run_epoch(net, epoch):
    fit_batches(net, train_loader)
    print("done", epoch)

net = nn.Linear(4, 1)
for epoch in range(10):
    run_epoch(net, epoch)
`;
  assert.deepEqual(ids(code, 'TL013'), ['TL013']);
});

test('TL013 stays quiet: called once before the loop, per fold or trial with a new model, a per-model loop', () => {
  const once = `${trainerClass}
net = nn.Linear(4, 2)
runner = Runner(train_loader, 0.1)
runner.one_epoch(net, 0)
for epoch in range(20):
    evaluate(net)
`;
  assert.deepEqual(ids(once, 'TL013'), []);
  const perFold = `${trainerClass}
runner = Runner(train_loader, 0.1)
for fold in range(5):
    net = nn.Linear(4, 2)
    for epoch in range(3):
        pass
    runner.one_epoch(net, fold)
`;
  assert.deepEqual(ids(perFold, 'TL013'), []);
  const perTrial = `${HEADER}
def fit(net, lr):
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    for epoch in range(5):
        for xb, yb in train_loader:
            opt.zero_grad()
            F.mse_loss(net(xb), yb).backward()
            opt.step()

def trial(lr):
    net = nn.Linear(4, 1)
    fit(net, lr)

for lr in [1e-2, 1e-3]:
    trial(lr)
`;
  assert.deepEqual(ids(perTrial, 'TL013'), []);
  // `for epoch` that builds a new model each time (epoch budgets compared), directly or in the calling function.
  const perModel = `${trainerClass}
runner = Runner(train_loader, 0.1)
for epochs in [5, 10, 20]:
    net = nn.Linear(4, 2)
    runner.one_epoch(net, epochs)
`;
  assert.deepEqual(ids(perModel, 'TL013'), []);
  const callerBuilds = `${HEADER}
def fit_batches(net, loader):
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for xb, yb in loader:
        opt.zero_grad()
        F.mse_loss(net(xb), yb).backward()
        opt.step()

def run_epoch(epoch):
    net = nn.Linear(4, 1)
    fit_batches(net, train_loader)

for epoch in range(10):
    run_epoch(epoch)
`;
  assert.deepEqual(ids(callerBuilds, 'TL013'), []);
  // The method name is also called on an instance of an imported class outside the loop: not this method.
  const otherClass = `${trainerClass}
from tools import Checker
net = nn.Linear(4, 2)
runner = Runner(train_loader, 0.1)
checker = Checker()
checker.one_epoch(net, 0)
`;
  assert.deepEqual(ids(otherClass, 'TL013'), []);
  // A call on an object we cannot tell, outside any epoch loop: it may be this method.
  const unknownSite = `${trainerClass}
net = nn.Linear(4, 2)
runner = Runner(train_loader, 0.1)
for epoch in range(20):
    runner.one_epoch(net, epoch)

def warmup(r):
    r.one_epoch(net, 0)
`;
  assert.deepEqual(ids(unknownSite, 'TL013'), []);
});

// ---- HP003: the epoch scheduler reaches the batch loop as a parameter ----

const ganStep = `${HEADER}
def fit_batches(loader, net, opt, sched):
    for xb, yb in loader:
        opt.zero_grad()
        F.mse_loss(net(xb), yb).backward()
        opt.step()
        sched.step()
`;

test('HP003: a scheduler parameter whose every call site passes self.x, built in the class', () => {
  const code = `${ganStep}
class Runner:
    def __init__(self, epochs):
        self.net = nn.Linear(4, 1)
        self.opt_a = torch.optim.Adam(self.net.parameters())
        self.opt_b = torch.optim.Adam(self.net.parameters())
        self.epochs = epochs
        self.sched_a = torch.optim.lr_scheduler.StepLR(self.opt_a, step_size=self.epochs // 3)
        self.sched_b = torch.optim.lr_scheduler.StepLR(self.opt_b, step_size=self.epochs // 3)

    def run(self, loader):
        for epoch in range(self.epochs):
            fit_batches(loader, self.net, self.opt_a, sched=self.sched_a)
`;
  assert.deepEqual(ids(code, 'HP003'), ['HP003']);
  // Through an instance of the class, and an attribute assigned in a base class.
  const viaInstance = `${ganStep}
class Base:
    def __init__(self):
        self.net = nn.Linear(4, 1)
        self.opt = torch.optim.SGD(self.net.parameters(), lr=0.1)
        self.sched = torch.optim.lr_scheduler.MultiStepLR(self.opt, milestones=[30, 60])
        self.other = torch.optim.lr_scheduler.StepLR(self.opt, step_size=10)

class Runner(Base):
    pass

runner = Runner()
for epoch in range(90):
    fit_batches(train_loader, runner.net, runner.opt, runner.sched)
`;
  assert.deepEqual(ids(viaInstance, 'HP003'), ['HP003']);
});

test('HP003 stays quiet when the call sites disagree or the attribute has several values', () => {
  const disagree = `${ganStep}
class Runner:
    def __init__(self, epochs, loader):
        self.net = nn.Linear(4, 1)
        self.opt = torch.optim.Adam(self.net.parameters())
        self.sched_a = torch.optim.lr_scheduler.StepLR(self.opt, step_size=epochs // 3)
        self.sched_b = torch.optim.lr_scheduler.OneCycleLR(self.opt, max_lr=0.1, total_steps=epochs * len(loader))

    def run(self, loader):
        fit_batches(loader, self.net, self.opt, self.sched_a)
        fit_batches(loader, self.net, self.opt, self.sched_b)
`;
  assert.deepEqual(ids(disagree, 'HP003'), []);
  const twoValues = `${ganStep}
class Runner:
    def __init__(self, epochs, loader, cyclic):
        self.net = nn.Linear(4, 1)
        self.opt = torch.optim.Adam(self.net.parameters())
        self.other = torch.optim.lr_scheduler.StepLR(self.opt, step_size=5)
        if cyclic:
            self.sched = torch.optim.lr_scheduler.CosineAnnealingLR(self.opt, T_max=epochs * len(loader))
        else:
            self.sched = torch.optim.lr_scheduler.StepLR(self.opt, step_size=epochs)

    def run(self, loader):
        fit_batches(loader, self.net, self.opt, self.sched)
`;
  assert.deepEqual(ids(twoValues, 'HP003'), []);
  // Sized in batches: rightly stepped per batch.
  const perBatch = `${ganStep}
class Runner:
    def __init__(self, epochs, loader):
        self.net = nn.Linear(4, 1)
        self.opt = torch.optim.Adam(self.net.parameters())
        self.sched = torch.optim.lr_scheduler.StepLR(self.opt, step_size=epochs * len(loader) // 3)
        self.other = torch.optim.lr_scheduler.StepLR(self.opt, step_size=5)

    def run(self, loader):
        fit_batches(loader, self.net, self.opt, self.sched)
`;
  assert.deepEqual(ids(perBatch, 'HP003'), []);
});

// ---- HP002: the model made float16 in another function or by a project method ----

test('HP002: a model returned converted by a function of the file, or converted by a project method', () => {
  const loader = `${HEADER}
def build(checkpoint, half_precision=False):
    net = nn.Linear(8, 2)
    net.load_state_dict(torch.load(checkpoint))
    if half_precision:
        net.convert_to_fp16()
    return net, {"size": 8}

def main(half_precision):
    net, info = build("w.pt", half_precision=half_precision)
    opt = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=1e-4)
`;
  assert.deepEqual(ids(loader, 'HP002'), ['HP002']);
  // `.half()` in a helper called on the model, Adam built in another function that receives it.
  const helper = `${HEADER}
def to_half(m):
    m.half()

def fit(net):
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    return opt

model = nn.Linear(8, 2)
to_half(model)
fit(model)
`;
  assert.deepEqual(ids(helper, 'HP002'), ['HP002']);
  // `self.net.half()` in __init__, the optimizer in another method.
  const inInit = `${HEADER}
class Runner:
    def __init__(self):
        self.net = nn.Linear(8, 2)
        self.net.half()

    def setup(self):
        self.opt = torch.optim.Adam(self.net.parameters())
`;
  assert.deepEqual(ids(inInit, 'HP002'), ['HP002']);
});

test('HP002 stays quiet: flag passed off, another model converted, master-weight wrapper, not a conversion', () => {
  const flagOff = `${HEADER}
def build(half_precision=False):
    net = nn.Linear(8, 2)
    if half_precision:
        net.convert_to_fp16()
    return net

net = build(half_precision=False)
other = build()
opt = torch.optim.Adam(net.parameters())
opt2 = torch.optim.Adam(other.parameters())
`;
  assert.deepEqual(ids(flagOff, 'HP002'), []);
  const otherModel = `${HEADER}
def build():
    teacher = nn.Linear(8, 2)
    student = nn.Linear(8, 2)
    teacher.half()
    return teacher, student

teacher, student = build()
opt = torch.optim.Adam(student.parameters())
`;
  assert.deepEqual(ids(otherModel, 'HP002'), []);
  const wrapped = `${HEADER}
from apex.fp16_utils import FP16_Optimizer
model = nn.Linear(8, 2)
model.convert_to_fp16()
opt = FP16_Optimizer(torch.optim.Adam(model.parameters()), dynamic_loss_scale=True)
`;
  assert.deepEqual(ids(wrapped, 'HP002'), []);
  const notConversion = `${HEADER}
model = nn.Linear(8, 2)
if model.is_fp16():
    print("half")
model.restore_fp32_weights()
opt = torch.optim.Adam(model.parameters())
`;
  assert.deepEqual(ids(notConversion, 'HP002'), []);
  // Converted after training, for export: the existing rule's case, in a called function.
  const exportAfter = `${HEADER}
def export(m):
    m.half()
    torch.save(m.state_dict(), "m.pt")

model = nn.Linear(8, 2)
opt = torch.optim.Adam(model.parameters())
for x, y in train_loader:
    opt.zero_grad()
    F.mse_loss(model(x), y).backward()
    opt.step()
export(model)
`;
  assert.deepEqual(ids(exportAfter, 'HP002'), []);
});

// ---- HP004: a keep probability passed as the drop rate ----

const TF = 'import tensorflow as tf\nfrom tensorflow import keras\n';

test('HP004: a keep_prob name passed as rate= / p=, and TF 1 layers.dropout', () => {
  const names = `${TF}${HEADER}
keep_prob = tf.placeholder(tf.float32)
h = tf.nn.dropout(h, rate=keep_prob)
g = tf.layers.dropout(g, rate=FLAGS.dropout_keep_prob, training=True)
d = nn.Dropout(p=self.keep_prob)
e = keras.layers.Dropout(keep_probability)
`;
  assert.deepEqual(ids(names, 'HP004'), ['HP004', 'HP004', 'HP004', 'HP004']);
  // tf.layers.dropout with a rate that reads as keep_prob by value.
  assert.deepEqual(ids(`${TF}h = tf.layers.dropout(inputs=h, rate=0.9, training=is_training)\n`, 'HP004'), ['HP004']);
});

test('HP004 stays quiet: 1 - keep_prob, TF 1 positional keep_prob, misnamed small value, converted comment', () => {
  const ok = `${TF}${HEADER}
keep_prob = tf.placeholder(tf.float32)
a = tf.nn.dropout(h, keep_prob)
b = tf.nn.dropout(h, rate=1 - keep_prob)
c = tf.compat.v1.nn.dropout(h, keep_prob=keep_prob)
keep_prob_small = 0.2
d = nn.Dropout(p=keep_prob_small)
e = tf.layers.dropout(h, rate=0.6)
f = nn.Dropout(p=drop_prob)
`;
  assert.deepEqual(ids(ok, 'HP004'), []);
  // A rate under the threshold is a plausible rate, whatever the comments around it say.
  const converted = `${TF}
def build(x, is_training, keep_prob):
    # rate = 1 - keep_prob in TF 2
    return tf.layers.dropout(x, rate=0.6, training=is_training)

def other(x):
    return tf.layers.dropout(x, rate=0.7)

def later(x):
    # dropout keep_prob: 0.6 while training
    h = tf.layers.dropout(x, rate=0.6)
    return h
`;
  assert.deepEqual(ids(converted, 'HP004'), []);
});
