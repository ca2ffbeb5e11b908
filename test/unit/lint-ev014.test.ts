// EV014: a torchmetrics metric computed every epoch and never reset.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, useParser } from './lint/helpers';

useParser();

const loop = (after = '', target = 'epoch', feed = 'acc.update(model(x), y)') => `${HEADER}import torchmetrics
acc = torchmetrics.Accuracy(task="multiclass", num_classes=10)
for ${target} in range(20):
    train_one_epoch(model, train_loader)
    with torch.no_grad():
        for x, y in val_loader:
            ${feed}
    val_acc = acc.compute()
${after}    print(val_acc)
`;

test('EV014: Accuracy updated per batch, computed per epoch, never reset; the fix resets it after compute()', () => {
  const code = loop();
  assert.deepEqual(ids(code, 'EV014'), ['EV014']);
  const fixed = fix(code, 'EV014');
  assert.match(fixed, /val_acc = acc\.compute\(\)\n {4}acc\.reset\(\)\n/);
  assert.deepEqual(ids(fixed, 'EV014'), []);
  // Called like a function, in a loop not named for epochs but holding the batch loop.
  assert.deepEqual(ids(loop('', 'i', 'acc(model(x), y)'), 'EV014'), ['EV014']);
});

test('EV014 look-alikes: reset somewhere, a running accuracy within one pass, a metric built per epoch', () => {
  assert.deepEqual(ids(loop('    acc.reset()\n'), 'EV014'), []);
  const running = `${HEADER}import torchmetrics
acc = torchmetrics.Accuracy(task="binary")
for i in range(10):
    acc.update(preds[i], target[i])
    print("running", acc.compute())
`;
  assert.deepEqual(ids(running, 'EV014'), []);
  const perEpoch = `${HEADER}import torchmetrics
for epoch in range(5):
    acc = torchmetrics.Accuracy(task="binary")
    for x, y in val_loader:
        acc.update(model(x), y)
    print(acc.compute())
`;
  assert.deepEqual(ids(perEpoch, 'EV014'), []);
});
