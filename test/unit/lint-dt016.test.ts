import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

const IMPORTS = `${HEADER}import numpy as np\nimport pandas as pd\nfrom sklearn.model_selection import train_test_split, KFold, TimeSeriesSplit\nfrom sklearn.preprocessing import MinMaxScaler\n`;
const code = (body: string) => `${IMPORTS}${body}\n`;

const HELPER =
  'def create_sequences(data, seq_length):\n    xs, ys = [], []\n    for i in range(len(data) - seq_length):\n        xs.append(data[i:i + seq_length])\n        ys.append(data[i + seq_length])\n    return np.array(xs), np.array(ys)\n';

test('DT016: create_sequences helper unpacked by the caller, then train_test_split; the fix adds shuffle=False', () => {
  const src = code(
    `df = pd.read_csv("prices.csv")\nscaled = MinMaxScaler().fit_transform(df[["Close"]])\n${HELPER}X, y = create_sequences(scaled, 60)\nX_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)\n`,
  );
  const f = lint(src).filter((x) => x.rule === 'DT016');
  assert.equal(f.length, 1);
  assert.equal(f[0]!.severity, 'warning');
  assert.equal(
    f[0]!.message,
    'X holds overlapping windows of one series (create_sequences) and train_test_split shuffles them: test windows share most of their values with training windows and lie in the training period, so the test score is inflated. Split by time (shuffle=False, or slice before making windows).',
  );
  const fixed = fix(src, 'DT016');
  assert.match(fixed, /train_test_split\(X, y, test_size=0\.2, random_state=42, shuffle=False\)/);
  assert.deepEqual(ids(fixed, 'DT016'), []);
});

test('DT016: module-level loop, look_back slice with a column, np.array and torch.tensor wrappers', () => {
  const src = code(
    'look_back = 30\ndataX, dataY = [], []\nfor i in range(len(scaled) - look_back - 1):\n    a = scaled[i:(i + look_back), 0]\n    dataX.append(a)\n    dataY.append(scaled[i + look_back, 0])\nX = torch.tensor(np.array(dataX), dtype=torch.float32)\ny = torch.tensor(np.array(dataY))\nX_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25)\n',
  );
  // `a` is a name bound to the window in the loop body: followed to its slice
  assert.deepEqual(ids(src, 'DT016'), ['DT016']);
  const direct = code(
    'look_back = 30\ndataX, dataY = [], []\nfor i in range(len(scaled) - look_back - 1):\n    dataX.append(scaled[i:(i + look_back), 0])\n    dataY.append(scaled[i + look_back, 0])\nX = torch.tensor(np.array(dataX), dtype=torch.float32)\ny = torch.tensor(np.array(dataY))\nX_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25)\n',
  );
  const f = lint(direct).filter((x) => x.rule === 'DT016');
  assert.equal(f.length, 1);
  assert.match(f[0]!.message, /^X holds overlapping windows of one series \(scaled\[i:\(i \+ look_back\), 0\]\)/);
});

test('DT016: range(seq_len, len(data)) with data[i - seq_len:i], df.iloc windows, explicit shuffle=True (fix flips it)', () => {
  const back = code(
    'X, y = [], []\nfor i in range(60, len(prices)):\n    X.append(prices[i - 60:i])\n    y.append(prices[i])\nX, y = np.array(X), np.array(y)\nX_train, X_test, y_train, y_test = train_test_split(X, y, shuffle=True)\n',
  );
  assert.deepEqual(ids(back, 'DT016'), ['DT016']);
  const fixed = fix(back, 'DT016');
  assert.match(fixed, /train_test_split\(X, y, shuffle=False\)/);
  assert.deepEqual(ids(fixed, 'DT016'), []);
  const iloc = code(
    'def make_windows(df, n):\n    out = []\n    for i in range(len(df) - n):\n        out.append(df.iloc[i:i + n].values)\n    return np.stack(out)\nwindows = make_windows(frame, 24)\ntrain, test = train_test_split(windows, test_size=0.2)\n',
  );
  assert.deepEqual(ids(iloc, 'DT016'), ['DT016']);
});

test('DT016: random_split of a TensorDataset, KFold(shuffle=True), while loop, sliding_window_view', () => {
  const rs = code(
    `${HELPER}X, y = create_sequences(series, 50)\nds = torch.utils.data.TensorDataset(torch.from_numpy(X).float(), torch.from_numpy(y).float())\ntrain_ds, val_ds = torch.utils.data.random_split(ds, [0.8, 0.2])\n`,
  );
  const f = lint(rs).filter((x) => x.rule === 'DT016');
  assert.equal(f.length, 1);
  assert.match(f[0]!.message, /random_split shuffles them/);
  assert.equal(f[0]!.fixes, undefined);
  const kf = code(`${HELPER}X, y = create_sequences(series, 50)\nkf = KFold(n_splits=5, shuffle=True, random_state=0)\nfor tr, te in kf.split(X):\n    pass\n`);
  assert.deepEqual(ids(kf, 'DT016'), ['DT016']);
  const wl = code(
    'xs, ys = [], []\ni = 0\nwhile i + window < len(temps):\n    xs.append(temps[i:i + window])\n    ys.append(temps[i + window])\n    i += 1\nX_train, X_test, y_train, y_test = train_test_split(np.array(xs), np.array(ys))\n',
  );
  assert.deepEqual(ids(wl, 'DT016'), ['DT016']);
  const sw = code('X = np.lib.stride_tricks.sliding_window_view(series, 48)\nX_train, X_test = train_test_split(X, test_size=0.1)\n');
  assert.deepEqual(ids(sw, 'DT016'), ['DT016']);
});

