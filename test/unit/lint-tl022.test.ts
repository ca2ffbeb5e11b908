// TL022: a model and optimizer built once before the K-fold loop keep training across folds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, useParser } from './lint/helpers';

useParser();

const SK = `${HEADER}from sklearn.model_selection import KFold, StratifiedKFold, TimeSeriesSplit\n`;
const build = `model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
`;
const foldLoop = (head: string, inside = '') => `${head}for fold, (tr_idx, va_idx) in enumerate(kf.split(X, y)):
${inside}    for epoch in range(20):
        for xb, yb in make_loader(tr_idx):
            optimizer.zero_grad()
            loss = criterion(model(xb), yb)
            loss.backward()
            optimizer.step()
`;

test('TL022: model and optimizer built before `for fold, (tr, va) in enumerate(kf.split(X))`', () => {
  assert.deepEqual(ids(`${SK}kf = KFold(n_splits=5, shuffle=True, random_state=0)\n${foldLoop(build)}`, 'TL022'), ['TL022']);
  assert.deepEqual(ids(`${SK}${build}${foldLoop('').replace('kf.split(X, y)', 'StratifiedKFold(5).split(X, y)')}`, 'TL022'), ['TL022']);
});

test('TL022: the training runs in a function the fold loop calls with the shared optimizer', () => {
  const code = `${SK}${build}
def train_fold(model, optimizer, loader):
    for xb, yb in loader:
        optimizer.zero_grad()
        criterion(model(xb), yb).backward()
        optimizer.step()

skf = StratifiedKFold(n_splits=5)
for fold, (tr, va) in enumerate(skf.split(X, y)):
    train_fold(model, optimizer, make_loader(tr))
`;
  assert.deepEqual(ids(code, 'TL022'), ['TL022']);
});

test('TL022 look-alikes: built per fold, reloaded, reset, TimeSeriesSplit, no training in the loop', () => {
  const kf = `${SK}kf = KFold(n_splits=5)\n`;
  assert.deepEqual(ids(`${kf}${foldLoop('', build.replace(/^/gm, '    ').replace(/ {4}$/, ''))}`, 'TL022'), []);
  assert.deepEqual(ids(`${kf}${foldLoop(build, '    model.load_state_dict(initial_state)\n')}`, 'TL022'), []);
  assert.deepEqual(ids(`${kf}${foldLoop(build, '    for layer in model.children():\n        layer.reset_parameters()\n')}`, 'TL022'), []);
  assert.deepEqual(ids(`${kf}${foldLoop(build, '    optimizer = torch.optim.Adam(model.parameters())\n    model.apply(init_weights)\n')}`, 'TL022'), []);
  assert.deepEqual(ids(`${SK}kf = TimeSeriesSplit(n_splits=5)\n${foldLoop(build)}`, 'TL022'), []);
  const evalOnly = `${kf}${build}for tr, va in kf.split(X):\n    print(model(X[va]).mean())\n`;
  assert.deepEqual(ids(evalOnly, 'TL022'), []);
});
