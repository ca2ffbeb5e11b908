// Held-out shapes for the data rules: scalers fitted inside helper functions whose output is split later, training
// transforms handed to validation data through user classes and loader factories, and `.to(device)` results dropped
// for tensors that come out of a split helper.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ids, useParser } from './lint/helpers';

useParser();

test('DT003: a helper fits a scaler on its parameter and the caller splits the result', () => {
  const method = `
    from sklearn.preprocessing import RobustScaler
    from sklearn.model_selection import train_test_split
    import pandas as pd

    class Experiment:
        def clean(self, frame):
            scaler = RobustScaler()
            scaled = scaler.fit_transform(frame)
            out = pd.DataFrame(scaled, columns=frame.columns)
            return out.dropna()

        def pick(self, X, y):
            return X[X.columns[:20]]

    def main(X, y):
        exp = Experiment()
        X_clean = exp.clean(X)
        X_sel = exp.pick(X_clean, y)
        X_tr, X_te, y_tr, y_te = train_test_split(X_sel, y, test_size=0.25)
        return X_tr, X_te
  `;
  assert.deepEqual(ids(method, 'DT003'), ['DT003']);
  // The helper used on the training part only, after the split: quiet.
  const after = method.replace(
    'X_clean = exp.clean(X)\n        X_sel = exp.pick(X_clean, y)\n        X_tr, X_te, y_tr, y_te = train_test_split(X_sel, y, test_size=0.25)',
    'X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25)\n        X_tr = exp.clean(X_tr)',
  );
  assert.deepEqual(ids(after, 'DT003'), []);
  // A helper fitted on a slice of its parameter (the training rows): quiet.
  assert.deepEqual(ids(method.replace('scaler.fit_transform(frame)', 'scaler.fit_transform(frame[:800])'), 'DT003'), []);
  // A helper that fits but returns its input untouched (the scaler is thrown away): quiet.
  assert.deepEqual(ids(method.replace('return out.dropna()', 'return frame'), 'DT003'), []);

  // fit + transform, the scaled data returned in a tuple with the scaler; the split inside another function.
  const tuple = `
    from sklearn.preprocessing import StandardScaler
    from sklearn.model_selection import train_test_split

    def normalise(values):
        sc = StandardScaler()
        sc.fit(values)
        return sc.transform(values), sc

    def evaluate(features, labels):
        a, b, c, d = train_test_split(features, labels, test_size=0.2)
        return a, b

    feats, scaler = normalise(raw)
    evaluate(feats, target)
  `;
  assert.deepEqual(ids(tuple, 'DT003'), ['DT003']);
  // Only the scaler element taken, the raw data split: the helper's scaled output never reaches the split.
  assert.deepEqual(ids(tuple.replace('feats, scaler = normalise(raw)\n    evaluate(feats, target)', '_, scaler = normalise(raw)\n    evaluate(raw, target)'), 'DT003'), []);
  // A function of another name that is called: not the fitting helper.
  assert.deepEqual(ids(tuple.replace('feats, scaler = normalise(raw)', 'feats, scaler = other(raw)'), 'DT003'), []);
});

