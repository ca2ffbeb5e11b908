// Held-out shapes for the data and device rules: scikit-learn's old module paths (`sklearn.cross_validation`),
// loaders kept in dicts (`loaders["train"]`, through a trainer's `self.loaders`), Datasets that draw their own sample
// whatever index they get, and `.to(device)` results dropped for tensors that are function arguments.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ids, useParser } from './lint/helpers';

useParser();

/** `code` with `from` replaced by `to`; fails when `from` is not in it (a variant that silently equals the original). */
function swap(code: string, from: string, to: string): string {
  assert.ok(code.includes(from), `the test code contains: ${from}`);
  return code.replace(from, to);
}

// ---- legacy scikit-learn module paths ----

const LEGACY_SCALER = `
  import numpy as np
  from sklearn.cross_validation import train_test_split
  from sklearn.preprocessing import StandardScaler
  from sklearn.svm import SVC

  def compare(datasets):
      for X, y in datasets:
          X = StandardScaler().fit_transform(X)
          X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, random_state=1)
          print(SVC().fit(X_tr, y_tr).score(X_te, y_te))
`;

test('DT003: train_test_split from sklearn.cross_validation is a split', () => {
  assert.deepEqual(ids(LEGACY_SCALER, 'DT003'), ['DT003']);
  // the module imported whole: `cross_validation.train_test_split(...)`
  const imported = swap(LEGACY_SCALER, 'from sklearn.cross_validation import train_test_split', 'from sklearn import cross_validation');
  const moduleForm = swap(imported, '= train_test_split(', '= cross_validation.train_test_split(');
  assert.deepEqual(ids(moduleForm, 'DT003'), ['DT003']);
  // split first, scaler fitted on the training part: quiet
  const fixed = swap(
    LEGACY_SCALER,
    'X = StandardScaler().fit_transform(X)\n          X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, random_state=1)',
    'X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, random_state=1)\n          X_tr = StandardScaler().fit_transform(X_tr)',
  );
  assert.deepEqual(ids(fixed, 'DT003'), []);
});

test('DT003: the old sklearn.preprocessing.Imputer learns column statistics (but not with axis=1)', () => {
  const code = `
    from sklearn.preprocessing import Imputer
    from sklearn.model_selection import train_test_split
    imputer = Imputer(missing_values="NaN", strategy="mean", axis=0)
    X = imputer.fit_transform(X)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
  `;
  assert.deepEqual(ids(code, 'DT003'), ['DT003']);
  assert.deepEqual(ids(swap(code, 'axis=0', 'axis=1'), 'DT003'), []);
});

test('DT015: cross_val_score from sklearn.cross_validation counts as cross-validation', () => {
  const code = `
    from imblearn.over_sampling import SMOTE
    from sklearn.cross_validation import cross_val_score
    from sklearn.linear_model import LogisticRegression
    X_res, y_res = SMOTE().fit_resample(X, y)
    scores = cross_val_score(LogisticRegression(), X_res, y_res, cv=5)
  `;
  assert.deepEqual(ids(code, 'DT015'), ['DT015']);
  assert.deepEqual(ids(swap(code, 'X_res, y_res = SMOTE().fit_resample(X, y)', 'X_res, y_res = X, y'), 'DT015'), []);
});

// ---- loaders kept in dicts ----

const DICT_DDP = `
  import torch
  from torch.utils.data import DataLoader
  from torch.utils.data.distributed import DistributedSampler

  def main(datasets, model, opt):
      sampler = DistributedSampler(datasets["train"], shuffle=True)
      loaders = {
          "train": DataLoader(datasets["train"], batch_size=16, sampler=sampler),
          "valid": DataLoader(datasets["valid"], batch_size=16),
      }
      for epoch in range(20):
          for xb, yb in loaders["train"]:
              opt.zero_grad()
              model(xb, yb).backward()
              opt.step()
`;

test('DT012: a DistributedSampler behind a literal-key dict entry of loaders', () => {
  assert.deepEqual(ids(DICT_DDP, 'DT012'), ['DT012']);
  // set_epoch through the entry: quiet
  assert.deepEqual(ids(swap(DICT_DDP, 'for xb, yb in loaders["train"]:', 'loaders["train"].sampler.set_epoch(epoch)\n          for xb, yb in loaders["train"]:'), 'DT012'), []);
  // the entry replaced later (which loader runs is unknown): quiet
  const replaced = swap(DICT_DDP, '      for epoch in range(20):', '      loaders["train"] = make_loader(datasets["train"])\n      for epoch in range(20):');
  assert.deepEqual(ids(replaced, 'DT012'), []);
  const updated = swap(DICT_DDP, '      for epoch in range(20):', '      loaders.update(extra_loaders)\n      for epoch in range(20):');
  assert.deepEqual(ids(updated, 'DT012'), []);
  // the sampler of a held-out entry: quiet
  const moved = swap(
    DICT_DDP,
    '"train": DataLoader(datasets["train"], batch_size=16, sampler=sampler),\n          "valid": DataLoader(datasets["valid"], batch_size=16),',
    '"train": DataLoader(datasets["train"], batch_size=16),\n          "valid": DataLoader(datasets["valid"], batch_size=16, sampler=sampler),',
  );
  const heldOut = swap(moved, 'loaders["train"]:', 'loaders["valid"]:');
  assert.deepEqual(ids(heldOut, 'DT012'), []);
});

