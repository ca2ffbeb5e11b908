import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

const DS = 'from torch.utils.data.distributed import DistributedSampler\n';
const SETUP = 'model = nn.Linear(10, 2)\noptimizer = torch.optim.SGD(model.parameters(), lr=0.1)\ncriterion = nn.CrossEntropyLoss()\n';
const STEP = 'optimizer.zero_grad()\nloss = criterion(model(x), y)\nloss.backward()\noptimizer.step()';
const indent = (body: string, by = '    ') => body.split('\n').map((l) => (l ? by + l : l)).join('\n');
/** Builds a sampler and a loader with `build`, then trains for 10 epochs with `loop` as the epoch loop body. */
const ddp = (build: string, loop = `for x, y in train_loader:\n${indent(STEP)}`, head = `${HEADER}${DS}`) =>
  `${head}${SETUP}${build}\nfor epoch in range(10):\n${indent(loop)}\n`;

const BASIC = 'train_sampler = DistributedSampler(train_ds)\ntrain_loader = DataLoader(train_ds, batch_size=64, sampler=train_sampler, num_workers=4)';

test('DT012: a DistributedSampler never given set_epoch, its loader iterated in an epoch loop; the fix calls set_epoch(epoch) first', () => {
  const code = ddp(BASIC);
  const f = lint(code, { select: ['DT012'] });
  assert.deepEqual(f.map((x) => [x.rule, x.severity]), [['DT012', 'warning']]);
  assert.equal(
    f[0]!.message,
    'train_sampler is a DistributedSampler but set_epoch() is never called: it reshuffles with the same seed, so every epoch sees the same order. Call train_sampler.set_epoch(epoch) at the start of each epoch.',
  );
  assert.equal(f[0]!.range.start.line, code.split('\n').findIndex((l) => l.startsWith('train_sampler =')));
  const fixed = fix(code, 'DT012');
  assert.match(fixed, /\nfor epoch in range\(10\):\n {4}train_sampler\.set_epoch\(epoch\)\n {4}for x, y in train_loader:\n/);
  assert.deepEqual(ids(fixed, 'DT012'), []);
});

test('DT012: import spellings: torch.utils.data.distributed.X, from torch.utils.data import X, an alias, a module alias', () => {
  const loop = `for i, (x, y) in enumerate(tqdm(train_loader)):\n${indent(STEP)}`;
  for (const [head, ctor] of [
    [HEADER, 'torch.utils.data.distributed.DistributedSampler'],
    [`${HEADER}from torch.utils.data import DistributedSampler\n`, 'DistributedSampler'],
    [`${HEADER}from torch.utils.data.distributed import DistributedSampler as DS\n`, 'DS'],
    [`${HEADER}import torch.utils.data.distributed as tud\n`, 'tud.DistributedSampler'],
    [`${HEADER}from torch.utils import data\n`, 'data.DistributedSampler'],
  ]) {
    const code = ddp(`sampler = ${ctor}(train_ds, num_replicas=world_size, rank=rank)\ntrain_loader = DataLoader(train_ds, batch_size=64, sampler=sampler)`, loop, `${head}from tqdm import tqdm\n`);
    assert.deepEqual(ids(code, 'DT012'), ['DT012'], ctor);
    assert.match(fix(code, 'DT012'), /\n {4}sampler\.set_epoch\(epoch\)\n {4}for i, \(x, y\) in enumerate/);
  }
});

test('DT012: explicit shuffle=True (keyword or positional), epoch loops over tqdm(range(...)) or trange', () => {
  for (const build of [
    'sampler = DistributedSampler(train_ds, shuffle=True, seed=42)',
    'sampler = DistributedSampler(train_ds, world_size, rank, True)',
  ]) {
    const code = `${HEADER}${DS}from tqdm import tqdm, trange\n${SETUP}${build}\ntrain_loader = DataLoader(train_ds, batch_size=32, sampler=sampler)\nfor ep in tqdm(range(num_epochs)):\n    for x, y in train_loader:\n${indent(STEP, '        ')}\n`;
    assert.deepEqual(ids(code, 'DT012'), ['DT012'], build);
    assert.match(fix(code, 'DT012'), /\n {4}sampler\.set_epoch\(ep\)\n {4}for x, y in train_loader/);
  }
});

test('DT012: a sampler built inline in the DataLoader: the fix calls train_loader.sampler.set_epoch(epoch)', () => {
  const code = ddp('train_loader = DataLoader(train_ds, batch_size=64, sampler=DistributedSampler(train_ds))');
  const f = lint(code, { select: ['DT012'] });
  assert.deepEqual(f.map((x) => x.rule), ['DT012']);
  assert.match(f[0]!.message, /^train_loader\.sampler is a DistributedSampler/);
  const fixed = fix(code, 'DT012');
  assert.match(fixed, /\n {4}train_loader\.sampler\.set_epoch\(epoch\)\n/);
  assert.deepEqual(ids(fixed, 'DT012'), []);
});

