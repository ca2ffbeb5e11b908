// The output flow into the loss (LS001 / LS002) through more of the code a model's output takes: shape ops on it,
// class-weighted products with one-hot labels, parameters named like the file's module class, methods of the model
// called from outside, and custom loss modules whose forward wraps the loss. TL008 through a method of the file that
// keeps a running sum of the losses it is given.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, useParser } from './lint/helpers';

useParser();

const softmaxNet = `
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        return F.softmax(self.fc(x), dim=1)
`;

test('LS001: the output reshaped by tensor methods and torch functions before the loss', () => {
  const code = (prep: string) => `${HEADER}${softmaxNet}
model = Net()
criterion = nn.CrossEntropyLoss()
for x, y in loader:
    scores = model(x)
    ${prep}
    loss = criterion(scores, y)
    loss.backward()
`;
  for (const prep of ['scores = scores.resize(1, 4)', 'scores = torch.squeeze(scores)', 'scores = scores.permute(0, 1)', 'scores = torch.reshape(scores, (-1, 4))', 'scores = scores.type(torch.FloatTensor)']) {
    assert.deepEqual(ids(code(prep), 'LS001'), ['LS001'], prep);
  }
  // Look-alikes: another tensor's values, or an op that changes what the values mean.
  assert.deepEqual(ids(code('scores = torch.squeeze(x)'), 'LS001'), []);
  assert.deepEqual(ids(code('scores = torch.log(scores) * 2 + x'), 'LS001'), []);
});

test('LS001: softmax weights summed per class with one-hot labels (matching networks)', () => {
  const code = (mix: string) => `${HEADER}
class Attend(nn.Module):
    def forward(self, sims, support_y):
        norm = nn.Softmax(dim=1)
        weights = norm(sims)
        return ${mix}

class Matcher(nn.Module):
    def __init__(self):
        super().__init__()
        self.attend = Attend()

    def forward(self, sims, support_y, query_y):
        preds = self.attend(sims, support_y)
        return F.cross_entropy(preds, query_y)
`;
  assert.deepEqual(ids(code('weights.unsqueeze(1).bmm(support_y).squeeze(1)'), 'LS001'), ['LS001']);
  assert.deepEqual(ids(code('torch.matmul(weights, support_y)'), 'LS001'), ['LS001']);
  // Look-alike: attention over learned features (not labels) gives features, not probabilities.
  assert.deepEqual(ids(code('weights.bmm(self_values)'), 'LS001'), []);
  assert.deepEqual(ids(code('torch.bmm(weights, features)'), 'LS001'), []);
});

test('LS001: a parameter nobody in the file passes, named like the module class of the file', () => {
  const code = (param: string, cls: string) => `${HEADER}
class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, x):
        return self.conv(x).flatten(1)

class ${cls}(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 2)

    def forward(self, h):
        return F.softmax(self.fc(h), dim=1)

def fit(encoder, ${param}, loader):
    criterion = nn.CrossEntropyLoss()
    for x, y in loader:
        pred = ${param}(encoder(x))
        loss = criterion(pred, y)
        loss.backward()
`;
  assert.deepEqual(ids(code('discriminator', 'Discriminator'), 'LS001'), ['LS001']);
  assert.deepEqual(ids(code('domain_head', 'DomainHead'), 'LS001'), ['LS001']);
  // Look-alike: the name matches no class (and no model-like name): nothing is known.
  assert.deepEqual(ids(code('critic', 'Discriminator'), 'LS001'), []);
});

test('LS001: a method of the model called from outside (model.predict(x))', () => {
  const code = (ret: string) => `${HEADER}
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        return self.fc(x)

    def probabilities(self, x):
        return ${ret}

def train(net, loader):
    criterion = nn.CrossEntropyLoss()
    for x, y in loader:
        loss = criterion(net.probabilities(x), y)
        loss.backward()

model = Net().cuda()
train(model, [])
`;
  assert.deepEqual(ids(code('torch.softmax(self.forward(x), dim=-1)'), 'LS001'), ['LS001']);
  // Look-alike: the method returns logits.
  assert.deepEqual(ids(code('self.fc(x) / 2'), 'LS001'), []);
});

test('LS002: sigmoid output into a focal-loss module whose forward calls binary_cross_entropy_with_logits', () => {
  const code = (ret: string, call: string) => `${HEADER}
class Detector(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = nn.Linear(16, 1)

    def forward(self, x):
        x = self.head(x)
        return ${ret}

class FocalLoss(nn.Module):
    def __init__(self, gamma=2.0):
        super().__init__()
        self.gamma = gamma

    def forward(self, logits, targets):
        bce = F.binary_cross_entropy_with_logits(logits, targets, reduction='none')
        pt = torch.exp(-bce)
        return ((1 - pt) ** self.gamma * bce).mean()

def main():
    model = Detector().cuda()
    focal = FocalLoss(gamma=2.0).cuda()
    for x, y in loader:
        pred, feats = model(x)
        pred = torch.squeeze(pred)
        loss = ${call}
        loss.backward()
`;
  assert.deepEqual(ids(code('torch.sigmoid(x), x', 'focal(pred.float(), y)'), 'LS002'), ['LS002']);
  assert.deepEqual(ids(code('torch.sigmoid(x), x', 'FocalLoss()(pred, y)'), 'LS002'), ['LS002']);
  // Look-alikes: logits into the wrapper; the wrapper given the sigmoid only for a metric elsewhere.
  assert.deepEqual(ids(code('x, torch.sigmoid(x)', 'focal(pred.float(), y)'), 'LS002'), []);
  assert.deepEqual(ids(code('torch.sigmoid(x), x', 'focal(feats, y)'), 'LS002'), []);
});

