// Training-loop rules on shapes seen in real buggy code: a loss unpacked from a tuple (TL008), a module reached
// through `self.` or built by a factory (TL016), a loss callable the file does not show (TL007).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, lint, useParser } from './lint/helpers';

useParser();

const unpackedLoop = (lossFn: string, accumulate: string) => `${HEADER}
net = nn.Linear(8, 3)
opt = torch.optim.SGD(net.parameters(), lr=0.1)
${lossFn}
for epoch in range(5):
    total = 0.0
    total_rec = 0.0
    for xb, yb in loader:
        opt.zero_grad()
        loss, rec, reg = combined(net(xb), yb)
        loss.backward()
        opt.step()
        ${accumulate}
`;

const COMBINED = `def combined(out, y):
    rec = F.mse_loss(out, y)
    reg = out.pow(2).mean()
    return rec + 0.1 * reg, rec, reg`;

test('TL008: a loss unpacked from a tuple and accumulated as a tensor', () => {
  assert.deepEqual(ids(unpackedLoop(COMBINED, 'total += loss'), 'TL008'), ['TL008']);
  assert.deepEqual(ids(unpackedLoop('from mylosses import combined', 'total += loss'), 'TL008'), ['TL008']);
  // Tuple literal on the right.
  const literal = `${HEADER}
net = nn.Linear(8, 3)
opt = torch.optim.SGD(net.parameters(), lr=0.1)
total = 0.0
for xb, yb in loader:
    opt.zero_grad()
    loss, n = F.mse_loss(net(xb), yb), xb.size(0)
    loss.backward()
    opt.step()
    total += loss * n
`;
  assert.deepEqual(ids(literal, 'TL008'), ['TL008']);
  // Look-alikes: the number taken with .item(); the element that is not back-propagated is a count.
  assert.deepEqual(ids(unpackedLoop(COMBINED, 'total += loss.item()'), 'TL008'), []);
  assert.deepEqual(ids(literal.replace('total += loss * n', 'total += n'), 'TL008'), []);
});

test('TL008: a term of the back-propagated loss, unpacked from the same tuple, accumulated as a tensor', () => {
  const found = lint(unpackedLoop(COMBINED, 'total_rec += rec'), { select: ['TL008'] });
  assert.equal(found.length, 1);
  assert.match(found[0]!.message, /term of the back-propagated loss/);
  // Through a name in the function: total = rec + reg; return total, rec, reg.
  const named = COMBINED.replace('return rec + 0.1 * reg, rec, reg', 'total = rec + 0.1 * reg\n    return total, rec, reg');
  assert.deepEqual(ids(unpackedLoop(named, 'total_rec += rec'), 'TL008'), ['TL008']);
  // Look-alikes: a function the file does not show; a detached term; a term that is not in the loss; a constant.
  assert.deepEqual(ids(unpackedLoop('from mylosses import combined', 'total_rec += rec'), 'TL008'), []);
  assert.deepEqual(ids(unpackedLoop(COMBINED.replace('rec = F.mse_loss(out, y)', 'rec = F.mse_loss(out, y).item()'), 'total_rec += rec'), 'TL008'), []);
  assert.deepEqual(ids(unpackedLoop(COMBINED.replace('return rec + 0.1 * reg, rec, reg', 'return reg, rec, reg'), 'total_rec += rec'), 'TL008'), []);
  assert.deepEqual(ids(unpackedLoop(COMBINED.replace('rec = F.mse_loss(out, y)', 'rec = torch.zeros(1)'), 'total_rec += rec'), 'TL008'), []);
  assert.deepEqual(ids(unpackedLoop(COMBINED, 'total_rec += rec.item()'), 'TL008'), []);
});

test('TL016: a module reached through self, a factory, or any submodule name', () => {
  const trainer = (build: string, line: string) => `import torch
import torchvision
from models import get_model
class Trainer:
    def __init__(self, opt):
        self.model = ${build}
        ${line}
`;
  assert.deepEqual(ids(trainer('torchvision.models.resnet18(weights=None)', 'self.model.fc.requires_grad = False'), 'TL016'), ['TL016']);
  assert.deepEqual(ids(trainer('torchvision.models.resnet18(weights=None)', 'self.model.requires_grad = False'), 'TL016'), ['TL016']);
  assert.deepEqual(ids(trainer('get_model(opt)', 'self.model.final_conv.requires_grad = False'), 'TL016'), ['TL016']);
  assert.deepEqual(ids('from zoo import get_model\nmodel = get_model(cfg)\nmodel.outc.requires_grad = False', 'TL016'), ['TL016']);
  // A name built by something unknown but used as a model; a submodule name seen to hold a layer.
  assert.deepEqual(ids('from zoo import Segmenter\nnet = Segmenter(4)\nnet.requires_grad = False\nopt = torch.optim.SGD(net.parameters(), lr=0.1)', 'TL016'), ['TL016']);
  assert.deepEqual(ids('from zoo import Segmenter\nnet = Segmenter(4)\nw = net.tail.conv.weight\nnet.tail.requires_grad = False', 'TL016'), ['TL016']);
  // self.model = model, with the file building the class with a module.
  const passed = `import torch.nn as nn
class Trainer:
    def __init__(self, model):
        self.model = model
        self.model.encoder.requires_grad = False
t = Trainer(nn.Transformer())
`;
  assert.deepEqual(ids(passed, 'TL016'), ['TL016']);
  // A parameter used as a module in its function.
  assert.deepEqual(ids('def freeze(net):\n    net.requires_grad = False\n    net.eval()', 'TL016'), ['TL016']);
});

