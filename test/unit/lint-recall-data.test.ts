// Slice-8 data fixes: DT006 through cv2 ops, `model = model.to(device)`, pixel CSVs and ToTensor on float arrays;
// DT010 with positional transforms; DT008 on `val_ds.dataset.transform = ...`; DT001 on iterable datasets.
// Each positive has a look-alike that stays silent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, useParser } from './lint/helpers';

useParser();

const CV2 = (prep: string, model: string) => `${HEADER}import cv2, glob
from torch.utils.data import Dataset
from torchvision import models

class DS(Dataset):
    def __init__(self, files):
        self.files = files
    def __len__(self):
        return len(self.files)
    def __getitem__(self, i):
        img = cv2.imread(self.files[i])
        ${prep}
        img = torch.from_numpy(img).permute(2, 0, 1).float()
        return img, 0

loader = DataLoader(DS(glob.glob("*.jpg")), batch_size=32, shuffle=True)
${model}
for x, y in loader:
    x, y = x.to("cuda"), y.to("cuda")
    loss = F.cross_entropy(model(x), y)
`;

test('DT006 through cv2.resize / cvtColor and `model = model.to(device)`', () => {
  assert.deepEqual(ids(CV2('img = cv2.resize(img, (224, 224))', 'model = models.vgg16(weights="DEFAULT")'), 'DT006'), ['DT006']);
  assert.deepEqual(ids(CV2('img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)', 'model = models.vgg16(weights="DEFAULT")\nmodel = model.to("cuda")'), 'DT006'), ['DT006']);
});

test('DT006 stays silent when the cv2 image is scaled, or the model is not a network', () => {
  assert.deepEqual(ids(CV2('img = cv2.resize(img, (224, 224)) / 255.0', 'model = models.vgg16(weights="DEFAULT")\nmodel = model.to("cuda")'), 'DT006'), []);
  assert.deepEqual(ids(CV2('img = cv2.normalize(img, None, 0, 1, cv2.NORM_MINMAX)', 'model = models.vgg16(weights="DEFAULT")'), 'DT006'), []);
  assert.deepEqual(ids(CV2('img = cv2.resize(img, (224, 224))', 'model = make_model()\nmodel = model.to("cuda")'), 'DT006'), []);
});

const CSV = (path: string, scale: string) => `${HEADER}import pandas as pd
train = pd.read_csv(${path})
X = torch.tensor(train.drop('label', axis=1).values, dtype=torch.float32)${scale}
y = torch.tensor(train['label'].values)
model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(10):
    opt.zero_grad()
    F.cross_entropy(model(X), y).backward()
    opt.step()
`;

test('DT006 on the pixels of a digit-recognizer CSV', () => {
  assert.deepEqual(ids(CSV("'../input/digit-recognizer/train.csv'", ''), 'DT006'), ['DT006']);
});

test('DT006 silent on a CSV that is not pixels, or pixels divided by 255', () => {
  assert.deepEqual(ids(CSV("'../input/titanic/train.csv'", ''), 'DT006'), []);
  assert.deepEqual(ids(CSV("'../input/digit-recognizer/train.csv'", ' / 255.0'), 'DT006'), []);
});

const CSV_DS = (dtype: string, tf: string) => `${HEADER}import numpy as np, pandas as pd
from torch.utils.data import Dataset
from torchvision import transforms

class CsvDigits(Dataset):
    def __init__(self, df, transform=None):
        self.y = df['label'].values
        self.X = df.drop(columns=['label']).values.reshape(-1, 28, 28)${dtype}
        self.transform = transform
    def __len__(self):
        return len(self.X)
    def __getitem__(self, i):
        img = self.X[i]
        if self.transform:
            img = self.transform(img)
        return img, self.y[i]

tf = ${tf}
df = pd.read_csv('train.csv')
train_ds = CsvDigits(df, transform=tf)
train_loader = DataLoader(train_ds, batch_size=64, shuffle=True)
model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
for data, target in train_loader:
    loss = F.cross_entropy(model(data.float()), target)
`;

test('DT006: ToTensor() on a float32 array of CSV pixels does not scale them', () => {
  assert.deepEqual(ids(CSV_DS('.astype(np.float32)', 'transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])'), 'DT006'), ['DT006']);
});

