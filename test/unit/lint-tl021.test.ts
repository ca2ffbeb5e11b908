import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

const SETUP =
  'model = nn.Linear(10, 2)\noptimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)\ncriterion = nn.CrossEntropyLoss()\nscaler = torch.amp.GradScaler("cuda")\n';
const indent = (body: string, by = '    ') => body.split('\n').map((l) => (l ? by + l : l)).join('\n');
/** A training loop `for x, y in train_loader:` with `body`. */
const loop = (body: string, setup = SETUP) => `${HEADER}${setup}for x, y in train_loader:\n${indent(body)}\n`;

const FORWARD = 'optimizer.zero_grad()\nwith torch.autocast("cuda"):\n    loss = criterion(model(x), y)\n';
const BUGGY = `${FORWARD}scaler.scale(loss).backward()\ntorch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\nscaler.step(optimizer)\nscaler.update()`;

test('TL021: clip_grad_norm_ between scaler.scale(loss).backward() and scaler.step(optimizer); the fix inserts unscale_', () => {
  const code = loop(BUGGY);
  const f = lint(code);
  assert.deepEqual(f.map((x) => [x.rule, x.severity]), [['TL021', 'warning']]);
  assert.equal(
    f[0]!.message,
    'clip_grad_norm_ runs on gradients still multiplied by the loss scale of scaler (65536 at the start), so its threshold acts divided by the scale and almost every update is shrunk: call scaler.unscale_(optimizer) before clipping.',
  );
  assert.equal(f[0]!.range.start.line, code.split('\n').findIndex((l) => l.includes('clip_grad_norm_')));
  const fixed = fix(code, 'TL021');
  assert.match(fixed, /\n {4}scaler\.scale\(loss\)\.backward\(\)\n {4}scaler\.unscale_\(optimizer\)\n {4}torch\.nn\.utils\.clip_grad_norm_/);
  assert.deepEqual(lint(fixed), []);
});

test('TL021: other spellings: nn.utils, imported clip_grad_value_, torch.cuda.amp scaler, the deprecated clip_grad_norm', () => {
  assert.deepEqual(ids(loop(BUGGY.replace('torch.nn.utils.clip_grad_norm_', 'nn.utils.clip_grad_norm_')), 'TL021'), ['TL021']);
  const imported = loop(BUGGY.replace('torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)', 'clip_grad_value_(model.parameters(), 0.5)'))
    .replace(HEADER, `${HEADER}from torch.nn.utils import clip_grad_value_\n`);
  assert.deepEqual(ids(imported, 'TL021'), ['TL021']);
  assert.match(lint(imported, { select: ['TL021'] })[0]!.message, /^clip_grad_value_ runs on/);
  const cudaAmp = loop(BUGGY, SETUP.replace('torch.amp.GradScaler("cuda")', 'torch.cuda.amp.GradScaler(enabled=args.amp)'));
  assert.deepEqual(ids(cudaAmp, 'TL021'), ['TL021']);
  const grad = loop(BUGGY.replace('clip_grad_norm_', 'clip_grad.clip_grad_norm'));
  assert.deepEqual(ids(grad, 'TL021'), ['TL021']);
  // the result kept: `grad_norm = clip_grad_norm_(...)`
  const kept = loop(BUGGY.replace('torch.nn.utils.clip_grad_norm_', 'grad_norm = torch.nn.utils.clip_grad_norm_'));
  assert.deepEqual(ids(kept, 'TL021'), ['TL021']);
  assert.match(fix(kept, 'TL021'), /\n {4}scaler\.unscale_\(optimizer\)\n {4}grad_norm = /);
});

