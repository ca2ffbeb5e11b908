// Data-pipeline rules extended from the wild9 (area w) real-bug cases.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

const dt001 = (body: string) => ids(HEADER + body, 'DT001');

const FACTORY = `
def make_loader(root, batch, rank=-1, workers=4):
    ds = ImageFolderSet(root)
    smp = torch.utils.data.distributed.DistributedSampler(ds) if rank != -1 else None
    dl = DataLoader(ds, batch_size=batch, num_workers=workers, sampler=smp)
    return dl, ds
`;

test('DT001: a loader factory whose sampler shuffles only under DDP is reported', () => {
  assert.deepEqual(dt001(FACTORY), ['DT001']);
  // returned directly, sampler inline, None on the true branch
  assert.deepEqual(dt001('def build(ds, bs, single):\n    return DataLoader(ds, batch_size=bs, sampler=None if single else DistributedSampler(ds))\n'), ['DT001']);
  const f = lint(HEADER + FACTORY, { select: ['DT001'] });
  assert.match(f[0]!.message, /When `rank != -1` is false, smp is None and the DataLoader this function returns does not shuffle/);
  assert.match(fix(HEADER + FACTORY, 'DT001'), /sampler=smp, shuffle=\(smp is None\)\)/);
});

test('DT001: the loader class chosen by a condition, or a DataLoader subclass of the file, is a DataLoader', () => {
  const SUB = `
class EndlessLoader(torch.utils.data.DataLoader):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.it = super().__iter__()
`;
  const chosen = `
def make_loader(ds, bs, rank, weighted):
    smp = DistributedSampler(ds) if rank != -1 else None
    cls = DataLoader if weighted else EndlessLoader
    out = cls(ds, batch_size=bs, sampler=smp, pin_memory=True)
    return out
`;
  assert.deepEqual(dt001(SUB + chosen), ['DT001']);
  assert.deepEqual(dt001(SUB + 'train_loader = EndlessLoader(train_ds, batch_size=32)\n'), ['DT001']);
  // a subclass with its own signature (its own shuffle default) is not torch's DataLoader
  const own = 'class MyLoader(DataLoader):\n    def __init__(self, ds, bs, shuffle=True):\n        super().__init__(ds, batch_size=bs, shuffle=shuffle)\n';
  assert.deepEqual(dt001(own + 'train_loader = MyLoader(train_ds, 32)\n'), []);
  // one branch is not a loader class
  assert.deepEqual(dt001(SUB + chosen.replace('DataLoader if weighted', 'GraphBatcher if weighted')), []);
});

