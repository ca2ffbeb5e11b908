import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

const PD = `${HEADER}import numpy as np\nimport pandas as pd\nfrom torch.utils.data import TensorDataset\nfrom sklearn.model_selection import train_test_split\n`;

/** A house-prices script: a pandas column target, a (N, 1) model, a TensorDataset loader. */
const house = (opts: { y?: string; model?: string; loss?: string; extra?: string } = {}) => `${PD}
df = pd.read_csv("train.csv")
X = df.drop(columns=["price"]).values.astype(np.float32)
y = ${opts.y ?? 'df["price"].values.astype(np.float32)'}
X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.2)
X_tr, y_tr = torch.tensor(X_tr), torch.tensor(y_tr)
X_va, y_va = torch.tensor(X_va), torch.tensor(y_va)
loader = DataLoader(TensorDataset(X_tr, y_tr), batch_size=64, shuffle=True)
model = ${opts.model ?? 'nn.Sequential(nn.Linear(X.shape[1], 64), nn.ReLU(), nn.Linear(64, 1))'}
criterion = ${opts.loss ?? 'nn.MSELoss()'}
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(10):
    for xb, yb in loader:
        opt.zero_grad()
        pred = model(xb)
        loss = criterion(pred, yb)
        loss.backward()
        opt.step()
${opts.extra ?? ''}`;

test('LS009: MSELoss on a (N, 1) Sequential output and DataLoader batches of a pandas column', () => {
  const f = lint(house()).filter((x) => x.rule === 'LS009');
  assert.equal(f.length, 1);
  assert.equal(f[0]!.severity, 'error');
  assert.equal(
    f[0]!.message,
    'pred has shape (N, 1) (the model ends with nn.Linear(64, 1)) but the target yb is 1-D (N,): MSELoss broadcasts them to (N, N) and the model learns the batch mean. Use pred.squeeze(1).',
  );
  const fixed = fix(house(), 'LS009');
  assert.match(fixed, /loss = criterion\(pred\.squeeze\(1\), yb\)/);
  assert.deepEqual(ids(fixed, 'LS009'), []);
});

test('LS009: L1Loss, SmoothL1Loss, HuberLoss, F.mse_loss and F.l1_loss', () => {
  for (const loss of ['nn.L1Loss()', 'nn.SmoothL1Loss()', 'nn.HuberLoss(delta=1.0)', 'F.mse_loss', 'F.l1_loss']) {
    assert.deepEqual(ids(house({ loss }), 'LS009'), ['LS009'], loss);
  }
  assert.match(lint(house({ loss: 'nn.L1Loss()' }), { select: ['LS009'] })[0]!.message, /batch median/);
});

test('LS009: target spellings: log of a column, df.target.to_numpy(), data[:, -1], torch.randint, a module class', () => {
  assert.deepEqual(ids(house({ y: 'np.log1p(df["price"].values)' }), 'LS009'), ['LS009']);
  assert.deepEqual(ids(house({ y: 'df.price.to_numpy()' }), 'LS009'), ['LS009']);
  assert.deepEqual(ids(house({ y: 'df.iloc[:, -1].values' }), 'LS009'), ['LS009']);
  assert.deepEqual(ids(house({ y: 'df.values[:, -1]' }), 'LS009'), ['LS009']);
  const cls = `class Net(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.fc1 = nn.Linear(n, 32)
        self.out = nn.Linear(32, 1)
    def forward(self, x):
        x = torch.relu(self.fc1(x))
        return self.out(x)

X = torch.randn(256, 8)
y = torch.randint(0, 2, (256,)).float()
model = Net(8).to("cpu")
loss = nn.MSELoss()(torch.sigmoid(model(X)), y)
`;
  assert.deepEqual(ids(HEADER + cls, 'LS009'), ['LS009']);
});

test('LS009: full-batch regression with train_test_split and a train(model, X, y) helper', () => {
  const code = `${PD}
df = pd.read_csv("data.csv")
X = df[["a", "b"]].values
y = df["target"].values
X_train, X_test, y_train, y_test = train_test_split(X, y)
X_train = torch.FloatTensor(X_train)
y_train = torch.FloatTensor(y_train)
model = nn.Linear(2, 1)

def train(net, inputs, targets, loss_fn):
    out = net(inputs)
    return loss_fn(out, targets)

train(model, X_train, y_train, nn.MSELoss())
`;
  assert.deepEqual(ids(code, 'LS009'), ['LS009']);
});

