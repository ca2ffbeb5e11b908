// Evaluation rules on shapes seen in real buggy code: casts around a count or a metric, tuple-unpacked metrics,
// forwards in per-batch helper methods, and forum snippets that use torch without importing it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, lint, useParser } from './lint/helpers';

useParser();

const accuracy = (ret: string, add = 'hits += (scores.argmax(1) == labels).sum()') => `${HEADER}
def measure(net, batches):
    net.eval()
    hits = 0
    n_correct = 0
    with torch.no_grad():
        for images, labels in batches:
            scores = net(images)
            ${add}
    return ${ret}
`;

test('EV010: casts around the count or len(loader) do not hide the division by batches', () => {
  for (const ret of [
    'float(hits) / float(len(batches))',
    'float(hits) / float(len(batches)) * 100',
    'hits.double() / len(batches)',
    'hits.float() / len(batches) * 100',
    'hits.item() / int(len(batches))',
    '100. * hits.cpu().float() / len(batches)',
  ]) {
    assert.deepEqual(ids(accuracy(ret.replace(/hits/g, 'n_correct'), 'n_correct += (scores.argmax(1) == labels).sum()'), 'EV010'), ['EV010'], ret);
    // Not named like a count: known as one by how it grows.
    assert.deepEqual(ids(accuracy(ret), 'EV010'), ['EV010'], ret);
  }
  // Look-alikes: divided by the number of samples; a sum of per-batch rates divided by the number of batches.
  assert.deepEqual(ids(accuracy('float(hits) / float(len(batches.dataset))'), 'EV010'), []);
  // (a mean of per-batch means: only EV010's mild, info-level note that the last batch is over-weighted)
  const severities = (code: string) => lint(code, { select: ['EV010'] }).map((f) => f.severity);
  assert.deepEqual(severities(accuracy('float(n_correct) / float(len(batches))', 'n_correct += (scores.argmax(1) == labels).float().mean()')), ['info']);
  assert.deepEqual(severities(accuracy('n_correct.double() / len(batches)', 'n_correct += (scores.argmax(1) == labels).double().mean().item()')), ['info']);
  // A loss averaged over batches.
  assert.deepEqual(ids(accuracy('float(total_loss) / float(len(batches))', 'total_loss = 0'), 'EV010'), []);
  // A cast of something else than the count (`str`) is not peeled.
  assert.deepEqual(ids(accuracy('len(str(n_correct)) / len(batches)', 'n_correct += (scores.argmax(1) == labels).sum()'), 'EV010'), []);
});

const selection = (unpack: string, cond: string, loader = 'test_loader') => `${HEADER}
def run_eval(net, loader):
    net.eval()
    hits = 0
    with torch.no_grad():
        for x, y in loader:
            hits += (net(x).argmax(1) == y).sum().item()
    return 0.0, hits / len(loader.dataset)

best_score = 0.0
for epoch in range(20):
    fit_one_epoch(net, train_loader)
    ${unpack} = run_eval(net, ${loader})
    if ${cond} > best_score:
        best_score = ${cond}
        torch.save(net.state_dict(), "best.pt")
`;

test('EV005: a metric unpacked from a call on the test loader, and casts around it', () => {
  assert.deepEqual(ids(selection('dev_loss, dev_acc', 'dev_acc'), 'EV005'), ['EV005']);
  assert.deepEqual(ids(selection('dev_loss, dev_acc', 'float(dev_acc)'), 'EV005'), ['EV005']);
  assert.deepEqual(ids(selection('dev_loss, dev_acc', 'dev_acc.item()'), 'EV005'), ['EV005']);
  // Look-alikes: the same on the validation loader; a call handed both splits (which element is which is unknown).
  assert.deepEqual(ids(selection('dev_loss, dev_acc', 'dev_acc', 'val_loader'), 'EV005'), []);
  assert.deepEqual(ids(selection('dev_loss, dev_acc', 'float(dev_acc)', 'val_loader'), 'EV005'), []);
  assert.deepEqual(ids(selection('dev_loss, dev_acc', 'dev_acc', 'val_loader, test_loader'), 'EV005'), []);
});

