// Session 8, testers' findings on TL014 (parameter-free swaps), TL015 (save/return sinks, tuple assignments),
// TL008 (`out.loss`), HP001 (clipped SGD, lr=1.0, Adam on one Linear) and KR006 (targets bounded by construction).
// Each positive has a look-alike negative.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, useParser } from './lint/helpers';

useParser();

// ---- TL014 ----

const SWAP = (swap: string) => `${HEADER}from torchvision import models
model = models.resnet18(num_classes=10)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
${swap}
for x, y in loader:
    optimizer.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
`;

test('TL014 stays silent on parameter-free swaps: fc = Identity, maxpool = Identity, a Dropout wrapping the old fc', () => {
  assert.deepEqual(ids(SWAP('model.fc = nn.Identity()'), 'TL014'), []);
  assert.deepEqual(ids(SWAP('model.maxpool = nn.Identity()'), 'TL014'), []);
  assert.deepEqual(ids(SWAP('model.relu = nn.LeakyReLU(0.1, inplace=True)'), 'TL014'), []);
  assert.deepEqual(ids(SWAP('model.fc = nn.Sequential(nn.Dropout(0.2), model.fc)'), 'TL014'), []);
});

test('TL014 still reports a new parametric layer, also inside a container', () => {
  assert.deepEqual(ids(SWAP('model.fc = nn.Linear(512, 10)'), 'TL014'), ['TL014']);
  assert.deepEqual(ids(SWAP('model.fc = nn.Sequential(nn.Dropout(0.2), nn.Linear(512, 10))'), 'TL014'), ['TL014']);
  assert.deepEqual(ids(SWAP('model.act = nn.PReLU()'), 'TL014'), ['TL014']);
});

// ---- TL015 ----

const KEEP = (keep: string, after: string) => `${HEADER}
best_acc, best_state = 0.0, None
for epoch in range(60):
    train_one_epoch(model, train_loader, optimizer)
    acc = validate(model, val_loader)
    if acc > best_acc:
        ${keep}
${after}
`;

test('TL015: torch.save(best_state) or a checkpoint dict holding it after the loop', () => {
  assert.deepEqual(ids(KEEP('best_acc, best_state = acc, model.module.state_dict()', 'torch.save(best_state, "best.pth")'), 'TL015'), ['TL015']);
  assert.deepEqual(ids(KEEP('best_state = model.state_dict()', 'torch.save({"model": best_state, "acc": best_acc}, "best.pth")'), 'TL015'), ['TL015']);
  // Saved inside the loop, right when it is the best: correct.
  assert.deepEqual(ids(KEEP('best_state = model.state_dict()\n        torch.save(best_state, "best.pth")', 'print(best_acc)'), 'TL015'), []);
  // A copy: correct.
  assert.deepEqual(ids(KEEP('best_state = copy.deepcopy(model.state_dict())', 'torch.save(best_state, "best.pth")'), 'TL015'), []);
});

test('TL015: a state kept every epoch and saved after the loop is the last one on purpose', () => {
  const code = `${HEADER}
for epoch in range(60):
    train_one_epoch(model, train_loader, optimizer)
    if epoch % 10 == 0:
        last_state = model.state_dict()
torch.save(last_state, "last.pth")
`;
  assert.deepEqual(ids(code, 'TL015'), []);
});

test('TL015: `return best_state` after the loop of a train function; not when the model is rebuilt in the loop', () => {
  const code = (build: string) => `${HEADER}
def train(model, loader, epochs):
    best_loss, best_state = float("inf"), None
    for epoch in range(epochs):
        ${build}
        val_loss = fit_one_epoch(model, loader)
        if val_loss < best_loss:
            best_loss = val_loss
            best_state = model.state_dict()
    return best_state
`;
  assert.deepEqual(ids(code('model.train()'), 'TL015'), ['TL015']);
  assert.deepEqual(ids(code('model = make_model()'), 'TL015'), []);
});

test('TL015 on tuple assignments: `best_mse, best_model, wait = val_mse, model, 0` and a state_dict element', () => {
  const code = (keep: string, after: string) => `${HEADER}
import numpy as np
model = nn.Linear(8, 1)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
best_mse, best_model, wait = np.inf, None, 0
for epoch in range(100):
    opt.zero_grad()
    loss = F.mse_loss(model(X), y)
    loss.backward()
    opt.step()
    if loss.item() < best_mse:
        ${keep}
${after}
`;
  const alias = code('best_mse, best_model, wait = loss.item(), model, 0', 'print(best_model(X).mean())');
  assert.deepEqual(ids(alias, 'TL015'), ['TL015']);
  assert.match(fix(alias, 'TL015'), /best_mse, best_model, wait = loss\.item\(\), copy\.deepcopy\(model\), 0/);
  assert.deepEqual(ids(code('best_mse, best_state = loss.item(), model.state_dict()', 'model.load_state_dict(best_state)'), 'TL015'), ['TL015']);
  // Look-alikes: a copy in the tuple, or the model kept under a name never read after the loop.
  assert.deepEqual(ids(code('best_mse, best_model, wait = loss.item(), copy.deepcopy(model), 0', 'print(best_model(X).mean())'), 'TL015'), []);
  assert.deepEqual(ids(code('best_mse, best_state = loss.item(), {k: v.clone() for k, v in model.state_dict().items()}', 'model.load_state_dict(best_state)'), 'TL015'), []);
});

// ---- TL008 ----

const HF = (backward: string, add: string) => `${HEADER}
for epoch in range(2):
    epoch_loss = 0
    for batch in train_dl:
        optimizer.zero_grad()
        out = model(**batch)
        ${backward}
        optimizer.step()
        ${add}
`;