test('LS002: a loss module held by a trainer and passed in as a parameter', () => {
  const code = (arg: string) => `${HEADER}
class Scorer(nn.Module):
    def __init__(self):
        super().__init__()
        self.out = nn.Linear(16, 1)

    def forward(self, x):
        return torch.sigmoid(self.out(x))

class SoftBCE(nn.Module):
    def forward(self, inp, target):
        return F.binary_cross_entropy_with_logits(inp, target * 0.9 + 0.05)

def run(model, loss_fn, loader):
    for x, y in loader:
        loss = loss_fn(${arg}, y)
        loss.backward()

run(Scorer(), SoftBCE(), [])
`;
  assert.deepEqual(ids(code('model(x)'), 'LS002'), ['LS002']);
  assert.deepEqual(ids(code('torch.logit(model(x))'), 'LS002'), []);
});

const tracker = (update: string, call: string, backward = "loss['total'].backward()") => `${HEADER}
class LossTracker:
    def __init__(self):
        self.sums = {}
        self.total = 0
        self.count = 0

    def add_losses(self, losses):
${update}
        self.count += 1

class Holder:
    def __init__(self):
        self.tracker = LossTracker()

def train(model, loader, optimizer):
    holder = Holder()
    for x, y in loader:
        optimizer.zero_grad()
        out = model(x)
        loss = {'total': F.mse_loss(out, y), 'l1': F.l1_loss(out, y)}
        ${backward}
        optimizer.step()
        ${call}
`;

test('TL008: a dict of loss tensors passed to a method that keeps running sums of its entries', () => {
  const byKey = '        for key in losses:\n            self.sums[key] = self.sums.get(key, 0)\n            self.sums[key] += losses[key]';
  const byItems = '        for key, value in losses.items():\n            self.sums[key] += value';
  assert.deepEqual(ids(tracker(byKey, 'holder.tracker.add_losses(loss)'), 'TL008'), ['TL008']);
  assert.deepEqual(ids(tracker(byItems, 'holder.tracker.add_losses(loss)'), 'TL008'), ['TL008']);
  // Look-alikes: the method sums Python numbers; the dict is not the back-propagated one.
  const items = '        for key in losses:\n            self.sums[key] += losses[key].item()';
  assert.deepEqual(ids(tracker(items, 'holder.tracker.add_losses(loss)'), 'TL008'), []);
  const detached = '        for key, value in losses.items():\n            self.sums[key] += value.detach()';
  assert.deepEqual(ids(tracker(detached, 'holder.tracker.add_losses(loss)'), 'TL008'), []);
  assert.deepEqual(ids(tracker(byKey, 'holder.tracker.add_losses(loss)', 'F.mse_loss(out, y).backward()'), 'TL008'), []);
});

test('TL008: the loss tensor passed to a method that adds it to an attribute', () => {
  const code = (body: string, arg: string) => `${HEADER}
class Stats:
    def __init__(self):
        self.running = 0.0

    def record(self, value):
        ${body}

stats = Stats()
for x, y in loader:
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
    stats.record(${arg})
`;
  assert.deepEqual(ids(code('self.running += value', 'loss'), 'TL008'), ['TL008']);
  assert.deepEqual(ids(code('self.running = self.running + value * 2', 'loss'), 'TL008'), ['TL008']);
  assert.deepEqual(ids(code('self.running += value', 'loss.item()'), 'TL008'), []);
  assert.deepEqual(ids(code('self.running += float(value)', 'loss'), 'TL008'), []);
  assert.deepEqual(ids(code('self.last = value', 'loss'), 'TL008'), []);
});

test('LS001: a criterion bound in both arms of an if is a cross-entropy only when both arms agree', () => {
  const code = (other: string) => `${HEADER}${softmaxNet}
model = Net()
if use_ctc:
    criterion = ${other}
else:
    criterion = nn.CrossEntropyLoss(ignore_index=0)
for x, y in loader:
    scores = model(x).permute(1, 0)
    loss = criterion(scores, y)
    loss.backward()
`;
  assert.deepEqual(ids(code('nn.CrossEntropyLoss()'), 'LS001'), ['LS001']);
  // Look-alike: the other arm builds a CTC loss, which this call may be.
  assert.deepEqual(ids(code('nn.CTCLoss(zero_infinity=True)'), 'LS001'), []);
});