test('EV005: float(loss) compared with the best loss, loss from the test loader', () => {
  const code = (loader: string) => `${HEADER}
best_loss = 1e9
patience_counter = 0
for epoch in range(100):
    train_one_epoch(model, train_loader, optimizer)
    loss = evaluate(model, ${loader})
    if float(loss) < best_loss:
        best_loss = loss
        patience_counter = 0
    else:
        patience_counter += 1
`;
  assert.deepEqual(ids(code('test_loader'), 'EV005'), ['EV005']);
  assert.deepEqual(ids(code('val_loader'), 'EV005'), []);
});

const helperLoop = (step: string, call = 'loss = self.score_batch(xb, yb)') => `${HEADER}
class Runner:
    def __init__(self, model, loss_fn):
        self.model = model
        self.loss_fn = loss_fn

${step}

    def fit(self, train_loader, val_loader, opt):
        for epoch in range(5):
            self.model.train()
            for xb, yb in train_loader:
                opt.zero_grad()
                self.loss_fn(self.model(xb), yb).backward()
                opt.step()
            for xb, yb in val_loader:
                ${call}
`;

test('EV003/EV001: a held-out loop whose per-batch method runs the model', () => {
  const plain = '    def score_batch(self, xb, yb):\n        preds = self.model(xb)\n        return self.loss_fn(preds, yb)';
  const withEval = '    def score_batch(self, xb, yb):\n        self.model.eval()\n        preds = self.model(xb)\n        return self.loss_fn(preds, yb)';
  assert.deepEqual(ids(helperLoop(plain)).filter((r) => /^EV00[13]$/.test(r)).sort(), ['EV001', 'EV003']);
  assert.deepEqual(ids(helperLoop(withEval)).filter((r) => /^EV00[13]$/.test(r)), ['EV003']);
  // Two levels deep: score_batch -> self.predict -> self.model(x).
  const twoLevels = '    def predict(self, xb):\n        return self.model(xb)\n\n    def score_batch(self, xb, yb):\n        self.model.eval()\n        return self.loss_fn(self.predict(xb), yb)';
  assert.deepEqual(ids(helperLoop(twoLevels), 'EV003'), ['EV003']);
  // Look-alikes: no_grad in the helper (decorator or block), at the call site; a helper that trains.
  const decorated = '    @torch.no_grad()\n    def score_batch(self, xb, yb):\n        self.model.eval()\n        return self.loss_fn(self.model(xb), yb)';
  assert.deepEqual(ids(helperLoop(decorated), 'EV003'), []);
  const block = '    def score_batch(self, xb, yb):\n        self.model.eval()\n        with torch.no_grad():\n            return self.loss_fn(self.model(xb), yb)';
  assert.deepEqual(ids(helperLoop(block), 'EV003'), []);
  assert.deepEqual(ids(helperLoop(withEval, 'with torch.no_grad():\n                    loss = self.score_batch(xb, yb)'), 'EV003'), []);
  const trains = '    def score_batch(self, xb, yb):\n        loss = self.loss_fn(self.model(xb), yb)\n        loss.backward()\n        return loss';
  assert.deepEqual(ids(helperLoop(trains)).filter((r) => /^EV00[13]$/.test(r)), []);
  // A method of another class with the same call shape is not followed.
  const elsewhere = `${helperLoop('    def other(self):\n        pass')}
class Scorer:
    def score_batch(self, xb, yb):
        return self.model(xb)
`;
  assert.deepEqual(ids(elsewhere).filter((r) => /^EV00[13]$/.test(r)), []);
});