test('TL021: a trainer method with self.scaler / self.optimizer; scaled = scaler.scale(loss); backward in the autocast block', () => {
  const code = `${HEADER}
class Trainer:
    def __init__(self, model, lr):
        self.model = model
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
        self.scaler = torch.amp.GradScaler("cuda")

    def train_step(self, x, y):
        self.optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.float16):
            loss = F.cross_entropy(self.model(x), y)
            self.scaler.scale(loss).backward()
        nn.utils.clip_grad_norm_(self.model.parameters(), max_norm=1.0)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return loss.item()
`;
  assert.deepEqual(ids(code), ['TL021']);
  const fixed = fix(code, 'TL021');
  assert.match(fixed, /\n {8}self\.scaler\.unscale_\(self\.optimizer\)\n {8}nn\.utils\.clip_grad_norm_/);
  assert.deepEqual(lint(fixed), []);

  const scaled = loop(BUGGY.replace('scaler.scale(loss).backward()', 'scaled = scaler.scale(loss)\nscaled.backward()'));
  assert.deepEqual(ids(scaled, 'TL021'), ['TL021']);
});

test('TL021: accumulation: the clip and the step under `if (i + 1) % accum == 0`; a conditional clip', () => {
  const code = `${HEADER}${SETUP}accum = 4\nfor i, (x, y) in enumerate(train_loader):\n    with torch.autocast("cuda"):\n        loss = criterion(model(x), y) / accum\n    scaler.scale(loss).backward()\n    if (i + 1) % accum == 0:\n        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n        scaler.step(optimizer)\n        scaler.update()\n        optimizer.zero_grad()\n`;
  assert.deepEqual(ids(code), ['TL021']);
  const fixed = fix(code, 'TL021');
  assert.match(fixed, /\n {8}scaler\.unscale_\(optimizer\)\n {8}torch\.nn\.utils\.clip_grad_norm_/);
  assert.deepEqual(lint(fixed), []);

  const guarded = loop(BUGGY.replace('torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)', 'if args.clip_grad > 0:\n    torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip_grad)'));
  assert.deepEqual(ids(guarded), ['TL021']);
  const gfixed = fix(guarded, 'TL021');
  assert.match(gfixed, /\n {8}scaler\.unscale_\(optimizer\)\n {8}torch\.nn\.utils\.clip_grad_norm_/);
  assert.deepEqual(lint(gfixed), []);

  // micro-batches back-propagated in an inner loop, clipped once after it
  const micro = `${HEADER}${SETUP}for batch in train_loader:\n    optimizer.zero_grad()\n    for x, y in batch:\n        with torch.autocast("cuda"):\n            loss = criterion(model(x), y)\n        scaler.scale(loss).backward()\n    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n    scaler.step(optimizer)\n    scaler.update()\n`;
  assert.deepEqual(ids(micro, 'TL021'), ['TL021']);
  assert.deepEqual(ids(fix(micro, 'TL021'), 'TL021'), []);
});

test('TL021: reported without a fix when an unscale_ follows the clip, the clip is in a loop of its own, or two optimizers step', () => {
  const late = loop(BUGGY.replace('scaler.step(optimizer)', 'scaler.unscale_(optimizer)\nscaler.step(optimizer)'));
  const f = lint(late, { select: ['TL021'] });
  assert.deepEqual(f.map((x) => x.rule), ['TL021']);
  assert.equal(f[0]!.fixes, undefined);

  const groups = loop(BUGGY.replace('torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)', 'for group in optimizer.param_groups:\n    torch.nn.utils.clip_grad_norm_(group["params"], 1.0)'));
  const g = lint(groups, { select: ['TL021'] });
  assert.deepEqual(g.map((x) => x.rule), ['TL021']);
  assert.equal(g[0]!.fixes, undefined);

  const two = loop(BUGGY.replace('scaler.step(optimizer)', 'scaler.step(optimizer)\nscaler.step(optimizer2)'));
  const t = lint(two, { select: ['TL021'] });
  assert.deepEqual(t.map((x) => x.rule), ['TL021']);
  assert.equal(t[0]!.fixes, undefined);
});

