import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, lint, useParser } from './lint/helpers';

useParser();

const CLASSES = `
class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 32)
    def forward(self, x):
        return torch.relu(self.fc(x))

class CenterLoss(nn.Module):
    def __init__(self, num_classes, dim):
        super().__init__()
        self.centers = nn.Parameter(torch.randn(num_classes, dim))
    def forward(self, feats, labels):
        return ((feats - self.centers[labels]) ** 2).sum(1).mean()
`;

/** A script: the classes, `setup` at module level, then a training loop with `step` as its loss line. */
const script = (setup: string, lossLine = 'loss = criterion(head(model(x)), y)') => `${HEADER}${CLASSES}
${setup}
criterion = nn.CrossEntropyLoss()
for x, y in train_loader:
    optimizer.zero_grad()
    ${lossLine}
    loss.backward()
    optimizer.step()
`;

const HEAD = 'model = Encoder().to(device)\nhead = nn.Linear(32, 10).to(device)\n';

test('TL028: a head built next to the model, called in training, missing from the optimizer', () => {
  const code = script(`${HEAD}optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)`);
  const f = lint(code).filter((x) => x.rule === 'TL028');
  assert.equal(f.length, 1);
  assert.equal(f[0]!.severity, 'warning');
  assert.match(f[0]!.message, /^`head` has parameters and is used in training, but no optimizer is given them/);
  assert.equal(f[0]!.range.start.line, code.split('\n').findIndex((l) => l.startsWith('head = ')));
});

test('TL028: a loss module with learnable centres, passed to a training function of the file', () => {
  const code = `${HEADER}${CLASSES}
def train_epoch(model, center_loss, loader, optimizer):
    model.train()
    for x, y in loader:
        feats, logits = model(x)
        loss = F.cross_entropy(logits, y) + 0.01 * center_loss(feats, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

def main():
    model = Encoder()
    center_loss = CenterLoss(10, 32).cuda()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for epoch in range(10):
        train_epoch(model, center_loss, train_loader, optimizer)
`;
  assert.deepEqual(ids(code, 'TL028'), ['TL028']);
});

test('TL028: the head is found through the function a training step helper calls', () => {
  const code = `${HEADER}${CLASSES}
class LossCompute:
    def __init__(self, criterion, opt):
        self.criterion = criterion
        self.opt = opt
    def __call__(self, logits, y):
        loss = self.criterion(logits, y)
        loss.backward()
        self.opt.step()
        self.opt.zero_grad()

model = Encoder()
clf_head = nn.Sequential(nn.Dropout(0.1), nn.Linear(32, 2))
model_opt = torch.optim.Adam(model.parameters(), lr=6.25e-5)
compute_loss = LossCompute(nn.CrossEntropyLoss(), model_opt)

def run_epoch():
    for x, y in train_loader:
        model.train()
        compute_loss(clf_head(model(x)), y)
`;
  assert.deepEqual(ids(code, 'TL028'), ['TL028']);
});

