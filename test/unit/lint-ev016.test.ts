// EV016: an evaluation loop that overwrites a metric per batch and reads it after the loop.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, lint, useParser } from './lint/helpers';

useParser();

const evaluate = (body: string, after = '    return acc') => `${HEADER}
def evaluate(model, loader):
    model.eval()
    with torch.no_grad():
        for images, labels in loader:
            outputs = model(images)
${body.replace(/^/gm, '            ')}
${after}
`;

test('EV016: accuracy overwritten per batch and returned after the loop, with the message', () => {
  const src = evaluate('acc = (outputs.argmax(1) == labels).float().mean()');
  const f = lint(src, { select: ['EV016'] });
  assert.deepEqual(f.map((x) => [x.rule, x.severity]), [['EV016', 'warning']]);
  assert.match(f[0]!.message, /acc is overwritten on every batch .* read after it \(line 12\)/);
});

test('EV016: correct counts, test-named loops at module level, prints and divisions after the loop', () => {
  assert.deepEqual(ids(evaluate('correct = (outputs.argmax(1) == labels).sum().item()', '    return correct / len(loader.dataset)'), 'EV016'), ['EV016']);
  const moduleLevel = `${HEADER}
model.eval()
for x, y in test_loader:
    pred = model(x).argmax(dim=1)
    test_acc = accuracy_score(y.numpy(), pred.numpy())
    print("batch", test_acc)
print(f"test accuracy: {test_acc:.3f}")
`;
  assert.deepEqual(ids(moduleLevel, 'EV016'), ['EV016']);
  assert.deepEqual(ids(moduleLevel.replace('print(f"test accuracy: {test_acc:.3f}")', 'print("test accuracy", test_acc)'), 'EV016'), ['EV016']);
  // An f-string naming another variable that merely contains the name is no read.
  assert.deepEqual(ids(moduleLevel.replace('{test_acc:.3f}', '{best_test_acc:.3f}'), 'EV016'), []);
});

test('EV016 look-alikes: accumulated, appended, re-assigned after the loop, one batch, training loops, loss', () => {
  // Accumulated in the loop.
  assert.deepEqual(ids(evaluate('acc = (outputs.argmax(1) == labels).float().mean()\naccs.append(acc)', '    return sum(accs) / len(accs)'), 'EV016'), []);
  assert.deepEqual(ids(evaluate('acc = (outputs.argmax(1) == labels).float().mean()\ntotal_acc += acc', '    return total_acc / len(loader)'), 'EV016'), []);
  // ...but returning the raw last value next to the unused total is the mistake itself.
  assert.deepEqual(ids(evaluate('acc = (outputs.argmax(1) == labels).float().mean()\ntotal_acc += acc', '    return acc'), 'EV016'), ['EV016']);
  assert.deepEqual(ids(evaluate('correct = correct + (outputs.argmax(1) == labels).sum()', '    return correct'), 'EV016'), []);
  // A stateful metric: the value after the loop is computed again.
  assert.deepEqual(ids(evaluate('acc = metric(outputs, labels)', '    acc = metric.compute()\n    return acc'), 'EV016'), []);
  // Not read after the loop.
  assert.deepEqual(ids(evaluate('acc = (outputs.argmax(1) == labels).float().mean()\nprint(acc)', '    return None'), 'EV016'), []);
  // Stops after one batch; a loader holding the whole set.
  assert.deepEqual(ids(evaluate('acc = (outputs.argmax(1) == labels).float().mean()\nbreak'), 'EV016'), []);
  const whole = `${HEADER}
test_loader = DataLoader(test_set, batch_size=len(test_set))
model.eval()
with torch.no_grad():
    for x, y in test_loader:
        acc = (model(x).argmax(1) == y).float().mean()
print(acc)
`;
  assert.deepEqual(ids(whole, 'EV016'), []);
  // A training loop printing its last batch is progress display, not an evaluation.
  const training = `${HEADER}
for x, y in train_loader:
    optimizer.zero_grad()
    out = model(x)
    loss = criterion(out, y)
    loss.backward()
    optimizer.step()
    acc = (out.argmax(1) == y).float().mean()
print(acc)
`;
  assert.deepEqual(ids(training, 'EV016'), []);
  // A loss is not a whole-set metric name; a constant is not per batch.
  assert.deepEqual(ids(evaluate('loss = criterion(outputs, labels)', '    return loss'), 'EV016'), []);
  assert.deepEqual(ids(evaluate('acc = 0.0', '    return acc'), 'EV016'), []);
});

test('EV016: summed into another container, yet the raw last value is what the function returns', () => {
  const code = (tail: string) => `import numpy as np
import torch


def evaluate(model, val_loader):
    model.eval()
    totals = []
    n = 0
    with torch.no_grad():
        for x, y in val_loader:
            out = model(x)
            acc = (out.argmax(1) == y).float().mean().item()
            totals.append(np.array([acc]) * len(y))
            n += len(y)
    avg = np.sum(totals, 0) / n
    ${tail}
`;
  assert.deepEqual(ids(code('return avg, acc'), 'EV016'), ['EV016']);
  // The aggregate is what comes out; a print of the last value is only shown.
  assert.deepEqual(ids(code('return avg'), 'EV016'), []);
  assert.deepEqual(ids(code('print(acc)\n    return avg'), 'EV016'), []);
});
