// Learning-rate schedulers in Hugging Face-style fine-tuning loops: HF schedule factories recognised as schedulers
// (TL005, TL013, HP003), TL005 inside the accumulation `if`, HP003 for `num_training_steps=epochs` stepped per batch
// and for a per-batch schedule stepped per epoch, TL013 for an optimizer built in a function run every epoch.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, useParser } from './lint/helpers';

useParser();

const HF = `${HEADER}from transformers import get_linear_schedule_with_warmup, get_scheduler
model = nn.Linear(10, 2)
optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
criterion = nn.CrossEntropyLoss()
train_dataloader = DataLoader(ds, batch_size=8, shuffle=True)
epochs = 4
`;

// ---- TL005 ----

const tl005 = (build: string, body: string) => `${HF}scheduler = ${build}
for epoch in range(epochs):
    for step, (x, y) in enumerate(train_dataloader):
${body}
`;

test('TL005: a Hugging Face warm-up schedule stepped before optimizer.step()', () => {
  const body = '        optimizer.zero_grad()\n        criterion(model(x), y).backward()\n        scheduler.step()\n        optimizer.step()';
  assert.deepEqual(ids(tl005('get_linear_schedule_with_warmup(optimizer, num_warmup_steps=10, num_training_steps=100)', body), 'TL005'), ['TL005']);
  assert.deepEqual(ids(tl005('get_scheduler("cosine", optimizer=optimizer, num_warmup_steps=10, num_training_steps=100)', body), 'TL005'), ['TL005']);
  const code = tl005('get_linear_schedule_with_warmup(optimizer, 10, 100)', body).replace(
    'from transformers import get_linear_schedule_with_warmup, get_scheduler',
    'from transformers.optimization import get_linear_schedule_with_warmup',
  );
  assert.deepEqual(ids(code, 'TL005'), ['TL005']);
});

test('TL005: the HF schedule stepped after optimizer.step(), or an unknown factory, stays silent', () => {
  const body = '        optimizer.zero_grad()\n        criterion(model(x), y).backward()\n        optimizer.step()\n        scheduler.step()';
  assert.deepEqual(ids(tl005('get_linear_schedule_with_warmup(optimizer, 10, 100)', body), 'TL005'), []);
  const before = '        optimizer.zero_grad()\n        criterion(model(x), y).backward()\n        scheduler.step()\n        optimizer.step()';
  assert.deepEqual(ids(tl005('make_schedule(optimizer)', before), 'TL005'), []);
});

test('TL005: scheduler.step() before optimizer.step() inside the accumulation if', () => {
  const body = [
    '        loss = criterion(model(x), y) / 2',
    '        loss.backward()',
    '        if (step + 1) % 2 == 0:',
    '            scheduler.step()',
    '            optimizer.step()',
    '            optimizer.zero_grad()',
  ].join('\n');
  const code = tl005('torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, s / 100))', body);
  assert.deepEqual(ids(code, 'TL005'), ['TL005']);
  const fixed = fix(code, 'TL005');
  assert.match(fixed, /optimizer\.step\(\)\n {12}optimizer\.zero_grad\(\)\n {12}scheduler\.step\(\)/);
  assert.deepEqual(ids(fixed, 'TL005'), []);
});

test('TL005: the right order inside the accumulation if, and a guard around a whole epoch, stay silent', () => {
  const body = [
    '        criterion(model(x), y).backward()',
    '        if (step + 1) % 2 == 0:',
    '            optimizer.step()',
    '            scheduler.step()',
    '            optimizer.zero_grad()',
  ].join('\n');
  assert.deepEqual(ids(tl005('get_linear_schedule_with_warmup(optimizer, 10, 100)', body), 'TL005'), []);
  const guarded = `${HF}scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 10)
for epoch in range(epochs):
    if epoch > 0:
        scheduler.step()
        for x, y in train_dataloader:
            optimizer.zero_grad()
            criterion(model(x), y).backward()
            optimizer.step()
`;
  assert.deepEqual(ids(guarded, 'TL005'), []);
});

// ---- TL013 ----

test('TL013: a Hugging Face warm-up schedule rebuilt every epoch', () => {
  const code = `${HF}for epoch in range(epochs):
    scheduler = get_linear_schedule_with_warmup(optimizer, 100, 1000)
    for x, y in train_dataloader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
        scheduler.step()
`;
  assert.deepEqual(ids(code, 'TL013'), ['TL013']);
  // A new optimizer with it (a fresh run per fold) stays silent.
  const fold = code.replace('for epoch in range(epochs):\n', 'for epoch in range(epochs):\n    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n');
  assert.deepEqual(ids(fold, 'TL013'), []);
  // A schedule per task (not per epoch) stays silent.
  const perTask = code.replace('for epoch in range(epochs):', 'for task_loader in task_loaders:');
  assert.deepEqual(ids(perTask, 'TL013'), []);
});

