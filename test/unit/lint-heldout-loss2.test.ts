// Held-out loss shapes (session 11, loss2): LS006 for binary classifiers. A ReLU (or another non-negative activation)
// on the last layer's output, then a sigmoid used as a probability (BCELoss, an unknown criterion, a 0.5 threshold):
// every probability is at least 0.5. Also `x = F.relu(x)` after the last layer, read through the re-assigned name.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fix, HEADER, ids, lint, useParser } from './lint/helpers';

useParser();

const reluHead = `${HEADER}
class Detector(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(32, 16)
        self.head = nn.Linear(16, 1)

    def forward(self, feats):
        h = F.relu(self.body(feats))
        h = F.relu(self.head(h))
        return h
`;

test('LS006: final ReLU, sigmoid outside the model, criterion and model not defined in the snippet', () => {
  const code = `${reluHead}
logits = net(batch_x)
logits = torch.sigmoid(logits)
loss = criterion(logits, batch_y)
`;
  const found = lint(code, { select: ['LS006'] });
  assert.deepEqual(found.map((f) => f.rule), ['LS006']);
  assert.match(found[0]!.message, /at least 0\.5/);
});

test('LS006: final ReLU, sigmoid outside, nn.BCELoss and a model built in the file', () => {
  const code = `${reluHead}
model = Detector().to('cuda')
bce = nn.BCELoss()
for xb, yb in loader:
    probs = model(xb).sigmoid()
    loss = bce(probs.view(-1), yb)
`;
  assert.deepEqual(ids(code, 'LS006'), ['LS006']);
  // The fix drops the ReLU inside forward.
  assert.match(fix(code, 'LS006'), /h = self\.head\(h\)/);
});

test('LS006: a train function nobody calls here receives the model as a parameter', () => {
  const code = `${reluHead}
def train(model, loader, loss_fn, opt):
    for xb, yb in loader:
        p = torch.sigmoid(model(xb)).squeeze(1)
        loss = loss_fn(p, yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
`;
  assert.deepEqual(ids(code, 'LS006'), ['LS006']);
});

test('LS006: the sigmoid inside forward after a final ReLU layer, into F.binary_cross_entropy', () => {
  const code = `${HEADER}
class Clf(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 4)
        self.out = nn.Linear(4, 1)
        self.act = nn.Softplus()

    def forward(self, x):
        return torch.sigmoid(self.act(self.out(torch.tanh(self.fc(x)))))

clf = Clf()
loss = F.binary_cross_entropy(clf(x), y)
`;
  assert.deepEqual(ids(code, 'LS006'), ['LS006']);
});

test('LS006: nn.Sequential ending Linear, ReLU, Sigmoid thresholded at 0.5 (no loss in the file)', () => {
  const code = `${HEADER}
model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 1), nn.ReLU(), nn.Sigmoid())
model.load_state_dict(torch.load('w.pt'))
with torch.no_grad():
    pred = model(x) > 0.5
`;
  assert.deepEqual(ids(code, 'LS006'), ['LS006']);
  assert.doesNotMatch(fix(code, 'LS006'), /nn\.Linear\(32, 1\), nn\.ReLU\(\)/);
});

test('LS006: x = F.relu(x) after the last Linear, read through the re-assigned name (CrossEntropyLoss)', () => {
  const code = `${HEADER}
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 20)
        self.fc2 = nn.Linear(20, 3)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = self.fc2(x)
        x = F.relu(x)
        return x

model = Net()
loss = nn.CrossEntropyLoss()(model(x), y)
`;
  assert.deepEqual(ids(code, 'LS006'), ['LS006']);
  // The fix drops the `x = F.relu(x)` line (not `x = x`), and the result is clean.
  const fixed = fix(code, 'LS006');
  assert.doesNotMatch(fixed, /x = F\.relu\(x\)\n|x = x\b/);
  assert.match(fixed, /x = self\.fc2\(x\)\n {8}return x/);
  assert.deepEqual(ids(fixed, 'LS006'), []);
});

// ---- look-alikes that stay quiet ----

test('LS006 quiet: ReLU on a hidden layer, the sigmoid on the last Linear output', () => {
  const code = `${HEADER}
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 20)
        self.fc2 = nn.Linear(20, 1)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        return torch.sigmoid(self.fc2(x))

model = Net()
loss = nn.BCELoss()(model(x), y)
pred = model(x) > 0.5
`;
  assert.deepEqual(ids(code, 'LS006'), []);
});

test('LS006 quiet: a ReLU output used for a regression loss, no sigmoid', () => {
  const code = `${reluHead}
model = Detector()
loss = criterion(model(x), y)
out = torch.sigmoid(other(x))
`;
  assert.deepEqual(ids(code, 'LS006'), []);
});

test('LS006 quiet: a gate torch.sigmoid(self.gate(relu_x)) and a sigmoid of a ReLU used as a gate inside forward', () => {
  const code = `${HEADER}
class Gated(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(8, 8)
        self.gate = nn.Linear(8, 8)
        self.mix = nn.Linear(8, 8)
        self.out = nn.Linear(8, 1)

    def forward(self, x):
        relu_x = F.relu(self.proj(x))
        g = torch.sigmoid(self.gate(relu_x))
        s = torch.sigmoid(F.relu(self.mix(x)))
        return torch.sigmoid(self.out(relu_x * g * s))

model = Gated()
loss = criterion(model(x), y)
`;
  assert.deepEqual(ids(code, 'LS006'), []);
});

test('LS006 quiet: BCEWithLogitsLoss on a ReLU output is AR003\'s finding', () => {
  const code = `${reluHead}
model = Detector()
loss = nn.BCEWithLogitsLoss()(model(x), y)
`;
  assert.deepEqual(ids(code), ['AR003']);
});

test('LS006 quiet: LeakyReLU before the sigmoid, and two top-level models of an unseen name that disagree', () => {
  const leaky = `${HEADER}
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 1)

    def forward(self, x):
        return F.leaky_relu(self.fc(x))

model = Net()
loss = nn.BCELoss()(torch.sigmoid(model(x)), y)
`;
  assert.deepEqual(ids(leaky, 'LS006'), []);
  const two = `${reluHead}
class Other(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 1)

    def forward(self, x):
        return self.fc(x)

loss = criterion(torch.sigmoid(model(x)), y)
`;
  assert.deepEqual(ids(two, 'LS006'), []);
});

test('LS006: a Trainer rounds the sigmoid of self.model and calls self.criterion on it', () => {
  const code = `${reluHead}
class Trainer:
    def __init__(self, model, criterion):
        self.model = model
        self.criterion = criterion

    def evaluate(self, xb, yb):
        probs = torch.sigmoid(self.model(xb))
        acc = (torch.round(probs) == yb).float().mean()
        return self.criterion(probs, yb), acc

trainer = Trainer(Detector(), make_loss())
`;
  assert.deepEqual(ids(code, 'LS006'), ['LS006']);
  // Only the rounding: still a prediction that can never be 0.
  const rounded = code.replace('return self.criterion(probs, yb), acc', 'return acc');
  assert.deepEqual(ids(rounded, 'LS006'), ['LS006']);
});
