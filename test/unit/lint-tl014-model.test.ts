// TL014, whole-model form: the model variable is rebound to a new model after the optimizer took the old one's
// parameters, and the new one is trained with that optimizer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, lint, useParser } from './lint/helpers';

useParser();

const NET = `${HEADER}import torch.optim as optim\n\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(10, 2)\n\n    def forward(self, x):\n        return self.fc(x)\n\n\n`;
const TRAIN = `for epoch in range(10):\n    for x, y in loader:\n        optimizer.zero_grad()\n        loss = criterion(model(x), y)\n        loss.backward()\n        optimizer.step()\n`;
const indent = (s: string) => s.replace(/^(?=.)/gm, '    ');
/** All findings, as `rule:severity:line` (1-based lines). */
const found = (code: string) => lint(code).map((f) => `${f.rule}:${f.severity}:${f.range.start.line + 1}`);
const line = (code: string, text: string) => code.split('\n').indexOf(text) + 1;

test('TL014: model rebuilt after the optimizer took its parameters, then trained, is an error on the rebinding', () => {
  const rebind = 'model = Net().to(device)';
  const code = `${NET}model = Net()\noptimizer = optim.Adam(model.parameters(), lr=1e-3)\n${rebind}\n${TRAIN}`;
  assert.deepEqual(found(code), [`TL014:error:${line(code, rebind)}`]);
  const f = lint(code, { select: ['TL014'] });
  assert.match(f[0]!.message, /^model is rebuilt after the optimizer took its parameters \(line \d+\): the optimizer still updates the old model/);
  assert.equal(f[0]!.fixes, undefined);
});

test('TL014: torchvision, nn.Sequential, .cuda(), inside def main(), param groups and named_parameters are reported', () => {
  const tv = `${HEADER}import torchvision\nmodel = torchvision.models.resnet18(num_classes=10)\noptimizer = torch.optim.SGD(model.parameters(), lr=0.1)\nmodel = torchvision.models.resnet18(num_classes=10)\n${TRAIN}`;
  assert.deepEqual(found(tv), [`TL014:error:${line(tv, 'model = torchvision.models.resnet18(num_classes=10)') + 2}`]);
  const fromImport = `${HEADER}from torchvision import models\nmodel = models.resnet18()\noptimizer = torch.optim.SGD(model.parameters(), lr=0.1)\nmodel = models.resnet18().to(device)\n${TRAIN}`;
  assert.deepEqual(ids(fromImport), ['TL014']);
  assert.deepEqual(ids(fromImport.replace('.to(device)', '.cuda().train()'), 'TL014'), ['TL014']);
  const seq = `${HEADER}model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 2))\noptimizer = torch.optim.Adam(model.parameters())\nmodel = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 2)).float()\n${TRAIN}`;
  assert.deepEqual(found(seq), [`TL014:error:${line(seq, 'model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 2)).float()')}`]);
  const main = `${NET}def main():\n${indent(`model = Net()\noptimizer = optim.Adam(model.parameters(), lr=1e-3)\nmodel = Net().to(device)\n${TRAIN}`)}`;
  assert.deepEqual(found(main), [`TL014:error:${line(main, '    model = Net().to(device)')}`]);
  const groups = `${NET}model = Net()\noptimizer = optim.Adam([{"params": model.parameters(), "lr": 1e-3}])\nmodel = Net()\n${TRAIN}`;
  assert.deepEqual(ids(groups), ['TL014']);
  const named = `${NET}model = Net()\noptimizer = optim.AdamW([p for n, p in model.named_parameters() if "bias" not in n], lr=1e-3)\nmodel = Net()\n${TRAIN}`;
  assert.deepEqual(ids(named), ['TL014']);
  // an AMP step through the scaler steps the same optimizer
  const amp = `${NET}model = Net()\noptimizer = optim.Adam(model.parameters())\nscaler = torch.cuda.amp.GradScaler()\nmodel = Net()\nfor x, y in loader:\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n    scaler.scale(loss).backward()\n    scaler.step(optimizer)\n    scaler.update()\n`;
  assert.deepEqual(ids(amp, 'TL014'), ['TL014']);
});

