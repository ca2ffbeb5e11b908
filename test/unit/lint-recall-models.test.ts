// Recall on sequence / generative / Keras training code written in common real-world styles: GANs stepping two
// optimizers, per-step training functions, time-series windows, Keras heads sized by constants, batch-first RNNs,
// conv autoencoders. Each positive has a look-alike that must stay silent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

const GAN_SETUP = `${HEADER}
netG = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
netD = nn.Sequential(nn.Linear(4, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))
optD = torch.optim.Adam(netD.parameters(), lr=2e-4)
optG = torch.optim.Adam(netG.parameters(), lr=2e-4)
crit = nn.BCEWithLogitsLoss()
`;

const ganLoop = (dReset: string, gReset: string) => `${GAN_SETUP}
for real in loader:
    z = torch.randn(16, 8)
    ${dReset}
    d_loss = crit(netD(real), ones) + crit(netD(netG(z).detach()), zeros)
    d_loss.backward()
    optD.step()
    ${gReset}
    g_loss = crit(netD(netG(z)), ones)
    g_loss.backward()
    optG.step()
`;

test('TL001 (GAN): the generator optimizer is never reset while the discriminator one is', () => {
  const code = ganLoop('optD.zero_grad()', 'pass');
  const f = lint(code, { select: ['TL001'] });
  assert.deepEqual(f.map((x) => x.rule), ['TL001']);
  assert.match(f[0]!.message, /optG\.step\(\).*never optG's/);
  const fixed = fix(code, 'TL001');
  assert.match(fixed, /for real in loader:\n {4}optG\.zero_grad\(\)\n/);
  assert.deepEqual(ids(fixed, 'TL001'), []);
  // netG.zero_grad() is a reset of netD's optimizer? No: optD was built from netD.parameters().
  assert.deepEqual(ids(ganLoop('netG.zero_grad()', 'netG.zero_grad()'), 'TL001'), ['TL001']);
});

test('TL001 (GAN): look-alikes done right stay silent', () => {
  // pytorch/examples DCGAN: model.zero_grad() before each part.
  assert.deepEqual(ids(ganLoop('netD.zero_grad()', 'netG.zero_grad()'), 'TL001'), []);
  assert.deepEqual(ids(ganLoop('optD.zero_grad()', 'optG.zero_grad()'), 'TL001'), []);
  // One model.zero_grad() whose owner is not known per optimizer, a helper, p.grad = None: count for both.
  assert.deepEqual(ids(ganLoop('model.zero_grad()', 'pass'), 'TL001'), []);
  assert.deepEqual(ids(`${ganLoop('reset_all()', 'pass')}\ndef reset_all():\n    for o in (optD, optG):\n        o.zero_grad()\n`, 'TL001'), []);
  // Optimizers built over several models: ownership unknown, so any zero_grad counts.
  const shared = ganLoop('optD.zero_grad()', 'pass').replace('optG = torch.optim.Adam(netG.parameters(), lr=2e-4)', 'optG = torch.optim.Adam(list(netG.parameters()) + list(netD.parameters()))');
  assert.deepEqual(ids(shared, 'TL001'), []);
  // WGAN: generator step every n_critic iterations, reset inside the same branch.
  const wgan = `${GAN_SETUP}
for i, real in enumerate(loader):
    optD.zero_grad()
    d_loss = -netD(real).mean() + netD(netG(z).detach()).mean()
    d_loss.backward()
    optD.step()
    if i % n_critic == 0:
        optG.zero_grad()
        g_loss = -netD(netG(z)).mean()
        g_loss.backward()
        optG.step()
`;
  assert.deepEqual(ids(wgan, 'TL001'), []);
});

const STEP_FN = `${HEADER}torch.manual_seed(0)
model = nn.Linear(10, 2)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

def train_step(x, y):
    """One optimisation step."""
    RESET_IN
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()

for epoch in range(10):
    for x, y in loader:
        RESET_OUT
        train_step(x, y)
`;

test('TL001: a per-step function called in a loop never resets gradients; the fix goes into the function', () => {
  const code = STEP_FN.replace(/ *RESET_IN\n/, '').replace(/ *RESET_OUT\n/, '');
  const f = lint(code, { select: ['TL001'] });
  assert.deepEqual(f.map((x) => x.rule), ['TL001']);
  assert.match(f[0]!.message, /train_step\(\) is called in a loop/);
  const fixed = fix(code, 'TL001');
  assert.match(fixed, /"""One optimisation step."""\n {4}optimizer\.zero_grad\(\)\n {4}loss = /);
  assert.deepEqual(ids(fixed, 'TL001'), []);
});

test('TL001: per-step function look-alikes: reset in the function, in the caller loop, or a function never called in a loop', () => {
  assert.deepEqual(ids(STEP_FN.replace('RESET_IN', 'optimizer.zero_grad()').replace(/ *RESET_OUT\n/, ''), 'TL001'), []);
  assert.deepEqual(ids(STEP_FN.replace(/ *RESET_IN\n/, '').replace('RESET_OUT', 'optimizer.zero_grad()'), 'TL001'), []);
  assert.deepEqual(ids(STEP_FN.replace(/ *RESET_IN\n/, '').replace('RESET_OUT', 'model.zero_grad()'), 'TL001'), []);
  // reset after the step, at the end of the function
  assert.deepEqual(ids(STEP_FN.replace(/ *RESET_IN\n/, '').replace(/ *RESET_OUT\n/, '').replace('    return loss.item()', '    optimizer.zero_grad()\n    return loss.item()'), 'TL001'), []);
  // called once, not in a loop
  const once = STEP_FN.replace(/ *RESET_IN\n/, '').replace(/for epoch[\s\S]*$/, 'train_step(x, y)\n');
  assert.deepEqual(ids(once, 'TL001'), []);
  // a method of a class with the same name is not the function the loop calls
  const method = STEP_FN.replace(/ *RESET_IN\n/, '').replace(/ *RESET_OUT\n/, '').replace('def train_step(x, y):', 'class T:\n  def train_step(x, y):');
  assert.deepEqual(ids(method, 'TL001'), []);
});

test('RP001: a script whose loop calls a per-step function is a training script', () => {
  const code = STEP_FN.replace('torch.manual_seed(0)\n', '').replace('RESET_IN', 'optimizer.zero_grad()').replace(/ *RESET_OUT\n/, '').replace('for epoch', 'loader = DataLoader(ds, batch_size=8, shuffle=True)\nfor epoch');
  assert.deepEqual(ids(code, 'RP001'), ['RP001']);
});

const SK = 'import numpy as np\nimport torch\nfrom sklearn.preprocessing import MinMaxScaler\n';

test('DT003: scaled series windowed into lists, then sliced; and a slice wrapped in torch.tensor', () => {
  const windows = `${SK}scaler = MinMaxScaler()
scaled = scaler.fit_transform(series)
X, y = [], []
for i in range(30, len(scaled)):
    X.append(scaled[i - 30:i, 0])
    y.append(scaled[i, 0])
X, y = np.array(X), np.array(y)
split = int(0.8 * len(X))
X_train, X_test = X[:split], X[split:]
`;
  assert.deepEqual(ids(windows, 'DT003'), ['DT003']);
  const wrapped = `${SK}data = MinMaxScaler().fit_transform(data)\nn = int(0.8 * len(data))\nX_train = torch.tensor(data[:n], dtype=torch.float32)\n`;
  assert.deepEqual(ids(wrapped, 'DT003'), ['DT003']);
  assert.deepEqual(ids(`${SK}data = MinMaxScaler().fit_transform(data)\ntrain_t = torch.from_numpy(data[:800]).float()\n`, 'DT003'), ['DT003']);
});

test('DT003: look-alikes: fitted on the training slice, only the length read, name re-assigned from raw data', () => {
  const sliceFit = `${SK}n_train = int(0.8 * len(data))\nscaler = MinMaxScaler()\nscaler.fit(data[:n_train])\nscaled = scaler.transform(data)\ntrain_data = scaled[:n_train]\n`;
  assert.deepEqual(ids(sliceFit, 'DT003'), []);
  const lengthOnly = `${SK}scaled = MinMaxScaler().fit_transform(other)\nn = len(scaled)\nX_train = raw[:n]\n`;
  assert.deepEqual(ids(lengthOnly, 'DT003'), []);
  const reassigned = `${SK}scaled = MinMaxScaler().fit_transform(series)\nX = []\nfor i in range(10):\n    X.append(scaled[i])\nX = np.load("fresh.npy")\nX_train = X[:800]\n`;
  assert.deepEqual(ids(reassigned, 'DT003'), []);
  // split before the data was scaled into the list
  const before = `${SK}X = np.load("x.npy")\nX_train = X[:800]\nscaled = MinMaxScaler().fit_transform(series)\nX = np.array([scaled[i] for i in range(10)])\n`;
  assert.deepEqual(ids(before, 'DT003'), []);
});

const KS = 'from tensorflow.keras.models import Sequential\nfrom tensorflow.keras.layers import Dense, LSTM, Dropout, Conv1D, MaxPooling1D, Embedding, GlobalMaxPooling1D, TimeDistributed, RepeatVector\n';

test('KR002: softmax width given by a constant or len(...) with binary_crossentropy', () => {
  const constant = `${KS}NUM_CLASSES = 5\nmodel = Sequential([Dense(64, activation="relu"), Dense(NUM_CLASSES, activation="softmax")])\nmodel.compile(optimizer="adam", loss="binary_crossentropy")\n`;
  const f = lint(constant, { select: ['KR002'] });
  assert.deepEqual(f.map((x) => x.rule), ['KR002']);
  assert.match(f[0]!.message, /softmax over 5 units/);
  const fromLen = `${KS}model = Sequential([Dense(64, activation="relu"), Dense(len(classes), activation="softmax")])\nmodel.compile(optimizer="adam", loss="binary_crossentropy")\n`;
  assert.deepEqual(ids(fromLen, 'KR002'), ['KR002']);
});

test('KR002: look-alikes: constant softmax with categorical loss, multi-label sigmoid, a constant of 1 left to KR001', () => {
  assert.deepEqual(ids(`${KS}N = 5\nmodel = Sequential([Dense(64, activation="relu"), Dense(N, activation="softmax")])\nmodel.compile(optimizer="adam", loss="categorical_crossentropy")\n`, 'KR002'), []);
  assert.deepEqual(ids(`${KS}model = Sequential([Dense(64, activation="relu"), Dense(len(tags), activation="sigmoid")])\nmodel.compile(optimizer="adam", loss="binary_crossentropy")\n`, 'KR002'), []);
  assert.deepEqual(ids(`${KS}N = 1\nmodel = Sequential([Dense(64, activation="relu"), Dense(N, activation="softmax")])\nmodel.compile(optimizer="adam", loss="binary_crossentropy")\n`, 'KR002'), []);
});

test('KR004: last LSTM returns sequences into a one-unit Dense head; Conv1D/MaxPooling1D into Dense without Flatten', () => {
  const rnn = `${KS}model = Sequential()\nmodel.add(LSTM(50, return_sequences=True, input_shape=(60, 1)))\nmodel.add(Dropout(0.2))\nmodel.add(LSTM(50, return_sequences=True))\nmodel.add(Dropout(0.2))\nmodel.add(Dense(1))\nmodel.compile(optimizer="adam", loss="mean_squared_error")\n`;
  const f = lint(rnn, { select: ['KR004'] });
  assert.deepEqual(f.map((x) => x.rule), ['KR004']);
  assert.match(f[0]!.message, /return_sequences=True/);
  const conv = `${KS}model = Sequential()\nmodel.add(Embedding(10000, 64, input_length=200))\nmodel.add(Conv1D(128, 5, activation="relu"))\nmodel.add(MaxPooling1D(5))\nmodel.add(Dense(1, activation="sigmoid"))\nmodel.compile(loss="binary_crossentropy", optimizer="adam")\n`;
  assert.deepEqual(ids(conv, 'KR004'), ['KR004']);
});

test('KR004: sequence look-alikes: last LSTM without return_sequences, pooling, taggers, TimeDistributed, autoencoders, 3-D targets', () => {
  const ok = `${KS}model = Sequential([LSTM(50, return_sequences=True, input_shape=(60, 1)), LSTM(50), Dense(1)])\nmodel.compile(optimizer="adam", loss="mse")\n`;
  assert.deepEqual(ids(ok, 'KR004'), []);
  const pooled = `${KS}model = Sequential([Embedding(1000, 32), Conv1D(64, 5, activation="relu"), GlobalMaxPooling1D(), Dense(1, activation="sigmoid")])\nmodel.compile(optimizer="adam", loss="binary_crossentropy")\n`;
  assert.deepEqual(ids(pooled, 'KR004'), []);
  const tagger = `${KS}model = Sequential([Embedding(1000, 32), LSTM(64, return_sequences=True), Dense(n_tags, activation="softmax")])\nmodel.compile(optimizer="adam", loss="sparse_categorical_crossentropy")\n`;
  assert.deepEqual(ids(tagger, 'KR004'), []);
  const td = `${KS}model = Sequential([LSTM(64, return_sequences=True, input_shape=(30, 1)), TimeDistributed(Dense(1))])\nmodel.compile(optimizer="adam", loss="mse")\n`;
  assert.deepEqual(ids(td, 'KR004'), []);
  const ae = `${KS}model = Sequential([LSTM(64, input_shape=(30, 1)), RepeatVector(30), LSTM(64, return_sequences=True), Dense(1)])\nmodel.compile(optimizer="adam", loss="mse")\n`;
  assert.deepEqual(ids(ae, 'KR004'), []);
  const seq3d = `${KS}model = Sequential([LSTM(64, return_sequences=True, input_shape=(30, 1)), Dense(1)])\nmodel.compile(optimizer="adam", loss="mse")\nmodel.fit(X, y.reshape(-1, 30, 1), epochs=5)\n`;
  assert.deepEqual(ids(seq3d, 'KR004'), []);
  const noLoss = `${KS}model = Sequential([LSTM(64, return_sequences=True, input_shape=(30, 1)), Dense(1)])\n`;
  assert.deepEqual(ids(noLoss, 'KR004'), []);
});

const rnnNet = (ctor: string, fwd: string) => `${HEADER}
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = ${ctor}
        self.fc = nn.Linear(32, 2)

    def forward(self, x):
${fwd
  .split('\n')
  .map((l) => `        ${l}`)
  .join('\n')}
`;

test('AR008: batch_first=True output read sequence-first (out[-1], out[-1, :, :], out[0, :, :])', () => {
  const code = rnnNet('nn.LSTM(8, 32, batch_first=True)', 'out, _ = self.lstm(x)\nreturn self.fc(out[-1])');
  const f = lint(code, { select: ['AR008'] });
  assert.deepEqual(f.map((x) => x.rule), ['AR008']);
  assert.match(f[0]!.message, /batch_first=True.*last sample of the batch/);
  assert.deepEqual(ids(rnnNet('nn.GRU(8, 32, num_layers=2, batch_first=True)', 'out, h = self.lstm(x)\nreturn self.fc(out[-1, :, :])'), 'AR008'), ['AR008']);
  assert.deepEqual(ids(rnnNet('nn.LSTM(8, 32, batch_first=True)', 'return self.fc(self.lstm(x)[0][0, :, :])'), 'AR008'), ['AR008']);
});

test('AR008: batch_first=True look-alikes: out[:, -1], h_n[-1], out[0] on a batch of one, permuted output, variable batch_first', () => {
  assert.deepEqual(ids(rnnNet('nn.LSTM(8, 32, batch_first=True)', 'out, _ = self.lstm(x)\nreturn self.fc(out[:, -1, :])'), 'AR008'), []);
  assert.deepEqual(ids(rnnNet('nn.LSTM(8, 32, batch_first=True)', 'out, (h, c) = self.lstm(x)\nreturn self.fc(h[-1])'), 'AR008'), []);
  assert.deepEqual(ids(rnnNet('nn.LSTM(8, 32, batch_first=True)', 'out, _ = self.lstm(x)\nreturn self.fc(out[0])'), 'AR008'), []);
  assert.deepEqual(ids(rnnNet('nn.LSTM(8, 32, batch_first=True)', 'out, _ = self.lstm(x.unsqueeze(0))\nreturn self.fc(out[-1])'), 'AR008'), []);
  assert.deepEqual(ids(rnnNet('nn.LSTM(8, 32, batch_first=True)', 'out, _ = self.lstm(x)\nout = out.permute(1, 0, 2)\nreturn self.fc(out[-1])'), 'AR008'), []);
  assert.deepEqual(ids(rnnNet('nn.LSTM(8, 32, batch_first=bf)', 'out, _ = self.lstm(x)\nreturn self.fc(out[-1])'), 'AR008'), []);
});

test('AR004: an encoder ending in a conv and a decoder starting with a transposed conv are separate blocks', () => {
  const ae = `${HEADER}
class ConvAutoencoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(1, 16, 3, stride=2, padding=1), nn.ReLU(True), nn.Conv2d(16, 64, 7))
        self.decoder = nn.Sequential(nn.ConvTranspose2d(64, 16, 7), nn.ReLU(True), nn.ConvTranspose2d(16, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))
`;
  assert.deepEqual(ids(ae, 'AR004'), []);
  // Within one block the stacked convolutions are still reported.
  assert.deepEqual(ids(ae.replace('nn.ReLU(True), nn.Conv2d(16, 64, 7)', 'nn.Conv2d(16, 64, 7)'), 'AR004'), ['AR004']);
});
