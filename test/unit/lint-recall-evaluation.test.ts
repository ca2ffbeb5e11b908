// Evaluation rules on NLP, homework and Kaggle code: Transformer / stacked-RNN dropout as mode-dependent layers,
// more held-out data names, held-out forwards outside the usual evaluation loop, TensorDataset validation loaders,
// structured model outputs (`["out"]`, `.logits`) and hit counters judged by how they grow. Each positive has a
// look-alike that stays silent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, useParser } from './lint/helpers';

useParser();

const TEXT_MODEL = (layers: string) => `${HEADER}
class TextModel(nn.Module):
    def __init__(self, vocab, d=64):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
${layers}
        self.fc = nn.Linear(d, 3)

    def forward(self, x):
        return self.fc(self.body(self.emb(x))[:, 0])

model = TextModel(100)
opt = torch.optim.Adam(model.parameters(), lr=1e-4)
for epoch in range(5):
    model.train()
    for x, y in train_loader:
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    with torch.no_grad():
        for x, y in val_loader:
            correct += (model(x).argmax(1) == y).sum().item()
`;

test('EV001: a TransformerEncoderLayer (dropout 0.1 by default) makes the model mode-dependent', () => {
  const enc = '        layer = nn.TransformerEncoderLayer(d, 4, batch_first=True)\n        self.body = nn.TransformerEncoder(layer, 2)';
  assert.deepEqual(ids(TEXT_MODEL(enc), 'EV001'), ['EV001']);
  const inline = '        self.body = nn.TransformerEncoder(nn.TransformerEncoderLayer(d, 4, batch_first=True), 2)';
  assert.deepEqual(ids(TEXT_MODEL(inline), 'EV001'), ['EV001']);
  // Look-alikes: dropout switched off, or an RNN without dropout: eval() changes nothing.
  assert.deepEqual(ids(TEXT_MODEL(enc.replace('batch_first=True', 'dropout=0.0, batch_first=True')), 'EV001'), []);
  assert.deepEqual(ids(TEXT_MODEL('        self.body = nn.GRU(d, d, num_layers=2, batch_first=True)'), 'EV001'), []);
  assert.deepEqual(ids(TEXT_MODEL('        self.body = nn.MultiheadAttention(d, 4)'), 'EV001'), []);
});

test('EV002: a two-layer LSTM with dropout=0.5 is left in eval mode', () => {
  const code = (lstm: string) => `${HEADER}
class TextRNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(100, 32)
        self.lstm = ${lstm}
        self.fc = nn.Linear(64, 5)

    def forward(self, x):
        out, _ = self.lstm(self.embedding(x))
        return self.fc(out[:, -1, :])

model = TextRNN()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
model.train()
for epoch in range(20):
    for batch_x, batch_y in train_iter:
        loss = F.cross_entropy(model(batch_x), batch_y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        acc = (model(batch_x).argmax(1) == batch_y).float().mean()
`;
  assert.deepEqual(ids(code('nn.LSTM(32, 64, batch_first=True, num_layers=2, dropout=0.5)'), 'EV002'), ['EV002']);
  // Look-alikes: a single layer (dropout has no effect) or dropout=0.
  assert.deepEqual(ids(code('nn.LSTM(32, 64, batch_first=True, dropout=0.5)'), 'EV002'), []);
  assert.deepEqual(ids(code('nn.LSTM(32, 64, batch_first=True, num_layers=2, dropout=0)'), 'EV002'), []);
});

const SEQ2SEQ = (data: string) => `${HEADER}
class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(100, 32)
        self.rnn = nn.GRU(32, 64, batch_first=True)
        self.drop = nn.Dropout(0.2)

    def forward(self, src):
        return self.rnn(self.drop(self.emb(src)))

encoder = Encoder()
enc_opt = torch.optim.Adam(encoder.parameters())
for epoch in range(3):
    for src, trg in pairs:
        enc_opt.zero_grad()
        out, h = encoder(src)
        out.sum().backward()
        enc_opt.step()
    with torch.no_grad():
        for src, trg in ${data}:
            _, h = encoder(src)
`;

