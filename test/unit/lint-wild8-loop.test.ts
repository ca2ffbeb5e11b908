// Training-loop recall, wild8 round: a loss term appended to a history list (TL008), an added detached loss that no
// backward reaches (TL007), a wrapper's step() that steps the scheduler first (TL005), a second patience counter in
// the no-improvement branch (TL026), a restored start epoch that is only printed (TL024).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, lint, useParser } from './lint/helpers';

useParser();

// ---- TL008: a term of the back-propagated loss, or the container it is summed from, kept in a history list ----

/** A training function whose loop body is `body` (lines at loop-body indent); `pre` at function level before it. */
const epoch = (body: string, pre = 'history = []\n') =>
  `${HEADER}def run(model, loader, optimizer, criterion):\n${pre
    .split('\n')
    .map((l) => (l ? '    ' + l : l))
    .join('\n')}\n    for x, y in loader:\n        optimizer.zero_grad()\n${body
    .split('\n')
    .map((l) => '        ' + l)
    .join('\n')}\n        optimizer.step()\n    return history\n`;

test('TL008: a term or the tuple of terms of the back-propagated loss appended to a list made before the loop', () => {
  const buggy = [
    // the tuple a model method returns, summed when it is one
    'parts = model.compute_losses(x, y)\nloss = sum(parts) if isinstance(parts, tuple) else parts\nloss.backward()\nhistory.append(parts)',
    // a dict of losses, entries summed
    'terms = model.losses(model(x), y)\ntotal = terms["ce"] + 0.1 * terms["kl"]\ntotal.backward()\nhistory.append(terms)',
    // one named term of a weighted sum
    'mse = criterion(model(x), y)\nreg = model.penalty()\nobjective = (mse + 0.01 * reg) / 2\nobjective.backward()\nhistory.append(mse)',
    // a stacked list reduced with a method
    'pieces = model.per_head_losses(x, y)\ntorch.stack(pieces).mean().backward()\nhistory.append(pieces)',
  ];
  for (const body of buggy) assert.deepEqual(ids(epoch(body), 'TL008'), ['TL008'], body);
});

test('TL008: a plain term gets the .item() fix; a container gets none', () => {
  const term = lint(epoch('mse = criterion(model(x), y)\nobjective = mse + model.penalty()\nobjective.backward()\nhistory.append(mse)'), { select: ['TL008'] });
  assert.equal(term.length, 1);
  assert.equal(term[0]!.fixes?.[0]?.title, 'Use mse.item()');
  const box = lint(epoch('parts = model.compute_losses(x, y)\nloss = sum(parts)\nloss.backward()\nhistory.append(parts)'), { select: ['TL008'] });
  assert.equal(box.length, 1);
  assert.equal(box[0]!.fixes, undefined);
  assert.match(box[0]!.message, /summed from/);
});

test('TL008: look-alikes stay quiet', () => {
  const clean: [string, string?][] = [
    // the batch size that scales the loss: no gradient in it
    ['n = x.size(0)\nloss = criterion(model(x), y) * n\nloss.backward()\nhistory.append(n)'],
    // a list made inside the loop, summed into the loss: each iteration starts afresh
    ['parts = []\nparts.append(criterion(model(x), y))\npart = model.penalty()\nparts.append(part)\nloss = sum(parts)\nloss.backward()\nhistory.append(loss.item())', 'history = []\n'],
    // a term appended as a number
    ['mse = criterion(model(x), y)\nloss = mse + model.penalty()\nloss.backward()\nhistory.append(mse.item())'],
    // the target passed to the loss is not one of its terms
    ['target = model.teacher(x)\nloss = criterion(model(x), target)\nloss.backward()\nhistory.append(target)'],
    // appended, but the backward is outside this loop (the sum is back-propagated once)
    ['parts = model.compute_losses(x, y)\nhistory.append(parts)'],
  ];
  for (const [body, pre] of clean) assert.deepEqual(ids(epoch(body, pre), 'TL008'), [], body);
});

// ---- TL007: a detached loss added to the back-propagated loss, its graph reached by no backward ----

