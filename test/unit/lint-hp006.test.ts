import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, lint, useParser } from './lint/helpers';

useParser();

const SETUP = 'model = nn.Linear(10, 2)\noptimizer = torch.optim.SGD(model.parameters(), lr=0.1)\ncriterion = nn.CrossEntropyLoss()\nepochs = 10\n';
const HF = `${HEADER}from transformers import get_linear_schedule_with_warmup, get_cosine_schedule_with_warmup, get_scheduler\n${SETUP}`;

/** A loop over epochs and batches of `loader`; the scheduler stepped per epoch (after the batch loop) or per batch. */
const loop = (build: string, at: 'epoch' | 'batch' = 'epoch', loader = 'train_loader', pre = HEADER + SETUP) => `${pre}${build}
for epoch in range(epochs):
    model.train()
    for x, y in ${loader}:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()${at === 'batch' ? '\n        scheduler.step()' : ''}
    print(epoch, loss.item())${at === 'epoch' ? '\n    scheduler.step()' : ''}
`;

const hp006 = (code: string) => ids(code, 'HP006');

test('HP006: OneCycleLR(steps_per_epoch=len(train_loader)) stepped after the batch loop', () => {
  const code = loop('scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, epochs=epochs, steps_per_epoch=len(train_loader))');
  const f = lint(code, { select: ['HP006'] });
  assert.deepEqual(f.map((x) => [x.rule, x.severity]), [['HP006', 'warning']]);
  assert.equal(
    f[0]!.message,
    'OneCycleLR is defined over epochs × steps_per_epoch (len(train_loader)) steps but scheduler.step() runs once per epoch: the learning rate never leaves the warm-up. Call scheduler.step() after optimizer.step() inside the batch loop.',
  );
  assert.equal(f[0]!.range.start.line, code.split('\n').findIndex((l) => l === '    scheduler.step()'));
});

test('HP006: other spellings: imported class, total_steps through names, steps_per_epoch a name, tqdm/enumerate loops', () => {
  const imported = `${HEADER}from torch.optim.lr_scheduler import OneCycleLR\n${SETUP}`;
  assert.deepEqual(hp006(loop('scheduler = OneCycleLR(optimizer, 0.1, total_steps=epochs * len(train_loader))', 'epoch', 'train_loader', imported)), ['HP006']);
  assert.deepEqual(hp006(loop('steps = len(train_loader)\ntotal_steps = epochs * steps\nscheduler = OneCycleLR(optimizer, max_lr=0.01, total_steps=total_steps)', 'epoch', 'tqdm(train_loader)', imported)), ['HP006']);
  assert.deepEqual(hp006(loop('spe = math.ceil(len(train_ds) / 32)\nscheduler = OneCycleLR(optimizer, max_lr=0.01, epochs=epochs, steps_per_epoch=spe)', 'epoch', 'enumerate(train_loader)', imported)), ['HP006']);
  // CyclicLR: its default step_size_up is 2000 iterations; or sized with len(loader).
  assert.deepEqual(hp006(loop('scheduler = torch.optim.lr_scheduler.CyclicLR(optimizer, base_lr=1e-4, max_lr=1e-2)')), ['HP006']);
  assert.deepEqual(hp006(loop('scheduler = torch.optim.lr_scheduler.CyclicLR(optimizer, 1e-4, 1e-2, step_size_up=2 * len(train_loader))')), ['HP006']);
  assert.deepEqual(hp006(loop('scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * len(train_loader))')), ['HP006']);
});

