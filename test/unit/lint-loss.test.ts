import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

const softmaxModel = `
${HEADER}
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 3)

    def forward(self, x):
        return F.softmax(self.fc(x), dim=1)

model = Net()
criterion = nn.CrossEntropyLoss()
out = model(x)
loss = criterion(out, y)
`;

test('LS001: softmax in forward reaches CrossEntropyLoss through a variable', () => {
  const f = lint(softmaxModel, { select: ['LS001'] });
  assert.equal(f.length, 1);
  assert.match(f[0]!.message, /softmax probabilities \(line 12\)/);
});

test('LS001: fix drops the softmax from forward, then the file is clean', () => {
  const fixed = fix(softmaxModel, 'LS001');
  assert.match(fixed, /return self\.fc\(x\)/);
  assert.deepEqual(ids(fixed, 'LS001'), []);
});

test('LS001: direct wrapper at the call site, F.cross_entropy, fix', () => {
  const code = `${HEADER}\nloss = F.cross_entropy(F.softmax(logits, dim=1), y)\n`;
  assert.deepEqual(ids(code, 'LS001'), ['LS001']);
  const fixed = fix(code, 'LS001');
  assert.match(fixed, /F\.cross_entropy\(logits, y\)/);
  assert.deepEqual(ids(fixed), []);
});

test('LS001: x.softmax(1), torch.softmax and log_softmax all count', () => {
  assert.deepEqual(ids(`${HEADER}\ncriterion = nn.CrossEntropyLoss()\nloss = criterion(out.softmax(1), y)\n`, 'LS001'), ['LS001']);
  assert.deepEqual(ids(`${HEADER}\nloss = nn.CrossEntropyLoss()(torch.softmax(out, -1), y)\n`, 'LS001'), ['LS001']);
  const f = lint(`${HEADER}\nloss = F.cross_entropy(F.log_softmax(out, 1), y)\n`, { select: ['LS001'] });
  assert.match(f[0]!.message, /log_softmax/);
});

test('LS001: self.softmax = nn.Softmax layer in forward, with statement-removing fix', () => {
  const code = `
${HEADER}
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 3)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x):
        x = self.fc(x)
        x = self.softmax(x)
        return x

def train(model, loader, optimizer):
    criterion = nn.CrossEntropyLoss()
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()

train(Net(), loader, opt)
`;
  assert.deepEqual(ids(code, 'LS001'), ['LS001']);
  const fixed = fix(code, 'LS001');
  assert.doesNotMatch(fixed, /x = self\.softmax\(x\)/);
  assert.deepEqual(ids(fixed, 'LS001'), []);
});

test('LS001: nn.Sequential ending in nn.Softmax, fix removes the layer', () => {
  const code = `${HEADER}\nmodel = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3), nn.Softmax(dim=1))\ncriterion = nn.CrossEntropyLoss()\nloss = criterion(model(x), y)\n`;
  assert.deepEqual(ids(code, 'LS001'), ['LS001']);
  const fixed = fix(code, 'LS001');
  assert.match(fixed, /nn\.Linear\(8, 3\)\)/);
  assert.deepEqual(ids(fixed, 'LS001'), []);
});

test('LS001: a function of the file that returns softmax; self.criterion in a class', () => {
  const code = `${HEADER}\ndef predict(model, x):\n    return torch.softmax(model(x), dim=1)\n\nclass Trainer:\n    def __init__(self):\n        self.criterion = nn.CrossEntropyLoss()\n\n    def step(self, x, y):\n        return self.criterion(predict(self.model, x), y)\n`;
  assert.deepEqual(ids(code, 'LS001'), ['LS001']);
});

test('LS001: negatives: logits into CE, softmax only for metrics, unknown model', () => {
  const code = `
${HEADER}
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 3)

    def forward(self, x):
        return self.fc(x)

model = Net()
criterion = nn.CrossEntropyLoss()
logits = model(x)
probs = F.softmax(logits, dim=1)
loss = criterion(logits, y)
acc = (probs.argmax(1) == y).float().mean()
loss2 = criterion(other_model(x), y)
`;
  assert.deepEqual(ids(code), []);
});

