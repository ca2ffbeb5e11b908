// Training-loop fixes from the research-code slice, the false-positive hunt and the mutation study: SWALR is a
// scheduler, timm's named accumulation flag, sweeps over devices, optimizer factories, AverageMeter, a step moved out
// of the batch loop (TL017, not TL001), optimizer.step() after scaler.unscale_. Each positive has a look-alike.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

const SWA = (step: string) => `${HEADER}from torch.optim.swa_utils import SWALR

def main(train_loader, epochs=60, swa_start=45):
    model = nn.Linear(10, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=swa_start)
    swa_scheduler = SWALR(optimizer, swa_lr=0.01)
    for epoch in range(epochs):
        for x, y in train_loader:
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if epoch >= swa_start:
            ${step}
        else:
            scheduler.step()
`;

test('TL001: SWALR.step() once per epoch is a scheduler step, not an optimizer step', () => {
  assert.deepEqual(ids(SWA('swa_scheduler.step()')), []);
  // Look-alike: a second real optimizer stepped per epoch with no reset is still reported.
  const code = SWA('opt2.step()').replace('swa_scheduler = SWALR(optimizer, swa_lr=0.01)', 'opt2 = torch.optim.Adam(model.parameters())\n    swa_scheduler = SWALR(optimizer, swa_lr=0.01)');
  assert.ok(ids(code, 'TL001').includes('TL001'));
});

const TIMM = (resetGuard: string) => `${HEADER}
model = nn.Linear(4, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
accum_steps = 2
optimizer.zero_grad()
for batch_idx, (x, y) in enumerate(loader):
    last_batch = batch_idx == len(loader) - 1
    need_update = last_batch or (batch_idx + 1) % accum_steps == 0
    need_log = batch_idx % 10 == 0

    def _backward(_loss):
        _loss.backward()
        if need_update:
            optimizer.step()

    loss = F.cross_entropy(model(x), y) / accum_steps
    _backward(loss)
    if not ${resetGuard}:
        continue
    optimizer.zero_grad()
`;

test('TL001: timm accumulation through a named flag (`if need_update: step()`, `if not need_update: continue`) is fine', () => {
  assert.deepEqual(ids(TIMM('need_update'), 'TL001'), []);
  // Look-alike: the reset is guarded by another window (every 10 batches): gradients do accumulate across steps.
  assert.deepEqual(ids(TIMM('need_log'), 'TL001'), ['TL001']);
});

const SWEEP = (header: string) => `${HEADER}import time
model = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 10))
criterion = nn.CrossEntropyLoss()
${header}
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
    model.to(device)
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x.to(device)), y.to(device))
        loss.backward()
        optimizer.step()
`;

test('TL013: one optimizer per device in a sweep loop is fine; per epoch it is a restart', () => {
  assert.deepEqual(ids(SWEEP("for device in ['cpu', 'cuda']:"), 'TL013'), []);
  assert.deepEqual(ids(SWEEP("device = 'cuda'\nfor epoch in range(10):"), 'TL013'), ['TL013']);
});

const FACTORY = (factoryBody: string, loopHead = 'for epoch in range(cfg["epochs"]):', modelLine = '') => `${HEADER}
def build_optimizer(cfg, model):
${factoryBody}

def main(cfg, train_loader):
    model = nn.Linear(10, 2)
    criterion = nn.CrossEntropyLoss()
    ${loopHead}
        ${modelLine}optimizer = build_optimizer(cfg, model)
        model.train()
        for x, y in train_loader:
            loss = criterion(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
`;

test('TL013: an optimizer factory of the file called in the epoch loop is reported at the call', () => {
  const f = lint(FACTORY('    return torch.optim.Adam(model.parameters(), lr=cfg["lr"])'), { select: ['TL013'] });
  assert.deepEqual(f.map((x) => x.rule), ['TL013']);
  assert.match(f[0]!.message, /^build_optimizer\(\) builds a new Adam inside the training loop/);
  const branches = '    if cfg["opt"] == "sgd":\n        return torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)\n    opt = torch.optim.AdamW(model.parameters())\n    return opt';
  assert.deepEqual(ids(FACTORY(branches), 'TL013'), ['TL013']);
});

