// Data-pipeline and device rules extended from the wild8 (area w) real-bug cases.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ids, lint, useParser } from './lint/helpers';

useParser();

const SK =
  'from imblearn.over_sampling import SMOTE, RandomOverSampler\nfrom sklearn.model_selection import train_test_split\n';
const dt015 = (body: string) => ids(SK + body, 'DT015');

test('DT015: an oversampled training part split again into a new test set is reported', () => {
  // the earlier test names are rebound by the second split
  assert.deepEqual(
    dt015('X_train, X_test, y_train, y_test = train_test_split(X, y)\nXs, ys = SMOTE().fit_sample(X_train, y_train)\nX_train, X_test, y_train, y_test = train_test_split(Xs, ys)\n'),
    ['DT015'],
  );
  // new names, still called the test part
  assert.deepEqual(
    dt015('a, b, c, d = train_test_split(X, y)\nXo, yo = RandomOverSampler().fit_resample(a, c)\nXo_tr, Xo_te, yo_tr, yo_te = train_test_split(Xo, yo)\n'),
    ['DT015'],
  );
  const f = lint(SK + 'X_tr, X_te, y_tr, y_te = train_test_split(X, y)\nXs, ys = SMOTE().fit_resample(X_tr, y_tr)\nX_tr2, X_test2, y_tr2, y_test2 = train_test_split(Xs, ys)\n', { select: ['DT015'] });
  assert.match(f[0]!.message, /training part `X_tr` and train_test_split \(line 5\) splits it again into a test set/);
});

test('DT015: a validation split of the oversampled training part stays silent', () => {
  assert.deepEqual(
    dt015('X_train, X_test, y_train, y_test = train_test_split(X, y)\nXs, ys = SMOTE().fit_resample(X_train, y_train)\nX_tr, X_val, y_tr, y_val = train_test_split(Xs, ys)\n'),
    [],
  );
  assert.deepEqual(dt015('Xa, Xb, ya, yb = train_test_split(X, y)\nXr, yr = SMOTE().fit_resample(Xa, ya)\nX1, X2, y1, y2 = train_test_split(Xr, yr)\n'), []);
  // the test part names, but both a test and a dev part: a validation split with odd names
  assert.deepEqual(
    dt015('X_train, X_test, y_train, y_test = train_test_split(X, y)\nXs, ys = SMOTE().fit_resample(X_train, y_train)\nX_fit, X_dev_test, y_fit, y_dev_test = train_test_split(Xs, ys)\n'),
    [],
  );
});

const TD = 'import torch\nfrom torch.utils import data\n';
const FACTORY =
  'def make_sampler(dataset, shuffle, distributed):\n    if distributed:\n        return data.distributed.DistributedSampler(dataset, shuffle=shuffle)\n' +
  '    return data.RandomSampler(dataset) if shuffle else data.SequentialSampler(dataset)\n';
const dt012 = (body: string) => ids(TD + FACTORY + body, 'DT012');

test('DT012: a DistributedSampler returned by a helper of the file, judged with each call site\'s arguments', () => {
  const loop = 'for epoch in range(5):\n    for batch in dl:\n        step(batch)\n';
  assert.deepEqual(dt012('dl = data.DataLoader(ds, batch_size=8, sampler=make_sampler(ds, shuffle=True, distributed=dist))\n' + loop), ['DT012']);
  // positional arguments, the sampler bound to a name
  assert.deepEqual(dt012('s = make_sampler(train_ds, True, dist)\ndl = data.DataLoader(train_ds, sampler=s)\n' + loop), ['DT012']);
  // the sampler's default shuffle, a default parameter
  assert.deepEqual(
    ids(TD + 'def sampler_for(ds, dist=True):\n    if dist:\n        return data.DistributedSampler(ds)\n    return None\ndl = data.DataLoader(ds, sampler=sampler_for(ds))\n' + loop, 'DT012'),
    ['DT012'],
  );
});

