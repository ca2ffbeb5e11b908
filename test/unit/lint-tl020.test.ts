import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

const SETUP =
  'model = nn.Linear(10, 2)\noptimizer = torch.optim.SGD(model.parameters(), lr=0.1)\ncriterion = nn.CrossEntropyLoss()\naccum_steps = 4\n';
const indent = (body: string, by = '    ') => body.split('\n').map((l) => (l ? by + l : l)).join('\n');
/** A training loop `for i, (x, y) in enumerate(train_loader):` with `body`. */
const accum = (body: string, pre = '') => `${HEADER}${pre}\n${SETUP}for i, (x, y) in enumerate(train_loader):\n${indent(body)}\n`;

const BUGGY =
  'optimizer.zero_grad()\nloss = criterion(model(x), y) / accum_steps\nloss.backward()\nif (i + 1) % accum_steps == 0:\n    optimizer.step()';

test('TL020: zero_grad() every batch with step() every accum_steps is an error; the fix moves it after the step', () => {
  const code = accum(BUGGY);
  const f = lint(code);
  assert.deepEqual(f.map((x) => [x.rule, x.severity]), [['TL020', 'error']]);
  assert.equal(
    f[0]!.message,
    'optimizer.zero_grad() runs every batch but optimizer.step() only every few (if (i + 1) % accum_steps == 0): the accumulated gradients are erased, each step sees only the last batch. Move zero_grad() into that if, after step().',
  );
  assert.equal(f[0]!.range.start.line, code.split('\n').findIndex((l) => l.trim() === 'optimizer.zero_grad()'));
  const fixed = fix(code, 'TL020');
  assert.match(fixed, /\n {4}loss\.backward\(\)\n {4}if \(i \+ 1\) % accum_steps == 0:\n {8}optimizer\.step\(\)\n {8}optimizer\.zero_grad\(\)\n$/);
  assert.doesNotMatch(fixed, /enumerate\(train_loader\):\n {4}optimizer\.zero_grad/);
  assert.deepEqual(lint(fixed), []);
});

test('TL020: zero_grad(set_to_none=True) after the if, at the end of the body; `or` last batch in the condition', () => {
  const code = accum(
    'loss = criterion(model(x), y) / accum_steps\nloss.backward()\nif (i + 1) % accum_steps == 0 or i + 1 == len(train_loader):\n    optimizer.step()\noptimizer.zero_grad(set_to_none=True)',
  );
  const f = lint(code);
  assert.deepEqual(f.map((x) => x.rule), ['TL020']);
  assert.match(f[0]!.message, /\(if \(i \+ 1\) % accum_steps == 0 or i \+ 1 == len\(train_loader\)\)/);
  const fixed = fix(code, 'TL020');
  assert.match(fixed, /\n {8}optimizer\.step\(\)\n {8}optimizer\.zero_grad\(set_to_none=True\)\n$/);
  assert.deepEqual(lint(fixed), []);
});

test('TL020: a while loop stepping when step % 4 == 0', () => {
  const code = `${HEADER}\ntorch.manual_seed(0)\n${SETUP}data_iter = iter(train_loader)\nstep = 0\nwhile step < 1000:\n    x, y = next(data_iter)\n    optimizer.zero_grad()\n    loss = criterion(model(x), y) / 4\n    loss.backward()\n    step += 1\n    if step % 4 == 0:\n        optimizer.step()\n`;
  const f = lint(code);
  assert.deepEqual(f.map((x) => [x.rule, x.severity]), [['TL020', 'error']]);
  assert.match(f[0]!.message, /only every few \(if step % 4 == 0\)/);
  const fixed = fix(code, 'TL020');
  assert.match(fixed, /\n {4}if step % 4 == 0:\n {8}optimizer\.step\(\)\n {8}optimizer\.zero_grad\(\)\n$/);
  assert.deepEqual(lint(fixed), []);
});

