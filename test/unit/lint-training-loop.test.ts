import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

const loop = (body: string, pre = '') => `${HEADER}\n${pre}for x, y in loader:\n${body.split('\n').map((l) => '    ' + l).join('\n')}\n`;

test('TL001: no zero_grad in the loop; fix inserts it at the body start; clean after', () => {
  const code = loop('out = model(x)\nloss = criterion(out, y)\nloss.backward()\noptimizer.step()');
  assert.deepEqual(ids(code), ['TL001']);
  const fixed = fix(code, 'TL001');
  assert.match(fixed, /for x, y in loader:\n {4}optimizer\.zero_grad\(\)\n {4}out = model/);
  assert.deepEqual(ids(fixed), []);
});

test('TL001: zero_grad after step at the end of the body is fine; model.zero_grad and set_to_none count', () => {
  assert.deepEqual(ids(loop('loss = criterion(model(x), y)\nloss.backward()\noptimizer.step()\noptimizer.zero_grad()')), []);
  assert.deepEqual(ids(loop('model.zero_grad()\nloss = criterion(model(x), y)\nloss.backward()\noptimizer.step()')), []);
  assert.deepEqual(ids(loop('optimizer.zero_grad(set_to_none=True)\nloss = criterion(model(x), y)\nloss.backward()\noptimizer.step()')), []);
  assert.deepEqual(ids(loop('for p in model.parameters():\n    p.grad = None\nloss = criterion(model(x), y)\nloss.backward()\noptimizer.step()')), []);
});

test('TL001: zero_grad only on one branch of an if is reported (path-sensitive)', () => {
  const code = loop('if i % 10 == 0:\n    optimizer.zero_grad()\nloss = criterion(model(x), y)\nloss.backward()\noptimizer.step()');
  const f = lint(code);
  assert.deepEqual(f.map((x) => x.rule), ['TL001']);
  assert.match(f[0]!.message, /on some path/);
  // both branches reset: fine
  assert.deepEqual(ids(loop('if fast:\n    optimizer.zero_grad()\nelse:\n    model.zero_grad()\nloss = criterion(model(x), y)\nloss.backward()\noptimizer.step()')), []);
});

test('TL001: a continue that skips the trailing zero_grad is reported', () => {
  const code = loop('loss = criterion(model(x), y)\nloss.backward()\noptimizer.step()\nif bad:\n    continue\noptimizer.zero_grad()');
  assert.deepEqual(ids(code), ['TL001']);
});

test('TL001: gradient accumulation with step and zero_grad together under the if is fine', () => {
  const code = `${HEADER}\nfor i, (x, y) in enumerate(loader):\n    loss = criterion(model(x), y) / accum\n    loss.backward()\n    if (i + 1) % accum == 0:\n        optimizer.step()\n        optimizer.zero_grad()\n`;
  assert.deepEqual(ids(code), []);
});

test('TL001: LBFGS closure pattern is fine', () => {
  const code = `${HEADER}\noptimizer = torch.optim.LBFGS(model.parameters())\nfor epoch in range(20):\n    def closure():\n        optimizer.zero_grad()\n        loss = criterion(model(x), y)\n        loss.backward()\n        return loss\n    optimizer.step(closure)\n`;
  assert.deepEqual(ids(code), []);
});

test('TL001: AMP scaler.step(optimizer) without zero_grad is reported; schedulers and env.step are not steps', () => {
  assert.deepEqual(ids(loop('with torch.autocast("cuda"):\n    loss = criterion(model(x), y)\nscaler.scale(loss).backward()\nscaler.step(optimizer)\nscaler.update()')), ['TL001']);
  assert.deepEqual(ids(loop('optimizer.zero_grad()\nloss = criterion(model(x), y)\nloss.backward()\noptimizer.step()\nscheduler.step()')), []);
  assert.deepEqual(ids(loop('obs, r, done, info = env.step(action)\nloss = compute(obs)\nloss.backward()')), []);
});

test('TL001: a helper of the file that calls zero_grad counts', () => {
  const code = `${HEADER}\ndef reset(opt):\n    opt.zero_grad()\n\nfor x, y in loader:\n    reset(optimizer)\n    loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.step()\n`;
  assert.deepEqual(ids(code), []);
});

test('TL002: zero_grad once before the loop; epoch-level zero_grad before the batch loop', () => {
  const code = loop('loss = criterion(model(x), y)\nloss.backward()\noptimizer.step()', 'optimizer.zero_grad()\n');
  const f = lint(code);
  assert.deepEqual(f.map((x) => x.rule), ['TL002']);
  assert.equal(f[0]!.range.start.line, 5);
  const fixed = fix(code, 'TL002');
  assert.deepEqual(ids(fixed), []);
  const nested = `${HEADER}\nfor epoch in range(3):\n    optimizer.zero_grad()\n    for x, y in loader:\n        loss = criterion(model(x), y)\n        loss.backward()\n        optimizer.step()\n`;
  assert.deepEqual(ids(nested), ['TL002']);
});

test('TL003: zero_grad between backward and step; fix moves it before backward', () => {
  const code = loop('loss = criterion(model(x), y)\nloss.backward()\noptimizer.zero_grad()\noptimizer.step()');
  assert.deepEqual(ids(code), ['TL003']);
  const fixed = fix(code, 'TL003');
  assert.match(fixed, /optimizer\.zero_grad\(\)\n {4}loss\.backward\(\)\n {4}optimizer\.step\(\)/);
  assert.deepEqual(ids(fixed), []);
  // zero_grad before backward, or after step: fine
  assert.deepEqual(ids(loop('optimizer.zero_grad()\nloss = criterion(model(x), y)\nloss.backward()\noptimizer.step()')), []);
});

test('training loops inside functions and methods; while loops', () => {
  const code = `${HEADER}\nclass Trainer:\n    def fit(self):\n        step = 0\n        while step < 100:\n            loss = self.criterion(self.model(x), y)\n            loss.backward()\n            self.optimizer.step()\n            step += 1\n`;
  const f = lint(code);
  assert.deepEqual(f.map((x) => x.rule), ['TL001']);
  assert.match(fix(code, 'TL001'), /while step < 100:\n {12}self\.optimizer\.zero_grad\(\)\n/);
});