test('LS002: sigmoid into BCEWithLogitsLoss; fix; metric-only sigmoid is fine', () => {
  const bad = `${HEADER}\ncriterion = nn.BCEWithLogitsLoss()\nout = model(x)\nloss = criterion(torch.sigmoid(out), y)\n`;
  assert.deepEqual(ids(bad, 'LS002'), ['LS002']);
  assert.match(fix(bad, 'LS002'), /criterion\(out, y\)/);
  const metric = `${HEADER}\ncriterion = nn.BCEWithLogitsLoss()\nlogits = model(x).squeeze(1)\nloss = criterion(logits, y)\npreds = torch.sigmoid(logits) > 0.5\nacc = (preds == y).float().mean()\n`;
  assert.deepEqual(ids(metric), []);
});

test('LS002: through forward and F.binary_cross_entropy_with_logits; BCELoss after sigmoid is not LS002', () => {
  const code = `${HEADER}\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(4, 1)\n\n    def forward(self, x):\n        return torch.sigmoid(self.fc(x))\n\nnet = Net()\nloss = F.binary_cross_entropy_with_logits(net(x), y)\nloss2 = nn.BCELoss()(net(x), y)\n`;
  const f = lint(code, { select: ['LS002'] });
  assert.equal(f.length, 1);
  assert.equal(f[0]!.range.start.line, 14);
});

test('LS003: softmax into NLLLoss with a rename fix; raw logits; log_softmax is fine', () => {
  const bad = `${HEADER}\nloss = F.nll_loss(F.softmax(out, dim=1), y)\n`;
  assert.deepEqual(ids(bad, 'LS003'), ['LS003']);
  const fixed = fix(bad, 'LS003');
  assert.match(fixed, /F\.log_softmax\(out, dim=1\)/);
  assert.deepEqual(ids(fixed), []);
  const logits = `${HEADER}\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(4, 3)\n\n    def forward(self, x):\n        return self.fc(x)\n\nmodel = Net()\ncriterion = nn.NLLLoss()\nloss = criterion(model(x), y)\n`;
  assert.match(lint(logits, { select: ['LS003'] })[0]!.message, /raw logits/);
  const good = `${HEADER}\ncriterion = nn.NLLLoss()\nloss = criterion(F.log_softmax(model(x), dim=1), y)\nloss_fn = F.nll_loss\nl2 = loss_fn(torch.log_softmax(z, 1), y)\n`;
  assert.deepEqual(ids(good), []);
});

// ---- LS004: log of probabilities ----
test('LS004: torch.log(F.softmax(...)) direct; fix uses log_softmax; clean after', () => {
  const code = `${HEADER}loss = -(y_onehot * torch.log(F.softmax(logits, dim=1))).sum(1).mean()\n`;
  assert.deepEqual(ids(code), ['LS004']);
  const fixed = fix(code, 'LS004');
  assert.match(fixed, /y_onehot \* F\.log_softmax\(logits, dim=1\)\)/);
  assert.deepEqual(ids(fixed), []);
  const meth = `${HEADER}lp = logits.softmax(-1).log()\n`;
  assert.deepEqual(ids(meth), ['LS004']);
  assert.match(fix(meth, 'LS004'), /lp = logits\.log_softmax\(-1\)/);
});

test('LS004: through a variable, sigmoid (fix: logsigmoid), and TF tf.log(tf.nn.softmax)', () => {
  assert.deepEqual(ids(`${HEADER}probs = F.softmax(logits, dim=1)\nloss = -(y * torch.log(probs)).sum()\n`), ['LS004']);
  const sig = `${HEADER}lp = torch.log(torch.sigmoid(z))\n`;
  assert.deepEqual(ids(sig), ['LS004']);
  const fixed = fix(sig, 'LS004');
  assert.match(fixed, /lp = F\.logsigmoid\(z\)/);
  assert.deepEqual(ids(fixed), []);
  const tfc = 'import tensorflow as tf\ny_conv = tf.nn.softmax(tf.matmul(h, W) + b)\ncross_entropy = -tf.reduce_sum(y_ * tf.log(y_conv))\n';
  assert.deepEqual(ids(tfc), ['LS004']);
  const tfd = 'import tensorflow as tf\nce = -tf.reduce_sum(y_ * tf.math.log(tf.nn.softmax(z)))\n';
  assert.match(fix(tfd, 'LS004'), /y_ \* tf\.nn\.log_softmax\(z\)/);
});

