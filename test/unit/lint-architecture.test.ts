import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

const net = (init: string, forward: string) =>
  `${HEADER}\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n${init
    .split('\n')
    .map((l) => `        ${l}`)
    .join('\n')}\n\n    def forward(self, x):\n${forward
    .split('\n')
    .map((l) => `        ${l}`)
    .join('\n')}\n`;

test('AR001: conv then BatchNorm in nn.Sequential; fix adds bias=False', () => {
  const code = `${HEADER}\nblock = nn.Sequential(nn.Conv2d(3, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU())\n`;
  assert.deepEqual(ids(code), ['AR001']);
  const fixed = fix(code, 'AR001');
  assert.match(fixed, /nn\.Conv2d\(3, 64, 3, padding=1, bias=False\)/);
  assert.deepEqual(ids(fixed), []);
  assert.deepEqual(ids(`${HEADER}\nblock = nn.Sequential(nn.Conv2d(3, 64, 3, bias=False), nn.BatchNorm2d(64))\n`), []);
  assert.deepEqual(ids(`${HEADER}\nblock = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.BatchNorm1d(8))\n`), []);
});

test('AR001: forward order self.bn(self.conv(x)) and x = self.conv(x); x = self.bn(x)', () => {
  const nested = `${HEADER}\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.conv = nn.Conv2d(3, 8, 3)\n        self.bn = nn.BatchNorm2d(8)\n\n    def forward(self, x):\n        return F.relu(self.bn(self.conv(x)))\n`;
  assert.deepEqual(ids(nested), ['AR001']);
  const seq = nested.replace('return F.relu(self.bn(self.conv(x)))', 'x = self.conv(x)\n        x = self.bn(x)\n        return x');
  assert.deepEqual(ids(seq), ['AR001']);
  const ok = nested.replace('nn.Conv2d(3, 8, 3)', 'nn.Conv2d(3, 8, 3, bias=False)');
  assert.deepEqual(ids(ok), []);
});

test('AR002: Dropout right before BatchNorm in Sequential (fix swaps) and in forward', () => {
  const code = `${HEADER}\nhead = nn.Sequential(nn.Linear(64, 32, bias=False), nn.ReLU(), nn.Dropout(0.3), nn.BatchNorm1d(32))\n`;
  assert.deepEqual(ids(code), ['AR002']);
  const fixed = fix(code, 'AR002');
  assert.match(fixed, /nn\.BatchNorm1d\(32\), nn\.Dropout\(0\.3\)\)/);
  assert.deepEqual(ids(fixed), []);
  const fwd = net('self.conv = nn.Conv2d(3, 8, 3, bias=False)\nself.drop = nn.Dropout2d(0.2)\nself.bn = nn.BatchNorm2d(8)', 'x = self.drop(F.relu(self.conv(x)))\nx = self.bn(x)\nreturn x');
  assert.deepEqual(ids(fwd), ['AR002']);
  assert.deepEqual(ids(`${HEADER}\nx = F.dropout(x, 0.5)\ny = bn(x)\n`), [], 'outside a model: unknown');
});

test('AR002: negatives: BatchNorm then Dropout, Dropout then Linear then BatchNorm', () => {
  assert.deepEqual(ids(`${HEADER}\nhead = nn.Sequential(nn.Linear(64, 32, bias=False), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.3))\n`), []);
  assert.deepEqual(ids(`${HEADER}\nhead = nn.Sequential(nn.Dropout(0.3), nn.Linear(64, 32, bias=False), nn.BatchNorm1d(32), nn.ReLU())\n`), []);
  const branch = net('self.drop = nn.Dropout(0.2)\nself.bn = nn.BatchNorm1d(8)', 'if self.training:\n    x = self.drop(x)\nreturn self.bn(x)');
  assert.deepEqual(ids(branch), []);
});

test('AR003: activation after the output layer of a Sequential fed to CrossEntropyLoss; fix removes it', () => {
  const code = `${HEADER}\nmodel = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10), nn.Tanh())\ncriterion = nn.CrossEntropyLoss()\nloss = criterion(model(x), y)\n`;
  assert.deepEqual(ids(code), ['AR003']);
  const fixed = fix(code, 'AR003');
  assert.match(fixed, /nn\.Linear\(128, 10\)\)/);
  assert.deepEqual(ids(fixed), []);
  const dropout = code.replace('nn.Linear(128, 10), nn.Tanh())', 'nn.Linear(128, 10), nn.Dropout(0.5))');
  assert.deepEqual(ids(dropout), ['AR003']);
  const relu = code.replace('nn.Linear(128, 10), nn.Tanh())', 'nn.Linear(128, 10), nn.ReLU())');
  assert.deepEqual(ids(relu), ['LS006'], 'a final ReLU into CrossEntropyLoss is LS006, not reported twice');
  const reluBce = `${HEADER}\nmodel = nn.Sequential(nn.Linear(16, 1), nn.ReLU())\nloss = nn.BCEWithLogitsLoss()(model(x), y)\n`;
  assert.deepEqual(ids(reluBce), ['AR003']);
});

