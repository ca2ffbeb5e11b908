// Session 15, evaluation: selection on test metrics through copies and unpackings (EV005), held-out loaders drawing
// the training samples or held-out metrics computed on the training loader (EV004), argument roles read past container
// words and through list builds (EV017), metric collections computed in helpers of epoch-end hooks (EV014), shuffled
// test predictions paired with the data in dataset order (DT014), drop_last with nothing to drop (DT009).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, lint, useParser } from './lint/helpers';

useParser();

// ---------------------------------------------------------------- EV005

const EPOCHS = (score: string, extra = '') => `${HEADER}
def evaluate_split(loader, model):
    model.eval()
    correct = 0
    with torch.no_grad():
        for x, y in loader:
            correct += (model(x).argmax(1) == y).sum().item()
    return correct / len(loader.dataset)

def test(test_loader, model):
    model.eval()
    scores = []
    with torch.no_grad():
        for x, y in test_loader:
            scores.append((model(x).argmax(1) == y).float().mean().item())
    return 0.0, [sum(scores) / len(scores), 0.0]

def main(model, opt, train_loader, test_loader, val_loader):
    best = 0
    for epoch in range(20):
        for x, y in train_loader:
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
${extra}
        current = ${score}
        if current >= best:
            best = current
            torch.save(model.state_dict(), "best.pt")
`;

test('EV005: a test metric reached through a copy of an element unpacked from what test() returned', () => {
  const code = EPOCHS('acc', '        loss, results = test(test_loader, model)\n        [acc, f1] = results');
  assert.deepEqual(ids(code, 'EV005'), ['EV005']);
  // read by a literal index
  assert.deepEqual(ids(EPOCHS('acc', '        loss, results = test(test_loader, model)\n        acc = results[0]'), 'EV005'), ['EV005']);
  // a plain copy chain, two steps
  assert.deepEqual(ids(EPOCHS('score', '        loss, results = test(test_loader, model)\n        acc, f1 = results\n        score = acc'), 'EV005'), ['EV005']);
});

test('EV005: copies of a validation metric, or of a call that is not a test, stay quiet', () => {
  assert.deepEqual(ids(EPOCHS('acc', '        loss, results = evaluate_split(val_loader, model), [0.0]\n        [acc, f1] = results'), 'EV005'), []);
  assert.deepEqual(ids(EPOCHS('acc', '        results = [evaluate_split(val_loader, model), 0.0]\n        [acc, f1] = results'), 'EV005'), []);
  assert.deepEqual(ids(EPOCHS('score', '        val_acc = evaluate_split(val_loader, model)\n        score = val_acc'), 'EV005'), []);
  assert.deepEqual(ids(EPOCHS('acc', '        results = [evaluate_split(val_loader, model)]\n        acc = results[0]'), 'EV005'), []);
});

// ---------------------------------------------------------------- EV004

const SAMPLERS = (valSampler: string, valData = 'full') => `${HEADER}from torch.utils.data import SubsetRandomSampler

def loaders(full, split, bs):
    idx = list(range(len(full)))
    train_idx, held_idx = idx[:split], idx[split:]
    train_sampler = SubsetRandomSampler(train_idx)
    held_sampler = SubsetRandomSampler(held_idx)
    train_loader = DataLoader(full, batch_size=bs, sampler=train_sampler)
    valid_loader = DataLoader(${valData}, batch_size=bs, sampler=${valSampler})
    return train_loader, valid_loader
`;

test('EV004: a held-out loader drawing with the training sampler or indices', () => {
  assert.deepEqual(ids(SAMPLERS('train_sampler'), 'EV004'), ['EV004']);
  assert.deepEqual(ids(SAMPLERS('SubsetRandomSampler(train_idx)'), 'EV004'), ['EV004']);
  const f = lint(SAMPLERS('train_sampler'), { select: ['EV004'] })[0]!;
  assert.match(f.message, /valid_loader draws its samples with train_sampler/);
});

test('EV004: the same sampler binding and dataset as the training loader, whatever its name', () => {
  const code = `${HEADER}from torch.utils.data import SubsetRandomSampler
def loaders(full, idx, bs):
    s1 = SubsetRandomSampler(idx[:800])
    s2 = SubsetRandomSampler(idx[800:])
    train_loader = DataLoader(full, batch_size=bs, sampler=s1)
    val_loader = DataLoader(full, batch_size=bs, sampler=s1)
    return train_loader, val_loader
`;
  assert.deepEqual(ids(code, 'EV004'), ['EV004']);
  // the held-out sampler, or the same sampler over another dataset, or a re-bound sampler: quiet
  assert.deepEqual(ids(code.replace('sampler=s1)\n    return', 'sampler=s2)\n    return'), 'EV004'), []);
  assert.deepEqual(ids(code.replace('DataLoader(full, batch_size=bs, sampler=s1)\n    return', 'DataLoader(other, batch_size=bs, sampler=s1)\n    return'), 'EV004'), []);
  assert.deepEqual(ids(code.replace('    val_loader =', '    s1 = SubsetRandomSampler(idx[800:])\n    val_loader ='), 'EV004'), []);
});

