import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

test('DT001: training loader without shuffle; fix adds shuffle=True', () => {
  const code = `${HEADER}\ntrain_loader = DataLoader(train_ds, batch_size=64)\n`;
  assert.deepEqual(ids(code), ['DT001']);
  const fixed = fix(code, 'DT001');
  assert.match(fixed, /DataLoader\(train_ds, batch_size=64, shuffle=True\)/);
  assert.deepEqual(ids(fixed), []);
  assert.deepEqual(ids(`${HEADER}\nloader = DataLoader(datasets.MNIST("data", train=True), batch_size=64)\n`), ['DT001']);
  assert.deepEqual(ids(`${HEADER}\nself_loader = torch.utils.data.DataLoader(self.train_set, 32)\n`), ['DT001']);
});

test('DT001: negatives: shuffle given, sampler, explicit shuffle=False, validation loaders, **kwargs', () => {
  assert.deepEqual(ids(`${HEADER}\ntrain_loader = DataLoader(train_ds, batch_size=64, shuffle=True)\n`), []);
  assert.deepEqual(ids(`${HEADER}\ntrain_loader = DataLoader(train_ds, batch_size=64, sampler=DistributedSampler(train_ds))\n`), []);
  assert.deepEqual(ids(`${HEADER}\ntrain_loader = DataLoader(train_ds, batch_size=64, shuffle=False)\n`), []);
  assert.deepEqual(ids(`${HEADER}\nval_loader = DataLoader(val_ds, batch_size=64)\ntest_loader = DataLoader(test_ds)\n`), []);
  assert.deepEqual(ids(`${HEADER}\ntrain_loader = DataLoader(train_ds, **loader_kwargs)\n`), []);
});

const DS = (init: string, item: string) => `${HEADER}import numpy as np
import random
from torch.utils.data import Dataset


class Augmented(Dataset):
    def __init__(self, x):
        self.x = x
${init ? `        ${init}\n` : ''}
    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        ${item}

`;

test('DT002: an RNG object held by the Dataset, drawn in __getitem__, with workers and no worker_init_fn', () => {
  const code = `${DS('self.rng = np.random.default_rng(0)', 'return self.x[i] + self.rng.normal()')}train_loader = DataLoader(Augmented(data), batch_size=32, shuffle=True, num_workers=4)\n`;
  const f = lint(code);
  assert.deepEqual(f.map((x) => x.rule), ['DT002']);
  assert.match(f[0]!.message, /self\.rng/);
  assert.deepEqual(ids(`${DS('self.rs = np.random.RandomState(42)', 'return self.flip(self.x[i])')}    def flip(self, v):\n        return v[::-1] if self.rs.rand() < 0.5 else v\n\nds = Augmented(data)\nworkers = 8\nloader = DataLoader(ds, batch_size=32, shuffle=True, num_workers=workers)\n`), ['DT002']);
  assert.deepEqual(ids(`${DS('self.r = random.Random(0)', 'return self.x[i] * self.r.random()')}loader = DataLoader(Augmented(data), batch_size=32, shuffle=True, num_workers=2)\n`), ['DT002']);
});

test('DT002: global np.random in __getitem__ is reported only for code written for old PyTorch (< 1.9)', () => {
  const modern = `${DS('', 'return self.x[i] + np.random.normal()')}train_loader = DataLoader(Augmented(data), batch_size=32, shuffle=True, num_workers=4)\n`;
  assert.deepEqual(ids(modern), []);
  const old = `from torch.autograd import Variable\n${modern}for x in train_loader:\n    x = Variable(x)\n`;
  const f = lint(old, { select: ['DT002'] });
  assert.deepEqual(f.map((x) => x.rule), ['DT002']);
  assert.match(f[0]!.message, /before PyTorch 1\.9/);
  assert.deepEqual(ids(`${modern}for x in train_loader:\n    loss = crit(model(x), x)\n    print(loss.data[0])\n`, 'DT002'), ['DT002']);
  assert.deepEqual(ids(`${modern}crit = nn.MSELoss(size_average=False)\n`, 'DT002'), ['DT002']);
  assert.deepEqual(ids(`${modern}nn.init.xavier_uniform(layer.weight)\n`, 'DT002'), ['DT002']);
  // modern spellings are no evidence
  assert.deepEqual(ids(`${modern}nn.init.xavier_uniform_(layer.weight)\nprint(x.data[1:])\n`, 'DT002'), []);
});

