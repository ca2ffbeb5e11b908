// Evaluation rules, round 8: EV004 on an evaluation loop over the training loader, EV001 through `model.to(device)`,
// held-out names (X_va, X_te), parameters, imported and redefined classes, loop-free evaluation functions (PyG),
// retrieval helpers; EV013 dedented totals; EV010 `/=` and means of batch rates; EV011 before EV006.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, lint, useParser } from './lint/helpers';

useParser();

const CIFAR = (evalLoop: string, extra = '') => `${HEADER}
trainloader = DataLoader(trainset, batch_size=128, shuffle=True)
testloader = DataLoader(testset, batch_size=256)
net = nn.Sequential(nn.Linear(10, 64), nn.Dropout(0.2), nn.Linear(64, 10))
optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
for epoch in range(10):
    net.train()
    for data in trainloader:
        optimizer.zero_grad()
        F.cross_entropy(net(data[0]), data[1]).backward()
        optimizer.step()
    net.eval()
    correct = 0
    total = 0
    with torch.no_grad():
        for data in ${evalLoop}:
            outputs = net(data[0])
            correct += (outputs.argmax(1) == data[1]).sum().item()
            total += data[1].size(0)
    print('acc', 100 * correct / total)
${extra}`;

test('EV004: the evaluation loop iterates trainloader while testloader is never iterated', () => {
  assert.deepEqual(ids(CIFAR('trainloader'), 'EV004'), ['EV004']);
});

test('EV004: silent when the held-out loader is iterated (train accuracy next to a real test)', () => {
  assert.deepEqual(ids(CIFAR('testloader'), 'EV004'), []);
  const both = CIFAR('trainloader', 'with torch.no_grad():\n    for data in testloader:\n        print(net(data[0]).shape)\n');
  assert.deepEqual(ids(both, 'EV004'), []);
  // Passed to a function: it may be iterated there.
  assert.deepEqual(ids(CIFAR('trainloader', 'evaluate(net, testloader)\n'), 'EV004'), []);
});

test('EV004: `def test(model, device, test_loader)` iterating the global train_loader', () => {
  const code = `${HEADER}
train_loader = DataLoader(train_ds, batch_size=64, shuffle=True)

def test(model, device, test_loader):
    model.eval()
    correct = 0
    with torch.no_grad():
        for data, target in train_loader:
            correct += model(data).argmax(1).eq(target).sum().item()
    print(correct / len(test_loader.dataset))
`;
  assert.deepEqual(ids(code, 'EV004'), ['EV004']);
  assert.deepEqual(ids(code.replace('in train_loader', 'in test_loader'), 'EV004'), []);
});

test('EV004: a hand-written fit(model, images, labels) is not trainer.fit(model, train, val)', () => {
  const code = `${HEADER}
model = nn.Linear(784, 10)

def fit(model, images, labels, epochs):
    pass

fit(model, train_images, train_labels, epochs=10)
`;
  assert.deepEqual(ids(code, 'EV004'), []);
  assert.deepEqual(ids(`${HEADER}\ntrainer.fit(model, train_loader, train_loader)\n`, 'EV004'), ['EV004']);
});

const RESNET = (move: string) => `${HEADER}
from torchvision import models
model = models.resnet50(weights="IMAGENET1K_V2")
model.fc = nn.Linear(2048, 10)
${move}
optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
for epoch in range(20):
    model.train()
    for inputs, labels in train_loader:
        optimizer.zero_grad()
        F.cross_entropy(model(inputs), labels).backward()
        optimizer.step()
    with torch.no_grad():
        for inputs, labels in val_loader:
            preds = model(inputs).argmax(1)
`;

test('EV001: `model = model.to(device)` keeps the architecture (resnet50)', () => {
  assert.deepEqual(ids(RESNET('model = model.to(device)'), 'EV001'), ['EV001']);
});

test('EV001: `model = model.to(device)` of a model without Dropout/BatchNorm stays silent', () => {
  const code = RESNET('model = model.to(device)').replace('models.resnet50(weights="IMAGENET1K_V2")', 'nn.Sequential(nn.Linear(10, 20))');
  assert.deepEqual(ids(code, 'EV001'), []);
});

