// An activation a model applies only on request (`forward(self, x, apply_softmax=False)`, `if not self.training:`)
// is not what the training loss receives, unless every call of the file asks for it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, useParser } from './lint/helpers';

useParser();

const net = (signature: string, condition: string, activation = 'F.softmax(y, dim=1)') => `
class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 32)
        self.fc2 = nn.Linear(32, 3)

    def forward(${signature}):
        y = self.fc2(F.relu(self.fc1(x)))
        if ${condition}:
            y = ${activation}
        return y
`;

const train = (forwardCall: string, after = '') => `
model = Classifier()
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for x, target in loader:
    optimizer.zero_grad()
    loss = criterion(${forwardCall}, target)
    loss.backward()
    optimizer.step()
${after}`;

test('LS001: a softmax behind a flag that defaults to False is not what the loss receives', () => {
  const code = HEADER + net('self, x, apply_softmax=False', 'apply_softmax') + train('model(x)', 'probs = model(x, apply_softmax=True)\n');
  assert.deepEqual(ids(code, 'LS001'), []);
  // Keyword form and a flag read through `not`.
  assert.deepEqual(ids(HEADER + net('self, x, logits_only=True', 'not logits_only') + train('model(x=x)'), 'LS001'), []);
});

test('LS001: the same softmax is reported when the training call turns it on, or when it is on by default', () => {
  assert.deepEqual(ids(HEADER + net('self, x, apply_softmax=False', 'apply_softmax') + train('model(x, apply_softmax=True)'), 'LS001'), ['LS001']);
  assert.deepEqual(ids(HEADER + net('self, x, return_probs=True', 'return_probs') + train('model(x)'), 'LS001'), ['LS001']);
  // A condition on something else than a parameter keeps the nearest binding, as before.
  assert.deepEqual(ids(HEADER + net('self, x', 'x.dim() == 2') + train('model(x)'), 'LS001'), ['LS001']);
});

test('LS001 / LS002: an activation applied only when the module is not training', () => {
  assert.deepEqual(ids(HEADER + net('self, x', 'not self.training') + train('model(x)'), 'LS001'), []);
  const bce = (HEADER + net('self, x', 'not self.training', 'torch.sigmoid(y)') + train('model(x)')).replace('nn.CrossEntropyLoss()', 'nn.BCEWithLogitsLoss()');
  assert.deepEqual(ids(bce, 'LS002'), []);
  const always = (HEADER + net('self, x', 'x.dim() == 2', 'torch.sigmoid(y)') + train('model(x)')).replace('nn.CrossEntropyLoss()', 'nn.BCEWithLogitsLoss()');
  assert.deepEqual(ids(always, 'LS002'), ['LS002']);
});
