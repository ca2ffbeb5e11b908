// Real-bug shapes of round 4 for the training-loop rules: gradients reset on every batch while the step waits for the
// accumulation boundary, in a function that runs once per batch (Lightning's manual `training_step`, a step function a
// loop calls), under a guard held in a name, and `model.zero_grad()` inside `accelerator.accumulate()` (TL020).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

const LIGHTNING = `${HEADER}import lightning.pytorch as pl

class AutoEncoderGAN(pl.LightningModule):
    def __init__(self, accum=4):
        super().__init__()
        self.automatic_optimization = False
        self.accum = accum
        self.gen = nn.Linear(8, 8)
        self.disc = nn.Linear(8, 1)

    def training_step(self, batch, batch_idx):
        opt_g, opt_d = self.optimizers()
        recon = self.gen(batch)
        g_loss = F.mse_loss(recon, batch) / self.accum
        opt_g.zero_grad()
        self.manual_backward(g_loss)
        if (batch_idx + 1) % self.accum == 0:
            opt_g.step()
        d_loss = self.disc(recon.detach()).mean() / self.accum
        self.manual_backward(d_loss)
        if (batch_idx + 1) % self.accum == 0:
            opt_d.step()
            opt_d.zero_grad()

    def configure_optimizers(self):
        return torch.optim.Adam(self.gen.parameters()), torch.optim.Adam(self.disc.parameters())
`;

test('TL020: Lightning manual optimization resets one optimizer every batch but steps it every accum batches', () => {
  const f = lint(LIGHTNING, { select: ['TL020'] });
  assert.deepEqual(f.map((x) => x.rule), ['TL020']);
  assert.match(f[0]!.message, /^opt_g\.zero_grad\(\) runs every batch but opt_g\.step\(\) only every few/);
  const fixed = fix(LIGHTNING, 'TL020');
  assert.match(fixed, /\n {12}opt_g\.step\(\)\n {12}opt_g\.zero_grad\(\)\n/);
  assert.deepEqual(ids(fixed, 'TL020'), []);
});

test('TL020: a training_step that steps every batch, or resets after its guarded step, is quiet', () => {
  const everyBatch = LIGHTNING.replace('        if (batch_idx + 1) % self.accum == 0:\n            opt_g.step()', '        opt_g.step()');
  assert.deepEqual(ids(everyBatch, 'TL020'), []);
  const resetInside = LIGHTNING.replace('        opt_g.zero_grad()\n', '').replace('            opt_g.step()\n', '            opt_g.step()\n            opt_g.zero_grad()\n');
  assert.deepEqual(ids(resetInside, 'TL020'), []);
  // not a per-batch hook: a method of another name that the file never calls
  assert.deepEqual(ids(LIGHTNING.replace('def training_step(', 'def finetune_once('), 'TL020'), []);
});

const STEP_FN = `${HEADER}
model = nn.Linear(10, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

def train_step(x, y, step, accum_steps):
    optimizer.zero_grad()
    loss = F.cross_entropy(model(x), y) / accum_steps
    loss.backward()
    if (step + 1) % accum_steps == 0:
        optimizer.step()

for epoch in range(3):
    for step, (x, y) in enumerate(train_loader):
        train_step(x, y, step, 4)
`;

test('TL020: a step function of the file that every loop calls once per batch', () => {
  assert.deepEqual(ids(STEP_FN, 'TL020'), ['TL020']);
  // also called once outside any loop (a warm-up call): not known to run per batch
  assert.deepEqual(ids(`${STEP_FN}train_step(x0, y0, 0, 1)\n`, 'TL020'), []);
  // the reset moved after the step
  const ok = STEP_FN.replace('    optimizer.zero_grad()\n', '').replace('        optimizer.step()\n', '        optimizer.step()\n        optimizer.zero_grad()\n');
  assert.deepEqual(ids(ok, 'TL020'), []);
});