const TABULAR = (x: string) => `${HEADER}
model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Dropout(0.1), nn.Linear(64, 1))
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
for epoch in range(300):
    model.train()
    for xb, yb in loader:
        optimizer.zero_grad()
        F.mse_loss(model(xb), yb).backward()
        optimizer.step()
    with torch.no_grad():
        val_rmse = torch.sqrt(F.mse_loss(model(${x}), y_va)).item()
`;

test('EV001: held-out tensors named X_va / X_te / x_dev', () => {
  for (const x of ['X_va', 'X_te', 'x_dev', 'X_holdout']) assert.deepEqual(ids(TABULAR(x), 'EV001'), ['EV001'], x);
});

test('EV001: X_temp / X_train are not held out', () => {
  for (const x of ['X_temp', 'X_tr']) assert.deepEqual(ids(TABULAR(x), 'EV001'), [], x);
});

const CHAR_RNN = (layer: string) => `${HEADER}
class RNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = ${layer}
        self.fc = nn.Linear(32, 100)

    def forward(self, x, h):
        out, h = self.rnn(x, h)
        return self.fc(out), h

def evaluate(model, prime, steps=20):
    hidden = None
    with torch.no_grad():
        for p in range(steps):
            output, hidden = model(prime, hidden)
    return output

model = RNN()
print(evaluate(model, torch.zeros(1, 1, 32)))
`;

test('EV001: a model parameter follows the call sites (GRU without dropout: silent)', () => {
  assert.deepEqual(ids(CHAR_RNN('nn.GRU(32, 32, num_layers=2)'), 'EV001'), []);
});

test('EV001: a model parameter follows the call sites (GRU with dropout: reported)', () => {
  assert.deepEqual(ids(CHAR_RNN('nn.GRU(32, 32, num_layers=2, dropout=0.3)'), 'EV001'), ['EV001']);
});

const IMPORTED = (imp: string) => `${HEADER}
${imp}
model = Net(upscale_factor=3).to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
for epoch in range(3):
    for x, y in train_loader:
        optimizer.zero_grad()
        F.mse_loss(model(x), y).backward()
        optimizer.step()
    with torch.no_grad():
        for x, y in test_loader:
            print(F.mse_loss(model(x), y).item())
`;

test('EV001: a model class imported from the user\'s own module is not guessed at', () => {
  assert.deepEqual(ids(IMPORTED('from model import Net'), 'EV001'), []);
  assert.deepEqual(ids(IMPORTED('from .model import Net'), 'EV001'), []);
});

test('EV001: a model from a known library is still reported', () => {
  assert.deepEqual(ids(IMPORTED('from torchvision.models import resnet18 as Net'), 'EV001'), ['EV001']);
});

const REDEFINED = (first: string) => `${HEADER}
class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 64)${first}
    def forward(self, x):
        return self.fc1(x)

model = Classifier()
optimizer = torch.optim.Adam(model.parameters(), lr=0.003)
for e in range(2):
    for images, labels in trainloader:
        optimizer.zero_grad()
        F.cross_entropy(model(images), labels).backward()
        optimizer.step()
    with torch.no_grad():
        for images, labels in testloader:
            print(model(images).shape)

class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 64)
        self.dropout = nn.Dropout(p=0.2)
    def forward(self, x):
        return self.dropout(self.fc1(x))
`;

test('EV001: a class redefined later (a later notebook cell) is not the one constructed', () => {
  assert.deepEqual(ids(REDEFINED(''), 'EV001'), []);
});

test('EV001: the class in effect at the constructor has Dropout: reported', () => {
  assert.deepEqual(ids(REDEFINED('\n        self.drop = nn.Dropout(0.5)'), 'EV001'), ['EV001']);
});