test('DT001: factories for held-out data, with a shuffle argument or without a None branch stay silent', () => {
  assert.deepEqual(dt001(FACTORY.replace('make_loader', 'make_val_loader')), []);
  assert.deepEqual(dt001(FACTORY.replace('ImageFolderSet(root)', 'ImageFolderSet(root)').replace('(ds, batch_size', '(ds, shuffle=False, batch_size')), []);
  assert.deepEqual(dt001(FACTORY.replace(' if rank != -1 else None', '')), []);
  // its only calls in the file build evaluation loaders
  assert.deepEqual(dt001(FACTORY + 'test_loader, _ = make_loader("data/test", 64)\n'), []);
  assert.deepEqual(dt001(FACTORY + 'train_loader, _ = make_loader("data/train", 64)\n'), ['DT001']);
  // not returned: a local loader that no loop of the file trains on
  assert.deepEqual(dt001(FACTORY.replace('return dl, ds', 'return ds')), []);
  // ordered data
  assert.deepEqual(dt001(FACTORY.replace('ImageFolderSet', 'TimeSeriesWindows').replace('ds = ', 'series_ds = ').replace(/\(ds/g, '(series_ds')), []);
});

const DS = 'import torch\nfrom torch.utils.data import DataLoader\nfrom torch.utils.data.distributed import DistributedSampler\n';
const dt012 = (body: string) => ids(DS + body, 'DT012');
const BUNCH = `
class Batches:
    def __init__(self, trainset, bs=64, shuffle=True):
        if use_horovod():
            smp = DistributedSampler(trainset, num_replicas=world(), rank=rank(), shuffle=shuffle)
        elif use_ddp():
            smp = DistributedSampler(trainset, shuffle=shuffle)
        else:
            smp = None
        self.fit_loader = DataLoader(trainset, batch_size=bs, sampler=smp)

class Runner:
    def fit(self):
        bunch = self.parts["bunch"]
        for ep in range(self.epochs):
            for xb, yb in bunch.fit_loader:
                self.step(xb, yb)
`;

test('DT012: a sampler shuffling through a True-by-default parameter, chosen by if/elif/else, read off an unknown holder', () => {
  assert.deepEqual(dt012(BUNCH), ['DT012']);
  // the literal True
  assert.deepEqual(dt012(BUNCH.replace(/shuffle=shuffle/g, 'shuffle=True')), ['DT012']);
});

test('DT012: a False default, a caller turning shuffle off, another object with that attribute, or set_epoch stays silent', () => {
  assert.deepEqual(dt012(BUNCH.replace('shuffle=True)', 'shuffle=False)')), []);
  assert.deepEqual(dt012(BUNCH + 'b = Batches(ds, shuffle=False)\n'), []);
  assert.deepEqual(dt012(BUNCH + 'class Other:\n    def __init__(self):\n        self.fit_loader = make_stream()\n'), []);
  assert.deepEqual(dt012(BUNCH.replace('            for xb, yb', '            bunch.fit_loader.sampler.set_epoch(ep)\n            for xb, yb')), []);
  // a holder the file builds from a known class that is not the loader's
  assert.deepEqual(dt012(BUNCH.replace('self.parts["bunch"]', 'Registry()')), []);
});

const SKL = 'import numpy as np\nfrom sklearn.preprocessing import MinMaxScaler, StandardScaler\n';
const dt007 = (body: string) => ids(SKL + body, 'DT007');
const HELPER = `
def prepare(arr):
    arr = np.asarray(arr, dtype=np.float32)
    arr = MinMaxScaler().fit_transform(arr)
    return arr

def load(path):
    tr, test_x = read(path)
    tr = prepare(tr)
    test_x = prepare(test_x)
    return tr, test_x
`;

test('DT007: a helper fitting a new scaler on its data argument, called on held-out data, is reported', () => {
  assert.deepEqual(dt007(HELPER), ['DT007']);
  assert.deepEqual(dt007(HELPER.replace(/test_x/g, 'X_test')), ['DT007']);
  // the scaler bound to a name in the helper, fit then transform
  const named = HELPER.replace('    arr = MinMaxScaler().fit_transform(arr)\n', '    sc = StandardScaler()\n    sc.fit(arr)\n    arr = sc.transform(arr)\n');
  assert.deepEqual(dt007(named.replace('test_x = prepare(test_x)', 'val_x = prepare(val_x)')), ['DT007']);
  const f = lint(SKL + HELPER.replace('test_x = prepare(test_x)', 'test_data = prepare(test_data)'), { select: ['DT007'] });
  assert.match(f[0]!.message, /prepare\(\) fits a new MinMaxScaler on each call, and line \d+ calls it on test_data/);
});

test('DT007: helpers called only on training data, per item, with a scaler passed in, or fitting conditionally stay silent', () => {
  assert.deepEqual(dt007(HELPER.replace('test_x = prepare(test_x)', 'other = prepare(extra)')), []);
  assert.deepEqual(dt007(HELPER.replace('test_x = prepare(test_x)', 'test_seqs = [prepare(test_x[i]) for i in range(9)]')), []);
  assert.deepEqual(dt007(HELPER.replace('test_x = prepare(test_x)', 'for k in range(3):\n        test_x = prepare(test_x)')), []);
  const passed = 'def prepare(arr, sc):\n    return sc.fit_transform(arr)\n\nsc = MinMaxScaler()\nx_test = prepare(x_test, sc)\n';
  assert.deepEqual(dt007(passed), []);
  const cond = 'def prepare(arr, sc=None):\n    if sc is None:\n        sc = MinMaxScaler().fit(arr)\n    return sc.transform(arr)\n\nx_test = prepare(x_test, train_sc)\n';
  assert.deepEqual(dt007(cond), []);
  // a method of a class: left to the direct form
  assert.deepEqual(dt007('class P:\n    def prepare(self, arr):\n        return MinMaxScaler().fit_transform(arr)\n\np = P()\nx_test = p.prepare(x_test)\n'), []);
});

const TV = 'import numpy as np\nimport torch\nfrom PIL import Image\nimport torchvision.transforms as transforms\nfrom torch.utils.data import Dataset\n';
const dt006 = (body: string) => ids(TV + body, 'DT006');
const POSE = `
class Crops(Dataset):
    def __init__(self, paths, noise):
        self.paths = paths
        self.noise = noise
        self.jitter = transforms.ColorJitter(0.2, 0.2, 0.2, 0.05)
        self.norm = transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        img = Image.open(self.paths[i])
        if self.noise:
            img = self.jitter(img)
        arr = np.array(img)[:, :, :3]
        arr = np.transpose(arr, (2, 0, 1))
        crop = arr[:, 10:90, 10:90]
        return self.norm(torch.from_numpy(crop.astype(np.float32)))
`;

test('DT006: a float tensor of raw PIL pixels normalised with [0, 1] statistics is reported', () => {
  assert.deepEqual(dt006(POSE), ['DT006']);
  // a local Normalize, the image converted first, pixels made float by torch
  const local = POSE.replace('img = Image.open(self.paths[i])', 'img = Image.open(self.paths[i]).convert("RGB")').replace(
    'return self.norm(torch.from_numpy(crop.astype(np.float32)))',
    'nrm = transforms.Normalize([0.5, 0.5, 0.5], [0.5, 0.5, 0.5])\n        return nrm(torch.from_numpy(crop).float())',
  );
  assert.deepEqual(dt006(local), ['DT006']);
  // a scaling elsewhere in the text (and a normalize( name) does not hide the Normalize applied to raw pixels
  assert.deepEqual(dt006(POSE.replace(/self\.norm\b/g, 'self.normalize') + 'def other(x):\n    return x / 255.0\n'), ['DT006']);
  const f = lint(TV + POSE, { select: ['DT006'] });
  assert.match(f[0]!.message, /raw 0-255 pixels from np\.array\(Image\.open\(\.\.\.\)\).*cast to float, and the Normalize of line \d+ uses statistics of \[0, 1\] images/);
});

test('DT006: pixels divided by 255, 0-255 statistics, or an unknown transform before Normalize stay silent', () => {
  assert.deepEqual(dt006(POSE.replace('crop.astype(np.float32))', 'crop.astype(np.float32) / 255.0)')), []);
  assert.deepEqual(dt006(POSE.replace(/self\.norm\b/g, 'self.normalize').replace('crop = arr[', 'crop = arr / 255.0\n        crop = crop[')), []);
  assert.deepEqual(dt006(POSE.replace('mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]', 'mean=[123.7, 116.3, 103.5], std=[58.4, 57.1, 57.4]')), []);
  assert.deepEqual(dt006(POSE.replace('self.jitter = transforms.ColorJitter(0.2, 0.2, 0.2, 0.05)', 'self.jitter = project_aug()')), []);
  // uint8 tensor: Normalize raises, nothing silent to report
  assert.deepEqual(dt006(POSE.replace('crop.astype(np.float32)', 'crop')), []);
  // the PIL image itself handed on
  assert.deepEqual(dt006(POSE.replace('return self.norm(torch.from_numpy(crop.astype(np.float32)))', 'return self.norm(img)')), []);
});

test('DT006: a PIL image held by a name and read as an array reaches predict unscaled; a pretrained applications model is left alone', () => {
  const K = 'import numpy as np\nimport PIL\nfrom tensorflow.keras.models import Sequential\nfrom tensorflow.keras.applications import VGG16\nfrom tensorflow.keras.preprocessing.image import ImageDataGenerator\n';
  const body = (model: string) =>
    `gen = ImageDataGenerator(rescale=1./255)\nmodel = ${model}\n\ndef predict(path):\n    img = PIL.Image.open(path)\n    small = img.resize((224, 224))\n    arr = np.expand_dims(np.array(small), axis=0)\n    return model.predict(arr)\n`;
  assert.deepEqual(ids(K + body('Sequential()'), 'DT006'), ['DT006']);
  assert.deepEqual(ids(K + body('VGG16(weights="imagenet")'), 'DT006'), []);
});