test('LS009: accuracy comparisons (out > 0.5) == y, .round() == y, torch.eq, with a sigmoid model', () => {
  const base = `${PD}
df = pd.read_csv("titanic.csv")
X = torch.tensor(df[["Pclass", "Fare"]].values, dtype=torch.float32)
y = torch.tensor(df["Survived"].values, dtype=torch.float32)
model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1), nn.Sigmoid())
with torch.no_grad():
    out = model(X)
`;
  for (const acc of ['((out > 0.5).float() == y).float().mean()', '(out.round() == y).sum()', 'torch.eq(torch.round(out), y).sum()', 'out.round().eq(y).sum()']) {
    const code = `${base}    acc = ${acc}\n`;
    assert.deepEqual(ids(code, 'LS009'), ['LS009'], acc);
    const fixed = fix(code, 'LS009');
    assert.deepEqual(ids(fixed, 'LS009'), [], fixed);
  }
  assert.match(lint(`${base}    acc = (out.round() == y).sum()\n`, { select: ['LS009'] })[0]!.message, /== broadcasts them to an \(N, N\) matrix/);
});

test('LS009: make_classification targets and a manual mini-batch loop over a permutation', () => {
  const code = `${HEADER}from sklearn.datasets import make_classification
X, y = make_classification(n_samples=500, n_features=8)
X = torch.from_numpy(X).float()
y = torch.from_numpy(y).float()
model = nn.Sequential(nn.Linear(8, 1))
crit = nn.MSELoss()
perm = torch.randperm(X.size(0))
for i in range(0, 500, 32):
    idx = perm[i:i + 32]
    xb, yb = X[idx], y[idx]
    loss = crit(model(xb), yb)
`;
  assert.deepEqual(ids(code, 'LS009'), ['LS009']);
});

test('LS009: silent when the target is reshaped, the output squeezed, or the shapes are unknown', () => {
  // reshaped target
  assert.deepEqual(ids(house({ y: 'df["price"].values.reshape(-1, 1)' }), 'LS009'), []);
  assert.deepEqual(ids(house({ y: 'df[["price"]].values' }), 'LS009'), []);
  assert.deepEqual(ids(house({ extra: 'y_tr = y_tr.view(-1, 1)\n' }), 'LS009'), []);
  assert.deepEqual(ids(house({ extra: 'yb = yb.unsqueeze(1)\n' }), 'LS009'), []);
  assert.deepEqual(ids(house({ extra: 'z = y_tr[:, None]\n' }), 'LS009'), []);
  assert.deepEqual(ids(house().replace('loss = criterion(pred, yb)', 'loss = criterion(pred, yb.unsqueeze(1))'), 'LS009'), []);
  assert.deepEqual(ids(house().replace('loss = criterion(pred, yb)', 'loss = criterion(pred, yb.float().unsqueeze(-1))'), 'LS009'), []);
  // squeezed output
  for (const out of ['pred.squeeze()', 'pred.view(-1)', 'pred.flatten()', 'pred[:, 0]', 'pred.squeeze(1)', 'pred.squeeze(-1)']) {
    assert.deepEqual(ids(house().replace('loss = criterion(pred, yb)', `loss = criterion(${out}, yb)`), 'LS009'), [], out);
  }
  assert.deepEqual(ids(house().replace('pred = model(xb)', 'pred = model(xb).squeeze(1)'), 'LS009'), []);
  // a forward that squeezes
  const squeezing = `class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 1)
    def forward(self, x):
        return self.fc(x).squeeze(1)
`;
  assert.deepEqual(ids(house({ model: 'Net()', extra: '' }).replace('df = pd.read_csv', `${squeezing}\ndf = pd.read_csv`), 'LS009'), []);
  // several outputs, BCE losses (they raise a ValueError instead), CrossEntropy
  assert.deepEqual(ids(house({ model: 'nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 3))' }), 'LS009'), []);
  assert.deepEqual(ids(house({ loss: 'nn.BCEWithLogitsLoss()' }), 'LS009'), []);
  assert.deepEqual(ids(house({ loss: 'nn.BCELoss()' }), 'LS009'), []);
  // DataLoader without batch_size: batches of one, (1, 1) against (1,) is harmless
  assert.deepEqual(ids(house().replace('batch_size=64, shuffle=True', 'shuffle=True'), 'LS009'), []);
  assert.deepEqual(ids(house().replace('batch_size=64', 'batch_size=1'), 'LS009'), []);
  // collate_fn may reshape
  assert.deepEqual(ids(house().replace('shuffle=True', 'shuffle=True, collate_fn=collate'), 'LS009'), []);
});