test('EV003: a held-out loop calling a module-level helper function that runs the model', () => {
  const code = (deco: string) => `${HEADER}
${deco}
def batch_loss(net, xb, yb, loss_fn):
    return loss_fn(net(xb), yb)

def validate(net, val_loader, loss_fn):
    net.eval()
    total = 0.0
    for xb, yb in val_loader:
        total += batch_loss(net, xb, yb, loss_fn).item()
    return total / len(val_loader)
`;
  assert.deepEqual(ids(code(''), 'EV003'), ['EV003']);
  assert.deepEqual(ids(code('@torch.no_grad()'), 'EV003'), []);
});

const snippet = (imports: string, model: string) => `${imports}
def check(model, data):
    correct = 0
    for images, labels in data:
        out = model(images.cuda())
        correct += (out.argmax(1) == labels).sum()
    return correct

net = ${model}
best = 0
for epoch in range(3):
    for images, labels in train_loader:
        optimizer.zero_grad()
        loss = criterion(net(images), labels)
        loss.backward()
        optimizer.step()
    acc = check(net, val_loader)
`;

test('EV001/EV003: a forum snippet that uses torch by convention without importing it', () => {
  const torchModel = 'nn.Sequential(nn.Linear(784, 64), nn.Dropout(0.3), nn.Linear(64, 10))';
  assert.deepEqual(ids(snippet('', torchModel)).filter((r) => /^EV00[13]$/.test(r)).sort(), ['EV001', 'EV003']);
  assert.deepEqual(ids(snippet('import time\nimport numpy as np', torchModel)).filter((r) => /^EV00[13]$/.test(r)).sort(), ['EV001', 'EV003']);
  // Keras / TensorFlow, imported or by convention, and code with no torch usage at all: silent.
  const kerasModel = 'keras.Sequential([keras.layers.Dense(10)])';
  assert.deepEqual(ids(snippet('', kerasModel)).filter((r) => /^EV00[13]$/.test(r)), []);
  assert.deepEqual(ids(snippet('import tensorflow as tf', torchModel)).filter((r) => /^EV00[13]$/.test(r)), []);
  const sklearn = `from sklearn.linear_model import LogisticRegression
def check(model, val_data):
    hits = 0
    for feats, labels in val_data:
        hits += (model(feats) == labels).sum()
    return hits
`;
  assert.deepEqual(ids(sklearn).filter((r) => /^EV00[13]$/.test(r)), []);
});

test('EV006: the batches\' logits collected in a list and concatenated before the 0.5 threshold', () => {
  const code = (append: string, threshold = 'torch.cat(scores, 0).detach() > 0.5', extra = '') => `${HEADER}
net = nn.Linear(16, 1)
criterion = nn.BCEWithLogitsLoss()
opt = torch.optim.SGD(net.parameters(), lr=0.1)
for epoch in range(4):
    scores, targets = [], []
    for xb, yb in loader:
        opt.zero_grad()
        raw = net(xb).squeeze(1)
        loss = criterion(raw, yb)
        loss.backward()
        opt.step()
        scores.append(${append})
        targets.append(yb)
    ${extra}
    hits = (${threshold}).float().eq(torch.cat(targets)).sum()
`;
  assert.deepEqual(ids(code('raw'), 'EV006'), ['EV006']);
  assert.deepEqual(ids(code('raw.detach().cpu()', 'torch.cat(scores).data.cpu() > 0.5'), 'EV006'), ['EV006']);
  // Look-alikes: probabilities appended; the list also filled another way; thresholded at 0.
  assert.deepEqual(ids(code('torch.sigmoid(raw)'), 'EV006'), []);
  assert.deepEqual(ids(code('raw', undefined, 'scores.extend(extra_scores)'), 'EV006'), []);
  assert.deepEqual(ids(code('raw', 'torch.cat(scores, 0) > 0'), 'EV006'), []);
});

