// Training-loop shapes from recall round 7: an epoch schedule built in a helper that returns a tuple, stepped in a
// loop over a DataLoader that another helper returns, and a LambdaLR whose function is written in epochs (HP003);
// the same module's parameters given twice where another module was meant (TL028); ReduceLROnPlateau stepped with a
// rounded or scaled loss (HP005).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, useParser } from './lint/helpers';

useParser();

const HELPER_TUPLE = `${HEADER}
from torch import optim

def prepare(model):
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=20, gamma=0.5)
    return optimizer, scheduler

def fit(optimizer, scheduler, model, samples):
    for epoch in range(60):
        for x, y in samples:
            loss = F.mse_loss(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()

def load(train_set, val_set):
    samples = DataLoader(train_set, batch_size=64, shuffle=True)
    held = DataLoader(val_set, batch_size=64)
    return len(train_set), samples, held

def main(model, train_set, val_set):
    n, samples, held = load(train_set, val_set)
    optimizer, scheduler = prepare(model)
    fit(optimizer, scheduler, model, samples)
`;

test('HP003: an epoch schedule a helper returns in a tuple, stepped per batch of a DataLoader a helper returns', () => {
  assert.deepEqual(ids(HELPER_TUPLE, 'HP003'), ['HP003']);
  // the same, with the helper's tuple unpacked where the loop runs
  const local = HELPER_TUPLE.replace('def fit(optimizer, scheduler, model, samples):\n', 'def fit(model, samples):\n    optimizer, scheduler = prepare(model)\n').replace(
    'fit(optimizer, scheduler, model, samples)',
    'fit(model, samples)',
  );
  assert.deepEqual(ids(local, 'HP003'), ['HP003']);
  // a returned scheduler that is not an epoch schedule: quiet
  assert.deepEqual(ids(HELPER_TUPLE.replace('StepLR(optimizer, step_size=20, gamma=0.5)', 'OneCycleLR(optimizer, max_lr=0.1, total_steps=6000)'), 'HP003'), []);
  // the helper returns the scheduler from two branches that disagree: quiet
  const branches = HELPER_TUPLE.replace('    return optimizer, scheduler\n', '    if model.fast:\n        return optimizer, optim.lr_scheduler.OneCycleLR(optimizer, 0.1, total_steps=9)\n    return optimizer, scheduler\n');
  assert.deepEqual(ids(branches, 'HP003'), []);
  // stepped per epoch: quiet
  assert.deepEqual(ids(HELPER_TUPLE.replace('            scheduler.step()', '        scheduler.step()'), 'HP003'), []);
});

test('HP003: a loop over a name that says nothing is a batch loop only when it holds a DataLoader', () => {
  // the helper returns something else there: quiet
  assert.deepEqual(ids(HELPER_TUPLE.replace('return len(train_set), samples, held', 'return len(train_set), list(train_set), held'), 'HP003'), []);
  // a parameter no call site shows: quiet
  assert.deepEqual(ids(HELPER_TUPLE.replace('    fit(optimizer, scheduler, model, samples)\n', ''), 'HP003'), []);
  // full-batch training over the runs of an experiment: quiet
  const runs = `${HEADER}
from torch import optim

def fit(model, x, y, seeds):
    for seed in seeds:
        optimizer = optim.Adam(model.parameters(), lr=1e-3)
        scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=20, gamma=0.5)
        for epoch in range(200):
            loss = F.mse_loss(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
`;
  assert.deepEqual(ids(runs, 'HP003'), []);
});

const LAMBDA_EPOCHS = `${HEADER}
import math

def train(model, train_loader, args):
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)

    def schedule(epoch):
        if epoch < args.warmup_epochs:
            return (epoch + 1) / args.warmup_epochs
        return 0.5 * (1 + math.cos(math.pi * epoch / args.epochs))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda=schedule)
    for epoch in range(args.epochs):
        for images, labels in train_loader:
            loss = F.cross_entropy(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
`;