test('TL013: factory look-alikes: returns something else, momentum-free SGD, a fresh model each run, called once', () => {
  assert.deepEqual(ids(FACTORY('    return make(model, cfg)'), 'TL013'), []);
  assert.deepEqual(ids(FACTORY('    return torch.optim.SGD(model.parameters(), lr=0.1)'), 'TL013'), []);
  const adam = '    return torch.optim.Adam(model.parameters(), lr=cfg["lr"])';
  assert.deepEqual(ids(FACTORY(adam, 'for epoch in range(cfg["epochs"]):', 'model = nn.Linear(10, 2)\n        '), 'TL013'), []);
  assert.deepEqual(ids(FACTORY(adam, 'for lr in [0.1, 0.01]:'), 'TL013'), []);
});

const METER = (update: string) => `${HEADER}
class AverageMeter:
    def __init__(self):
        self.val, self.sum, self.count, self.avg = 0, 0, 0, 0

    def update(self, val, n=1):
${update}

def train(loader, model, criterion, optimizer):
    losses = AverageMeter()
    model.train()
    for images, target in loader:
        loss = criterion(model(images), target)
        losses.update(loss, images.size(0))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
`;

test('TL008: the loss tensor passed to a file-local AverageMeter (self.sum += val * n) is reported; the fix adds .item()', () => {
  const code = METER('        self.val = val\n        self.sum += val * n\n        self.count += n\n        self.avg = self.sum / self.count');
  const f = lint(code, { select: ['TL008'] });
  assert.deepEqual(f.map((x) => x.rule), ['TL008']);
  assert.match(f[0]!.message, /passes the loss tensor into AverageMeter, whose running sum keeps its graph/);
  assert.match(fix(code, 'TL008'), /losses\.update\(loss\.item\(\), images\.size\(0\)\)/);
});

test('TL008: AverageMeter look-alikes: update converts to float, keeps only the last value, .item() passed', () => {
  assert.deepEqual(ids(METER('        val = float(val)\n        self.sum += val * n\n        self.count += n'), 'TL008'), []);
  assert.deepEqual(ids(METER('        self.sum += float(val) * n\n        self.count += n'), 'TL008'), []);
  assert.deepEqual(ids(METER('        self.val = val\n        self.count += n'), 'TL008'), []);
  const item = METER('        self.sum += val * n\n        self.count += n').replace('losses.update(loss,', 'losses.update(loss.item(),');
  assert.deepEqual(ids(item, 'TL008'), []);
});

const MOVED = (after: string) => `${HEADER}
model = nn.Linear(10, 2)
netG = nn.Linear(10, 2)
optimizer = torch.optim.Adam(model.parameters())
optG = torch.optim.Adam(netG.parameters())
for epoch in range(10):
    for i, (x, y) in enumerate(train_loader):
        model.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optG.zero_grad()
        F.mse_loss(netG(x), y).backward()
        optG.step()
${after}
`;

test('TL017 (not TL001): optimizer.step() moved after a batch loop that zero_grads every batch', () => {
  const f = lint(MOVED('    optimizer.step()'), { select: ['TL001', 'TL017'] });
  assert.deepEqual(f.map((x) => x.rule), ['TL017']);
  assert.match(f[0]!.message, /which resets optimizer's gradients every iteration: each update applies only the last batch's gradient/);
  // Look-alike: stepped in the batch loop and never reset: TL001's case, not TL017's.
  const never = MOVED('').replace('        model.zero_grad()\n', '').replace('        optG.step()', '        optG.step()\n        optimizer.step()');
  assert.deepEqual(ids(never, 'TL017'), []);
  assert.deepEqual(ids(never, 'TL001'), ['TL001']);
  // Look-alike: a reset right after the loop, before the step: not the last batch's gradient.
  assert.deepEqual(ids(MOVED('    optimizer.zero_grad()\n    F.mse_loss(model(x), y).backward()\n    optimizer.step()'), 'TL017'), []);
});