test('DT002: look-alikes: worker_init_fn, no workers, torch RNG, stdlib random (reseeded per worker), per-item generators', () => {
  const rng = DS('self.rng = np.random.default_rng(0)', 'return self.x[i] + self.rng.normal()');
  assert.deepEqual(ids(`${rng}loader = DataLoader(Augmented(data), batch_size=32, shuffle=True, num_workers=4, worker_init_fn=seed_worker)\n`), []);
  assert.deepEqual(ids(`${rng}loader = DataLoader(Augmented(data), batch_size=32, shuffle=True)\n`), []);
  assert.deepEqual(ids(`${rng}loader = DataLoader(Augmented(data), batch_size=32, shuffle=True, num_workers=0)\n`), []);
  assert.deepEqual(ids(`${rng}loader = DataLoader(Augmented(data), batch_size=32, shuffle=True, num_workers=args.workers)\n`), []);
  assert.deepEqual(ids(`${DS('', 'return self.x[i] + torch.randn(())')}loader = DataLoader(Augmented(data), batch_size=32, shuffle=True, num_workers=4)\n`), []);
  assert.deepEqual(ids(`${DS('', 'return self.x[i] * random.random()')}loader = DataLoader(Augmented(data), batch_size=32, shuffle=True, num_workers=4)\n`), []);
  const perItem = DS('', 'rng = np.random.default_rng(i)\n        return self.x[i] + rng.normal()');
  assert.deepEqual(ids(`${perItem}loader = DataLoader(Augmented(data), batch_size=32, shuffle=True, num_workers=4)\n`), []);
  const workerInfo = DS('self.rng = np.random.default_rng(0)', 'info = torch.utils.data.get_worker_info()\n        return self.x[i] + self.rng.normal()');
  assert.deepEqual(ids(`${workerInfo}loader = DataLoader(Augmented(data), batch_size=32, shuffle=True, num_workers=4)\n`), []);
});

const SK = 'import numpy as np\nfrom sklearn.preprocessing import StandardScaler, MinMaxScaler\nfrom sklearn.impute import SimpleImputer\nfrom sklearn.model_selection import train_test_split\n';

test('DT003: scaler / imputer fitted on all data before train_test_split', () => {
  const code = `${SK}X = df.drop(columns=["y"]).values\nscaler = StandardScaler()\nX = scaler.fit_transform(X)\nX_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)\n`;
  const f = lint(code);
  assert.deepEqual(f.map((x) => x.rule), ['DT003']);
  assert.equal(f[0]!.severity, 'error');
  assert.match(f[0]!.message, /StandardScaler is fitted on all of `X` before the train\/test split \(line 8\)/);
  // fit, then transform into a new name that is split
  assert.deepEqual(ids(`${SK}mm = MinMaxScaler()\nmm.fit(features)\nscaled = mm.transform(features)\na, b = train_test_split(scaled)\n`), ['DT003']);
  // inline construction, pandas columns
  assert.deepEqual(ids(`${SK}df[cols] = StandardScaler().fit_transform(df[cols])\ntrain_df, test_df = train_test_split(df, test_size=0.1)\n`), ['DT003']);
  assert.deepEqual(ids(`${SK}X = SimpleImputer(strategy="mean").fit_transform(X)\nXtr, Xte, ytr, yte = train_test_split(X, y)\n`), ['DT003']);
  // by hand, with statistics over the whole array
  assert.deepEqual(ids(`${SK}X = (X - X.mean(axis=0)) / X.std(axis=0)\nXtr, Xte, ytr, yte = train_test_split(X, y)\n`), ['DT003']);
  // function form, torch random_split over a dataset built from the data, slicing into a training part
  assert.deepEqual(ids(`${SK}from sklearn.preprocessing import scale\nX = scale(X)\nXtr, Xte, ytr, yte = train_test_split(X, y)\n`), ['DT003']);
  assert.deepEqual(ids(`${HEADER}from torch.utils.data import TensorDataset, random_split\nX = (X - X.mean(dim=0)) / X.std(dim=0)\nds = TensorDataset(X, y)\ntrain_ds, val_ds = random_split(ds, [800, 200])\n`), ['DT003']);
  assert.deepEqual(ids(`${SK}X = MinMaxScaler().fit_transform(X)\nX_train, X_test = X[:800], X[800:]\n`), ['DT003']);
  // inside a function
  assert.deepEqual(ids(`${SK}def prepare(X, y):\n    sc = StandardScaler()\n    X = sc.fit_transform(X)\n    return train_test_split(X, y)\n`), ['DT003']);
});