test('TL021: silent with unscale_ before the clip, directly, under a condition, or in a helper of the file', () => {
  assert.deepEqual(ids(loop(BUGGY.replace('scaler.scale(loss).backward()', 'scaler.scale(loss).backward()\nscaler.unscale_(optimizer)'))), []);
  const cond = loop(BUGGY.replace('torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)', 'if args.clip:\n    scaler.unscale_(optimizer)\n    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)'));
  assert.deepEqual(ids(cond), []);
  const helper = `${HEADER}${SETUP}def unscale_all():\n    scaler.unscale_(optimizer)\n\n${loop(BUGGY.replace('scaler.scale(loss).backward()', 'scaler.scale(loss).backward()\nunscale_all()'), '').replace(HEADER, '')}`;
  assert.deepEqual(ids(helper, 'TL021'), []);
  // an unknown method named after unscaling
  assert.deepEqual(ids(loop(BUGGY.replace('scaler.scale(loss).backward()', 'scaler.scale(loss).backward()\ntrainer.unscale_grads()')), 'TL021'), []);
  // if/else AMP branches, the AMP one unscaling
  const branches = loop(
    `${FORWARD}if use_amp:\n    scaler.scale(loss).backward()\n    scaler.unscale_(optimizer)\n    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n    scaler.step(optimizer)\n    scaler.update()\nelse:\n    loss.backward()\n    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n    optimizer.step()`,
  );
  assert.deepEqual(ids(branches), []);
});

test('TL021: silent without AMP, with accelerate, a disabled scaler, sklearn scalers and plain clipping', () => {
  const plain = loop('optimizer.zero_grad()\nloss = criterion(model(x), y)\nloss.backward()\ntorch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\noptimizer.step()', SETUP.replace(/scaler = .*\n/, ''));
  assert.deepEqual(ids(plain), []);
  const accel = `${HEADER}from accelerate import Accelerator\naccelerator = Accelerator(mixed_precision="fp16")\nmodel = nn.Linear(10, 2)\noptimizer = torch.optim.AdamW(model.parameters())\nmodel, optimizer, train_loader = accelerator.prepare(model, optimizer, train_loader)\nfor x, y in train_loader:\n    optimizer.zero_grad()\n    loss = F.cross_entropy(model(x), y)\n    accelerator.backward(loss)\n    accelerator.clip_grad_norm_(model.parameters(), 1.0)\n    optimizer.step()\n`;
  assert.deepEqual(ids(accel, 'TL021'), []);
  const disabled = loop(BUGGY, SETUP.replace('torch.amp.GradScaler("cuda")', 'torch.amp.GradScaler("cuda", enabled=False)'));
  assert.deepEqual(ids(disabled, 'TL021'), []);
  // the clip before the scaled backward (previous gradients), and after the step (TL004's business)
  assert.deepEqual(ids(loop(`${FORWARD}torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\nscaler.scale(loss).backward()\nscaler.step(optimizer)\nscaler.update()`), 'TL021'), []);
  assert.deepEqual(ids(loop(`${FORWARD}scaler.scale(loss).backward()\nscaler.step(optimizer)\nscaler.update()\ntorch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)`), 'TL021'), []);
  // a scaled backward in the other branch of an if: not on the clip's path
  const other = loop(`${FORWARD}if use_amp:\n    scaler.scale(loss).backward()\nelse:\n    loss.backward()\n    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\nscaler.step(optimizer)`);
  assert.deepEqual(ids(other, 'TL021'), []);
});

test('TL021: silent when the scaler is stepped or back-propagated in another function', () => {
  const split = `${HEADER}${SETUP}
def backward_step(loss):
    scaler.scale(loss).backward()

def optimizer_step():
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    scaler.step(optimizer)
    scaler.update()
`;
  assert.deepEqual(ids(split, 'TL021'), []);
  const stepElsewhere = `${HEADER}${SETUP}
def optimizer_step():
    scaler.step(optimizer)
    scaler.update()

for x, y in train_loader:
    with torch.autocast("cuda"):
        loss = criterion(model(x), y)
    scaler.scale(loss).backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer_step()
`;
  assert.deepEqual(ids(stepElsewhere, 'TL021'), []);
  // a StandardScaler named scaler: not a GradScaler
  const sk = `${HEADER}from sklearn.preprocessing import StandardScaler\nscaler = StandardScaler()\nfor x, y in train_loader:\n    scaler.scale(loss).backward()\n    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n    scaler.step(optimizer)\n`;
  assert.deepEqual(ids(sk, 'TL021'), []);
});
