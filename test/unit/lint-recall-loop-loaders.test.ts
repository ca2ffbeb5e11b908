// DT001 on loaders a training loop iterates whatever their name; LS009 on DQN's gathered Q-values and through dataset
// helpers; DV004 on a head's parameters; LS005 (Keras) reads the compile in effect for each fit.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, useParser } from './lint/helpers';

useParser();

const LOOP = (loader: string, body = 'loss = F.mse_loss(model(xb), yb)') => `${HEADER}from torch.utils.data import TensorDataset
torch.manual_seed(0)
model = nn.Linear(8, 1)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
${loader}
for epoch in range(10):
    for xb, yb in loader:
        optimizer.zero_grad()
        ${body}
        loss.backward()
        optimizer.step()
`;

test('DT001: a loader named `loader` that the training loop iterates', () => {
  const code = LOOP('loader = DataLoader(TensorDataset(X_tr, y_tr), batch_size=64)');
  assert.deepEqual(ids(code, 'DT001'), ['DT001']);
  assert.deepEqual(ids(fix(code, 'DT001'), 'DT001'), []);
  // Through enumerate / tqdm and a parameter of the function that trains.
  const fn = `${HEADER}torch.manual_seed(0)
def train(model, dl, opt):
    for i, (x, y) in enumerate(dl):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

dataloader = DataLoader(ds, batch_size=32, num_workers=2)
model = nn.Linear(4, 2)
train(model, dataloader, torch.optim.SGD(model.parameters(), lr=0.1))
`;
  assert.deepEqual(ids(fn, 'DT001'), ['DT001']);
  // A phase dict: {"train": DataLoader(...)}.
  assert.deepEqual(ids(`${HEADER}loaders = {"train": DataLoader(train_ds, batch_size=32), "val": DataLoader(val_ds, batch_size=64)}\n`, 'DT001'), ['DT001']);
});

test('DT001 stays silent: evaluation loops, explicit shuffle=False, samplers, full batches, carried hidden state, sequences', () => {
  // Only iterated by an evaluation loop.
  const evalOnly = `${HEADER}loader = DataLoader(ds, batch_size=64)\nmodel.eval()\nwith torch.no_grad():\n    for xb, yb in loader:\n        out = model(xb)\n`;
  assert.deepEqual(ids(evalOnly, 'DT001'), []);
  assert.deepEqual(ids(LOOP('loader = DataLoader(TensorDataset(X_tr, y_tr), batch_size=64, shuffle=False)'), 'DT001'), []);
  assert.deepEqual(ids(LOOP('loader = DataLoader(ds, batch_size=64, sampler=WeightedRandomSampler(w, len(w)))'), 'DT001'), []);
  assert.deepEqual(ids(LOOP('loader = DataLoader(ds, batch_size=len(ds))'), 'DT001'), []);
  assert.deepEqual(ids(LOOP('val_loader = DataLoader(ds, batch_size=64)\nloader = val_loader'), 'DT001'), []);
  // Stateful RNN: the hidden state goes from one batch to the next.
  const stateful = `${HEADER}torch.manual_seed(0)
loader = DataLoader(ds, batch_size=32)
hidden = None
for epoch in range(10):
    for xb, yb in loader:
        optimizer.zero_grad()
        out, hidden = model(xb, hidden)
        hidden = hidden.detach()
        loss = F.mse_loss(out, yb)
        loss.backward()
        optimizer.step()
`;
  assert.deepEqual(ids(stateful, 'DT001'), []);
  assert.deepEqual(ids(LOOP('loader = DataLoader(SequenceWindows(series, 48), batch_size=64)'), 'DT001'), []);
  // An accumulator read before it is assigned is not a hidden state... but a plain max() of it is not a model call either.
  assert.deepEqual(ids(LOOP('loader = DataLoader(ds, batch_size=64)', 'loss = F.mse_loss(model(xb), yb)\n        best = max(best, loss.item())'), 'DT001'), ['DT001']);
});

const DQN = (q: string, target: string) => `${HEADER}torch.manual_seed(0)
policy_net = nn.Sequential(nn.Linear(4, 64), nn.ReLU(), nn.Linear(64, 2))
target_net = nn.Sequential(nn.Linear(4, 64), nn.ReLU(), nn.Linear(64, 2))
optimizer = torch.optim.Adam(policy_net.parameters(), lr=1e-3)
for step in range(100):
    s, s2 = torch.randn(64, 4), torch.randn(64, 4)
    a = torch.randint(0, 2, (64,))
    r = torch.randn(64)
    d = torch.FloatTensor(dones)
    q = ${q}
    with torch.no_grad():
        target = ${target}
    loss = nn.MSELoss()(q, target)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
`;

