// Evaluation families from the session-14 development set (wild6): validation that reads the training data (a loader
// a training loop iterates, reversed names, an iterator over the training loader, a split part's `.dataset`), ranking
// metrics given class labels that a label metric also gets, metric collections never reset, and EV001 quiet on a
// model whose own `train` method is no mode switch.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HEADER, fix, ids, useParser } from './lint/helpers';

useParser();

const ev004 = (code: string) => ids(code, 'EV004');

describe('EV004: an evaluation loop over the loader a training loop of the same function iterates', () => {
  const fit = (evalLoop: string, valUse = 'avg /= len(held_out.dataset)', heldOut = 'held_out') => `${HEADER}
class Detector:
    def fit(self, data, ${heldOut}=None, epochs=3):
        if not isinstance(data, DataLoader):
            data = DataLoader(data, shuffle=True)
        if ${heldOut} is not None and not isinstance(${heldOut}, DataLoader):
            ${heldOut} = DataLoader(${heldOut})
        opt = torch.optim.SGD(self.net.parameters(), lr=0.01)
        for epoch in range(epochs):
            self.net.train()
            for xb, yb in data:
                loss = F.cross_entropy(self.net(xb), yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
            if ${heldOut} is not None:
                avg = 0
                with torch.no_grad():
                    for xb, yb in ${evalLoop}:
                        avg += F.cross_entropy(self.net(xb), yb).item()
                ${valUse}
`;
  it('reports the no_grad loop over the training loop\'s loader while the validation loader is only tested and counted', () => {
    assert.deepEqual(ev004(fit('data', 'avg /= len(val_loader.dataset)', 'val_loader')), ['EV004']);
    assert.deepEqual(ev004(fit('data', 'avg /= len(val_data)', 'val_data')), ['EV004']);
    assert.deepEqual(ev004(fit('enumerate(data)'.replace('enumerate(data)', 'data'), 'print(avg)', 'dataset_val')), ['EV004']);
  });
  it('stays quiet when the validation loader is iterated, or the held-out name is not one', () => {
    assert.deepEqual(ev004(fit('val_loader', 'avg /= len(val_loader.dataset)', 'val_loader')), []);
    // training accuracy measured next to a real validation pass
    assert.deepEqual(ev004(fit('data', 'score = evaluate(val_loader)', 'val_loader')), []);
    assert.deepEqual(ev004(fit('data', 'avg /= len(other.dataset)', 'other')), []);
  });
  it('stays quiet when the loop over the same name is no training loop, or the name was re-bound in between', () => {
    const noTrain = fit('data', 'avg /= len(val_loader.dataset)', 'val_loader').replace('loss.backward()\n', 'pass\n').replace('opt.step()', 'pass');
    assert.deepEqual(ev004(noTrain), []);
    const rebound = fit('data', 'avg /= len(val_loader.dataset)', 'val_loader').replace('avg = 0\n', 'avg = 0\n                data = DataLoader(self.extra)\n');
    assert.deepEqual(ev004(rebound), []);
  });
});

describe('EV004: held-out names with the container first (dataloader_val, dataset_train)', () => {
  it('reports a validation loader built on the training dataset, either naming order', () => {
    const code = (val: string, train: string) => `${HEADER}
${train} = make_set("train.txt")
loader_tr = DataLoader(${train}, batch_size=8, shuffle=True)
${val} = DataLoader(${train}, batch_size=8)
`;
    assert.deepEqual(ev004(code('dataloader_val', 'dataset_train')), ['EV004']);
    assert.deepEqual(ev004(code('loader_test', 'data_train')), ['EV004']);
    assert.deepEqual(ev004(code('val_loader', 'dataset_train')), ['EV004']);
  });
  it('reports it also when the training dataset has an unmarked name but a validation dataset is left unused', () => {
    const code = `${HEADER}
speech = make_set("train.txt")
dataloader_train = DataLoader(speech, batch_size=8, shuffle=True)
dataset_val = make_set("val.txt")
dataloader_val = DataLoader(speech, batch_size=8)
`;
    assert.deepEqual(ev004(code), ['EV004']);
    assert.deepEqual(ev004(code.replace('DataLoader(speech, batch_size=8)\n', 'DataLoader(dataset_val, batch_size=8)\n')), []);
  });
  it('stays quiet on held-out loaders over held-out data, and on names that only end alike', () => {
    const code = (line: string) => `${HEADER}\ndataset_train = make_set("a")\ndataset_val = make_set("b")\n${line}\n`;
    assert.deepEqual(ev004(code('dataloader_val = DataLoader(dataset_val, batch_size=8)')), []);
    assert.deepEqual(ev004(code('dataloader_train = DataLoader(dataset_train, batch_size=8)')), []);
    assert.deepEqual(ev004(code('pretrain_loader = DataLoader(dataset_train, batch_size=8)')), []);
  });
});