test('EV001: loops over val_pairs / test_examples are evaluation loops', () => {
  assert.deepEqual(ids(SEQ2SEQ('val_pairs'), 'EV001'), ['EV001']);
  assert.deepEqual(ids(SEQ2SEQ('batches(test_examples)'), 'EV001'), ['EV001']);
  assert.deepEqual(ids(SEQ2SEQ('pairs_subset'), 'EV001'), []);
});

const FULL_BATCH = (after: string) => `${HEADER}
X_train, y_train = torch.randn(200, 10), torch.randint(0, 3, (200,))
X_test, y_test = torch.randn(50, 10), torch.randint(0, 3, (50,))
model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Dropout(0.5), nn.Linear(64, 3))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(100):
    opt.zero_grad()
    loss = F.cross_entropy(model(X_train), y_train)
    loss.backward()
    opt.step()
${after}
`;

test('EV001/EV003: `preds = model(X_test)` after training, with neither no_grad nor eval()', () => {
  const code = FULL_BATCH('preds = model(X_test).argmax(dim=1)');
  assert.deepEqual(ids(code, 'EV001'), ['EV001']);
  assert.deepEqual(ids(code, 'EV003'), ['EV003']);
  // Look-alikes: eval() first (EV003 only), no_grad (EV001 only), a training input, a shape check, an attack.
  assert.deepEqual(ids(FULL_BATCH('model.eval()\npreds = model(X_test).argmax(dim=1)'), 'EV001'), []);
  assert.deepEqual(ids(FULL_BATCH('model.eval()\npreds = model(X_test).argmax(dim=1)'), 'EV003'), ['EV003']);
  assert.deepEqual(ids(FULL_BATCH('with torch.no_grad():\n    preds = model(X_test).argmax(dim=1)'), 'EV003'), []);
  assert.deepEqual(ids(FULL_BATCH('preds = model(X_train).argmax(dim=1)'), 'EV001'), []);
  assert.deepEqual(ids(FULL_BATCH('print(model(X_test).shape)'), 'EV003'), []);
  const attack = 'X_test.requires_grad_(True)\nout = model(X_test)\nF.cross_entropy(out, y_test).backward()';
  assert.deepEqual(ids(FULL_BATCH(attack), 'EV003'), []);
  // an eval() made by a helper of the file may have run before
  const helper = 'def evaluate(m):\n    m.eval()\n\nevaluate(model)\npreds = model(X_test).argmax(dim=1)';
  assert.deepEqual(ids(FULL_BATCH(helper), 'EV001'), []);
});

const TABULAR = (val: string) => `${HEADER}
model = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(100):
    optimizer.zero_grad()
    F.mse_loss(model(X_train), y_train).backward()
    optimizer.step()
${val}
`;

test('EV001: periodic `with torch.no_grad(): model(X_val)` inside the training loop, never in eval mode', () => {
  const val = '    if epoch % 10 == 0:\n        with torch.no_grad():\n            val_out = model(X_val)';
  assert.deepEqual(ids(TABULAR(val), 'EV001'), ['EV001']);
  // Look-alikes: the loop switches to eval (and back), or the forward is on training data.
  const switched = '    if epoch % 10 == 0:\n        model.eval()\n        with torch.no_grad():\n            val_out = model(X_val)\n        model.train()';
  assert.deepEqual(ids(TABULAR(switched), 'EV001'), []);
  assert.deepEqual(ids(TABULAR(val.replace('X_val', 'X_train')), 'EV001'), []);
});