const GCN = (test: string) => `${HEADER}
from torch_geometric.nn import GCNConv

class GCN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = GCNConv(1433, 16)
        self.conv2 = GCNConv(16, 7)

    def forward(self, x, edge_index):
        x = F.dropout(self.conv1(x, edge_index).relu(), p=0.5, training=self.training)
        return self.conv2(x, edge_index)

model = GCN()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)

def train():
    model.train()
    optimizer.zero_grad()
    F.cross_entropy(model(data.x, data.edge_index)[data.train_mask], data.y[data.train_mask]).backward()
    optimizer.step()

${test}

for epoch in range(200):
    train()
    print(test(data.val_mask))
`;

test('EV001/EV003: PyG full-batch `def test(mask)` without eval() and no_grad', () => {
  const code = GCN('def test(mask):\n    out = model(data.x, data.edge_index)\n    return (out.argmax(1)[mask] == data.y[mask]).float().mean()');
  assert.deepEqual(ids(code, 'EV001'), ['EV001']);
  assert.deepEqual(ids(code, 'EV003'), ['EV003']);
});

test('EV001/EV003: PyG test() with model.eval() under @torch.no_grad() is silent', () => {
  const code = GCN('@torch.no_grad()\ndef test(mask):\n    model.eval()\n    out = model(data.x, data.edge_index)\n    return (out.argmax(1)[mask] == data.y[mask]).float().mean()');
  assert.deepEqual(ids(code, 'EV001'), []);
  assert.deepEqual(ids(code, 'EV003'), []);
});

test('EV001/EV003: a helper named like an evaluation but called where the model trains is not one', () => {
  const code = `${HEADER}
model = nn.Sequential(nn.Linear(10, 10), nn.Dropout(0.5))

def evaluate(model, x):
    return F.log_softmax(model(x), dim=-1)

for x, y in train_loader:
    optimizer.zero_grad()
    F.nll_loss(evaluate(model, x), y).backward()
    optimizer.step()
`;
  assert.deepEqual(ids(code, 'EV001'), []);
  assert.deepEqual(ids(code, 'EV003'), []);
});

const REID = (loader: string) => `${HEADER}
def extract_features(model, loader):
    feats = []
    for imgs, pid in loader:
        feats.append(model(imgs))
    return torch.cat(feats)

def main(train_loader, query_loader, bn_loader):
    model = nn.Sequential(nn.Linear(10, 64), nn.BatchNorm1d(64), nn.Linear(64, 8))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(10):
        model.train()
        for x, y in train_loader:
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            qf = extract_features(model, ${loader})
`;

test('EV001: extract_features(model, query_loader) evaluates through a helper', () => {
  assert.deepEqual(ids(REID('query_loader'), 'EV001'), ['EV001']);
});

test('EV001: the same helper over another loader is not an evaluation', () => {
  assert.deepEqual(ids(REID('bn_loader'), 'EV001'), []);
});

test('EV013: `total += labels.size(0)` after the loop, labels unpacked in the body', () => {
  assert.deepEqual(ids(CIFAR('testloader').replace('            total += data[1].size(0)\n', '').replace('            correct += (outputs', '            labels = data[1]\n            correct += (outputs').replace("    print('acc'", "        total += labels.size(0)\n    print('acc'"), 'EV013'), ['EV013']);
});

const WORD_LM = (indent: string) => `${HEADER}
def evaluate(data_source):
    model.eval()
    total_loss = 0.0
    with torch.no_grad():
        for i in range(0, data_source.size(0) - 1, 35):
            data, targets = get_batch(data_source, i)
            output = model(data)
${indent}total_loss += len(data) * F.cross_entropy(output, targets).item()
    return total_loss / (len(data_source) - 1)
`;

test('EV013: a weighted loss total zeroed before the loop and added once after it', () => {
  assert.deepEqual(ids(WORD_LM('        '), 'EV013'), ['EV013']);
  assert.deepEqual(ids(WORD_LM('            '), 'EV013'), []);
});

test('EV013: a total that also grows elsewhere is left alone', () => {
  const code = WORD_LM('        ').replace('    return total_loss', '        total_loss = total_loss * 2\n    return total_loss').replace('            output = model(data)', '            output = model(data)\n            total_loss = total_loss + 0');
  assert.deepEqual(ids(code, 'EV013'), []);
});