const NAMED_GUARD = `${HEADER}
model = nn.Linear(10, 2)
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
for i, (x, y) in enumerate(train_loader):
    is_accumulating = (i + 1) % 8 != 0
    optimizer.zero_grad()
    loss = F.cross_entropy(model(x), y) / 8
    loss.backward()
    if not is_accumulating:
        optimizer.step()
`;

test('TL020: the accumulation guard is a name bound to a modulo test in the loop', () => {
  assert.deepEqual(ids(NAMED_GUARD, 'TL020'), ['TL020']);
  // a flag that has nothing to do with the batch count
  const other = NAMED_GUARD.replace('is_accumulating = (i + 1) % 8 != 0', 'is_accumulating = torch.isnan(x).any()');
  assert.deepEqual(ids(other, 'TL020'), []);
});

const ACCELERATE = `${HEADER}from accelerate import Accelerator

accelerator = Accelerator(gradient_accumulation_steps=4)
model = nn.Linear(10, 2)
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
model, optimizer, train_loader = accelerator.prepare(model, optimizer, train_loader)
for x, y in train_loader:
    with accelerator.accumulate(model):
        loss = F.cross_entropy(model(x), y)
        accelerator.backward(loss)
        optimizer.step()
        model.zero_grad()
`;

test('TL020: model.zero_grad() inside accelerator.accumulate() runs on every micro-batch', () => {
  const f = lint(ACCELERATE, { select: ['TL020'] });
  assert.deepEqual(f.map((x) => x.rule), ['TL020']);
  assert.match(f[0]!.message, /^model\.zero_grad\(\) runs on every micro-batch inside accelerator\.accumulate\(model\)/);
  // on `self.` attributes in a trainer class
  const inClass = `${HEADER}
class PPOTrainer:
    def __init__(self, policy, optimizer, accelerator):
        self.policy = policy
        self.optimizer = optimizer
        self.accelerator = accelerator

    def update(self, loader):
        for batch in loader:
            with self.accelerator.accumulate(self.policy):
                loss = self.policy(batch).mean()
                self.accelerator.backward(loss)
                self.optimizer.step()
                self.policy.zero_grad(set_to_none=True)
`;
  assert.deepEqual(ids(inClass, 'TL020'), ['TL020']);
});

test('TL020: the prepared optimizer reset, a reset behind sync_gradients, or no step in the block are quiet', () => {
  assert.deepEqual(ids(ACCELERATE.replace('model.zero_grad()', 'optimizer.zero_grad()'), 'TL020'), []);
  const synced = ACCELERATE.replace('        model.zero_grad()', '        if accelerator.sync_gradients:\n            model.zero_grad()');
  assert.deepEqual(ids(synced, 'TL020'), []);
  const noStep = ACCELERATE.replace('        optimizer.step()\n', '');
  assert.deepEqual(ids(noStep, 'TL020'), []);
  // a `with` of something else (a profiler's record_function)
  assert.deepEqual(ids(ACCELERATE.replace('accelerator.accumulate(model)', 'torch.autograd.profiler.record_function("step")'), 'TL020'), []);
});

// ---- TL005: schedulers of the project's own modules that follow torch's stepping ----

const COPIED = `${HEADER}from utils.scheduler import WarmupLinearSchedule, WarmupCosineSchedule

def train(args, model, train_loader):
    optimizer = torch.optim.SGD(model.parameters(), lr=3e-2, momentum=0.9)
    if args.decay_type == "cosine":
        scheduler = WarmupCosineSchedule(optimizer, warmup_steps=500, t_total=10000)
    else:
        scheduler = WarmupLinearSchedule(optimizer, warmup_steps=500, t_total=10000)
    for step, (x, y) in enumerate(train_loader):
        loss = F.cross_entropy(model(x), y) / args.accum
        loss.backward()
        if (step + 1) % args.accum == 0:
            scheduler.step()
            optimizer.step()
            optimizer.zero_grad()
`;

