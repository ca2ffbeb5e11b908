import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, useParser } from './lint/helpers';

useParser();

test('DT001: training loader without shuffle; fix adds shuffle=True', () => {
  const code = `${HEADER}\ntrain_loader = DataLoader(train_ds, batch_size=64)\n`;
  assert.deepEqual(ids(code), ['DT001']);
  const fixed = fix(code, 'DT001');
  assert.match(fixed, /DataLoader\(train_ds, batch_size=64, shuffle=True\)/);
  assert.deepEqual(ids(fixed), []);
  assert.deepEqual(ids(`${HEADER}\nloader = DataLoader(datasets.MNIST("data", train=True), batch_size=64)\n`), ['DT001']);
  assert.deepEqual(ids(`${HEADER}\nself_loader = torch.utils.data.DataLoader(self.train_set, 32)\n`), ['DT001']);
});

test('DT001: negatives: shuffle given, sampler, explicit shuffle=False, validation loaders, **kwargs', () => {
  assert.deepEqual(ids(`${HEADER}\ntrain_loader = DataLoader(train_ds, batch_size=64, shuffle=True)\n`), []);
  assert.deepEqual(ids(`${HEADER}\ntrain_loader = DataLoader(train_ds, batch_size=64, sampler=DistributedSampler(train_ds))\n`), []);
  assert.deepEqual(ids(`${HEADER}\ntrain_loader = DataLoader(train_ds, batch_size=64, shuffle=False)\n`), []);
  assert.deepEqual(ids(`${HEADER}\nval_loader = DataLoader(val_ds, batch_size=64)\ntest_loader = DataLoader(test_ds)\n`), []);
  assert.deepEqual(ids(`${HEADER}\ntrain_loader = DataLoader(train_ds, **loader_kwargs)\n`), []);
});

test('HP001: implausible learning rates per optimizer, with a fix for Adam', () => {
  const code = `${HEADER}\nopt = torch.optim.Adam(model.parameters(), lr=0.1)\n`;
  assert.deepEqual(ids(code), ['HP001']);
  assert.deepEqual(ids(fix(code, 'HP001')), []);
  assert.deepEqual(ids(`${HEADER}\nopt = torch.optim.SGD(model.parameters(), lr=1.5)\n`), ['HP001']);
  assert.deepEqual(ids(`${HEADER}\nopt = torch.optim.AdamW(model.parameters(), 1e-9)\n`), ['HP001']);
  assert.deepEqual(ids(`import torch.optim as optim\nopt = optim.RMSprop(params, lr=0.5)\n`), ['HP001']);
});

test('HP001: look-alikes: Adadelta lr=1.0, LBFGS lr=1, SGD 0.1, Adam 3e-4, variables', () => {
  assert.deepEqual(ids(`${HEADER}\nopt = torch.optim.Adadelta(model.parameters(), lr=1.0)\n`), []);
  assert.deepEqual(ids(`${HEADER}\nopt = torch.optim.LBFGS(model.parameters(), lr=1)\n`), []);
  assert.deepEqual(ids(`${HEADER}\nopt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)\n`), []);
  assert.deepEqual(ids(`${HEADER}\nopt = torch.optim.Adam(model.parameters(), lr=3e-4)\n`), []);
  assert.deepEqual(ids(`${HEADER}\nopt = torch.optim.Adam(model.parameters(), lr=args.lr)\n`), []);
});

test('AR001: conv then BatchNorm in nn.Sequential; fix adds bias=False', () => {
  const code = `${HEADER}\nblock = nn.Sequential(nn.Conv2d(3, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU())\n`;
  assert.deepEqual(ids(code), ['AR001']);
  const fixed = fix(code, 'AR001');
  assert.match(fixed, /nn\.Conv2d\(3, 64, 3, padding=1, bias=False\)/);
  assert.deepEqual(ids(fixed), []);
  assert.deepEqual(ids(`${HEADER}\nblock = nn.Sequential(nn.Conv2d(3, 64, 3, bias=False), nn.BatchNorm2d(64))\n`), []);
  assert.deepEqual(ids(`${HEADER}\nblock = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.BatchNorm1d(8))\n`), []);
});

test('AR001: forward order self.bn(self.conv(x)) and x = self.conv(x); x = self.bn(x)', () => {
  const nested = `${HEADER}\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.conv = nn.Conv2d(3, 8, 3)\n        self.bn = nn.BatchNorm2d(8)\n\n    def forward(self, x):\n        return F.relu(self.bn(self.conv(x)))\n`;
  assert.deepEqual(ids(nested), ['AR001']);
  const seq = nested.replace('return F.relu(self.bn(self.conv(x)))', 'x = self.conv(x)\n        x = self.bn(x)\n        return x');
  assert.deepEqual(ids(seq), ['AR001']);
  const ok = nested.replace('nn.Conv2d(3, 8, 3)', 'nn.Conv2d(3, 8, 3, bias=False)');
  assert.deepEqual(ids(ok), []);
});
