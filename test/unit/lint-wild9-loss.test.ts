// Loss and architecture rules extended from the wild9 (area v) real-bug cases.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, useParser } from './lint/helpers';

useParser();

// A trainer class that switches activation and loss on the same mode attribute.
const modal = (activation: string, loss: string, extra = '') =>
  HEADER +
  `class Trainer(nn.Module):
    def __init__(self, body, task):
        super().__init__()
        self.body = body
        self.task = task
${extra}
    def _activate(self, z):
${activation}
    def _criterion(self, pred, target):
${loss}
    def step(self, x, y):
        pred = self._activate(self.body(x))
        loss = self._criterion(pred, y)
        loss.backward()
`;

const ACT = `        if self.task == 'regression':
            return z
        if self.task == 'binary':
            return torch.sigmoid(z)
        if self.task == 'multiclass':
            return F.softmax(z, dim=1)
`;

test('LS001: a mode-switched helper feeds softmax to cross_entropy in the same mode', () => {
  const loss = `        if self.task == 'binary':
            return F.binary_cross_entropy_with_logits(pred, target)
        if self.task == 'multiclass':
            return F.cross_entropy(pred, target)
        return F.mse_loss(pred, target)
`;
  assert.deepEqual(ids(modal(ACT, loss), 'LS001'), ['LS001']);
  // the sigmoid of the binary arm reaches the logits loss of the binary arm
  assert.deepEqual(ids(modal(ACT, loss), 'LS002'), ['LS002']);
  // elif chain, literal on the left, double quotes
  const act2 = `        if self.task == "binary":
            out = torch.sigmoid(z)
            return out
        elif "multiclass" == self.task:
            return z.softmax(dim=-1)
        else:
            return z
`;
  const loss2 = `        if self.task == 'multiclass':
            return nn.CrossEntropyLoss()(pred, target)
        return nn.MSELoss()(pred, target)
`;
  assert.deepEqual(ids(modal(act2, loss2), 'LS001'), ['LS001']);
});

test('LS001: mode-switched helpers whose matching arm returns logits stay silent', () => {
  // the multiclass arm keeps the logits; probabilities only for the binary arm
  const act = `        if self.task == 'multiclass':
            return z
        if self.task == 'binary':
            return F.softmax(z, dim=1)
`;
  const loss = `        if self.task == 'multiclass':
            return F.cross_entropy(pred, target)
        return F.binary_cross_entropy(pred, target)
`;
  assert.deepEqual(ids(modal(act, loss), 'LS001'), []);
  // the softmax sits in the else of the loss's own mode
  const act2 = `        if self.task == 'multiclass':
            return z
        else:
            return F.softmax(z, dim=1)
`;
  assert.deepEqual(ids(modal(act2, loss), 'LS001'), []);
  // a different attribute: nothing is known, and the helper's returns disagree
  const loss3 = `        if self.mode == 'multiclass':
            return F.cross_entropy(pred, target)
        return F.mse_loss(pred, target)
`;
  assert.deepEqual(ids(modal(ACT, loss3), 'LS001'), []);
  // no mode test around the loss: still unknown
  assert.deepEqual(ids(modal(ACT, '        return F.cross_entropy(pred, target)\n'), 'LS001'), []);
});

// A plain trainer class (not a module) with a fall-through return after the chain of mode tests.
const learner = (squash: string) =>
  HEADER +
  `class Learner:
    def __init__(self, net, objective):
        self.net = net
        self.objective = objective

    def squash(self, scores):
${squash}
    def criterion(self, probs, labels):
        if self.objective == "softmax":
            return F.cross_entropy(probs, labels)
        return F.mse_loss(probs, labels)

    def update(self, feats, labels):
        probs = self.squash(self.net(feats))
        self.criterion(probs, labels).backward()
`;

test('LS001: a helper method of a plain class, with a fall-through return after the mode arms', () => {
  const squash = `        if self.objective == "identity":
            return scores
        elif self.objective == "softmax":
            return torch.softmax(scores, dim=-1)
        return scores
`;
  assert.deepEqual(ids(learner(squash), 'LS001'), ['LS001']);
});

test('LS001: a plain class whose helper keeps logits in the loss mode stays silent', () => {
  // the softmax arm does not return: the fall-through return may hold either
  const open = `        if self.objective == "softmax":
            print("softmax mode")
        return scores
`;
  assert.deepEqual(ids(learner(open), 'LS001'), []);
  const other = `        if self.objective == "probabilities":
            return torch.softmax(scores, dim=-1)
        return scores
`;
  assert.deepEqual(ids(learner(other), 'LS001'), []);
  // the method name is rebound to a module built elsewhere: not the method's softmax
  const rebound = `        return torch.softmax(scores, dim=-1)
    def set_head(self, head):
        self.squash = head
`;
  assert.deepEqual(ids(learner(rebound), 'LS001'), []);
});