test('DT003: look-alikes: split first, fit on the training part, label encoders, per-sample normalisation, unrelated data', () => {
  assert.deepEqual(ids(`${SK}X_train, X_test, y_train, y_test = train_test_split(X, y)\nscaler = StandardScaler()\nX_train = scaler.fit_transform(X_train)\nX_test = scaler.transform(X_test)\n`), []);
  // a second split for validation from data that is already the training part
  assert.deepEqual(ids(`${SK}scaler = StandardScaler().fit(X_train)\nX_train = scaler.transform(X_train)\nX_tr, X_val, y_tr, y_val = train_test_split(X_train, y_train)\n`), []);
  assert.deepEqual(ids(`from sklearn.preprocessing import LabelEncoder\nfrom sklearn.model_selection import train_test_split\ny = LabelEncoder().fit_transform(y)\nXtr, Xte, ytr, yte = train_test_split(X, y)\n`), []);
  assert.deepEqual(ids(`${SK}X = (X - X.mean(axis=1, keepdims=True)) / X.std(axis=1, keepdims=True)\nXtr, Xte = train_test_split(X)\n`), []);
  assert.deepEqual(ids(`${SK}X = X / 255.0\nXtr, Xte = train_test_split(X)\n`), []);
  assert.deepEqual(ids(`${SK}scaler = StandardScaler()\nscaler.fit(reference)\nXtr, Xte = train_test_split(X)\n`), []);
  assert.deepEqual(ids(`${SK}model.fit(X, y)\nXtr, Xte = train_test_split(X)\n`), []);
  // slicing after scaling the training part only; slices that are not a training part
  assert.deepEqual(ids(`${SK}X_train, X_test = X[:800], X[800:]\nsc = StandardScaler()\nX_train = sc.fit_transform(X_train)\n`), []);
  assert.deepEqual(ids(`${SK}X = StandardScaler().fit_transform(X)\nfirst = X[:5]\n`), []);
  // a scaler fitted on the full data, no split in the file (cross-validation elsewhere): unknown, silent
  assert.deepEqual(ids(`${SK}X = StandardScaler().fit_transform(X)\n`), []);
});

const FILE_DS = `${HEADER}from PIL import Image
from torch.utils.data import Dataset


class Images(Dataset):
    def __init__(self, paths, labels):
        self.paths, self.labels = paths, labels

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        img = Image.open(self.paths[i]).convert("RGB")
        return self.tf(img), self.labels[i]

`;

