import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

// ---- DT011 held-out-normalised-with-own-statistics ----
const NP = `${HEADER}import numpy as np\n`;

test('DT011: the test set standardised with its own mean and std is a warning on the normalisation', () => {
  const code = `${NP}X_train = (X_train - X_train.mean(axis=0)) / X_train.std(axis=0)\nX_test = (X_test - X_test.mean(axis=0)) / X_test.std(axis=0)\n`;
  const f = lint(code);
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}:${x.range.start.line}`), ['DT011:warning:6']);
  assert.equal(
    f[0]!.message,
    "X_test is normalised with its own mean and std: use the training set's statistics (the model was trained on X_train scaled by them).",
  );
  assert.equal(f[0]!.range.start.column, 'X_test = '.length);
  assert.equal(f[0]!.fixes, undefined, 'no fix without a name bound to the training statistics');
});

test('DT011: numpy / torch functions, min-max scaling, augmented assignments, eps, columns, attributes', () => {
  assert.deepEqual(ids(`${NP}x_val = x_val - np.mean(x_val, axis=0)\n`, 'DT011'), ['DT011']);
  assert.deepEqual(ids(`${NP}x_val /= np.std(x_val, 0)\n`, 'DT011'), ['DT011']);
  assert.deepEqual(ids(`${NP}X_test -= X_test.mean(0)\n`, 'DT011'), ['DT011']);
  const minmax = lint(`${NP}test_x = (test_x - test_x.min()) / (test_x.max() - test_x.min())\n`, { select: ['DT011'] });
  assert.deepEqual(minmax.map((x) => x.rule), ['DT011'], 'one finding per normalisation');
  assert.match(minmax[0]!.message, /^test_x is normalised with its own min and max: /);
  assert.deepEqual(ids(`${NP}val_features = (val_features - torch.mean(val_features, dim=0)) / (torch.std(val_features, dim=0) + 1e-8)\n`, 'DT011'), ['DT011']);
  assert.deepEqual(ids(`${NP}X_val = (X_val - X_val.mean(0)) / np.sqrt(X_val.var(0) + 1e-5)\n`, 'DT011'), ['DT011']);
  assert.deepEqual(ids(`${NP}test_df[num_cols] = (test_df[num_cols] - test_df[num_cols].mean()) / test_df[num_cols].std()\n`, 'DT011'), ['DT011']);
  assert.deepEqual(ids(`${NP}X_test[:, 0] = (X_test[:, 0] - X_test[:, 0].mean()) / X_test[:, 0].std()\n`, 'DT011'), ['DT011']);
  assert.deepEqual(ids(`${NP}class TestSet:\n    def __init__(self, X_test):\n        self.X_test = (self.X_test - self.X_test.mean(0)) / self.X_test.std(0)\n`, 'DT011'), ['DT011']);
  assert.deepEqual(ids(`${NP}X_t = torch.tensor((X_valid - X_valid.mean(0)) / X_valid.std(0), dtype=torch.float32)\n`, 'DT011'), ['DT011']);
  assert.deepEqual(ids(`${NP}holdout_x = holdout_x - holdout_x.mean()\neval_data = eval_data / eval_data.max()\nXtest = (Xtest - Xtest.mean(0)) / Xtest.std(0)\n`, 'DT011'), ['DT011', 'DT011', 'DT011']);
  // torch's min/max over a dim return (values, indices)
  assert.deepEqual(ids(`${NP}x_test = (x_test - x_test.min(0)[0]) / (x_test.max(0).values - x_test.min(0)[0])\n`, 'DT011'), ['DT011']);
  // the statistics kept in a name first
  const named = lint(`${NP}test_mean = X_test.mean(0)\ntest_std = X_test.std(0)\nX_test = (X_test - test_mean) / test_std\n`, { select: ['DT011'] });
  assert.deepEqual(named.map((x) => `${x.rule}:${x.range.start.line}`), ['DT011:7']);
  // per batch of a validation loader: the batch's own statistics
  assert.deepEqual(ids(`${NP}for x_val, y_val in val_loader:\n    x_val = (x_val - x_val.mean(0)) / x_val.std(0)\n`, 'DT011'), ['DT011']);
});

test('DT011: the fix uses the names bound to the training statistics, and the result is clean', () => {
  const code = `${NP}mean = X_train.mean(axis=0)\nstd = X_train.std(axis=0)\nX_train = (X_train - mean) / std\nX_test = (X_test - X_test.mean(axis=0)) / X_test.std(axis=0)\n`;
  const fixed = fix(code, 'DT011');
  assert.match(fixed, /\nX_test = \(X_test - mean\) \/ std\n/);
  assert.match(fixed, /\nX_train = \(X_train - mean\) \/ std\n/);
  assert.deepEqual(ids(fixed, 'DT011'), []);
  assert.deepEqual(ids(fixed), []);
  // min-max, through a function, augmented
  const mm = `${NP}x_min = X_train.min(0)\nx_max = X_train.max(0)\ntest_x = (test_x - test_x.min(0)) / (test_x.max(0) - test_x.min(0))\n`;
  const mmFixed = fix(mm, 'DT011');
  assert.match(mmFixed, /test_x = \(test_x - x_min\) \/ \(x_max - x_min\)/);
  assert.deepEqual(ids(mmFixed, 'DT011'), []);
  const inFn = `${NP}train_mean = np.mean(X_train, axis=0)\n\ndef evaluate(model, X_val):\n    X_val -= X_val.mean(0)\n    return model(X_val)\n`;
  const fnFixed = fix(inFn, 'DT011');
  assert.match(fnFixed, /X_val -= train_mean\n/);
  assert.deepEqual(ids(fnFixed, 'DT011'), []);
  // the statistics named first: the name is replaced
  const named = fix(`${NP}mu = X_train.mean(0)\nsigma = X_train.std(0)\ntest_mean = X_test.mean(0)\nX_test = (X_test - test_mean) / X_test.std(0)\n`, 'DT011');
  assert.match(named, /\nX_test = \(X_test - mu\) \/ sigma\n/);
});

test('DT011: no fix when the training statistics are missing, incomplete, or computed after the training data was normalised', () => {
  const none = lint(`${NP}X_test = (X_test - X_test.mean(0)) / X_test.std(0)\n`, { select: ['DT011'] });
  assert.equal(none[0]!.fixes, undefined);
  const onlyMean = lint(`${NP}mean = X_train.mean(0)\nX_test = (X_test - X_test.mean(0)) / X_test.std(0)\n`, { select: ['DT011'] });
  assert.equal(onlyMean[0]!.fixes, undefined);
  const after = lint(`${NP}X_train = (X_train - X_train.mean(0)) / X_train.std(0)\nmean = X_train.mean(0)\nstd = X_train.std(0)\nX_test = (X_test - X_test.mean(0)) / X_test.std(0)\n`, { select: ['DT011'] });
  assert.deepEqual(after.map((x) => x.rule), ['DT011']);
  assert.equal(after[0]!.fixes, undefined, 'mean 0 and std 1 of the normalised training data are no use');
  const later = lint(`${NP}X_test = (X_test - X_test.mean(0)) / X_test.std(0)\nmean = X_train.mean(0)\nstd = X_train.std(0)\n`, { select: ['DT011'] });
  assert.equal(later[0]!.fixes, undefined, 'bound after the normalisation');
});

test('DT011: negatives: training data, training statistics, per-sample normalisation, logging, __getitem__', () => {
  // the training set normalised with its own statistics
  assert.deepEqual(ids(`${NP}X_train = (X_train - X_train.mean(axis=0)) / X_train.std(axis=0)\ntrain_x -= train_x.mean(0)\n`, 'DT011'), []);
  // the test set normalised with the training statistics
  assert.deepEqual(ids(`${NP}mean = X_train.mean(axis=0)\nstd = X_train.std(axis=0)\nX_train = (X_train - mean) / std\nX_test = (X_test - mean) / std\n`, 'DT011'), []);
  assert.deepEqual(ids(`${NP}X_test = (X_test - X_train.mean(0)) / X_train.std(0)\nx_val = (x_val - np.mean(X_train, axis=0)) / np.std(X_train, axis=0)\n`, 'DT011'), []);
  assert.deepEqual(ids(`${NP}mean, std = X_train.mean(0), X_train.std(0)\nX_test = (X_test - mean) / std\n`, 'DT011'), []);
  // per-sample normalisation of an image in a transform or a function
  assert.deepEqual(ids(`${NP}def normalise(img):\n    img = (img - img.mean()) / img.std()\n    return img\n`, 'DT011'), []);
  assert.deepEqual(ids(`${NP}transform = lambda img: (img - img.mean()) / img.std()\nx = (x - x.mean()) / x.std()\n`, 'DT011'), []);
  assert.deepEqual(ids(`${NP}for val_img in val_images:\n    val_img = (val_img - val_img.mean()) / val_img.std()\n`, 'DT011'), []);
  // per-sample statistics (over the features of each row / the pixels of each image)
  assert.deepEqual(ids(`${NP}x_test = (x_test - x_test.mean(axis=1, keepdims=True)) / x_test.std(axis=1, keepdims=True)\n`, 'DT011'), []);
  assert.deepEqual(ids(`${NP}x_val = (x_val - x_val.mean(dim=(1, 2, 3), keepdim=True)) / x_val.std(dim=(1, 2, 3), keepdim=True)\n`, 'DT011'), []);
  assert.deepEqual(ids(`${NP}x_val = x_val - x_val.mean(-1, keepdim=True)\n`, 'DT011'), []);
  // printed or logged, not used to normalise
  assert.deepEqual(ids(`${NP}print(X_test.mean(), X_test.std())\nstats = {"mean": X_test.mean(0), "std": X_test.std(0)}\nlogger.info("test mean %s", X_test.mean())\n`, 'DT011'), []);
  assert.deepEqual(ids(`${NP}drift = X_test.mean(0) - X_train.mean(0)\n`, 'DT011'), []);
  // a Dataset's __getitem__ normalising one sample
  const item = `${NP}from torch.utils.data import Dataset\n\nclass TestSet(Dataset):\n    def __init__(self, x_test):\n        self.x_test = x_test\n\n    def __getitem__(self, i):\n        x_test = self.x_test[i]\n        x_test = (x_test - x_test.mean()) / x_test.std()\n        x = (self.x_test[i] - self.x_test[i].mean()) / self.x_test[i].std()\n        return x_test, x\n`;
  assert.deepEqual(ids(item, 'DT011'), []);
  // shifted to positive values, not scaled (min-max needs the division)
  assert.deepEqual(ids(`${NP}X_test = X_test - X_test.min()\nx_val -= x_val.min()\nX_test = np.round((X_test - X_test.min())).astype(np.int32)\n`, 'DT011'), []);
  // one sample by index, results rather than features
  assert.deepEqual(ids(`${NP}x = (X_test[i] - X_test[i].mean()) / X_test[i].std()\nval_loss = (val_loss - val_loss.mean()) / val_loss.std()\ntest_scores = test_scores - test_scores.max()\n`, 'DT011'), []);
});