test('DT012: inside main(), the loader iterated by a train_one_epoch(model, loader, ...) helper called in the epoch loop', () => {
  const code = `${HEADER}${DS}
def train_one_epoch(model, loader, optimizer, criterion):
    model.train()
    for x, y in loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()


def main():
    ${SETUP.trim().split('\n').join('\n    ')}
    dataset = load_dataset("train")
    sampler = DistributedSampler(dataset)
    loader = DataLoader(dataset, batch_size=64, sampler=sampler, pin_memory=True)
    for epoch in range(args.epochs):
        train_one_epoch(model, loader, optimizer, criterion)
        if rank == 0:
            torch.save(model.state_dict(), "ckpt.pt")
`;
  assert.deepEqual(ids(code, 'DT012'), ['DT012']);
  const fixed = fix(code, 'DT012');
  assert.match(fixed, /\n {8}sampler\.set_epoch\(epoch\)\n {8}train_one_epoch\(model, loader, optimizer, criterion\)\n/);
  assert.deepEqual(ids(fixed, 'DT012'), []);
});

test('DT012: a class-based trainer with self.sampler and self.train_loader', () => {
  const code = `${HEADER}${DS}
class Trainer:
    def __init__(self, model, train_ds):
        self.model = model
        self.sampler = DistributedSampler(train_ds)
        self.train_loader = DataLoader(train_ds, batch_size=64, sampler=self.sampler)

    def fit(self, epochs):
        for epoch in range(epochs):
            for x, y in self.train_loader:
                self.step(x, y)
`;
  assert.deepEqual(ids(code, 'DT012'), ['DT012']);
  const fixed = fix(code, 'DT012');
  assert.match(fixed, /\n {12}self\.sampler\.set_epoch\(epoch\)\n {12}for x, y in self\.train_loader:/);
  assert.deepEqual(ids(fixed, 'DT012'), []);
});

test('DT012: reported without a fix: a while loop, `... if distributed else None`, an if/else that binds None, `for _ in`', () => {
  const whileLoop = `${HEADER}${DS}${SETUP}${BASIC}\nstep = 0\nwhile step < max_steps:\n    for x, y in train_loader:\n${indent(STEP, '        ')}\n        step += 1\n`;
  const cond = ddp('train_sampler = DistributedSampler(train_ds) if distributed else None\ntrain_loader = DataLoader(train_ds, batch_size=64, sampler=train_sampler, shuffle=train_sampler is None)');
  const ifElse = ddp('if args.distributed:\n    train_sampler = DistributedSampler(train_ds)\nelse:\n    train_sampler = None\ntrain_loader = DataLoader(train_ds, batch_size=64, shuffle=(train_sampler is None), sampler=train_sampler)');
  const underscore = `${HEADER}${DS}${SETUP}${BASIC}\nfor _ in range(10):\n    for x, y in train_loader:\n${indent(STEP, '        ')}\n`;
  for (const code of [whileLoop, cond, ifElse, underscore]) {
    const f = lint(code, { select: ['DT012'] });
    assert.deepEqual(f.map((x) => x.rule), ['DT012'], code);
    assert.equal(f[0]!.fixes, undefined);
  }
});

test('DT012: set_epoch on another sampler (the validation one) does not count for the training sampler', () => {
  const code = ddp(
    `${BASIC}\nval_sampler = DistributedSampler(val_ds)\nval_loader = DataLoader(val_ds, batch_size=64, sampler=val_sampler)`,
    `val_sampler.set_epoch(epoch)\nfor x, y in train_loader:\n${indent(STEP)}`,
  );
  const f = lint(code, { select: ['DT012'] });
  assert.deepEqual(f.map((x) => x.rule), ['DT012']);
  assert.match(f[0]!.message, /^train_sampler is/);
});