test('HP006: Hugging Face schedules sized epochs * len(train_dataloader)', () => {
  const hf = (build: string) => loop(build, 'epoch', 'train_dataloader', HF);
  assert.deepEqual(hp006(hf('scheduler = get_linear_schedule_with_warmup(optimizer, num_warmup_steps=100, num_training_steps=epochs * len(train_dataloader))')), ['HP006']);
  assert.deepEqual(hp006(hf('num_training_steps = len(train_dataloader) * epochs\nscheduler = get_cosine_schedule_with_warmup(optimizer, 100, num_training_steps)')), ['HP006']);
  assert.deepEqual(hp006(hf('num_update_steps_per_epoch = math.ceil(len(train_dataloader) / 4)\nmax_train_steps = epochs * num_update_steps_per_epoch\nscheduler = get_scheduler("linear", optimizer=optimizer, num_warmup_steps=0, num_training_steps=max_train_steps)')), ['HP006']);
  const f = lint(hf('scheduler = get_linear_schedule_with_warmup(optimizer, num_warmup_steps=100, num_training_steps=epochs * len(train_dataloader))'), { select: ['HP006'] });
  assert.match(f[0]!.message, /^get_linear_schedule_with_warmup is defined over num_training_steps=epochs \* len\(train_dataloader\) batches but scheduler\.step\(\) runs once per epoch/);
});

test('HP006: the optimizer stepped in a train function the epoch loop calls; a stored scheduler in a Trainer', () => {
  const fn = `${HEADER}${SETUP}scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, epochs=epochs, steps_per_epoch=len(train_loader))

def train_one_epoch(model, loader, optimizer):
    for x, y in loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()

for epoch in range(epochs):
    train_one_epoch(model, train_loader, optimizer)
    scheduler.step()
`;
  assert.deepEqual(hp006(fn), ['HP006']);
  const trainer = `${HEADER}
class Trainer:
    def __init__(self, model, optimizer, scheduler, loader):
        self.model = model
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.loader = loader

    def fit(self, epochs):
        for epoch in range(epochs):
            for x, y in self.loader:
                self.optimizer.zero_grad()
                F.cross_entropy(self.model(x), y).backward()
                self.optimizer.step()
            if self.scheduler is not None:
                self.scheduler.step()

model = nn.Linear(10, 2)
opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-3, epochs=5, steps_per_epoch=len(train_loader))
Trainer(model, opt, sched, train_loader).fit(5)
`;
  assert.deepEqual(hp006(trainer), ['HP006']);
});

test('HP006: stepped inside the batch loop, or a schedule counted in epochs, stays silent', () => {
  assert.deepEqual(hp006(loop('scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, epochs=epochs, steps_per_epoch=len(train_loader))', 'batch')), []);
  assert.deepEqual(hp006(loop('scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=epochs)')), []);
  assert.deepEqual(hp006(loop('scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, epochs=epochs, steps_per_epoch=1)')), []);
  assert.deepEqual(hp006(loop('scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)')), []);
  assert.deepEqual(hp006(loop('scheduler = torch.optim.lr_scheduler.CyclicLR(optimizer, 1e-4, 1e-2, step_size_up=5)')), []);
  assert.deepEqual(hp006(loop('scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=len(train_loader) * 30)')), []);
  assert.deepEqual(hp006(loop('scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer)')), []);
  const hf = (build: string) => loop(build, 'epoch', 'train_dataloader', HF);
  assert.deepEqual(hp006(hf('scheduler = get_linear_schedule_with_warmup(optimizer, num_warmup_steps=1, num_training_steps=epochs)')), []);
  // A per-epoch count that merely mentions a loader's length is no product: a count of epochs for all we know.
  assert.deepEqual(hp006(hf('scheduler = get_linear_schedule_with_warmup(optimizer, 0, len(train_dataloader))')), []);
});

test('HP006: unknown values, a scheduler passed to the train function, a second step per batch stay silent', () => {
  assert.deepEqual(hp006(loop('scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=args.total_steps)')), []);
  assert.deepEqual(hp006(loop('scheduler = make_scheduler(optimizer, len(train_loader))')), []);
  const passed = `${HEADER}${SETUP}scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, epochs=epochs, steps_per_epoch=len(train_loader))

def train_one_epoch(model, loader, optimizer, scheduler):
    for x, y in loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()

for epoch in range(epochs):
    train_one_epoch(model, train_loader, optimizer, scheduler)
    scheduler.step()
`;
  assert.deepEqual(hp006(passed), []);
  // No batch loop in the epoch loop (full-batch training): one step per epoch is one step per optimizer step.
  const full = `${HEADER}${SETUP}scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, epochs=epochs, steps_per_epoch=len(train_loader))
for epoch in range(epochs):
    optimizer.zero_grad()
    criterion(model(X), Y).backward()
    optimizer.step()
    scheduler.step()
`;
  assert.deepEqual(hp006(full), []);
  // A step under a condition (every few epochs, after warm-up) is deliberate.
  const cond = loop('scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, epochs=epochs, steps_per_epoch=len(train_loader))').replace('    scheduler.step()', '    if epoch > 3:\n        scheduler.step()');
  assert.deepEqual(hp006(cond), []);
});

