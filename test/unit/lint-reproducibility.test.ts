import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

const TRAIN = `train_loader = DataLoader(train_ds, batch_size=32, shuffle=True)
model = nn.Linear(8, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(3):
    for x, y in train_loader:
        opt.zero_grad()
        F.mse_loss(model(x), y).backward()
        opt.step()
`;

const MAIN = `def train(model, loader, opt):
    for x, y in loader:
        opt.zero_grad()
        F.mse_loss(model(x), y).backward()
        opt.step()


def main():
    SEED
    loader = DataLoader(ds, batch_size=32, shuffle=True)
    model = nn.Linear(8, 1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    train(model, loader, opt)


if __name__ == "__main__":
    main()
`;

test('RP001: a module-level training script without a seed; one finding at the first loop; fix seeds after the imports', () => {
  const code = `${HEADER}\n${TRAIN}${TRAIN.replace('train_loader = ', 'train_loader2 = ')}`;
  const f = lint(code);
  assert.deepEqual(f.map((x) => x.rule), ['RP001']);
  assert.equal(f[0]!.range.start.line, 9); // the inner batch loop of the first script
  const fixed = fix(code, 'RP001');
  assert.match(fixed, /from torch\.utils\.data import DataLoader\n\ntorch\.manual_seed\(0\)\n/);
  assert.deepEqual(ids(fixed), []);
});

test('RP001: a __main__ script whose training loop lives in a function', () => {
  const code = `${HEADER}\n${MAIN.replace('    SEED\n', '')}`;
  assert.deepEqual(ids(code), ['RP001']);
  assert.deepEqual(ids(fix(code, 'RP001')), []);
  // full-batch training over range(...) counts as data built in the file
  const fullBatch = `${HEADER}\nX = torch.randn(100, 8)\ny = torch.randn(100, 1)\nmodel = nn.Linear(8, 1)\nopt = torch.optim.SGD(model.parameters(), lr=0.1)\nfor step in range(100):\n    opt.zero_grad()\n    F.mse_loss(model(X), y).backward()\n    opt.step()\n`;
  assert.deepEqual(ids(fullBatch), ['RP001']);
});

test('RP001: seeds anywhere count: in main() under the guard, numpy/random, Lightning, transformers, helpers', () => {
  for (const seed of ['torch.manual_seed(42)', 'np.random.seed(0)', 'random.seed(1)', 'pl.seed_everything(7)', 'set_seed(args.seed)', 'seed_everything(0, workers=True)', 'utils.fix_seeds(0)']) {
    assert.deepEqual(ids(`${HEADER}import numpy as np\nimport random\n\n${MAIN.replace('SEED', seed)}`), [], seed);
  }
  assert.deepEqual(ids(`${HEADER}\ntorch.manual_seed(0)\n${TRAIN}`), []);
});

test('RP001: negatives: libraries (no entry point), fragments that build no optimizer or data, no training loop', () => {
  // a trainer module: loops in functions, no __main__ guard
  assert.deepEqual(ids(`${HEADER}\n${MAIN.replace('    SEED\n', '').replace(/if __name__[\s\S]*$/, '')}`), []);
  // fragment: optimizer and loader come from elsewhere
  assert.deepEqual(ids(`${HEADER}\nfor x, y in loader:\n    optimizer.zero_grad()\n    criterion(model(x), y).backward()\n    optimizer.step()\n`), []);
  // the iterated loader is never built in the file
  assert.deepEqual(ids(`${HEADER}\nmodel = nn.Linear(8, 1)\nopt = torch.optim.SGD(model.parameters(), lr=0.1)\nfor x, y in loader:\n    opt.zero_grad()\n    F.mse_loss(model(x), y).backward()\n    opt.step()\n`), []);
  // evaluation only
  assert.deepEqual(ids(`${HEADER}\nmodel = nn.Linear(8, 1)\nmodel.eval()\nwith torch.no_grad():\n    for x, y in DataLoader(ds):\n        print(model(x))\n`), []);
});

test('RP002: cudnn.benchmark = True next to deterministic settings or in a seeding helper; fix sets False', () => {
  const code = `${HEADER}\ntorch.manual_seed(0)\ntorch.backends.cudnn.deterministic = True\ntorch.backends.cudnn.benchmark = True\n`;
  const f = lint(code);
  assert.deepEqual(f.map((x) => x.rule), ['RP002']);
  assert.match(f[0]!.message, /next to deterministic settings/);
  const fixed = fix(code, 'RP002');
  assert.match(fixed, /torch\.backends\.cudnn\.benchmark = False/);
  assert.deepEqual(ids(fixed), []);
  const helper = `import torch.backends.cudnn as cudnn\nimport random\n\ndef seed_everything(seed):\n    random.seed(seed)\n    cudnn.benchmark = True\n`;
  assert.deepEqual(ids(helper), ['RP002']);
  assert.match(lint(helper)[0]!.message, /in seed_everything\(\)/);
  assert.deepEqual(ids(`from torch.backends import cudnn\nimport torch\ntorch.use_deterministic_algorithms(True)\ncudnn.benchmark = True\n`), ['RP002']);
});

test('RP002: look-alikes: benchmark for speed in a seeded script, deterministic False, benchmark = False, other attributes', () => {
  assert.deepEqual(ids(`${HEADER}\ntorch.backends.cudnn.benchmark = True\n`), []);
  assert.deepEqual(ids(`${HEADER}\ntorch.manual_seed(0)\ntorch.backends.cudnn.benchmark = True\n`), []);
  assert.deepEqual(ids(`${HEADER}\ntorch.backends.cudnn.deterministic = False\ntorch.backends.cudnn.benchmark = True\n`), []);
  assert.deepEqual(ids(`${HEADER}\ndef set_seed(s):\n    torch.manual_seed(s)\n    torch.backends.cudnn.deterministic = True\n    torch.backends.cudnn.benchmark = False\n`), []);
  assert.deepEqual(ids(`${HEADER}\ndef set_seed(s):\n    torch.manual_seed(s)\n    config.benchmark = True\n`), []);
  assert.deepEqual(ids(`${HEADER}\ndef set_seed(s):\n    torch.manual_seed(s)\n    torch.backends.cudnn.benchmark = args.benchmark\n`), []);
});