test('TL014: moving, casting, compiling or wrapping the same model is fine', () => {
  for (const rebind of [
    'model = model.to(device)',
    'model = model.cuda()',
    'model = model.float()',
    'model = torch.compile(model)',
    'model = nn.DataParallel(model)',
    'model = nn.parallel.DistributedDataParallel(model, device_ids=[rank])',
    'model = torch.nn.parallel.DistributedDataParallel(model.to(rank), device_ids=[rank])',
    'model = nn.Sequential(*list(model.children()), nn.Softmax(dim=1))',
  ]) {
    const code = `${NET}model = Net()\noptimizer = optim.Adam(model.parameters(), lr=1e-3)\n${rebind}\n${TRAIN}`;
    assert.deepEqual(ids(code, 'TL014'), [], rebind);
  }
  const load = `${NET}model = Net()\noptimizer = optim.Adam(model.parameters(), lr=1e-3)\nmodel.load_state_dict(torch.load("init.pt"))\n${TRAIN}`;
  assert.deepEqual(ids(load, 'TL014'), []);
});

test('TL014: the optimizer built after the new model, or rebuilt for each trial of a search, is fine', () => {
  const rebuilt = `${NET}model = Net()\noptimizer = optim.Adam(model.parameters(), lr=1e-3)\nmodel = Net().to(device)\noptimizer = optim.Adam(model.parameters(), lr=1e-3)\n${TRAIN}`;
  assert.deepEqual(ids(rebuilt), []);
  const search = `${NET}model = Net()\noptimizer = optim.Adam(model.parameters(), lr=1e-3)\nfor lr in [1e-2, 1e-3, 1e-4]:\n${indent(`model = Net().to(device)\noptimizer = optim.Adam(model.parameters(), lr=lr)\n${TRAIN}`)}`;
  assert.deepEqual(ids(search, 'TL014'), []);
  const extended = `${NET}model = Net()\noptimizer = optim.Adam(model.parameters(), lr=1e-3)\nmodel = Net()\noptimizer.add_param_group({"params": model.parameters()})\n${TRAIN}`;
  assert.deepEqual(ids(extended, 'TL014'), []);
});

test('TL014: no step after the new model, another function, or another branch: fine', () => {
  // evaluation after training: the best weights loaded into a fresh model, no step afterwards
  const evaluate = `${NET}model = Net()\noptimizer = optim.Adam(model.parameters(), lr=1e-3)\n${TRAIN}model = Net()\nmodel.load_state_dict(torch.load("best.pt"))\nmodel.eval()\nwith torch.no_grad():\n    preds = model(x_test).argmax(dim=1)\n`;
  assert.deepEqual(ids(evaluate, 'TL014'), []);
  const noStep = `${NET}model = Net()\noptimizer = optim.Adam(model.parameters(), lr=1e-3)\nmodel = Net()\n`;
  assert.deepEqual(ids(noStep, 'TL014'), []);
  const otherFunction = `${NET}model = Net()\noptimizer = optim.Adam(model.parameters(), lr=1e-3)\n\n\ndef fresh():\n${indent(`model = Net()\n${TRAIN}`)}`;
  assert.deepEqual(ids(otherFunction, 'TL014'), []);
  const stepElsewhere = `${NET}def build():\n    model = Net()\n    optimizer = optim.Adam(model.parameters(), lr=1e-3)\n    return model, optimizer\n\n\nmodel = Net()\n${TRAIN}`;
  assert.deepEqual(ids(stepElsewhere, 'TL014'), []);
  // an evaluation-only branch that rebuilds the model, the training in the other branch
  const branches = `${NET}model = Net()\noptimizer = optim.Adam(model.parameters(), lr=1e-3)\nif args.evaluate:\n    model = Net()\n    model.load_state_dict(torch.load("best.pt"))\nelse:\n${indent(TRAIN)}`;
  assert.deepEqual(ids(branches, 'TL014'), []);
  const exits = `${NET}model = Net()\noptimizer = optim.Adam(model.parameters(), lr=1e-3)\nif args.evaluate:\n    model = Net()\n    model.load_state_dict(torch.load("best.pt"))\n    sys.exit(0)\n${TRAIN}`;
  assert.deepEqual(ids(exits, 'TL014'), []);
  // a different model's optimizer (GAN: the generator rebuilt, the discriminator's optimizer steps)
  const other = `${NET}model = Net()\nd_opt = optim.Adam(disc.parameters())\nmodel = Net()\nd_opt.step()\n`;
  assert.deepEqual(ids(other, 'TL014'), []);
});