test('AR003: forward returning relu(fc(x)) / dropout; BCEWithLogits with a softmax; through a model parameter', () => {
  const code = net('self.fc1 = nn.Linear(20, 64)\nself.fc2 = nn.Linear(64, 3)', 'x = F.relu(self.fc1(x))\nreturn torch.tanh(self.fc2(x))') + 'model = Net()\ncriterion = nn.CrossEntropyLoss()\n\ndef train(model, loader):\n    for x, y in loader:\n        loss = criterion(model(x), y)\n';
  assert.deepEqual(ids(code), ['AR003']);
  const fixed = fix(code, 'AR003');
  assert.match(fixed, /return self\.fc2\(x\)/);
  assert.deepEqual(ids(fixed), []);
  const bce = net('self.fc = nn.Linear(20, 4)', 'return torch.softmax(self.fc(x), dim=1)') + 'model = Net()\nloss = nn.BCEWithLogitsLoss()(model(x), y)\n';
  assert.deepEqual(ids(bce), ['AR003']);
});

test('AR003: negatives and look-alikes: softmax into CE is LS001, sigmoid into BCEWithLogits is LS002, hidden ReLU, unknown models', () => {
  const sm = `${HEADER}\nmodel = nn.Sequential(nn.Linear(784, 10), nn.Softmax(dim=1))\ncriterion = nn.CrossEntropyLoss()\nloss = criterion(model(x), y)\n`;
  assert.deepEqual(ids(sm, 'AR003'), []);
  assert.ok(ids(sm).includes('LS001'));
  const sig = `${HEADER}\nmodel = nn.Sequential(nn.Linear(784, 1), nn.Sigmoid())\nloss = nn.BCEWithLogitsLoss()(model(x), y)\n`;
  assert.deepEqual(ids(sig, 'AR003'), []);
  assert.deepEqual(ids(`${HEADER}\nmodel = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))\nloss = F.cross_entropy(model(x), y)\n`), []);
  assert.deepEqual(ids(`${HEADER}\nmodel = nn.Sequential(nn.Linear(784, 10), nn.ReLU())\nloss = F.mse_loss(model(x), y)\n`), [], 'regression: ReLU output is fine');
  assert.deepEqual(ids(`${HEADER}\nmodel = nn.Sequential(backbone, nn.ReLU())\nloss = F.cross_entropy(model(x), y)\n`), [], 'no known output layer');
  assert.deepEqual(ids(`${HEADER}\ndef train(model, x, y):\n    return F.cross_entropy(model(x), y)\n`), []);
});

test('AR004: stacked Linear layers in Sequential (fix inserts ReLU) and in forward', () => {
  const code = `${HEADER}\nmlp = nn.Sequential(nn.Linear(784, 256), nn.Linear(256, 10))\n`;
  assert.deepEqual(ids(code), ['AR004']);
  const fixed = fix(code, 'AR004');
  assert.match(fixed, /nn\.Linear\(784, 256\), nn\.ReLU\(\), nn\.Linear\(256, 10\)/);
  assert.deepEqual(ids(fixed), []);
  assert.deepEqual(ids(`${HEADER}\nmlp = nn.Sequential(nn.Linear(784, 256), nn.Dropout(0.2), nn.Linear(256, 10))\n`), ['AR004']);
  assert.deepEqual(ids(`import torch\nmlp = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Conv2d(8, 8, 3))\n`), ['AR004']);
  const fwd = net('self.fc1 = nn.Linear(10, 32)\nself.fc2 = nn.Linear(32, 2)', 'x = self.fc1(x)\nx = self.fc2(x)\nreturn x');
  assert.deepEqual(ids(fwd), ['AR004']);
  assert.deepEqual(ids(net('self.fc1 = nn.Linear(10, 32)\nself.fc2 = nn.Linear(32, 2)', 'h = self.fc1(x)\nreturn self.fc2(h)')), ['AR004']);
  const nested = `${HEADER}\nmlp = nn.Sequential(nn.Linear(8, 8), nn.Sequential(nn.Linear(8, 4), nn.ReLU()))\n`;
  assert.deepEqual(ids(nested), ['AR004']);
});

