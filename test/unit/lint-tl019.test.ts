import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

const SETUP =
  'model = nn.Linear(10, 2)\noptimizer = torch.optim.SGD(model.parameters(), lr=0.1)\ncriterion = nn.CrossEntropyLoss()\n';
const FORWARD = 'optimizer.zero_grad()\nwith torch.autocast("cuda"):\n    loss = criterion(model(x), y)\n';
const indent = (body: string, by = '    ') => body.split('\n').map((l) => (l ? by + l : l)).join('\n');
/** A training loop over `train_loader` with `scaler` built by `scalerExpr` (none when empty). */
const amp = (body: string, scalerExpr = 'torch.amp.GradScaler("cuda")', pre = '') =>
  `${HEADER}${pre}\n${SETUP}${scalerExpr ? `scaler = ${scalerExpr}\n` : ''}for x, y in train_loader:\n${indent(body)}\n`;

test('TL019: optimizer.step() on scaled gradients (torch.amp.GradScaler("cuda")) is an error; the fix steps through the scaler and updates it', () => {
  const code = amp(`${FORWARD}scaler.scale(loss).backward()\noptimizer.step()`);
  const f = lint(code);
  assert.deepEqual(f.map((x) => [x.rule, x.severity]), [['TL019', 'error']]);
  assert.equal(
    f[0]!.message,
    'the loss is scaled by scaler (x65536) but optimizer.step() applies the scaled gradients: use scaler.step(optimizer) then scaler.update().',
  );
  assert.equal(f[0]!.range.start.line, code.split('\n').findIndex((l) => l.trim() === 'optimizer.step()'));
  const fixed = fix(code, 'TL019');
  assert.match(fixed, /\n {4}scaler\.scale\(loss\)\.backward\(\)\n {4}scaler\.step\(optimizer\)\n {4}scaler\.update\(\)\n$/);
  assert.deepEqual(lint(fixed), []);
});

test('TL019: torch.cuda.amp.GradScaler(), an imported GradScaler, init_scale in the message', () => {
  const body = `${FORWARD}scaler.scale(loss).backward()\noptimizer.step()`;
  assert.deepEqual(ids(amp(body, 'torch.cuda.amp.GradScaler()'), 'TL019'), ['TL019']);
  assert.deepEqual(ids(amp(body, 'GradScaler("cuda")', 'from torch.amp import GradScaler\n'), 'TL019'), ['TL019']);
  const f = lint(amp(body, 'torch.amp.GradScaler("cuda", init_scale=1024)'), { select: ['TL019'] });
  assert.match(f[0]!.message, /^the loss is scaled by scaler \(x1024\)/);
  // the scaled loss kept in a variable first
  assert.deepEqual(ids(amp(`${FORWARD}scaled = scaler.scale(loss)\nscaled.backward()\noptimizer.step()`)), ['TL019']);
  // a scaler built only when AMP is on
  assert.deepEqual(ids(amp(body, 'torch.amp.GradScaler("cuda") if use_amp else None'), 'TL019'), ['TL019']);
});

test('TL019: self.scaler in a trainer class (value unknown: the name says scaler); the fix uses self.scaler', () => {
  const code = `${HEADER}
class Trainer:
    def __init__(self, model, optimizer, scaler):
        self.model = model
        self.optimizer = optimizer
        self.scaler = scaler

    def train_epoch(self, train_loader):
        self.model.train()
        for x, y in train_loader:
            self.optimizer.zero_grad()
            with torch.autocast("cuda"):
                loss = F.cross_entropy(self.model(x), y)
            self.scaler.scale(loss).backward()
            self.optimizer.step()
`;
  const f = lint(code);
  assert.deepEqual(f.map((x) => x.rule), ['TL019']);
  assert.match(f[0]!.message, /scaled by self\.scaler .* but self\.optimizer\.step\(\) .*use self\.scaler\.step\(self\.optimizer\) then self\.scaler\.update\(\)\.$/);
  const fixed = fix(code, 'TL019');
  assert.match(fixed, /\n {12}self\.scaler\.step\(self\.optimizer\)\n {12}self\.scaler\.update\(\)\n$/);
  assert.deepEqual(lint(fixed), []);
  // a scaler passed as a parameter
  const param = `${HEADER}\ndef train(model, optimizer, grad_scaler, train_loader):\n    model.train()\n    for x, y in train_loader:\n        optimizer.zero_grad()\n        with torch.autocast("cuda"):\n            loss = F.cross_entropy(model(x), y)\n        grad_scaler.scale(loss).backward()\n        optimizer.step()\n`;
  assert.deepEqual(ids(param), ['TL019']);
});