test('LS009: DQN gathers (N, 1) Q-values against a (N,) TD target', () => {
  const code = DQN('policy_net(s).gather(1, a.unsqueeze(1))', 'r + 0.99 * target_net(s2).max(1)[0] * (1 - d)');
  assert.deepEqual(ids(code, 'LS009'), ['LS009']);
  assert.deepEqual(ids(fix(code, 'LS009'), 'LS009'), []);
  assert.deepEqual(ids(DQN('policy_net(s).gather(1, a.view(-1, 1))', 'r + 0.99 * target_net(s2).max(dim=1).values'), 'LS009'), ['LS009']);
  assert.deepEqual(ids(DQN('torch.gather(policy_net(s), 1, a[:, None])', 'r + 0.99 * torch.max(target_net(s2), 1)[0]'), 'LS009'), ['LS009']);
});

test('LS009: DQN look-alikes with matching shapes stay silent', () => {
  assert.deepEqual(ids(DQN('policy_net(s).gather(1, a.unsqueeze(1)).squeeze(1)', 'r + 0.99 * target_net(s2).max(1)[0]'), 'LS009'), []);
  assert.deepEqual(ids(DQN('policy_net(s).gather(1, a.unsqueeze(1))', '(r + 0.99 * target_net(s2).max(1)[0]).unsqueeze(1)'), 'LS009'), []);
  assert.deepEqual(ids(DQN('policy_net(s).gather(1, a.unsqueeze(1))', 'r.unsqueeze(1) + 0.99 * target_net(s2).max(1)[0].unsqueeze(1)'), 'LS009'), []);
  assert.deepEqual(ids(DQN('policy_net(s).gather(1, a.unsqueeze(1))', 'rewards + 0.99 * target_net(s2).max(1, keepdim=True)[0]'), 'LS009'), []);
  // The PyTorch tutorial: actions already (B, 1) from torch.cat, target unsqueezed.
  assert.deepEqual(ids(DQN('policy_net(s).gather(1, action_batch)', 'r + 0.99 * target_net(s2).max(1)[0]'), 'LS009'), []);
});

test('LS009: the target comes from a TensorDataset built by a helper function of the file', () => {
  const code = (ret: string) => `import pandas as pd
${HEADER}from torch.utils.data import TensorDataset
torch.manual_seed(0)
df = pd.read_csv('ratings.csv')

def to_ds(d):
    return TensorDataset(torch.tensor(d.userId.values, dtype=torch.long), ${ret})

train_loader = DataLoader(to_ds(df), batch_size=1024, shuffle=True)
model = nn.Sequential(nn.Embedding(1000, 16), nn.Linear(16, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.MSELoss()
for epoch in range(5):
    for u, r in train_loader:
        optimizer.zero_grad()
        loss = loss_fn(model(u), r)
        loss.backward()
        optimizer.step()
`;
  assert.deepEqual(ids(code('torch.tensor(d.rating.values, dtype=torch.float32)'), 'LS009'), ['LS009']);
  assert.deepEqual(ids(code('torch.tensor(d.rating.values, dtype=torch.float32).unsqueeze(1)'), 'LS009'), []);
});

test('DV004: the optimizer takes a head (model.fc.parameters()) before the model is moved', () => {
  const code = (order: string) => `${HEADER}import torchvision.models as models
device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
model = models.resnet18(weights="IMAGENET1K_V1")
model.fc = nn.Linear(model.fc.in_features, 2)
${order}
`;
  assert.deepEqual(ids(code('optimizer = torch.optim.SGD(model.fc.parameters(), lr=0.001)\nmodel = model.to(device)'), 'DV004'), ['DV004']);
  assert.deepEqual(ids(code('model = model.to(device)\noptimizer = torch.optim.SGD(model.fc.parameters(), lr=0.001)'), 'DV004'), []);
  assert.deepEqual(ids(code('optimizer = torch.optim.SGD(model.fc.parameters(), lr=0.001)\nother = other.to(device)'), 'DV004'), []);
});

test('LS005 (Keras): each fit is checked against its own compile', () => {
  const code = (second: string) => `import numpy as np
from tensorflow import keras
from tensorflow.keras.utils import to_categorical
y_train = to_categorical(train_labels)
model = keras.Sequential([keras.layers.Dense(3, activation="softmax")])
model.compile(optimizer="adam", loss="categorical_crossentropy")
model.fit(x_train, y_train, epochs=2)
${second}
`;
  // Another model compiled with the sparse loss, trained on integer labels: nothing wrong.
  assert.deepEqual(ids(code('other = keras.Sequential([keras.layers.Dense(3, activation="softmax")])\nother.compile(optimizer="adam", loss="sparse_categorical_crossentropy")\nother.fit(x_train, train_labels)'), 'LS005'), []);
  // The same model re-compiled with the sparse loss after the first fit, then fitted on one-hot labels again.
  assert.deepEqual(ids(code('model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")\nmodel.fit(x_train, y_train, epochs=2)'), 'LS005'), ['LS005']);
  // Compiled in a builder function of the file.
  const built = `from tensorflow import keras
from tensorflow.keras.utils import to_categorical
def build():
    m = keras.Sequential([keras.layers.Dense(3, activation="softmax")])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return m
model = build()
model.fit(x_train, to_categorical(train_labels), epochs=2)
`;
  assert.deepEqual(ids(built, 'LS005'), ['LS005']);
});