test('EV004: held-out samplers stay quiet', () => {
  assert.deepEqual(ids(SAMPLERS('held_sampler'), 'EV004'), []);
  assert.deepEqual(ids(SAMPLERS('SubsetRandomSampler(held_idx)'), 'EV004'), []);
  assert.deepEqual(ids(SAMPLERS('val_sampler'), 'EV004'), []);
});

const ACC_LOOP = (line: string) => `${HEADER}
def accuracy_on(loader, net):
    net.eval()
    hits = total = 0
    with torch.no_grad():
        for x, y in loader:
            hits += (net(x).argmax(1) == y).sum().item()
            total += y.numel()
    return hits / total

test_acc_hist = []
for epoch in range(5):
    for x, y in train_loader:
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()
    ${line}
`;

test('EV004: a test metric, or a test metric history, computed on the training loader', () => {
  assert.deepEqual(ids(ACC_LOOP('test_acc = accuracy_on(train_loader, net)'), 'EV004'), ['EV004']);
  assert.deepEqual(ids(ACC_LOOP('test_acc_hist.append(accuracy_on(train_loader, net))'), 'EV004'), ['EV004']);
  assert.deepEqual(ids(ACC_LOOP('val_losses.append(accuracy_on(train_loader, net))'), 'EV004'), ['EV004']);
});

test('EV004: test metrics on the test loader, training metrics on the training loader: quiet', () => {
  assert.deepEqual(ids(ACC_LOOP('test_acc = accuracy_on(test_loader, net)'), 'EV004'), []);
  assert.deepEqual(ids(ACC_LOOP('train_acc = accuracy_on(train_loader, net)'), 'EV004'), []);
  assert.deepEqual(ids(ACC_LOOP('test_acc_hist.append(accuracy_on(test_loader, net))'), 'EV004'), []);
  assert.deepEqual(ids(ACC_LOOP('train_acc_hist.append(accuracy_on(train_loader, net))'), 'EV004'), []);
  assert.deepEqual(ids(ACC_LOOP('test_acc = compare(train_loader, test_loader)'), 'EV004'), []);
});

// ---------------------------------------------------------------- EV017

const SK = 'from sklearn import metrics\nfrom sklearn.metrics import f1_score, confusion_matrix\n';

test('EV017: names read past container words and short spellings', () => {
  for (const call of ['metrics.f1_score(pred_list, grd_list, average="weighted")', 'confusion_matrix(preds_all, gold_np)', 'f1_score(y_hat_list, tgts)']) {
    assert.deepEqual(ids(`${SK}r = ${call}\n`, 'EV017'), ['EV017'], call);
  }
  for (const call of ['metrics.f1_score(grd_list, pred_list)', 'f1_score(pred_list, score_list)', 'f1_score(a_list, b_list)', 'f1_score(list_a, gold)']) {
    assert.deepEqual(ids(`${SK}r = ${call}\n`, 'EV017'), [], call);
  }
});

test('EV017: a list built empty is read through what its appends and extends add', () => {
  const code = (gold: string, pred: string) => `${SK}
def evaluate(model, loader):
    left, right = [], []
    gold = []
    out = []
    for x, y in loader:
        out.extend(${pred})
        gold.extend(${gold})
    return f1_score(out, gold, average="macro")
`;
  assert.deepEqual(ids(code('y.tolist()', 'model(x).argmax(1).tolist()'), 'EV017'), []); // `out` says nothing by name
  const named = (pred: string, gold: string) => `${SK}
def evaluate(model, loader):
    p = []
    g = []
    for x, y in loader:
        p.append(${pred})
        g.extend(${gold})
    return f1_score(p, g, average="macro")
`;
  assert.deepEqual(ids(named('preds', 'batch_labels.tolist()'), 'EV017'), ['EV017']);
  assert.deepEqual(ids(named('labels', 'batch_preds.tolist()'), 'EV017'), []);
  assert.deepEqual(ids(named('preds', 'batch_stuff.tolist()'), 'EV017'), []);
  assert.deepEqual(ids(named('preds', 'batch_labels.tolist()').replace('    g = []', '    g = [0]'), 'EV017'), []);
});

// ---------------------------------------------------------------- EV014

const LIGHTNING = (extra = '', log = 'self.log_dict({"acc": acc})') => `import torch
import pytorch_lightning as pl
from torchmetrics import Accuracy, MetricCollection

class Classifier(pl.LightningModule):
    def __init__(self, n):
        super().__init__()
        self.layer = torch.nn.Linear(8, n)
        self.scores = MetricCollection({f"{s}_acc": Accuracy(task="multiclass", num_classes=n) for s in ["train", "val"]})

    def _step(self, batch, split):
        x, y = batch
        logits = self.layer(x)
        self.scores[f"{split}_acc"](logits.argmax(-1), y)
        return torch.nn.functional.cross_entropy(logits, y)

    def training_step(self, batch, batch_idx):
        return self._step(batch, "train")

    def validation_step(self, batch, batch_idx):
        return self._step(batch, "val")

    def _epoch_end(self, split):
        acc = self.scores[f"{split}_acc"].compute()
        ${log}
${extra}
    def on_validation_epoch_end(self):
        self._epoch_end("val")
`;