test('HP003: a LambdaLR whose function measures its count in epochs, stepped per batch', () => {
  assert.deepEqual(ids(LAMBDA_EPOCHS, 'HP003'), ['HP003']);
  // a lambda expression, positional
  const lam = LAMBDA_EPOCHS.replace('lr_lambda=schedule', 'lambda e: min(1.0, (e + 1) / args.warmup_epochs)');
  assert.deepEqual(ids(lam, 'HP003'), ['HP003']);
  // the function counts steps: quiet
  const steps = LAMBDA_EPOCHS.replace('args.warmup_epochs:', 'args.warmup_steps:').replace('/ args.warmup_epochs', '/ args.warmup_steps');
  assert.deepEqual(ids(steps, 'HP003'), []);
  // the epochs are turned into batches inside: quiet
  assert.deepEqual(ids(LAMBDA_EPOCHS.replace('epoch / args.epochs', 'epoch / (args.epochs * len(train_loader))'), 'HP003'), []);
  // stepped once per epoch: quiet
  assert.deepEqual(ids(LAMBDA_EPOCHS.replace('            scheduler.step()', '        scheduler.step()'), 'HP003'), []);
  // a plain decay with no length in epochs (`0.95 ** epoch`): quiet (people write that per step too)
  assert.deepEqual(ids(LAMBDA_EPOCHS.replace('lr_lambda=schedule', 'lr_lambda=lambda epoch: 0.95 ** epoch'), 'HP003'), []);
});

const PLATEAU_ROUNDED = `${HEADER}
import math

def fit(model, optimizer, train_loader, val_loader, evaluate):
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, 'max', patience=5)
    for epoch in range(50):
        for x, y in train_loader:
            optimizer.zero_grad()
            F.cross_entropy(model(x), y).backward()
            optimizer.step()
        val_loss = evaluate(model, val_loader)
        scheduler.step(math.ceil(val_loss * 1000.0) / 1000.0)
`;

test('HP005: a rounded or scaled loss keeps its direction', () => {
  assert.deepEqual(ids(PLATEAU_ROUNDED, 'HP005'), ['HP005']);
  assert.deepEqual(ids(PLATEAU_ROUNDED.replace('math.ceil(val_loss * 1000.0) / 1000.0', 'round(val_loss, 4)'), 'HP005'), ['HP005']);
  assert.deepEqual(ids(PLATEAU_ROUNDED.replace('math.ceil(val_loss * 1000.0) / 1000.0', '100 * val_loss'), 'HP005'), ['HP005']);
  // a negative factor or an inverse turns it into a score: quiet
  assert.deepEqual(ids(PLATEAU_ROUNDED.replace('math.ceil(val_loss * 1000.0) / 1000.0', 'val_loss * -1.0'), 'HP005'), []);
  assert.deepEqual(ids(PLATEAU_ROUNDED.replace('math.ceil(val_loss * 1000.0) / 1000.0', '1.0 / val_loss'), 'HP005'), []);
  // negated inside the rounding: a score, right for 'max'
  assert.deepEqual(ids(PLATEAU_ROUNDED.replace('math.ceil(val_loss * 1000.0) / 1000.0', 'round(-val_loss, 3)'), 'HP005'), []);
  // mode 'min' with the rounded loss: right
  assert.deepEqual(ids(PLATEAU_ROUNDED.replace("'max'", "'min'"), 'HP005'), []);
});

const DISC_LIST = `${HEADER}
import itertools

def build_optimizers(gen, period_disc, scale_disc):
    opt_g = torch.optim.AdamW(gen.parameters(), lr=2e-4)
    disc_params = list(scale_disc.parameters()) + list(scale_disc.parameters())
    opt_d = torch.optim.AdamW(disc_params, lr=2e-4)
    return opt_g, opt_d
`;