// AR013: a tensor allocated with its sizes in one order, reshaped with them in another.
const heads = (alloc: string, merge: string, between = '') =>
  HEADER +
  `class Attn(nn.Module):
    def forward(self, x):
        B, T = x.size(0), x.size(1)
        out = ${alloc}
${between}        for h in range(self.n_heads):
            out[h] = self.head[h](x)
        return ${merge}
`;

test('AR013: heads stacked in front of an allocated buffer, merged without moving them', () => {
  assert.deepEqual(ids(heads('torch.zeros(self.n_heads, B, T, self.d)', 'out.view(B, T, -1)'), 'AR013'), ['AR013']);
  // a tuple of sizes, new_zeros, reshape, every axis named
  assert.deepEqual(ids(heads('x.new_zeros((self.n_heads, B, T, self.d))', 'out.reshape(B, T, self.n_heads * self.d)'), 'AR013'), ['AR013']);
  assert.deepEqual(ids(heads('torch.empty(B, self.n_heads, T, self.d, device=x.device)', 'out.contiguous().view(B, T, -1)'), 'AR013'), ['AR013']);
});

test('AR013: allocated buffers reshaped in their own order, or with sizes that may differ, stay silent', () => {
  // merging in place keeps the order
  assert.deepEqual(ids(heads('torch.zeros(B, T, self.n_heads, self.d)', 'out.view(B, T, -1)'), 'AR013'), []);
  assert.deepEqual(ids(heads('torch.zeros(self.n_heads, B, T, self.d)', 'out.permute(1, 2, 0, 3).reshape(B, T, -1)'), 'AR013'), []);
  // two axes written the same: which one is meant is unknown
  assert.deepEqual(ids(heads('torch.zeros(T, B, T)', 'out.view(B, -1)'), 'AR013'), []);
  // the size name is rebound after the allocation
  assert.deepEqual(ids(heads('torch.zeros(self.n_heads, B, T, self.d)', 'out.view(B, T, -1)', '        B = B // 2\n'), 'AR013'), []);
  // the buffer is rebound to something else in the loop
  assert.deepEqual(ids(heads('torch.zeros(self.n_heads, B, T, self.d)', 'out.view(B, T, -1)', '        out = self.mix(out)\n'), 'AR013'), []);
});

// AR006: branch weights stacked in front of parts viewed as (bs, c, 1, 1).
const branches = (build: string, softmax: string) =>
  HEADER +
  `class SelectKernel(nn.Module):
    def __init__(self, c, k):
        super().__init__()
        self.fcs = nn.ModuleList([nn.Linear(c, c) for _ in range(k)])
        self.softmax = ${softmax}

    def forward(self, z, feats):
        bs, c = z.shape
${build}
        att = self.softmax(att)
        return (att * feats).sum(0)
`;

test('AR006: a softmax over the batch axis of a torch.stack of batch-first parts is reported', () => {
  const appended = `        ws = []
        for fc in self.fcs:
            ws.append(fc(z).view(bs, c, 1, 1))
        att = torch.stack(ws, 0)`;
  assert.deepEqual(ids(branches(appended, 'nn.Softmax(dim=1)'), 'AR006'), ['AR006']);
  const comprehension = '        att = torch.stack([fc(z).view(bs, c, 1, 1) for fc in self.fcs], dim=0)';
  assert.deepEqual(ids(branches(comprehension, 'nn.Softmax(dim=-4)'), 'AR006'), ['AR006']);
  // stacked behind the batch: the batch stays at 0
  const behind = '        att = torch.stack([fc(z).view(bs, c, 1, 1) for fc in self.fcs], dim=1)';
  assert.deepEqual(ids(branches(behind, 'nn.Softmax(dim=0)'), 'AR006'), ['AR006']);
});

test('AR006: a softmax over the stacked axis, or parts that do not agree, stays silent', () => {
  const appended = `        ws = []
        for fc in self.fcs:
            ws.append(fc(z).view(bs, c, 1, 1))
        att = torch.stack(ws, 0)`;
  assert.deepEqual(ids(branches(appended, 'nn.Softmax(dim=0)'), 'AR006'), []);
  assert.deepEqual(ids(branches(appended, 'nn.Softmax(dim=2)'), 'AR006'), []);
  // one part's batch axis is unknown
  const mixed = '        att = torch.stack([z.view(bs, c, 1, 1), self.prior], 0)';
  assert.deepEqual(ids(branches(mixed, 'nn.Softmax(dim=1)'), 'AR006'), []);
});
