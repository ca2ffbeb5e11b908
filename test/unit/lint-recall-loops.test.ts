// Recall on real-world training-script styles (Trainer classes, train(model, loader, ...) functions, the
// transfer-learning phase loop, tabular full-batch evaluation, CIFAR-tutorial unpacking), each with a look-alike
// that must stay silent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

const TRAIN_FN = `
def train(model, loader, optimizer, criterion):
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
`;

// ---- TL013: optimizer re-created in an epoch loop that trains through a called function ----

test('TL013: optimizer built in the epoch loop, backward/step in a called function', () => {
  const code = `${HEADER}${TRAIN_FN}
model = nn.Linear(10, 2)
for epoch in range(10):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3 * 0.9 ** epoch)
    train(model, loader, optimizer, nn.CrossEntropyLoss())
`;
  assert.deepEqual(ids(code, 'TL013'), ['TL013']);
});

test('TL013: Trainer.fit re-creates self.optimizer each epoch while self.train_one_epoch() steps it', () => {
  const code = `${HEADER}
class Trainer:
    def __init__(self, model, loader):
        self.model = model
        self.loader = loader

    def train_one_epoch(self):
        for x, y in self.loader:
            self.optimizer.zero_grad()
            F.cross_entropy(self.model(x), y).backward()
            self.optimizer.step()

    def fit(self, epochs):
        for epoch in range(epochs):
            self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3)
            self.train_one_epoch()
`;
  assert.deepEqual(ids(code, 'TL013'), ['TL013']);
});

test('TL013 look-alikes: a new model per fold, and a loop whose called function never trains', () => {
  const folds = `${HEADER}${TRAIN_FN}
for fold in range(5):
    model = nn.Linear(10, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    train(model, loader, optimizer, nn.CrossEntropyLoss())
`;
  assert.deepEqual(ids(folds, 'TL013'), []);
  const noTraining = `${HEADER}
def report(model, optimizer):
    print(model, optimizer)

model = nn.Linear(10, 2)
for k in range(3):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    report(model, optimizer)
`;
  assert.deepEqual(ids(noTraining, 'TL013'), []);
});

// ---- HP003: epoch scheduler stepped per batch: as a parameter, and under the phase if ----

test('HP003: StepLR passed as a parameter and stepped per batch (resolved at the call site)', () => {
  const code = `${HEADER}
def train_model(model, loader, criterion, optimizer, scheduler, num_epochs):
    for epoch in range(num_epochs):
        for x, y in loader:
            optimizer.zero_grad()
            criterion(model(x), y).backward()
            optimizer.step()
            scheduler.step()

model = nn.Linear(10, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
exp_lr = torch.optim.lr_scheduler.StepLR(optimizer, step_size=7, gamma=0.1)
train_model(model, loader, nn.CrossEntropyLoss(), optimizer, exp_lr, 25)
`;
  assert.deepEqual(ids(code, 'HP003'), ['HP003']);
  // a per-batch schedule passed the same way stays silent
  assert.deepEqual(ids(code.replace('StepLR(optimizer, step_size=7, gamma=0.1)', 'OneCycleLR(optimizer, max_lr=0.1, total_steps=1000)'), 'HP003'), []);
});

test('HP003: scheduler parameter with no call site falls back to the file\'s only scheduler build', () => {
  const code = `${HEADER}
def fit(model, loader, optimizer, scheduler):
    for x, y in loader:
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
        scheduler.step()

def main():
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    run(fit, opt, sched)
`;
  assert.deepEqual(ids(code, 'HP003'), ['HP003']);
  // two scheduler builds: which one the parameter holds is unknown
  const two = code.replace('    run(fit', '    other = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=100)\n    run(fit');
  assert.deepEqual(ids(two, 'HP003'), []);
  const restarts = code.replace('    run(fit', '    other = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=10)\n    run(fit');
  assert.deepEqual(ids(restarts, 'HP003'), []);
  const factory = code.replace('    run(fit', '    other = get_cosine_schedule_with_warmup(opt, 100, 1000)\n    run(fit');
  assert.deepEqual(ids(factory, 'HP003'), []);
});

