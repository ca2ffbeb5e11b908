// Recall round 6, training loop: a loss history list whose last item is back-propagated (TL008); a per-optimizer loop
// after a reset of every optimizer (TL001 quiet); an autoencoder's optimizer given the encoder alone (TL028); a best
// state kept on the instance for the caller (TL015); a one-batch GAN step method that resets only the generator
// (TL001); a target network bound to the same object as the online one, and the Double DQN target (TL023).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, useParser } from './lint/helpers';

useParser();

// ---- TL008: the list kept across iterations holds each back-propagated loss ----

const history = (body: string, init = 'losses = []') => `${HEADER}
from functools import reduce
def fit(params, loss_fn, steps=100):
    opt = torch.optim.Adam(params)
    ${init}
    for it in range(steps):
        opt.zero_grad()
        terms = loss_fn(*params)
${body}
        opt.step()
    return losses
`;

test('TL008: appending the loss and back-propagating losses[-1] keeps every graph', () => {
  const direct = `        losses.append(reduce(lambda x, y: x + y, terms))
        losses[-1].backward()`;
  assert.deepEqual(ids(history(direct), 'TL008'), ['TL008']);
  const throughName = `        losses.append(sum(terms))
        total = losses[-1]
        total.backward()`;
  assert.deepEqual(ids(history(throughName), 'TL008'), ['TL008']);
  const builtin = `        losses.append(sum(terms))
        losses[-1].backward()`;
  assert.deepEqual(ids(history(builtin, 'losses = list()'), 'TL008'), ['TL008']);
});

test('TL008: a detached history, a list rebuilt each iteration or a backward of something else is quiet', () => {
  const detached = `        total = sum(terms)
        losses.append(total.item())
        total.backward()`;
  assert.deepEqual(ids(history(detached), 'TL008'), []);
  const perIteration = `        losses = []
        losses.append(sum(terms))
        losses[-1].backward()`;
  assert.deepEqual(ids(history(perIteration), 'TL008'), []);
  const other = `        losses.append(sum(terms))
        sum(terms).backward()`;
  assert.deepEqual(ids(history(other), 'TL008'), []);
  // The loss of the previous iteration is back-propagated before this one is appended: not this shape.
  const before = `        losses[-1].backward()
        losses.append(sum(terms))`;
  assert.deepEqual(ids(history(before), 'TL008'), []);
});

// ---- TL001: a loop stepping one optimizer per iteration after a reset of all ----

const perOptimizer = (reset: string) => `${HEADER}
class Model(nn.Module):
    def get_optimizers(self, zero_all=False):
        opts = self.optimizers()
        if zero_all:
            for o in opts:
                o.zero_grad()
        return opts

    def step_heads(self, feats, labels):
${reset}
        for i, (h, head) in enumerate(zip(feats, self.heads)):
            loss = F.cross_entropy(head(h), labels)
            loss.backward(retain_graph=True)
            opts[i].step()
`;

test('TL001: each iteration stepping its own optimizer after a reset of every optimizer is quiet', () => {
  assert.deepEqual(ids(perOptimizer('        opts = self.get_optimizers(zero_all=True)'), 'TL001'), []);
  const named = `${HEADER}
def step_all(models, optimizers, x, y):
    for o in optimizers:
        o.zero_grad()
    for model, opt in zip(models, optimizers):
        F.mse_loss(model(x), y).backward()
        opt.step()
`;
  assert.deepEqual(ids(named, 'TL001'), []);
  // Nor is it a reset once before a loop over batches (TL002).
  assert.deepEqual(ids(named, 'TL002'), []);
});

