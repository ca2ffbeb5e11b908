import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, lint, useParser } from './lint/helpers';

useParser();

const PRE = `${HEADER}import numpy as np\nimport pandas as pd\nfrom sklearn.model_selection import train_test_split, KFold, cross_val_score\ndf = pd.read_csv("houses.csv")\n`;
const SPLIT = 'X = df.drop(columns=["price"])\ny = df["price"]\nX_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)\n';
const dt = (code: string) => ids(code, 'DT018');

test('DT018: groupby(...)[target].transform("mean") before train_test_split is a warning naming feature, target and split', () => {
  const code = `${PRE}df["city_mean"] = df.groupby("city")["price"].transform("mean")\n${SPLIT}`;
  const f = lint(code).filter((x) => x.rule === 'DT018');
  assert.deepEqual(f.map((x) => [x.rule, x.severity]), [['DT018', 'warning']]);
  assert.equal(
    f[0]!.message,
    "`city_mean` averages the target (price) over all rows before train_test_split: each test row's feature contains its own label, so the test score is inflated. Compute the encoding on the training split only (or inside cross-validation folds).",
  );
  assert.equal(f[0]!.range.start.line, code.split('\n').findIndex((l) => l.startsWith('df["city_mean"]')));
  assert.equal(f[0]!.fixes, undefined);
});

test('DT018: other spellings: np.mean, map of the grouped mean (inline and via a name), agg merged back, pop, target variable', () => {
  assert.deepEqual(dt(`${PRE}df["te"] = df.groupby("city")["price"].transform(np.mean)\n${SPLIT}`), ['DT018']);
  assert.deepEqual(dt(`${PRE}df["te"] = df["city"].map(df.groupby("city")["price"].mean())\n${SPLIT}`), ['DT018']);
  assert.deepEqual(dt(`${PRE}means = df.groupby("city")["price"].mean()\ndf["te"] = df["city"].map(means)\n${SPLIT}`), ['DT018']);
  assert.deepEqual(
    dt(`${PRE}stats = df.groupby("city")["price"].agg("mean").rename("city_te").reset_index()\ndf = df.merge(stats, on="city", how="left")\n${SPLIT}`),
    ['DT018'],
  );
  assert.deepEqual(
    dt(`${PRE}df["te"] = df.groupby("city")["price"].transform("median")\ny = df.pop("price")\nX_train, X_test, y_train, y_test = train_test_split(df, y)\n`),
    ['DT018'],
  );
  assert.deepEqual(
    dt(`${PRE}target = "price"\nfor col in ["city", "zip"]:\n    df[col + "_te"] = df.groupby(col)[target].transform("mean")\nX = df.drop(target, axis=1)\ny = df[target]\nX_train, X_test, y_train, y_test = train_test_split(X, y)\n`),
    ['DT018'],
  );
  assert.deepEqual(
    dt(`${PRE}df["te"] = df.groupby("city")["price"].transform("mean")\nX_train, X_test, y_train, y_test = train_test_split(df.drop("price", axis=1), np.log1p(df["price"]))\n`),
    ['DT018'],
  );
});

test('DT018: inside a function, before KFold.split and cross_val_score', () => {
  assert.deepEqual(
    dt(`${PRE}def run(df):\n    df["te"] = df.groupby("city")["price"].transform("mean")\n    X = df.drop(columns=["price"]).values\n    y = df["price"].values\n    kf = KFold(n_splits=5, shuffle=True)\n    for tr, va in kf.split(X):\n        model.fit(X[tr], y[tr])\n`),
    ['DT018'],
  );
  const code = `${PRE}df["te"] = df.groupby("city")["price"].transform("mean")\nX = df.drop(columns=["price"])\ny = df["price"]\nprint(cross_val_score(model, X, y, cv=5))\n`;
  assert.deepEqual(dt(code), ['DT018']);
  assert.match(lint(code).find((f) => f.rule === 'DT018')!.message, /before cross_val_score:/);
});

test('DT018: category_encoders target encoders fitted on all rows before the split', () => {
  const CE = 'import category_encoders as ce\n';
  assert.deepEqual(
    dt(`${PRE}${CE}X = df.drop(columns=["price"])\ny = df["price"]\nenc = ce.TargetEncoder(cols=["city"])\nX = enc.fit_transform(X, y)\nX_train, X_test, y_train, y_test = train_test_split(X, y)\n`),
    ['DT018'],
  );
  const code = `${PRE}from category_encoders import LeaveOneOutEncoder\nX = df.drop(columns=["price"])\ny = df["price"]\nenc = LeaveOneOutEncoder(cols=["city"])\nenc.fit(X, y)\nX_enc = enc.transform(X)\nprint(cross_val_score(model, X_enc, y))\n`;
  assert.deepEqual(dt(code), ['DT018']);
  assert.match(lint(code).find((f) => f.rule === 'DT018')!.message, /^LeaveOneOutEncoder is fitted with the target on all rows of `X` before cross_val_score/);
  assert.deepEqual(
    dt(`${PRE}from category_encoders.cat_boost import CatBoostEncoder\nX = df.drop(columns=["price"])\ny = df["price"]\nX_enc = CatBoostEncoder().fit_transform(X, y)\nX_train, X_test, y_train, y_test = train_test_split(X_enc, y)\n`),
    ['DT018'],
  );
});

