// DT013: the features are the frame minus some columns, and the target column is not among them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fix, ids, useParser } from './lint/helpers';

useParser();

const PD = 'import pandas as pd\nfrom sklearn.model_selection import train_test_split\ndf = pd.read_csv("train.csv")\n';
const split = 'X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.2)\n';

test('DT013: X = df.drop(["Id"], axis=1) with y = df["SalePrice"]; fix adds the target to the list', () => {
  const code = `${PD}X = df.drop(["Id"], axis=1)\ny = df["SalePrice"]\n${split}`;
  assert.deepEqual(ids(code, 'DT013'), ['DT013']);
  const fixed = fix(code, 'DT013');
  assert.match(fixed, /df\.drop\(\["Id", "SalePrice"\], axis=1\)/);
  assert.deepEqual(ids(fixed, 'DT013'), []);
});

test('DT013: other spellings: columns=, a single string, .values conversions, fit(X, y)', () => {
  assert.deepEqual(ids(`${PD}X = df.drop(columns=['id', 'date'])\ny = df['target'].values\n${split}`, 'DT013'), ['DT013']);
  const single = `${PD}X = df.drop('PassengerId', axis=1).values.astype('float32')\ny = df['Survived'].to_numpy()\nmodel.fit(X, y)\n`;
  assert.deepEqual(ids(single, 'DT013'), ['DT013']);
  assert.match(fix(single, 'DT013'), /df\.drop\(\['PassengerId', 'Survived'\], axis=1\)/);
});

test('DT013 look-alikes: target dropped, dropped later, rows dropped, other frames, inplace, never used together', () => {
  assert.deepEqual(ids(`${PD}X = df.drop(["Id", "SalePrice"], axis=1)\ny = df["SalePrice"]\n${split}`, 'DT013'), []);
  assert.deepEqual(ids(`${PD}X = df.drop(["Id"], axis=1)\ny = df["SalePrice"]\nX = X.drop("SalePrice", axis=1)\n${split}`, 'DT013'), []);
  assert.deepEqual(ids(`${PD}X = df.drop([0, 1])\ny = df["SalePrice"]\n${split}`, 'DT013'), []);
  assert.deepEqual(ids(`${PD}X = features.drop(["Id"], axis=1)\ny = df["SalePrice"]\n${split}`, 'DT013'), []);
  assert.deepEqual(ids(`${PD}df.drop(["Id"], axis=1, inplace=True)\ny = df["SalePrice"]\n`, 'DT013'), []);
  assert.deepEqual(ids(`${PD}X = df.drop(["Id"], axis=1)\ny = df["SalePrice"]\nprint(X.shape, y.mean())\n`, 'DT013'), []);
  // X re-bound to a column selection before the split.
  assert.deepEqual(ids(`${PD}X = df.drop(["Id"], axis=1)\ny = df["SalePrice"]\nX = X[num_cols]\n${split}`, 'DT013'), []);
  // y taken with pop before the drop removes the column from df.
  assert.deepEqual(ids(`${PD}y = df.pop("SalePrice")\nX = df.drop(["Id"], axis=1)\n${split}`, 'DT013'), []);
});