test('DT016: silent for shuffle=False, time-ordered splits, TimeSeriesSplit and KFold without shuffle', () => {
  const pre = `${HELPER}X, y = create_sequences(series, 60)\n`;
  assert.deepEqual(ids(code(`${pre}X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, shuffle=False)\n`), 'DT016'), []);
  assert.deepEqual(ids(code(`${pre}n = int(len(X) * 0.8)\nX_train, X_test = X[:n], X[n:]\n`), 'DT016'), []);
  assert.deepEqual(ids(code(`${pre}for tr, te in TimeSeriesSplit(n_splits=5).split(X):\n    pass\n`), 'DT016'), []);
  assert.deepEqual(ids(code(`${pre}for tr, te in KFold(n_splits=5).split(X):\n    pass\n`), 'DT016'), []);
  assert.deepEqual(ids(code(`${pre}X_train, X_test = train_test_split(X, shuffle=cfg.shuffle)\n`), 'DT016'), []);
  // stratify: reported, but no fix (shuffle=False with stratify raises)
  const strat = lint(code(`${pre}X_train, X_test = train_test_split(X, stratify=y)\n`)).filter((x) => x.rule === 'DT016');
  assert.equal(strat.length, 1);
  assert.equal(strat[0]!.fixes, undefined);
});

test('DT016: silent when the windows do not overlap, come from several series, or are not windows', () => {
  const split = 'X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)\n';
  // step equal to the window
  assert.deepEqual(ids(code(`X, y = [], []\nfor i in range(0, len(data) - n, n):\n    X.append(data[i:i + n])\n    y.append(data[i + n])\n${split}`), 'DT016'), []);
  // unknown step
  assert.deepEqual(ids(code(`X, y = [], []\nfor i in range(0, len(data) - n, stride):\n    X.append(data[i:i + n])\n    y.append(data[i + n])\n${split}`), 'DT016'), []);
  // windows of length 1
  assert.deepEqual(ids(code(`X, y = [], []\nfor i in range(len(data) - 1):\n    X.append(data[i:i + 1])\n    y.append(data[i + 1])\n${split}`), 'DT016'), []);
  // several series (nested loop)
  assert.deepEqual(
    ids(code(`X, y = [], []\nfor s in all_series:\n    for i in range(len(s) - n):\n        X.append(s[i:i + n])\n        y.append(s[i + n])\n${split}`), 'DT016'),
    [],
  );
  // a different series per iteration, bound in the loop
  assert.deepEqual(ids(code(`X, y = [], []\nfor i in range(len(paths) - n):\n    s = load(paths[i])\n    X.append(s[i:i + n])\n${split}`), 'DT016'), []);
  // a strided start (i * stride)
  assert.deepEqual(ids(code(`X, y = [], []\nfor i in range(m):\n    X.append(data[i * n:i * n + n])\n${split}`), 'DT016'), []);
  // a list also filled by something else
  assert.deepEqual(ids(code(`X, y = [], []\nfor i in range(len(data) - n):\n    X.append(data[i:i + n])\nX.extend(extra)\n${split}`), 'DT016'), []);
  // per-row samples, not windows
  assert.deepEqual(ids(code(`X, y = [], []\nfor i in range(len(data)):\n    X.append(data[i])\n    y.append(labels[i])\n${split}`), 'DT016'), []);
  // unknown function results and parameters
  assert.deepEqual(ids(code(`from mylib import create_sequences\nX, y = create_sequences(series, 60)\n${split}`), 'DT016'), []);
  assert.deepEqual(ids(code(`def run(X, y):\n    return train_test_split(X, y)\n`), 'DT016'), []);
  // a helper that returns something else on another path
  assert.deepEqual(
    ids(code(`def build(data, n, flat):\n    if flat:\n        return data, data\n    xs = []\n    for i in range(len(data) - n):\n        xs.append(data[i:i + n])\n    return np.array(xs), data[n:]\nX, y = build(series, 10, False)\n${split}`), 'DT016'),
    [],
  );
  // mini-batching a dataset with a step
  assert.deepEqual(ids(code(`batches = []\nfor i in range(0, len(data), bs):\n    batches.append(data[i:i + bs])\nX = np.array(batches)\ntrain, test = train_test_split(X)\n`), 'DT016'), []);
  // TensorDataset of other data
  assert.deepEqual(ids(code('ds = torch.utils.data.TensorDataset(torch.randn(100, 10), torch.randn(100))\ntr, va = torch.utils.data.random_split(ds, [80, 20])\n'), 'DT016'), []);
});