test('LS009: silent on look-alikes: unknown targets, 2-D data, one-row slices, a loader parameter nobody passes', () => {
  // y from a dict / npz: shape unknown
  assert.deepEqual(ids(house({ y: 'np.load("d.npz")["y"]' }), 'LS009'), []);
  // column of a DataFrame that is a function parameter
  const param = `${HEADER}
def fit(df):
    X = torch.tensor(df[["a"]].values, dtype=torch.float32)
    y = torch.tensor(df["y"].values, dtype=torch.float32)
    model = nn.Linear(1, 1)
    return nn.MSELoss()(model(X), y)
`;
  assert.deepEqual(ids(param, 'LS009'), []);
  // a 2-D randn target
  const twoD = `${HEADER}
X = torch.randn(64, 8)
y = torch.randn(64, 1)
model = nn.Linear(8, 1)
loss = nn.MSELoss()(model(X), y)
acc = (model(X).round() == y).float().mean()
`;
  assert.deepEqual(ids(twoD, 'LS009'), []);
  // torch.zeros(shape) with a tuple variable: the number of dimensions is unknown
  const shape = `${HEADER}
shape = (64, 1)
y = torch.zeros(shape)
model = nn.Linear(8, 1)
loss = nn.MSELoss()(model(torch.randn(64, 8)), y)
`;
  assert.deepEqual(ids(shape, 'LS009'), []);
  // per-sample loop: one-row slices
  const rows = `${HEADER}
X = torch.randn(64, 8)
y = torch.randn(64)
model = nn.Linear(8, 1)
for i in range(64):
    loss = nn.MSELoss()(model(X[i:i + 1]), y[i:i + 1])
    loss2 = nn.MSELoss()(model(X[i]), y[i])
`;
  assert.deepEqual(ids(rows, 'LS009'), []);
  // the loader is a parameter of a function nobody calls
  const unknownLoader = `${HEADER}
model = nn.Linear(8, 1)
def train(loader):
    for xb, yb in loader:
        loss = F.mse_loss(model(xb), yb)
`;
  assert.deepEqual(ids(unknownLoader, 'LS009'), []);
  // a model whose head is replaced after construction
  const replaced = house({ model: 'nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 1))', extra: '' }).replace('criterion = nn.MSELoss()', 'model[-1] = nn.Linear(64, 3)\ncriterion = nn.MSELoss()');
  assert.deepEqual(ids(replaced, 'LS009'), []);
  // comparisons with pandas columns, or between two targets
  const pandasCmp = `${PD}
df = pd.read_csv("t.csv")
y = torch.tensor(df["y"].values)
model = nn.Linear(3, 1)
with torch.no_grad():
    p = model(torch.randn(10, 3))
same = (df["y"] == df["y"]).all()
m = (p.round() == df["y"]).mean()
`;
  assert.deepEqual(ids(pandasCmp, 'LS009'), []);
  // a NumPy target in a loss raises (not silent): left to the runtime
  assert.deepEqual(ids(house().replace('loss = criterion(pred, yb)', 'loss = criterion(pred, y)'), 'LS009'), []);
});

test('LS009: a Trainer class holding the model and the criterion', () => {
  const code = `${PD}
class Trainer:
    def __init__(self, model, loader):
        self.model = model
        self.loader = loader
        self.crit = nn.SmoothL1Loss()
    def epoch(self):
        for xb, yb in self.loader:
            out = self.model(xb)
            loss = self.crit(out, yb)

df = pd.read_csv("x.csv")
X = torch.tensor(df.drop(columns=["y"]).values, dtype=torch.float32)
y = torch.tensor(df["y"].values, dtype=torch.float32)
net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
Trainer(net, DataLoader(TensorDataset(X, y), batch_size=32)).epoch()
`;
  // self.loader is an attribute: the rule does not follow it (stays silent).
  assert.deepEqual(ids(code, 'LS009'), []);
});

test('LS009: silent when the target or the prediction is bound differently on another branch', () => {
  const branchy = house({ y: 'None' }).replace(
    'y = None\n',
    'if reshape:\n    y = df["price"].values.reshape(-1, 1)\nelse:\n    y = df["price"].values\n',
  );
  assert.deepEqual(ids(branchy, 'LS009'), []);
  const tried = house().replace('        pred = model(xb)\n', '        try:\n            pred = model(xb)\n        except RuntimeError:\n            pred = fallback(xb)\n');
  assert.deepEqual(ids(tried, 'LS009'), []);
  // a with block is not a branch
  const withNoGrad = house({ extra: 'with torch.no_grad():\n    val = model(X_va)\nprint(F.mse_loss(val, y_va))\n' });
  assert.deepEqual(ids(withNoGrad, 'LS009'), ['LS009', 'LS009']);
});