test('TL019: the body already calls scaler.update(): the fix only replaces the step', () => {
  const code = amp(`${FORWARD}scaler.scale(loss).backward()\noptimizer.step()\nscaler.update()`);
  const f = lint(code);
  assert.deepEqual(f.map((x) => x.rule), ['TL019']);
  assert.match(f[0]!.message, /use scaler\.step\(optimizer\)\.$/);
  const fixed = fix(code, 'TL019');
  assert.match(fixed, /\n {4}scaler\.step\(optimizer\)\n {4}scaler\.update\(\)\n$/);
  assert.deepEqual(lint(fixed), []);
});

test('TL019: scaler.step(optimizer) without scaler.update() in the loop is a warning (a user setting still wins); the fix adds the update', () => {
  const code = amp(`${FORWARD}scaler.scale(loss).backward()\nscaler.step(optimizer)`);
  const f = lint(code);
  assert.deepEqual(f.map((x) => [x.rule, x.severity]), [['TL019', 'warning']]);
  assert.deepEqual(lint(code, { severity: { TL019: 'error' } }).map((x) => [x.rule, x.severity]), [['TL019', 'error']]);
  assert.equal(
    f[0]!.message,
    'scaler.step(optimizer) without scaler.update() in this loop: the scale never adapts, and after one overflow every later step is skipped. Call scaler.update() after it.',
  );
  const fixed = fix(code, 'TL019');
  assert.match(fixed, /\n {4}scaler\.step\(optimizer\)\n {4}scaler\.update\(\)\n$/);
  assert.deepEqual(lint(fixed), []);
  // inside an if (gradient accumulation): the update goes in the same block
  const accum = `${HEADER}\n${SETUP}scaler = torch.amp.GradScaler("cuda")\nfor i, (x, y) in enumerate(train_loader):\n    with torch.autocast("cuda"):\n        loss = criterion(model(x), y) / 4\n    scaler.scale(loss).backward()\n    if (i + 1) % 4 == 0:\n        scaler.step(optimizer)\n        optimizer.zero_grad()\n`;
  assert.deepEqual(ids(accum), ['TL019']);
  const fixedAccum = fix(accum, 'TL019');
  assert.match(fixedAccum, /\n {8}scaler\.step\(optimizer\)\n {8}scaler\.update\(\)\n {8}optimizer\.zero_grad\(\)\n$/);
  assert.deepEqual(lint(fixedAccum), []);
});

test('TL019: nested loops report once; an update only once per epoch leaves the batch loop without one', () => {
  const nested = `${HEADER}\n${SETUP}scaler = torch.amp.GradScaler("cuda")\nfor epoch in range(10):\n    for x, y in train_loader:\n${indent(`${FORWARD}scaler.scale(loss).backward()\noptimizer.step()`, '        ')}\n`;
  assert.deepEqual(ids(nested), ['TL019']);
  const perEpoch = `${HEADER}\n${SETUP}scaler = torch.amp.GradScaler("cuda")\nfor epoch in range(10):\n    for x, y in train_loader:\n${indent(`${FORWARD}scaler.scale(loss).backward()\nscaler.step(optimizer)`, '        ')}\n    scaler.update()\n`;
  const f = lint(perEpoch);
  assert.deepEqual(f.map((x) => x.rule), ['TL019']);
  assert.match(f[0]!.message, /^scaler\.step\(optimizer\) without scaler\.update\(\)/);
});