test('DT004: training loader over a file-reading dataset without num_workers; fix only with a __main__ guard', () => {
  const code = `${FILE_DS}train_loader = DataLoader(Images(train_paths, train_labels), batch_size=64, shuffle=True)\n`;
  const f = lint(code);
  assert.deepEqual(f.map((x) => x.rule), ['DT004']);
  assert.match(f[0]!.message, /Images\.__getitem__ reads files/);
  assert.equal(f[0]!.fixes, undefined);
  const guarded = `${FILE_DS}def main():\n    train_loader = DataLoader(Images(p, l), batch_size=64, shuffle=True)\n\n\nif __name__ == "__main__":\n    main()\n`;
  const fixed = fix(guarded, 'DT004');
  assert.match(fixed, /shuffle=True, num_workers=4\)/);
  assert.deepEqual(ids(fixed), []);
  assert.deepEqual(ids(`${HEADER}from torchvision import datasets\ntrain_set = datasets.ImageFolder("data/train", transform=tf)\ntrain_loader = DataLoader(train_set, batch_size=64, shuffle=True)\n`), ['DT004']);
  const cv = `${HEADER}import cv2\nfrom torch.utils.data import Dataset\n\nclass Frames(Dataset):\n    def __len__(self):\n        return 10\n\n    def __getitem__(self, i):\n        return self.load(i)\n\n    def load(self, i):\n        return cv2.imread(self.files[i])\n\ntrain_dl = DataLoader(Frames(), batch_size=8, shuffle=True)\n`;
  assert.deepEqual(ids(cv), ['DT004']);
});

test('DT004: look-alikes: workers given, in-memory datasets, validation loaders, **kwargs', () => {
  assert.deepEqual(ids(`${FILE_DS}train_loader = DataLoader(Images(p, l), batch_size=64, shuffle=True, num_workers=0)\n`), []);
  assert.deepEqual(ids(`${FILE_DS}train_loader = DataLoader(Images(p, l), batch_size=64, shuffle=True, num_workers=8)\n`), []);
  assert.deepEqual(ids(`${FILE_DS}val_loader = DataLoader(Images(p, l), batch_size=64)\n`), []);
  assert.deepEqual(ids(`${FILE_DS}train_loader = DataLoader(Images(p, l), **kw)\n`), []);
  assert.deepEqual(ids(`${HEADER}from torch.utils.data import TensorDataset\ntrain_ds = TensorDataset(X, y)\ntrain_loader = DataLoader(train_ds, batch_size=64, shuffle=True)\n`), []);
  assert.deepEqual(ids(`${HEADER}from torchvision import datasets\ntrain_loader = DataLoader(datasets.MNIST("data", train=True, download=True), batch_size=64, shuffle=True)\n`), []);
});

const CUDA_DEV = 'device = torch.device("cuda" if torch.cuda.is_available() else "cpu")\n';

test('DT005: training batches moved to the GPU without pin_memory; fix adds pin_memory=True', () => {
  const code = `${HEADER}\n${CUDA_DEV}train_loader = DataLoader(train_ds, batch_size=64, shuffle=True)\nfor epoch in range(3):\n    for i, (x, y) in enumerate(train_loader):\n        x, y = x.to(device), y.to(device)\n`;
  assert.deepEqual(ids(code), ['DT005']);
  const fixed = fix(code, 'DT005');
  assert.match(fixed, /shuffle=True, pin_memory=True\)/);
  assert.deepEqual(ids(fixed), []);
  const cuda = `${HEADER}\nif torch.cuda.is_available():\n    pass\ntrain_loader = DataLoader(train_ds, batch_size=64, shuffle=True)\nfor batch in tqdm(train_loader):\n    images = batch["image"].cuda(non_blocking=True)\n`;
  assert.deepEqual(ids(cuda), ['DT005']);
  const cls = `${HEADER}\nclass Trainer:\n    def __init__(self, ds):\n        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")\n        self.train_loader = DataLoader(ds, batch_size=32, shuffle=True, num_workers=4)\n\n    def epoch(self):\n        for x, y in self.train_loader:\n            x = x.to(self.device)\n`;
  assert.deepEqual(ids(cls), ['DT005']);
});

