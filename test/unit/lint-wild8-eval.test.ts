// Recall round 8, evaluation: EV017 through row selections and thresholds, EV001 over a held-out loader picked into a
// local name and a model named by its `parameters()`, EV001/EV002 quiet on models with no mode-dependent layer, DT014
// quiet on a metrics CSV written into a predictions folder.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ids, useParser } from './lint/helpers';

useParser();

const SK = 'import numpy as np\nfrom sklearn.metrics import f1_score, precision_score\n';

test('EV017: predictions first through a row selection and a threshold', () => {
  for (const call of [
    'f1_score((test_preds[keep] > 0), (test_truth[keep] > 0), average="weighted")',
    'precision_score(y_pred[:, 1] >= 0.5, y_true[:, 1])',
    'f1_score(0.5 < scores, labels > 0)',
  ]) {
    assert.deepEqual(ids(`${SK}r = ${call}\n`, 'EV017'), ['EV017'], call);
  }
});

test('EV017: negatives: the right order through thresholds, a comparison of two names, a string key', () => {
  for (const call of [
    'f1_score((test_truth[keep] > 0), (test_preds[keep] > 0), average="weighted")',
    'f1_score(preds > labels, labels)',
    'f1_score(outputs["labels"], batch["preds"])',
    'f1_score(preds[keep] > thr, labels[keep])',
  ]) {
    assert.deepEqual(ids(`${SK}r = ${call}\n`, 'EV017'), [], call);
  }
});

const ALGO = (body: string, extra = '') => `
import torch
from torch import optim

class Algo:
    def __init__(self, net, train_dl, val_dl, test_dl):
        self.phi = net
        self.train_dl = train_dl
        self.val_loader = val_dl
        self.test_loader = test_dl
        self.opt = optim.SGD(self.phi.parameters(), lr=0.1)

    def accuracy_on(self, split):
${body}

    def fit(self):
        for epoch in range(10):
            for x, y in self.train_dl:
                self.opt.zero_grad()
                loss = torch.nn.functional.cross_entropy(self.phi(x), y)
                loss.backward()
                self.opt.step()
            print(self.accuracy_on('val'), self.accuracy_on('test'))
${extra}`;

const PICKED = `        if split == 'val':
            data = self.val_loader
        elif split == 'test':
            data = self.test_loader
        hits = 0
        for x, y in data:
            with torch.no_grad():
                hits += (self.phi(x).argmax(1) == y).sum().item()
        return hits`;

test('EV001: a loop over a local name bound only to held-out loaders, running a model whose parameters() the file reads', () => {
  assert.deepEqual(ids(ALGO(PICKED), 'EV001'), ['EV001']);
  // Named like a model, without parameters(): caught by the local name alone.
  const named = ALGO(PICKED.replace(/self\.phi/g, 'self.model')).replace(/self\.phi/g, 'self.model');
  assert.deepEqual(ids(named, 'EV001'), ['EV001']);
});

test('EV001: negatives: the name also holds the training loader, eval() first, an unknown callable, a loop-bound name', () => {
  const mixed = PICKED.replace('data = self.test_loader', 'data = self.train_dl');
  assert.deepEqual(ids(ALGO(mixed), 'EV001'), []);
  assert.deepEqual(ids(ALGO(PICKED.replace("        hits = 0", "        self.phi.eval()\n        hits = 0")), 'EV001'), []);
  // `self.scorer` is no module the file reads parameters() of.
  assert.deepEqual(ids(ALGO(PICKED.replace('self.phi(x)', 'self.scorer(x)')), 'EV001'), []);
  const rebound = PICKED.replace('        hits = 0', '        for data in [data]:\n            pass\n        hits = 0');
  assert.deepEqual(ids(ALGO(rebound), 'EV001'), []);
});

const GCN = (conv: string) => `
import torch
import torch.nn.functional as F
from torch_geometric.nn import ${conv.split('(')[0]}, global_max_pool
from torch_geometric.loader import DataLoader

class G(torch.nn.Module):
    def __init__(self, i, h, o):
        super().__init__()
        self.conv1 = ${conv}
        self.lin = torch.nn.Linear(h, o)

    def forward(self, data):
        x = F.relu(self.conv1(data.x, data.edge_index))
        return self.lin(global_max_pool(x, data.batch))

model = G(4, 16, 3)
test_loader = DataLoader(test_set, batch_size=32)
for data in test_loader:
    with torch.no_grad():
        out = model(data)
`;

test('EV001: PyG convolutions without dropout change nothing in eval mode; with a dropout they do', () => {
  assert.deepEqual(ids(GCN('GCNConv(i, h)'), 'EV001'), []);
  assert.deepEqual(ids(GCN('GATConv(i, h, heads=2, concat=False)'), 'EV001'), []);
  assert.deepEqual(ids(GCN('GATConv(i, h, dropout=0.6)'), 'EV001'), ['EV001']);
  assert.deepEqual(ids(GCN('GINConv(torch.nn.Linear(i, h))'), 'EV001'), ['EV001']);
});