test('TL019: the correct AMP loop, and no scaler at all, are clean', () => {
  assert.deepEqual(lint(amp(`${FORWARD}scaler.scale(loss).backward()\nscaler.step(optimizer)\nscaler.update()`)), []);
  assert.deepEqual(lint(amp('optimizer.zero_grad()\nloss = criterion(model(x), y)\nloss.backward()\noptimizer.step()', '')), []);
  // several optimizers stepped through one scaler, one update
  const two = `${HEADER}\n${SETUP}head = nn.Linear(2, 2)\nhead_opt = torch.optim.SGD(head.parameters(), lr=0.1)\nscaler = torch.amp.GradScaler("cuda")\nfor x, y in train_loader:\n    optimizer.zero_grad()\n    head_opt.zero_grad()\n    with torch.autocast("cuda"):\n        loss = criterion(head(model(x)), y)\n    scaler.scale(loss).backward()\n    for opt in (optimizer, head_opt):\n        scaler.step(opt)\n    scaler.update()\n`;
  assert.deepEqual(ids(two, 'TL019'), []);
});

test('TL019: an sklearn StandardScaler named scaler is not a GradScaler', () => {
  const code = amp(
    'optimizer.zero_grad()\nloss = criterion(model(x), y)\nscaler.scale(loss).backward()\noptimizer.step()',
    'StandardScaler()',
    'from sklearn.preprocessing import StandardScaler\n',
  );
  assert.deepEqual(ids(code, 'TL019'), []);
});

test('TL019: scaler.update() inside an if counts; unscale_ + clip + scaler.step is correct; unscale_ then a direct step is left alone', () => {
  assert.deepEqual(lint(amp(`${FORWARD}scaler.scale(loss).backward()\nscaler.step(optimizer)\nif scaler.is_enabled():\n    scaler.update()`)), []);
  assert.deepEqual(
    lint(amp(`${FORWARD}scaler.scale(loss).backward()\nscaler.unscale_(optimizer)\nnn.utils.clip_grad_norm_(model.parameters(), 1.0)\nscaler.step(optimizer)\nscaler.update()`)),
    [],
  );
  assert.deepEqual(ids(amp(`${FORWARD}scaler.scale(loss).backward()\nscaler.unscale_(optimizer)\noptimizer.step()`), 'TL019'), []);
});

test('TL019: AMP and full-precision branches in one loop: the scaler steps in the body, the direct step is the fp32 path', () => {
  const code = amp(
    'optimizer.zero_grad()\nwith torch.autocast("cuda", enabled=use_amp):\n    loss = criterion(model(x), y)\nif use_amp:\n    scaler.scale(loss).backward()\n    scaler.step(optimizer)\n    scaler.update()\nelse:\n    loss.backward()\n    optimizer.step()',
  );
  assert.deepEqual(lint(code), []);
});

test('TL019: LBFGS step(closure) and a step outside the loop are not reported', () => {
  const lbfgs = `${HEADER}\nmodel = nn.Linear(10, 2)\noptimizer = torch.optim.LBFGS(model.parameters())\nscaler = torch.amp.GradScaler("cuda")\nfor x, y in train_loader:\n    def closure():\n        optimizer.zero_grad()\n        loss = F.cross_entropy(model(x), y)\n        scaler.scale(loss).backward()\n        return loss\n    scaler.scale(F.cross_entropy(model(x), y)).backward()\n    optimizer.step(closure)\n`;
  assert.deepEqual(ids(lbfgs, 'TL019'), []);
  const outside = `${HEADER}\n${SETUP}scaler = torch.amp.GradScaler("cuda")\noptimizer.zero_grad()\nfor x, y in train_loader:\n    with torch.autocast("cuda"):\n        loss = criterion(model(x), y)\n    scaler.scale(loss).backward()\noptimizer.step()\n`;
  assert.deepEqual(ids(outside, 'TL019'), []);
  const noLoop = `${HEADER}\n${SETUP}scaler = torch.amp.GradScaler("cuda")\noptimizer.zero_grad()\nwith torch.autocast("cuda"):\n    loss = criterion(model(x), y)\nscaler.scale(loss).backward()\noptimizer.step()\n`;
  assert.deepEqual(ids(noLoop, 'TL019'), []);
});
