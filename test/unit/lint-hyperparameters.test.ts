import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

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

test('HP002: Adam on a .half() model with the default eps; fix adds eps=1e-4', () => {
  const code = `${HEADER}\nmodel = Net().half()\noptimizer = torch.optim.Adam(model.parameters(), lr=1e-3)\n`;
  const f = lint(code);
  assert.deepEqual(f.map((x) => x.rule), ['HP002']);
  assert.match(f[0]!.message, /eps=1e-8 \(default\)/);
  const fixed = fix(code, 'HP002');
  assert.match(fixed, /Adam\(model\.parameters\(\), lr=1e-3, eps=1e-4\)/);
  assert.deepEqual(ids(fixed), []);
  // conversion as a statement, after the optimizer, and through .to(dtype)
  assert.deepEqual(ids(`${HEADER}\nmodel = Net()\nopt = torch.optim.AdamW(model.parameters(), lr=1e-4)\nmodel.half()\n`), ['HP002']);
  assert.deepEqual(ids(`${HEADER}\nmodel = Net()\nmodel.to(torch.float16)\nopt = torch.optim.Adam(model.parameters())\n`), ['HP002']);
  assert.deepEqual(ids(`${HEADER}\nmodel = Net().to(device, dtype=torch.half)\nopt = torch.optim.Adam(model.parameters())\n`), ['HP002']);
  // global default dtype
  assert.deepEqual(ids(`${HEADER}\ntorch.set_default_dtype(torch.float16)\nopt = torch.optim.Adam(model.parameters(), lr=1e-3)\n`), ['HP002']);
  // an explicit eps that float16 cannot hold
  const tiny = `${HEADER}\nmodel.half()\nopt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-10)\n`;
  assert.deepEqual(ids(tiny), ['HP002']);
  assert.match(fix(tiny, 'HP002'), /eps=1e-4\)/);
});

test('HP002: look-alikes: eps raised, AMP (float32 weights), SGD, half inputs only, half after training for export', () => {
  assert.deepEqual(ids(`${HEADER}\nmodel = Net().half()\nopt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-4)\n`), []);
  assert.deepEqual(ids(`${HEADER}\nmodel = Net()\nopt = torch.optim.Adam(model.parameters(), lr=1e-3)\nscaler = torch.amp.GradScaler()\nwith torch.autocast("cuda", dtype=torch.float16):\n    out = model(x)\n`), []);
  assert.deepEqual(ids(`${HEADER}\nmodel = Net().half()\nopt = torch.optim.SGD(model.parameters(), lr=0.01)\n`), []);
  assert.deepEqual(ids(`${HEADER}\nmodel = Net()\nopt = torch.optim.Adam(model.parameters())\nx = x.half()\nout = model(x.to(torch.float16))\n`), []);
  const exportAfter = `${HEADER}\nmodel = Net()\nopt = torch.optim.Adam(model.parameters())\nfor x, y in train_loader:\n    opt.zero_grad()\n    F.mse_loss(model(x), y).backward()\n    opt.step()\nmodel.half()\ntorch.save(model.state_dict(), "fp16.pt")\n`;
  assert.deepEqual(ids(exportAfter, 'HP002'), []);
  assert.deepEqual(ids(`${HEADER}\nteacher = Net().half()\nstudent = Net()\nopt = torch.optim.Adam(student.parameters())\n`), []);
});

// ---- HP003 ----
const scheduled = (build: string, stepLines: string) =>
  `${HEADER}from torch.optim.lr_scheduler import StepLR, MultiStepLR, CosineAnnealingLR, ExponentialLR, OneCycleLR\n` +
  `model = nn.Linear(4, 2)\noptimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)\ncriterion = nn.CrossEntropyLoss()\n` +
  `scheduler = ${build}\nfor epoch in range(epochs):\n    model.train()\n    for x, y in train_loader:\n        optimizer.zero_grad()\n` +
  `        loss = criterion(model(x), y)\n        loss.backward()\n        optimizer.step()\n${stepLines}`;

test('HP003: an epoch-length schedule stepped in the batch loop is a warning; the fix steps it after the loop', () => {
  const code = scheduled('StepLR(optimizer, step_size=30, gamma=0.1)', '        scheduler.step()\n');
  const f = lint(code);
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}`), ['HP003:warning']);
  const fixed = fix(code, 'HP003');
  assert.match(fixed, /optimizer\.step\(\)\n {4}scheduler\.step\(\)\n?$/);
  assert.deepEqual(ids(fixed), []);
  for (const build of ['MultiStepLR(optimizer, milestones=[30, 60], gamma=0.1)', 'CosineAnnealingLR(optimizer, T_max=epochs)', 'CosineAnnealingLR(optimizer, args.num_epochs)', 'ExponentialLR(optimizer, gamma=0.95)', 'torch.optim.lr_scheduler.StepLR(optimizer, 10)']) {
    const c = scheduled(build, '        scheduler.step()\n');
    assert.deepEqual(ids(c, 'HP003'), ['HP003'], build);
    assert.deepEqual(ids(fix(c, 'HP003')), [], build);
  }
});

test('HP003: per-epoch steps, per-batch schedules, every N batches, other schedulers: fine', () => {
  // stepped once per epoch
  assert.deepEqual(ids(scheduled('StepLR(optimizer, step_size=30)', '    scheduler.step()\n'), 'HP003'), []);
  // schedules counted in batches
  for (const build of ['CosineAnnealingLR(optimizer, T_max=epochs * len(train_loader))', 'CosineAnnealingLR(optimizer, T_max=total_steps)', 'StepLR(optimizer, step_size=2000)', 'MultiStepLR(optimizer, milestones=[8000, 12000])', 'ExponentialLR(optimizer, gamma=0.9995)', 'OneCycleLR(optimizer, max_lr=0.1, total_steps=1000)', 'StepLR(optimizer, step_size=steps_per_decay)']) {
    assert.deepEqual(ids(scheduled(build, '        scheduler.step()\n'), 'HP003'), [], build);
  }
  // every N batches, on purpose
  assert.deepEqual(ids(scheduled('StepLR(optimizer, step_size=30)', '        if i % 100 == 0:\n            scheduler.step()\n'), 'HP003'), []);
  // ReduceLROnPlateau takes a metric
  assert.deepEqual(ids(scheduled('torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer)', '        scheduler.step(loss.item())\n'), 'HP003'), []);
  // a loop over epochs, not batches
  assert.deepEqual(ids(`${HEADER}from torch.optim.lr_scheduler import StepLR\nscheduler = StepLR(optimizer, step_size=30)\nfor epoch in range(90):\n    train(model)\n    scheduler.step()\n`, 'HP003'), []);
});
