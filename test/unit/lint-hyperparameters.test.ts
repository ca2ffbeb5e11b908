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