test('DT005: look-alikes: pin_memory given, CPU device, loader used in another function, validation loaders', () => {
  assert.deepEqual(ids(`${HEADER}\n${CUDA_DEV}train_loader = DataLoader(train_ds, batch_size=64, shuffle=True, pin_memory=True)\nfor x, y in train_loader:\n    x = x.to(device)\n`), []);
  assert.deepEqual(ids(`${HEADER}\ndevice = torch.device("cpu")\ntrain_loader = DataLoader(train_ds, batch_size=64, shuffle=True)\nfor x, y in train_loader:\n    x = x.to(device)\n`), []);
  assert.deepEqual(ids(`${HEADER}\n${CUDA_DEV}def train(loader):\n    for x, y in loader:\n        x = x.to(device)\n\ntrain_loader = DataLoader(train_ds, batch_size=64, shuffle=True)\ntrain(train_loader)\n`), []);
  assert.deepEqual(ids(`${HEADER}\n${CUDA_DEV}val_loader = DataLoader(val_ds, batch_size=64)\nfor x, y in val_loader:\n    x = x.to(device)\n`), []);
  assert.deepEqual(ids(`${HEADER}\n${CUDA_DEV}train_loader = DataLoader(train_ds, batch_size=64, shuffle=True)\nfor x, y in train_loader:\n    x = x.to(torch.float32)\n`), []);
  assert.deepEqual(ids(`${HEADER}\n${CUDA_DEV}train_loader = DataLoader(train_ds, batch_size=64, shuffle=True)\nfor x, y in train_loader:\n    model.to(device)\n`), []);
});

const KERAS = `import tensorflow as tf
from tensorflow import keras

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(128, activation="relu"), keras.layers.Dense(10)])
model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
`;

test('DT006: raw uint8 images into keras fit / a torch model after a float cast', () => {
  const f = lint(`${KERAS}model.fit(x_train, y_train, epochs=5)\n`, { select: ['DT006'] });
  assert.deepEqual(f.map((x) => x.rule), ['DT006']);
  assert.match(f[0]!.message, /mnist\.load_data\(\)/);
  // reshaped and cast, still unscaled; only the test set was scaled
  assert.deepEqual(ids(`${KERAS}x_train = x_train.reshape(-1, 784).astype("float32")\nx_test = x_test / 255.0\nmodel.fit(x_train, y_train)\n`, 'DT006'), ['DT006']);
  const torchFile = `${HEADER}import cv2\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(3 * 32 * 32, 10)\n\n    def forward(self, x):\n        return self.fc(x.flatten(1))\n\nmodel = Net()\nimg = cv2.imread("cat.png")\nx = torch.from_numpy(img).float().permute(2, 0, 1).unsqueeze(0)\nout = model(x)\n`;
  assert.deepEqual(ids(torchFile, 'DT006'), ['DT006']);
  const tv = `${HEADER}from torchvision import datasets\ntrain_set = datasets.MNIST("data", train=True, download=True)\nX = train_set.data.float().view(-1, 784)\nmodel = nn.Sequential(nn.Linear(784, 10))\nlogits = model(X)\n`;
  assert.deepEqual(ids(tv, 'DT006'), ['DT006']);
  // through TensorDataset, DataLoader and the batch loop
  const loop = `${HEADER}from torch.utils.data import TensorDataset\nfrom keras.datasets import cifar10\n(x_tr, y_tr), (x_te, y_te) = cifar10.load_data()\nds = TensorDataset(torch.tensor(x_tr, dtype=torch.float32).permute(0, 3, 1, 2), torch.tensor(y_tr).long())\nloader = DataLoader(ds, batch_size=64, shuffle=True)\nmodel = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Flatten(), nn.LazyLinear(10))\nfor i, (xb, yb) in enumerate(loader):\n    out = model(xb)\n`;
  assert.deepEqual(ids(loop, 'DT006'), ['DT006']);
  assert.deepEqual(ids(loop.replace('dtype=torch.float32)', 'dtype=torch.float32) / 255'), 'DT006'), []);
  assert.deepEqual(ids(loop.replace('out = model(xb)', 'out = model(xb / 255.0)'), 'DT006'), []);
  // the pre-0.4 torchvision attribute name
  assert.deepEqual(ids(tv.replace('train_set.data', 'train_set.train_data'), 'DT006'), ['DT006']);
});