describe('EV004: an iterator named as held-out over the training loader', () => {
  const trainer = (line: string) => `${HEADER}
class Runner:
    def __init__(self, train_loader, test_loader):
        self.train_loader = train_loader
        self.test_loader = test_loader

    def evaluate(self):
        steps = len(self.test_loader.dataset) // 4
        ${line}
        for _ in range(steps):
            batch = next(it)
`;
  it('reports iter(...), .__iter__() and cycle(...) of the training loader bound to a held-out iterator name', () => {
    assert.deepEqual(ev004(trainer('test_loader_iter = self.train_loader.__iter__()').replace('next(it)', 'next(test_loader_iter)')), ['EV004']);
    assert.deepEqual(ev004(trainer('val_iter = iter(self.train_loader)').replace('next(it)', 'next(val_iter)')), ['EV004']);
    assert.deepEqual(ev004(trainer('valid_batches = itertools.cycle(self.train_loader)').replace('next(it)', 'next(valid_batches)')), ['EV004']);
  });
  it('stays quiet on the held-out loader, and on a training iterator', () => {
    assert.deepEqual(ev004(trainer('test_loader_iter = self.test_loader.__iter__()')), []);
    assert.deepEqual(ev004(trainer('train_iter = iter(self.train_loader)')), []);
    assert.deepEqual(ev004(trainer('val_iter = iter(self.val_batches())')), []);
  });
});

describe("EV004: a split part's .dataset is the whole dataset", () => {
  const split = (reads: string, make = 'tr, va = torch.utils.data.random_split(table, [n, len(table) - n])') => `${HEADER}import numpy as np
def prepare(table, ratio=0.8):
    n = int(len(table) * ratio)
    ${make}
    ${reads}
`;
  it('reports a slice of part.dataset, and a loader or TensorDataset over it, once per part', () => {
    assert.deepEqual(ev004(split('x_va = torch.from_numpy(va.dataset[:, :-1])\n    y_va = torch.from_numpy(va.dataset[:, -1])')), ['EV004']);
    assert.deepEqual(ev004(split('loader = DataLoader(va.dataset, batch_size=4)')), ['EV004']);
    assert.deepEqual(ev004(split('loader = DataLoader(dataset=tr.dataset, batch_size=4)')), ['EV004']);
    assert.deepEqual(ev004(split('va_x = va.dataset[:, :5]', 'va = torch.utils.data.random_split(table, [n, len(table) - n])[1]')), ['EV004']);
    assert.deepEqual(ev004(split('rows = va.dataset[:]', 'va = torch.utils.data.Subset(table, range(n, len(table)))')), ['EV004']);
  });
  it('stays quiet on reads that take the part only, or read no data', () => {
    assert.deepEqual(ev004(split('count = len(va.dataset)')), []);
    assert.deepEqual(ev004(split('va.dataset.transform = None')), []);
    assert.deepEqual(ev004(split('row = va.dataset[va.indices[0]]')), []);
    assert.deepEqual(ev004(split('loader = DataLoader(va.dataset, sampler=torch.utils.data.SubsetRandomSampler(va.indices))')), []);
    assert.deepEqual(ev004(split('loader = DataLoader(va, batch_size=4)')), []);
    // not torch's random_split
    assert.deepEqual(ev004(split('x = va.dataset[:, :5]', 'tr, va = my_split(table, n)')), []);
  });
});

const ev015 = (code: string) => ids(code, 'EV015');