const WRAPPER = (layers: string) => `
import torch
from torch import nn

class Wrapper(nn.Module):
    def __init__(self, kind, d, n_classes=1):
        super().__init__()
        if kind == "dnn":
            class Net(nn.Module):
                def __init__(self, d, n_classes):
                    super().__init__()
                    ${layers}
                    self.act = nn.Sigmoid() if n_classes == 1 else nn.ReLU()

                def forward(self, x):
                    return self.act(self.body(x))
            self.model = Net(d, n_classes)
        else:
            class Net(nn.Module):
                def __init__(self, d, n_classes):
                    super().__init__()
                    self.body = nn.LSTM(d, 64, num_layers=2, batch_first=True, dropout=0.0)

                def forward(self, x):
                    return self.body(x)[0]
            self.model = Net(d, n_classes)

    def validate(self, val_loader):
        for x, y in val_loader:
            with torch.no_grad():
                p = self.model(x)
`;

test('EV001: self.model assigned over branches, each a class of the file with no mode-dependent layer', () => {
  assert.deepEqual(ids(WRAPPER('self.body = nn.Sequential(nn.Linear(d, d), nn.LayerNorm(d))'), 'EV001'), []);
  assert.deepEqual(ids(WRAPPER('self.body = nn.Sequential(nn.Linear(d, d), nn.Dropout(0.2))'), 'EV001'), ['EV001']);
  assert.deepEqual(ids(WRAPPER('self.body = nn.Sequential(nn.Linear(d, d), nn.BatchNorm1d(d))'), 'EV001'), ['EV001']);
  // A module handed in from outside may hold anything.
  const given = WRAPPER('self.body = nn.Linear(d, d)').replace('self.model = Net(d, n_classes)\n        else:', 'self.model = Net(d, n_classes)\n        elif kind == "given":\n            self.model = backbone\n        else:');
  assert.deepEqual(ids(given, 'EV001'), ['EV001']);
});

test('EV001: a choice between a built module and something else is not read as modules', () => {
  const other = WRAPPER('self.body = nn.Linear(d, d)').replace('nn.Sigmoid() if n_classes == 1 else nn.ReLU()', 'nn.Sigmoid() if n_classes == 1 else make_head(d)');
  assert.deepEqual(ids(other, 'EV001'), ['EV001']);
  const given = WRAPPER('self.body = nn.Linear(d, d)').replace('nn.Sigmoid() if n_classes == 1 else nn.ReLU()', 'nn.Sigmoid() if n_classes == 1 else head');
  assert.deepEqual(ids(given, 'EV001'), ['EV001']);
});

test('EV002: a PyG model without dropout, eval() inside the epoch loop: nothing to report', () => {
  const code = GCN('GCNConv(i, h)').replace(
    'for data in test_loader:\n    with torch.no_grad():\n        out = model(data)\n',
    'opt = torch.optim.Adam(model.parameters())\nmodel.train()\nfor epoch in range(10):\n    for data in train_loader:\n        opt.zero_grad()\n        model(data).sum().backward()\n        opt.step()\n    model.eval()\n    for data in test_loader:\n        out = model(data)\n',
  );
  assert.deepEqual(ids(code, 'EV002'), []);
  assert.deepEqual(ids(code.replace('GCNConv(i, h)', 'GCNConv(i, h)\n        self.drop = torch.nn.Dropout(0.5)'), 'EV002'), ['EV002']);
});

const DT = (write: string) => `
import pandas as pd
from torch.utils.data import DataLoader
test_loader = DataLoader(test_ds, batch_size=64, shuffle=True)
acc = evaluate(model, test_loader)
${write}
`;

test('DT014: a metrics table written into a predictions folder is no prediction file', () => {
  assert.deepEqual(ids(DT('row = [name]\nrow.append(acc)\npd.DataFrame(row).to_csv(os.path.join(cfg["pred_dir"], name + ".csv"))'), 'DT014'), []);
  assert.deepEqual(ids(DT('table = pd.DataFrame([acc])\ntable.to_csv(args.pred_path + "/scores.csv")'), 'DT014'), []);
});

test('DT014: predictions still found by the frame, the file name, or what the frame was built from', () => {
  assert.deepEqual(ids(DT('preds = predict(model, test_loader)\ndf = pd.DataFrame({"id": ids, "label": preds})\ndf.to_csv(os.path.join(cfg["out_dir"], "out.csv"))'), 'DT014'), ['DT014']);
  assert.deepEqual(ids(DT('df.to_csv(os.path.join(cfg["pred_dir"], "submission.csv"))'), 'DT014'), ['DT014']);
  assert.deepEqual(ids(DT('submission.to_csv(path)'), 'DT014'), ['DT014']);
});

test('EV001: self.model moved from a module built elsewhere (`args.model.to(device)`) may hold anything', () => {
  const code = `
import torch

class Trainer:
    def __init__(self, args):
        self.model = args.model.to(args.device)

    def evaluate(self, val_loader):
        for x, y in val_loader:
            with torch.no_grad():
                p = self.model(x)
`;
  assert.deepEqual(ids(code, 'EV001'), ['EV001']);
});
