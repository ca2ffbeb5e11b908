// Loss / output dataflow through parameters, Trainer classes, builder functions, OrderedDict / add_module Sequentials
// and replaced torchvision heads (LS001-LS003, LS006, EV006): each case with a look-alike that must stay silent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, useParser } from './lint/helpers';

useParser();

const softmaxNet = `
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return F.softmax(self.fc(x), dim=1)
`;

const logitsNet = `
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(x)
`;

const trainFn = `
def train(model, loader, criterion, optimizer):
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
`;

test('LS001: criterion and model passed as parameters (positional)', () => {
  const code = `${HEADER}${softmaxNet}${trainFn}\nnet = Net()\ntrain(net, loader, nn.CrossEntropyLoss(), opt)\n`;
  assert.deepEqual(ids(code, 'LS001'), ['LS001']);
});

test('LS001: no finding when the model passed in outputs logits', () => {
  const code = `${HEADER}${logitsNet}${trainFn}\nnet = Net()\ntrain(net, loader, nn.CrossEntropyLoss(), opt)\n`;
  assert.deepEqual(ids(code, 'LS001'), []);
});

test('LS003: criterion passed by keyword from main(), raw logits', () => {
  const code = `${HEADER}${logitsNet}${trainFn}
def main():
    model = Net()
    train(model, loader, optimizer=opt, criterion=nn.NLLLoss())
`;
  assert.deepEqual(ids(code, 'LS003'), ['LS003']);
});

test('LS003: parameter default is used when the call site omits it', () => {
  const code = `${HEADER}${logitsNet}
def train(model, loader, criterion=nn.NLLLoss()):
    for x, y in loader:
        criterion(model(x), y).backward()

train(Net(), loader)
`;
  assert.deepEqual(ids(code, 'LS003'), ['LS003']);
});

test('LS001/LS003: call sites that disagree, *args, a rebound parameter or no call site stay silent', () => {
  const disagree = `${HEADER}${softmaxNet}${trainFn}\ntrain(Net(), loader, nn.CrossEntropyLoss(), opt)\ntrain(Net(), loader, nn.MSELoss(), opt)\n`;
  assert.deepEqual(ids(disagree, 'LS001'), []);
  const splat = `${HEADER}${softmaxNet}${trainFn}\nargs = (Net(), loader, nn.CrossEntropyLoss(), opt)\ntrain(*args)\n`;
  assert.deepEqual(ids(splat, 'LS001'), []);
  const rebound = `${HEADER}${softmaxNet}
def train(model, loader, criterion):
    for criterion in [nn.MSELoss(), nn.L1Loss()]:
        for x, y in loader:
            criterion(model(x), y)

train(Net(), loader, nn.CrossEntropyLoss())
`;
  assert.deepEqual(ids(rebound, 'LS001'), []);
  assert.deepEqual(ids(`${HEADER}${softmaxNet}${trainFn}`, 'LS001'), []);
});

test('parameters: a recursive function passing its own parameter on does not loop', () => {
  const code = `${HEADER}${softmaxNet}
def run(model, criterion, n):
    if n:
        return run(model, criterion, n - 1)
    return criterion(model(x), y)

run(Net(), nn.CrossEntropyLoss(), 3)
`;
  assert.deepEqual(ids(code, 'LS001'), []);
});

const sigmoidHead = `
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = nn.Sequential(nn.Linear(10, 1), nn.Sigmoid())

    def forward(self, x):
        return self.head(x)
`;

test('LS002: self.model(x) in a Trainer class, model given to __init__', () => {
  const code = `${HEADER}${sigmoidHead}
class Trainer:
    def __init__(self, model, device):
        self.model = model.to(device)
        self.criterion = nn.BCEWithLogitsLoss()

    def step(self, x, y):
        return self.criterion(self.model(x), y)

Trainer(Net(), "cpu").step(x, y)
`;
  assert.deepEqual(ids(code, 'LS002'), ['LS002']);
});

test('LS002: Trainer whose model ends in a Linear layer stays silent', () => {
  const code = `${HEADER}
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = nn.Sequential(nn.Linear(10, 1))

    def forward(self, x):
        return self.head(x)

class Trainer:
    def __init__(self, model, criterion):
        self.model = model
        self.criterion = criterion

    def step(self, x, y):
        return self.criterion(self.model(x), y)

trainer = Trainer(Net(), nn.BCEWithLogitsLoss())
trainer.step(x, y)
`;
  assert.deepEqual(ids(code, 'LS002'), []);
});

test('LS003: Trainer built elsewhere: self.model falls back to the file model, criterion on self', () => {
  const code = `${HEADER}${logitsNet}
class Trainer:
    def __init__(self, model):
        self.model = model
        self.criterion = nn.NLLLoss()

    def step(self, x, y):
        return self.criterion(self.model(x), y)
`;
  assert.deepEqual(ids(code, 'LS003'), ['LS003']);
  // An attribute that does not name a model is not guessed.
  assert.deepEqual(ids(code.replace(/self\.model/g, 'self.encoder'), 'LS003'), []);
});

