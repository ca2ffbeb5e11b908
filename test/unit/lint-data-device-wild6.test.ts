import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, lint, useParser } from './lint/helpers';

useParser();

const SK = 'import numpy as np\nimport pandas as pd\nfrom sklearn.preprocessing import StandardScaler, MinMaxScaler\nfrom sklearn.model_selection import train_test_split\n';

// ---- DT003: whole-data statistics by hand, with numpy / torch functions ----

test('DT003: X standardised with np.mean(X) / np.std(X) before train_test_split', () => {
  const code = `${SK}def build(X, y, normalize=True):\n    if normalize:\n        X = (X - np.mean(X)) / np.std(X)\n    X = X.astype('float32')\n    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2)\n    return X_tr, X_te, y_tr, y_te\n`;
  assert.deepEqual(ids(code, 'DT003'), ['DT003']);
  const torchForm = `${HEADER}${SK}feats = torch.randn(100, 8)\nfeats = (feats - torch.mean(feats, dim=0)) / torch.std(feats, dim=0)\ntr, te = torch.utils.data.random_split(feats, [80, 20])\n`;
  assert.deepEqual(ids(torchForm, 'DT003'), ['DT003']);
});

test('DT003: per-sample statistics (axis=1) and statistics of another array are not reported', () => {
  const perRow = `${SK}X = (X - np.mean(X, axis=1, keepdims=True)) / np.std(X, axis=1, keepdims=True)\nX_tr, X_te = train_test_split(X, test_size=0.2)\n`;
  assert.deepEqual(ids(perRow, 'DT003'), []);
  const other = `${SK}X = (X - np.mean(train_ref)) / np.std(train_ref)\nX_tr, X_te = train_test_split(X, test_size=0.2)\n`;
  assert.deepEqual(ids(other, 'DT003'), []);
});

// ---- DT003: statistics over training and held-out data joined ----

const TV = `${HEADER}import torchvision\nimport torchvision.transforms as T\n`;

test('DT003: mean/std of torch.cat over the train and test sets (a DataLoader read in a comprehension); no DT001 there', () => {
  const code = `${TV}def stats():\n    tr = torchvision.datasets.CIFAR100('d', train=True, transform=T.ToTensor())\n    held = torchvision.datasets.CIFAR100('d', train=False, transform=T.ToTensor())\n    allx = torch.cat([b[0] for b in DataLoader(tr)] + [b[0] for b in DataLoader(held)])\n    return allx.mean(dim=[0, 2, 3]), allx.std(dim=[0, 2, 3])\n`;
  const f = lint(code);
  assert.deepEqual(f.map((x) => x.rule), ['DT003']);
  assert.match(f[0]!.message, /training and held-out data joined together \(`held`, line 10\)/);
});