const TRAINER_DDP = `
  import torch
  from torch.utils.data import DataLoader
  from torch.utils.data.distributed import DistributedSampler

  class Runner:
      def __init__(self, loaders, net, optimizer):
          self.loaders = loaders
          self.net = net
          self.optimizer = optimizer
          self.done = False

      def fit(self):
          while not self.done:
              self._one_pass()

      def _one_pass(self):
          for step, batch in enumerate(self.loaders["fit"], 1):
              self.optimizer.zero_grad()
              self.net(batch).backward()
              self.optimizer.step()

  def launch(args, sets, net, optimizer):
      fit_sampler = None
      if args.ddp:
          fit_sampler = DistributedSampler(dataset=sets["fit"], num_replicas=args.world, rank=args.rank)
      loaders = {"fit": DataLoader(dataset=sets["fit"], batch_size=8, sampler=fit_sampler)}
      Runner(loaders=loaders, net=net, optimizer=optimizer).fit()
`;

test('DT012: a trainer keeps the loader dict and its epoch loop calls the method that iterates it', () => {
  assert.deepEqual(ids(TRAINER_DDP, 'DT012'), ['DT012']);
  // the epoch method sets the epoch on the entry's sampler: quiet
  const withEpoch = swap(TRAINER_DDP, '          for step, batch in enumerate(self.loaders["fit"], 1):', '          self.loaders["fit"].sampler.set_epoch(self.epoch)\n          for step, batch in enumerate(self.loaders["fit"], 1):');
  assert.deepEqual(ids(withEpoch, 'DT012'), []);
  // two runners get different dicts: the entry is not known
  const two = swap(TRAINER_DDP, 'Runner(loaders=loaders, net=net, optimizer=optimizer).fit()', 'Runner(loaders=loaders, net=net, optimizer=optimizer).fit()\n      Runner(loaders=other_loaders, net=net, optimizer=optimizer).fit()');
  assert.deepEqual(ids(two, 'DT012'), []);
});

const DICT_UNSHUFFLED = `
  import torch
  from torch.utils.data import DataLoader

  class Fitter:
      def __init__(self, model, loaders, opt):
          self.model = model
          self.loaders = loaders
          self.opt = opt

      def run(self, epochs):
          for epoch in range(epochs):
              loader = self.loaders["fold"]
              for x, y in loader:
                  self.opt.zero_grad()
                  self.model(x, y).backward()
                  self.opt.step()

  def main(model, opt, ds, ds_holdout):
      loaders = dict(fold=DataLoader(ds, batch_size=16), holdout=DataLoader(ds_holdout, batch_size=16))
      Fitter(model, loaders, opt).run(10)
`;

test('DT001: a loader a training loop reaches through a dict entry', () => {
  assert.deepEqual(ids(DICT_UNSHUFFLED, 'DT001'), ['DT001']);
  assert.deepEqual(ids(swap(DICT_UNSHUFFLED, 'fold=DataLoader(ds, batch_size=16)', 'fold=DataLoader(ds, batch_size=16, shuffle=True)'), 'DT001'), []);
  // an entry assigned under a computed key may replace it: quiet
  const mutated = swap(DICT_UNSHUFFLED, '      Fitter(model, loaders, opt).run(10)', '      loaders[name] = other\n      Fitter(model, loaders, opt).run(10)');
  assert.deepEqual(ids(mutated, 'DT001'), []);
});

// ---- Datasets that draw their own sample ----

const OWN_DRAW = `
  import random
  import torch
  from torch.utils.data import Dataset, DataLoader

  class Clips(Dataset):
      def __init__(self, rows, mode="train"):
          self.rows = rows
          self.mode = mode

      def __getitem__(self, idx):
          idx = None if self.mode == "train" else idx
          return self.load(idx)

      def __len__(self):
          return len(self.rows)

      def load(self, idx=None):
          if idx is None:
              idx = random.randint(0, len(self.rows) - 1)
          return torch.tensor(self.rows[idx])

  def train(model, opt, rows):
      train_loader = DataLoader(Clips(rows, mode="train"), batch_size=32)
      for epoch in range(5):
          for x in train_loader:
              opt.zero_grad()
              model(x).sum().backward()
              opt.step()
`;