test('TL005: a copy of the pytorch_transformers warm-up schedules, built in both branches, stepped first', () => {
  const f = lint(COPIED, { select: ['TL005'] });
  assert.deepEqual(f.map((x) => x.rule), ['TL005']);
  assert.match(f[0]!.message, /^scheduler\.step\(\) runs before the optimizer step/);
  const fixed = fix(COPIED, 'TL005');
  assert.match(fixed, /optimizer\.zero_grad\(\)\n {12}scheduler\.step\(\)\n$/);
  // stepped after the optimizer: quiet
  const ok = COPIED.replace('            scheduler.step()\n            optimizer.step()\n', '            optimizer.step()\n            scheduler.step()\n');
  assert.deepEqual(ids(ok, 'TL005'), []);
});

test('TL005: a project scheduler of another name, or one branch building something else, is not assumed torch-like', () => {
  const noam = COPIED.replace('WarmupCosineSchedule(optimizer', 'NoamScheduler(optimizer').replace('WarmupLinearSchedule(optimizer', 'NoamScheduler(optimizer');
  assert.deepEqual(ids(noam.replace('import WarmupLinearSchedule, WarmupCosineSchedule', 'import NoamScheduler'), 'TL005'), []);
  const mixed = COPIED.replace('WarmupLinearSchedule(optimizer, warmup_steps=500, t_total=10000)', 'build_scheduler(optimizer)');
  assert.deepEqual(ids(mixed, 'TL005'), []);
});

const SUBCLASS = `${HEADER}from torch.optim.lr_scheduler import LambdaLR

class WarmupDecay(LambdaLR):
    def __init__(self, optimizer, warmup, total):
        super().__init__(optimizer, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, (total - s) / total))

class Trainer:
    def __init__(self, model, lr):
        self.model = model
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
        self.scheduler = WarmupDecay(self.optimizer, 100, 1000)

    def fit(self, loader):
        for x, y in loader:
            self.optimizer.zero_grad()
            F.cross_entropy(self.model(x), y).backward()
            self.scheduler.step()
            self.optimizer.step()
`;

test('TL005: a class of the file that subclasses a torch scheduler, on self, stepped first', () => {
  assert.deepEqual(ids(SUBCLASS, 'TL005'), ['TL005']);
  // through a second class of the file
  const chained = SUBCLASS.replace('class Trainer:', 'class WarmupDecay2(WarmupDecay):\n    pass\n\nclass Trainer:').replace('= WarmupDecay(self.optimizer', '= WarmupDecay2(self.optimizer');
  assert.deepEqual(ids(chained, 'TL005'), ['TL005']);
});

test('TL005: a scheduler subclass with its own step(), or a plain class, may be meant to run first: quiet', () => {
  const ownStep = SUBCLASS.replace(
    '        super().__init__(optimizer, lambda s',
    '        self.n = 0\n        super().__init__(optimizer, lambda s',
  ).replace('class Trainer:', '    def step(self):\n        self.n += 1\n        super().step()\n\nclass Trainer:');
  assert.deepEqual(ids(ownStep, 'TL005'), []);
  const plain = SUBCLASS.replace('class WarmupDecay(LambdaLR):', 'class WarmupDecay:').replace(
    '        super().__init__(optimizer, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, (total - s) / total))',
    '        self.optimizer = optimizer\n\n    def step(self):\n        pass',
  );
  assert.deepEqual(ids(plain, 'TL005'), []);
});

// ---- DV004: parameter groups, and an optimizer built in __init__ before the instance is moved ----

const WRAPPER = `${HEADER}import torch.optim as optim

class MultiTaskModel(object):
    def __init__(self, cfg, state=None):
        self.cfg = cfg
        self.encoder = nn.Sequential(nn.Linear(16, 16), nn.LayerNorm(16))
        skip = ['bias', 'LayerNorm.weight']
        groups = [
            {'params': [p for n, p in self.encoder.named_parameters() if not any(s in n for s in skip)], 'weight_decay': 0.01},
            {'params': [p for n, p in self.encoder.named_parameters() if any(s in n for s in skip)], 'weight_decay': 0.0},
        ]
        self.optimizer = optim.Adamax(groups, lr=cfg['lr'])
        if state is not None:
            self.optimizer.load_state_dict(state['optimizer'])

    def cuda(self):
        self.encoder.cuda()

def main(cfg):
    model = MultiTaskModel(cfg)
    if cfg['cuda']:
        model.cuda()
    for epoch in range(cfg['epochs']):
        model.update(epoch)
`;

