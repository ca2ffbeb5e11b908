// EV005 families from the session-13 development set (wild5): a test metric derived from a test-named one, a call of
// the file's test function, a best flag kept in a name (`is_best = acc > best`), and Keras validation data that is also
// the data the final metrics are computed on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HEADER, ids, useParser } from './lint/helpers';

useParser();

const ev005 = (code: string) => ids(code, 'EV005');

describe('EV005: a test metric derived from a test-named one', () => {
  const loop = (metric: string, best = 'best_loss') => `${HEADER}import copy
def train_model(model, opt, train_loader, test_loader, sizes):
    ${best} = 10.0
    for epoch in range(50):
        for x, y in train_loader:
            loss = F.mse_loss(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        test_loss = 0.0
        for x, y in test_loader:
            test_loss += F.mse_loss(model(x), y).item()
        ${metric}
        if epoch_loss < ${best}:
            ${best} = epoch_loss
            best_wts = copy.deepcopy(model.state_dict())
    return best_wts
`;
  it('reports a per-epoch average of the test loss that picks the best weights', () => {
    assert.deepEqual(ev005(loop("epoch_loss = test_loss / sizes['test']")), ['EV005']);
    assert.deepEqual(ev005(loop('epoch_loss = float(test_loss) / len(test_loader)')), ['EV005']);
  });
  it('stays quiet when the average mixes in validation or training numbers, or is of another value', () => {
    assert.deepEqual(ev005(loop("epoch_loss = (test_loss + val_loss) / sizes['val']").replace('test_loss = 0.0', 'test_loss = 0.0\n        val_loss = 0.0')), []);
    assert.deepEqual(ev005(loop("epoch_loss = train_loss / sizes['train']").replace('test_loss = 0.0', 'train_loss = 0.0')), []);
    assert.deepEqual(ev005(loop('epoch_loss = running / 3').replace('test_loss = 0.0', 'running = 0.0')), []);
  });
  it('reads a test metric named with a prefix (epoch_test_loss, avg_test_acc)', () => {
    const code = loop('epoch_test_loss = compute()').replace(/epoch_loss/g, 'epoch_test_loss');
    assert.deepEqual(ev005(code), ['EV005']);
    assert.deepEqual(ev005(code.replace(/epoch_test_loss/g, 'avg_test_acc').replace('< best_loss', '> best_loss')), ['EV005']);
    assert.deepEqual(ev005(code.replace(/epoch_test_loss/g, 'epoch_val_loss')), []);
    assert.deepEqual(ev005(code.replace(/epoch_test_loss/g, 'train_test_loss')), []);
  });
});

describe('EV005: the metric a call of the file\'s test function returns', () => {
  const script = (call: string, extra = '') => `${HEADER}
def train(model, opt, loader):
    for x, y in loader:
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

def test(model, query, gallery):
    model.eval()
    feats = [model(x) for x, _ in query]
    return score(feats, gallery)
${extra}
def main(model, opt, trainloader, queryloader, galleryloader, valloader):
    best_rank1 = -1
    for epoch in range(60):
        train(model, opt, trainloader)
        rank1 = ${call}
        if rank1 > best_rank1:
            best_rank1 = rank1
            torch.save(model.state_dict(), 'best.pth')
`;
  it('reports selection on what test(...) returns', () => {
    assert.deepEqual(ev005(script('test(model, queryloader, galleryloader)')), ['EV005']);
  });
  it('stays quiet when the test function is handed validation data, trains, or is not defined in the file', () => {
    assert.deepEqual(ev005(script('test(model, valloader, galleryloader)')), []);
    assert.deepEqual(ev005(script('test(model, loader, galleryloader)').replace('for epoch', 'loader = valloader\n    for epoch')), []);
    assert.deepEqual(ev005(script('test(model, queryloader, galleryloader)').replace('model.eval()', 'opt.step()')), []);
    assert.deepEqual(ev005(script('validate(model, queryloader, galleryloader)')), []);
    assert.deepEqual(ev005(script('evaluate(model, queryloader, galleryloader)', 'from lib import evaluate\n')), []);
  });
  it('follows a best flag kept in a name: is_best = rank1 > best_rank1', () => {
    const flag = script('test(model, queryloader, galleryloader)')
      .replace("if rank1 > best_rank1:\n            best_rank1 = rank1\n            torch.save(model.state_dict(), 'best.pth')", 'is_best = rank1 > best_rank1\n        if is_best:\n            best_rank1 = rank1\n            best_epoch = epoch');
    assert.deepEqual(ev005(flag), ['EV005']);
    assert.deepEqual(ev005(flag.replace(/is_best/g, 'improved')), ['EV005']);
    // a flag not named as one (`if verbose:`) is not followed
    assert.deepEqual(ev005(flag.replace(/is_best/g, 'verbose')), []);
    const passed = script('test(model, queryloader, galleryloader)')
      .replace("if rank1 > best_rank1:\n            best_rank1 = rank1\n            torch.save(model.state_dict(), 'best.pth')", 'is_best = rank1 > best_rank1\n        best_rank1 = max(rank1, best_rank1)\n        save_checkpoint(model.state_dict(), is_best)');
    assert.deepEqual(ev005(passed), ['EV005']);
    // the same flag on a validation score, or a flag that only prints
    assert.deepEqual(ev005(flag.replace('test(model, queryloader', 'test(model, valloader')), []);
    assert.deepEqual(ev005(flag.replace('best_epoch = epoch', 'print(rank1)')), []);
  });
});