const LIT = `import torch
import pytorch_lightning as pl
from torch.optim.lr_scheduler import OneCycleLR

class Lit(pl.LightningModule):
    def training_step(self, batch, batch_idx):
        x, y = batch
        return torch.nn.functional.cross_entropy(self(x), y)

    def configure_optimizers(self):
        opt = torch.optim.AdamW(self.parameters(), lr=1e-3)
`;

test('HP006: Lightning configure_optimizers returning a batch-counted schedule without "interval": "step"', () => {
  const dict = `${LIT}        sched = OneCycleLR(opt, max_lr=1e-3, total_steps=self.trainer.estimated_stepping_batches)\n        return {"optimizer": opt, "lr_scheduler": sched}\n`;
  const f = lint(dict, { select: ['HP006'] });
  assert.equal(f.length, 1);
  assert.equal(
    f[0]!.message,
    'OneCycleLR is defined over total_steps=self.trainer.estimated_stepping_batches batches but Lightning steps it once per epoch (its default interval): the learning rate never leaves the warm-up. Return it as {"scheduler": ..., "interval": "step"}.',
  );
  assert.deepEqual(hp006(`${LIT}        sched = OneCycleLR(opt, max_lr=1e-3, epochs=10, steps_per_epoch=len(self.train_dataloader()))\n        return [opt], [sched]\n`), ['HP006']);
  assert.deepEqual(hp006(`${LIT}        return {"optimizer": opt, "lr_scheduler": {"scheduler": OneCycleLR(opt, 1e-3, epochs=10, steps_per_epoch=100), "monitor": "val_loss"}}\n`), ['HP006']);
  const hf = `${LIT.replace('import torch\n', 'import torch\nfrom transformers import get_linear_schedule_with_warmup\n')}        sched = get_linear_schedule_with_warmup(opt, 100, self.trainer.estimated_stepping_batches)\n        return [opt], [{"scheduler": sched, "interval": "epoch"}]\n`;
  assert.deepEqual(hp006(hf), ['HP006']);
});

test('HP006: Lightning with "interval": "step", a per-epoch schedule, manual optimization, or no Lightning stays silent', () => {
  assert.deepEqual(hp006(`${LIT}        sched = OneCycleLR(opt, max_lr=1e-3, total_steps=self.trainer.estimated_stepping_batches)\n        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}\n`), []);
  assert.deepEqual(hp006(`${LIT}        sched = {"scheduler": OneCycleLR(opt, 1e-3, epochs=10, steps_per_epoch=100), "interval": "step", "frequency": 1}\n        return [opt], [sched]\n`), []);
  assert.deepEqual(hp006(`${LIT}        return [opt], [OneCycleLR(opt, 1e-3, total_steps=self.hparams.epochs)]\n`), []);
  assert.deepEqual(hp006(`${LIT}        return [opt], [torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)]\n`), []);
  assert.deepEqual(hp006(`${LIT}        return {"optimizer": opt, "lr_scheduler": {"scheduler": OneCycleLR(opt, 1e-3, epochs=10, steps_per_epoch=100), "interval": self.hparams.interval}}\n`), []);
  const manual = LIT.replace('    def training_step', '    def __init__(self):\n        super().__init__()\n        self.automatic_optimization = False\n\n    def training_step');
  assert.deepEqual(hp006(`${manual}        return [opt], [OneCycleLR(opt, 1e-3, epochs=10, steps_per_epoch=100)]\n`), []);
  const plain = LIT.replace('import pytorch_lightning as pl\n', '').replace('(pl.LightningModule)', '(nn.Module)');
  assert.deepEqual(hp006(`${plain}        return [opt], [OneCycleLR(opt, 1e-3, epochs=10, steps_per_epoch=100)]\n`), []);
});
