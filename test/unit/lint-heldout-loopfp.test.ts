// Precision fixes from the third sweep (session 11): a GAN generator stepped every n_critic batches with its own
// backward in the same `if` (TL020); a loop over a literal list of phases whose update runs only for 'train'
// (TL010); a training loader over a Dataset whose rows are all random draws (DT001).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, useParser } from './lint/helpers';

useParser();

// ---- TL020: the guarded step's own backward in the same if ----

const critic = (generatorPart: string) => `${HEADER}
gen = nn.Linear(8, 16)
disc = nn.Linear(16, 1)
opt_g = torch.optim.Adam(gen.parameters(), lr=1e-4)
opt_d = torch.optim.Adam(disc.parameters(), lr=1e-4)
for epoch in range(10):
    for i, real in enumerate(loader):
        opt_d.zero_grad()
        fake = gen(torch.randn(real.size(0), 8))
        d_loss = disc(fake).mean() - disc(real).mean()
        d_loss.backward()
        opt_d.step()
${generatorPart}`;

test('TL020: a generator step every n_critic batches with its backward in the same if is quiet', () => {
  const gated = `        opt_g.zero_grad()
        if i % n_critic == 0:
            g_loss = -disc(gen(torch.randn(real.size(0), 8))).mean()
            g_loss.backward()
            opt_g.step()
`;
  assert.deepEqual(ids(critic(gated), 'TL020'), []);
  // The reset at the top of the iteration, the critic's backward in between: it is cleared by opt_g's own reset only
  // when that reset comes after it, so here the critic's backward reaches the generator's step.
  const resetFirst = `${HEADER}
for epoch in range(10):
    for i, real in enumerate(loader):
        opt_g.zero_grad()
        d_loss = disc(gen(torch.randn(4, 8))).mean()
        d_loss.backward()
        if i % n_critic == 0:
            g_loss = -disc(gen(torch.randn(4, 8))).mean()
            g_loss.backward()
            opt_g.step()
`;
  assert.deepEqual(ids(resetFirst, 'TL020'), ['TL020']);
  // The reset after the if in the body: the path round the loop to the step has no other backward.
  const resetLast = `${HEADER}
for epoch in range(10):
    for i, x in enumerate(loader):
        if i % n_critic == 0:
            loss = model(x).mean()
            loss.backward()
            optimizer.step()
        optimizer.zero_grad()
`;
  assert.deepEqual(ids(resetLast, 'TL020'), []);
});

test('TL020: accumulation with a backward every batch and a reset every batch is still reported', () => {
  const accumulate = `${HEADER}
for i, (x, y) in enumerate(loader):
    optimizer.zero_grad()
    loss = F.cross_entropy(model(x), y) / accum
    loss.backward()
    if (i + 1) % accum == 0:
        optimizer.step()
`;
  assert.deepEqual(ids(accumulate, 'TL020'), ['TL020']);
  // A backward in the if but after the step does not feed it.
  const after = `${HEADER}
for i, (x, y) in enumerate(loader):
    optimizer.zero_grad()
    loss = F.cross_entropy(model(x), y) / accum
    loss.backward()
    if (i + 1) % accum == 0:
        optimizer.step()
        extra = model(x).sum()
        extra.backward()
`;
  assert.deepEqual(ids(after, 'TL020'), ['TL020']);
  // The generator shape, but the critic's backward sits between the generator's reset and the if.
  const leaky = `        opt_g.zero_grad()
        aux = gen(torch.randn(4, 8)).pow(2).mean()
        aux.backward()
        if i % n_critic == 0:
            g_loss = -disc(gen(torch.randn(4, 8))).mean()
            g_loss.backward()
            opt_g.step()
`;
  assert.deepEqual(ids(critic(leaky), 'TL020'), ['TL020']);
});

// ---- TL010: a literal list of phases, the update only for 'train' ----

