// Real-world misses of the data rules (DT001, DT008) and of EV004, found on public bug reports.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

const DIST = `${HEADER}from torch.utils.data import DistributedSampler\n`;
const TRAIN_LOOP = `
for epoch in range(3):
    for xb, yb in loader:
        opt.zero_grad()
        F.mse_loss(net(xb), yb).backward()
        opt.step()
`;

test('DT001: shuffle=False with a sampler that is None on one branch (single-process runs never shuffle)', () => {
  const named = `${DIST}\nsampler = DistributedSampler(ds) if world_size > 1 else None\ntrain_loader = DataLoader(ds, batch_size=8, shuffle=False, sampler=sampler)\n`;
  const f = lint(named, { select: ['DT001'] });
  assert.equal(f.length, 1);
  assert.match(f[0]!.message, /`world_size > 1` is false, sampler is None/);
  // shuffle absent, the None branch first, the sampler inline, a loader found by its training loop
  assert.deepEqual(ids(`${DIST}\ns = None if single_gpu else DistributedSampler(ds)\ntrain_loader = DataLoader(ds, batch_size=8, sampler=s)\n`, 'DT001'), ['DT001']);
  assert.deepEqual(ids(`${DIST}\ntrain_loader = DataLoader(ds, shuffle=False, sampler=DistributedSampler(ds) if ddp else None)\n`, 'DT001'), ['DT001']);
  assert.deepEqual(ids(`${DIST}\ns = torch.utils.data.RandomSampler(ds) if sample else None\nloader = DataLoader(ds, batch_size=8, sampler=s)\n${TRAIN_LOOP}`, 'DT001'), ['DT001']);
});

test('DT001: the fix shuffles exactly when there is no sampler', () => {
  const code = `${DIST}\nsampler = DistributedSampler(ds) if world_size > 1 else None\ntrain_loader = DataLoader(ds, batch_size=8, shuffle=False, sampler=sampler)\n`;
  const fixed = fix(code, 'DT001');
  assert.match(fixed, /DataLoader\(ds, batch_size=8, shuffle=\(sampler is None\), sampler=sampler\)/);
  assert.deepEqual(ids(fixed, 'DT001'), []);
  const added = fix(`${DIST}\ns = DistributedSampler(ds) if ddp else None\ntrain_loader = DataLoader(ds, sampler=s)\n`, 'DT001');
  assert.match(added, /DataLoader\(ds, sampler=s, shuffle=\(s is None\)\)/);
});

test('DT001: look-alikes of the maybe-None sampler stay quiet', () => {
  const quiet = [
    // the usual correct forms
    `${DIST}\ns = DistributedSampler(ds) if ddp else None\ntrain_loader = DataLoader(ds, shuffle=(s is None), sampler=s)\n`,
    `${DIST}\ns = DistributedSampler(ds) if ddp else None\ntrain_loader = DataLoader(ds, shuffle=not ddp, sampler=s)\n`,
    `${DIST}\ns = DistributedSampler(ds) if ddp else None\ntrain_loader = DataLoader(ds, shuffle=True if s is None else False, sampler=s)\n`,
    // a sampler that is always there
    `${DIST}\ns = DistributedSampler(ds)\ntrain_loader = DataLoader(ds, shuffle=False, sampler=s)\n`,
    // the other branch does not shuffle either: keeping the order is the point
    `${DIST}\ns = torch.utils.data.SequentialSampler(ds) if ddp else None\ntrain_loader = DataLoader(ds, shuffle=False, sampler=s)\n`,
    `${DIST}\ns = DistributedSampler(ds, shuffle=False) if ddp else None\ntrain_loader = DataLoader(ds, shuffle=False, sampler=s)\n`,
    // held-out loaders keep their order
    `${DIST}\ns = DistributedSampler(val_ds) if ddp else None\nval_loader = DataLoader(val_ds, shuffle=False, sampler=s)\n`,
  ];
  for (const code of quiet) assert.deepEqual(ids(code, 'DT001'), [], code);
});

