import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

const withDropout = `${HEADER}\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(4, 3)\n        self.drop = nn.Dropout(0.5)\n\n    def forward(self, x):\n        return self.fc(self.drop(x))\n\nmodel = Net()\n`;
const plain = `${HEADER}\nclass Tiny(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(4, 3)\n\n    def forward(self, x):\n        return self.fc(x)\n\nmodel = Tiny()\n`;

test('EV003 + EV001: a loop over val_loader with neither no_grad nor eval()', () => {
  const code = `${withDropout}for x, y in val_loader:\n    out = model(x)\n`;
  assert.deepEqual(ids(code), ['EV001', 'EV003']);
});

test('EV003: fix wraps the loop in torch.no_grad(), re-lint clean', () => {
  const code = `${withDropout}model.eval()\nfor x, y in val_loader:\n    out = model(x)\n    total += (out.argmax(1) == y).sum().item()\n`;
  assert.deepEqual(ids(code), ['EV003']);
  const fixed = fix(code, 'EV003');
  assert.match(fixed, /with torch\.no_grad\(\):\n {4}for x, y in val_loader:\n {8}out = model\(x\)\n {8}total/);
  assert.deepEqual(ids(fixed), []);
});

test('EV003: decorator @torch.no_grad(), inference_mode, callers under no_grad', () => {
  const dec = `${HEADER}\n@torch.no_grad()\ndef evaluate(model, loader):\n    model.eval()\n    for x, y in loader:\n        out = model(x)\n`;
  assert.deepEqual(ids(dec), []);
  const inf = `${HEADER}\ndef validate(model, loader):\n    model.eval()\n    with torch.inference_mode():\n        for x, y in loader:\n            out = model(x)\n`;
  assert.deepEqual(ids(inf), []);
  const caller = `${HEADER}\ndef evaluate(model, loader):\n    for x, y in loader:\n        out = model(x)\n\nmodel.eval()\nwith torch.no_grad():\n    evaluate(model, val_loader)\n`;
  assert.deepEqual(ids(caller), []);
});

test('EV001: function named evaluate without eval(); eval() in the caller is enough', () => {
  const bad = `${HEADER}\ndef evaluate(model, loader):\n    with torch.no_grad():\n        for x, y in loader:\n            out = model(x)\n`;
  assert.deepEqual(ids(bad), ['EV001']);
  const good = `${HEADER}\ndef evaluate(model, loader):\n    with torch.no_grad():\n        for x, y in loader:\n            out = model(x)\n\ndef main():\n    model.eval()\n    evaluate(model, val_loader)\n`;
  assert.deepEqual(ids(good), []);
});

test('EV001: a known model without Dropout/BatchNorm needs no eval()', () => {
  const code = `${plain}with torch.no_grad():\n    for x, y in test_loader:\n        out = model(x)\n`;
  assert.deepEqual(ids(code), []);
  const withBn = `${HEADER}\nmodel = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 2))\nwith torch.no_grad():\n    for x, y in test_loader:\n        out = model(x)\n`;
  assert.deepEqual(ids(withBn, 'EV001'), ['EV001']);
});

test('evaluation rules ignore training loops and non-model calls', () => {
  const train = `${HEADER}\nfor x, y in train_loader:\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.step()\n`;
  assert.deepEqual(ids(train), []);
  const noModel = `${HEADER}\nfor x, y in val_loader:\n    print(x.shape)\n`;
  assert.deepEqual(ids(noModel), []);
  const f = lint(`${withDropout}for batch in tqdm(val_loader, desc="val"):\n    out = model(batch)\n`);
  assert.equal(f[0]!.range.start.line, 15);
});