const AMP = (tail: string) => `${HEADER}
model = nn.Linear(10, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
criterion = nn.CrossEntropyLoss()
scaler = torch.amp.GradScaler("cuda")
for x, y in train_loader:
    optimizer.zero_grad()
    with torch.autocast("cuda"):
        loss = criterion(model(x), y)
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
${tail}
`;

test('TL019: optimizer.step() after scaler.unscale_ (scaler.update() kept) skips the inf/NaN check; the fix steps through the scaler', () => {
  const code = AMP('    optimizer.step()\n    scaler.update()');
  const f = lint(code, { select: ['TL019'] });
  assert.deepEqual(f.map((x) => [x.rule, x.severity]), [['TL019', 'error']]);
  assert.match(f[0]!.message, /^optimizer\.step\(\) after scaler\.unscale_\(optimizer\) applies steps whose gradients overflowed to inf\/NaN/);
  assert.match(fix(code, 'TL019'), /\n {4}scaler\.step\(optimizer\)\n {4}scaler\.update\(\)\n$/);
});

test('TL019: unscale_ look-alikes: scaler.step used, an own finiteness test around the step', () => {
  assert.deepEqual(ids(AMP('    scaler.step(optimizer)\n    scaler.update()'), 'TL019'), []);
  assert.deepEqual(ids(AMP('    if torch.isfinite(sum(p.grad.sum() for p in model.parameters())):\n        optimizer.step()\n    scaler.update()'), 'TL019'), []);
});

const LIT = (dStep: string) => `${HEADER}import pytorch_lightning as pl

class GAN(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.automatic_optimization = False
        self.G = nn.Linear(8, 4)
        self.D = nn.Linear(4, 1)

    def training_step(self, batch, batch_idx):
        opt_g, opt_d = self.optimizers()
        fake = self.G(torch.randn(batch.size(0), 8))
        d = self.D(batch)
        loss_d = F.binary_cross_entropy_with_logits(d, torch.ones_like(d))
${dStep}
        g = self.D(fake)
        loss_g = F.binary_cross_entropy_with_logits(g, torch.ones_like(g))
        opt_g.zero_grad()
        self.manual_backward(loss_g)
        opt_g.step()

    def configure_optimizers(self):
        opt_g = torch.optim.Adam(self.G.parameters())
        opt_d = torch.optim.Adam(self.D.parameters())
        return opt_g, opt_d
`;

test('TL001: Lightning manual optimization, training_step steps opt_d without opt_d.zero_grad()', () => {
  const f = lint(LIT('        self.manual_backward(loss_d)\n        opt_d.step()'), { select: ['TL001'] });
  assert.deepEqual(f.map((x) => x.rule), ['TL001']);
  assert.match(f[0]!.message, /^training_step \(manual optimization\) steps opt_d but its zero_grad\(\) calls reset other parameters: opt_d's gradients accumulate/);
});

test('TL001: Lightning look-alikes: opt_d reset, automatic optimization, a reset in another hook', () => {
  assert.deepEqual(ids(LIT('        opt_d.zero_grad()\n        self.manual_backward(loss_d)\n        opt_d.step()'), 'TL001'), []);
  const auto = LIT('        self.manual_backward(loss_d)\n        opt_d.step()').replace('        self.automatic_optimization = False\n', '');
  assert.deepEqual(ids(auto, 'TL001'), []);
  const hook = LIT('        self.manual_backward(loss_d)\n        opt_d.step()').replace(
    '    def configure_optimizers',
    '    def on_train_batch_start(self, batch, batch_idx):\n        self.optimizers()[1].zero_grad()\n\n    def configure_optimizers',
  );
  assert.deepEqual(ids(hook, 'TL001'), []);
});
