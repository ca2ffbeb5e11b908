import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ids, lint, useParser } from './lint/helpers';

useParser();

const IMP =
  'import pandas as pd\nfrom imblearn.over_sampling import SMOTE, RandomOverSampler, ADASYN\nfrom imblearn.combine import SMOTETomek\n' +
  'from imblearn.under_sampling import RandomUnderSampler\nfrom sklearn.model_selection import train_test_split, cross_val_score, GridSearchCV, StratifiedKFold\n' +
  'from sklearn.ensemble import RandomForestClassifier\n';
const dt = (body: string) => ids(IMP + body, 'DT015');

test('DT015: SMOTE(...).fit_resample on all of X, then train_test_split of the result', () => {
  const code = IMP + 'X_res, y_res = SMOTE(random_state=42).fit_resample(X, y)\nX_train, X_test, y_train, y_test = train_test_split(X_res, y_res, test_size=0.2)\n';
  const f = lint(code, { select: ['DT015'] });
  assert.deepEqual(f.map((x) => [x.rule, x.severity]), [['DT015', 'warning']]);
  assert.equal(
    f[0]!.message,
    'SMOTE oversamples the whole dataset (`X`) before train_test_split (line 8): synthetic copies of test rows end up in training and the test score is inflated. Split first and resample only the training split (or use an imblearn Pipeline).',
  );
  assert.equal(f[0]!.range.start.line, 6);
});

test('DT015: a sampler bound to a name, X and y rebound, older fit_sample, other over-samplers', () => {
  assert.deepEqual(dt('sm = SMOTE()\nX_sm, y_sm = sm.fit_resample(X, y)\nX_tr, X_te, y_tr, y_te = train_test_split(X_sm, y_sm, stratify=y_sm)\n'), ['DT015']);
  assert.deepEqual(dt('X, y = SMOTE().fit_resample(X, y)\nX_train, X_test, y_train, y_test = train_test_split(X, y)\n'), ['DT015']);
  assert.deepEqual(dt('ros = RandomOverSampler()\nX_o, y_o = ros.fit_sample(features, labels)\na, b, c, d = train_test_split(X_o, y_o)\n'), ['DT015']);
  assert.deepEqual(dt('X_a, y_a = ADASYN().fit_resample(X, y)\na, b, c, d = train_test_split(X_a, y_a)\n'), ['DT015']);
  assert.deepEqual(dt('X_c, y_c = SMOTETomek().fit_resample(X, y)\na, b, c, d = train_test_split(X_c, y_c)\n'), ['DT015']);
  assert.deepEqual(ids('import imblearn\nfrom sklearn import model_selection as ms\nXr, yr = imblearn.over_sampling.SMOTE().fit_resample(X, y)\na, b, c, d = ms.train_test_split(Xr, yr)\n', 'DT015'), ['DT015']);
  // RandomOverSampler duplicates rows
  assert.match(lint(IMP + 'X_o, y_o = RandomOverSampler().fit_resample(X, y)\na, b, c, d = train_test_split(X_o, y_o)\n')[0]!.message, /duplicates of test rows/);
});

test('DT015: the resampled data flows through DataFrames and concat into the split; inline in the split', () => {
  assert.deepEqual(
    dt('X_res, y_res = SMOTE().fit_resample(df.drop("label", axis=1), df["label"])\ndf_res = pd.concat([pd.DataFrame(X_res), pd.Series(y_res, name="label")], axis=1)\nX2 = df_res.drop("label", axis=1)\ny2 = df_res["label"]\na, b, c, d = train_test_split(X2, y2)\n'),
    ['DT015'],
  );
  assert.deepEqual(dt('a, b, c, d = train_test_split(*SMOTE().fit_resample(X, y), test_size=0.3)\n'), ['DT015']);
});

test('DT015: resampled data given to cross_val_score, GridSearchCV.fit and StratifiedKFold.split', () => {
  const cv = lint(IMP + 'X_res, y_res = SMOTE().fit_resample(X, y)\nscores = cross_val_score(RandomForestClassifier(), X_res, y_res, cv=5)\n', { select: ['DT015'] });
  assert.equal(cv.length, 1);
  assert.match(cv[0]!.message, /before cross-validation \(cross_val_score\) \(line 8\): synthetic copies of held-out rows end up in the training folds/);
  assert.deepEqual(dt('X_res, y_res = SMOTE().fit_resample(X, y)\ngs = GridSearchCV(RandomForestClassifier(), {"n_estimators": [100, 200]}, cv=5)\ngs.fit(X_res, y_res)\n'), ['DT015']);
  assert.deepEqual(dt('X_res, y_res = SMOTE().fit_resample(X, y)\nGridSearchCV(RandomForestClassifier(), {}, cv=5).fit(X_res, y_res)\n'), ['DT015']);
  assert.deepEqual(dt('X_res, y_res = SMOTE().fit_resample(X, y)\nskf = StratifiedKFold(n_splits=5, shuffle=True)\nfor tr, te in skf.split(X_res, y_res):\n    pass\n'), ['DT015']);
  // cross-validating on an oversampled training split still leaks between the folds
  assert.deepEqual(dt('X_train, X_test, y_train, y_test = train_test_split(X, y)\nX_train_res, y_train_res = SMOTE().fit_resample(X_train, y_train)\ncross_val_score(RandomForestClassifier(), X_train_res, y_train_res)\n'), ['DT015']);
});

