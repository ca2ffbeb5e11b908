import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

const indent = (body: string) => body.split('\n').map((l) => '    ' + l).join('\n');
const loop = (body: string, pre = '') => `${HEADER}\n${pre}for x, y in loader:\n${indent(body)}\n`;

test('TL018: optimizer.step() before loss.backward() in the batch loop is an error, reported once on the step', () => {
  const code = loop('optimizer.zero_grad()\noptimizer.step()\nloss = criterion(model(x), y)\nloss.backward()');
  const f = lint(code);
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}:${x.range.start.line}`), ['TL018:error:7']);
  assert.equal(
    f[0]!.message,
    'optimizer.step() runs before loss.backward(): it updates with gradients that are zero or from the previous batch. Call it after backward().',
  );
  assert.equal(f[0]!.fixes?.[0]?.title, 'Move optimizer.step() after loss.backward()');
  // without zero_grad before it (one step late), still reported, once per block
  assert.deepEqual(ids(loop('optimizer.step()\noptimizer.step()\noptimizer.zero_grad()\nloss = criterion(model(x), y)\nloss.backward()'), 'TL018'), ['TL018']);
});

test('TL018: the fix moves the step just after backward(); the result lints clean', () => {
  const code = loop('optimizer.zero_grad()\noptimizer.step()\nloss = criterion(model(x), y)\nloss.backward()');
  const fixed = fix(code, 'TL018');
  assert.equal(fixed, loop('optimizer.zero_grad()\nloss = criterion(model(x), y)\nloss.backward()\noptimizer.step()'));
  assert.deepEqual(ids(fixed), []);
  // backward() on the last line of the file, no trailing newline
  const last = `${HEADER}\nfor x, y in loader:\n    optimizer.zero_grad()\n    optimizer.step()\n    loss = criterion(model(x), y)\n    loss.backward()`;
  assert.equal(fix(last, 'TL018'), `${HEADER}\nfor x, y in loader:\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.step()`);
});

test('TL018: no fix when the step or the backward shares its line', () => {
  const f = lint(loop('optimizer.zero_grad(); optimizer.step()\nloss = criterion(model(x), y)\nloss.backward()'), { select: ['TL018'] });
  assert.deepEqual(f.map((x) => x.rule), ['TL018']);
  assert.equal(f[0]!.fixes, undefined);
});

test('TL018: AMP scaler.step(optimizer) before scaler.scale(loss).backward() is reported', () => {
  const code = loop(
    'optimizer.zero_grad()\nscaler.step(optimizer)\nscaler.update()\nwith torch.autocast("cuda"):\n    loss = criterion(model(x), y)\nscaler.scale(loss).backward()',
  );
  const f = lint(code);
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}`), ['TL018:error']);
  assert.match(f[0]!.message, /^scaler\.step\(optimizer\) runs before scaler\.scale\(loss\)\.backward\(\)/);
  assert.deepEqual(ids(fix(code, 'TL018'), 'TL018'), []);
});

test('TL018: while loops and loops inside functions', () => {
  const w = `${HEADER}\nwhile step < max_steps:\n    x, y = next(it)\n    optimizer.zero_grad()\n    optimizer.step()\n    loss = criterion(model(x), y)\n    loss.backward()\n    step += 1\n`;
  assert.deepEqual(ids(w), ['TL018']);
  assert.deepEqual(ids(fix(w, 'TL018')), []);
  const fn = `${HEADER}\ndef train(model, loader, optimizer):\n    for x, y in loader:\n        optimizer.zero_grad()\n        optimizer.step()\n        loss = F.cross_entropy(model(x), y)\n        loss.backward()\n`;
  assert.deepEqual(ids(fn), ['TL018']);
  assert.deepEqual(ids(fix(fn, 'TL018')), []);
});

test('TL018: the normal order is fine', () => {
  assert.deepEqual(ids(loop('optimizer.zero_grad()\nloss = criterion(model(x), y)\nloss.backward()\noptimizer.step()')), []);
  assert.deepEqual(ids(loop('loss = criterion(model(x), y)\nloss.backward()\noptimizer.step()\noptimizer.zero_grad()')), []);
});

test('TL018: LBFGS optimizer.step(closure) with the closure defined in the loop is fine', () => {
  const code = `${HEADER}\noptimizer = torch.optim.LBFGS(model.parameters())\nfor x, y in loader:\n    def closure():\n        optimizer.zero_grad()\n        loss = criterion(model(x), y)\n        loss.backward()\n        return loss\n    optimizer.step(closure)\n    loss = criterion(model(x), y)\n    loss.backward()\n`;
  assert.deepEqual(ids(code, 'TL018'), []);
});

test('TL018: a step nested in an if or a with of the loop body is not reported', () => {
  // gradient accumulation written with the step first: steps on the gradients of the previous batches
  const accum = `${HEADER}\nfor i, (x, y) in enumerate(loader):\n    if (i + 1) % accum == 0:\n        optimizer.step()\n        optimizer.zero_grad()\n    loss = criterion(model(x), y) / accum\n    loss.backward()\n`;
  assert.deepEqual(ids(accum, 'TL018'), []);
  assert.deepEqual(ids(loop('with lock:\n    optimizer.step()\nloss = criterion(model(x), y)\nloss.backward()'), 'TL018'), []);
});

test('TL018: a block that is not a loop body is not reported', () => {
  const fn = `${HEADER}\ndef update(loss):\n    optimizer.step()\n    loss.backward()\n`;
  assert.deepEqual(ids(fn, 'TL018'), []);
  const top = `${HEADER}\noptimizer.step()\nloss = criterion(model(x), y)\nloss.backward()\n`;
  assert.deepEqual(ids(top, 'TL018'), []);
  const inIf = loop('if warmup:\n    optimizer.step()\n    loss = criterion(model(x), y)\n    loss.backward()');
  assert.deepEqual(ids(inIf, 'TL018'), []);
  const inElse = `${HEADER}\nfor x, y in loader:\n    pass\nelse:\n    optimizer.step()\n    loss.backward()\n`;
  assert.deepEqual(ids(inElse, 'TL018'), []);
});

test('TL018: scheduler.step() before backward is not an optimizer step', () => {
  assert.deepEqual(ids(loop('scheduler.step()\noptimizer.zero_grad()\nloss = criterion(model(x), y)\nloss.backward()\noptimizer.step()'), 'TL018'), []);
  assert.deepEqual(ids(loop('lr_scheduler.step()\noptimizer.zero_grad()\nloss = criterion(model(x), y)\nloss.backward()\noptimizer.step()'), 'TL018'), []);
});

test('TL018: a loop body with a step but no backward, or a step after backward, is not reported', () => {
  assert.deepEqual(ids(loop('optimizer.zero_grad()\noptimizer.step()\nloss = criterion(model(x), y)'), 'TL018'), []);
  assert.deepEqual(ids(loop('optimizer.step()\nwith torch.autocast("cuda"):\n    loss = criterion(model(x), y)\n    loss.backward()'), 'TL018'), []);
  assert.deepEqual(ids(loop('optimizer.zero_grad()\nloss = criterion(model(x), y)\nloss.backward()\noptimizer.step()\nloss2 = criterion(model(x), y)\nloss2.backward()\noptimizer.step()'), 'TL018'), []);
});
