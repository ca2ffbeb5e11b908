// Output flow through tuple unpacking: `recon, mu, logvar = model(x)` (VAEs), `enc, dec = A(), B()`,
// `model, optimizer = build()` and `outputs[0]`. Each positive has a look-alike reading another element.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, lint, useParser } from './lint/helpers';

useParser();

const VAE = (recon: string, loss: string) => `${HEADER}
class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Linear(784, 400)
        self.mu = nn.Linear(400, 20)
        self.logvar = nn.Linear(400, 20)
        self.dec = nn.Linear(20, 784)

    def decode(self, z):
        return ${recon}

    def forward(self, x):
        h = F.relu(self.enc(x))
        mu, logvar = self.mu(h), self.logvar(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decode(z), mu, logvar

model = VAE()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for x, _ in loader:
    optimizer.zero_grad()
    recon, mu, logvar = model(x)
    loss = ${loss} - 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    loss.backward()
    optimizer.step()
`;

test('LS002 through `recon, mu, logvar = model(x)` and a decode method ending in sigmoid', () => {
  const code = VAE('torch.sigmoid(self.dec(z))', "F.binary_cross_entropy_with_logits(recon, x, reduction='sum')");
  const f = lint(code, { select: ['LS002'] });
  assert.deepEqual(f.map((x) => x.rule), ['LS002']);
  // The sigmoid sits in a tuple other code may read: no fix is offered.
  assert.equal(f[0]!.fixes, undefined);
});

test('no LS002 when the decoder returns logits, or when BCELoss takes the sigmoid output', () => {
  assert.deepEqual(ids(VAE('self.dec(z)', "F.binary_cross_entropy_with_logits(recon, x, reduction='sum')"), 'LS002'), []);
  assert.deepEqual(ids(VAE('torch.sigmoid(self.dec(z))', "F.binary_cross_entropy(recon, x, reduction='sum')"), 'LS002'), []);
});

test('no LS002 when the loss reads another element of the tuple', () => {
  const code = VAE('self.dec(z)', "F.binary_cross_entropy_with_logits(recon, x) + F.binary_cross_entropy_with_logits(mu, x)");
  assert.deepEqual(ids(code, 'LS002'), []);
});

test('LS002 through `enc, dec = nn.Linear(...), Decoder()`; silent for the linear half', () => {
  const code = (crit: string) => `${HEADER}
class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(16, 784), nn.Sigmoid())
    def forward(self, z):
        return self.net(z)

enc, dec = nn.Linear(784, 16), Decoder()
opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()))
crit = nn.BCEWithLogitsLoss()
for x in loader:
    opt.zero_grad()
    loss = crit(${crit}, x)
    loss.backward()
    opt.step()
`;
  assert.deepEqual(ids(code('dec(enc(x))'), 'LS002'), ['LS002']);
  assert.deepEqual(ids(code('enc(x)'), 'LS002'), []);
});

const BUILDER = (ret: string) => `${HEADER}
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(20, 3)
    def forward(self, x):
        return F.softmax(self.fc(x), dim=1), x

def build(lr):
    net = Net()
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    return ${ret}

model, optimizer = build(0.01)
criterion = nn.CrossEntropyLoss()
for x, y in loader:
    optimizer.zero_grad()
    outputs = model(x)
    loss = criterion(outputs[0], y)
    loss.backward()
    optimizer.step()
`;

test('LS001 through `model, optimizer = build()` and `outputs[0]` of a tuple-returning forward', () => {
  assert.deepEqual(ids(BUILDER('net, opt'), 'LS001'), ['LS001']);
});

test('no LS001 when the builder returns the pair the other way round, or the loss reads element 1', () => {
  assert.deepEqual(ids(BUILDER('opt, net'), 'LS001'), []);
  assert.deepEqual(ids(BUILDER('net, opt').replace('outputs[0]', 'outputs[1]'), 'LS001'), []);
});

test('swapping names by unpacking does not loop', () => {
  const code = `${HEADER}
a = nn.Linear(2, 2)
b = nn.Sequential(nn.Linear(2, 2), nn.Softmax(dim=1))
a, b = b, a
b, a = a, b
criterion = nn.CrossEntropyLoss()
loss = criterion(a(x), y)
loss2 = criterion(b(x), y)
`;
  assert.doesNotThrow(() => lint(code));
});