test('DT012: the helper\'s site asks for no shuffling, passes held-out data, or set_epoch is called: silent', () => {
  const loop = 'for epoch in range(5):\n    for batch in dl:\n        step(batch)\n';
  assert.deepEqual(dt012('dl = data.DataLoader(ds, sampler=make_sampler(ds, shuffle=False, distributed=dist))\n' + loop), []);
  assert.deepEqual(dt012('dl = data.DataLoader(val_ds, sampler=make_sampler(val_ds, shuffle=True, distributed=dist))\n' + loop), []);
  assert.deepEqual(dt012('dl = data.DataLoader(ds, sampler=make_sampler(ds, shuffle=opt.shuffle, distributed=dist))\n' + loop), []);
  assert.deepEqual(
    dt012('dl = data.DataLoader(ds, sampler=make_sampler(ds, shuffle=True, distributed=dist))\nfor epoch in range(5):\n    dl.sampler.set_epoch(epoch)\n    for batch in dl:\n        step(batch)\n'),
    [],
  );
  // the helper only builds the sampler locally and returns something else
  assert.deepEqual(
    ids(TD + 'def count(ds):\n    s = data.DistributedSampler(ds, shuffle=False)\n    return len(s)\ndl = data.DataLoader(ds, sampler=data.RandomSampler(ds))\n' + loop, 'DT012'),
    [],
  );
});

test('DT012: the loader reaches an endless generator through parameters, also when the caller rebinds the name', () => {
  const gen = 'def forever(loader):\n    while True:\n        for batch in loader:\n            yield batch\n';
  const train = 'def train(loader, steps):\n    loader = forever(loader)\n    for i in range(steps):\n        step(next(loader))\n';
  const build = 'dl = data.DataLoader(ds, batch_size=8, sampler=make_sampler(ds, shuffle=True, distributed=dist))\ntrain(dl, 1000)\n';
  assert.deepEqual(dt012(gen + train + build), ['DT012']);
  // another loader goes through the generator: not ours
  assert.deepEqual(dt012(gen + train + 'dl = data.DataLoader(ds, batch_size=8, sampler=make_sampler(ds, shuffle=True, distributed=dist))\nother = data.DataLoader(ds2)\ntrain(other, 1000)\n'), []);
});

const dv002 = (body: string) => ids('import sys\nimport torch\n' + body, 'DV002');

test('DV002: code that refuses to run without CUDA before the load needs no map_location', () => {
  assert.deepEqual(dv002('def main():\n    assert torch.cuda.is_available()\n    state = torch.load("ckpt.pth")\n'), []);
  assert.deepEqual(dv002('def main():\n    assert torch.cuda.is_available(), "needs a GPU"\n    if resume:\n        state = torch.load(args.resume)\n'), []);
  assert.deepEqual(dv002('def main():\n    if not torch.cuda.is_available():\n        print("no GPU")\n        sys.exit(1)\n    state = torch.load("ckpt.pth")\n'), []);
  assert.deepEqual(dv002('if not torch.cuda.is_available():\n    raise SystemExit("CUDA required")\ndef load(p):\n    return torch.load(p)\n'), []);
  assert.deepEqual(dv002('def load(p):\n    return torch.load(p)\nif __name__ == "__main__":\n    assert torch.cuda.is_available()\n    load("model.pt")\n'), []);
});

test('DV002: a CUDA check that does not stop the program, or comes later or elsewhere, still reports', () => {
  const fallback = 'device = "cuda" if torch.cuda.is_available() else "cpu"\n';
  assert.deepEqual(dv002(fallback + 'def main():\n    state = torch.load("ckpt.pth")\n'), ['DV002']);
  assert.deepEqual(dv002('def main():\n    if not torch.cuda.is_available():\n        print("running on CPU, slow")\n    state = torch.load("ckpt.pth")\n'), ['DV002']);
  assert.deepEqual(dv002('def main():\n    state = torch.load("ckpt.pth")\n    assert torch.cuda.is_available()\n'), ['DV002']);
  assert.deepEqual(dv002('def check():\n    assert torch.cuda.is_available()\ndef main():\n    state = torch.load("ckpt.pth")\n'), ['DV002']);
  // a check nested in a branch only holds on that branch
  assert.deepEqual(dv002('def main():\n    if args.gpu:\n        assert torch.cuda.is_available()\n    state = torch.load("ckpt.pth")\n'), ['DV002']);
  assert.deepEqual(dv002('def main():\n    assert torch.cuda.is_available() or args.cpu\n    state = torch.load("ckpt.pth")\n'), ['DV002']);
});

test('DV002: a module-level load before the module-level CUDA check still reports', () => {
  assert.deepEqual(dv002('state = torch.load("weights.pth")\nassert torch.cuda.is_available()\nbest = torch.load("best.pth")\n'), ['DV002']);
});