describe('EV005: Keras validation data that is also the final evaluation data', () => {
  const keras = (vx: string, after: string) => `import tensorflow as tf
from sklearn.model_selection import train_test_split
x_train, ${vx}, y_train, y_hold = train_test_split(x, y, test_size=0.2)
model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
model.compile(loss='mse', optimizer='adam')
stops = [tf.keras.callbacks.EarlyStopping(monitor='val_loss', patience=5)]
model.fit(x_train, y_train, epochs=100, callbacks=stops, validation_data=(${vx}, y_hold))
${after}
`;
  it('reports early stopping on the split that the reported metrics are then computed on', () => {
    assert.deepEqual(ev005(keras('x_eval', 'y_pred = model.predict(x_eval)\nprint(r2_score(y_hold, y_pred))')), ['EV005']);
    assert.deepEqual(ev005(keras('x_hold', 'print(model.evaluate(x_hold, y_hold))')), ['EV005']);
  });
  it('stays quiet on a validation-named split, on other data evaluated, and without selecting callbacks', () => {
    assert.deepEqual(ev005(keras('x_val', 'y_pred = model.predict(x_val)')), []);
    assert.deepEqual(ev005(keras('x_eval', 'y_pred = model.predict(x_other)')), []);
    assert.deepEqual(ev005(keras('x_eval', '')), []);
    assert.deepEqual(ev005(keras('x_eval', 'y_pred = model.predict(x_eval)').replace('EarlyStopping', 'TensorBoard')), []);
    // predicted before the fit: not the final evaluation
    const before = keras('x_eval', '').replace('model.fit(', 'model.predict(x_eval)\nmodel.fit(');
    assert.deepEqual(ev005(before), []);
  });
});

const ev004 = (code: string) => ids(code, 'EV004');

describe('EV004: validation rows taken from the array that is fitted', () => {
  const keras = (split: string, fitted = 'feats') => `import numpy as np
from tensorflow import keras
feats = np.load('f.npy')
labels = np.load('l.npy')
cut = int(len(feats) * 0.9)
${split}
model = keras.Sequential([keras.layers.Dense(1)])
model.compile(loss='mse', optimizer='adam')
model.fit(${fitted}, labels, epochs=5, validation_data=(feats_val, labels_val))
`;
  it('reports a fit on the whole array whose slice is the validation data', () => {
    assert.deepEqual(ev004(keras('feats_tr, feats_val = feats[:cut], feats[cut:]\nlabels_val = labels[cut:]')), ['EV004']);
    assert.deepEqual(ev004(keras('(feats_tr, feats_val) = (take_rows(feats, 0, cut), take_rows(feats, cut))\nlabels_val = labels[cut:]')), ['EV004']);
    assert.deepEqual(ev004(keras('feats_tr, feats_val = np.split(feats, [cut])\nlabels_val = labels[cut:]')), ['EV004']);
  });
  it('stays quiet when the fitted array is the training part, or the array was rebound after the split', () => {
    assert.deepEqual(ev004(keras('feats_tr, feats_val = feats[:cut], feats[cut:]\nlabels_val = labels[cut:]', 'feats_tr')), []);
    assert.deepEqual(ev004(keras('feats_tr, feats_val = feats[:cut], feats[cut:]\nlabels_val = labels[cut:]\nfeats = feats_tr')), []);
    assert.deepEqual(ev004(keras('feats_val = np.load("v.npy")\nlabels_val = np.load("lv.npy")')), []);
    // the fitted name is rebound by the split itself: it is the training part
    assert.deepEqual(ev004(keras('feats, feats_val = feats[:cut], feats[cut:]\nlabels_val = labels[cut:]')), []);
    assert.deepEqual(ev004(keras('feats_val = normalise(feats_extra)\nlabels_val = labels[cut:]')), []);
  });
});