test('TL001: a per-optimizer loop with no reset, or a reset once before an outer loop, is still reported', () => {
  assert.deepEqual(ids(perOptimizer('        opts = self.optimizers()'), 'TL001'), ['TL001']);
  const outer = `${HEADER}
for o in optimizers:
    o.zero_grad()
for x, y in loader:
    for model, opt in zip(models, optimizers):
        F.mse_loss(model(x), y).backward()
        opt.step()
`;
  assert.ok(ids(outer).some((i) => i === 'TL001' || i === 'TL002'));
  // One optimizer stepped every iteration (not the loop's own pick): the reset before the loop does not cover it.
  const same = `${HEADER}
def run(model, opt, batches):
    opt.zero_grad()
    for i, (x, y) in enumerate(batches):
        F.mse_loss(model(x), y).backward()
        opt.step()
`;
  assert.deepEqual(ids(same, 'TL002'), ['TL002']);
});

// ---- TL028: an autoencoder's optimizer given the encoder alone ----

const vaeTrainer = (optimizer: string, extra = '') => `${HEADER}
class Trainer:
    def __init__(self, module):
        self.module = module

    def configure(self):
        self.opt = torch.optim.Adam(${optimizer}, lr=1e-3)
        self.opt_cls = torch.optim.Adam(self.module.classifier.parameters(), lr=1e-3)

    def train_batch(self, x):
        self.opt.zero_grad()
        qz, pz, xhat = self.module(x)
        losses = self.module.vae.elbo(qz, pz, x, xhat)
        losses["loss"].backward()
        self.opt.step()
${extra}
`;

test('TL028: an autoencoder optimizer built from its encoder alone, the reconstruction loss trained, is reported', () => {
  assert.deepEqual(ids(vaeTrainer('self.module.vae.encoder.parameters()'), 'TL028'), ['TL028']);
  const local = `${HEADER}
class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(784, 16)
    def forward(self, x):
        return self.fc(x)

class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 784)
    def forward(self, z):
        return self.fc(z)

class AutoEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = Encoder()
        self.dec = Decoder()
    def forward(self, x):
        return self.dec(self.enc(x))

model = AutoEncoder()
optimizer = torch.optim.Adam(model.enc.parameters(), lr=1e-3)
for x, _ in loader:
    optimizer.zero_grad()
    loss = F.mse_loss(model(x), x)
    loss.backward()
    optimizer.step()
`;
  assert.deepEqual(ids(local, 'TL028'), ['TL028']);
});

test('TL028: the whole autoencoder, a decoder given elsewhere or frozen, or no decoding in training is quiet', () => {
  assert.deepEqual(ids(vaeTrainer('self.module.vae.parameters()'), 'TL028'), []);
  assert.deepEqual(ids(vaeTrainer('list(self.module.vae.encoder.parameters()) + list(self.module.vae.decoder.parameters())'), 'TL028'), []);
  const frozen = `    def freeze(self):
        self.module.vae.decoder.requires_grad_(False)`;
  assert.deepEqual(ids(vaeTrainer('self.module.vae.encoder.parameters()', frozen), 'TL028'), []);
  const wholeElsewhere = `    def pretrain(self):
        return torch.optim.Adam(self.module.parameters())`;
  assert.deepEqual(ids(vaeTrainer('self.module.vae.encoder.parameters()', wholeElsewhere), 'TL028'), []);
  // Fine-tuning a pretrained encoder for classification: the decoder does not run in training.
  const finetune = `${HEADER}
ae = load_autoencoder("ae.pt")
head = nn.Linear(16, 10)
opt = torch.optim.Adam(list(ae.encoder.parameters()) + list(head.parameters()), lr=1e-4)
for x, y in loader:
    opt.zero_grad()
    loss = F.cross_entropy(head(ae.encoder(x)), y)
    loss.backward()
    opt.step()
`;
  assert.deepEqual(ids(finetune, 'TL028'), []);
  // Not an autoencoder by name: a contrastive model's encoder alone is a common choice.
  assert.deepEqual(ids(vaeTrainer('self.module.simclr.encoder.parameters()').replace('vae.elbo', 'simclr.loss'), 'TL028'), []);
});

// ---- TL015: the best state kept on the instance, for the caller ----

