// Optimizers and schedulers on shapes seen in real buggy code: optimizers and schedulers from outside torch.optim
// (Hugging Face, apex, bitsandbytes, timm, torch_optimizer) for TL001/TL004/TL005; a scheduler stepped at the top of a
// per-epoch function or under `if scheduler is not None:` (TL005); an optimizer rebuilt inside if/else of a per-epoch
// function, with param groups (TL013).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, useParser } from './lint/helpers';

useParser();

const ORDER = 'TL001,TL004,TL005';
const only = (code: string, rules: string) => rules.split(',').flatMap((r) => ids(code, r));

// A batch loop that never resets gradients, steps the scheduler first and clips after the step.
const unordered = (imports: string, build: string, sched = 'torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)') => `${HEADER}${imports}
net = nn.Linear(8, 2)
opt = ${build}
sched = ${sched}
for xb, yb in train_loader:
    out = F.cross_entropy(net(xb), yb)
    out.backward()
    sched.step()
    opt.step()
    nn.utils.clip_grad_norm_(net.parameters(), 0.5)
`;

test('TL001/TL004/TL005: optimizers of known packages outside torch.optim count as optimizers', () => {
  const cases: [string, string][] = [
    ['from transformers import AdamW', 'AdamW(net.parameters(), lr=3e-5)'],
    ['import transformers', 'transformers.optimization.Adafactor(net.parameters(), lr=1e-3, relative_step=False)'],
    ['from pytorch_transformers import AdamW', 'AdamW(net.parameters(), lr=3e-5)'],
    ['from apex.optimizers import FusedLAMB', 'FusedLAMB(net.parameters(), lr=1e-3)'],
    ['import bitsandbytes as bnb', 'bnb.optim.AdamW8bit(net.parameters(), lr=1e-4)'],
    ['from timm.optim import create_optimizer_v2', "create_optimizer_v2(net, 'lamb', lr=1e-3)"],
    ['import torch_optimizer as topt', 'topt.Lamb(net.parameters(), lr=1e-3)'],
    ['from deepspeed.ops.adam import DeepSpeedCPUAdam', 'DeepSpeedCPUAdam(net.parameters(), lr=1e-3)'],
  ];
  for (const [imports, build] of cases) assert.deepEqual(only(unordered(imports, build), ORDER), ['TL001', 'TL004', 'TL005'], build);
});

test('TL001: an imported class or factory named as an optimizer counts; other imported builds stay unknown', () => {
  const code = (imports: string, build: string) => `${HEADER}${imports}
net = nn.Linear(8, 2)
opt = ${build}
for xb, yb in train_loader:
    F.mse_loss(net(xb), yb).backward()
    opt.step()
`;
  assert.deepEqual(ids(code('from mylib.optim import RAdamW', 'RAdamW(net.parameters())'), 'TL001'), ['TL001']);
  assert.deepEqual(ids(code('from utils import build_optimizer', 'build_optimizer(net, cfg)'), 'TL001'), ['TL001']);
  assert.deepEqual(ids(code('import horovod.torch as hvd', 'hvd.DistributedOptimizer(base, named_parameters=net.named_parameters())'), 'TL001'), ['TL001']);
  // Look-alikes: a simulator, an imported scheduler class, a scheduler under torch.optim, all stepped without arguments.
  assert.deepEqual(ids(code('from physics import World', 'World(gravity=9.8)'), 'TL001'), []);
  assert.deepEqual(ids(code('from utils import WarmupScheduler', 'WarmupScheduler(base)'), 'TL001'), []);
  assert.deepEqual(ids(code('from transformers import AdafactorSchedule', 'AdafactorSchedule(base)'), 'TL001'), []);
  assert.deepEqual(ids(code('', 'torch.optim.swa_utils.SWALR(base, swa_lr=0.05)'), 'TL001'), []);
});

test('TL001/TL004/TL005: a third-party optimizer used in the right order stays silent', () => {
  const code = `${HEADER}from transformers import AdamW, get_linear_schedule_with_warmup
net = nn.Linear(8, 2)
opt = AdamW(net.parameters(), lr=3e-5)
sched = get_linear_schedule_with_warmup(opt, 10, 100)
for xb, yb in train_loader:
    opt.zero_grad()
    F.cross_entropy(net(xb), yb).backward()
    nn.utils.clip_grad_norm_(net.parameters(), 0.5)
    opt.step()
    sched.step()
`;
  assert.deepEqual(only(code, ORDER), []);
});

