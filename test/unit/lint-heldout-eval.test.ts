// Held-out shapes for the evaluation rules: a model.train() inside the validation loop that undoes the eval() before
// it, Hugging Face `generate` as the validation forward, and models loaded with `from_pretrained` (in eval mode).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, lint, useParser } from './lint/helpers';

useParser();

const NET = `${HEADER}
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(16, 32), nn.Dropout(0.3), nn.Linear(32, 4))

    def forward(self, x):
        return self.body(x)

`;

const TRAIN_IN_VAL = `${NET}
def fit(train_loader, valid_loader, epochs, packed=False):
    model = Net()
    opt = torch.optim.Adam(model.parameters())
    for epoch in range(epochs):
        model.train()
        for x, y in train_loader:
            opt.zero_grad()
            model.train()
            F.cross_entropy(model(x), y).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            for x, y in valid_loader:
                if packed:
                    model.train()
                    out = model(x.float())
                else:
                    model.train()
                    out = model(x)
                print(F.cross_entropy(out, y).item())
`;

test('EV001: model.train() inside the validation loop, before the forward, after an eval() before the loop', () => {
  const found = lint(TRAIN_IN_VAL, { select: ['EV001'] });
  assert.deepEqual(
    found.map((f) => f.rule),
    ['EV001'],
  );
  assert.match(found[0]!.message, /model\.train\(\) runs before the forward in this evaluation loop/);
  // Plain, no branch around it.
  const plain = TRAIN_IN_VAL.replace(
    '                if packed:\n                    model.train()\n                    out = model(x.float())\n                else:\n                    model.train()\n                    out = model(x)\n',
    '                model.train()\n                out = model(x)\n',
  );
  assert.deepEqual(ids(plain, 'EV001'), ['EV001']);
});

test('EV001: train() after the forward, on another model, or under an if of its own stays quiet', () => {
  const noBranch = TRAIN_IN_VAL.replace(
    '                if packed:\n                    model.train()\n                    out = model(x.float())\n                else:\n                    model.train()\n                    out = model(x)\n',
    '                out = model(x)\n',
  );
  // No train() in the validation loop: the eval() before it holds.
  assert.deepEqual(ids(noBranch, 'EV001'), []);
  // train() after the validation loop, at the end of the epoch body.
  assert.deepEqual(ids(noBranch.replace('                print(F.cross_entropy(out, y).item())\n', '                print(F.cross_entropy(out, y).item())\n        model.train()\n'), 'EV001'), []);
  // train() of another model (a teacher) before the forward.
  const other = noBranch.replace('                out = model(x)\n', '                teacher.train()\n                out = model(x)\n');
  assert.deepEqual(ids(other, 'EV001'), []);
  // Under an `if` of its own (the forward after the branch): not on every path.
  const cond = noBranch.replace('                out = model(x)\n', '                if packed:\n                    model.train()\n                out = model(x)\n');
  assert.deepEqual(ids(cond, 'EV001'), []);
  // eval() again between train() and the forward.
  const again = noBranch.replace('                out = model(x)\n', '                model.train()\n                model.eval()\n                out = model(x)\n');
  assert.deepEqual(ids(again, 'EV001'), []);
  // train(False) is eval mode.
  assert.deepEqual(ids(noBranch.replace('                out = model(x)\n', '                model.train(False)\n                out = model(x)\n'), 'EV001'), []);
  // Monte Carlo dropout on purpose.
  assert.deepEqual(ids(TRAIN_IN_VAL.replace('def fit(', 'def fit_mc_dropout('), 'EV001'), []);
});

test('EV001: train() before the forward of a per-batch helper the validation loop calls', () => {
  const helper = `${NET}
class Runner:
    def __init__(self):
        self.model = Net()

    def validation_step(self, x, y):
        self.model.train()
        return F.cross_entropy(self.model(x), y)

    def run(self, val_loader):
        self.model.eval()
        with torch.no_grad():
            for x, y in val_loader:
                print(self.validation_step(x, y).item())
`;
  assert.deepEqual(ids(helper, 'EV001'), ['EV001']);
  assert.deepEqual(ids(helper.replace('        self.model.train()\n', ''), 'EV001'), []);
});

const GENERATE = `import torch
from transformers import AdamW, VisionEncoderDecoderModel


def decode_all(model, loader):
    texts = []
    with torch.no_grad():
        for batch in loader:
            ids = model.generate(batch["pixels"], max_new_tokens=32)
            texts.extend(ids.tolist())
    return texts


def check(ctx):
    texts = decode_all(ctx.model, ctx.valid_loader)
    return sum(t == l for t, l in zip(texts, ctx.labels)) / len(texts)


def fit(ctx, epochs=3):
    model = ctx.model
    opt = AdamW(model.parameters(), lr=5e-5)
    model.train()
    for epoch in range(epochs):
        for batch in ctx.train_loader:
            out = model(pixel_values=batch["pixels"], labels=batch["labels"])
            out.loss.backward()
            opt.step()
            opt.zero_grad()
        print(check(ctx))
`;