test('HP003: step under `with set_grad_enabled` and `if phase == "train":` in the batch loop; no fix offered there', () => {
  const code = `${HEADER}
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=7, gamma=0.1)
for epoch in range(25):
    for phase in ["train", "val"]:
        for x, y in dataloaders[phase]:
            optimizer.zero_grad()
            with torch.set_grad_enabled(phase == "train"):
                loss = criterion(model(x), y)
                if phase == "train":
                    loss.backward()
                    optimizer.step()
                    scheduler.step()
`;
  const f = lint(code, { select: ['HP003'] });
  assert.deepEqual(f.map((x) => x.rule), ['HP003']);
  assert.equal(f[0]!.fixes, undefined);
});

test('HP003 look-alikes: step under `if i % 100 == 0`, a step-counter comparison, or an interval option', () => {
  const under = (cond: string) => `${HEADER}
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=7, gamma=0.1)
for epoch in range(25):
    for i, (x, y) in enumerate(train_loader):
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
        with torch.no_grad():
            if ${cond}:
                scheduler.step()
`;
  assert.deepEqual(ids(under('i % 100 == 0'), 'HP003'), []);
  assert.deepEqual(ids(under('global_step > warmup_steps'), 'HP003'), []);
  assert.deepEqual(ids(under('phase == "train" and i % 10 == 0'), 'HP003'), []);
  assert.deepEqual(ids(under('args.interval == "step"'), 'HP003'), []);
  assert.deepEqual(ids(under('phase == "train"'), 'HP003'), ['HP003']);
});

// ---- TL015: best state kept on self, or behind a shallow copy ----

test('TL015: self.best_state = self.model.state_dict() in Trainer.fit, restored after the loop', () => {
  const code = `${HEADER}
class Trainer:
    def __init__(self, model):
        self.model = model
        self.best_state = None

    def fit(self, epochs):
        best = 0.0
        for epoch in range(epochs):
            acc = self.train_and_validate()
            if acc > best:
                best = acc
                self.best_state = self.model.state_dict()
        self.model.load_state_dict(self.best_state)
`;
  assert.deepEqual(ids(code, 'TL015'), ['TL015']);
  // restored in another method of the class: the same bug
  const other = code.replace('        self.model.load_state_dict(self.best_state)\n', '\n    def restore(self):\n        self.model.load_state_dict(self.best_state)\n');
  assert.deepEqual(ids(other, 'TL015'), ['TL015']);
  // a deep copy is right
  assert.deepEqual(ids(code.replace('self.best_state = self.model.state_dict()', 'self.best_state = copy.deepcopy(self.model.state_dict())'), 'TL015'), []);
});

test('TL015: .copy(), dict(...), OrderedDict(...) and {k: v ...} are shallow copies; the fix clones the tensors', () => {
  const script = (keep: string) => `${HEADER}from collections import OrderedDict
model = nn.Linear(10, 2)
best, best_state = 0.0, None
for epoch in range(10):
    acc = train_and_validate(model)
    if acc > best:
        best = acc
        best_state = ${keep}
model.load_state_dict(best_state)
`;
  for (const keep of ['model.state_dict().copy()', 'dict(model.state_dict())', 'OrderedDict(model.state_dict())', '{k: v for k, v in model.state_dict().items()}']) {
    assert.deepEqual(ids(script(keep), 'TL015'), ['TL015'], keep);
  }
  const fixed = fix(script('model.state_dict().copy()'), 'TL015');
  assert.match(fixed, /best_state = \{k: v\.detach\(\)\.clone\(\) for k, v in model\.state_dict\(\)\.items\(\)\}/);
  assert.deepEqual(ids(fixed, 'TL015'), []);
  // cloned in the comprehension: a real copy
  assert.deepEqual(ids(script('{k: v.clone() for k, v in model.state_dict().items()}'), 'TL015'), []);
});

