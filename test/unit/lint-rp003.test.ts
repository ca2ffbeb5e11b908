import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyEdits } from '../../src/lint';
import { HEADER, dedent, fix, ids, lint, useParser } from './lint/helpers';

useParser();

const SETUP = `${HEADER}import random
import numpy as np

train_loader = DataLoader(train_ds, batch_size=32, shuffle=True)
model = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Dropout(0.5), nn.Linear(64, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
`;

const BATCHES = `    for x, y in train_loader:
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
`;

/** An epoch loop whose body starts with `top` (four spaces in) and then trains over the loader. */
const epochs = (top: string, pre = '') => `${SETUP}${pre}for epoch in range(10):\n${top.split('\n').map((l) => `    ${l}\n`).join('')}    model.train()\n${BATCHES}`;

/** Applies the first RP003 fix until none is left. */
function fixAll(code: string): string {
  for (let i = 0; i < 10; i++) {
    const f = lint(code, { select: ['RP003'] }).find((x) => x.fixes?.[0]);
    if (!f) return code;
    code = applyEdits(code, f.fixes![0]!.edits);
  }
  return code;
}

test('RP003: torch.manual_seed(42) at the top of each epoch is a warning on the call; the fix seeds once before the loop', () => {
  const code = epochs('torch.manual_seed(42)');
  const f = lint(code);
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}:${x.range.start.line}:${x.range.start.column}`), ['RP003:warning:11:4']);
  assert.equal(
    f[0]!.message,
    'torch.manual_seed(42) inside the training loop replays the same random numbers every epoch: the same dropout masks, augmentations and shuffle order. Seed once, before the loop.',
  );
  assert.equal(f[0]!.fixes?.[0]?.title, 'Move torch.manual_seed(42) before the loop');
  const fixed = fix(code, 'RP003');
  assert.equal(fixed, `${SETUP}torch.manual_seed(42)\nfor epoch in range(10):\n    model.train()\n${BATCHES}`);
  assert.deepEqual(ids(fixed), []);
});

test('RP003: a seed per batch is reported ("every batch"); the fix moves it out of both loops', () => {
  const code = `${SETUP}for epoch in range(10):\n    model.train()\n    for x, y in train_loader:\n        torch.manual_seed(0)\n        opt.zero_grad()\n        loss = F.mse_loss(model(x), y)\n        loss.backward()\n        opt.step()\n`;
  const f = lint(code);
  assert.deepEqual(f.map((x) => `${x.rule}:${x.range.start.line}`), ['RP003:13']);
  assert.match(f[0]!.message, /^torch\.manual_seed\(0\) inside the training loop replays the same random numbers every batch: /);
  const fixed = fix(code, 'RP003');
  assert.equal(fixed, `${SETUP}torch.manual_seed(0)\nfor epoch in range(10):\n    model.train()\n${BATCHES}`);
  assert.deepEqual(ids(fixed), []);
  // a seed that follows the epoch but not the batch still repeats every batch of an epoch
  const perEpochInBatch = code.replace('torch.manual_seed(0)', 'torch.manual_seed(1000 + epoch)');
  assert.deepEqual(ids(perEpochInBatch), ['RP003']);
  assert.equal(fix(perEpochInBatch, 'RP003'), `${SETUP}for epoch in range(10):\n    model.train()\n    torch.manual_seed(1000 + epoch)\n${BATCHES}`);
});

test('RP003: np.random.seed(0) and random.seed(0) in the epoch loop: one finding per call, both fixed', () => {
  const code = epochs('np.random.seed(0)\nrandom.seed(0)');
  const f = lint(code);
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}:${x.range.start.line}`), ['RP003:warning:11', 'RP003:warning:12']);
  assert.match(f[0]!.message, /^np\.random\.seed\(0\) inside/);
  assert.match(f[1]!.message, /^random\.seed\(0\) inside/);
  const fixed = fixAll(code);
  assert.equal(fixed, `${SETUP}np.random.seed(0)\nrandom.seed(0)\nfor epoch in range(10):\n    model.train()\n${BATCHES}`);
  assert.deepEqual(ids(fixed), []);
});

test('RP003: a constant name bound before the loop, helpers, Lightning, a while loop and a torch.Generator are reported', () => {
  const named = epochs('torch.manual_seed(seed)', 'seed = 42\n');
  assert.deepEqual(ids(named), ['RP003']);
  assert.equal(fix(named, 'RP003'), `${SETUP}seed = 42\ntorch.manual_seed(seed)\nfor epoch in range(10):\n    model.train()\n${BATCHES}`);
  assert.deepEqual(ids(fix(named, 'RP003')), []);
  for (const call of ['set_seed(args.seed)', 'pl.seed_everything(7)', 'torch.cuda.manual_seed_all(seed)', 'utils.fix_seeds(0)']) {
    assert.deepEqual(ids(epochs(call, 'import utils\nimport lightning as pl\nseed = 1\n'), 'RP003'), ['RP003'], call);
  }
  const whileLoop = `${SETUP}step = 0\nwhile step < 1000:\n    torch.manual_seed(0)\n    x, y = next(batches)\n    opt.zero_grad()\n    F.mse_loss(model(x), y).backward()\n    opt.step()\n    step += 1\n`;
  assert.deepEqual(ids(whileLoop, 'RP003'), ['RP003']);
  const generator = `${HEADER}g = torch.Generator()\nloader = DataLoader(ds, batch_size=32, shuffle=True, generator=g)\nfor epoch in range(10):\n    g.manual_seed(0)\n    for x, y in loader:\n        opt.zero_grad()\n        F.mse_loss(model(x), y).backward()\n        opt.step()\n`;
  assert.deepEqual(ids(generator, 'RP003'), ['RP003']);
});