test('AR004: negatives: activations between, LoRA / bias=False factorisations, depthwise-separable convs, residuals', () => {
  assert.deepEqual(ids(`${HEADER}\nmlp = nn.Sequential(nn.Linear(784, 256), nn.GELU(), nn.Linear(256, 10))\n`), []);
  assert.deepEqual(ids(`${HEADER}\nmlp = nn.Sequential(nn.Linear(784, 256), nn.LayerNorm(256), nn.Linear(256, 10))\n`), []);
  assert.deepEqual(ids(`${HEADER}\nlow_rank = nn.Sequential(nn.Linear(512, 16, bias=False), nn.Linear(16, 512, bias=False))\n`), []);
  assert.deepEqual(ids(`${HEADER}\nsep = nn.Sequential(nn.Conv2d(32, 32, 3, groups=32), nn.Conv2d(32, 64, 1))\n`), []);
  assert.deepEqual(ids(net('self.lora_A = nn.Linear(64, 8)\nself.lora_B = nn.Linear(8, 64)', 'return self.lora_B(self.lora_A(x))')), []);
  assert.deepEqual(ids(net('self.fc1 = nn.Linear(10, 10)\nself.fc2 = nn.Linear(10, 10)', 'x = x + self.fc1(x)\nreturn self.fc2(F.relu(x))')), []);
  assert.deepEqual(ids(net('self.fc1 = nn.Linear(10, 10)\nself.fc2 = nn.Linear(10, 10)', 'x = torch.tanh(self.fc1(x))\nreturn self.fc2(x)')), []);
  assert.deepEqual(ids(net('self.fc1 = nn.Linear(10, 10)\nself.fc2 = nn.Linear(10, 10)', 'for _ in range(3):\n    x = self.fc1(x)\nreturn self.fc2(x)')), []);
});

test('AR005: model.forward(x) and self.net.forward(x); fix calls the module', () => {
  const code = `${HEADER}\nmodel = nn.Linear(10, 2)\nout = model.forward(x)\n`;
  assert.deepEqual(ids(code), ['AR005']);
  const fixed = fix(code, 'AR005');
  assert.match(fixed, /out = model\(x\)/);
  assert.deepEqual(ids(fixed), []);
  const inner = net('self.net = nn.Sequential(nn.Linear(4, 4), nn.ReLU())', 'return self.net.forward(x)');
  assert.deepEqual(ids(inner), ['AR005']);
  assert.deepEqual(ids(`${HEADER}\ndef evaluate(model, x):\n    return model.forward(x)\n`), ['AR005']);
});

test('AR005: negatives: super().forward, self.forward, Base.forward(self, x), unknown objects', () => {
  const sub = `${HEADER}\nclass Base(nn.Module):\n    def forward(self, x):\n        return x\n\nclass Child(Base):\n    def forward(self, x):\n        y = super().forward(x)\n        z = Base.forward(self, x)\n        return self.forward2(y)\n\n    def predict(self, x):\n        return self.forward(x)\n`;
  assert.deepEqual(ids(sub), []);
  assert.deepEqual(ids(`${HEADER}\nresult = pipeline.forward(batch)\nstep = obj.forward(1)\n`), []);
});

test('AR006: softmax / log_softmax / nn.Softmax() without dim; fix adds dim=-1', () => {
  const code = `${HEADER}\nprobs = F.softmax(logits)\n`;
  assert.deepEqual(ids(code), ['AR006']);
  const fixed = fix(code, 'AR006');
  assert.match(fixed, /F\.softmax\(logits, dim=-1\)/);
  assert.deepEqual(ids(fixed), []);
  const layer = `${HEADER}\nact = nn.LogSoftmax()\n`;
  assert.deepEqual(ids(layer), ['AR006']);
  assert.match(fix(layer, 'AR006'), /nn\.LogSoftmax\(dim=-1\)/);
  assert.deepEqual(ids(fix(layer, 'AR006')), []);
  assert.deepEqual(ids(`${HEADER}\nlp = F.log_softmax(out, dim=None)\n`), ['AR006']);
});

