// Recall round 9, evaluation: EV005 on a score read by a 'test' key, a meter of a test function, a running best kept
// under any name; quiet on `val_loss = self.test(vx, vy)` and on Keras callbacks that monitor a training quantity.
// EV001 on a phase loop that never switches modes and on a step function shared by the phases that calls train()
// whatever the phase.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ids, useParser } from './lint/helpers';

useParser();

const TORCH = 'import torch\nimport torch.nn as nn\n';

const EPOCHS = (select: string, extra = '') => `${TORCH}
def run(model, opt, train_loader, val_loader, test_loader, n):
    scores = {'val': [], 'test': []}
    best = 0
    for epoch in range(n):
        for x, y in train_loader:
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        for split, loader in [('val', val_loader), ('test', test_loader)]:
            scores[split].append(evaluate(model, loader))
${extra}        if ${select} > best:
            best = ${select}
            torch.save(model.state_dict(), 'best.pt')
`;

test('EV005: a score read by a test key of a per-split container', () => {
  for (const s of ["scores['test'][-1]", 'scores["test_acc"][epoch]', "history['test']['f1']"]) {
    assert.deepEqual(ids(EPOCHS(s), 'EV005'), ['EV005'], s);
  }
});

test('EV005: negatives: a validation key, a test key next to a train key, a non-string key', () => {
  for (const s of ["scores['val'][-1]", "scores['train']['test_acc']", 'scores[split][-1]']) {
    assert.deepEqual(ids(EPOCHS(s), 'EV005'), [], s);
  }
});

const TEST_FN = (loader: string, field = 'top1.avg') => `${TORCH}
best_acc = 0

def test(epoch):
    global best_acc
    top1 = AverageMeter()
    net.eval()
    with torch.no_grad():
        for x, y in ${loader}:
            top1.update(accuracy(net(x), y), x.size(0))
    if ${field} > best_acc:
        best_acc = ${field}
        torch.save(net.state_dict(), 'ckpt.pt')
`;

test('EV005: the meter of a function that loops over test data', () => {
  assert.deepEqual(ids(TEST_FN('testloader'), 'EV005'), ['EV005']);
  assert.deepEqual(ids(TEST_FN('test_loader', 'acc_meter.avg').replace('top1 = ', 'acc_meter = ').replace('top1.update', 'acc_meter.update'), 'EV005'), ['EV005']);
});

test('EV005: negatives: the meter of a validation loop, a meter field that is no running value', () => {
  assert.deepEqual(ids(TEST_FN('val_loader'), 'EV005'), []);
  assert.deepEqual(ids(TEST_FN('testloader', 'top1.count'), 'EV005'), []);
});

const RUNNING = (cur: string, kept: string) => `${TORCH}
def fit(model, opt, train_loader, data, n):
    ${kept} = 0
    stale = 0
    for epoch in range(n):
        for x, y in train_loader:
            opt.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            opt.step()
        ${cur} = score(model, data)
        if ${cur} <= ${kept}:
            stale += 1
        else:
            ${kept} = ${cur}
            no_improve = 0
        if stale > 10:
            break
`;

test('EV005: a running best kept under any name (a branch sets it to the other side)', () => {
  assert.deepEqual(ids(RUNNING('epoch_test_err', 'test_err'), 'EV005'), ['EV005']);
  assert.deepEqual(ids(RUNNING('test_acc', 'top_acc'), 'EV005'), ['EV005']);
});

test('EV005: negatives: the same shape on validation scores, a comparison no branch keeps', () => {
  assert.deepEqual(ids(RUNNING('epoch_val_err', 'val_err'), 'EV005'), []);
  const noKeep = RUNNING('test_acc', 'top_acc').replace('            top_acc = test_acc\n', '            top_acc = 1\n');
  assert.deepEqual(ids(noKeep, 'EV005'), []);
});

const SOLVER = (target: string, args: string) => `${TORCH}
class Solver:
    def fit(self, x, vx, n):
        best = 1e9
        for epoch in range(n):
            self.opt.zero_grad()
            self.loss(self.model(x)).backward()
            self.opt.step()
            with torch.no_grad():
                ${target} = self.test(${args})
                if ${target} < best:
                    best = ${target}
                    torch.save(self.model.state_dict(), 'm.pt')

    def test(self, x):
        with torch.no_grad():
            return self.loss(self.model(x)).item()
`;