const bestOnSelf = (keep: string, after = '') => `${HEADER}
class Base:
    def _train_model(self, loader, val_loader):
        self.best_model_dict = None
        self.best_loss = float("inf")
        for epoch in range(self.epochs):
            for x, y in loader:
                self.optimizer.zero_grad()
                loss = F.mse_loss(self.model(x), y)
                loss.backward()
                self.optimizer.step()
            val = self.evaluate(val_loader)
            if val < self.best_loss:
                self.best_loss = val
                self.best_model_dict = ${keep}
        if self.best_model_dict is None:
            raise RuntimeError("not trained")
${after}
`;

test('TL015: self.best_state = model.state_dict() in the training loop, loaded by the caller, is reported', () => {
  assert.deepEqual(ids(bestOnSelf('self.model.state_dict()'), 'TL015'), ['TL015']);
  assert.deepEqual(ids(bestOnSelf('self.model.state_dict().copy()'), 'TL015'), ['TL015']);
});

test('TL015: a copied best state, one saved on the spot, or a name without "best" is quiet', () => {
  assert.deepEqual(ids(bestOnSelf('copy.deepcopy(self.model.state_dict())'), 'TL015'), []);
  assert.deepEqual(ids(bestOnSelf('{k: v.detach().clone() for k, v in self.model.state_dict().items()}'), 'TL015'), []);
  const saved = `    def save_best(self, path):
        torch.save(self.best_model_dict, path)`;
  // Read in another way in the file (saved from a method): the existing checks decide, not the instance rule.
  assert.deepEqual(ids(bestOnSelf('self.model.state_dict()', saved), 'TL015'), []);
  assert.deepEqual(ids(bestOnSelf('self.model.state_dict()').replace(/best_model_dict/g, 'last_state'), 'TL015'), []);
  // Not a training loop: picking a checkpoint among saved models.
  const picking = `${HEADER}
class Picker:
    def pick(self, paths):
        best = 0
        for p in paths:
            self.model.load_state_dict(torch.load(p))
            acc = self.evaluate()
            if acc > best:
                best = acc
                self.best_state = self.model.state_dict()
`;
  assert.deepEqual(ids(picking, 'TL015'), []);
});

// ---- TL001: a one-batch step method that resets only one of its optimizers ----

const gan = (resets: string, extraMethod = '') => `${HEADER}
class Disc(nn.Module):
    def __init__(self, lr):
        super().__init__()
        self.fc = nn.Linear(16, 1)
        self.optimizer = torch.optim.Adam(self.parameters(), lr=lr)

class Gen(nn.Module):
    def __init__(self, lr):
        super().__init__()
        self.fc = nn.Linear(8, 16)
        self.optimizer = torch.optim.Adam(self.parameters(), lr=lr)

class GAN:
    def __init__(self, lr):
        self.gen = Gen(lr).to("cuda")
        self.disc = Disc(lr).to("cuda")
        self.bce = nn.BCEWithLogitsLoss()

    def step(self, real):
${resets}
        d_loss = self.bce(self.disc(real), torch.ones(len(real), 1))
        fake = self.gen(torch.randn(len(real), 8))
        d_loss = d_loss + self.bce(self.disc(fake.detach()), torch.zeros(len(real), 1))
        d_loss.backward()
        self.disc.optimizer.step()
        self.gen.zero_grad()
        g_loss = self.bce(self.disc(fake), torch.ones(len(real), 1))
        g_loss.backward()
        self.gen.optimizer.step()
        return d_loss.item(), g_loss.item()
${extraMethod}
`;