test('TL016: look-alikes on tensors, parameters and unknown objects stay silent', () => {
  const clean = [
    'import torch\nimport torchvision\nmodel = torchvision.models.resnet18()\nfor param in model.parameters():\n    param.requires_grad = False',
    'import torch\nimport torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.weight = nn.Parameter(torch.zeros(3))\n        self.weight.requires_grad = False',
    'import torch\nx = torch.randn(3)\nx.requires_grad = True',
    'import torch\nimport torch.nn as nn\nw = nn.Parameter(torch.zeros(3))\nw.requires_grad = False',
    // Parameters of an unknown model, by their names.
    'import timm\nmodel = timm.create_model("vit_base_patch16_224")\nmodel.pos_embed.requires_grad = False\nmodel.cls_token.requires_grad = False',
    'from zoo import get_model\nmodel = get_model(cfg)\nmodel.logit_scale.requires_grad = False',
    // Parameters of submodules, reached through self or a name.
    'import torchvision\nclass T:\n    def __init__(self):\n        self.model = torchvision.models.resnet18()\n        self.model.fc.weight.requires_grad = False\n        self.model.fc.bias.requires_grad = False',
    'import torchvision\nmodel = torchvision.models.vit_b_16()\nmodel.encoder.pos_embedding.requires_grad = False\nprint(model.encoder.pos_embedding.data.shape)',
    // A model's output, and a tensor attribute of a class.
    'import torch\nimport torchvision\nmodel = torchvision.models.resnet18()\nfeats = model(x)\nfeats.requires_grad = True',
    'import torch\nclass T:\n    def __init__(self):\n        self.mask = torch.ones(3)\n        self.mask.requires_grad = False',
    // A parameter nothing shows to be a module.
    'def freeze(net):\n    net.requires_grad = False',
    // A submodule name nothing shows to be a module.
    'from zoo import get_model\nmodel = get_model(cfg)\nmodel.thing.requires_grad = False',
    // An object nothing shows to be a module.
    'from zoo import Config\ncfg = Config()\ncfg.requires_grad = False',
    'import torch\nclass Holder:\n    def __init__(self, t):\n        self.t = t\n        self.t.requires_grad = True',
    // A layer of a file class that is a Parameter.
    'import torch\nimport torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.scale_out = nn.Parameter(torch.ones(1))\nnet = Net()\nnet.scale_out.requires_grad = False',
  ];
  for (const code of clean) assert.deepEqual(ids(code, 'TL016'), [], code);
});

const fitWith = (signature: string, lossLine: string) => `import torch
${signature}
    for epoch in range(epochs):
        logits = model(X)
        preds = torch.softmax(logits, dim=1).argmax(dim=1).float()
        ${lossLine}
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
`;

test('TL007: a loss callable the file does not show, back-propagated on an argmax of the model output', () => {
  assert.deepEqual(ids(fitWith('def fit(model, loss_fn, optimiser, X, y, epochs):', 'loss = loss_fn(preds, y)'), 'TL007'), ['TL007']);
  assert.deepEqual(ids(fitWith('from losses import dice_loss\ndef fit(model, optimiser, X, y, epochs):', 'loss = dice_loss(preds, y)'), 'TL007'), ['TL007']);
  assert.deepEqual(ids(fitWith('def fit(model, criterion, optimiser, X, y, epochs):', 'loss = criterion(logits.detach(), y)'), 'TL007'), ['TL007']);
});

test('TL007: unresolved loss look-alikes stay silent', () => {
  // Logits into the loss; not back-propagated; the cut on the data; a callable not named like a loss; a loss of this
  // file; a parameter the file passes something else; three arguments.
  const silent = [
    fitWith('def fit(model, loss_fn, optimiser, X, y, epochs):', 'loss = loss_fn(logits, y)'),
    fitWith('def fit(model, loss_fn, optimiser, X, y, epochs):', 'loss = loss_fn(preds, y)').replace('loss.backward()', 'pass'),
    fitWith('def fit(model, loss_fn, optimiser, X, y, epochs):', 'loss = loss_fn(y.round(), logits)'),
    fitWith('def fit(model, scorer, optimiser, X, y, epochs):', 'loss = scorer(preds, y)'),
    fitWith('def my_loss(p, t):\n    return (p - t).abs().mean()\ndef fit(model, optimiser, X, y, epochs):', 'loss = my_loss(preds, y)'),
    fitWith('def fit(model, loss_fn, optimiser, X, y, epochs):', 'loss = loss_fn(preds, y)') + 'fit(net, lambda p, t: p.sum(), opt, X, y, 3)\n',
    fitWith('def fit(model, loss_fn, optimiser, X, y, epochs):', 'loss = loss_fn(preds, logits, y)'),
  ];
  for (const code of silent) assert.deepEqual(ids(code, 'TL007'), [], code);
});

test('TL008/TL007: a loss back-propagated by accelerator.backward(loss) or self.manual_backward(loss)', () => {
  const accelerate = (add: string) => `${HEADER}
from accelerate import Accelerator
accelerator = Accelerator()
model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
loss_sum = torch.tensor(0.0)
for x, y in loader:
    optimizer.zero_grad()
    loss = F.cross_entropy(model(x), y)
    accelerator.backward(loss)
    optimizer.step()
    ${add}
`;
  assert.deepEqual(ids(accelerate('loss_sum += loss'), 'TL008'), ['TL008']);
  assert.deepEqual(ids(accelerate('loss_sum += loss.item()'), 'TL008'), []);
  const lightning = `${HEADER}
import lightning as L
class Net(L.LightningModule):
    def training_step(self, batch, idx):
        x, y = batch
        opt = self.optimizers()
        opt.zero_grad()
        loss = F.mse_loss(self(x).argmax(dim=1).float(), y)
        self.manual_backward(loss)
        opt.step()
`;
  assert.deepEqual(ids(lightning, 'TL007'), ['TL007']);
});