test('RP003: reported without a fix when the call shares its line or runs under a condition', () => {
  const shared = lint(epochs('torch.manual_seed(0); print(epoch)'), { select: ['RP003'] });
  assert.deepEqual(shared.map((x) => x.rule), ['RP003']);
  assert.equal(shared[0]!.fixes, undefined);
  const guarded = lint(epochs('if args.reseed:\n    torch.manual_seed(0)'), { select: ['RP003'] });
  assert.deepEqual(guarded.map((x) => x.rule), ['RP003']);
  assert.equal(guarded[0]!.fixes, undefined);
});

test('RP003: not reported: a seed before the loop, a loop over seeds, a seed derived from the epoch or step', () => {
  assert.deepEqual(ids(`${SETUP}torch.manual_seed(42)\nfor epoch in range(10):\n    model.train()\n${BATCHES}`), []);
  const seeds = HEADER + dedent(`
    for seed in [0, 1, 2]:
        torch.manual_seed(seed)
        model = Net()
        train(model, loader)
    `);
  assert.deepEqual(ids(seeds, 'RP003'), []);
  // the same loop over seeds with the training inline
  const seedsInline = `${HEADER}for seed in [0, 1, 2]:\n    torch.manual_seed(seed)\n    for x, y in loader:\n        opt.zero_grad()\n        F.mse_loss(model(x), y).backward()\n        opt.step()\n`;
  assert.deepEqual(ids(seedsInline, 'RP003'), []);
  assert.deepEqual(ids(seedsInline.replace('manual_seed(seed)', 'manual_seed(0)'), 'RP003'), ['RP003']); // control
  assert.deepEqual(ids(epochs('torch.manual_seed(seed + epoch)', 'seed = 42\n'), 'RP003'), []);
  const steps = `${SETUP}base_seed = 3\nfor step in range(1000):\n    torch.manual_seed(base_seed * 1000 + step)\n    x, y = next(batches)\n    opt.zero_grad()\n    F.mse_loss(model(x), y).backward()\n    opt.step()\n`;
  assert.deepEqual(ids(steps, 'RP003'), []);
  assert.deepEqual(ids(steps.replace('base_seed * 1000 + step', 'base_seed * 1000'), 'RP003'), ['RP003']); // control
  // a seed assigned in the loop, a random reseed, a seed drawn each time
  assert.deepEqual(ids(epochs('s = seeds[epoch]\ntorch.manual_seed(s)'), 'RP003'), []);
  assert.deepEqual(ids(epochs('random.seed()\nnp.random.seed(None)'), 'RP003'), []);
  assert.deepEqual(ids(epochs('torch.manual_seed(random.randint(0, 10**6))'), 'RP003'), []);
  // once, on the first epoch only
  assert.deepEqual(ids(epochs('if epoch == 0:\n    torch.manual_seed(0)'), 'RP003'), []);
});

test('RP003: not reported: loops that do not train (data generation, evaluation)', () => {
  const generate = `${HEADER}import numpy as np\nsamples = []\nfor i in range(100):\n    np.random.seed(0)\n    samples.append(np.random.randn(8))\n`;
  assert.deepEqual(ids(generate, 'RP003'), []);
  const evaluate = `${HEADER}model.eval()\nwith torch.no_grad():\n    for x, y in val_loader:\n        torch.manual_seed(0)\n        print(F.mse_loss(model(x), y).item())\n`;
  assert.deepEqual(ids(evaluate, 'RP003'), []);
  assert.deepEqual(ids(evaluate.replace('print(F.mse_loss(model(x), y).item())', 'F.mse_loss(model(x), y).backward()'), 'RP003'), ['RP003']); // control
  // not a global RNG: a gym environment's seed
  assert.deepEqual(ids(epochs('env.seed(0)'), 'RP003'), []);
});

test('RP003: not reported: a seeding call inside a function defined in the loop', () => {
  const code = epochs('def init_worker(worker_id):\n    np.random.seed(0)\nloader = DataLoader(train_ds, batch_size=32, shuffle=True, worker_init_fn=init_worker)');
  assert.deepEqual(ids(code, 'RP003'), []);
  assert.deepEqual(ids(code.replace('def init_worker(worker_id):\n        np.random.seed(0)', 'np.random.seed(0)\n    def init_worker(worker_id):\n        pass'), 'RP003'), ['RP003']); // control
});

test('RP003: not reported: each iteration builds a new model and optimizer (repeated runs, hyper-parameter search)', () => {
  const trials = HEADER + dedent(`
    for trial in range(5):
        torch.manual_seed(42)
        model = Net()
        opt = torch.optim.Adam(model.parameters(), lr=lrs[trial])
        for epoch in range(10):
            for x, y in loader:
                opt.zero_grad()
                F.mse_loss(model(x), y).backward()
                opt.step()
    `);
  assert.deepEqual(ids(trials, 'RP003'), []);
  assert.deepEqual(ids(trials.replace(/ {4}(model|opt) = .*\n/g, ''), 'RP003'), ['RP003']); // control: the same model every trial
  // a library model, moved to the device; a factory
  assert.deepEqual(ids(trials.replace('model = Net()', 'model = nn.Linear(8, 1).to(device)'), 'RP003'), []);
  assert.deepEqual(ids(trials.replace('model = Net()', 'model = build_model(cfg)').replace(/ {4}opt = .*\n/, ''), 'RP003'), []);
  // but a per-epoch reset inside such a run is still the bug
  const inner = trials.replace('        torch.manual_seed(42)\n', '').replace('    for epoch in range(10):\n', '    for epoch in range(10):\n        torch.manual_seed(42)\n');
  assert.deepEqual(ids(inner, 'RP003'), ['RP003']);
});
