// Evaluation and data rules, round 4 of real-bug shapes: transform / callback lists built by append, custom index
// samplers, metrics computed from test predictions, cross-validation after a fitted transformer, fitting on the array
// a split was taken from, optimizers over sub-modules, snippet Keras datasets and Lightning's train_dataloader hook.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fix, HEADER, ids, lint, useParser } from './lint/helpers';

useParser();

const only = (code: string, rule: string) => ids(code, rule).filter((r) => r === rule);

describe('DT010: transform lists built by append, camelCase held-out names', () => {
  const build = (extra: string, valName = 'datasetVal', cond = false) => `
    import torchvision.transforms as T
    from mydata import ImageList
    def loaders(root):
        steps = []
        ${cond ? 'if root.endswith("aug"):\n            steps.append(T.RandomResizedCrop(224))' : 'steps.append(T.RandomResizedCrop(224))'}
        steps.append(T.ToTensor())
        ${extra}
        pipeline = T.Compose(steps)
        datasetTrain = ImageList(root, "train.txt", transform=pipeline)
        ${valName} = ImageList(root, "val.txt", transform=pipeline)
        return datasetTrain, ${valName}
  `;
  it('reports a validation dataset given a Compose of an appended random crop', () => {
    assert.deepEqual(only(build(''), 'DT010'), ['DT010']);
  });
  it('follows extend and += as well', () => {
    const code = `
      import torchvision.transforms as T
      from mydata import ImageList
      tfs = [T.Resize(256)]
      tfs += [T.ColorJitter(0.4)]
      tfs.extend([T.ToTensor()])
      tf = T.Compose(tfs)
      val_set = ImageList("data", "val.txt", transform=tf)
    `;
    assert.deepEqual(only(code, 'DT010'), ['DT010']);
  });
  it('reads camelCase held-out names: dsTest, cifarValSet', () => {
    assert.deepEqual(only(build('', 'dsTest'), 'DT010'), ['DT010']);
    assert.deepEqual(only(build('', 'cifarValSet'), 'DT010'), ['DT010']);
  });
  it('stays quiet when the augmentation is appended only on some paths', () => {
    assert.deepEqual(only(build('', 'datasetVal', true), 'DT010'), []);
  });
  it('stays quiet for trainVal / isTest names and a deterministic appended list', () => {
    assert.deepEqual(only(build('', 'trainVal'), 'DT010'), []);
    const clean = `
      import torchvision.transforms as T
      from mydata import ImageList
      steps = []
      steps.append(T.Resize(256))
      steps.append(T.CenterCrop(224))
      datasetVal = ImageList("data", "val.txt", transform=T.Compose(steps))
    `;
    assert.deepEqual(only(clean, 'DT010'), []);
  });
  it('does not count appends made after the pipeline is built', () => {
    const code = `
      import torchvision.transforms as T
      from mydata import ImageList
      steps = [T.ToTensor()]
      val_tf = T.Compose(steps)
      datasetVal = ImageList("data", "val.txt", transform=val_tf)
      steps.append(T.RandomHorizontalFlip())
    `;
    assert.deepEqual(only(code, 'DT010'), []);
  });
});