test('TL005: pytorch_transformers warm-up schedules and copied HF schedule factories count as schedulers', () => {
  const code = (imports: string, build: string) => `${HEADER}${imports}
net = nn.Linear(8, 2)
opt = torch.optim.AdamW(net.parameters(), lr=3e-5)
warmup = ${build}
for xb, yb in train_loader:
    opt.zero_grad()
    F.cross_entropy(net(xb), yb).backward()
    warmup.step()
    opt.step()
`;
  assert.deepEqual(ids(code('from pytorch_transformers import WarmupLinearSchedule', 'WarmupLinearSchedule(opt, warmup_steps=5, t_total=50)'), 'TL005'), ['TL005']);
  assert.deepEqual(ids(code('import pytorch_transformers', 'pytorch_transformers.optimization.WarmupCosineSchedule(opt, 5, 50)'), 'TL005'), ['TL005']);
  assert.deepEqual(ids(code('from sched_utils import get_cosine_schedule_with_warmup', 'get_cosine_schedule_with_warmup(opt, 5, 50)'), 'TL005'), ['TL005']);
  // A scheduler class of the project itself may be meant to run first: unknown, silent.
  assert.deepEqual(ids(code('from sched_utils import WarmupLR', 'WarmupLR(opt, 5)'), 'TL005'), []);
  assert.deepEqual(ids(code('from sched_utils import make_scheduler', 'make_scheduler(opt)'), 'TL005'), []);
});

// ---- TL005: the scheduler stepped at the top of a function that runs once per epoch ----

const epochFn = (top: string, caller: string) => `${HEADER}
net = nn.Linear(8, 2)
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
lr_sched = torch.optim.lr_scheduler.MultiStepLR(opt, [30, 60])

def run_epoch(data, opt, lr_sched):
${top}
    for xb, yb in data:
        opt.zero_grad()
        F.cross_entropy(net(xb), yb).backward()
        opt.step()

${caller}
`;

test('TL005: scheduler.step() first in a function the epoch loop calls', () => {
  const top = '    net.train()\n    lr_sched.step()';
  assert.deepEqual(ids(epochFn(top, 'for ep in range(90):\n    run_epoch(train_loader, opt, lr_sched)'), 'TL005'), ['TL005']);
  assert.deepEqual(ids(epochFn(top, 'ep = 0\nwhile ep < 90:\n    run_epoch(train_loader, opt, lr_sched)\n    ep += 1'), 'TL005'), ['TL005']);
});

test('TL005: per-epoch function look-alikes stay silent', () => {
  const top = '    lr_sched.step()';
  // Called once, not from a loop: not an iteration.
  assert.deepEqual(ids(epochFn(top, 'run_epoch(train_loader, opt, lr_sched)'), 'TL005'), []);
  // Also called outside the loop.
  assert.deepEqual(ids(epochFn(top, 'run_epoch(warm_loader, opt, lr_sched)\nfor ep in range(90):\n    run_epoch(train_loader, opt, lr_sched)'), 'TL005'), []);
  // The step after the batch loop.
  const after = epochFn('    net.train()', 'for ep in range(90):\n    run_epoch(train_loader, opt, lr_sched)').replace('opt.step()\n', 'opt.step()\n    lr_sched.step()\n');
  assert.deepEqual(ids(after, 'TL005'), []);
  // Guarded by the epoch: the previous epoch's end.
  assert.deepEqual(ids(epochFn('    if ep > 0:\n        lr_sched.step()', 'for ep in range(90):\n    run_epoch(train_loader, opt, lr_sched)'), 'TL005'), []);
});

// ---- TL005: an optional scheduler stepped at the top of the epoch ----

const guarded = (guard: string, build = 'torch.optim.lr_scheduler.StepLR(opt, 10)') => `${HEADER}
net = nn.Linear(8, 2)
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
lr_sched = ${build}
for ep in range(40):
${guard}
    for xb, yb in train_loader:
        opt.zero_grad()
        F.cross_entropy(net(xb), yb).backward()
        opt.step()
`;

test('TL005: a top-of-epoch step under `if scheduler is not None:` / `if scheduler:`', () => {
  assert.deepEqual(ids(guarded('    if lr_sched is not None:\n        lr_sched.step()'), 'TL005'), ['TL005']);
  assert.deepEqual(ids(guarded('    if lr_sched:\n        lr_sched.step()'), 'TL005'), ['TL005']);
  // The other branch of an optional scheduler binds None.
  const optional = guarded('    if lr_sched is not None:\n        lr_sched.step()').replace(
    'lr_sched = torch.optim.lr_scheduler.StepLR(opt, 10)',
    'if use_decay:\n    lr_sched = torch.optim.lr_scheduler.StepLR(opt, 10)\nelse:\n    lr_sched = None',
  );
  assert.deepEqual(ids(optional, 'TL005'), ['TL005']);
});