test('LS004: clamped / epsilon logs, log of other values, log_softmax: fine', () => {
  assert.deepEqual(ids(`${HEADER}probs = F.softmax(logits, dim=1)\nent = -(probs * torch.log(probs + 1e-8)).sum(1)\n`), []);
  assert.deepEqual(ids(`${HEADER}probs = F.softmax(logits, dim=1)\nlp = torch.log(probs.clamp(min=1e-7))\n`), []);
  assert.deepEqual(ids(`${HEADER}lp = F.log_softmax(logits, dim=1)\nv = torch.log(var)\n`), []);
  assert.deepEqual(ids('import tensorflow as tf\nce = -tf.reduce_sum(y_ * tf.math.log(tf.clip_by_value(y_conv, 1e-10, 1.0)))\n'), []);
});

// ---- LS005: wrong target kind ----
test('LS005: BCE with .long() targets; fix uses .float(); clean after', () => {
  const code = `${HEADER}criterion = nn.BCEWithLogitsLoss()\nloss = criterion(model(x).squeeze(1), y.long())\n`;
  assert.deepEqual(ids(code), ['LS005']);
  const fixed = fix(code, 'LS005');
  assert.match(fixed, /y\.float\(\)\)/);
  assert.deepEqual(ids(fixed), []);
});

test('LS005: one-hot into CrossEntropyLoss / NLLLoss, float targets into NLLLoss, max(1)[0] as target', () => {
  const oh = `${HEADER}loss = F.cross_entropy(out, F.one_hot(y, 10))\n`;
  assert.deepEqual(ids(oh), ['LS005']);
  const fixed = fix(oh, 'LS005');
  assert.match(fixed, /F\.cross_entropy\(out, y\)/);
  assert.deepEqual(ids(fixed), []);
  // float one-hot into NLLLoss (no probability targets there): reported, no fix through the name
  const nllOh = lint(`${HEADER}t = F.one_hot(y, 10).float()\nloss = F.nll_loss(F.log_softmax(out, 1), t)\n`, { select: ['LS005'] });
  assert.equal(nllOh.length, 1);
  assert.equal(nllOh[0]!.fixes, undefined);
  assert.deepEqual(ids(`${HEADER}loss = F.nll_loss(F.log_softmax(out, 1), y.float())\n`), ['LS005']);
  assert.match(fix(`${HEADER}loss = F.nll_loss(F.log_softmax(out, 1), y.float())\n`, 'LS005'), /y\.long\(\)/);
  const mx = `${HEADER}criterion = nn.CrossEntropyLoss()\nloss = criterion(out, torch.max(labels, 1)[0])\n`;
  assert.deepEqual(ids(mx), ['LS005']);
  assert.deepEqual(ids(fix(mx, 'LS005')), []);
});

test('LS005: indices, float one-hot probabilities into CrossEntropyLoss, float BCE targets: fine', () => {
  assert.deepEqual(ids(`${HEADER}loss = F.cross_entropy(out, y)\nloss2 = F.cross_entropy(out, F.one_hot(y, 10).float())\n`), []);
  assert.deepEqual(ids(`${HEADER}loss = F.cross_entropy(out, y.long())\nl2 = nn.BCEWithLogitsLoss()(out, y.float())\n`), []);
  assert.deepEqual(ids(`${HEADER}loss = F.cross_entropy(out, labels.max(1)[1])\n`), []);
});