test('EV001: model.generate in a validation loop after training, without eval(); EV003 stays quiet', () => {
  assert.deepEqual(ids(GENERATE), ['EV001']);
  // eval() before the generation loop: quiet.
  assert.deepEqual(ids(GENERATE.replace('    texts = []\n', '    model.eval()\n    texts = []\n'), 'EV001'), []);
  // Nothing in the file switches to training mode: a from_pretrained model is in eval mode already.
  assert.deepEqual(ids(GENERATE.replace('    model.train()\n', ''), 'EV001'), []);
  // generate on something that is not a model (a tokenizer-like helper): quiet.
  assert.deepEqual(ids(GENERATE.replace('model.generate(batch', 'sampler.generate(batch'), 'EV001'), []);
  // generate runs under a no_grad of its own: a generation loop outside no_grad is no EV003.
  const bare = GENERATE.replace('    with torch.no_grad():\n        for batch in loader:\n            ids = model', '    for batch in loader:\n        ids = model').replace('            texts.extend', '        texts.extend');
  assert.deepEqual(ids(bare), ['EV001']);
  assert.deepEqual(ids(bare.replace('model.generate(batch["pixels"], max_new_tokens=32)', 'model(batch["pixels"])'), 'EV003'), ['EV003']);
});

test('EV001: a from_pretrained model is in eval mode until something calls train()', () => {
  const inference = `import torch
from transformers import AutoModelForSequenceClassification

model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased").to("cuda")
with torch.no_grad():
    for batch in test_loader:
        out = model(**batch)
`;
  assert.deepEqual(ids(inference, 'EV001'), []);
  const trained = inference.replace(
    'with torch.no_grad():',
    'opt = torch.optim.AdamW(model.parameters())\nmodel.train()\nfor batch in train_loader:\n    model(**batch).loss.backward()\n    opt.step()\n    opt.zero_grad()\nwith torch.no_grad():',
  );
  assert.deepEqual(ids(trained, 'EV001'), ['EV001']);
  // A torchvision model is built in training mode: warned without a train() call.
  const vision = `import torch
import torchvision

model = torchvision.models.resnet18(weights="DEFAULT")
with torch.no_grad():
    for x, y in test_loader:
        out = model(x)
`;
  assert.deepEqual(ids(vision, 'EV001'), ['EV001']);
});

test('EV001/EV003: a loop over a parameter that every call site fills with a held-out entry of a dict', () => {
  const code = `${NET}
def collect(model, batches):
    outs = []
    for x, _ in batches:
        outs.append(model(x))
    return outs


model = Net()
loaders = {"train": [], "val": []}
print(len(collect(model, loaders["val"])))
`;
  const evalIds = (c: string) => ids(c).filter((r) => r.startsWith('EV')).sort();
  assert.deepEqual(evalIds(code), ['EV001', 'EV003']);
  assert.deepEqual(evalIds(code.replace('loaders["val"]', 'loaders["train"]')), []);
});

test('EV003: held-out data named container first (`dataset_valid`) and a `self.module_` forward in a per-batch helper', () => {
  const code = `${HEADER}
class Wrapper:
    def __init__(self, module, criterion):
        self.module_ = module
        self.criterion_ = criterion

    def infer(self, x):
        return self.module_(x)

    def validation_step(self, x, y):
        self.module_.eval()
        return self.criterion_(self.infer(x), y)

    def train_step(self, x, y, opt):
        self.module_.train()
        opt.zero_grad()
        loss = self.criterion_(self.infer(x), y)
        loss.backward()
        opt.step()
        return loss

    def fit_loop(self, dataset_train, dataset_valid, opt, epochs=3):
        for _ in range(epochs):
            for x, y in self.iterate(dataset_train):
                self.train_step(x, y, opt)
            for x, y in self.iterate(dataset_valid):
                print(self.validation_step(x, y).item())

    def iterate(self, data):
        return DataLoader(data, batch_size=32)
`;
  const evalIds = (c: string) => ids(c).filter((r) => r.startsWith('EV')).sort();
  assert.deepEqual(evalIds(code), ['EV003']);
  // The training data, or the helper under no_grad: quiet.
  assert.deepEqual(evalIds(code.replace('self.iterate(dataset_valid)', 'self.iterate(dataset_train)')), []);
  assert.deepEqual(evalIds(code.replace('        return self.criterion_(self.infer(x), y)', '        with torch.no_grad():\n            return self.criterion_(self.infer(x), y)')), []);
  // `self.modules()` is not a forward.
  assert.deepEqual(evalIds(code.replace('        return self.module_(x)', '        return [m for m in self.modules()]')), []);
});