describe('EV015: predictions a label metric also gets are class labels', () => {
  const scored = (lines: string, pred = 'pipe.predict(X_te)') => `from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
def score(pipe, X_te, y_te):
    y_hat = ${pred}
    ${lines}
`;
  it('reports roc_auc_score on the same binding that accuracy_score / f1_score get', () => {
    assert.deepEqual(ev015(scored('acc = accuracy_score(y_te, y_hat)\n    auc = roc_auc_score(y_te, y_hat)')), ['EV015']);
    assert.deepEqual(ev015(scored('auc = roc_auc_score(y_te, y_hat)\n    f1 = f1_score(y_te, y_pred=y_hat, average="macro")')), ['EV015']);
    assert.deepEqual(ev015(scored('acc = accuracy_score(y_te, y_hat.ravel())\n    auc = roc_auc_score(y_te, y_hat.ravel())', 'run(X_te)')), ['EV015']);
  });
  it('stays quiet when the label metric gets a thresholded copy, another binding, or another function\'s name', () => {
    assert.deepEqual(ev015(scored('acc = accuracy_score(y_te, y_hat > 0.5)\n    auc = roc_auc_score(y_te, y_hat)', 'pipe.predict_proba(X_te)[:, 1]')), []);
    assert.deepEqual(ev015(scored('acc = accuracy_score(y_te, y_hat)\n    y_hat = pipe.predict_proba(X_te)[:, 1]\n    auc = roc_auc_score(y_te, y_hat)')), []);
    const other = `from sklearn.metrics import accuracy_score, roc_auc_score
def a(y, y_hat):
    return accuracy_score(y, y_hat)
def b(y, y_hat):
    return roc_auc_score(y, y_hat)
`;
    assert.deepEqual(ev015(other), []);
  });
});

describe('EV015: hard labels through 1 - x, concatenation and tuple unpacking', () => {
  const link = (pred: string) => `${HEADER}from sklearn.metrics import roc_auc_score
def evaluate(net, z, pos, neg):
    with torch.no_grad():
        pos_p = net.score(z, pos).max(dim=1)[1]
        neg_p = net.score(z, neg).max(dim=1)[1]
    pred = ${pred}
    y = torch.cat([torch.ones(len(pos_p)), torch.zeros(len(neg_p))])
    pred, y = pred.numpy(), y.numpy()
    return roc_auc_score(y, pred)
`;
  it('reports max indices carried through cat, 1 - x and an unpacked tuple', () => {
    assert.deepEqual(ev015(link('(1 - torch.cat([pos_p, neg_p])).cpu()')), ['EV015']);
    assert.deepEqual(ev015(link('torch.cat([pos_p, neg_p])')), ['EV015']);
  });
  it('stays quiet when one part is a score, or the subtraction is not from a number', () => {
    assert.deepEqual(ev015(link('torch.cat([pos_p, net.prob(z, neg)[:, 1]])')), []);
    assert.deepEqual(ev015(link('torch.cat([pos_p, neg_p]) - bias')), []);
  });
});

describe('EV015: one call that runs a ranking metric and a label metric on the same predictions', () => {
  const loop = (names: string, call = 'getattr(metrics, f)(y_te, clf.predict(X_te))') => `from sklearn import metrics
def test_scores(clf, X_te, y_te):
    funcs = [${names}]
    out = []
    for f in funcs:
        out.append(${call})
    return out
`;
  it('reports getattr(metrics, f)(...) over names with roc_auc_score and accuracy_score', () => {
    assert.deepEqual(ev015(loop('"accuracy_score", "roc_auc_score"')), ['EV015']);
    assert.deepEqual(ev015(loop('"f1_score", "average_precision_score"')), ['EV015']);
    const comp = `from sklearn import metrics\nNAMES = ("recall_score", "roc_auc_score")\ndef table(y, guess):\n    return [getattr(metrics, n)(y, guess) for n in NAMES]\n`;
    assert.deepEqual(ev015(comp), ['EV015']);
  });
  it('reports a loop over the metric functions themselves (list, dict items)', () => {
    const fns = (header: string, call: string) => `from sklearn.metrics import accuracy_score, roc_auc_score
def report(y, p):
    res = {}
    ${header}
        res[str(fn)] = ${call}
    return res
`;
    assert.deepEqual(ev015(fns('for fn in (accuracy_score, roc_auc_score):', 'fn(y, p)')), ['EV015']);
    assert.deepEqual(ev015(fns('for name, fn in {"acc": accuracy_score, "auc": roc_auc_score}.items():', 'fn(y, p)')), ['EV015']);
  });
  it('stays quiet when the list holds only label metrics, only ranking metrics, or unknown names', () => {
    assert.deepEqual(ev015(loop('"accuracy_score", "f1_score"')), []);
    assert.deepEqual(ev015(loop('"roc_auc_score", "average_precision_score"', 'getattr(metrics, f)(y_te, clf.predict_proba(X_te)[:, 1])')), []);
    assert.deepEqual(ev015(loop('name_a, name_b')), []);
    assert.deepEqual(ev015(loop('"accuracy_score", "roc_auc_score"', 'getattr(helpers, f)(y_te, clf.predict(X_te))')), []);
  });
});