test('TL020: AMP: scaler.step(optimizer) and scaler.update() under the if; backward() inside the autocast block', () => {
  const code = accum(
    'optimizer.zero_grad()\nwith torch.autocast("cuda"):\n    loss = criterion(model(x), y) / accum_steps\nscaler.scale(loss).backward()\nif (i + 1) % accum_steps == 0:\n    scaler.step(optimizer)\n    scaler.update()',
    '',
  ).replace('accum_steps = 4\n', 'accum_steps = 4\nscaler = torch.amp.GradScaler("cuda")\n');
  const f = lint(code);
  assert.deepEqual(f.map((x) => x.rule), ['TL020']);
  assert.match(f[0]!.message, /but scaler\.step\(optimizer\) only every few/);
  const fixed = fix(code, 'TL020');
  assert.match(fixed, /\n {8}scaler\.step\(optimizer\)\n {8}optimizer\.zero_grad\(\)\n {8}scaler\.update\(\)\n$/);
  assert.deepEqual(lint(fixed), []);
  // backward() inside the autocast block counts as every batch too
  const inWith = accum(
    'optimizer.zero_grad()\nwith torch.autocast("cuda"):\n    loss = criterion(model(x), y) / accum_steps\n    scaler.scale(loss).backward()\nif (i + 1) % accum_steps == 0:\n    scaler.step(optimizer)\n    scaler.update()',
  ).replace('accum_steps = 4\n', 'accum_steps = 4\nscaler = torch.amp.GradScaler("cuda")\n');
  assert.deepEqual(ids(inWith, 'TL020'), ['TL020']);
});

test('TL020: model.zero_grad() matches any optimizer; self.optimizer in a trainer with self.grad_accum', () => {
  const code = accum(BUGGY.replace('optimizer.zero_grad()', 'model.zero_grad()'));
  const f = lint(code);
  assert.deepEqual(f.map((x) => x.rule), ['TL020']);
  assert.match(f[0]!.message, /^model\.zero_grad\(\) runs every batch but optimizer\.step\(\)/);
  const fixed = fix(code, 'TL020');
  assert.match(fixed, /\n {8}optimizer\.step\(\)\n {8}model\.zero_grad\(\)\n$/);
  assert.deepEqual(lint(fixed), []);

  const trainer = `${HEADER}
class Trainer:
    def __init__(self, model, optimizer, grad_accum):
        self.model = model
        self.optimizer = optimizer
        self.grad_accum = grad_accum

    def train_epoch(self, train_loader):
        self.model.train()
        for batch_idx, (x, y) in enumerate(train_loader):
            self.optimizer.zero_grad()
            loss = F.cross_entropy(self.model(x), y) / self.grad_accum
            loss.backward()
            if (batch_idx + 1) % self.grad_accum == 0:
                self.optimizer.step()
`;
  assert.deepEqual(ids(trainer), ['TL020']);
  assert.deepEqual(lint(fix(trainer, 'TL020')), []);
});

test('TL020: when the if already resets after the step, the fix only deletes the every-batch zero_grad()', () => {
  const code = accum(`${BUGGY}\n    optimizer.zero_grad()`);
  assert.deepEqual(ids(code), ['TL020']);
  const fixed = fix(code, 'TL020');
  assert.equal((fixed.match(/zero_grad/g) ?? []).length, 1);
  assert.match(fixed, /\n {8}optimizer\.step\(\)\n {8}optimizer\.zero_grad\(\)\n$/);
  assert.deepEqual(lint(fixed), []);
});

test('TL020: correct accumulation, no accumulation, zero_grad under a modulo if at the top: not reported', () => {
  // zero_grad inside the if, after step
  assert.deepEqual(
    ids(accum('loss = criterion(model(x), y) / accum_steps\nloss.backward()\nif (i + 1) % accum_steps == 0:\n    optimizer.step()\n    optimizer.zero_grad()')),
    [],
  );
  // no accumulation: step and zero_grad both every batch
  assert.deepEqual(ids(accum('optimizer.zero_grad()\nloss = criterion(model(x), y)\nloss.backward()\noptimizer.step()')), []);
  // reset at the start of each window, step at its end: TL020 and TL001 (which pairs the two `% accum_steps` tests) are quiet
  assert.deepEqual(
    ids(
      accum(
        'if i % accum_steps == 0:\n    optimizer.zero_grad()\nloss = criterion(model(x), y) / accum_steps\nloss.backward()\nif (i + 1) % accum_steps == 0:\n    optimizer.step()',
      ),
    ),
    [],
  );
  // periodic logging under a modulo if does not make it accumulation
  assert.deepEqual(
    ids(accum('optimizer.zero_grad()\nloss = criterion(model(x), y)\nloss.backward()\noptimizer.step()\nif i % 100 == 0:\n    print(loss.item())')),
    [],
  );
});