const AUG = `${HEADER}from torchvision import datasets, transforms
train_tf = transforms.Compose([transforms.RandomResizedCrop(64), transforms.RandomHorizontalFlip(), transforms.ToTensor()])
eval_tf = transforms.Compose([transforms.Resize(64), transforms.ToTensor()])
`;

test('DT008: validation indices sampled from the one augmented dataset that training uses', () => {
  const sampler = `${AUG}
full = datasets.ImageFolder("imgs", transform=train_tf)
perm = torch.randperm(len(full)).tolist()
tr_sampler = torch.utils.data.SubsetRandomSampler(perm[200:])
val_sampler = torch.utils.data.SubsetRandomSampler(perm[:200])
train_loader = DataLoader(full, batch_size=32, sampler=tr_sampler)
val_loader = DataLoader(full, batch_size=32, sampler=val_sampler)
`;
  const f = lint(sampler, { select: ['DT008'] });
  assert.equal(f.length, 1);
  assert.match(f[0]!.message, /val_loader draws its indices from full.*RandomResizedCrop, RandomHorizontalFlip/);
  // Subset over the same dataset
  const subset = `${AUG}\nfull = datasets.ImageFolder("imgs", transform=train_tf)\ntrain_part = torch.utils.data.Subset(full, idx[:800])\nval_part = torch.utils.data.Subset(full, idx[800:])\n`;
  assert.deepEqual(ids(subset, 'DT008'), ['DT008']);
  // the dataset arrives as a parameter, built with augmentations at the only call site
  const param = `${AUG}
def make_loaders(data, cut):
    tr_sampler = torch.utils.data.SubsetRandomSampler(range(cut))
    val_sampler = torch.utils.data.SubsetRandomSampler(range(cut, len(data)))
    return DataLoader(data, sampler=tr_sampler), DataLoader(data, sampler=val_sampler)

make_loaders(datasets.ImageFolder("imgs", transform=train_tf), 900)
`;
  assert.deepEqual(ids(param, 'DT008'), ['DT008']);
});

test('DT008: look-alikes of the index split stay quiet', () => {
  const quiet = [
    // a second dataset object with the evaluation transform over the same folder
    `${AUG}\ntrain_full = datasets.ImageFolder("imgs", transform=train_tf)\nval_full = datasets.ImageFolder("imgs", transform=eval_tf)\ntrain_loader = DataLoader(train_full, sampler=torch.utils.data.SubsetRandomSampler(idx[200:]))\nval_loader = DataLoader(val_full, sampler=torch.utils.data.SubsetRandomSampler(idx[:200]))\n`,
    // no augmentation in the transform
    `${AUG}\nfull = datasets.ImageFolder("imgs", transform=eval_tf)\ntrain_loader = DataLoader(full, sampler=torch.utils.data.SubsetRandomSampler(idx[200:]))\nval_loader = DataLoader(full, sampler=torch.utils.data.SubsetRandomSampler(idx[:200]))\n`,
    // only the training loader samples the augmented dataset
    `${AUG}\nfull = datasets.ImageFolder("imgs", transform=train_tf)\ntrain_loader = DataLoader(full, sampler=torch.utils.data.SubsetRandomSampler(idx))\n`,
    // a held-out subset of an augmented dataset nothing trains on (DT010's ground)
    `${AUG}\nfull = datasets.ImageFolder("imgs", transform=train_tf)\nval_part = torch.utils.data.Subset(full, idx[800:])\n`,
    // the transform is swapped later: left to the reader
    `${AUG}\nfull = datasets.ImageFolder("imgs", transform=train_tf)\ntrain_part = torch.utils.data.Subset(full, idx[:800])\nval_part = torch.utils.data.Subset(copy.deepcopy(full), idx[800:])\nval_part.dataset.transform = eval_tf\n`,
  ];
  // a parameter whose call site passes a dataset without augmentations
  const plain = `${AUG}\ndef make_loaders(data):\n    tr_sampler = torch.utils.data.SubsetRandomSampler(range(900))\n    val_sampler = torch.utils.data.SubsetRandomSampler(range(900, 1000))\n    return DataLoader(data, sampler=tr_sampler), DataLoader(data, sampler=val_sampler)\n\nmake_loaders(datasets.ImageFolder("imgs", transform=eval_tf))\n`;
  quiet.push(plain);
  for (const code of quiet) assert.deepEqual(ids(code, 'DT008'), [], code);
});