test('TL001: a GAN step method that resets the generator only is reported at the discriminator step', () => {
  const found = ids(gan(''), 'TL001');
  assert.deepEqual(found, ['TL001']);
  const optimizers = `${HEADER}
def train_pair(netG, netD, optG, optD, real):
    lossD = netD(real).mean() - netD(netG(torch.randn(4, 8)).detach()).mean()
    lossD.backward()
    optD.step()
    optG.zero_grad()
    lossG = -netD(netG(torch.randn(4, 8))).mean()
    lossG.backward()
    optG.step()
`;
  // The optimizers are parameters: their models are unknown, so the reset may cover both.
  assert.deepEqual(ids(optimizers, 'TL001'), []);
  const built = `${HEADER}
netG = nn.Linear(8, 16)
netD = nn.Linear(16, 1)
optG = torch.optim.Adam(netG.parameters())
optD = torch.optim.Adam(netD.parameters())
def train_pair(real):
    lossD = netD(real).mean() - netD(netG(torch.randn(4, 8)).detach()).mean()
    lossD.backward()
    optD.step()
    optG.zero_grad()
    lossG = -netD(netG(torch.randn(4, 8))).mean()
    lossG.backward()
    optG.step()
`;
  assert.deepEqual(ids(built, 'TL001'), ['TL001']);
});

test('TL001: a step method resetting both, another method resetting, or a caller resetting is quiet', () => {
  assert.deepEqual(ids(gan('        self.disc.zero_grad()'), 'TL001'), []);
  assert.deepEqual(ids(gan('        self.disc.optimizer.zero_grad()'), 'TL001'), []);
  const hook = `    def zero_all(self):
        self.disc.zero_grad()`;
  assert.deepEqual(ids(gan('', hook), 'TL001'), []);
  const caller = `
def fit(gan, loader):
    for real in loader:
        gan.disc.optimizer.zero_grad()
        gan.step(real)`;
  assert.deepEqual(ids(gan('', caller), 'TL001'), []);
  // No reset at all in the method: nothing says it is a whole iteration (a caller may reset), stays quiet.
  assert.deepEqual(ids(gan('').replace('        self.gen.zero_grad()\n', ''), 'TL001'), []);
});

// ---- TL023: a target network that is the online network; the Double DQN target ----

const ddqn = (target: string, nextQ = 'self.target_net(s2).gather(1, self.policy_net(s2).max(1)[1].unsqueeze(1))') => `${HEADER}
class Agent:
    def __init__(self, models, lr):
        self.policy_net = models["q"].to("cuda")
        self.target_net = ${target}
        self.optimizer = torch.optim.Adam(self.policy_net.parameters(), lr=lr)

    def update(self, s, a, r, s2, done):
        q = self.policy_net(s).gather(1, a)
        next_q = ${nextQ}
        expected = r + 0.99 * next_q * (1 - done)
        loss = nn.MSELoss()(q, expected)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
`;

test('TL023: a target network bound to the same object as the online one is reported', () => {
  assert.deepEqual(ids(ddqn('models["q"].to("cuda")'), 'TL023'), ['TL023']);
  assert.deepEqual(ids(ddqn('self.policy_net'), 'TL023'), ['TL023']);
  assert.deepEqual(ids(ddqn('models["q"]', 'self.target_net(s2).max(1)[0].unsqueeze(1)'), 'TL023'), ['TL023']);
  // The Double DQN target from the online network itself.
  assert.deepEqual(ids(ddqn('copy.deepcopy(self.policy_net)', 'self.policy_net(s2).gather(1, self.policy_net(s2).argmax(1, keepdim=True))'), 'TL023'), ['TL023']);
});

test('TL023: a separate target network, a detached target, or a gather by the taken action is quiet', () => {
  assert.deepEqual(ids(ddqn('copy.deepcopy(self.policy_net)'), 'TL023'), []);
  assert.deepEqual(ids(ddqn('models["target"].to("cuda")'), 'TL023'), []);
  assert.deepEqual(ids(ddqn('QNet().to("cuda")'), 'TL023'), []);
  assert.deepEqual(ids(ddqn('models["q"]', 'self.target_net(s2).detach().gather(1, self.policy_net(s2).max(1)[1].unsqueeze(1))'), 'TL023'), []);
  // SARSA-like: the next action is given, not an argmax; not the Double DQN shape.
  assert.deepEqual(ids(ddqn('copy.deepcopy(self.policy_net)', 'self.policy_net(s2).gather(1, a2)'), 'TL023'), []);
});
