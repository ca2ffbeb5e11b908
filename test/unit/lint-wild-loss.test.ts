// Loss and output tracking on shapes seen in real buggy code: a loss or a model run through `.forward(...)` or
// `.__call__(...)` instead of a plain call.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, useParser } from './lint/helpers';

useParser();

const loop = (model: string, lossCall: string) => `${HEADER}
net = ${model}
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
for x, y in loader:
    optimizer.zero_grad()
    scores = net(x)
    loss = ${lossCall}
    loss.backward()
    optimizer.step()
`;

test('LS001: the loss called as criterion.forward(...) or criterion.__call__(...)', () => {
  const softmaxNet = 'nn.Sequential(nn.Linear(20, 3), nn.Softmax(dim=1))';
  assert.deepEqual(ids(loop(softmaxNet, 'criterion.forward(scores, y)'), 'LS001'), ['LS001']);
  assert.deepEqual(ids(loop(softmaxNet, 'criterion.__call__(scores, y)'), 'LS001'), ['LS001']);
  assert.deepEqual(ids(loop(softmaxNet, 'nn.CrossEntropyLoss().forward(scores, y)'), 'LS001'), ['LS001']);
  // Look-alikes: logits into the loss; forward of something that is not a loss.
  assert.deepEqual(ids(loop('nn.Sequential(nn.Linear(20, 3))', 'criterion.forward(scores, y)'), 'LS001'), []);
  assert.deepEqual(ids(loop(softmaxNet, 'criterion(head.forward(x), y)'), 'LS001'), []);
});

test('LS003: a module that runs itself with self.__call__(x) into NLLLoss', () => {
  const code = (call: string, head: string) => `${HEADER}
class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(32, 5)
        self.head = ${head}
        self.objective = nn.NLLLoss()

    def forward(self, feats):
        return self.head(self.proj(feats))

    def fit_epoch(self, batches, opt):
        for feats, tags in batches:
            opt.zero_grad()
            probs = ${call}
            loss = self.objective(probs, tags)
            loss.backward()
            opt.step()
`;
  assert.deepEqual(ids(code('self.__call__(feats)', 'nn.Softmax(dim=-1)'), 'LS003'), ['LS003']);
  assert.deepEqual(ids(code('self.forward(feats)', 'nn.Softmax(dim=-1)'), 'LS003'), ['LS003']);
  assert.deepEqual(ids(code('self.__call__(feats)', 'nn.LogSoftmax(dim=-1)'), 'LS003'), []);
});

test('LS010: a categorical KL term (Gumbel-softmax VAE) subtracted from the loss; the right sign is quiet', () => {
  const vae = (kl: string, total = 'recon + kl') => `${HEADER}
def vae_loss(x_hat, x, q, n_cat=10):
    recon = F.binary_cross_entropy(x_hat, x, reduction="sum")
    log_q = torch.log(q + 1e-20)
    log_prior = torch.log(torch.tensor(1.0 / n_cat))
    kl = ${kl}
    return ${total}
`;
  assert.deepEqual(ids(vae('-torch.sum(q * (log_q - log_prior))'), 'LS010'), ['LS010']);
  assert.deepEqual(ids(vae('torch.sum(q * (log_q - log_prior))', 'recon - kl'), 'LS010'), ['LS010']);
  assert.deepEqual(ids(vae('(q * torch.log(q / prior_probs)).sum()', 'recon - kl'), 'LS010'), ['LS010']);
  assert.deepEqual(ids(vae('torch.sum(q * (log_prior - torch.log(q + 1e-20)))'), 'LS010'), ['LS010']);
  // Right signs.
  assert.deepEqual(ids(vae('torch.sum(q * (log_q - log_prior))'), 'LS010'), []);
  assert.deepEqual(ids(vae('-torch.sum(q * (log_prior - log_q))'), 'LS010'), []);
  // Look-alikes: an entropy bonus and a cross-entropy are not KL terms.
  assert.deepEqual(ids(vae('-torch.sum(q * log_q)', 'recon - 0.01 * kl'), 'LS010'), []);
  assert.deepEqual(ids(vae('-torch.sum(x * torch.log(x_hat + 1e-8))'), 'LS010'), []);
});

test('LS006: a final ReLU before log_softmax and NLLLoss (in forward, in a Sequential, in the loop)', () => {
  const net = (ret: string) => `${HEADER}
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        return ${ret}

model = Net()
for x, y in loader:
    optimizer.zero_grad()
    loss = F.nll_loss(model(x), y)
    loss.backward()
    optimizer.step()
`;
  assert.deepEqual(ids(net('F.log_softmax(F.relu(self.fc2(x)), dim=1)'), 'LS006'), ['LS006']);
  assert.deepEqual(ids(net('F.log_softmax(self.fc2(x), dim=1)'), 'LS006'), []);
  // Without the log_softmax NLLLoss gets raw scores: LS003's business, not a ReLU-on-logits finding.
  assert.deepEqual(ids(net('F.relu(self.fc2(x))'), 'LS006'), []);
  const seq = (tail: string) => `${HEADER}
model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 3)${tail})
criterion = nn.NLLLoss()
for x, y in loader:
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
`;
  assert.deepEqual(ids(seq(', nn.ReLU(), nn.LogSoftmax(dim=1)'), 'LS006'), ['LS006']);
  assert.deepEqual(ids(seq(', nn.LogSoftmax(dim=1)'), 'LS006'), []);
  const inLoop = seq('').replace('criterion(model(x), y)', 'criterion(torch.log_softmax(torch.relu(model(x)), dim=1), y)');
  assert.deepEqual(ids(inLoop, 'LS006'), []);
});