test('TL028: parameter groups naming parts of the model leave one part of its forward out', () => {
  const code = `${HEADER}
class Tracker(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU())
        self.down = nn.Conv2d(16, 8, 1)
        self.head = nn.Linear(8, 4)
        self.act = nn.ReLU()
    def forward(self, x):
        f = self.act(self.down(self.backbone(x)))
        return self.head(f.mean((2, 3)))

model = Tracker()
optimizer = torch.optim.SGD([
    {'params': model.backbone.parameters(), 'lr': 1e-4},
    {'params': model.head.parameters()},
], lr=1e-2, momentum=0.9)
`;
  const f = lint(code).filter((x) => x.rule === 'TL028');
  assert.equal(f.length, 1);
  assert.match(f[0]!.message, /^`model\.down` has parameters and runs in Tracker\.forward, but none of this optimizer's parameter groups holds it/);
  // `act` (no parameters) is not reported; all parts listed, or the part frozen on purpose: quiet
  const all = code.replace("{'params': model.head.parameters()},", "{'params': model.head.parameters()},\n    {'params': model.down.parameters()},");
  assert.deepEqual(ids(all, 'TL028'), []);
  assert.deepEqual(ids(code.replace('model = Tracker()', 'model = Tracker()\nmodel.down.requires_grad_(False)'), 'TL028'), []);
  assert.deepEqual(ids(code.replace("    {'params': model.head.parameters()},\n", "    {'params': model.head.parameters()},\n    {'params': [p for n, p in model.named_parameters() if 'down' in n]},\n"), 'TL028'), []);
});

test('TL028: look-alikes that give the optimizer every module, or keep one fixed on purpose, stay quiet', () => {
  const quiet = [
    // both given, in the ways people write it
    `${HEAD}optimizer = torch.optim.Adam(list(model.parameters()) + list(head.parameters()), lr=1e-3)`,
    `${HEAD}optimizer = torch.optim.Adam(itertools.chain(model.parameters(), head.parameters()))`,
    `${HEAD}params = [{'params': model.parameters()}, {'params': head.parameters(), 'lr': 1e-2}]\noptimizer = torch.optim.SGD(params, lr=1e-3)`,
    `${HEAD}optimizer = torch.optim.Adam(model.parameters())\noptimizer.add_param_group({'params': head.parameters()})`,
    // wrapped in a container or attached to the model
    `${HEAD}full = nn.Sequential(model, head)\noptimizer = torch.optim.Adam(full.parameters())`,
    `${HEAD}model.head = head\noptimizer = torch.optim.Adam(model.parameters())`,
    // frozen, loaded, or run under no_grad: fixed on purpose (a teacher, a target network, a perceptual loss)
    `${HEAD}head.requires_grad_(False)\noptimizer = torch.optim.Adam(model.parameters())`,
    `${HEAD}head.load_state_dict(torch.load('head.pt'))\noptimizer = torch.optim.Adam(model.parameters())`,
    `${HEAD}for p in head.parameters():\n    p.requires_grad = False\noptimizer = torch.optim.Adam(model.parameters())`,
    // built from the model: may share (tie) its weights
    'model = Encoder()\nhead = TiedHead(model)\noptimizer = torch.optim.Adam(model.parameters())',
    // a module without parameters, an imported class (unknown), a loss
    'model = Encoder()\nhead = nn.Sequential(nn.ReLU(), nn.Dropout(0.5))\noptimizer = torch.optim.Adam(model.parameters())',
    'model = Encoder()\nhead = ImportedHead(32, 10)\noptimizer = torch.optim.Adam(model.parameters())',
  ];
  for (const setup of quiet) assert.deepEqual(ids(script(setup), 'TL028'), [], setup);
  // the head's output detached, or the head only used under no_grad
  const setup = `${HEAD}optimizer = torch.optim.Adam(model.parameters())`;
  assert.deepEqual(ids(script(setup, 'loss = criterion(model(x), head(x.view(-1, 32)).detach())'), 'TL028'), []);
  const teacher = script(setup, 'with torch.no_grad():\n        t = head(model(x))\n    loss = criterion(model(x), t.argmax(1))');
  assert.deepEqual(ids(teacher, 'TL028'), []);
  // no training in the file, or a one-part fine-tuning optimizer (the rest frozen by leaving it out)
  assert.deepEqual(ids(`${HEADER}${CLASSES}\n${setup}\nwith torch.no_grad():\n    print(head(model(x)))\n`, 'TL028'), []);
});

test('TL028: one part given alone is fine-tuning on purpose, not a forgotten group', () => {
  const code = `${HEADER}
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU())
        self.fc = nn.Linear(16, 4)
    def forward(self, x):
        return self.fc(self.features(x).mean((2, 3)))

model = Net()
model.load_state_dict(torch.load('pretrained.pt'))
optimizer = torch.optim.SGD(model.fc.parameters(), lr=1e-3)
`;
  assert.deepEqual(ids(code, 'TL028'), []);
});

const BUILDER = `${HEADER}
class Builder(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU())
        self.neck = nn.Conv2d(16, 16, 1)
        self.fuse = nn.ConvTranspose2d(32, 16, 1)
        self.head = nn.Conv2d(16, 2, 1)
    def forward(self, z, x):
        f = torch.cat([self.neck(self.backbone(z)), self.neck(self.backbone(x))], 1)
        return self.head(self.fuse(f))

def build_opt(model, epoch):
    if epoch < 10:
        for p in model.backbone.parameters():
            p.requires_grad = False
    groups = []
    groups += [{'params': filter(lambda p: p.requires_grad, model.backbone.parameters()), 'lr': 1e-4}]
    groups += [{'params': model.neck.parameters(), 'lr': 1e-3}]
    groups.append({'params': model.head.parameters(), 'lr': 1e-3})
    for name, p in model.named_parameters():
        print(name, p.requires_grad)
    return torch.optim.SGD(groups, momentum=0.9)

def main():
    model = Builder().train()
    wrapped = nn.DataParallel(model).cuda()
    optimizer = build_opt(wrapped.module, 0)
    if resume:
        model, optimizer = restore(model, optimizer)
    for epoch in range(20):
        optimizer = build_opt(model, epoch)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
    print(sum(p.numel() for p in model.parameters()))
`;

test('TL028: groups built up in a list inside a builder function, the model reached through DataParallel.module', () => {
  const f = lint(BUILDER).filter((x) => x.rule === 'TL028');
  assert.equal(f.length, 1);
  assert.match(f[0]!.message, /^`model\.fuse` has parameters and runs in Builder\.forward/);
});

test('TL028: a list of groups that something else extends, or the whole model given elsewhere, is quiet', () => {
  assert.deepEqual(ids(BUILDER.replace("    groups.append({'params': model.head.parameters(), 'lr': 1e-3})\n", "    groups.append({'params': model.head.parameters(), 'lr': 1e-3})\n    groups.extend(extra_groups(model))\n"), 'TL028'), []);
  assert.deepEqual(ids(BUILDER.replace('    print(sum(p.numel() for p in model.parameters()))\n', '    swa = torch.optim.SGD(model.parameters(), lr=0.01)\n'), 'TL028'), []);
  assert.deepEqual(ids(BUILDER.replace("    groups.append({'params': model.head.parameters(), 'lr': 1e-3})\n", "    groups.append({'params': model.head.parameters(), 'lr': 1e-3})\n    groups.append({'params': model.fuse.parameters()})\n"), 'TL028'), []);
});