test('TL028: one module’s parameters given twice in one optimizer list', () => {
  assert.deepEqual(ids(DISC_LIST, 'TL028'), ['TL028']);
  // inline, through itertools.chain
  const chained = DISC_LIST.replace('list(scale_disc.parameters()) + list(scale_disc.parameters())', 'itertools.chain(scale_disc.parameters(), scale_disc.parameters())');
  assert.deepEqual(ids(chained, 'TL028'), ['TL028']);
  // a factory given params=: still an optimizer
  assert.deepEqual(ids(DISC_LIST.replace('torch.optim.AdamW(disc_params, lr=2e-4)', 'instantiate(cfg.opt, params=disc_params)'), 'TL028'), ['TL028']);
  // two different modules: right
  assert.deepEqual(ids(DISC_LIST.replace('list(scale_disc.parameters()) + list(scale_disc.parameters())', 'list(period_disc.parameters()) + list(scale_disc.parameters())'), 'TL028'), []);
  // the doubled list is only counted, never given to an optimizer: not this rule
  const counted = DISC_LIST.replace('    opt_d = torch.optim.AdamW(disc_params, lr=2e-4)\n', '    print(len(disc_params))\n    opt_d = torch.optim.AdamW(scale_disc.parameters(), lr=2e-4)\n');
  assert.deepEqual(ids(counted, 'TL028'), []);
});

const TWIN_GAN = `${HEADER}
def train_gan(opt, loader, make_gen, make_disc):
    generator = make_gen(opt)
    discriminator = make_disc(opt)
    optimizer_g = torch.optim.Adam(generator.parameters(), lr=opt.lr_g)
    optimizer_d = torch.optim.Adam(generator.parameters(), lr=opt.lr_d)
    for epoch in range(opt.epochs):
        for real, cond in loader:
            optimizer_d.zero_grad()
            fake = generator(cond)
            loss_d = discriminator(fake.detach()).mean() - discriminator(real).mean()
            loss_d.backward()
            optimizer_d.step()
            optimizer_g.zero_grad()
            loss_g = -discriminator(generator(cond)).mean()
            loss_g.backward()
            optimizer_g.step()
`;

test('TL028: two optimizers named for two modules, both built on the first one', () => {
  assert.deepEqual(ids(TWIN_GAN, 'TL028'), ['TL028']);
  // in a class, with self attributes and camel-case names
  const cls = `${HEADER}
class Trainer:
    def __init__(self, netG, netD):
        self.netG = netG
        self.netD = netD
        self.opt_G = torch.optim.Adam(self.netG.parameters(), lr=2e-4)
        self.opt_D = torch.optim.Adam(self.netG.parameters(), lr=2e-4)

    def step(self, real, z):
        self.opt_D.zero_grad()
        loss_d = F.softplus(self.netD(self.netG(z).detach())).mean() + F.softplus(-self.netD(real)).mean()
        loss_d.backward()
        self.opt_D.step()
`;
  assert.deepEqual(ids(cls, 'TL028'), ['TL028']);
  // built on the discriminator: right
  assert.deepEqual(ids(TWIN_GAN.replace('optimizer_d = torch.optim.Adam(generator.parameters()', 'optimizer_d = torch.optim.Adam(discriminator.parameters()'), 'TL028'), []);
  // alternatives in two branches: quiet
  const branches = TWIN_GAN.replace(
    '    optimizer_g = torch.optim.Adam(generator.parameters(), lr=opt.lr_g)\n    optimizer_d = torch.optim.Adam(generator.parameters(), lr=opt.lr_d)\n',
    '    if opt.sgd:\n        optimizer_g = torch.optim.SGD(generator.parameters(), lr=opt.lr_g)\n    else:\n        optimizer_d = torch.optim.Adam(generator.parameters(), lr=opt.lr_d)\n',
  );
  assert.deepEqual(ids(branches, 'TL028'), []);
  // the discriminator's parameters are given elsewhere: quiet
  const added = TWIN_GAN.replace('    for epoch in', "    optimizer_d.add_param_group({'params': discriminator.parameters()})\n    for epoch in");
  assert.deepEqual(ids(added, 'TL028'), []);
  // names that do not point at another module (`opt_a`, `opt_b`): quiet
  assert.deepEqual(ids(TWIN_GAN.replace(/optimizer_g/g, 'opt_a').replace(/optimizer_d/g, 'opt_b'), 'TL028'), []);
});