// ---- LS006: ReLU on the final logits ----
test('LS006: nn.Sequential ending in Linear + ReLU before CrossEntropyLoss; fix drops the ReLU', () => {
  const code = `${HEADER}model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10), nn.ReLU())\ncriterion = nn.CrossEntropyLoss()\nloss = criterion(model(x), y)\n`;
  // AR003 (activation after the output layer, architecture group) reports the same layer from the model side.
  assert.deepEqual(ids(code, 'LS006'), ['LS006']);
  const fixed = fix(code, 'LS006');
  assert.match(fixed, /nn\.Linear\(128, 10\)\)/);
  assert.deepEqual(ids(fixed), []);
});

test('LS006: F.relu(self.fc_out(x)) returned by forward; through a name in forward', () => {
  const code = `${HEADER}class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc1 = nn.Linear(10, 32)\n        self.fc2 = nn.Linear(32, 3)\n\n    def forward(self, x):\n        x = F.relu(self.fc1(x))\n        return F.relu(self.fc2(x))\n\nmodel = Net()\nloss = F.cross_entropy(model(x), y)\n`;
  assert.deepEqual(ids(code, 'LS006'), ['LS006']);
  const fixed = fix(code, 'LS006');
  assert.match(fixed, /return self\.fc2\(x\)/);
  assert.deepEqual(ids(fixed), []);
  const viaName = code.replace('        return F.relu(self.fc2(x))', '        x = F.relu(self.fc2(x))\n        return x');
  assert.deepEqual(ids(viaName, 'LS006'), ['LS006']);
});

test('LS006: hidden ReLUs, regression heads, ReLU not after a linear layer, unknown models: fine', () => {
  assert.deepEqual(ids(`${HEADER}model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))\nloss = nn.CrossEntropyLoss()(model(x), y)\n`), []);
  assert.deepEqual(ids(`${HEADER}model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1), nn.ReLU())\nloss = nn.MSELoss()(model(x), y)\n`), []);
  assert.deepEqual(ids(`${HEADER}def train(model, x, y):\n    loss = F.cross_entropy(model(x), y)\n`), []);
});

// ---- LS007: sigmoid + BCELoss ----
test('LS007: sigmoid at the call with BCELoss (info); fix switches to BCEWithLogitsLoss on the logits', () => {
  const code = `${HEADER}criterion = nn.BCELoss()\nloss = criterion(torch.sigmoid(model(x)), y)\n`;
  const f = lint(code);
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}`), ['LS007:info']);
  const fixed = fix(code, 'LS007');
  assert.match(fixed, /criterion = nn\.BCEWithLogitsLoss\(\)\nloss = criterion\(model\(x\), y\)/);
  assert.deepEqual(ids(fixed), []);
  const fn = `${HEADER}loss = F.binary_cross_entropy(out.sigmoid(), y)\n`;
  assert.deepEqual(ids(fn), ['LS007']);
  assert.match(fix(fn, 'LS007'), /F\.binary_cross_entropy_with_logits\(out, y\)/);
  // through a variable in the same function: reported, no fix
  const viaVar = lint(`${HEADER}p = torch.sigmoid(logits)\nloss = F.binary_cross_entropy(p, y)\nacc = ((p > 0.5) == y).float().mean()\n`);
  assert.deepEqual(viaVar.map((x) => x.rule), ['LS007']);
  assert.equal(viaVar[0]!.fixes, undefined);
});

test('LS007: a model ending in nn.Sigmoid with BCELoss is reported without a fix; BCEWithLogitsLoss and metric sigmoids are fine', () => {
  const dcgan = `${HEADER}netD = nn.Sequential(nn.Linear(784, 1), nn.Sigmoid())\ncriterion = nn.BCELoss()\nerr = criterion(netD(x).view(-1), label)\n`;
  const f = lint(dcgan, { select: ['LS007'] });
  assert.equal(f.length, 1);
  assert.equal(f[0]!.fixes, undefined);
  // BCELoss on probabilities that do not come from a sigmoid the file shows: silent
  assert.deepEqual(ids(`${HEADER}criterion = nn.BCELoss()\nloss = criterion(probs, y)\n`), []);
  assert.deepEqual(ids(`${HEADER}logits = model(x)\nloss = nn.BCEWithLogitsLoss()(logits, y)\npreds = torch.sigmoid(logits) > 0.5\n`), []);
});

// ---- LS008: reduction='sum' with an SGD lr tuned for the mean ----
test("LS008: reduction='sum' back-propagated with SGD lr=0.1 (info); fix uses mean", () => {
  const code = `${HEADER}optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\ncriterion = nn.MSELoss(reduction='sum')\nfor x, y in loader:\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.step()\n`;
  const f = lint(code);
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}`), ['LS008:info']);
  const fixed = fix(code, 'LS008');
  assert.match(fixed, /reduction='mean'/);
  assert.deepEqual(ids(fixed), []);
});