const EPOCH_FN = (build: string, loop: string) => `${HF}
def train_epoch(epoch):
    model.train()
    ${build}
    for x, y in train_dataloader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()

${loop}
`;

test('TL013: an optimizer built in a function that runs every epoch', () => {
  const code = EPOCH_FN('optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5 * (0.9 ** epoch))', 'for epoch in range(4):\n    train_epoch(epoch)');
  assert.deepEqual(ids(code, 'TL013'), ['TL013']);
  const withModelParam = `${HF}
def train_epoch(net, loader):
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for x, y in loader:
        opt.zero_grad()
        criterion(net(x), y).backward()
        opt.step()

for epoch in range(10):
    train_epoch(model, train_dataloader)
`;
  assert.deepEqual(ids(withModelParam, 'TL013'), ['TL013']);
});

test('TL013: a function called once, per fold with a new model, or without momentum stays silent', () => {
  const opt = 'optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)';
  assert.deepEqual(ids(EPOCH_FN(opt, 'train_epoch(0)'), 'TL013'), []);
  assert.deepEqual(ids(EPOCH_FN(opt, 'for fold in range(5):\n    train_epoch(fold)'), 'TL013'), []);
  assert.deepEqual(ids(EPOCH_FN(opt, 'for epoch in range(4):\n    model = nn.Linear(10, 2)\n    train_epoch(epoch)'), 'TL013'), []);
  assert.deepEqual(ids(EPOCH_FN('optimizer = torch.optim.SGD(model.parameters(), lr=0.1)', 'for epoch in range(4):\n    train_epoch(epoch)'), 'TL013'), []);
  const perRun = `${HF}
def run(seed):
    net = nn.Linear(10, 2)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for x, y in train_dataloader:
        opt.zero_grad()
        criterion(net(x), y).backward()
        opt.step()

for epoch in range(3):
    run(epoch)
`;
  assert.deepEqual(ids(perRun, 'TL013'), []);
});

// ---- HP003 ----

const hp003 = (total: string, stepAt: 'batch' | 'epoch') => `${HF}scheduler = get_linear_schedule_with_warmup(optimizer, num_warmup_steps=0, num_training_steps=${total})
for epoch in range(epochs):
    for step, (x, y) in enumerate(train_dataloader):
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()${stepAt === 'batch' ? '\n        scheduler.step()' : '\n    scheduler.step()'}
`;

test('HP003: num_training_steps=epochs on a Hugging Face schedule stepped every batch', () => {
  assert.deepEqual(ids(hp003('epochs', 'batch'), 'HP003'), ['HP003']);
  assert.deepEqual(ids(hp003('args.num_train_epochs', 'batch'), 'HP003'), ['HP003']);
  const fixed = fix(hp003('epochs', 'batch'), 'HP003');
  assert.match(fixed, /num_training_steps=epochs \* len\(train_dataloader\)\)/);
  assert.deepEqual(ids(fixed, 'HP003'), []);
});

test('HP003: num_training_steps counted in batches and stepped every batch stays silent', () => {
  assert.deepEqual(ids(hp003('epochs * len(train_dataloader)', 'batch'), 'HP003'), []);
  assert.deepEqual(ids(hp003('100', 'batch'), 'HP003'), []);
  assert.deepEqual(ids(hp003('total_steps', 'batch').replace('scheduler =', 'total_steps = 1000\nscheduler ='), 'HP003'), []);
});

test('HP006 (not HP003): a schedule counted in batches but stepped once per epoch', () => {
  assert.deepEqual(ids(hp003('epochs * len(train_dataloader)', 'epoch'), 'HP00'), ['HP006']);
  const total = hp003('total_steps', 'epoch').replace('scheduler =', 'total_steps = len(train_dataloader) * epochs\nscheduler =');
  assert.deepEqual(ids(total, 'HP00'), ['HP006']);
  const onecycle = `${HF}scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, epochs=epochs, steps_per_epoch=len(train_dataloader))
for epoch in range(epochs):
    for x, y in train_dataloader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
    scheduler.step()
`;
  assert.deepEqual(ids(onecycle, 'HP00'), ['HP006']);
});

test('HP003: an epoch-sized schedule stepped once per epoch, or another loader, stays silent', () => {
  assert.deepEqual(ids(hp003('epochs', 'epoch'), 'HP003'), []);
  assert.deepEqual(ids(hp003('epochs * len(other_loader)', 'epoch'), 'HP003'), []);
  const cosine = `${HF}scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
for epoch in range(epochs):
    for x, y in train_dataloader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
    scheduler.step()
`;
  assert.deepEqual(ids(cosine, 'HP003'), []);
});