test('DV004: a wrapper class builds its optimizer in __init__; its own cuda() moves the network later', () => {
  const f = lint(WRAPPER, { select: ['DV004'] });
  assert.deepEqual(f.map((x) => x.rule), ['DV004']);
  assert.match(f[0]!.message, /^Optimizer built from self\.encoder\.parameters\(\) in MultiTaskModel\.__init__, before model\.cuda\(\) moves it to the GPU \(line 26\)/);
  // an nn.Module class moved with .to(device): Module.to moves self.encoder too
  const asModule = WRAPPER.replace('class MultiTaskModel(object):', 'class MultiTaskModel(nn.Module):').replace('        self.cfg = cfg\n', '        super().__init__()\n        self.cfg = cfg\n')
    .replace('    def cuda(self):\n        self.encoder.cuda()\n', '').replace("        model.cuda()", "        model.to(torch.device('cuda'))");
  assert.deepEqual(ids(asModule, 'DV004'), ['DV004']);
});

test('DV004: quiet when the class moves first, its cuda() moves something else, or the move comes after training', () => {
  const movedFirst = WRAPPER.replace("        skip = ['bias'", "        self.encoder.cuda()\n        skip = ['bias'");
  assert.deepEqual(ids(movedFirst, 'DV004'), []);
  const builtMoved = WRAPPER.replace('nn.LayerNorm(16))', 'nn.LayerNorm(16)).to("cuda")');
  assert.deepEqual(ids(builtMoved, 'DV004'), []);
  const other = WRAPPER.replace('        self.encoder.cuda()', '        self.cfg["device"] = "cuda"');
  assert.deepEqual(ids(other, 'DV004'), []);
  const noMethod = WRAPPER.replace('    def cuda(self):\n        self.encoder.cuda()\n', '');
  assert.deepEqual(ids(noMethod, 'DV004'), []);
  const afterTraining = WRAPPER.replace("    if cfg['cuda']:\n        model.cuda()\n", '').replace('        model.update(epoch)\n', "        model.update(epoch)\n    model.cuda()\n");
  assert.deepEqual(ids(afterTraining, 'DV004'), []);
});

const GROUPS = `${HEADER}
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
model = nn.Sequential(nn.Linear(16, 16), nn.LayerNorm(16), nn.Linear(16, 2))
no_decay = ["bias", "1.weight"]
grouped = [
    {"params": [p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)], "weight_decay": 0.01},
    {"params": [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)], "weight_decay": 0.0},
]
optimizer = torch.optim.AdamW(grouped, lr=1e-4)
model.to(device)
`;

test('DV004: parameter groups of one model count as its parameters', () => {
  assert.deepEqual(ids(GROUPS, 'DV004'), ['DV004']);
  // groups of two different modules: no single model to order
  const two = GROUPS.replace('if any(nd in n for nd in no_decay)]', 'if any(nd in n for nd in no_decay)] + [head.weight]').replace(
    '    {"params": [p for n, p in model.named_parameters() if any',
    '    {"params": [p for n, p in head.named_parameters() if any',
  );
  assert.deepEqual(ids(two, 'DV004'), []);
  assert.deepEqual(ids(GROUPS.replace('optimizer = torch.optim.AdamW(grouped, lr=1e-4)\nmodel.to(device)', 'model.to(device)\noptimizer = torch.optim.AdamW(grouped, lr=1e-4)'), 'DV004'), []);
});