describe('DT008: held-out index samplers of the file', () => {
  const code = (base: string, loaderName = 'validloader') => `
    import torch
    import torchvision
    import torchvision.transforms as T
    from torch.utils.data import Sampler, SubsetRandomSampler
    class ${base === 'Sampler' ? 'IndexSampler' : 'IndexSampler'}(${base}):
        def __init__(self, indices):
            self.indices = indices
        def __iter__(self):
            return iter(self.indices)
        def __len__(self):
            return len(self.indices)
    aug = T.Compose([T.RandomCrop(32, padding=4), T.ToTensor()])
    full = torchvision.datasets.CIFAR10("data", train=True, transform=aug)
    idx = torch.randperm(len(full)).tolist()
    train_idx, valid_idx = idx[:45000], idx[45000:]
    trainloader = torch.utils.data.DataLoader(full, batch_size=64, sampler=SubsetRandomSampler(train_idx))
    valid_sampler = IndexSampler(valid_idx)
    ${loaderName} = torch.utils.data.DataLoader(full, batch_size=64, sampler=valid_sampler)
  `;
  it('reports a validation loader drawing indices through a Sampler subclass of the file', () => {
    assert.deepEqual(only(code('Sampler'), 'DT008'), ['DT008']);
  });
  it('reads an unseparated held-out loader name (valloader) when the sampler is unnamed', () => {
    const inline = code('Sampler', 'valloader').replace('sampler=valid_sampler', 'sampler=IndexSampler(valid_idx)');
    assert.deepEqual(only(inline, 'DT008'), ['DT008']);
  });
  it('stays quiet for a file class that is not a Sampler', () => {
    assert.deepEqual(only(code('object'), 'DT008'), []);
  });
});

describe('EV005: callbacks through lists, metrics from test predictions', () => {
  it('follows callbacks=list of names to ModelCheckpoint', () => {
    const code = `
      from keras.callbacks import ModelCheckpoint, ReduceLROnPlateau
      ckpt = ModelCheckpoint("w.h5", monitor="val_acc", save_best_only=True)
      plateau = ReduceLROnPlateau(monitor="val_acc")
      cb_list = [ckpt, plateau]
      model.fit(X_train, y_train, epochs=10, callbacks=cb_list, validation_data=(X_test, y_test))
    `;
    assert.deepEqual(only(code, 'EV005'), ['EV005']);
  });
  it('follows callbacks appended to a list', () => {
    const code = `
      from keras.callbacks import EarlyStopping
      cbs = []
      cbs.append(EarlyStopping(patience=3))
      model.fit(x_train, y_train, callbacks=cbs, validation_data=(x_test, y_test))
    `;
    assert.deepEqual(only(code, 'EV005'), ['EV005']);
  });
  it('stays quiet when the list holds no selecting callback', () => {
    const code = `
      from keras.callbacks import TensorBoard, CSVLogger
      cbs = [TensorBoard("logs")]
      cbs.append(CSVLogger("log.csv"))
      model.fit(x_train, y_train, callbacks=cbs, validation_data=(x_test, y_test))
    `;
    assert.deepEqual(only(code, 'EV005'), []);
  });
  const select = (metricArgs: string) => `
    import torch
    best = -1
    for epoch in range(20):
        trainer.train(train_set)
        dev_loss, dev_pred = trainer.test(dev_set)
        test_loss, test_pred = trainer.test(test_dataset)
        corr = metrics.pearson(${metricArgs})
        if best < corr:
            best = corr
            torch.save(model.state_dict(), "best.pt")
  `;
  it('reports selection on a metric computed from test predictions and test labels', () => {
    assert.deepEqual(only(select('test_pred, test_dataset.labels'), 'EV005'), ['EV005']);
  });
  it('follows predictions unpacked from a call on test data only', () => {
    const code = `
      import torch
      best_f1 = 0
      for epoch in range(20):
          train_epoch(model, train_loader)
          loss, preds = run_eval(model, test_loader)
          f1 = f1_score(labels_all, preds)
          if f1 > best_f1:
              best_f1 = f1
              torch.save(model.state_dict(), "best.pt")
    `;
    assert.deepEqual(only(code, 'EV005'), ['EV005']);
  });
  it('reads a field of the metric result: pearsonr(...)[0], spearmanr(...).correlation', () => {
    assert.deepEqual(only(select('test_pred, test_dataset.labels)[0]  # ('), 'EV005'), ['EV005']);
    assert.deepEqual(only(select('test_pred, test_dataset.labels).correlation  # ('), 'EV005'), ['EV005']);
    assert.deepEqual(only(select('dev_pred, dev_set.labels)[0]  # ('), 'EV005'), []);
  });
  it('stays quiet for a metric of dev predictions, or one mixing validation data', () => {
    assert.deepEqual(only(select('dev_pred, dev_set.labels'), 'EV005'), []);
    assert.deepEqual(only(select('test_pred, val_labels'), 'EV005'), []);
    assert.deepEqual(only(select('len(test_pred)'), 'EV005'), []);
  });
});