const BATCH_ACC = (add: string) => `${HEADER}
model.eval()
val_loss, val_acc = 0.0, 0.0
with torch.no_grad():
    for spec, label in val_loader:
        out = model(spec)
        val_loss += F.cross_entropy(out, label).item()
        val_acc += ${add}
val_loss /= len(val_loader)
val_acc /= len(val_loader)
`;

test('EV010: `val_acc /= len(val_loader)` of a count of hits', () => {
  assert.deepEqual(ids(BATCH_ACC('(out.argmax(dim=1) == label).sum().item()'), 'EV010'), ['EV010']);
});

test('EV010: a sum of per-batch accuracies divided by the number of batches is a mean of means (info only)', () => {
  const severities = (code: string) => lint(code, { select: ['EV010'] }).map((f) => `${f.rule}:${f.severity}`);
  assert.deepEqual(severities(BATCH_ACC('(out.argmax(dim=1) == label).float().mean().item()')), ['EV010:info']);
  const named = BATCH_ACC('(out.argmax(dim=1) == label).float().mean().item()').replace(/val_acc/g, 'correct').replace('correct /= len(val_loader)', 'acc = correct / len(val_loader)');
  assert.deepEqual(severities(named), ['EV010:info']);
  // The count of hits under the same name is still reported.
  assert.deepEqual(ids(named.replace('.float().mean().item()', '.sum().item()'), 'EV010'), ['EV010']);
});

test('EV010: a torch_geometric DataLoader without batch_size yields single graphs', () => {
  const code = `${HEADER}
from torch_geometric.loader import DataLoader as GeoLoader
test_loader = GeoLoader(test_dataset)
correct = 0
for data in test_loader:
    correct += int((model(data.x, data.edge_index).argmax(dim=1) == data.y).sum())
print(correct / len(test_loader))
`;
  assert.deepEqual(ids(code, 'EV010'), []);
  assert.deepEqual(ids(code.replace('GeoLoader(test_dataset)', 'GeoLoader(test_dataset, batch_size=64)'), 'EV010'), ['EV010']);
});

const ARGMAX0 = (dim: string) => `${HEADER}
criterion = nn.CrossEntropyLoss()
for images, labels in test_loader:
    outputs = model(images)
    loss = criterion(outputs, labels)
    _, predicted = torch.max(outputs.data, ${dim})
    correct += (predicted == labels).sum().item()
`;

test('EV011 (not EV006) reports a dim-0 argmax of a model output in a batch loop', () => {
  assert.deepEqual(ids(ARGMAX0('0')).filter((r) => r === 'EV006' || r === 'EV011'), ['EV011']);
  assert.deepEqual(ids(ARGMAX0('1')).filter((r) => r === 'EV006' || r === 'EV011'), []);
});

test('EV001: sizes and tensors in the constructor arguments build no module (char-RNN, silent)', () => {
  const code = CHAR_RNN('nn.GRU(32, 32, num_layers=2)')
    .replace('model = RNN()', 'model = RNN(len(vocab))\nmodel = model.to(device)')
    .replace('    def __init__(self):', '    def __init__(self, n):')
    .replace('        self.fc = nn.Linear(32, 100)', '        self.fc = nn.Linear(32, n)\n        self.h0 = nn.Parameter(torch.zeros(2, 1, 32))');
  assert.deepEqual(ids(code, 'EV001'), []);
});

const WRAPPED = (build: string) => `${HEADER}
def train(net, train_iter, valid_iter):
    net = nn.DataParallel(net).to(device)
    trainer = torch.optim.SGD(net.parameters(), lr=0.1)
    for epoch in range(10):
        for x, y in train_iter:
            trainer.zero_grad()
            F.cross_entropy(net(x), y).backward()
            trainer.step()
        for x, y in valid_iter:
            print(net(x).argmax(1))

train(${build}, train_iter, valid_iter)
`;

test('EV001: nn.DataParallel(net) wraps the model given by name', () => {
  assert.deepEqual(ids(WRAPPED('nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))'), 'EV001'), ['EV001']);
  assert.deepEqual(ids(WRAPPED('nn.Sequential(nn.Linear(4, 4), nn.ReLU())'), 'EV001'), []);
});