/** A generator step: `adv` is an adversarial loss on the discriminator's output, then `body` (lines at loop indent). */
const genStep = (body: string) =>
  `${HEADER}class Trainer:\n    def __init__(self, gen, disc):\n        self.gen = gen\n        self.disc = disc\n        self.l1 = nn.L1Loss()\n        self.bce = nn.BCEWithLogitsLoss()\n\n    def fit(self, loader, optimizer, use_adv):\n        for x, y, code in loader:\n            optimizer.zero_grad()\n            out = self.gen(x)\n            rec_loss = self.l1(out, y)\n${body
    .split('\n')
    .map((l) => '            ' + l)
    .join('\n')}\n            optimizer.step()\n`;

test('TL007: a loss computed in the iteration, detached and added: its term trains nothing', () => {
  const buggy = [
    // rebound to its own .item()
    'adv = self.bce(self.disc(out), code)\nadv = adv.detach().item()\nloss = rec_loss + adv\nloss.backward()',
    // under another name
    'adv_loss = self.bce(self.disc(out), code)\ng_loss = adv_loss.detach().item()\nloss = rec_loss + 0.1 * g_loss\nloss.backward()',
    // weighted, turned into a float, on one path
    'adv_loss = 0\nif use_adv:\n    adv_loss = self.bce(self.disc(out), code)\n    adv_loss = float(adv_loss.detach())\nloss = rec_loss + 0.05 * adv_loss\nloss.backward()',
    // added on one path only: the loss is built in an if / else
    'adv = 0\nif use_adv:\n    adv = self.bce(self.disc(out), code)\n    adv = adv.detach().item()\nif use_adv:\n    loss = rec_loss + adv\nelse:\n    loss = rec_loss\nloss.backward()',
  ];
  for (const body of buggy) assert.deepEqual(ids(genStep(body), 'TL007'), ['TL007'], body);
});

test('TL007: a detached loss whose graph another backward reaches, or a previous loss, stays a baseline', () => {
  const clean = [
    // the adversarial loss is back-propagated on its own; the sum only reports the total
    'adv_loss = self.bce(self.disc(out), code)\nadv_loss.backward(retain_graph=True)\ntotal = rec_loss + adv_loss.detach()\ntotal.backward()',
    // the same loss detached and added (a normalising shape)
    'scaled = rec_loss + float(rec_loss)\nscaled.backward()',
    // the two-path loss with the differentiable term kept
    'adv = 0\nif use_adv:\n    adv = self.bce(self.disc(out), code)\nif use_adv:\n    loss = rec_loss + adv\nelse:\n    loss = rec_loss\nloss.backward()',
  ];
  for (const body of clean) assert.deepEqual(ids(genStep(body), 'TL007'), [], body);
  // a previous iteration's loss (loop-carried), added
  const carried = `${HEADER}model = nn.Linear(4, 1)\ncriterion = nn.MSELoss()\nprev_loss = 0.0\nfor x, y in loader:\n    loss = criterion(model(x), y)\n    total = loss + prev_loss\n    total.backward()\n    prev_loss = loss.detach().item()\n`;
  assert.deepEqual(ids(carried, 'TL007'), []);
});

// ---- TL005: a function that steps the scheduler, then the optimizer, in its own body ----

const wrapper = (stepBody: string, build = 'transformers.get_linear_schedule_with_warmup(optimizer, 100, 1000)') =>
  `${HEADER}import transformers\n\nclass OptimizerAndSchedule:\n    def __init__(self, optimizer, scheduler):\n        self.optimizer = optimizer\n        self.scheduler = scheduler\n\n    def step(self):\n${stepBody
    .split('\n')
    .map((l) => '        ' + l)
    .join('\n')}\n\n\ndef build(model):\n    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)\n    scheduler = ${build}\n    return OptimizerAndSchedule(optimizer=optimizer, scheduler=scheduler)\n`;

test('TL005: a wrapper step() that steps the scheduler before the optimizer', () => {
  assert.deepEqual(ids(wrapper('self.scheduler.step()\nself.optimizer.step()'), 'TL005'), ['TL005']);
  // torch's own scheduler, passed positionally
  const positional = wrapper('self.scheduler.step()\nself.optimizer.step()', 'torch.optim.lr_scheduler.StepLR(optimizer, 10)').replace('OptimizerAndSchedule(optimizer=optimizer, scheduler=scheduler)', 'OptimizerAndSchedule(optimizer, scheduler)');
  assert.deepEqual(ids(positional, 'TL005'), ['TL005']);
  // a plain function with both passed in
  const fn = `${HEADER}def update(optimizer, scheduler):\n    scheduler.step()\n    optimizer.step()\n\n\nopt = torch.optim.SGD(model.parameters(), lr=0.1)\nupdate(opt, torch.optim.lr_scheduler.StepLR(opt, 10))\n`;
  assert.deepEqual(ids(fn, 'TL005'), ['TL005']);
  assert.match(lint(wrapper('self.scheduler.step()\nself.optimizer.step()'), { select: ['TL005'] })[0]!.message, /of this call/);
});

