// EV013: the sample count added after the batch loop instead of in it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, useParser } from './lint/helpers';

useParser();

const evalLoop = (count: string, indent = '') => `${HEADER}
def evaluate(model, loader):
    correct = 0
    total = 0
    model.eval()
    with torch.no_grad():
        for images, labels in loader:
            outputs = model(images)
            _, predicted = torch.max(outputs, 1)
            correct += (predicted == labels).sum().item()
${indent}        ${count}
    return 100 * correct / total
`;

test('EV013: total += labels.size(0) one level out of the loop; the fix indents it', () => {
  const code = evalLoop('total += labels.size(0)');
  assert.deepEqual(ids(code, 'EV013'), ['EV013']);
  const fixed = fix(code, 'EV013');
  assert.match(fixed, /\n {12}total \+= labels\.size\(0\)\n/);
  assert.deepEqual(ids(fixed, 'EV013'), []);
});

test('EV013: other size spellings, at module level', () => {
  for (const count of ['total += len(labels)', 'total += labels.shape[0]', 'n += labels.numel()']) {
    const code = `${HEADER}correct = total = n = 0
for x, labels in test_loader:
    correct += (model(x).argmax(1) == labels).sum().item()
${count}
print(correct / max(total, n))
`;
    assert.deepEqual(ids(code, 'EV013'), ['EV013'], count);
  }
});

test('EV013 look-alikes: inside the loop, a size of something else, the same counter, no counting in the loop', () => {
  assert.deepEqual(ids(evalLoop('total += labels.size(0)', '    '), 'EV013'), []);
  assert.deepEqual(ids(evalLoop('total += len(loader.dataset)'), 'EV013'), []);
  const same = `${HEADER}seen = 0
for x, labels in loader:
    seen += labels.size(0)
seen += labels.size(0)
`;
  assert.deepEqual(ids(same, 'EV013'), []);
  const noCount = `${HEADER}total = 0
for x, labels in loader:
    print(model(x))
total += labels.size(0)
`;
  assert.deepEqual(ids(noCount, 'EV013'), []);
});