test('DT015: sklearn.utils.resample(..., replace=True) upsampling concatenated back and then split', () => {
  const code =
    'from sklearn.utils import resample\n' +
    'minority = df[df.y == 1]\nmajority = df[df.y == 0]\n' +
    'minority_up = resample(minority, replace=True, n_samples=len(majority), random_state=0)\n' +
    'df_up = pd.concat([majority, minority_up])\nX_train, X_test, y_train, y_test = train_test_split(df_up.drop("y", axis=1), df_up.y)\n';
  const f = lint(IMP + code, { select: ['DT015'] });
  assert.equal(f.length, 1);
  assert.match(f[0]!.message, /^resample\(\.\.\., replace=True\) upsamples the whole dataset \(`minority`\) before train_test_split/);
  // without replace=True (sub-sampling) or a bootstrap of the test set that is not split: silent
  assert.deepEqual(dt('from sklearn.utils import resample\nsub = resample(df, replace=False, n_samples=1000)\na, b = train_test_split(sub)\n'), []);
  assert.deepEqual(dt('from sklearn.utils import resample\nXb, yb = resample(X_test, y_test, replace=True)\nprint(model.score(Xb, yb))\n'), []);
});

test('DT015: resampling the training split only, after the split, is the right way', () => {
  assert.deepEqual(dt('X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y)\nsm = SMOTE()\nX_train_res, y_train_res = sm.fit_resample(X_train, y_train)\nmodel = RandomForestClassifier().fit(X_train_res, y_train_res)\n'), []);
  assert.deepEqual(dt('X_tr, X_te, y_tr, y_te = train_test_split(X, y)\nX_tr, y_tr = SMOTE().fit_resample(X_tr, y_tr)\n'), []);
  // a validation split of the oversampled training part (named or unpacked from a split) is not reported
  assert.deepEqual(dt('Xa, Xb, ya, yb = train_test_split(X, y)\nXr, yr = SMOTE().fit_resample(Xa, ya)\nX1, X2, y1, y2 = train_test_split(Xr, yr)\n'), []);
  // rows picked by fold indices are a training part; a feature selection of all rows is not
  assert.deepEqual(dt('X_fold = X[train_idx]\ny_fold = y[train_idx]\nXr, yr = SMOTE().fit_resample(X_fold, y_fold)\nX1, X2, y1, y2 = train_test_split(Xr, yr)\n'), []);
  assert.deepEqual(dt('X = df[feature_cols]\nXr, yr = SMOTE().fit_resample(X, df["label"])\nX1, X2, y1, y2 = train_test_split(Xr, yr)\n'), ['DT015']);
  // resampling inside each fold
  assert.deepEqual(
    dt('skf = StratifiedKFold(5)\nfor tr, te in skf.split(X, y):\n    X_res, y_res = SMOTE().fit_resample(X[tr], y[tr])\n    RandomForestClassifier().fit(X_res, y_res)\n'),
    [],
  );
});

test('DT015: imblearn Pipeline, under-samplers, unknown samplers and no split: silent', () => {
  assert.deepEqual(
    dt('from imblearn.pipeline import Pipeline\npipe = Pipeline([("smote", SMOTE()), ("rf", RandomForestClassifier())])\ncross_val_score(pipe, X, y, cv=5)\n'),
    [],
  );
  assert.deepEqual(dt('X_u, y_u = RandomUnderSampler().fit_resample(X, y)\na, b, c, d = train_test_split(X_u, y_u)\n'), []);
  assert.deepEqual(dt('X_r, y_r = make_sampler().fit_resample(X, y)\na, b, c, d = train_test_split(X_r, y_r)\n'), []);
  assert.deepEqual(dt('def balance(sampler, X, y):\n    return sampler.fit_resample(X, y)\nX_r, y_r = balance(SMOTE(), X, y)\na, b, c, d = train_test_split(X_r, y_r)\n'), []);
  assert.deepEqual(dt('X_res, y_res = SMOTE().fit_resample(X, y)\nRandomForestClassifier().fit(X_res, y_res)\n'), []);
  // the split uses the original data, not the resampled arrays
  assert.deepEqual(dt('X_res, y_res = SMOTE().fit_resample(X, y)\nprint(len(X_res))\na, b, c, d = train_test_split(X, y)\n'), []);
  // a name re-assigned from other data before the split
  assert.deepEqual(dt('X_res, y_res = SMOTE().fit_resample(X, y)\nX_res, y_res = load_clean()\na, b, c, d = train_test_split(X_res, y_res)\n'), []);
  // only the length of the resampled data reaches the split
  assert.deepEqual(dt('X_res, y_res = SMOTE().fit_resample(X, y)\nn = len(X_res)\na, b = train_test_split(X, test_size=n // 10)\n'), []);
  // resampling in another function than the split
  assert.deepEqual(dt('def prep(X, y):\n    X_res, y_res = SMOTE().fit_resample(X, y)\n    return X_res, y_res\ndef run(X_res, y_res):\n    return train_test_split(X_res, y_res)\n'), []);
  // a local class named SMOTE
  assert.deepEqual(ids('from sklearn.model_selection import train_test_split\nclass SMOTE:\n    def fit_resample(self, X, y):\n        return X, y\nXr, yr = SMOTE().fit_resample(X, y)\na, b, c, d = train_test_split(Xr, yr)\n', 'DT015'), []);
});