// ---- EV001: the phase loop, and evaluation without a loop ----

const PHASES = (mode: string) => `${HEADER}
def train_model(model, dataloaders, criterion, optimizer, num_epochs=25):
    for epoch in range(num_epochs):
        for phase in ["train", "val"]:
${mode}
            for inputs, labels in dataloaders[phase]:
                optimizer.zero_grad()
                with torch.set_grad_enabled(phase == "train"):
                    outputs = model(inputs)
                    loss = criterion(outputs, labels)
                    if phase == "train":
                        loss.backward()
                        optimizer.step()
`;

test('EV001: phase loop with an unconditional model.train() and no eval()', () => {
  const f = lint(PHASES('            model.train()'), { select: ['EV001'] });
  assert.deepEqual(f.map((x) => `${x.rule}:${x.range.start.line}`), ['EV001:8']);
});

test('EV001 look-alikes: the phase loop switching modes by phase', () => {
  assert.deepEqual(ids(PHASES('            if phase == "train":\n                model.train()\n            else:\n                model.eval()'), 'EV001'), []);
  assert.deepEqual(ids(PHASES('            model.train(phase == "train")'), 'EV001'), []);
  assert.deepEqual(ids(PHASES('            model.train()\n            if phase == "val":\n                model.eval()'), 'EV001'), []);
  // an imported helper given the model may switch its mode
  assert.deepEqual(ids(PHASES('            model.train()\n            set_phase(model, phase)'), 'EV001'), []);
  // a helper of this file that switches it by phase is followed
  const helper = PHASES('            model.train()\n            set_phase(model, phase)').replace('def train_model', 'def set_phase(m, phase):\n    if phase != "train":\n        m.eval()\n\ndef train_model');
  assert.deepEqual(ids(helper, 'EV001'), []);
});

test('EV001: `with torch.no_grad(): y_pred = model(X_test)` without eval(), the model holding Dropout', () => {
  const code = `${HEADER}
model = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 3))
for epoch in range(100):
    optimizer.zero_grad()
    loss = criterion(model(X_train), y_train)
    loss.backward()
    optimizer.step()
with torch.no_grad():
    y_pred = model(X_test)
`;
  assert.deepEqual(ids(code, 'EV001'), ['EV001']);
  assert.deepEqual(ids(code.replace('with torch.no_grad():', 'model.eval()\nwith torch.no_grad():'), 'EV001'), []);
  // no Dropout / BatchNorm: eval() changes nothing
  assert.deepEqual(ids(code.replace('nn.Dropout(0.5), ', ''), 'EV001'), []);
  // not under no_grad and not in an evaluation function: a shape check, say
  assert.deepEqual(ids(code.replace('with torch.no_grad():\n    y_pred = model(X_test)', 'print(model(X_test).shape)'), 'EV001'), []);
});

test('EV001: loops over zip(X_test, y_test) and over test_data_loader are evaluation loops', () => {
  const model = 'model = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 3))\n';
  assert.deepEqual(ids(`${HEADER}${model}with torch.no_grad():\n    for x, y in zip(X_test, y_test):\n        out = model(x)\n`, 'EV001'), ['EV001']);
  assert.deepEqual(ids(`${HEADER}${model}with torch.no_grad():\n    for x, y in test_data_loader:\n        out = model(x)\n`, 'EV001'), ['EV001']);
  // a list that mixes the training split is not held-out data; a Keras file's model(x) is not a torch forward
  assert.deepEqual(ids(`${HEADER}${model}for a, b in [(X_train, X_test)]:\n    out = model(a)\n`, 'EV001'), []);
  assert.deepEqual(ids(`import tensorflow as tf\nimport torch\nfor x, y in zip(x_test, y_test):\n    out = model(x)\n`, 'EV001'), []);
});

// ---- DV004: optimizer built from a parameter before `self.model = model.to(device)` ----

