// Precision, session 13: the same condition tested twice (TL001), a detached baseline subtracted from a loss (TL007),
// and a helper whose parameter is named test_loader but is handed the validation loader (EV005).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, useParser } from './lint/helpers';

useParser();

// ---- TL001: zero_grad() and step() under two `if`s with the same condition ----

/** A function whose batch loop runs `pre`, the forward, then `post` (each a block of lines at loop-body indent). */
const epoch = (sig: string, pre: string, post: string) => {
  const ind = (s: string) =>
    s
      .split('\n')
      .map((l) => '        ' + l)
      .join('\n');
  return `${HEADER}def run_epoch(${sig}):\n    for x, y in loader:\n${ind(pre)}\n        out = model(x)\n        loss = criterion(out, y)\n${ind(post)}\n`;
};

test('TL001: zero_grad and step under the same condition, tested twice, are quiet', () => {
  const clean = [
    // `optimizer=None` for evaluation: both under `is not None`, backward inside
    epoch('model, loader, criterion, optimizer=None', 'if optimizer is not None:\n    optimizer.zero_grad()', 'if optimizer is not None:\n    loss.backward()\n    optimizer.step()'),
    // backward outside the second test
    epoch('model, loader, criterion, optimizer=None', 'if optimizer is not None:\n    optimizer.zero_grad()', 'loss.backward()\nif optimizer is not None:\n    optimizer.step()'),
    // a flag, the forward under set_grad_enabled
    epoch('model, loader, criterion, optimizer, train=True', 'if train:\n    optimizer.zero_grad()', 'if train:\n    loss.backward()\n    optimizer.step()'),
    // truthiness of the optimizer
    epoch('model, loader, criterion, optimizer=None', 'if optimizer:\n    optimizer.zero_grad()', 'if optimizer:\n    loss.backward()\n    optimizer.step()'),
    // `not` on one side, `else` on the other
    epoch('model, loader, criterion, optimizer, evaluating=False', 'if not evaluating:\n    optimizer.zero_grad()', 'if evaluating:\n    pass\nelse:\n    loss.backward()\n    optimizer.step()'),
    // `is None` / `is not None`: the same test negated
    epoch('model, loader, criterion, optimizer=None', 'if optimizer is None:\n    pass\nelse:\n    optimizer.zero_grad()', 'if optimizer is not None:\n    loss.backward()\n    optimizer.step()'),
    // the reset nested in a with block, the step after it
    epoch('model, loader, criterion, optimizer, phase', "with torch.set_grad_enabled(phase == 'train'):\n    if phase == 'train':\n        optimizer.zero_grad()", "if phase == 'train':\n    loss.backward()\n    optimizer.step()"),
  ];
  for (const code of clean) assert.deepEqual(ids(code, 'TL001'), [], code);
  // a method: `if self.training:` twice
  const method = `${HEADER}class Runner:\n    def epoch(self, loader):\n        for x, y in loader:\n            if self.training:\n                self.optimizer.zero_grad()\n            loss = self.criterion(self.model(x), y)\n            if self.training:\n                loss.backward()\n                self.optimizer.step()\n`;
  assert.deepEqual(ids(method, 'TL001'), []);
});

test('TL001: different conditions, a rebound name or an opposite test are still reported', () => {
  const buggy = [
    // two different flags
    epoch('model, loader, criterion, optimizer, train=True, reset=True', 'if reset:\n    optimizer.zero_grad()', 'if train:\n    loss.backward()\n    optimizer.step()'),
    // the reset on the other value of the flag
    epoch('model, loader, criterion, optimizer, train=True', 'if not train:\n    optimizer.zero_grad()', 'if train:\n    loss.backward()\n    optimizer.step()'),
    // the name tested is rebound between the two tests
    epoch('model, loader, criterion, optimizer, warm=True', 'if warm:\n    optimizer.zero_grad()\nwarm = out.mean() > 0', 'if warm:\n    loss.backward()\n    optimizer.step()'),
    // a condition with a call is not assumed stable
    epoch('model, loader, criterion, optimizer', 'if should_reset():\n    optimizer.zero_grad()', 'if should_reset():\n    loss.backward()\n    optimizer.step()'),
  ];
  for (const code of buggy) assert.deepEqual(ids(code, 'TL001'), ['TL001'], code);
  // `self.training` flipped by `self.train()` between the two tests
  const flipped = `${HEADER}class Runner:\n    def epoch(self, loader):\n        for x, y in loader:\n            if self.training:\n                self.optimizer.zero_grad()\n            self.train(x.size(0) > 1)\n            loss = self.criterion(self.model(x), y)\n            if self.training:\n                loss.backward()\n                self.optimizer.step()\n`;
  assert.deepEqual(ids(flipped, 'TL001'), ['TL001']);
});

// ---- TL007: a detached baseline added to or subtracted from a loss that keeps its gradient ----

/** A training loop over `loader` whose body is `body` (lines at loop-body indent), then `<bp>.backward()`. */
const loop = (body: string, bp: string, pre = '') =>
  `${HEADER}from torch.autograd import Variable\nmodel = nn.Linear(4, 1)\ncriterion = nn.MSELoss()\noptimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n${pre}for x, y in loader:\n    optimizer.zero_grad()\n    out = model(x)\n    loss = criterion(out, y)\n${body
    .split('\n')
    .map((l) => '    ' + l)
    .join('\n')}\n    ${bp}.backward()\n    optimizer.step()\n`;