test('DT018: silent when the encoding is learned on the training split only', () => {
  assert.deepEqual(
    dt(`${PRE}train_df, test_df = train_test_split(df, test_size=0.2)\nmeans = train_df.groupby("city")["price"].mean()\ntrain_df["te"] = train_df["city"].map(means)\ntest_df["te"] = test_df["city"].map(means)\n`),
    [],
  );
  assert.deepEqual(
    dt(`${PRE}train_df, test_df = train_test_split(df, test_size=0.2)\ntrain_df["te"] = train_df.groupby("city")["price"].transform("mean")\nX_tr, X_va, y_tr, y_va = train_test_split(train_df.drop(columns=["price"]), train_df["price"])\n`),
    [],
  );
  // encoded after the split (no split follows it)
  assert.deepEqual(dt(`${PRE}${SPLIT}df["te"] = df.groupby("city")["price"].transform("mean")\n`), []);
  const CE = 'import category_encoders as ce\n';
  assert.deepEqual(
    dt(`${PRE}${CE}X = df.drop(columns=["price"])\ny = df["price"]\nX_train, X_test, y_train, y_test = train_test_split(X, y)\nenc = ce.TargetEncoder(cols=["city"])\nX_train = enc.fit_transform(X_train, y_train)\nX_test = enc.transform(X_test)\n`),
    [],
  );
});

test('DT018: silent for look-alikes: another column, count/size, lag features, sklearn TargetEncoder, no split, feature not in X', () => {
  assert.deepEqual(dt(`${PRE}df["city_sqft"] = df.groupby("city")["sqft"].transform("mean")\n${SPLIT}`), []);
  assert.deepEqual(dt(`${PRE}df["city_n"] = df.groupby("city")["price"].transform("count")\n${SPLIT}`), []);
  assert.deepEqual(dt(`${PRE}df["lag"] = df.groupby("store")["price"].transform(lambda s: s.shift(1).rolling(7).mean())\n${SPLIT}`), []);
  assert.deepEqual(dt(`${PRE}df["lag"] = df.groupby("store")["price"].shift(1)\n${SPLIT}`), []);
  assert.deepEqual(dt(`${PRE}df["te"] = df.groupby("city")["price"].transform("mean")\nX = df.drop(columns=["price"])\ny = df["price"]\nmodel.fit(X, y)\n`), []);
  // the target is another column
  assert.deepEqual(dt(`${PRE}df["te"] = df.groupby("city")["price"].transform("mean")\nX = df.drop(columns=["sold"])\ny = df["sold"]\nX_train, X_test, y_train, y_test = train_test_split(X, y)\n`), []);
  // the feature is not among the selected columns
  assert.deepEqual(
    dt(`${PRE}df["te"] = df.groupby("city")["price"].transform("mean")\nfeatures = ["sqft", "rooms"]\nX = df[features]\ny = df["price"]\nX_train, X_test, y_train, y_test = train_test_split(X, y)\n`),
    [],
  );
  assert.deepEqual(dt(`${PRE}df["te"] = df.groupby("city")["price"].transform("mean")\nX = df.drop(columns=["price", "te"])\ny = df["price"]\nX_train, X_test, y_train, y_test = train_test_split(X, y)\n`), []);
  // statistics of another table (historical sales) mapped onto the data
  assert.deepEqual(dt(`${PRE}hist = pd.read_csv("sales_2019.csv")\nmeans = hist.groupby("city")["price"].mean()\ndf["te"] = df["city"].map(means)\n${SPLIT}`), []);
  // group stats only printed
  assert.deepEqual(dt(`${PRE}print(df.groupby("city")["price"].mean())\n${SPLIT}`), []);
  // sklearn's TargetEncoder cross-fits in fit_transform
  assert.deepEqual(
    dt(`${PRE}from sklearn.preprocessing import TargetEncoder\nX = df.drop(columns=["price"])\ny = df["price"]\nX = TargetEncoder().fit_transform(X, y)\nX_train, X_test, y_train, y_test = train_test_split(X, y)\n`),
    [],
  );
  // split in another function
  assert.deepEqual(dt(`${PRE}def prep(df):\n    df["te"] = df.groupby("city")["price"].transform("mean")\n    return df\ndef split(df):\n    X = df.drop(columns=["price"])\n    y = df["price"]\n    return train_test_split(X, y)\n`), []);
});