describe('DT003: a transformer fitted before cross-validation', () => {
  const code = (cv: string, fitOn = 'X_train') => `
    from sklearn.decomposition import PCA
    from sklearn.model_selection import GridSearchCV, KFold, cross_val_score, train_test_split
    from sklearn.svm import SVC
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
    pca = PCA(30)
    Z = pca.fit_transform(${fitOn})
    ${cv}
  `;
  it('reports GridSearchCV.fit on the transformed training data', () => {
    const f = lint(code('search = GridSearchCV(SVC(), {"C": [1, 10]})\nsearch.fit(Z, y_train)'), { select: ['DT003'] });
    assert.deepEqual(f.map((x) => x.rule), ['DT003']);
    assert.match(f[0]!.message, /cross-validation in GridSearchCV\.fit/);
  });
  it('reports cross_val_score and a KFold split loop', () => {
    assert.deepEqual(only(code('print(cross_val_score(SVC(), Z, y_train, cv=5))'), 'DT003'), ['DT003']);
    assert.deepEqual(only(code('kf = KFold(5)\nfor tr, va in kf.split(Z):\n    SVC().fit(Z[tr], y_train[tr])'), 'DT003'), ['DT003']);
  });
  it('stays quiet for a Pipeline searched on raw data, and for CV of other data the scaler only transformed', () => {
    const pipe = `
      from sklearn.decomposition import PCA
      from sklearn.pipeline import make_pipeline
      from sklearn.model_selection import GridSearchCV
      from sklearn.svm import SVC
      search = GridSearchCV(make_pipeline(PCA(30), SVC()), {"svc__C": [1, 10]})
      search.fit(X_train, y_train)
    `;
    assert.deepEqual(only(pipe, 'DT003'), []);
    const other = code('W = pca.transform(X_new)\nprint(cross_val_score(SVC(), W, y_new))');
    assert.deepEqual(only(other, 'DT003'), []);
  });
  it('keeps the train/test split report and its message', () => {
    const f = lint(`
      from sklearn.preprocessing import StandardScaler
      from sklearn.model_selection import train_test_split, cross_val_score
      X = StandardScaler().fit_transform(X)
      X_train, X_test, y_train, y_test = train_test_split(X, y)
      cross_val_score(model, X_train, y_train)
    `, { select: ['DT003'] });
    assert.equal(f.length, 1);
    assert.match(f[0]!.message, /before the train\/test split .*test data leaks into training/);
  });
});

describe('EV004: fitted on the array the split was taken from', () => {
  const code = (fit: string, after = '') => `
    from sklearn.model_selection import train_test_split
    x, y = load_xy(df)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25)
    ${fit}
    ${after}
  `;
  it('reports fit(x, y) validated on the split-off part', () => {
    assert.deepEqual(only(code('model.fit(x, y, validation_data=(x_test, y_test), epochs=100)'), 'EV004'), ['EV004']);
  });
  it('reports fit(X, y) scored later on the split-off part', () => {
    assert.deepEqual(only(code('clf.fit(x, y)', 'print(clf.score(x_test, y_test))'), 'EV004'), ['EV004']);
  });
  it('stays quiet when the training part is fitted, x is re-bound, or the model is refitted first', () => {
    assert.deepEqual(only(code('model.fit(x_train, y_train, validation_data=(x_test, y_test))'), 'EV004'), []);
    assert.deepEqual(only(code('x = extra_features(x)\nclf.fit(x, y)', 'print(clf.score(x_test, y_test))'), 'EV004'), []);
    assert.deepEqual(only(code('clf.fit(x, y)', 'clf.fit(x_train, y_train)\nprint(clf.score(x_test, y_test))'), 'EV004'), []);
    assert.deepEqual(only(code('clf.fit(x, y)', 'print(clf.predict(x_new))'), 'EV004'), []);
  });
});