test('DT006: look-alikes: scaled by 255, in-place division, Rescaling layer, rescale generator, ToTensor, integer tensors (torch raises)', () => {
  assert.deepEqual(ids(`${KERAS}x_train = x_train / 255.0\nmodel.fit(x_train, y_train)\n`, 'DT006'), []);
  assert.deepEqual(ids(`${KERAS}x_train = x_train.astype("float32")\nx_train /= 255\nmodel.fit(x_train, y_train)\n`, 'DT006'), []);
  assert.deepEqual(ids(`${KERAS}x_train = (x_train - 127.5) / 127.5\nmodel.fit(x_train, y_train)\n`, 'DT006'), []);
  assert.deepEqual(ids(`${KERAS}norm = keras.layers.Rescaling(1.0 / 255)\nmodel.fit(x_train, y_train)\n`, 'DT006'), []);
  assert.deepEqual(ids(`${KERAS}gen = keras.preprocessing.image.ImageDataGenerator(rescale=1.0 / 255)\nmodel.fit(gen.flow(x_train, y_train))\n`, 'DT006'), []);
  assert.deepEqual(ids(`${KERAS}x_train = preprocess(x_train)\nmodel.fit(x_train, y_train)\n`, 'DT006'), []);
  // labels are not images
  assert.deepEqual(ids(`${KERAS}x_train = x_train / 255.0\nmodel.fit(x=x_train, y=y_train)\n`, 'DT006'), []);
  const tv = `${HEADER}from torchvision import datasets, transforms\ntrain_set = datasets.MNIST("data", train=True, transform=transforms.ToTensor())\nX = train_set.data.float()\nmodel = nn.Linear(784, 10)\nout = model(X.view(-1, 784))\n`;
  assert.deepEqual(ids(tv, 'DT006'), []);
  const noCast = `${HEADER}import cv2\nmodel = nn.Conv2d(3, 8, 3)\nimg = cv2.imread("a.png")\nout = model(torch.from_numpy(img))\n`;
  assert.deepEqual(ids(noCast, 'DT006'), []);
  const divided = `${HEADER}import cv2\nmodel = nn.Conv2d(3, 8, 3)\nimg = cv2.imread("a.png")\nx = torch.from_numpy(img).float() / 255\nout = model(x)\n`;
  assert.deepEqual(ids(divided, 'DT006'), []);
});

// ---- DT007 ----

test('DT007: fit_transform / fit on test or validation data is an error; the fix keeps the training fit', () => {
  const code = `${SK}scaler = StandardScaler()\nX_train = scaler.fit_transform(X_train)\nX_test = scaler.fit_transform(X_test)\n`;
  const f = lint(code);
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}:${x.range.start.line}`), ['DT007:error:6']);
  assert.match(f[0]!.message, /StandardScaler is fitted on X_test/);
  const fixed = fix(code, 'DT007');
  assert.match(fixed, /X_test = scaler\.transform\(X_test\)/);
  assert.deepEqual(ids(fixed), []);
  assert.deepEqual(ids(`${SK}mm = MinMaxScaler().fit(x_val)\n`, 'DT007'), ['DT007']);
  assert.deepEqual(ids(`${SK}imp = SimpleImputer()\ntest_df = imp.fit_transform(test_df[cols])\n`, 'DT007'), ['DT007']);
  assert.equal(lint(`${SK}mm = MinMaxScaler().fit(x_val)\n`)[0]!.fixes, undefined, 'fit() alone: no automatic fix');
});

test('DT007: training data, transform, unknown transformers and names that only look similar: fine', () => {
  assert.deepEqual(ids(`${SK}scaler = StandardScaler()\nX_train = scaler.fit_transform(X_train)\nX_test = scaler.transform(X_test)\n`, 'DT007'), []);
  assert.deepEqual(ids(`${SK}scaler = StandardScaler().fit(X_train_val)\n`, 'DT007'), []);
  assert.deepEqual(ids(`${SK}model.fit(X_test, y_test)\npca.fit_transform(X_test)\n`, 'DT007'), []);
  assert.deepEqual(ids(`${SK}scaler = StandardScaler()\nfeatures = scaler.fit_transform(interval_data)\nz = scaler.fit_transform(latest)\n`, 'DT007'), []);
});

// ---- DT008 ----
const TV = `${HEADER}from torchvision import datasets, transforms\nfrom torch.utils.data import random_split\n`;

test('DT008: random_split of a dataset built with random augmentations is a warning naming them', () => {
  const code = `${TV}train_tf = transforms.Compose([transforms.RandomResizedCrop(224), transforms.RandomHorizontalFlip(), transforms.ToTensor()])\nfull = datasets.ImageFolder("data/train", transform=train_tf)\ntrain_ds, val_ds = random_split(full, [0.8, 0.2])\n`;
  const f = lint(code, { select: ['DT008'] });
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}`), ['DT008:warning']);
  assert.match(f[0]!.message, /training augmentations \(RandomResizedCrop, RandomHorizontalFlip\)/);
  const inline = `${TV}a, b = torch.utils.data.random_split(datasets.CIFAR10("data", transform=transforms.Compose([transforms.RandomCrop(32, padding=4), transforms.ToTensor()])), [45000, 5000])\n`;
  assert.deepEqual(ids(inline, 'DT008'), ['DT008']);
});