// ---- HP002: weights loaded in float16 by from_pretrained, trained by Adam or the Hugging Face Trainer ----

const HF_TRAINER = `${HEADER}from transformers import AutoModelForSequenceClassification, Trainer, TrainingArguments
from peft import get_peft_model

class RewardTrainer(Trainer):
    def __init__(self, cfg, train_set):
        self.args = TrainingArguments(output_dir=cfg.out, learning_rate=cfg.lr, bf16=cfg.bf16)
        self.dtype = torch.bfloat16 if cfg.bf16 else torch.float16
        self.base = AutoModelForSequenceClassification.from_pretrained(cfg.path, num_labels=1, torch_dtype=self.dtype)
        self.model = get_peft_model(self.base, cfg.lora)
        super().__init__(model=self.model, args=self.args, train_dataset=train_set)
`;

test('HP002: a float16 model (through a PEFT wrapper) trained by a Trainer subclass with the default adam_epsilon', () => {
  const f = lint(HF_TRAINER, { select: ['HP002'] });
  assert.deepEqual(f.map((x) => x.rule), ['HP002']);
  assert.match(f[0]!.message, /^The Trainer's AdamW updates float16 weights \(self\.model\) with adam_epsilon=1e-8/);
  // a plain Trainer(...) call at module level, TrainingArguments by name, dtype literal
  const plain = `${HEADER}from transformers import AutoModelForCausalLM, Trainer, TrainingArguments
model = AutoModelForCausalLM.from_pretrained("gpt2", torch_dtype=torch.float16)
targs = TrainingArguments(output_dir="out", per_device_train_batch_size=8)
trainer = Trainer(model=model, args=targs, train_dataset=ds)
trainer.train()
`;
  assert.deepEqual(ids(plain, 'HP002'), ['HP002']);
  // quiet: eps raised, mixed precision on, another optimizer, bfloat16 only, k-bit preparation, quantized load
  for (const [from, to] of [
    ['per_device_train_batch_size=8)', 'per_device_train_batch_size=8, adam_epsilon=1e-4)'],
    ['per_device_train_batch_size=8)', 'per_device_train_batch_size=8, fp16=True)'],
    ['per_device_train_batch_size=8)', 'per_device_train_batch_size=8, optim="adafactor")'],
    ['torch_dtype=torch.float16', 'torch_dtype=torch.bfloat16'],
    ['torch_dtype=torch.float16)', 'torch_dtype=torch.float16, load_in_8bit=True)'],
    ['trainer = Trainer(model=model', 'model = prepare_model_for_kbit_training(model)\ntrainer = Trainer(model=model'],
    ['per_device_train_batch_size=8)', '**cfg)'],
  ]) {
    assert.deepEqual(ids(plain.replace(from!, to!), 'HP002'), [], `${from} -> ${to}`);
  }
});

test('HP002: torch.optim.AdamW on a model loaded with torch_dtype=torch.float16', () => {
  const code = `${HEADER}from transformers import AutoModelForCausalLM
model = AutoModelForCausalLM.from_pretrained("gpt2", torch_dtype=torch.float16)
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
`;
  assert.deepEqual(ids(code, 'HP002'), ['HP002']);
  assert.deepEqual(ids(code.replace('torch.float16', '"auto"'), 'HP002'), []);
  assert.deepEqual(ids(code.replace('lr=1e-5)', 'lr=1e-5, eps=1e-4)'), 'HP002'), []);
});

test('TL005: reading the learning rate of such a scheduler before the step is not a step', () => {
  const getLr = COPIED.replace('            scheduler.step()\n            optimizer.step()\n', '            lr = scheduler.get_lr()[0]\n            optimizer.step()\n            scheduler.step()\n');
  assert.deepEqual(ids(getLr, 'TL005'), []);
  assert.deepEqual(ids(SUBCLASS.replace('            self.scheduler.step()\n            self.optimizer.step()', '            print(self.scheduler.get_last_lr())\n            self.optimizer.step()'), 'TL005'), []);
});