test("LS008: Adam, divided by the batch size, evaluation sums, tiny lr: fine", () => {
  const base = (opt: string, lossLine: string) => `${HEADER}optimizer = ${opt}\nfor x, y in loader:\n    optimizer.zero_grad()\n    ${lossLine}\n    loss.backward()\n    optimizer.step()\n`;
  assert.deepEqual(ids(base('torch.optim.Adam(model.parameters(), lr=1e-3)', "loss = F.mse_loss(model(x), y, reduction='sum')")), []);
  assert.deepEqual(ids(base('torch.optim.SGD(model.parameters(), lr=0.1)', "loss = F.mse_loss(model(x), y, reduction='sum') / x.size(0)")), []);
  assert.deepEqual(ids(base('torch.optim.SGD(model.parameters(), lr=1e-5)', "loss = F.mse_loss(model(x), y, reduction='sum')")), []);
  assert.deepEqual(ids(`${HEADER}optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\ntest_loss += F.nll_loss(output, target, reduction="sum").item()\n`), []);
  const divided = `${HEADER}optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\nloss = F.mse_loss(model(x), y, reduction='sum')\nloss /= len(x)\nloss.backward()\n`;
  assert.deepEqual(ids(divided), []);
});

test('LS005: Keras sparse_categorical_crossentropy with to_categorical labels; integer labels are fine', () => {
  const code = 'from tensorflow import keras\ny_train = keras.utils.to_categorical(y_train, 10)\nmodel.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])\nmodel.fit(x_train, y_train, epochs=5)\n';
  assert.deepEqual(ids(code, 'LS005'), ['LS005']);
  const ok = 'from tensorflow import keras\nmodel.compile(optimizer="adam", loss="sparse_categorical_crossentropy")\nmodel.fit(x_train, y_train, epochs=5)\n';
  assert.deepEqual(ids(ok, 'LS005'), []);
  const cat = 'from tensorflow import keras\ny_train = keras.utils.to_categorical(y_train, 10)\nmodel.compile(optimizer="adam", loss="categorical_crossentropy")\nmodel.fit(x_train, y_train, epochs=5)\n';
  assert.deepEqual(ids(cat, 'LS005'), []);
});

test('LS006: criterion built but called elsewhere; only top-level models of a CE-only file count', () => {
  const net = `${HEADER}class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc1 = nn.Linear(64, 64)\n        self.fc2 = nn.Linear(64, 10)\n\n    def forward(self, x):\n        x = F.relu(self.fc1(x))\n        return F.relu(self.fc2(x))\n\n`;
  assert.deepEqual(ids(`${net}criterion = nn.CrossEntropyLoss()\n`, 'LS006'), ['LS006']);
  // an encoder that ends in ReLU and feeds a head is not the classifier's output
  assert.deepEqual(ids(`${net}model = nn.Sequential(Net(), nn.Linear(10, 3))\ncriterion = nn.CrossEntropyLoss()\n`, 'LS006'), []);
  assert.deepEqual(ids(`${net}enc = Net()\nmodel = Classifier(enc)\ncriterion = nn.CrossEntropyLoss()\n`, 'LS006'), []);
  // a regression loss in the file: the ReLU may be meant
  assert.deepEqual(ids(`${net}criterion = nn.CrossEntropyLoss()\naux = nn.MSELoss()\n`, 'LS006'), []);
});