test('LS001: model returned by a builder function, then passed to train()', () => {
  const code = `${HEADER}
def build_model():
    model = nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=1))
    return model
${trainFn}
model = build_model().to("cpu")
train(model, loader, nn.CrossEntropyLoss(), opt)
`;
  assert.deepEqual(ids(code, 'LS001'), ['LS001']);
  assert.deepEqual(ids(code.replace(', nn.Softmax(dim=1)', ''), 'LS001'), []);
});

test('LS001: nn.Sequential(OrderedDict([... ("softmax", nn.Softmax(dim=1))]))', () => {
  const code = `${HEADER}from collections import OrderedDict
model = nn.Sequential(OrderedDict([
    ("fc", nn.Linear(10, 3)),
    ("softmax", nn.Softmax(dim=1)),
]))
loss = nn.CrossEntropyLoss()(model(x), y)
`;
  assert.deepEqual(ids(code, 'LS001'), ['LS001']);
  // The fix drops the last (name, layer) pair.
  const fixed = fix(code, 'LS001');
  assert.doesNotMatch(fixed, /Softmax/);
  assert.match(fixed, /\("fc", nn\.Linear\(10, 3\)\)/);
  assert.deepEqual(ids(code.replace('("softmax", nn.Softmax(dim=1)),', ''), 'LS001'), []);
});

test('LS001: nn.Sequential() then add_module(..., nn.LogSoftmax(1)); a conditional add_module is not followed', () => {
  const code = `${HEADER}
net = nn.Sequential()
net.add_module("fc", nn.Linear(4, 3))
net.add_module("out", nn.LogSoftmax(1))
loss = nn.CrossEntropyLoss()(net(x), y)
`;
  assert.deepEqual(ids(code, 'LS001'), ['LS001']);
  const conditional = code.replace('net.add_module("out", nn.LogSoftmax(1))', 'if probs:\n    net.add_module("out", nn.LogSoftmax(1))');
  assert.deepEqual(ids(conditional, 'LS001'), []);
});

test('LS001: torchvision head replaced by a Sequential ending in Softmax', () => {
  const code = `${HEADER}from torchvision import models
model = models.resnet18(weights="DEFAULT")
model.fc = nn.Sequential(nn.Linear(512, 10), nn.Softmax(dim=1))
model = model.to("cuda")
criterion = nn.CrossEntropyLoss()
loss = criterion(model(x), y)
`;
  assert.deepEqual(ids(code, 'LS001'), ['LS001']);
  // A Linear head gives logits.
  assert.deepEqual(ids(code.replace(', nn.Softmax(dim=1)', ''), 'LS001'), []);
});

test('LS001: vgg classifier[6] is the head, classifier[0] is not; resnet has no classifier', () => {
  const code = (target: string, ctor = 'vgg16') => `${HEADER}import torchvision
model = torchvision.models.${ctor}(pretrained=True)
model.${target} = nn.Sequential(nn.Linear(4096, 10), nn.Softmax(dim=1))
loss = nn.CrossEntropyLoss()(model(x), y)
`;
  assert.deepEqual(ids(code('classifier[6]'), 'LS001'), ['LS001']);
  assert.deepEqual(ids(code('classifier[0]'), 'LS001'), []);
  assert.deepEqual(ids(code('classifier', 'resnet50'), 'LS001'), []);
});

test('EV006: "> 0.5" in a binary_acc helper called with the BCEWithLogitsLoss input', () => {
  const code = `${HEADER}
def binary_acc(y_pred, y_true):
    y_pred_tag = (y_pred > 0.5).float()
    return (y_pred_tag == y_true).float().mean()

model = nn.Linear(10, 1)
criterion = nn.BCEWithLogitsLoss()
y_pred = model(x)
loss = criterion(y_pred, y)
acc = binary_acc(y_pred, y)
`;
  assert.deepEqual(ids(code, 'EV006'), ['EV006']);
  // Called with probabilities: correct.
  assert.deepEqual(ids(code.replace('binary_acc(y_pred, y)', 'binary_acc(torch.sigmoid(y_pred), y)'), 'EV006'), []);
});

test('LS006: ReLU-ended Sequential reached through a parameter and through a Trainer', () => {
  const seq = 'nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3), nn.ReLU())';
  const fnStyle = `${HEADER}${trainFn}\ntrain(${seq}, loader, nn.CrossEntropyLoss(), opt)\n`;
  assert.deepEqual(ids(fnStyle, 'LS006'), ['LS006']);
  const trainer = `${HEADER}
class Trainer:
    def __init__(self, model):
        self.model = model
        self.criterion = nn.CrossEntropyLoss()

    def step(self, x, y):
        return self.criterion(self.model(x), y)

Trainer(${seq}).step(x, y)
`;
  assert.deepEqual(ids(trainer, 'LS006'), ['LS006']);
  assert.deepEqual(ids(trainer.replace(', nn.ReLU())', ')'), 'LS006'), []);
});