test('EV005: a validation-named value of the test routine is not a test metric', () => {
  assert.deepEqual(ids(SOLVER('val_loss', 'vx'), 'EV005'), []);
  assert.deepEqual(ids(SOLVER('dev_loss', 'vx'), 'EV005'), []);
  // Named for nothing, handed no validation data: the test routine's result.
  assert.deepEqual(ids(SOLVER('loss_now', 'vx'), 'EV005'), ['EV005']);
});

const KERAS = (monitor: string) => `import keras
stop = keras.callbacks.EarlyStopping(${monitor}patience=5)
ckpt = keras.callbacks.ModelCheckpoint('best.h5', ${monitor}save_best_only=True)
model.fit(x_train, y_train, epochs=50, validation_data=(x_test, y_test), callbacks=[stop, ckpt])
`;

test('EV005: Keras callbacks on the test set: only when they monitor a validation quantity', () => {
  assert.deepEqual(ids(KERAS(''), 'EV005'), ['EV005']);
  assert.deepEqual(ids(KERAS("monitor='val_acc', "), 'EV005'), ['EV005']);
  assert.deepEqual(ids(KERAS("monitor='loss', "), 'EV005'), []);
  assert.deepEqual(ids(KERAS("monitor='accuracy', "), 'EV005'), []);
  // One of them on the validation data is enough.
  assert.deepEqual(ids(KERAS("monitor='loss', ").replace("'best.h5', monitor='loss'", "'best.h5', monitor='val_loss'"), 'EV005'), ['EV005']);
});

const NET = `${TORCH}
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.drop = nn.Dropout2d(0.5)
        self.out = nn.Linear(8, 2)

    def forward(self, x):
        return self.out(self.drop(self.fc(x)))
`;

const PHASES = (before: string, inPhase: string) => `${NET}
def fit(model, train_loader, val_loader, opt, n):
    loaders = {'train': train_loader, 'val': val_loader}
${before}    for epoch in range(n):
        for phase in ('train', 'val'):
${inPhase}            for x, y in loaders[phase]:
                loss = nn.functional.cross_entropy(model(x), y)
                if phase == 'train':
                    opt.zero_grad()
                    loss.backward()
                    opt.step()

fit(Net(), tl, vl, opt, 10)
`;

test('EV001: a phase loop that never switches modes, with a model holding Dropout', () => {
  assert.deepEqual(ids(PHASES('', ''), 'EV001'), ['EV001']);
});

test('EV001: negatives: a phase loop that switches by phase, eval() before it, a model without Dropout/BN', () => {
  assert.deepEqual(ids(PHASES('', "            model.train(phase == 'train')\n"), 'EV001'), []);
  assert.deepEqual(ids(PHASES('', "            if phase == 'train':\n                model.train()\n            else:\n                model.eval()\n"), 'EV001'), []);
  assert.deepEqual(ids(PHASES('    model.eval()\n', ''), 'EV001'), []);
  assert.deepEqual(ids(PHASES('', '').replace('nn.Dropout2d(0.5)', 'nn.Identity()'), 'EV001'), []);
});

const STEP = (param: string, gate: string, mode = 'model.train()') => `${NET}
model = Net()

def run_batch(x, y, ${param}):
    ${mode}
    out = model(x)
    loss = nn.functional.cross_entropy(out, y)
    if ${gate}:
        opt.zero_grad()
        loss.backward()
        opt.step()
    return loss.item()
`;

test('EV001: a step function shared by the phases that calls train() whatever the phase', () => {
  assert.deepEqual(ids(STEP('phase', "phase == 'train'"), 'EV001'), ['EV001']);
  assert.deepEqual(ids(STEP('is_training', 'is_training'), 'EV001'), ['EV001']);
  assert.deepEqual(ids(STEP('phase', "phase == 'train'", 'model = model.train()'), 'EV001'), ['EV001']);
});

test('EV001: negatives: train(flag), an update not gated on the phase, a switch per phase', () => {
  assert.deepEqual(ids(STEP('is_training', 'is_training', 'model.train(is_training)'), 'EV001'), []);
  assert.deepEqual(ids(STEP('scale', 'scale > 0'), 'EV001'), []);
  assert.deepEqual(ids(STEP('phase', "phase == 'train'", "model.train()\n    if phase != 'train':\n        model.eval()"), 'EV001'), []);
  assert.deepEqual(ids(STEP('phase', "phase == 'train'").replace('nn.Dropout2d(0.5)', 'nn.Identity()'), 'EV001'), []);
});