test('TL007: a detached copy of a loss, or an explicitly detached value subtracted, is a baseline: quiet', () => {
  const clean: [string, string, string?][] = [
    // the previous loss re-wrapped with Variable, summed over the epoch with +=
    ['total += (loss - Variable(prev_loss))\nprev_loss = loss.data', 'total', 'prev_loss = torch.zeros(1)\ntotal = 0\n'],
    // the previous loss detached, under another name
    ['if prev is None:\n    prev = loss.detach()\nobjective = loss - prev.detach()\nprev = loss', 'objective', 'prev = None\n'],
    // a running average of the loss as a Python float
    ['adv = loss - baseline\nbaseline = 0.9 * baseline + 0.1 * loss.item()', 'adv', 'baseline = 0.0\n'],
    // an explicitly detached value subtracted: a baseline from another model
    ['ref = critic(x).mean()\nshifted = loss - ref.detach()', 'shifted'],
    // a detached copy of the loss itself added (the straight-through / normalising shapes)
    ['scaled = loss + float(loss)', 'scaled'],
    // subtracted with -=
    ['objective = loss\nobjective -= Variable(prev_loss)\nprev_loss = loss.data', 'objective', 'prev_loss = torch.zeros(1)\n'],
  ];
  for (const [body, bp, pre] of clean) assert.deepEqual(ids(loop(body, bp, pre), 'TL007'), [], body);
});

test('TL007: an added detached value, or a detached argmax/threshold, is still reported', () => {
  const buggy: [string, string, string?][] = [
    // a penalty from another model, detached and added: it trains nothing
    ['ref = critic(x).mean()\nobjective = loss + 0.1 * ref.detach()', 'objective'],
    // accuracy subtracted after .item(): the argmax inside is no baseline
    ['acc = (out.argmax(1) == y).float().mean()\nobjective = loss - 0.1 * acc.item()', 'objective'],
    // a threshold of the prediction detached and subtracted
    ['hits = (out > 0.5).float().detach().mean()\nobjective = loss - hits', 'objective'],
    // a subtracted term computed under no_grad is not an explicit detach
    ['with torch.no_grad():\n    smooth = model(x).pow(2).mean()\nobjective = loss - 0.01 * smooth', 'objective'],
  ];
  for (const [body, bp, pre] of buggy) assert.deepEqual(ids(loop(body, bp, pre), 'TL007'), ['TL007'], body);
});

// ---- EV005: a helper's loader parameter named test_loader, handed the validation loader ----

const evalHelper = `def evaluation(test_loader, model):
    model.eval()
    total = 0.0
    with torch.no_grad():
        for x, y in test_loader:
            total += criterion(model(x), y).item()
    return total / len(test_loader)
`;

/** An epoch loop that trains, then runs `select` (lines at epoch-body indent); `after` at function level. */
const fit = (select: string, after = '') =>
  `${HEADER}${evalHelper}\ndef main():\n    best_val = 1e9\n    for epoch in range(10):\n        for x, y in train_loader:\n            optimizer.zero_grad()\n            criterion(model(x), y).backward()\n            optimizer.step()\n${select
    .split('\n')
    .map((l) => '        ' + l)
    .join('\n')}\n${after}`;

const save = (metric: string) => `if ${metric} < best_val:\n    best_val = ${metric}\n    torch.save(model.state_dict(), 'best.pt')`;

test('EV005: the argument at the call (validation data) wins over the parameter name test_loader', () => {
  // every call passes the validation loader
  assert.deepEqual(ids(fit(`val_loss = evaluation(val_loader, model)\n${save('val_loss')}`), 'EV005'), []);
  // this call passes the validation loader, a later one the test loader (reported once, at the end)
  assert.deepEqual(ids(fit(`loss = evaluation(valid_dl, model)\n${save('loss')}`, '    print(evaluation(test_loader, model))\n'), 'EV005'), []);
  // by keyword, a validation loader named after its dataset
  assert.deepEqual(ids(fit(`score = evaluation(model=model, test_loader=mnist_val_loader)\n${save('score')}`), 'EV005'), []);
  // selection inside the helper, every call site handing it the validation loader
  const inside = `${HEADER}def evaluate(test_loader, model, state):
    correct = 0
    for x, y in test_loader:
        correct += (model(x).argmax(1) == y).sum().item()
    acc = correct / len(test_loader.dataset)
    if acc > state['best_acc']:
        state['best_acc'] = acc
        torch.save(model.state_dict(), 'best.pt')
    return acc

for epoch in range(5):
    train(model, train_loader)
    evaluate(val_loader, model, state)
`;
  assert.deepEqual(ids(inside, 'EV005'), []);
});

test('EV005: a test loader handed in, or an argument that names no split, is still test data', () => {
  // the test loader at the call
  assert.deepEqual(ids(fit(`loss = evaluation(test_loader, model)\n${save('loss')}`), 'EV005'), ['EV005']);
  // an argument that names no split: the parameter's name stands
  assert.deepEqual(ids(fit(`val_loss = evaluation(loader, model)\n${save('val_loss')}`), 'EV005'), ['EV005']);
  // selection inside the helper, call sites disagreeing (validation and test): the parameter's name stands
  const inside = `${HEADER}def evaluate(test_loader, model, state):
    correct = 0
    for x, y in test_loader:
        correct += (model(x).argmax(1) == y).sum().item()
    acc = correct / len(test_loader.dataset)
    if acc > state['best_acc']:
        state['best_acc'] = acc
        torch.save(model.state_dict(), 'best.pt')
    return acc

for epoch in range(5):
    train(model, train_loader)
    evaluate(val_loader, model, state)
    evaluate(test_loader, model, state)
`;
  assert.deepEqual(ids(inside, 'EV005'), ['EV005']);
});