test('DT008: deterministic transforms and no transform are fine; swapping the shared dataset\'s transform is reported', () => {
  assert.deepEqual(ids(`${TV}tf = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor()])\nfull = datasets.ImageFolder("d", transform=tf)\ntr, va = random_split(full, [0.9, 0.1])\n`, 'DT008'), []);
  assert.deepEqual(ids(`${TV}full = datasets.ImageFolder("d")\ntr, va = random_split(full, [0.9, 0.1])\n`, 'DT008'), []);
  const swapped = `${TV}aug = transforms.RandomHorizontalFlip()\nfull = datasets.ImageFolder("d", transform=aug)\ntr, va = random_split(full, [0.9, 0.1])\nva.dataset.transform = transforms.ToTensor()\n`;
  // va.dataset is `full`, shared with tr: the swap takes the augmentation away from training too.
  assert.deepEqual(ids(swapped, 'DT008'), ['DT008']);
  assert.deepEqual(ids(`${TV}tr, va = random_split(TensorDataset(x, y), [0.9, 0.1])\n`, 'DT008'), []);
});

test('DT003: feature selection and PCA fitted on all rows before the split leak too; DT007 on their test fit', () => {
  const sel = `${SK}from sklearn.feature_selection import SelectKBest\nfrom sklearn.decomposition import PCA\nX = SelectKBest(k=20).fit_transform(X, y)\nX_train, X_test, y_train, y_test = train_test_split(X, y)\n`;
  assert.deepEqual(ids(sel, 'DT003'), ['DT003']);
  const pca = `${SK}from sklearn.decomposition import PCA\nX_train, X_test, y_train, y_test = train_test_split(X, y)\npca = PCA(n_components=10)\nZ_train = pca.fit_transform(X_train)\nZ_test = pca.fit_transform(X_test)\n`;
  assert.deepEqual(ids(pca), ['DT007']);
});

// ---- DT009 ----
test('DT009: drop_last=True on a validation or test loader is a warning; the fix sets False', () => {
  const code = `${HEADER}test_loader = DataLoader(test_ds, batch_size=256, drop_last=True)\n`;
  const f = lint(code);
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}`), ['DT009:warning']);
  const fixed = fix(code, 'DT009');
  assert.match(fixed, /drop_last=False/);
  assert.deepEqual(ids(fixed), []);
  assert.deepEqual(ids(`${HEADER}loaders = {"val": DataLoader(self.val_set, batch_size=64, drop_last=True)}\n`, 'DT009'), ['DT009']);
});

test('DT009: training loaders may drop the last batch; held-out loaders without drop_last are fine', () => {
  assert.deepEqual(ids(`${HEADER}train_loader = DataLoader(train_ds, batch_size=64, shuffle=True, drop_last=True)\n`, 'DT009'), []);
  assert.deepEqual(ids(`${HEADER}val_loader = DataLoader(val_ds, batch_size=64, drop_last=False)\n`, 'DT009'), []);
  assert.deepEqual(ids(`${HEADER}loader = DataLoader(ds, batch_size=64, drop_last=True, shuffle=True)\n`, 'DT009'), []);
});