const TV = `${HEADER}import torchvision\ntf = torchvision.transforms.ToTensor()\n`;

test('EV004: a validation or test dataset built with train=True / split="train" and loaded whole', () => {
  const code = `${TV}\ntrain_set = torchvision.datasets.MNIST("d", train=True, transform=tf)\nval_set = torchvision.datasets.MNIST("d", train=True, transform=tf)\ntrain_loader = DataLoader(train_set, batch_size=64, shuffle=True)\nval_loader = DataLoader(val_set, batch_size=64)\n`;
  const f = lint(code, { select: ['EV004'] });
  assert.equal(f.length, 1);
  assert.match(f[0]!.message, /val_set is built with train=True/);
  const attr = `${TV}
class Runner:
    def build(self, make):
        self.train_ds = make(train=True)
        self.test_ds = make(train=True)
        self.train_dl = DataLoader(self.train_ds, shuffle=True)
        self.test_dl = DataLoader(dataset=self.test_ds, batch_size=len(self.test_ds))
`;
  assert.deepEqual(ids(attr, 'EV004'), ['EV004']);
  assert.deepEqual(ids(`${TV}\nval_ds = load_dataset("imdb", split="train")\nval_loader = DataLoader(val_ds, batch_size=8)\n`, 'EV004'), ['EV004']);
});

test('EV004: held-out parts of a train=True dataset stay quiet', () => {
  const quiet = [
    // random_split / Subset / an index sampler over the train=True dataset
    `${TV}\nfull = torchvision.datasets.MNIST("d", train=True, transform=tf)\ntrain_set, val_set = torch.utils.data.random_split(full, [50000, 10000])\nval_loader = DataLoader(val_set)\n`,
    `${TV}\nval_set = torchvision.datasets.MNIST("d", train=True, transform=tf)\nval_part = torch.utils.data.Subset(val_set, val_idx)\n`,
    `${TV}\nvalid_set = torchvision.datasets.MNIST("d", train=True, transform=tf)\nvalid_loader = DataLoader(valid_set, sampler=torch.utils.data.SubsetRandomSampler(valid_idx))\n`,
    // the held-out flag, and slices of the train split
    `${TV}\nval_set = torchvision.datasets.MNIST("d", train=False, transform=tf)\nval_loader = DataLoader(val_set)\n`,
    `${TV}\nval_ds = load_dataset("imdb", split="train[90%:]")\nval_loader = DataLoader(val_ds)\n`,
    // its data is cut down afterwards
    `${TV}\nval_set = torchvision.datasets.MNIST("d", train=True, transform=tf)\nval_set.data = val_set.data[val_idx]\nval_loader = DataLoader(val_set)\n`,
    // passed on to code we do not see
    `${TV}\nval_set = torchvision.datasets.MNIST("d", train=True, transform=tf)\nval_set = holdout(val_set)\nval_loader = DataLoader(val_set)\n`,
  ];
  for (const code of quiet) assert.deepEqual(ids(code, 'EV004'), [], code);
});

const NP = 'import numpy as np\n';