test('DT012: silent when set_epoch reaches the sampler in any spelling', () => {
  for (const loop of [
    `train_sampler.set_epoch(epoch)\nfor x, y in train_loader:\n${indent(STEP)}`,
    `train_loader.sampler.set_epoch(epoch)\nfor x, y in train_loader:\n${indent(STEP)}`,
    `if args.distributed:\n    train_sampler.set_epoch(epoch)\nfor x, y in train_loader:\n${indent(STEP)}`,
    `s = train_sampler\ns.set_epoch(epoch)\nfor x, y in train_loader:\n${indent(STEP)}`,
    `for s in samplers:\n    s.set_epoch(epoch)\nfor x, y in train_loader:\n${indent(STEP)}`,
    `set_epoch(train_loader, epoch)\nfor x, y in train_loader:\n${indent(STEP)}`,
    `getattr(train_sampler, "set_epoch")(epoch)\nfor x, y in train_loader:\n${indent(STEP)}`,
    `for x, y in train_loader:\n${indent(STEP)}\ntrain_sampler.set_epoch(epoch + 1)`,
  ]) {
    assert.deepEqual(ids(ddp(BASIC, loop), 'DT012'), [], loop);
  }
  // in a helper that receives the loader
  const helper = `${HEADER}${DS}
def train_one_epoch(model, loader, epoch):
    loader.sampler.set_epoch(epoch)
    for x, y in loader:
        model(x)


sampler = DistributedSampler(train_ds)
loader = DataLoader(train_ds, batch_size=64, sampler=sampler)
for epoch in range(10):
    train_one_epoch(model, loader, epoch)
`;
  assert.deepEqual(ids(helper, 'DT012'), []);
});

test('DT012: silent for shuffle=False or an unknown shuffle, validation / test samplers, and no epoch loop', () => {
  for (const build of [
    'train_sampler = DistributedSampler(train_ds, shuffle=False)',
    'train_sampler = DistributedSampler(train_ds, shuffle=args.shuffle)',
    'train_sampler = DistributedSampler(train_ds, world_size, rank, False)',
    'train_sampler = DistributedSampler(train_ds, **sampler_kwargs)',
    'train_sampler = DistributedSampler(val_ds)',
    'val_sampler = DistributedSampler(ds)\ntrain_sampler = val_sampler',
  ]) {
    const code = ddp(`${build}\ntrain_loader = DataLoader(train_ds, batch_size=64, sampler=train_sampler)`);
    assert.deepEqual(ids(code, 'DT012'), [], build);
  }
  // a validation loader with the default (shuffling) sampler, in the epoch loop
  const val = ddp(
    'train_sampler = DistributedSampler(train_ds)\ntrain_loader = DataLoader(train_ds, batch_size=64, sampler=train_sampler)\n' +
      'eval_sampler = DistributedSampler(eval_ds)\ntest_loader = DataLoader(eval_ds, batch_size=64, sampler=eval_sampler)',
    `train_sampler.set_epoch(epoch)\nfor x, y in train_loader:\n${indent(STEP)}\nfor x, y in test_loader:\n    model(x)`,
  );
  assert.deepEqual(ids(val, 'DT012'), []);
  // one pass only (inference, feature extraction)
  assert.deepEqual(ids(`${HEADER}${DS}${SETUP}${BASIC}\nfor x, y in train_loader:\n${indent(STEP)}\n`, 'DT012'), []);
  // the outer loop is over hyperparameters, not epochs
  assert.deepEqual(ids(`${HEADER}${DS}${SETUP}${BASIC}\nfor lr in [0.1, 0.01]:\n    for x, y in train_loader:\n${indent(STEP, '        ')}\n`, 'DT012'), []);
});

test('DT012: silent for a sampler rebuilt every epoch, a loader handed to accelerate, a file-defined DistributedSampler', () => {
  const rebuilt = `${HEADER}${DS}${SETUP}for epoch in range(10):\n    sampler = DistributedSampler(train_ds)\n    loader = DataLoader(train_ds, batch_size=64, sampler=sampler)\n    for x, y in loader:\n${indent(STEP, '        ')}\n`;
  assert.deepEqual(ids(rebuilt, 'DT012'), []);
  const prepared = ddp(`${BASIC}\nmodel, optimizer, train_loader = accelerator.prepare(model, optimizer, train_loader)`);
  assert.deepEqual(ids(prepared, 'DT012'), []);
  const prepared2 = ddp(`${BASIC}\ntrain_loader = accelerator.prepare(train_loader)`);
  assert.deepEqual(ids(prepared2, 'DT012'), []);
  const own = `${HEADER}${SETUP}\nclass DistributedSampler(torch.utils.data.Sampler):\n    pass\n\n\n${BASIC}\nfor epoch in range(10):\n    for x, y in train_loader:\n${indent(STEP, '        ')}\n`;
  assert.deepEqual(ids(own, 'DT012'), []);
  // a loader name that is only the same text, bound elsewhere
  const other = ddp(`${BASIC}\ntrain_loader = DataLoader(train_ds, batch_size=64, shuffle=True)`);
  assert.deepEqual(ids(other, 'DT012'), []);
});