test('TL005: other guards around a top-of-epoch step stay silent', () => {
  assert.deepEqual(ids(guarded('    if use_decay:\n        lr_sched.step()'), 'TL005'), []);
  assert.deepEqual(ids(guarded('    if other_sched is not None:\n        lr_sched.step()'), 'TL005'), []);
  assert.deepEqual(ids(guarded('    if lr_sched is not None:\n        lr_sched.step()\n    else:\n        warm(opt)'), 'TL005'), []);
  assert.deepEqual(ids(guarded('    if lr_sched is None:\n        lr_sched = make(opt)'), 'TL005'), []);
});

// ---- TL013: optimizer rebuilt in a per-epoch function, inside if/else, from param groups ----

const rebuilt = (build: string, caller = 'for ep in range(20):\n    fit_epoch(ep, net, train_loader)') => `${HEADER}
def fit_epoch(ep, net, data):
    lr = 0.1 * 0.9 ** ep
${build}
    for xb, yb in data:
        opt.zero_grad()
        F.cross_entropy(net(xb), yb).backward()
        opt.step()

net = Backbone()
${caller}
`;

test('TL013: an optimizer built in each branch of an if/else in a per-epoch function', () => {
  const build = [
    '    if split_lr:',
    '        opt = torch.optim.SGD([',
    "            {'params': net.encoder.parameters()},",
    "            {'params': net.head.parameters(), 'lr': lr * 10},",
    '        ], lr=lr, momentum=0.9)',
    '    else:',
    '        opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)',
  ].join('\n');
  assert.deepEqual(ids(rebuilt(build), 'TL013'), ['TL013', 'TL013']);
  const withBlock = "    with timer('setup'):\n        opt = torch.optim.Adam(net.parameters(), lr=lr)";
  assert.deepEqual(ids(rebuilt(withBlock), 'TL013'), ['TL013']);
  const groups = "    opt = torch.optim.Adam([{'params': net.encoder.parameters()}, {'params': net.head.parameters()}], lr=lr)";
  assert.deepEqual(ids(rebuilt(groups), 'TL013'), ['TL013']);
});

test('TL013: conditional builds that do not run every epoch, and a fresh model per epoch, stay silent', () => {
  // Built on the first epoch only (no else).
  assert.deepEqual(ids(rebuilt('    if ep == 0:\n        opt = torch.optim.Adam(net.parameters(), lr=lr)'), 'TL013'), []);
  // The else branch does not rebuild it.
  assert.deepEqual(ids(rebuilt('    if ep % 10 == 0:\n        opt = torch.optim.Adam(net.parameters(), lr=lr)\n    else:\n        print(ep)'), 'TL013'), []);
  // A new model each epoch gets its own optimizer (param groups of it included).
  const groups = "    opt = torch.optim.Adam([{'params': net.encoder.parameters()}], lr=lr)";
  assert.deepEqual(ids(rebuilt(groups, 'for ep in range(20):\n    net = Backbone()\n    fit_epoch(ep, net, train_loader)'), 'TL013'), []);
});

test('TL013: an optimizer of a known package outside torch.optim rebuilt every epoch', () => {
  const code = (imports: string, build: string) => `${HEADER}${imports}
net = nn.Linear(8, 2)
for epoch in range(10):
    opt = ${build}
    for xb, yb in train_loader:
        opt.zero_grad()
        F.cross_entropy(net(xb), yb).backward()
        opt.step()
`;
  assert.deepEqual(ids(code('from transformers import AdamW', 'AdamW(net.parameters(), lr=3e-5)'), 'TL013'), ['TL013']);
  assert.deepEqual(ids(code('import bitsandbytes as bnb', 'bnb.optim.Adam8bit(net.parameters(), lr=1e-4)'), 'TL013'), ['TL013']);
  assert.deepEqual(ids(code('from apex.optimizers import FusedSGD', 'FusedSGD(net.parameters(), lr=0.1, momentum=0.9)'), 'TL013'), ['TL013']);
  // Look-alikes: plain fused SGD keeps no state; a project's own class is not assumed to keep any.
  assert.deepEqual(ids(code('from apex.optimizers import FusedSGD', 'FusedSGD(net.parameters(), lr=0.1)'), 'TL013'), []);
  assert.deepEqual(ids(code('from mylib import RAdamW', 'RAdamW(net.parameters())'), 'TL013'), []);
});