test('DT011: a class centres its input with its own mean, and is built on training and on test data', () => {
  const code = `${NP}
class Frames:
    def __init__(self, frames, labels):
        self.mu = frames.mean(axis=0)
        self.frames = (frames - self.mu) / frames.std(axis=0)
        self.labels = labels

train = Frames(x_train, y_train)
test = Frames(x_test, y_test)
`;
  const f = lint(code, { select: ['DT011'] });
  assert.equal(f.length, 1);
  assert.match(f[0]!.message, /Frames centres its input with that input's own mean, so x_test/);
  // the statistic inline, through np.mean
  assert.deepEqual(ids(`${NP}\nclass S:\n    def __init__(self, data):\n        self.data = data - np.mean(data, axis=0)\n\na = S(train_x)\nb = S(val_x)\n`, 'DT011'), ['DT011']);
});

test('DT011: look-alikes of the self-centring class stay quiet', () => {
  const quiet = [
    // statistics can come from outside, and the test set gets the training ones
    `${NP}\nclass S:\n    def __init__(self, data, mean=None):\n        if mean is None:\n            mean = data.mean(0)\n        self.mean = mean\n        self.data = data - mean\n\ntr = S(x_train)\nte = S(x_test, mean=tr.mean)\n`,
    // computed only when none is set
    `${NP}\nclass S:\n    def __init__(self, data):\n        if self.shared is None:\n            self.shared = data.mean(0)\n        self.data = data - self.shared\n\ntr = S(x_train)\nte = S(x_test)\n`,
    // per-sample statistics (axis 1)
    `${NP}\nclass S:\n    def __init__(self, data):\n        self.data = data - data.mean(axis=1, keepdims=True)\n\ntr = S(x_train)\nte = S(x_test)\n`,
    // only ever built on held-out data (nothing to compare with), or only on training data
    `${NP}\nclass S:\n    def __init__(self, data):\n        self.data = data - data.mean(0)\n\nte = S(x_test)\n`,
    `${NP}\nclass S:\n    def __init__(self, data):\n        self.data = data - data.mean(0)\n\ntr = S(x_train)\n`,
    // the class only stores the statistic: fitting it on test data is DT007's business
    `${NP}\nclass S:\n    def __init__(self, data):\n        self.mean = data.mean(0)\n    def apply(self, x):\n        return x - self.mean\n\ntr = S(x_train)\nte = S(x_test)\n`,
  ];
  for (const code of quiet) assert.deepEqual(ids(code, 'DT011'), [], code);
});

test('DT010: MONAI Rand* and albumentations flips count as augmentation, also through an alias of the training pipeline', () => {
  const monai = (valTf: string) => `import torch
from monai.data import CacheDataset, DataLoader
from monai.transforms import Compose, LoadImaged, RandFlipd, RandRotate90d, ScaleIntensityd, ToTensord

train_transforms = Compose([LoadImaged(keys=["img", "seg"]), ScaleIntensityd(keys="img"), RandFlipd(keys=["img", "seg"], prob=0.5), RandRotate90d(keys=["img", "seg"]), ToTensord(keys=["img", "seg"])])
val_transforms = ${valTf}
train_ds = CacheDataset(data=train_files, transform=train_transforms)
val_ds = CacheDataset(data=val_files, transform=val_transforms)
val_loader = DataLoader(val_ds, batch_size=1)
`;
  assert.deepEqual(ids(monai('train_transforms'), 'DT010'), ['DT010']);
  assert.deepEqual(ids(monai('Compose([LoadImaged(keys=["img", "seg"]), ScaleIntensityd(keys="img"), ToTensord(keys=["img", "seg"])])'), 'DT010'), []);
  const album = (valTf: string) => `import albumentations as A
from torch.utils.data import DataLoader
train_aug = A.Compose([A.Resize(256, 256), A.HorizontalFlip(), A.ShiftScaleRotate(), A.Normalize()])
valid_dataset = LeafDataset(valid_df, transform=${valTf})
valid_loader = DataLoader(valid_dataset, batch_size=32)
`;
  assert.deepEqual(ids(album('train_aug'), 'DT010'), ['DT010']);
  assert.deepEqual(ids(album('A.Compose([A.Resize(256, 256), A.Normalize()])'), 'DT010'), []);
});