test('EV001: held-out inputs wrapped in torch.FloatTensor / suffixed, and a validate(model, X, y) parameter', () => {
  assert.deepEqual(ids(TABULAR('with torch.no_grad():\n    preds = model(torch.FloatTensor(X_test_final))'), 'EV001'), ['EV001']);
  assert.deepEqual(ids(TABULAR('with torch.no_grad():\n    preds = model(torch.FloatTensor(X_train_final))'), 'EV001'), []);
  const fn = (arg: string) =>
    TABULAR(`    print(validate(model, ${arg}, y_val))`).replace('for epoch', 'def validate(model, X, y):\n    with torch.no_grad():\n        return F.mse_loss(model(X), y).item()\n\nfor epoch');
  assert.deepEqual(ids(fn('X_val'), 'EV001'), ['EV001']);
  assert.deepEqual(ids(fn('features'), 'EV001'), []);
});

test('EV004: a validation loader built from TensorDataset(X_tr, y_tr)', () => {
  const code = (ds: string) => `${HEADER}
from torch.utils.data import TensorDataset
X_tr, X_te, y_tr, y_te = train_test_split(ids, labels, test_size=0.2)
train_loader = DataLoader(TensorDataset(X_tr, y_tr), batch_size=50, shuffle=True)
val_loader = DataLoader(${ds}, batch_size=100)
`;
  assert.deepEqual(ids(code('TensorDataset(X_tr, y_tr)'), 'EV004'), ['EV004']);
  assert.deepEqual(ids(code('TensorDataset(X_train, y_train)'), 'EV004'), ['EV004']);
  assert.deepEqual(ids(code('TensorDataset(X_te, y_te)'), 'EV004'), []);
  assert.deepEqual(ids(code('TensorDataset(X_tr, y_te)'), 'EV004'), []);
});

test('EV011/EV009: structured outputs model(x)["out"] and outputs.logits; integer subscripts stay unpeeled', () => {
  const seg = (out: string, reduce: string) => `${HEADER}
model.eval()
with torch.no_grad():
    for img, mask in val_loader:
        out = ${out}
        pred = ${reduce}
`;
  assert.deepEqual(ids(seg('model(img)["out"]', 'torch.argmax(out, dim=0)'), 'EV011'), ['EV011']);
  assert.deepEqual(ids(seg('model(**batch)', 'out.logits.argmax(0)'), 'EV011'), ['EV011']);
  assert.deepEqual(ids(seg('model(img)["out"]', 'out.argmax()'), 'EV009'), ['EV009']);
  // Look-alikes: an integer subscript (one sample of the batch), the right dim.
  assert.deepEqual(ids(seg('model(img)[0]', 'torch.argmax(out, dim=0)'), 'EV011'), []);
  assert.deepEqual(ids(seg('model(img)["out"]', 'torch.argmax(out, dim=1)'), 'EV011'), []);
});

test('EV010: top-k counters judged by how they grow, not by name', () => {
  const code = (add1: string) => `${HEADER}
top1 = top5 = 0
with torch.no_grad():
    for inputs, targets in testloader:
        _, pred = net(inputs).topk(5, 1, True, True)
        hit = pred.eq(targets.view(-1, 1))
        top1 += ${add1}
        top5 += hit.sum().item()
print(100. * top1 / len(testloader), 100. * top5 / len(testloader))
`;
  assert.deepEqual(ids(code('hit[:, :1].sum().item()'), 'EV010'), ['EV010', 'EV010']);
  // Look-alike: a per-batch percentage (the AverageMeter style): averaging it over batches is right.
  assert.deepEqual(ids(code('100.0 * hit[:, :1].sum().item() / targets.size(0)'), 'EV010'), ['EV010']);
  const meters = code('acc1.item()').replace('top5 += hit.sum().item()', 'top5 += acc5.item()');
  assert.deepEqual(ids(meters, 'EV010'), []);
  // A loader of batch size 1 stays silent.
  assert.deepEqual(ids(`testloader = DataLoader(test_ds)\n${code('hit[:, :1].sum().item()').replace(HEADER, '')}`.replace(/^/, HEADER), 'EV010'), []);
});
