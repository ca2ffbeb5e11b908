// Loss and output tracking on shapes seen in real buggy code: a loss or a model run through `.forward(...)` or
// `.__call__(...)` instead of a plain call.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, useParser } from './lint/helpers';

useParser();

const loop = (model: string, lossCall: string) => `${HEADER}
net = ${model}
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
for x, y in loader:
    optimizer.zero_grad()
    scores = net(x)
    loss = ${lossCall}
    loss.backward()
    optimizer.step()
`;

test('LS001: the loss called as criterion.forward(...) or criterion.__call__(...)', () => {
  const softmaxNet = 'nn.Sequential(nn.Linear(20, 3), nn.Softmax(dim=1))';
  assert.deepEqual(ids(loop(softmaxNet, 'criterion.forward(scores, y)'), 'LS001'), ['LS001']);
  assert.deepEqual(ids(loop(softmaxNet, 'criterion.__call__(scores, y)'), 'LS001'), ['LS001']);
  assert.deepEqual(ids(loop(softmaxNet, 'nn.CrossEntropyLoss().forward(scores, y)'), 'LS001'), ['LS001']);
  // Look-alikes: logits into the loss; forward of something that is not a loss.
  assert.deepEqual(ids(loop('nn.Sequential(nn.Linear(20, 3))', 'criterion.forward(scores, y)'), 'LS001'), []);
  assert.deepEqual(ids(loop(softmaxNet, 'criterion(head.forward(x), y)'), 'LS001'), []);
});

test('LS003: a module that runs itself with self.__call__(x) into NLLLoss', () => {
  const code = (call: string, head: string) => `${HEADER}
class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(32, 5)
        self.head = ${head}
        self.objective = nn.NLLLoss()

    def forward(self, feats):
        return self.head(self.proj(feats))

    def fit_epoch(self, batches, opt):
        for feats, tags in batches:
            opt.zero_grad()
            probs = ${call}
            loss = self.objective(probs, tags)
            loss.backward()
            opt.step()
`;
  assert.deepEqual(ids(code('self.__call__(feats)', 'nn.Softmax(dim=-1)'), 'LS003'), ['LS003']);
  assert.deepEqual(ids(code('self.forward(feats)', 'nn.Softmax(dim=-1)'), 'LS003'), ['LS003']);
  assert.deepEqual(ids(code('self.__call__(feats)', 'nn.LogSoftmax(dim=-1)'), 'LS003'), []);
});