test('TL005: the right order, a scheduler of unknown kind, or an optimizer step in a later loop stay quiet', () => {
  assert.deepEqual(ids(wrapper('self.optimizer.step()\nself.scheduler.step()'), 'TL005'), []);
  // a project's own scheduler class (may be meant to run first)
  assert.deepEqual(ids(wrapper('self.scheduler.step()\nself.optimizer.step()', 'MySchedule(optimizer)'), 'TL005'), []);
  // a per-epoch function: the step at its top is the previous epoch's end when nothing calls it in a loop
  const perEpoch = `${HEADER}def train_epoch(model, loader, optimizer, scheduler):\n    scheduler.step()\n    for x, y in loader:\n        optimizer.zero_grad()\n        criterion(model(x), y).backward()\n        optimizer.step()\n\n\nopt = torch.optim.SGD(model.parameters(), lr=0.1)\ntrain_epoch(model, loader, opt, torch.optim.lr_scheduler.StepLR(opt, 10))\n`;
  assert.deepEqual(ids(perEpoch, 'TL005'), []);
});

// ---- TL026: the early-stopping counter is the second one the no-improvement branch counts ----

const fit = (reset: string) =>
  `${HEADER}def fit(model, patience, lr_patience):\n    best_loss = float("inf")\n    lr_wait = 0\n    stop_wait = 0\n    for epoch in range(100):\n        val_loss = run_epoch(model)\n        if val_loss < best_loss:\n            best_loss = val_loss\n            torch.save(model.state_dict(), "best.pt")\n${reset}        else:\n            lr_wait += 1\n            stop_wait += 1\n        lr_wait = reduce_on_plateau(lr_wait, lr_patience)\n        if stop_wait >= patience:\n            break\n`;

test('TL026: each counter of the no-improvement branch is checked, not only the first', () => {
  const found = lint(fit(''), { select: ['TL026'] });
  assert.deepEqual(
    found.map((f) => f.message.split(' ')[0]),
    ['stop_wait'],
  );
  assert.deepEqual(ids(fit('            stop_wait = 0\n'), 'TL026'), []);
  // both counters never reset: both reported
  const both = fit('').replace('        lr_wait = reduce_on_plateau(lr_wait, lr_patience)\n', '        if lr_wait >= lr_patience:\n            shrink_lr()\n');
  assert.deepEqual(ids(both, 'TL026'), ['TL026', 'TL026']);
});

// ---- TL024: the restored start epoch is only printed ----

const resume = (use: string, loop = 'range(args.epochs)') =>
  `${HEADER}def main(args, model):\n    if args.resume:\n        ckpt = torch.load(args.resume)\n        start_epoch = ckpt["epoch"]\n        model.load_state_dict(ckpt["model"])\n${use}    for epoch in ${loop}:\n        train_one_epoch(model, epoch)\n`;

test('TL024: a restored start epoch read only by a log line is still ignored', () => {
  const logged = [
    '        print("=> loaded checkpoint (epoch {})".format(start_epoch))\n',
    '        logger.info(f"resumed from epoch {start_epoch}")\n',
    '        print("resumed at", start_epoch, "epochs")\n',
  ];
  for (const use of logged) assert.deepEqual(ids(resume(use), 'TL024'), ['TL024'], use);
});

test('TL024: a restored start epoch used by the loop, a scheduler or a file name stays quiet', () => {
  assert.deepEqual(ids(resume('', 'range(start_epoch, args.epochs)'), 'TL024'), []);
  assert.deepEqual(ids(resume('        scheduler = torch.optim.lr_scheduler.StepLR(opt, 10, last_epoch=start_epoch)\n'), 'TL024'), []);
  assert.deepEqual(ids(resume('        log_path = "run_{}.txt".format(start_epoch)\n'), 'TL024'), []);
});