describe('EV002: optimizer over sub-modules of the model', () => {
  const code = (params: string) => `${HEADER}
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(8, 8), nn.BatchNorm1d(8))
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(8, 2))
    def forward(self, x):
        return self.head(self.encoder(x))
model = Net()
${params}
for epoch in range(10):
    for x, y in train_loader:
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        for x, y in val_loader:
            model(x)
`;
  it('counts the model as trained when the optimizer gets its sub-modules parameters', () => {
    assert.deepEqual(only(code("optimizer = torch.optim.Adam([{'params': model.encoder.parameters()}, {'params': model.head.parameters()}])"), 'EV002'), ['EV002']);
  });
  it('follows a name holding the parameters', () => {
    assert.deepEqual(only(code('params = list(model.encoder.parameters()) + list(model.head.parameters())\noptimizer = torch.optim.SGD(params, lr=0.1)'), 'EV002'), ['EV002']);
  });
  it('stays quiet when the optimizer trains another model', () => {
    assert.deepEqual(only(code('other = Net()\noptimizer = torch.optim.SGD(other.encoder.parameters(), lr=0.1)'), 'EV002'), []);
  });
});

describe('DT006: snippet Keras datasets and models without imports', () => {
  const code = (scale: string) => `
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    ${scale}
    model = Sequential()
    model.add(Dense(10, activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer="adam")
    model.fit(x_train, y_train, epochs=5)
  `;
  it('reports unscaled pixels of an unimported fashion_mnist fed to an unimported Sequential', () => {
    assert.deepEqual(only(code(''), 'DT006'), ['DT006']);
  });
  it('stays quiet when scaled, or when the dataset name is the file own variable', () => {
    assert.deepEqual(only(code('x_train = x_train / 255.0'), 'DT006'), []);
    assert.deepEqual(only(`fashion_mnist = MyLoader()\n${code('').replace(/^\n/, '')}`, 'DT006'), []);
    assert.deepEqual(only(`from mylib import Sequential\n${code('').replace(/^\n/, '')}`, 'DT006'), []);
  });
});

describe('DT001: Lightning train_dataloader with shuffle=False', () => {
  const code = (shuffle: string, ds = 'self.train_data', hook = 'train_dataloader') => `
    import pytorch_lightning as pl
    from torch.utils.data import DataLoader
    class Images(pl.LightningDataModule):
        def ${hook}(self):
            return DataLoader(${ds}, batch_size=32, shuffle=${shuffle}, num_workers=4)
        def val_dataloader(self):
            return DataLoader(self.val_data, batch_size=32, shuffle=False)
  `;
  it('reports and fixes shuffle=False in the training hook', () => {
    assert.deepEqual(only(code('False'), 'DT001'), ['DT001']);
    assert.match(fix(code('False'), 'DT001'), /train_data, batch_size=32, shuffle=True/);
  });
  it('also when the loader is bound to a name and returned', () => {
    const named = code('False').replace('return DataLoader(self.train_data, batch_size=32, shuffle=False, num_workers=4)', 'loader = DataLoader(self.train_data, batch_size=32, shuffle=False)\n            return loader');
    assert.deepEqual(only(named, 'DT001'), ['DT001']);
  });
  it('stays quiet for ordered data, shuffle=True, and other hooks', () => {
    assert.deepEqual(only(code('False', 'self.train_series'), 'DT001'), []);
    assert.deepEqual(only(code('True'), 'DT001'), []);
    assert.deepEqual(only(code('False', 'self.train_data', 'predict_dataloader'), 'DT001'), []);
  });
});