test("TL010: for phase, loader in [('train', ...), ('val', ...)] with the update under if phase == 'train' is quiet", () => {
  const rows = `${HEADER}
def fit(model, train_loader, val_loader, optimizer):
    for phase, loader in [('train', train_loader), ('val', val_loader)]:
        model.train(phase == 'train')
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            if phase == 'train':
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
`;
  assert.deepEqual(ids(rows, 'TL010'), []);
  // zip of two literal lists, a flag assigned in the body, and `continue` for the held-out phase
  const zipped = `${HEADER}
for loader, training in zip([train_loader, valid_loader], [True, False]):
    for x, y in loader:
        update = training and epoch > 0
        loss = F.cross_entropy(model(x), y)
        if not update:
            continue
        loss.backward()
        optimizer.step()
`;
  assert.deepEqual(ids(zipped, 'TL010'), []);
  const items = `${HEADER}
for name, dl in {'train': train_dl, 'test': test_dl}.items():
    for x, y in dl:
        loss = F.cross_entropy(model(x), y)
        if name in ('train',):
            loss.backward()
            optimizer.step()
`;
  assert.deepEqual(ids(items, 'TL010'), []);
  // the classic `for phase in ['train', 'val']` over dataloaders[phase] stays quiet too
  const classic = `${HEADER}
for phase in ['train', 'val']:
    for x, y in dataloaders[phase]:
        with torch.set_grad_enabled(phase == 'train'):
            loss = F.cross_entropy(model(x), y)
            if phase == 'train':
                loss.backward()
                optimizer.step()
`;
  assert.deepEqual(ids(classic, 'TL010'), []);
});

test('TL010: a phase loop whose guard lets the held-out element update is still reported', () => {
  // the guard is true for 'val' too
  const wrongGuard = `${HEADER}
for phase, loader in [('train', train_loader), ('val', val_loader)]:
    for x, y in loader:
        loss = F.cross_entropy(model(x), y)
        if phase != 'test':
            loss.backward()
            optimizer.step()
`;
  assert.deepEqual(ids(wrongGuard, 'TL010'), ['TL010']);
  // no guard at all
  const unguarded = `${HEADER}
for phase, loader in [('train', train_loader), ('val', val_loader)]:
    for x, y in loader:
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
`;
  assert.deepEqual(ids(unguarded, 'TL010'), ['TL010']);
  // the guard reads a name the body rebinds: unknown, so the update counts
  const rebound = `${HEADER}
for phase, loader in [('train', train_loader), ('val', val_loader)]:
    for x, y in loader:
        phase = next_phase(phase)
        loss = F.cross_entropy(model(x), y)
        if phase == 'train':
            loss.backward()
            optimizer.step()
`;
  assert.deepEqual(ids(rebound, 'TL010'), ['TL010']);
  // a plain loop over the validation loader
  const plain = `${HEADER}
for x, y in val_loader:
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
`;
  assert.deepEqual(ids(plain, 'TL010'), ['TL010']);
});

// ---- DT001: a Dataset whose rows are all random draws ----

const randomDataset = (init: string, getitem = 'return self.data[index]') => `${HEADER}
from torch.utils.data import Dataset

class Noise(Dataset):
    def __init__(self, size, length):
        self.len = length
${init}

    def __getitem__(self, index):
        ${getitem}

    def __len__(self):
        return self.len

train_loader = DataLoader(Noise(32, 64), batch_size=2)
`;

test('DT001: a training loader over a Dataset of random rows is quiet', () => {
  assert.deepEqual(ids(randomDataset('        self.data = torch.randn(length, size)'), 'DT001'), []);
  const pair = '        self.data = np.random.rand(length, size).astype("float32")\n        self.labels = torch.randint(0, 2, (length,))';
  assert.deepEqual(ids(`import numpy as np\n${randomDataset(pair, 'return self.data[index], self.labels[index]')}`, 'DT001'), []);
  assert.deepEqual(ids(randomDataset('        self.data = torch.rand(length, size).float() * 2'), 'DT001'), []);
});

test('DT001: a Dataset with data that is not all random still needs shuffling', () => {
  // rows loaded from disk
  assert.deepEqual(ids(randomDataset('        self.data = torch.load("rows.pt")'), 'DT001'), ['DT001']);
  // random features but labels from a file
  const mixed = '        self.data = torch.randn(length, size)\n        self.labels = torch.load("labels.pt")';
  assert.deepEqual(ids(randomDataset(mixed, 'return self.data[index], self.labels[index]'), 'DT001'), ['DT001']);
  // random noise on top of loaded rows, read through another statement
  assert.deepEqual(ids(randomDataset('        self.data = torch.load("rows.pt") + torch.randn(length, size)'), 'DT001'), ['DT001']);
  const more = 'x = self.data[index]\n        return x * self.scale';
  assert.deepEqual(ids(randomDataset('        self.data = torch.randn(length, size)\n        self.scale = 2', more), 'DT001'), ['DT001']);
});