test('EV014: a metric computed in a Lightning epoch-end hook and never reset', () => {
  const code = (built: string, hook: string, extra = '', feed = 'self.val_f1(scores.softmax(dim=1), y)') => `${HEADER}
import torchmetrics
import pytorch_lightning as pl

class Tagger(pl.LightningModule):
    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone
        self.val_f1 = ${built}

    def validation_step(self, batch, batch_idx):
        x, y = batch
        scores = self.backbone(x)
        ${feed}
        ${extra}
        return F.cross_entropy(scores, y)

    def ${hook}(self, *args):
        self.log("val_f1", self.val_f1.compute())
`;
  const tm = 'torchmetrics.F1Score(task="multiclass", num_classes=5)';
  assert.deepEqual(ids(code(tm, 'validation_epoch_end'), 'EV014'), ['EV014']);
  assert.deepEqual(ids(code(tm, 'on_validation_epoch_end'), 'EV014'), ['EV014']);
  assert.deepEqual(ids(code('pl.metrics.classification.F1(num_classes=5)', 'validation_epoch_end'), 'EV014'), ['EV014']);
  assert.deepEqual(ids(code(tm, 'validation_epoch_end', '', 'self.val_f1.update(scores, y)'), 'EV014'), ['EV014']);
  // Look-alikes: reset somewhere; the metric object logged (Lightning resets it); not an epoch hook; not a metric.
  assert.deepEqual(ids(code(tm, 'validation_epoch_end', 'self.val_f1.reset()'), 'EV014'), []);
  assert.deepEqual(ids(code(tm, 'validation_epoch_end', 'self.log("val_f1_step", self.val_f1)'), 'EV014'), []);
  assert.deepEqual(ids(code(tm, 'validation_epoch_end', 'self.log_dict({"f1": self.val_f1})'), 'EV014'), []);
  assert.deepEqual(ids(code(tm, 'report_scores'), 'EV014'), []);
  assert.deepEqual(ids(code('MyMeter()', 'validation_epoch_end'), 'EV014'), []);
  // A batch-level value logged (not the metric object) does not count as logging the metric.
  assert.deepEqual(ids(code(tm, 'validation_epoch_end', 'self.log("f1_step", self.val_f1(scores, y))', 'pass'), 'EV014'), ['EV014']);
});

test('EV009: argmax without dim in a Lightning step, on a model output or on logits compared with labels', () => {
  const code = (body: string, hook = 'validation_step', params = 'self, batch, batch_idx') => `${HEADER}
import pytorch_lightning as pl

class Matcher(pl.LightningModule):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def ${hook}(${params}):
        a, b = batch
        za = F.normalize(self.model.encode_a(a), dim=1)
        zb = F.normalize(self.model.encode_b(b), dim=1)
        sim_logits = za @ zb.t()
        target = torch.arange(len(sim_logits))
${body}
`;
  const compared = '        acc = (torch.argmax(sim_logits) == target).float().mean()\n        self.log("acc", acc)';
  assert.deepEqual(ids(code(compared), 'EV009'), ['EV009']);
  assert.deepEqual(ids(code('        acc = (sim_logits.argmax() == target).float().mean()'), 'EV009'), ['EV009']);
  assert.deepEqual(ids(code('        out = self.model(a)\n        hits = (out.argmax() == b).sum()'), 'EV009'), ['EV009']);
  // Look-alikes: with dim; not a step hook; logits not compared; compared with a literal; a sample, not a batch.
  assert.deepEqual(ids(code('        acc = (torch.argmax(sim_logits, dim=1) == target).float().mean()'), 'EV009'), []);
  assert.deepEqual(ids(code(compared, 'similarity_report'), 'EV009'), []);
  assert.deepEqual(ids(code(compared, 'validation_step', 'self, sample'), 'EV009'), []);
  assert.deepEqual(ids(code('        best = torch.argmax(sim_logits)\n        self.log("best", best)'), 'EV009'), []);
  assert.deepEqual(ids(code('        top = torch.argmax(sim_logits) == 0'), 'EV009'), []);
  assert.deepEqual(ids(code('        out = self.model(a.unsqueeze(0))\n        hit = out.argmax() == b'), 'EV009'), []);
});
