// Session 12 (evaldata): evaluation loops of torch library files, test-set selection through the file's evaluation
// functions, and DT003's transformers and hand-written splits.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, useParser } from './lint/helpers';

useParser();

// ---- EV003: a trainer library file that imports only its own package ----

const TRAINER = (extra: string, validate: string) => `
import mylib.utils
from mylib.data import make_features

class Trainer(object):
    def __init__(self, model, optim, valid_loss):
        self.model = model
        self.optim = optim
        self.valid_loss = valid_loss

    def train(self, train_iter, valid_iter):
        for batch in train_iter:
${extra}
            out = self.model(make_features(batch))
            self.optim.step()
        return self.validate(valid_iter)

    def validate(self, valid_iter):
        self.model.eval()
${validate}
        self.model.train()
        return stats
`;
const VALIDATE_LOOP = `        stats = mylib.utils.Statistics()
        for batch in valid_iter:
            outputs = self.model(make_features(batch))
            stats.update(self.valid_loss(batch, outputs))`;

test('EV003: a torch library file without a torch import (zero_grad, or eval() and train() on one module): validate() without no_grad', () => {
  assert.deepEqual(ids(TRAINER('            self.model.zero_grad()', VALIDATE_LOOP), 'EV003'), ['EV003']);
  // no zero_grad: the model's own eval() and train() switches say torch
  assert.deepEqual(ids(TRAINER('            pass', VALIDATE_LOOP), 'EV003'), ['EV003']);
});

test('EV003: library file negatives: under no_grad, no torch sign at all, one switch only, another framework', () => {
  const noGrad = VALIDATE_LOOP.replace('        for batch', '        with torch.no_grad():\n          for batch').replace(/\n {12}/g, '\n              ');
  assert.deepEqual(ids(TRAINER('            self.model.zero_grad()', noGrad), 'EV003'), []);
  // eval() without train() on the same object, no zero_grad: nothing says torch
  const evalOnly = TRAINER('            pass', VALIDATE_LOOP).replace('        self.model.train()\n', '');
  assert.deepEqual(ids(evalOnly, 'EV003'), []);
  assert.deepEqual(ids(`import tensorflow as tf\n${TRAINER('            self.model.zero_grad()', VALIDATE_LOOP)}`, 'EV003'), []);
});

test('EV003: private evaluation methods (_validate, _valid_epoch) loop over their loader with autograd on', () => {
  const code = `${HEADER}
class Runner:
    def __init__(self, model, opt):
        self.model, self.opt = model, opt

    def fit(self, train_loader, loader):
        for x, y in train_loader:
            self.opt.zero_grad()
            F.cross_entropy(self.model(x), y).backward()
            self.opt.step()
        return self._validate(loader)

    def _validate(self, loader):
        self.model.eval()
        total = 0.0
        for x, y in loader:
            total += F.cross_entropy(self.model(x), y).item()
        return total
`;
  assert.deepEqual(ids(code, 'EV003'), ['EV003']);
  assert.deepEqual(ids(code.replace('        for x, y in loader:\n            total', '        with torch.no_grad():\n          for x, y in loader:\n            total'), 'EV003'), []);
  // a private helper with another name that iterates a plain loader: not an evaluation by name
  assert.deepEqual(ids(code.replace(/_validate/g, '_collect'), 'EV003'), []);
});

// ---- EV005: the metric comes from a function of the file that evaluates on the test loader only ----

const CIFAR = (cond: string, evalLoader = 'cifar100_test_loader') => `${HEADER}
net = make_net()
optimizer = torch.optim.SGD(net.parameters(), lr=0.1)

def train(epoch):
    net.train()
    for images, labels in cifar100_training_loader:
        optimizer.zero_grad()
        F.cross_entropy(net(images), labels).backward()
        optimizer.step()

def eval_training(epoch):
    net.eval()
    correct = 0.0
    for images, labels in ${evalLoader}:
        _, preds = net(images).max(1)
        correct += preds.eq(labels).sum()
    return correct / len(${evalLoader}.dataset)

best_acc = 0.0
for epoch in range(1, 200):
    train(epoch)
    acc = eval_training(epoch)
    if ${cond}:
        torch.save(net.state_dict(), "best.pth")
        best_acc = acc
`;

test('EV005: the best checkpoint chosen on what a test-loader evaluation function returns, also inside and / or', () => {
  assert.deepEqual(ids(CIFAR('epoch > 60 and best_acc < acc'), 'EV005'), ['EV005']);
  assert.deepEqual(ids(CIFAR('acc > best_acc'), 'EV005'), ['EV005']);
  assert.deepEqual(ids(CIFAR('best_acc < acc or epoch == 1'), 'EV005'), ['EV005']);
  assert.deepEqual(ids(CIFAR('acc > best_acc', 'test_loader'), 'EV005'), ['EV005']);
  // unpacked: `loss, acc = evaluate()`
  const unpacked = CIFAR('acc > best_acc').replace('return correct', 'return 0.0, correct').replace('acc = eval_training(epoch)', 'loss, acc = eval_training(epoch)');
  assert.deepEqual(ids(unpacked, 'EV005'), ['EV005']);
});

test('EV005: look-alikes: a validation loader, a function looping over test and validation data, one that trains, no best', () => {
  assert.deepEqual(ids(CIFAR('epoch > 60 and best_acc < acc', 'cifar100_val_loader'), 'EV005'), []);
  assert.deepEqual(ids(CIFAR('acc > best_acc', 'val_loader'), 'EV005'), []);
  const both = CIFAR('acc > best_acc').replace('    return correct', '    for images, labels in val_loader:\n        correct += 1\n    return correct');
  assert.deepEqual(ids(both, 'EV005'), []);
  const trains = CIFAR('acc > best_acc').replace('        correct += preds.eq(labels).sum()', '        correct += preds.eq(labels).sum()\n        optimizer.step()');
  assert.deepEqual(ids(trains, 'EV005'), []);
  assert.deepEqual(ids(CIFAR('epoch > 60 and acc > 0.5'), 'EV005'), []);
});