describe('EV004: a validation loader built on the training loader\'s dataset, the validation dataset left unused', () => {
  const script = (valLoader: string, extra = '') => `${HEADER}
def main(cfg, model):
    data = Frames(cfg, mode='train')
    sampler = torch.utils.data.RandomSampler(list(range(len(data))))
    train_loader = DataLoader(data, batch_size=8, sampler=sampler)
    held = Frames(cfg, mode='val')
    ${valLoader}
    ${extra}
    for batch in train_loader:
        model(batch)
    for batch in val_loader:
        model(batch)
`;
  it('reports it', () => {
    assert.deepEqual(ev004(script('val_loader = DataLoader(data, batch_size=8)').replace(/held/g, 'val_dataset')), ['EV004']);
    assert.deepEqual(ev004(script('val_loader = DataLoader(data, batch_size=8)').replace(/held/g, 'valid_set')), ['EV004']);
  });
  it('stays quiet when the validation dataset is used, the loader has a sampler, or no validation dataset is built', () => {
    assert.deepEqual(ev004(script('val_loader = DataLoader(val_dataset, batch_size=8)').replace(/held/g, 'val_dataset')), []);
    assert.deepEqual(ev004(script('val_loader = DataLoader(data, batch_size=8)', 'print(len(val_dataset))').replace(/held/g, 'val_dataset')), []);
    assert.deepEqual(ev004(script('val_loader = DataLoader(data, batch_size=8, sampler=val_sampler)').replace(/held/g, 'val_dataset')), []);
    assert.deepEqual(ev004(script('val_loader = DataLoader(data, batch_size=8)')), []);
  });
});

describe('EV004: validation data regenerated by the same seeded call as the training data', () => {
  const script = (seedLine: string, valCall = 'make_data()') => `import numpy as np
from tensorflow import keras
def make_data(n=400, seed=7):
    ${seedLine}
    x = np.random.uniform(-1, 1, n)
    return x, np.sin(x) + np.random.normal(0, 0.1, n)
x, y = make_data()
x_check, y_check = ${valCall}
model = keras.Sequential([keras.layers.Dense(1)])
model.compile(loss='mse', optimizer='adam')
model.fit(x, y, epochs=5, validation_data=(x_check, y_check))
`;
  it('reports identical seeded draws', () => {
    assert.deepEqual(ev004(script('np.random.seed(seed)')), ['EV004']);
    assert.deepEqual(ev004(script('np.random.seed(1234)')), ['EV004']);
  });
  it('stays quiet on unseeded draws, on another seed, or on different arguments', () => {
    assert.deepEqual(ev004(script('pass')), []);
    assert.deepEqual(ev004(script('np.random.seed(seed)', 'make_data(seed=8)')), []);
    assert.deepEqual(ev004(script('np.random.seed()')), []);
    assert.deepEqual(ev004(script('np.random.seed(seed)', 'make_data(100)')), []);
  });
});

describe('EV017: predictions known by where they come from (model.predict), not by their name', () => {
  const script = (call: string, after = '') => `import numpy as np
from sklearn.metrics import recall_score
def report(model, test_x, test_label):
    out = model.predict(test_x)
    out = np.argmax(out, axis=-1)
    out = out.reshape(-1)
    ${after}
    return ${call}
`;
  it('reports a model.predict result passed first, labels second', () => {
    assert.deepEqual(ids(script("recall_score(out, test_label, average='macro')"), 'EV017'), ['EV017']);
  });
  it('stays quiet in the right order, on a name rebound to something else, or on two predictions', () => {
    assert.deepEqual(ids(script("recall_score(test_label, out, average='macro')"), 'EV017'), []);
    assert.deepEqual(ids(script("recall_score(out, test_label, average='macro')", 'out = np.load("gold.npy")'), 'EV017'), []);
    assert.deepEqual(ids(script("recall_score(out, other, average='macro')", 'other = model.predict(test_x)'), 'EV017'), []);
  });
});

describe('EV004: a split that rebinds the fitted name', () => {
  it('stays quiet on X, X_val, y, y_val = train_test_split(X, y) then fit(X, ...)', () => {
    const code = `from sklearn.model_selection import train_test_split
X, y = load_arrays()
X, X_val, y, y_val = train_test_split(X, y, test_size=0.2)
model.fit(X, y, validation_data=(X_val, y_val))
`;
    assert.deepEqual(ev004(code), []);
    assert.deepEqual(ev004(code.replace('X, X_val, y, y_val', 'X_tr, X_val, y_tr, y_val')), ['EV004']);
  });
});