test('AR006: dim=0 only when evident (a model output, a conv Sequential); other dims and torch.softmax are fine', () => {
  assert.deepEqual(ids(`${HEADER}\nmodel = nn.Sequential(nn.Linear(4, 3))\nprobs = F.softmax(model(x), dim=0)\n`), ['AR006']);
  assert.deepEqual(ids(`${HEADER}\nnet = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Softmax(dim=0))\n`), ['AR006']);
  assert.deepEqual(ids(`${HEADER}\nweights = F.softmax(scores, dim=0)\n`), [], 'attention over a sequence axis');
  assert.deepEqual(ids(`${HEADER}\nprobs = F.softmax(logits, 1)\np = F.softmax(logits, dim=-1)\nq = torch.softmax(x, dim=1)\nr = nn.Softmax(dim=1)\nt = nn.Softmax(1)\n`), []);
});

test('AR007: constant / zero weight init on hidden layers, isinstance-guarded init, all parameters', () => {
  const code = net('self.fc1 = nn.Linear(10, 32)\nself.fc2 = nn.Linear(32, 2)\nnn.init.zeros_(self.fc1.weight)', 'return self.fc2(F.relu(self.fc1(x)))');
  assert.deepEqual(ids(code), ['AR007']);
  assert.deepEqual(ids(code.replace('nn.init.zeros_(self.fc1.weight)', 'self.fc1.weight.data.fill_(0)')), ['AR007']);
  const guarded = `${HEADER}\ndef init_weights(m):\n    if isinstance(m, (nn.Linear, nn.Conv2d)):\n        nn.init.constant_(m.weight, 0.5)\n        nn.init.zeros_(m.bias)\n\nmodel.apply(init_weights)\n`;
  assert.deepEqual(ids(guarded), ['AR007']);
  const params = `${HEADER}\nmodel = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))\nfor p in model.parameters():\n    nn.init.zeros_(p)\n`;
  assert.deepEqual(ids(params), ['AR007']);
});

test('AR007: negatives: biases, BatchNorm weights, the final layer, random inits, zero_module helpers', () => {
  const bn = `${HEADER}\ndef init_weights(m):\n    if isinstance(m, nn.Conv2d):\n        nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")\n        nn.init.zeros_(m.bias)\n    elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):\n        nn.init.constant_(m.weight, 1)\n        nn.init.constant_(m.bias, 0)\n    elif isinstance(m, nn.Linear):\n        nn.init.normal_(m.weight, 0, 0.01)\n        nn.init.constant_(m.bias, 0)\n`;
  assert.deepEqual(ids(bn), []);
  const last = net('self.fc1 = nn.Linear(10, 32)\nself.head = nn.Linear(32, 2)\nnn.init.zeros_(self.head.weight)\nnn.init.zeros_(self.fc1.bias)\nself.fc1.bias.data.fill_(0.01)', 'return self.head(F.relu(self.fc1(x)))');
  assert.deepEqual(ids(last), []);
  const zeroModule = `${HEADER}\ndef zero_module(module):\n    for p in module.parameters():\n        p.detach().zero_()\n    return module\n`;
  assert.deepEqual(ids(zeroModule), []);
  assert.deepEqual(ids(`${HEADER}\nfor name, p in model.named_parameters():\n    if "bias" in name:\n        nn.init.zeros_(p)\n`), []);
});

test('architecture rules stay silent on half-typed code', () => {
  const code = `${HEADER}\nmodel = nn.Sequential(nn.Linear(4, 4), nn.Linear(4,\n`;
  assert.doesNotThrow(() => lint(code));
});

test('AR007: DCGAN-style class-name tests and .data targets', () => {
  const code = `${HEADER}\ndef weights_init(m):\n    classname = m.__class__.__name__\n    if classname.find("Linear") != -1:\n        nn.init.constant_(m.weight.data, 0.0)\n    elif classname.find("BatchNorm") != -1:\n        nn.init.constant_(m.weight.data, 1.0)\n        nn.init.constant_(m.bias.data, 0)\n`;
  assert.deepEqual(ids(code), ['AR007']);
  const dcgan = `${HEADER}\ndef weights_init(m):\n    classname = m.__class__.__name__\n    if classname.find("Conv") != -1:\n        nn.init.normal_(m.weight.data, 0.0, 0.02)\n    elif classname.find("BatchNorm") != -1:\n        nn.init.normal_(m.weight.data, 1.0, 0.02)\n        nn.init.constant_(m.bias.data, 0)\n`;
  assert.deepEqual(ids(dcgan), []);
  assert.deepEqual(ids(`${HEADER}\nfor m in model.modules():\n    if type(m) == nn.Linear:\n        m.weight.data.fill_(0)\n`), ['AR007']);
});