test('DT010: the training transform reaches held-out data through a user class, a factory parameter or an alias', () => {
  // A transform class of the file whose __init__ builds the random pipeline; the test set gets the training instance.
  const cls = `
    from torchvision import transforms
    from torchvision.datasets import STL10

    class TwoViews:
        def __init__(self, size=96, train=True):
            self.train = train
            self.pipe = transforms.Compose([transforms.RandomResizedCrop(size), transforms.RandomHorizontalFlip(), transforms.ToTensor()])

        def __call__(self, img):
            return self.pipe(img), self.pipe(img)

    train_views = TwoViews(size=96, train=True)
    eval_views = TwoViews(size=96, train=False)
    train_set = STL10("data", split="train", transform=train_views)
    test_set = STL10("data", split="test", transform=train_views)
  `;
  assert.deepEqual(ids(cls, 'DT010'), ['DT010']);
  // The evaluation instance (its name and train=False say so): quiet, even though the class augments.
  assert.deepEqual(ids(cls.replace('split="test", transform=train_views', 'split="test", transform=eval_views'), 'DT010'), []);
  // A class without random transforms: quiet.
  assert.deepEqual(ids(cls.replace('transforms.RandomResizedCrop(size), transforms.RandomHorizontalFlip(), ', 'transforms.Resize(size), '), 'DT010'), []);
  // A builder function selected with train=True, inline.
  const builder = `
    from torchvision import transforms, datasets

    def get_tf(train):
        if train:
            return transforms.Compose([transforms.RandomCrop(32, padding=4), transforms.ToTensor()])
        return transforms.ToTensor()

    val_set = datasets.CIFAR10("data", train=False, transform=get_tf(train=True))
  `;
  assert.deepEqual(ids(builder, 'DT010'), ['DT010']);
  assert.deepEqual(ids(builder.replace('get_tf(train=True)', 'get_tf(train=False)'), 'DT010'), []);

  // A loader factory of the file: the validation dataset gets the parameter, every call site passes the augmented one.
  const factory = `
    from torchvision import datasets, transforms
    from torch.utils.data import DataLoader

    def build(root, tf_train, tf_val):
        tr = datasets.ImageFolder(root + "/train", transform=tf_train)
        val_ds = datasets.ImageFolder(root + "/val", transform=tf_val)
        return DataLoader(tr, 64, shuffle=True), DataLoader(val_ds, 64)

    aug = transforms.Compose([transforms.RandomRotation(15), transforms.ToTensor()])
    plain = transforms.Compose([transforms.Resize(128), transforms.ToTensor()])
    loaders = build("imgs", aug, aug)
  `;
  assert.deepEqual(ids(factory, 'DT010'), ['DT010']);
  assert.deepEqual(ids(factory.replace('build("imgs", aug, aug)', 'build("imgs", aug, plain)'), 'DT010'), []);
  // Two call sites that disagree: unknown, quiet.
  assert.deepEqual(ids(factory.replace('build("imgs", aug, aug)', 'build("imgs", aug, aug)\n    more = build("other", aug, plain)'), 'DT010'), []);

  // An evaluation-named alias of the augmented pipeline handed to an imported factory.
  const alias = `
    from monai import transforms
    from mylib.data import make_loaders

    def loaders(cfg):
        train_tf = transforms.Compose([transforms.LoadImaged(keys=["img"]), transforms.RandFlipd(keys=["img"], prob=0.5)])
        val_tf = train_tf
        return make_loaders(cfg.root, train_tf, val_tf)
  `;
  assert.deepEqual(ids(alias, 'DT010'), ['DT010']);
  // The alias under an option, or to a pipeline without random transforms, or never handed on: quiet.
  assert.deepEqual(ids(alias.replace('        val_tf = train_tf', '        val_tf = None\n        if cfg.same_aug:\n            val_tf = train_tf'), 'DT010'), []);
  assert.deepEqual(ids(alias.replace('transforms.RandFlipd(keys=["img"], prob=0.5)', 'transforms.ScaleIntensityd(keys=["img"])'), 'DT010'), []);
  assert.deepEqual(ids(alias.replace('make_loaders(cfg.root, train_tf, val_tf)', 'make_loaders(cfg.root, train_tf)'), 'DT010'), []);
});

test('DV007: tensors unpacked from a split helper, moved without assignment', () => {
  const split = `
    import torch
    from .utils import stratified_train_test_split

    def fit(model, X, Y, device):
        tr_x, te_x, tr_y, te_y = stratified_train_test_split(X, Y, test_size=0.2)
        tr_x.to(device)
        tr_y.to(device)
        return model(tr_x), tr_y
  `;
  assert.deepEqual(ids(split, 'DV007'), ['DV007', 'DV007']);
  // Assigned: quiet.
  assert.deepEqual(ids(split.replace('tr_x.to(device)\n        tr_y.to(device)', 'tr_x = tr_x.to(device)\n        tr_y = tr_y.to(device)'), 'DV007'), []);
  // Unpacked from another helper (it may return modules, which move in place): quiet.
  assert.deepEqual(ids(split.replace('stratified_train_test_split(X, Y, test_size=0.2)', 'build_parts(X, Y)'), 'DV007'), []);
  // A tuple of tensor factories, and one of a module and a tensor (only the tensor is reported).
  const tuple = `
    import torch
    import torch.nn as nn
    net, x = nn.Linear(3, 1), torch.zeros(4, 3)
    net.to("cuda")
    x.to("cuda")
  `;
  assert.deepEqual(ids(tuple, 'DV007'), ['DV007']);
});

test('DT015: pandas_ml resamples the frame it is called on, with the sampler as argument', () => {
  const code = `
    import pandas_ml as pdml
    from sklearn.model_selection import train_test_split

    frame = pdml.ModelFrame(X, target=y)
    smote = frame.imbalance.over_sampling.SMOTE()
    resampled = frame.fit_sample(smote)
    Xr, yr = resampled.iloc[:, :-1], resampled["label"]
    X_tr, X_te, y_tr, y_te = train_test_split(Xr, yr, test_size=0.3)
  `;
  assert.deepEqual(ids(code, 'DT015'), ['DT015']);
  // An under-sampler drops rows only: quiet.
  assert.deepEqual(ids(code.replace('over_sampling.SMOTE()', 'under_sampling.RandomUnderSampler()'), 'DT015'), []);
  // Resampling the training part after the split: quiet.
  const after = `
    import pandas_ml as pdml
    from sklearn.model_selection import train_test_split

    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3)
    train_frame = pdml.ModelFrame(X_tr, target=y_tr)
    resampled = train_frame.fit_sample(train_frame.imbalance.over_sampling.SMOTE())
    X_a, X_b, y_a, y_b = train_test_split(resampled.iloc[:, :-1], resampled["label"])
  `;
  assert.deepEqual(ids(after, 'DT015'), []);
});