test('TL020: a step under a condition that is not a modulo test is not accumulation', () => {
  assert.deepEqual(
    ids(accum('optimizer.zero_grad()\nloss = criterion(model(x), y)\nloss.backward()\nif not torch.isnan(loss):\n    optimizer.step()')),
    [],
  );
  // the step in the else of a modulo if
  assert.deepEqual(
    ids(
      accum(
        'optimizer.zero_grad()\nloss = criterion(model(x), y)\nloss.backward()\nif i % 100 == 0:\n    print(loss.item())\nelse:\n    optimizer.step()',
      ),
      'TL020',
    ),
    [],
  );
  // backward only under the if too: nothing accumulates
  assert.deepEqual(
    ids(accum('optimizer.zero_grad()\nloss = criterion(model(x), y)\nif (i + 1) % accum_steps == 0:\n    loss.backward()\n    optimizer.step()'), 'TL020'),
    [],
  );
});

test('TL020: GANs: zero_grad of another optimizer than the one stepped every N batches is not reported', () => {
  const code = `${HEADER}
generator = nn.Linear(16, 10)
discriminator = nn.Linear(10, 1)
opt_g = torch.optim.Adam(generator.parameters(), lr=2e-4)
opt_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4)
for i, (real, _) in enumerate(train_loader):
    opt_d.zero_grad()
    fake = generator(torch.randn(real.size(0), 16))
    d_loss = F.softplus(discriminator(fake.detach())).mean() + F.softplus(-discriminator(real)).mean()
    d_loss.backward()
    opt_d.step()
    g_loss = F.softplus(-discriminator(fake)).mean()
    g_loss.backward()
    if i % 5 == 0:
        opt_g.step()
        opt_g.zero_grad()
`;
  assert.deepEqual(ids(code, 'TL020'), []);
  // the same optimizer, stepped every N: reported
  assert.deepEqual(ids(code.replace('opt_g.step()\n        opt_g.zero_grad()', 'opt_d.step()').replace('    opt_d.step()\n    g_loss', '    g_loss'), 'TL020'), ['TL020']);
});

test('TL020: LBFGS closures are not reported', () => {
  const code = `${HEADER}\nmodel = nn.Linear(10, 2)\noptimizer = torch.optim.LBFGS(model.parameters())\nfor i, (x, y) in enumerate(train_loader):\n    def closure():\n        optimizer.zero_grad()\n        loss = F.cross_entropy(model(x), y)\n        loss.backward()\n        return loss\n    if i % 2 == 0:\n        optimizer.step(closure)\n`;
  assert.deepEqual(ids(code, 'TL020'), []);
});

test('TL001 pairs a window reset with the step only when both test the same % N', () => {
  const loop = (resetIf: string) =>
    `${HEADER}torch.manual_seed(0)\nmodel = nn.Linear(4, 2)\ncriterion = nn.CrossEntropyLoss()\noptimizer = torch.optim.SGD(model.parameters(), lr=0.1)\naccum_steps = 4\nmodel.train()\n` +
    `for i, (x, y) in enumerate(train_loader):\n    if ${resetIf}:\n        optimizer.zero_grad()\n    loss = criterion(model(x), y) / accum_steps\n    loss.backward()\n    if (i + 1) % accum_steps == 0:\n        optimizer.step()\n`;
  assert.deepEqual(ids(loop('i % accum_steps == 0'), 'TL001'), []);
  assert.deepEqual(ids(loop('i % 2 == 0'), 'TL001'), ['TL001']); // another window: gradients pile up across steps
  assert.deepEqual(ids(loop('i == 0'), 'TL001'), ['TL001']); // reset once, never again
});