test('DT006 silent when ToTensor() receives uint8, or Normalize uses 0-255 statistics', () => {
  assert.deepEqual(ids(CSV_DS('.astype(np.uint8)', 'transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])'), 'DT006'), []);
  assert.deepEqual(ids(CSV_DS('.astype(np.float32)', 'transforms.Compose([transforms.ToTensor(), transforms.Normalize((33.3,), (78.6,))])'), 'DT006'), []);
});

const TV = 'from torchvision import datasets, transforms\ntrain_tf = transforms.Compose([transforms.RandomResizedCrop(224), transforms.RandomHorizontalFlip(), transforms.ToTensor()])\nval_tf = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor()])\n';

test('DT010 on transforms passed positionally: ImageFolder(root, tf) and a file Dataset class', () => {
  assert.deepEqual(ids(`${TV}val_ds = datasets.ImageFolder("data/val", train_tf)`, 'DT010'), ['DT010']);
  const custom = `${TV}from torch.utils.data import Dataset
class Digits(Dataset):
    def __init__(self, images, labels, tfm):
        self.images, self.labels, self.tfm = images, labels, tfm
    def __len__(self):
        return len(self.labels)
    def __getitem__(self, i):
        return self.tfm(self.images[i]), self.labels[i]
`;
  assert.deepEqual(ids(`${custom}test_ds2 = Digits(x, y, train_tf)`, 'DT010'), ['DT010']);
  assert.deepEqual(ids(`${custom}test_ds = Digits(x, y, val_tf)\ntrain_ds = Digits(x, y, train_tf)`, 'DT010'), []);
  assert.deepEqual(ids(`${TV}val_ds = datasets.ImageFolder("data/val", val_tf)\ntrain_ds = datasets.ImageFolder("data/train", train_tf)`, 'DT010'), []);
  // the positional argument is not the transform (it is the labels)
  assert.deepEqual(ids(`${custom}test_ds = Digits(x, train_tf, val_tf)`, 'DT010'), []);
});

const SPLIT = (swap: string) => `${TV}from torch.utils.data import random_split
import copy
full = datasets.ImageFolder("data/all", transform=train_tf)
train_ds, val_ds = random_split(full, [0.8, 0.2])
${swap}
train_loader = DataLoader(train_ds, batch_size=32, shuffle=True)
`;

test('DT008 on `val_ds.dataset.transform = val_tf`: the shared dataset loses its augmentation', () => {
  const f = ids(SPLIT('val_ds.dataset.transform = val_tf'), 'DT008');
  assert.deepEqual(f, ['DT008']);
});

test('DT008 silent when the split gets its own copy of the dataset first', () => {
  assert.deepEqual(ids(SPLIT('val_ds.dataset = copy.deepcopy(full)\nval_ds.dataset.transform = val_tf'), 'DT008'), []);
  assert.deepEqual(ids(SPLIT('other = datasets.ImageFolder("x")\nother.transform = val_tf'), 'DT008'), []);
});

test('DT001 silent on IterableDataset subclasses and streaming datasets, still reports a map-style one', () => {
  const iterable = `${HEADER}from torch.utils.data import IterableDataset, Dataset
class Lines(IterableDataset):
    def __iter__(self):
        yield from range(10)
class Items(Dataset):
    def __len__(self):
        return 10
    def __getitem__(self, i):
        return i
`;
  assert.deepEqual(ids(`${iterable}train_ds = Lines()\ntrain_loader = DataLoader(train_ds, batch_size=32)`, 'DT001'), []);
  assert.deepEqual(ids(`${iterable}train_ds = Items()\ntrain_loader = DataLoader(train_ds, batch_size=32)`, 'DT001'), ['DT001']);
  const hf = (kw: string) => `${HEADER}from datasets import load_dataset
data = load_dataset("openwebtext", split="train"${kw})
train_ds = data.map(lambda b: b, batched=True)
train_loader = DataLoader(train_ds, batch_size=8)
`;
  assert.deepEqual(ids(hf(', streaming=True'), 'DT001'), []);
  assert.deepEqual(ids(hf(''), 'DT001'), ['DT001']);
});