test('DV004: Trainer.__init__ builds the optimizer from the parameter model, then moves it', () => {
  const code = `${HEADER}
class Trainer:
    def __init__(self, model, device):
        self.optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        self.model = model.to(device)
`;
  assert.deepEqual(ids(code, 'DV004'), ['DV004']);
  // moved first: right; no move in this scope: the caller may have moved it
  assert.deepEqual(ids(code.replace(/(\s+self\.optimizer.*)\n(\s+self\.model = .*)\n/, '\n$2$1\n'), 'DV004'), []);
  assert.deepEqual(ids(code.replace('model.to(device)', 'model'), 'DV004'), []);
});

// ---- DV007: batch tensors unpacked from the loop target; legacy constructors ----

test('DV007: `inputs, labels = data` then inputs.to(device) (the CIFAR tutorial)', () => {
  const code = `${HEADER}
for i, data in enumerate(trainloader, 0):
    inputs, labels = data
    inputs.to(device)
    outputs = net(inputs)
`;
  assert.deepEqual(ids(code, 'DV007'), ['DV007']);
  // re-bound by something we do not know before the move: silent
  assert.deepEqual(ids(code.replace('    inputs.to(device)', '    inputs, extra = preprocess(inputs)\n    inputs.to(device)'), 'DV007'), []);
  // a model unpacked from a non-batch loop: silent
  assert.deepEqual(ids(`${HEADER}\nfor i, pair in enumerate(models):\n    net, name = pair\n    net.to(device)\n`, 'DV007'), []);
});

test('DV007: torch.FloatTensor / torch.tensor(x).float() bound names', () => {
  assert.deepEqual(ids(`${HEADER}\nX = torch.FloatTensor(X_np)\nX.cuda()\n`, 'DV007'), ['DV007']);
  assert.deepEqual(ids(`${HEADER}\nX2 = torch.tensor(X_np).float()\nX2.to(device)\n`, 'DV007'), ['DV007']);
  assert.deepEqual(ids(`${HEADER}\nnet = build(X_np).float()\nnet.to(device)\n`, 'DV007'), []);
});

// ---- HP001: learning rate through a constant ----

test('HP001: LEARNING_RATE = 0.5 passed to Adam; a sweep loop stays silent', () => {
  const f = lint(`${HEADER}\nLEARNING_RATE = 0.5\noptimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)\n`, { select: ['HP001'] });
  assert.deepEqual(f.map((x) => x.rule), ['HP001']);
  assert.match(f[0]!.message, /LEARNING_RATE = 0\.5/);
  assert.equal(f[0]!.fixes, undefined);
  assert.deepEqual(ids(`${HEADER}\nfor lr in [0.5, 1e-3]:\n    optimizer = torch.optim.Adam(model.parameters(), lr=lr)\n`, 'HP001'), []);
  assert.deepEqual(ids(`${HEADER}\nLEARNING_RATE = 1e-3\noptimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)\n`, 'HP001'), []);
  assert.deepEqual(ids(`${HEADER}\ndef make(model, lr=0.5):\n    return torch.optim.Adam(model.parameters(), lr=lr)\n`, 'HP001'), []);
});

// ---- EV009: np.argmax without axis; single samples (FP) ----

test('EV009: np.argmax(outputs.numpy()) without axis in a test loop; the fix adds axis=1', () => {
  const code = `import numpy as np\n${HEADER}\nwith torch.no_grad():\n    for images, labels in test_loader:\n        outputs = model(images)\n        pred = np.argmax(outputs.numpy())\n`;
  assert.deepEqual(ids(code, 'EV009'), ['EV009']);
  const fixed = fix(code, 'EV009');
  assert.match(fixed, /np\.argmax\(outputs\.numpy\(\), axis=1\)/);
  assert.deepEqual(ids(fixed, 'EV009'), []);
  // the array's own method takes axis too
  assert.match(fix(code.replace('np.argmax(outputs.numpy())', 'outputs.detach().numpy().argmax()'), 'EV009'), /\.argmax\(axis=1\)/);
});