describe('EV014: a collection of metrics computed every epoch, never reset', () => {
  const run = (opts: { param?: string; build?: string; compute?: string; extra?: string; epochs?: string } = {}) => `${HEADER}import torchmetrics
from typing import Iterable, Optional
from torchmetrics import Metric
def fit(model, opt, val_loader, ${opts.param ?? 'val_metrics: Optional[Iterable[Metric]] = None'}):
    ${opts.build ?? 'history = []'}
    outs = [[], []]
    for _ in ${opts.epochs ?? 'range(20)'}:
        model.eval()
        for x, y in val_loader:
            preds = model(x)
            for metric in val_metrics:
                metric.update(preds, y)
        ${opts.compute ?? 'for i, metric in enumerate(val_metrics):\n            outs[i].append(metric.compute())'}
${opts.extra ?? ''}`;
  it('reports the compute of a walked collection typed as torchmetrics, or built as a literal of metrics, and fixes it', () => {
    const code = run();
    assert.deepEqual(ids(code, 'EV014'), ['EV014']);
    const fixed = fix(code, 'EV014');
    assert.match(fixed, /outs\[i\]\.append\(metric\.compute\(\)\)\n {12}metric\.reset\(\)\n/);
    assert.deepEqual(ids(fixed, 'EV014'), []);
    const literal = run({ param: 'x=None', build: 'val_metrics = [torchmetrics.Accuracy(task="binary"), torchmetrics.F1Score(task="binary")]' });
    assert.deepEqual(ids(literal, 'EV014'), ['EV014']);
    const dict = run({ param: 'x=None', build: 'val_metrics = {"acc": torchmetrics.Accuracy(task="binary")}', compute: 'for name, metric in val_metrics.items():\n            print(name, metric.compute())' })
      .replace('for metric in val_metrics:', 'for metric in val_metrics.values():');
    assert.deepEqual(ids(dict, 'EV014'), ['EV014']);
    assert.deepEqual(ids(run({ epochs: 'tqdm(range(num_epochs))' }).replace('for x, y in val_loader', 'for batch_x, y in val_loader').replace('preds = model(x)', 'preds = model(batch_x)'), 'EV014'), ['EV014']);
  });
  it('stays quiet when an element or the collection is reset, the type is not torchmetrics, or the value is a running one', () => {
    assert.deepEqual(ids(run({ compute: 'for i, metric in enumerate(val_metrics):\n            outs[i].append(metric.compute())\n            metric.reset()' }), 'EV014'), []);
    assert.deepEqual(ids(run({ param: 'val_metrics: Optional[Iterable[Scorer]] = None' }), 'EV014'), []);
    assert.deepEqual(ids(run({ param: 'val_metrics=None' }), 'EV014'), []);
    assert.deepEqual(ids(run({ param: 'x=None', build: 'val_metrics = [make_metric()]' }), 'EV014'), []);
    const running = `${HEADER}from torchmetrics import Metric
def watch(model, loader, ms: list[Metric]):
    for x, y in loader:
        for m in ms:
            m.update(model(x), y)
        for m in ms:
            print(m.compute())
`;
    assert.deepEqual(ids(running, 'EV014'), []);
  });
});

describe("EV001: quiet on a model whose own train() is a training routine, not the mode switch", () => {
  const model = (trainDef: string) => `${HEADER}
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 2)
        self.drop = nn.Dropout(0.3)

    def forward(self, x):
        return self.fc(self.drop(x))

    def eval_epoch(self, valid_loader):
        total = 0.0
        with torch.no_grad():
            for x, y in valid_loader:
                total += F.cross_entropy(self(x), y).item()
        return total

${trainDef}
net = Net()
def evaluate(val_loader):
    with torch.no_grad():
        for x, y in val_loader:
            out = net(x)
`;
  const routine = '    def train(self, train_loader, valid_loader, epochs=5):\n        for epoch in range(epochs):\n            print(self.eval_epoch(valid_loader))\n';
  it('stays quiet in the class\'s own evaluation method, and for an instance of it', () => {
    assert.deepEqual(ids(model(routine), 'EV001'), []);
  });
  it('still reports when train() is absent or keeps the mode signature', () => {
    assert.deepEqual(ids(model(''), 'EV001'), ['EV001', 'EV001']);
    assert.deepEqual(ids(model('    def train(self, mode=True):\n        super().train(mode)\n        return self\n'), 'EV001'), ['EV001', 'EV001']);
    assert.deepEqual(ids(model('    def train(self, *args, **kwargs):\n        return super().train(*args, **kwargs)\n'), 'EV001'), ['EV001', 'EV001']);
  });
});