// ---- DT003 ----

const SK = 'import numpy as np\nimport pandas as pd\nfrom sklearn.model_selection import train_test_split\n';
const dt3 = (code: string) => ids(code, 'DT003');

test('DT003: a transformer re-bound to its own fit (`imputer = imputer.fit(X)`, `StandardScaler().fit(X)`) before the split', () => {
  const split = 'X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)\n';
  assert.deepEqual(dt3(`${SK}from sklearn.preprocessing import Imputer\nimputer = Imputer(strategy="mean", axis=0)\nimputer = imputer.fit(X[:, 1:3])\nX[:, 1:3] = imputer.transform(X[:, 1:3])\n${split}`), ['DT003']);
  assert.deepEqual(dt3(`${SK}from sklearn.preprocessing import StandardScaler\nsc = StandardScaler().fit(X)\nX = sc.transform(X)\n${split}`), ['DT003']);
  assert.deepEqual(dt3(`${SK}from sklearn.impute import SimpleImputer\nimp = SimpleImputer()\nimp = imp.fit(X)\nX = imp.transform(X)\n${split}`), ['DT003']);
  // fitted on the training part: quiet
  assert.deepEqual(dt3(`${SK}from sklearn.impute import SimpleImputer\n${split}imp = SimpleImputer()\nimp = imp.fit(X_train)\nX_test = imp.transform(X_test)\n`), []);
  // the old Imputer(axis=1) learns nothing across rows
  assert.deepEqual(dt3(`${SK}from sklearn.preprocessing import Imputer\nimputer = Imputer(axis=1)\nimputer = imputer.fit(X)\nX = imputer.transform(X)\n${split}`), []);
});

test('DT003: more transformers that learn statistics: binning, decompositions, selectors, a vocabulary cut by frequency', () => {
  const split = 'X_train, X_test, y_train, y_test = train_test_split(X, y)\n';
  assert.deepEqual(dt3(`${SK}from sklearn.preprocessing import KBinsDiscretizer\nX = KBinsDiscretizer(n_bins=5).fit_transform(X)\n${split}`), ['DT003']);
  assert.deepEqual(dt3(`${SK}from sklearn.decomposition import NMF\nX = NMF(n_components=8).fit_transform(X)\n${split}`), ['DT003']);
  assert.deepEqual(dt3(`${SK}from sklearn.feature_selection import SelectFromModel\nX = SelectFromModel(est).fit_transform(X, y)\n${split}`), ['DT003']);
  assert.deepEqual(dt3(`${SK}from sklearn.feature_extraction.text import CountVectorizer\nX = CountVectorizer(max_features=5000).fit_transform(texts)\n${split}`), ['DT003']);
  // a plain vocabulary, category encoders: what they learn is which values exist, not statistics of the test rows
  assert.deepEqual(dt3(`${SK}from sklearn.feature_extraction.text import CountVectorizer\nX = CountVectorizer().fit_transform(texts)\n${split}`), []);
  assert.deepEqual(dt3(`${SK}from sklearn.preprocessing import OneHotEncoder, LabelEncoder\nX = OneHotEncoder().fit_transform(X)\nX[:, 0] = LabelEncoder().fit_transform(X[:, 0])\n${split}`), []);
});

test('DT003: splits written by hand: rows by training indices, a sliced permutation, df.sample(frac=...), np.split', () => {
  const fit = `${SK}from sklearn.preprocessing import StandardScaler\nX = StandardScaler().fit_transform(X)\nperm = np.random.permutation(len(X))\n`;
  assert.deepEqual(dt3(`${fit}train_idx, test_idx = perm[:800], perm[800:]\nXa, Xb = X[train_idx], X[test_idx]\n`), ['DT003']);
  assert.deepEqual(dt3(`${fit}X_train = X[perm[:800]]\nX_test = X[perm[800:]]\n`), ['DT003']);
  assert.deepEqual(dt3(`${fit}cut = perm[:800]\nX_train = X[cut]\n`), ['DT003']);
  assert.deepEqual(dt3(`${fit}tr, te = perm[:800], perm[800:]\nX_train, X_test = X[tr], X[te]\n`), ['DT003']);
  assert.deepEqual(dt3(`${fit}X_train, X_test = np.split(X, [800])\n`), ['DT003']);
  const df = `${SK}from sklearn.preprocessing import MinMaxScaler\ndf = pd.read_csv("d.csv")\nsc = MinMaxScaler().fit(df[["a", "b"]])\ndf[["a", "b"]] = sc.transform(df[["a", "b"]])\n`;
  assert.deepEqual(dt3(`${df}train_df = df.sample(frac=0.8, random_state=0)\ntest_df = df.drop(train_df.index)\n`), ['DT003']);
  // shuffles, not splits; and a split before the fit
  assert.deepEqual(dt3(`${df}train_df = df.sample(frac=1.0)\n`), []);
  assert.deepEqual(dt3(`${fit}X_shuffled = X[perm]\nsubset = X[perm[:800]]\n`), []);
  assert.deepEqual(dt3(`${SK}from sklearn.preprocessing import StandardScaler\nperm = np.random.permutation(len(X))\nX_train = X[perm[:800]]\nsc = StandardScaler().fit(X_train)\n`), []);
});