test('DT003: a scaler fitted on np.concatenate([X_train, X_test]); pandas concat with min and max', () => {
  const fit = `${SK}sc = MinMaxScaler()\nsc.fit(np.concatenate([X_train, X_test]))\nX_train = sc.transform(X_train)\n`;
  const f = lint(fit, { select: ['DT003'] });
  assert.equal(f.length, 1);
  assert.match(f[0]!.message, /^MinMaxScaler is fitted on training and held-out data joined together \(`X_test`/);
  const frames = `${SK}both = pd.concat([train_df, valid_df])\nlo, hi = both.min(), both.max()\ntrain_df = (train_df - lo) / (hi - lo)\n`;
  assert.deepEqual(ids(frames, 'DT003'), ['DT003']);
});

test('DT003: joined data without a held-out part, one statistic only, column joins and per-sample statistics are not reported', () => {
  const trainOnly = `${SK}allx = np.concatenate([X_train_a, X_train_b])\nmu, sd = allx.mean(0), allx.std(0)\n`;
  const meanOnly = `${SK}both = pd.concat([train, test])\nboth = both.fillna(both.mean())\n`;
  const columns = `${SK}wide = pd.concat([train_feats, test_feats], axis=1)\nmu, sd = wide.mean(), wide.std()\n`;
  const perSample = `${SK}allx = np.concatenate([X_train, X_test])\nmu, sd = allx.mean(axis=1), allx.std(axis=1)\n`;
  for (const code of [trainOnly, meanOnly, columns, perSample]) assert.deepEqual(ids(code, 'DT003'), [], code);
});

// ---- DT003: a helper fitting with `StandardScaler().fit(...)`, and a later slice at the training size ----

test('DT003: sc = StandardScaler().fit(d) in a helper, then the scaled data sliced at train_size', () => {
  const code = `${SK}def prepare(frame):\n    sc = StandardScaler().fit(frame)\n    out = sc.transform(frame)\n    return out, sc\n\nraw = pd.read_csv('s.csv')\nseries, scaler = prepare(raw)\nn_train = int(len(series) * 0.7)\nplot(series[n_train:])\n`;
  const f = lint(code, { select: ['DT003'] });
  assert.equal(f.length, 1);
  assert.match(f[0]!.message, /prepare\(\) fits StandardScaler on all of `raw` before the train\/test split \(line 13\)/);
});

test('DT003: a helper that slices at the training size is a split of what the script passes', () => {
  const code = `${SK}def fit_model(data, cfg):\n    tr = data[:cfg.train_size]\n    return tr\n\nsc = StandardScaler()\nvals = sc.fit_transform(raw)\nfit_model(vals, cfg)\n`;
  assert.deepEqual(ids(code, 'DT003'), ['DT003']);
});

test('DT003: fitted on the slice before the split point, or slices that are not split points, are not reported', () => {
  const before = `${SK}sc = StandardScaler().fit(raw[:train_size])\nvals = sc.transform(raw)\nte = vals[train_size:]\n`;
  const batches = `${SK}sc = StandardScaler()\nvals = sc.fit_transform(raw)\nfirst = vals[:batch_size]\nlast = vals[-window:]\n`;
  for (const code of [before, batches]) assert.deepEqual(ids(code, 'DT003'), [], code);
});

// ---- DT001 ----

const LOOP = `for epoch in range(3):\n    for x, y in train_loader:\n        opt.zero_grad()\n        loss = F.cross_entropy(model(x), y)\n        loss.backward()\n        opt.step()\n`;

test('DT001: shuffle=False written on a training loader over training data that a training loop iterates', () => {
  const code = `${HEADER}model = nn.Linear(4, 2)\nopt = torch.optim.SGD(model.parameters(), lr=0.1)\ntrain_loader = DataLoader(train_set, batch_size=32, shuffle=False, num_workers=2)\n${LOOP}`;
  const f = lint(code, { select: ['DT001'] });
  assert.equal(f.length, 1);
  assert.match(f[0]!.message, /sets shuffle=False and feeds the training loop \(line 9\)/);
});

test('DT001: shuffle=False on one branch, another iterator on the other, passed to a train() function', () => {
  const code = `${HEADER}def main(kind):\n    if kind == 'torch':\n        train_loader = DataLoader(train_data, batch_size=8, shuffle=False)\n    else:\n        train_loader = make_fast_iter('train')\n    for epoch in range(5):\n        fit(train_loader, model, opt)\n\ndef fit(loader, model, opt):\n    for x, y in loader:\n        opt.zero_grad()\n        F.mse_loss(model(x), y).backward()\n        opt.step()\n`;
  assert.deepEqual(ids(code, 'DT001'), ['DT001']);
});

test('DT001: explicit shuffle=False stays a choice for ordered data, data the file shuffles itself, or an untrained loader', () => {
  const ordered = `${HEADER}train_loader = DataLoader(train_series_windows, batch_size=32, shuffle=False)\n${LOOP}`;
  const shuffled = `${HEADER}import numpy as np\nidx = np.random.permutation(n)\ntrain_set = base[idx]\ntrain_loader = DataLoader(train_set, batch_size=32, shuffle=False)\n${LOOP}`;
  const untrained = `${HEADER}train_loader = DataLoader(train_set, batch_size=32, shuffle=False)\nfeats = [model(x) for x, _ in train_loader]\n`;
  for (const code of [ordered, shuffled, untrained]) assert.deepEqual(ids(code, 'DT001'), [], code);
});

test('DT001: a training-set loader read up in a comprehension or by next(iter(...)) is not a training loader', () => {
  const comp = `${HEADER}xs = torch.cat([b[0] for b in DataLoader(train_set)])\nmu = xs.mean()\n`;
  const one = `${HEADER}x, y = next(iter(DataLoader(train_set, batch_size=256)))\n`;
  for (const code of [comp, one]) assert.deepEqual(ids(code, 'DT001'), [], code);
  // still reported when it is a loader a loop trains on
  assert.deepEqual(ids(`${HEADER}train_loader = DataLoader(train_set, batch_size=32)\n`, 'DT001'), ['DT001']);
});

// ---- DV002 ----

const DEV = `${HEADER}device = torch.device("cuda" if torch.cuda.is_available() else "cpu")\n`;

test('DV002: loads of dataset / vocab / processed files are data, not checkpoints', () => {
  const cases = [
    `def shard_loader(pt_file):\n    dataset = torch.load(pt_file)\n    return dataset\n`,
    `fields = build(torch.load(opt.data + '.vocab.pt'))\n`,
    `def read(path):\n    return torch.load(path)\n\nread(root + '/train.dataset.pt')\n`,
  ];
  for (const body of cases) assert.deepEqual(ids(DEV + body, 'DV002'), [], body);
});

test('DV002: a file saved by this script from CPU data to the same collection of paths', () => {
  const code = `${DEV}class Graphs:\n    def process(self):\n        for i, raw in enumerate(self.raws):\n            graphs = build_graphs(raw)\n            torch.save(graphs, self.out_files[i])\n\n    def get(self, k):\n        return torch.load(self.out_files[k])\n`;
  assert.deepEqual(ids(code, 'DV002'), []);
  // saved from the GPU (or a module's state): still reported
  const gpu = code.replace('graphs = build_graphs(raw)', 'graphs = build_graphs(raw).to(device)');
  assert.deepEqual(ids(gpu, 'DV002'), ['DV002']);
});

test('DV002: a checkpoint is still reported, whatever the name of the result', () => {
  for (const body of ['dataset = torch.load("model_ckpt.pt")\n', 'state = torch.load(args.resume)\n', 'sd = torch.load(path)\n']) {
    assert.deepEqual(ids(DEV + body, 'DV002'), ['DV002'], body);
  }
});

// ---- DV004 ----

const TRAINER = `${HEADER}class Runner:\n    def __init__(self, model, optimizer, cfg):\n        self.device = torch.device('cuda:0' if cfg.gpu else 'cpu')\n        self.model = model.to(self.device)\n        self.optimizer = optimizer\n`;

test('DV004: a trainer that moves the model it is handed, with an optimizer the caller built', () => {
  const f = lint(TRAINER, { select: ['DV004'] });
  assert.equal(f.length, 1);
  assert.match(f[0]!.message, /^model is moved to the GPU here, after the caller built optimizer from its parameters/);
  const caller = `${TRAINER}\nnet = Net()\nopt = torch.optim.Adam(net.parameters())\nRunner(net, opt, cfg)\n`;
  assert.deepEqual(ids(caller, 'DV004'), ['DV004']);
  const fn = `${HEADER}def train(model, loader, optimizer):\n    model.to(DEVICE)\n    for x, y in loader:\n        optimizer.zero_grad()\n        F.mse_loss(model(x.to(DEVICE)), y.to(DEVICE)).backward()\n        optimizer.step()\n\nDEVICE = 'cuda'\nnet = Net()\nopt = torch.optim.Adam(net.parameters())\ntrain(net, loader, opt)\n`;
  assert.deepEqual(ids(fn, 'DV004'), ['DV004']);
});

test('DV004: callers that moved the model first, trainers that build their own optimizer, plain functions without callers', () => {
  const moved = `${TRAINER}\nnet = Net().to('cuda')\nopt = torch.optim.Adam(net.parameters())\nRunner(net, opt, cfg)\n`;
  const own = `${HEADER}class Runner:\n    def __init__(self, model, optimizer=None):\n        self.model = model.cuda()\n        self.optimizer = optimizer or torch.optim.Adam(self.model.parameters())\n`;
  const noCallers = `${HEADER}def train(model, device, loader, optimizer):\n    model.to(device)\n    for x, y in loader:\n        optimizer.zero_grad()\n        F.mse_loss(model(x), y).backward()\n        optimizer.step()\n`;
  const cpu = TRAINER.replace("torch.device('cuda:0' if cfg.gpu else 'cpu')", "'cpu'");
  // the caller hands the device in: it may have moved the model already
  const handed = TRAINER.replace('def __init__(self, model, optimizer, cfg):', 'def __init__(self, model, optimizer, cfg, device):').replace("torch.device('cuda:0' if cfg.gpu else 'cpu')", 'device');
  const handedFn = `${HEADER}def train(model, device, loader, optimizer):\n    model.to(device)\n    for x, y in loader:\n        optimizer.zero_grad()\n        F.mse_loss(model(x), y).backward()\n        optimizer.step()\n\nnet = Net()\nopt = torch.optim.Adam(net.parameters())\ntrain(net, 'cuda', loader, opt)\n`;
  for (const code of [moved, own, noCallers, cpu, handed, handedFn]) assert.deepEqual(ids(code, 'DV004'), [], code);
});

// ---- DT013 ----

test('DT013: numeric columns copied before the target is popped, then passed with the target', () => {
  const code = `${SK}df = pd.read_csv('homes.csv')\ncols = [c for c in df.columns if df[c].dtype != 'object']\nX = df[cols].fillna(0)\ny = df.pop('price')\nXs = X.values\nmodel.fit(Xs, y.values)\n`;
  const f = lint(code, { select: ['DT013'] });
  assert.equal(f.length, 1);
  assert.match(f[0]!.message, /X copies df's columns before df\.pop\('price'\) \(line 8\)/);
  const dtypes = `${SK}df = pd.read_csv('homes.csv')\nfeats = df.select_dtypes('number').to_numpy()\ntarget = df.pop('price')\nsearch = Search(training_data=[feats], labels=[target])\n`;
  assert.deepEqual(ids(dtypes, 'DT013'), ['DT013']);
});

test('DT013: popping first, an alias of the frame, a selection that names the target, or text columns only are not reported', () => {
  const popFirst = `${SK}df = pd.read_csv('h.csv')\ny = df.pop('price')\nX = df[[c for c in df.columns]].values\nmodel.fit(X, y)\n`;
  const alias = `${SK}df = pd.read_csv('h.csv')\nX = df\ny = df.pop('price')\nmodel.fit(X, y)\n`;
  const named = `${SK}df = pd.read_csv('h.csv')\ncols = [c for c in df.columns if c != 'price']\nX = df[cols]\ny = df.pop('price')\nmodel.fit(X, y)\n`;
  const text = `${SK}df = pd.read_csv('h.csv')\nX = df.select_dtypes(include='object').copy()\ny = df.pop('price')\nmodel.fit(X, y)\n`;
  for (const code of [popFirst, alias, named, text]) assert.deepEqual(ids(code, 'DT013'), [], code);
});

// ---- DT017 ----

const ALB = `${HEADER}import cv2\nimport numpy as np\nimport albumentations as A\n\nclass Seg(torch.utils.data.Dataset):\n    def __init__(self, paths, transform=None):\n        self.paths = paths\n        self.transform = transform\n\n    def __len__(self):\n        return len(self.paths)\n\n    def __getitem__(self, i):\n        img = cv2.imread(self.paths[i])\n        if self.transform is not None:\n            out = self.transform(image=img)\n            img = out['image']\n        img = img.astype('float32') / 255\n        return img.transpose(2, 0, 1)\n\n`;

test('DT017: albumentations Normalize() in the pipeline, then / 255 in __getitem__', () => {
  const code = `${ALB}ds = Seg(files, transform=A.Compose([A.HorizontalFlip(), A.Normalize()]))\n`;
  const f = lint(code, { select: ['DT017'] });
  assert.equal(f.length, 1);
  assert.match(f[0]!.message, /^albumentations Normalize\(\) already divides pixels by max_pixel_value=255/);
  const toFloat = `${ALB}ds = Seg(files, transform=A.Compose([A.RandomCrop(64, 64), A.ToFloat()]))\n`;
  assert.deepEqual(ids(toFloat, 'DT017'), ['DT017']);
});

test('DT017: Normalize(max_pixel_value=1.0), no Normalize, or FromFloat after it are not reported', () => {
  for (const pipeline of ['A.Compose([A.Normalize(max_pixel_value=1.0)])', 'A.Compose([A.HorizontalFlip()])', 'A.Compose([A.Normalize(), A.FromFloat()])']) {
    assert.deepEqual(ids(`${ALB}ds = Seg(files, transform=${pipeline})\n`, 'DT017'), [], pipeline);
  }
});

// ---- DT002 ----

const PY2_DS = `from __future__ import print_function\nimport numpy as np\nimport torch\nimport torch.utils.data as data\nfrom datasets.factory import get_dataset\n\nclass Boxes(data.Dataset):\n    def __len__(self):\n        return 10\n\n    def __getitem__(self, i):\n        s = np.random.uniform(0.6, 1.4)\n        return self.load(i) * s\n\n`;

test('DT002: Python 2 era code, a factory-built Dataset, np.random in __getitem__ and a worker count from the options', () => {
  const code = `${PY2_DS}Ds = get_dataset(opt.dataset)\ntrain_loader = torch.utils.data.DataLoader(Ds(opt, 'train'), batch_size=4, shuffle=True, num_workers=opt.num_workers)\n`;
  const f = lint(code, { select: ['DT002'] });
  assert.equal(f.length, 1);
  assert.match(f[0]!.message, /^Boxes\.__getitem__ uses np\.random\.uniform with several workers/);
});

test('DT002: no __future__ import, a validation loader, or zero workers are not reported', () => {
  const modern = PY2_DS.replace('from __future__ import print_function\n', '');
  const loader = (split: string, workers: string) => `Ds = get_dataset(opt.dataset)\nloader = torch.utils.data.DataLoader(Ds(opt, '${split}'), batch_size=4, num_workers=${workers})\n`;
  assert.deepEqual(ids(modern + loader('train', 'opt.num_workers'), 'DT002'), []);
  assert.deepEqual(ids(PY2_DS + loader('val', '4'), 'DT002'), []);
  assert.deepEqual(ids(PY2_DS + loader('train', '4').replace("'train')", "'train', mode='test')"), 'DT002'), []);
  assert.deepEqual(ids(PY2_DS + loader('train', '0'), 'DT002'), []);
});

// ---- DT016 ----

const WIN = `${SK}from sklearn.model_selection import KFold\n`;

test('DT016: windows cut with a stride shorter than the window, along the last axis, then shuffled into a split', () => {
  const code = `${WIN}def cut(trials, labels):\n    win = 6\n    hop = 3\n    n = (60 - win) // hop + 1\n    parts = []\n    for t in range(0, n * hop, hop):\n        seg = trials[:, :, t * fs:(t + win) * fs]\n        parts.append(seg)\n    parts = np.vstack(parts)\n    return parts, np.vstack([labels] * n)\n\nX, y = cut(raw, lab)\nX_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2)\n`;
  assert.deepEqual(ids(code, 'DT016'), ['DT016']);
  // a stride as long as the window: the windows do not overlap
  assert.deepEqual(ids(code.replace('hop = 3', 'hop = 6'), 'DT016'), []);
});

test('DT016: KFold(shuffle=True) over np.arange(len(X)) of windows passed in as a parameter', () => {
  const code = `${WIN}def windows(sig):\n    out = []\n    for s in range(0, len(sig) - 128, 64):\n        out.append(sig[s:s + 128])\n    return np.array(out)\n\ndef run_cv(feats, seed):\n    kf = KFold(n_splits=5, shuffle=True, random_state=seed)\n    for tr, va in kf.split(np.arange(len(feats))):\n        fit(feats[tr])\n\nrun_cv(windows(signal), 0)\n`;
  const f = lint(code, { select: ['DT016'] });
  assert.equal(f.length, 1);
  assert.match(f[0]!.message, /^np\.arange\(len\(feats\)\) numbers overlapping windows of one series \(windows\)/);
  // another call site passes data that is not windows: not every caller agrees
  assert.deepEqual(ids(`${code}run_cv(images, 1)\n`, 'DT016'), []);
  assert.deepEqual(ids(code.replace('shuffle=True, ', ''), 'DT016'), []);
});

test('DT016: the window and the stride as parameter defaults the file never overrides', () => {
  const code = `${WIN}def make(sig, width=100, hop=50):\n    out = []\n    for s in range(0, len(sig) - width, hop):\n        out.append(sig[s:s + width])\n    return np.stack(out)\n\nX = make(series)\nX_tr, X_te = train_test_split(X, test_size=0.25)\n`;
  assert.deepEqual(ids(code, 'DT016'), ['DT016']);
  assert.deepEqual(ids(code.replace('hop=50', 'hop=100'), 'DT016'), []);
});