test('AR002 / AR003 / AR004 in Keras models: Dropout before BatchNormalization, Dropout as the output, linear Dense stacks', () => {
  const K = 'from tensorflow import keras\nfrom tensorflow.keras import layers\n';
  const bn = `${K}m = keras.Sequential([layers.Dense(64, activation="relu"), layers.Dropout(0.3), layers.BatchNormalization(), layers.Dense(10, activation="softmax")])\n`;
  assert.deepEqual(ids(bn), ['AR002']);
  const fixedBn = fix(bn, 'AR002');
  assert.match(fixedBn, /layers\.BatchNormalization\(\), layers\.Dropout\(0\.3\)/);
  assert.deepEqual(ids(fixedBn), []);
  const add = `from keras.models import Sequential\nfrom keras.layers import Dense\nmodel = Sequential()\nmodel.add(Dense(64, input_dim=8))\nmodel.add(Dense(1, activation="sigmoid"))\nmodel.compile(loss="binary_crossentropy", optimizer="adam")\n`;
  assert.deepEqual(ids(add), ['AR004']);
  const fixedAdd = fix(add, 'AR004');
  assert.match(fixedAdd, /Dense\(64, input_dim=8, activation="relu"\)/);
  assert.deepEqual(ids(fixedAdd), []);
  const out = `${K}m = keras.Sequential([layers.Dense(64, activation="relu"), layers.Dense(10, activation="softmax"), layers.Dropout(0.5)])\nm.compile(optimizer="adam", loss="categorical_crossentropy")\n`;
  assert.deepEqual(ids(out), ['AR003']);
  assert.deepEqual(ids(fix(out, 'AR003')), []);
  // look-alikes: activation layers between Dense layers, an uncompiled feature block ending in Dropout
  assert.deepEqual(ids(`${K}m = keras.Sequential([layers.Dense(64, use_bias=False), layers.BatchNormalization(), layers.Activation("relu"), layers.Dense(10)])\n`), []);
  assert.deepEqual(ids(`${K}m = keras.Sequential([layers.Dense(64), layers.LeakyReLU(), layers.Dense(10)])\n`), []);
  assert.deepEqual(ids(`${K}block = keras.Sequential([layers.Dense(64, activation="relu"), layers.Dropout(0.2)])\n`), []);
});

test('AR005 / AR003 follow `model = model.to(device)` re-bindings', () => {
  const code = `${HEADER}\nmodel = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3), nn.Dropout(0.1))\nmodel = model.to(device)\nout = model.forward(x)\nloss = F.cross_entropy(out, y)\n`;
  assert.deepEqual(ids(code).sort(), ['AR003', 'AR005']);
});

test('AR002 / AR003 fixes keep multi-line Sequential formatting', () => {
  const code = `${HEADER}\nmodel = nn.Sequential(\n    nn.Linear(32, 16, bias=False),\n    nn.Dropout(0.2),\n    nn.BatchNorm1d(16),\n    nn.ReLU(),\n    nn.Linear(16, 4),\n    nn.Dropout(0.1),\n)\nloss = F.cross_entropy(model(x), y)\n`;
  assert.deepEqual(ids(code).sort(), ['AR002', 'AR003']);
  const swapped = fix(code, 'AR002');
  assert.match(swapped, /nn\.BatchNorm1d\(16\),\n {4}nn\.Dropout\(0\.2\),/);
  const removed = fix(swapped, 'AR003');
  assert.match(removed, /nn\.Linear\(16, 4\),\n\)/);
  assert.deepEqual(ids(removed), []);
});

test('AR007: a zero-initialised gate whose output does not feed another layer is not reported', () => {
  const gate = net('self.gate = nn.Linear(16, 1)\nself.fc = nn.Linear(16, 16)\nself.out = nn.Linear(16, 4)\nnn.init.zeros_(self.gate.weight)', 'g = torch.sigmoid(self.gate(x))\nh = F.relu(self.fc(x)) * g\nreturn self.out(h)');
  assert.deepEqual(ids(gate), []);
  const hidden = net('self.fc = nn.Linear(16, 16)\nself.out = nn.Linear(16, 4)\nself.fc.weight.data.zero_()', 'x = self.fc(x)\nx = torch.tanh(x)\nreturn self.out(x)');
  assert.deepEqual(ids(hidden), ['AR007']);
});