test('EV009: torch.argmax(model(X_test)) on a whole split, no loop', () => {
  assert.deepEqual(ids(`${HEADER}\nwith torch.no_grad():\n    y_pred = model(X_test)\n    pred = torch.argmax(y_pred)\n`, 'EV009'), ['EV009']);
  assert.deepEqual(ids(`${HEADER}\nwith torch.no_grad():\n    y_pred = model(x)\n    pred = torch.argmax(y_pred)\n`, 'EV009'), []);
});

test('EV009 look-alikes: one sample made a batch of one, or a Dataset iterated sample by sample', () => {
  const code = (input: string, over = 'test_loader') => `${HEADER}\nwith torch.no_grad():\n    for img, label in ${over}:\n        output = model(${input})\n        pred = output.argmax().item()\n`;
  assert.deepEqual(ids(code('img'), 'EV009'), ['EV009']);
  assert.deepEqual(ids(code('img.unsqueeze(0)'), 'EV009'), []);
  assert.deepEqual(ids(code('img[None].to(device)'), 'EV009'), []);
  assert.deepEqual(ids(code('img.view(1, -1)'), 'EV009'), []);
  assert.deepEqual(ids(code('img', 'test_dataset'), 'EV009'), []);
  assert.deepEqual(ids(code('img', 'enumerate(val_set)'), 'EV009'), []);
});

// ---- DT006: PIL method chains, and a Dataset's __getitem__ ----

test('DT006: np.array(Image.open(p).convert("RGB")) cast to float and fed to the model', () => {
  const code = `import numpy as np\nfrom PIL import Image\n${HEADER}\nmodel = nn.Sequential(nn.Flatten(), nn.Linear(64 * 64 * 3, 4))\nimg = np.array(Image.open("cat.jpg").convert("RGB").resize((64, 64)))\nx = torch.from_numpy(img).float().unsqueeze(0)\nout = model(x)\n`;
  assert.deepEqual(ids(code, 'DT006'), ['DT006']);
  assert.deepEqual(ids(code.replace('.float().unsqueeze(0)', '.float().unsqueeze(0) / 255.0'), 'DT006'), []);
});

test('DT006: a Dataset whose __getitem__ returns raw float pixels, loaded by a DataLoader', () => {
  const code = `import numpy as np\nfrom PIL import Image\nfrom torch.utils.data import Dataset\n${HEADER}
class ImgDs(Dataset):
    def __init__(self, files, labels):
        self.files, self.labels = files, labels

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        img = np.array(Image.open(self.files[i]).convert("RGB"))
        img = torch.from_numpy(img).permute(2, 0, 1).float()
        return img, self.labels[i]

loader = DataLoader(ImgDs(files, labels), batch_size=32, shuffle=True)
model = nn.Sequential(nn.Flatten(), nn.Linear(64 * 64 * 3, 4))
for imgs, labels in loader:
    out = model(imgs)
`;
  assert.deepEqual(ids(code, 'DT006'), ['DT006']);
  assert.deepEqual(ids(code.replace('.float()\n', '.float() / 255.0\n'), 'DT006'), []);
  // a transform that may scale: silent
  assert.deepEqual(ids(code.replace('        return img,', '        img = self.transform(img)\n        return img,'), 'DT006'), []);
});

// ---- EV005: best-on-test checkpointing at module level ----

test('EV005: module-level epoch loop keeps the best test accuracy', () => {
  const code = (loader: string) => `${HEADER}
best_acc = 0
for epoch in range(100):
    train(model, train_loader)
    correct = 0
    with torch.no_grad():
        for x, y in ${loader}:
            correct += (model(x).argmax(1) == y).sum().item()
    acc = correct / len(${loader}.dataset)
    if acc > best_acc:
        best_acc = acc
        torch.save(model.state_dict(), "best.pth")
`;
  assert.deepEqual(ids(code('test_loader'), 'EV005'), ['EV005']);
  assert.deepEqual(ids(code('val_loader'), 'EV005'), []);
});