test('DT001: quiet when the Dataset draws its own random sample instead of reading the index', () => {
  assert.deepEqual(ids(OWN_DRAW, 'DT001'), []);
  // __getitem__ that ignores its index altogether
  const ignores = swap(OWN_DRAW, 'idx = None if self.mode == "train" else idx\n          return self.load(idx)', 'return self.load()');
  assert.deepEqual(ids(ignores, 'DT001'), []);
  // a Dataset that reads the index (the random draw only retries a broken sample): still reported
  const direct = swap(OWN_DRAW, 'idx = None if self.mode == "train" else idx\n          return self.load(idx)', 'return self.load(idx)');
  const reads = swap(
    direct,
    '          if idx is None:\n              idx = random.randint(0, len(self.rows) - 1)\n          return torch.tensor(self.rows[idx])',
    '          try:\n              return torch.tensor(self.rows[idx])\n          except ValueError:\n              idx = random.randint(0, len(self.rows) - 1)\n              return torch.tensor(self.rows[idx])',
  );
  assert.deepEqual(ids(reads, 'DT001'), ['DT001']);
});

// ---- `.to(device)` dropped for tensors passed as arguments ----

test('DV007: a tensor argument moved without assignment, outside any loop', () => {
  const guarded = `
    import numpy as np
    import torch
    import torch.nn.functional as F

    def orient(points, axis=None):
        device = points.device
        if isinstance(axis, np.ndarray):
            axis = torch.from_numpy(axis).to(device)
        elif torch.is_tensor(axis):
            axis.to(device)
        return F.normalize(axis, eps=1e-6)
  `;
  assert.deepEqual(ids(guarded, 'DV007'), ['DV007']);
  const arithmetic = `
    import torch

    def project(feats, weight, device):
        feats.to(device)
        return feats @ weight
  `;
  assert.deepEqual(ids(arithmetic, 'DV007'), ['DV007']);
  const indexed = `
    import torch

    def centre(cloud, device):
        cloud.cuda()
        return cloud[:, :3].mean(0)
  `;
  assert.deepEqual(ids(indexed, 'DV007'), ['DV007']);
  const named = `
    import torch

    def predict(classifier_fn, images, device):
        images.to(device)
        return classifier_fn(images)
  `;
  assert.deepEqual(ids(named, 'DV007'), ['DV007']);
});

test('DV007: quiet on arguments that may be modules or move in place', () => {
  // called like a module
  const called = `
    import torch

    def prepare(ae, x, device):
        ae.to(device)
        return ae(x) * 2
  `;
  assert.deepEqual(ids(called, 'DV007'), []);
  // module-only methods
  const evalled = `
    import torch

    def freeze(thing, device):
        thing.to(device)
        thing.eval()
        return thing
  `;
  assert.deepEqual(ids(evalled, 'DV007'), []);
  // a module name, even read like a tensor elsewhere
  const moduleName = `
    import torch

    def setup(decoder, device):
        decoder.to(device)
        return decoder
  `;
  assert.deepEqual(ids(moduleName, 'DV007'), []);
  // bound to a class of the file
  const fileClass = `
    import torch
    import torch.nn as nn

    class Tiny(nn.Module):
        def forward(self, x):
            return x

    def build(x, device):
        x = Tiny()
        x.to(device)
        return x
  `;
  assert.deepEqual(ids(fileClass, 'DV007'), []);
  // nothing says tensor
  const unknown = `
    import torch

    def move(obj, device):
        obj.to(device)
        return obj
  `;
  assert.deepEqual(ids(unknown, 'DV007'), []);
  // Hugging Face batches and graph batches move in place
  const encoding = `
    import torch
    from transformers import AutoTokenizer

    def encode(inputs, device):
        inputs.to(device)
        return inputs
  `;
  assert.deepEqual(ids(encoding, 'DV007'), []);
  const graph = `
    import torch
    from torch_geometric.data import Data

    def shift(data, device):
        data.to(device)
        return data.x + 1
  `;
  assert.deepEqual(ids(graph, 'DV007'), []);
  // the result is used
  const assigned = `
    import torch

    def project(feats, weight, device):
        feats = feats.to(device)
        return feats @ weight
  `;
  assert.deepEqual(ids(assigned, 'DV007'), []);
});

test('DV007: a parameter named inputs may be a tokenizer batch (its .to() works in place): no name signal', () => {
  const code = `
    import torch

    def run(classifier_fn, inputs, device):
        inputs.to(device)
        return classifier_fn(**inputs)
  `;
  assert.deepEqual(ids(code, 'DV007'), []);
});

test('DV007: a generic helper parameter (x) gets modules too: no name signal', () => {
  const code = `
    import torch

    def to_device(x, device):
        x.to(device)
        return x
  `;
  assert.deepEqual(ids(code, 'DV007'), []);
  // the same helper that computes with it: a tensor
  assert.deepEqual(ids(swap(code, 'return x', 'return x * 2'), 'DV007'), ['DV007']);
});