test('EV014: a metric collection read by key, computed in a helper an epoch-end hook calls, never reset', () => {
  assert.deepEqual(ids(LIGHTNING(), 'EV014'), ['EV014']);
});

test('EV014: reset by key or whole, logged as objects, or a helper no hook calls: quiet', () => {
  assert.deepEqual(ids(LIGHTNING('', 'self.log_dict({"acc": acc})\n        self.scores[f"{split}_acc"].reset()'), 'EV014'), []);
  assert.deepEqual(ids(LIGHTNING('', 'self.log_dict({"acc": acc})\n        self.scores.reset()'), 'EV014'), []);
  assert.deepEqual(ids(LIGHTNING('', 'self.log("acc", self.scores[f"{split}_acc"])'), 'EV014'), []);
  assert.deepEqual(ids(LIGHTNING().replace('self._epoch_end("val")', 'pass'), 'EV014'), []);
});

// ---------------------------------------------------------------- DT014

const SHUFFLED = (use: string, shuffle = 'True') => `${HEADER}import numpy as np
from torch.utils.data import TensorDataset
from sklearn.metrics import accuracy_score

def predict_all(model, loader):
    out = []
    with torch.no_grad():
        for x, _ in loader:
            out += model(x).argmax(1).tolist()
    return out

test_set = TensorDataset(torch.tensor(x_test), torch.tensor(y_test))
test_loader = DataLoader(test_set, batch_size=32, shuffle=${shuffle})
${use}
`;

test('DT014: shuffled test predictions paired with the arrays the dataset was built from', () => {
  for (const use of [
    'y_pred = predict_all(model, test_loader)\nprint(accuracy_score(y_test, y_pred))',
    'y_pred = predict_all(model, test_loader)\nexplainer.fit(data=(x_test, np.array(y_pred)))',
    'preds = []\nfor xb, yb in test_loader:\n    preds.append(model(xb).argmax(1))\nfor x, p in zip(x_test, torch.cat(preds)):\n    show(x, p)',
  ]) {
    assert.deepEqual(ids(SHUFFLED(use), 'DT014'), ['DT014'], use);
  }
  const f = lint(SHUFFLED('y_pred = predict_all(model, test_loader)\nprint(accuracy_score(y_test, y_pred))'), { select: ['DT014'] })[0]!;
  assert.match(f.message, /test_loader shuffles, but its predictions \(y_pred\) are paired with y_test/);
});

test('DT014: no shuffle, labels gathered from the loader, a re-bound array, unclear names: quiet', () => {
  assert.deepEqual(ids(SHUFFLED('y_pred = predict_all(model, test_loader)\nprint(accuracy_score(y_test, y_pred))', 'False'), 'DT014'), []);
  assert.deepEqual(ids(SHUFFLED('y_pred, labels = gather(model, test_loader)\nscore = accuracy_score(labels, y_pred)'), 'DT014'), []);
  assert.deepEqual(ids(SHUFFLED('y_pred = predict_all(model, test_loader)\ny_test = load_other()\nscore = accuracy_score(y_test, y_pred)'), 'DT014'), []);
  assert.deepEqual(ids(SHUFFLED('result = predict_all(model, test_loader)\nscore = accuracy_score(y_test, result)'), 'DT014'), []);
  assert.deepEqual(ids(SHUFFLED('y_pred = predict_all(model, test_loader)\nprint(y_test, y_pred)'), 'DT014'), []);
});

// ---------------------------------------------------------------- DT009

test('DT009: drop_last on a held-out loader with batch_size 1 or None drops nothing', () => {
  assert.deepEqual(ids(`${HEADER}test_loader = DataLoader(test_ds, batch_size=1, drop_last=True)\n`, 'DT009'), []);
  assert.deepEqual(ids(`${HEADER}test_loader = DataLoader(test_ds, 1, drop_last=True)\n`, 'DT009'), []);
  assert.deepEqual(ids(`${HEADER}test_loader = DataLoader(test_ds, batch_size=None, drop_last=True)\n`, 'DT009'), []);
  assert.deepEqual(ids(`${HEADER}def build(test_ds):\n    bs = 1\n    test_loader = DataLoader(test_ds, batch_size=bs, drop_last=True)\n    return test_loader\n`, 'DT009'), []);
});

test('DT009: larger or unknown batch sizes are still reported', () => {
  assert.deepEqual(ids(`${HEADER}test_loader = DataLoader(test_ds, batch_size=16, drop_last=True)\n`, 'DT009'), ['DT009']);
  assert.deepEqual(ids(`${HEADER}test_loader = DataLoader(test_ds, batch_size=args.bs, drop_last=True)\n`, 'DT009'), ['DT009']);
  assert.deepEqual(ids(`${HEADER}def build(test_ds, fast):\n    bs = 1\n    if fast:\n        bs = 64\n    test_loader = DataLoader(test_ds, batch_size=bs, drop_last=True)\n    return test_loader\n`, 'DT009'), ['DT009']);
});