test('TL008: `epoch_loss += out.loss`, `outputs[0]`, `outputs["loss"]` accumulated while back-propagated', () => {
  assert.deepEqual(ids(HF('out.loss.backward()', 'epoch_loss += out.loss'), 'TL008'), ['TL008']);
  assert.deepEqual(ids(HF('out[0].backward()', 'epoch_loss += out[0]'), 'TL008'), ['TL008']);
  assert.deepEqual(ids(HF('out["loss"].backward()', 'epoch_loss += out["loss"] * 4'), 'TL008'), ['TL008']);
  assert.match(fix(HF('out.loss.backward()', 'epoch_loss += out.loss'), 'TL008'), /epoch_loss \+= out\.loss\.item\(\)/);
});

test('TL008 look-alikes: .item(), another field than the back-propagated one, a variable key', () => {
  assert.deepEqual(ids(HF('out.loss.backward()', 'epoch_loss += out.loss.item()'), 'TL008'), []);
  assert.deepEqual(ids(HF('out.loss.backward()', 'epoch_loss += out.aux_loss'), 'TL008'), []);
  assert.deepEqual(ids(HF('out[i].backward()', 'epoch_loss += out[i]'), 'TL008'), []);
});

// ---- HP001 ----

const LM = (lr: string, clip: string) => `${HEADER}
model = nn.LSTM(32, 32)
optimizer = torch.optim.SGD(model.parameters(), lr=${lr})
for x, y in loader:
    optimizer.zero_grad()
    out, _ = model(x)
    loss = F.mse_loss(out, y)
    loss.backward()
    ${clip}
    optimizer.step()
`;

test('HP001: SGD lr=20 with clip_grad_norm_ (word_language_model) and SGD lr=1.0 are fine', () => {
  assert.deepEqual(ids(LM('20', 'torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)'), 'HP001'), []);
  assert.deepEqual(ids(LM('1.0', 'pass'), 'HP001'), []);
  assert.deepEqual(ids('from tensorflow import keras\nopt = keras.optimizers.SGD(learning_rate=20, clipnorm=0.25)', 'HP001'), []);
});

test('HP001 still reports SGD lr above 1 without clipping, and Adam lr>=0.1 even with clipping', () => {
  assert.deepEqual(ids(LM('20', 'pass'), 'HP001'), ['HP001']);
  assert.deepEqual(ids(LM('1.5', 'pass'), 'HP001'), ['HP001']);
  const adam = `${HEADER}
model = Net()
optimizer = torch.optim.Adam(model.parameters(), lr=0.5)
torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
`;
  assert.deepEqual(ids(adam, 'HP001'), ['HP001']);
});

test('HP001: Adam lr=5 on a single nn.Linear (d2l house prices) is not reported; on a deeper model it is', () => {
  const code = (net: string) => `${HEADER}
net = ${net}
optimizer = torch.optim.Adam(net.parameters(), lr=5, weight_decay=0)
`;
  assert.deepEqual(ids(code('nn.Sequential(nn.Linear(331, 1))'), 'HP001'), []);
  assert.deepEqual(ids(code('nn.Linear(331, 1)'), 'HP001'), []);
  assert.deepEqual(ids(code('nn.Sequential(nn.Linear(331, 64), nn.ReLU(), nn.Linear(64, 1))'), 'HP001'), ['HP001']);
});

// ---- KR006 ----

const KERAS = (data: string, act: string) => `import numpy as np
from tensorflow import keras
${data}
model = keras.Sequential([keras.layers.Dense(16, activation='relu', input_shape=(4,)), keras.layers.Dense(1, activation='${act}')])
model.compile(optimizer='adam', loss='mse')
model.fit(X, Y, epochs=5)
`;

test('KR006: targets bounded by construction (sin with tanh, /255, /max, hand min-max) are not reported', () => {
  assert.deepEqual(ids(KERAS('t = np.linspace(0, 100, 2000)\ns = np.sin(t)\nX = np.stack([s[i:i + 4] for i in range(1990)])\nY = s[4:1994]', 'tanh'), 'KR006'), []);
  assert.deepEqual(ids(KERAS('X = np.random.rand(500, 4)\nY = counts / counts.max()', 'sigmoid'), 'KR006'), []);
  assert.deepEqual(ids(KERAS('X = np.random.rand(500, 4)\nY = pixels[:, 0] / 255.0', 'sigmoid'), 'KR006'), []);
  assert.deepEqual(ids(KERAS('price = np.random.rand(500) * 300\nX = np.random.rand(500, 4)\nY = (price - price.min()) / (price.max() - price.min())', 'sigmoid'), 'KR006'), []);
  assert.deepEqual(
    ids(KERAS('from sklearn.model_selection import train_test_split\nX0 = np.random.rand(500, 4)\nyy = np.cos(np.random.rand(500))\nX, X_te, Y, Y_te = train_test_split(X0, yy)', 'tanh'), 'KR006'),
    [],
  );
});

test('KR006 look-alikes: sin targets into a sigmoid, images /255 but raw targets', () => {
  assert.deepEqual(ids(KERAS('t = np.linspace(0, 100, 2000)\nY = np.sin(t)\nX = np.random.rand(2000, 4)', 'sigmoid'), 'KR006'), ['KR006']);
  assert.deepEqual(ids(KERAS('X = images / 255.0\nY = ages', 'sigmoid'), 'KR006'), ['KR006']);
  assert.deepEqual(
    ids(KERAS('from sklearn.model_selection import train_test_split\nX0 = imgs / 255.0\nX, X_te, Y, Y_te = train_test_split(X0, prices)', 'sigmoid'), 'KR006'),
    ['KR006'],
  );
});
