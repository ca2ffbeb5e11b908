// Training-loop rules, round 9: early-stopping counters counted on an "improved" flag or call, ...
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, lint, useParser } from './lint/helpers';

useParser();

// ---- TL026: a patience counter counted when a flag or call says "no improvement", never reset ----

const FLAG_LOOP = (body: string) =>
  `${HEADER}wait = 0\nbest = 1e9\nfor epoch in range(200):\n    val = run_epoch(model, loader)\n${body}\n`;

test('TL026: counter counted under `if not improved:` and never reset is reported', () => {
  const code = FLAG_LOOP(
    '    improved = sched.is_better(val, best)\n    if not improved:\n        wait += 1\n    if wait > patience:\n        break\n    best = sched.best',
  );
  assert.deepEqual(ids(code, 'TL026'), ['TL026']);
});

test('TL026: counter counted in the else of an `is_better(...)` call test is reported; resetting it is not', () => {
  const bad = FLAG_LOOP('    if tracker.is_better(val):\n        save(model)\n    else:\n        wait += 1\n        if wait >= 7:\n            print("stop")\n            break');
  assert.deepEqual(ids(bad, 'TL026'), ['TL026']);
  const good = FLAG_LOOP(
    '    if tracker.is_better(val):\n        save(model)\n        wait = 0\n    else:\n        wait += 1\n        if wait >= 7:\n            break',
  );
  assert.deepEqual(ids(good, 'TL026'), []);
});

const CALLBACK = (onImprove: string) => `${HEADER}import numpy as np


class PlateauStop:
    def __init__(self, limit=4):
        self.best_score = None
        self.misses = 0
        self.limit = limit

    def on_evaluate(self, args, state, control, metrics):
        better = np.greater if args.greater_is_better else np.less
        if self.best_score is None or better(metrics["eval_f1"], self.best_score):
            self.best_score = metrics["eval_f1"]
${onImprove}        else:
            self.misses += 1
        if self.misses >= self.limit:
            control.should_training_stop = True
`;

test('TL026: a callback whose miss counter is never reset on a new best (comparison by a function) is reported', () => {
  assert.deepEqual(ids(CALLBACK(''), 'TL026'), ['TL026']);
  assert.deepEqual(ids(CALLBACK('            self.misses = 0\n'), 'TL026'), []);
});

test('TL026: a counter reset in another method (a reset hook) is left alone', () => {
  const code = CALLBACK('') + '\n    def on_train_begin(self, args, state, control):\n        self.misses = 0\n';
  assert.deepEqual(ids(code, 'TL026'), []);
});

test('TL026: a counter under an improvement flag that stops nothing (a count for the log) is left alone', () => {
  const code = FLAG_LOOP('    improved = sched.is_better(val, best)\n    if not improved:\n        wait += 1\n    if wait > patience:\n        print("no progress for a while")\n    best = sched.best');
  assert.deepEqual(ids(code, 'TL026'), []);
});

test('TL026: a counter under a condition that is not about improvement is left alone', () => {
  const code = FLAG_LOOP('    if not converged:\n        wait += 1\n    if wait > patience:\n        break');
  assert.deepEqual(ids(code, 'TL026'), []);
});

// ---- TL029: the step in the else of `% N == 0`, or every batch outside a guard that steps nothing ----

const ACCUM = (body: string) =>
  `${HEADER}accum_steps = 4\nfor i, batch in enumerate(loader):\n    out = model(**batch)\n    loss = out.loss / accum_steps\n${body}\n`;

test('TL029: the step in the else of `if i % N == 0:` (backward in both branches) is reported', () => {
  const code = ACCUM(
    '    if i % accum_steps == 0:\n        with accelerator.no_sync(model):\n            accelerator.backward(loss)\n    else:\n        accelerator.backward(loss)\n        optimizer.step()\n        optimizer.zero_grad()',
  );
  assert.deepEqual(ids(code, 'TL029'), ['TL029']);
});

test('TL029: the step in the else of `if i % N != 0:` (the right way round) is left alone', () => {
  const code = ACCUM(
    '    if i % accum_steps != 0:\n        with accelerator.no_sync(model):\n            accelerator.backward(loss)\n    else:\n        accelerator.backward(loss)\n        optimizer.step()\n        optimizer.zero_grad()',
  );
  assert.deepEqual(ids(code, 'TL029'), []);
});

test('TL029: steps on every batch (also under `if opt is not None:`) outside an accumulation guard that steps nothing', () => {
  const code = ACCUM(
    '    loss.backward()\n    if (i + 1) % accum_steps == 0:\n        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n        updates += 1\n    if optimizer is not None:\n        optimizer.step()\n        optimizer.zero_grad()\n    head_opt.step()\n    head_opt.zero_grad()',
  );
  const f = lint(code, { select: ['TL029'] });
  assert.deepEqual(f.map((x) => x.rule), ['TL029', 'TL029']);
  assert.match(f[0]!.message, /^optimizer\.step\(\) runs on every batch, outside the accumulation guard `if \(i \+ 1\) % accum_steps == 0:`/);
});

test('TL029: a logging guard on a modulo not named for accumulation, with a step every batch, is left alone', () => {
  const code = ACCUM('    loss.backward()\n    if i % log_every == 0:\n        print(loss.item())\n    optimizer.step()\n    optimizer.zero_grad()');
  assert.deepEqual(ids(code, 'TL029'), []);
});

test('TL029: steps inside `with accelerator.accumulate(model):` (accelerate skips them) are left alone', () => {
  const code = ACCUM(
    '    with accelerator.accumulate(model):\n        accelerator.backward(loss)\n        optimizer.step()\n        optimizer.zero_grad()\n    if i % accum_steps == 0:\n        progress.update(1)',
  );
  assert.deepEqual(ids(code, 'TL029'), []);
});

// ---- TL028: two optimizers named for two parts built on the first part's list ----

const TWIN = (valueOpt: string, extra = '') => `${HEADER}from mypkg.utils import collect_params


class Agent:
    def setup(self, world, actor, critic):
        self.world_parts = [world.encoder, world.dynamics]
        self.critic_parts = [critic]
        self.world_opt = torch.optim.Adam(collect_params(self.world_parts), lr=3e-4)
        self.critic_opt = torch.optim.Adam(${valueOpt}, lr=1e-4)
${extra}`;

test('TL028: `critic_opt` built on the list named for the world model, while `self.critic_parts` is in no optimizer', () => {
  const f = lint(TWIN('collect_params(self.world_parts)'), { select: ['TL028'] });
  assert.deepEqual(f.map((x) => x.rule), ['TL028']);
  assert.match(f[0]!.message, /^`self\.critic_opt` is built on `collect_params\(self\.world_parts\)`, like `self\.world_opt`, while `self\.critic_parts` is given to no optimizer/);
});

test('TL028: the same twin built on plain lists of parameters (`actor_params`, `critic_params`)', () => {
  const code = `${HEADER}actor_params = list(actor.parameters())\ncritic_params = list(critic.parameters())\nactor_optim = torch.optim.Adam(actor_params, lr=1e-4)\ncritic_optim = torch.optim.Adam(actor_params, lr=1e-3)\n`;
  assert.deepEqual(ids(code, 'TL028'), ['TL028']);
});

test('TL028: twin lists left alone when each is built on its own list, or the other list feeds some optimizer', () => {
  assert.deepEqual(ids(TWIN('collect_params(self.critic_parts)'), 'TL028'), []);
  const fed = TWIN('collect_params(self.world_parts)', '        self.extra_opt = torch.optim.SGD(collect_params(self.critic_parts), lr=1e-2)\n');
  assert.deepEqual(ids(fed, 'TL028'), []);
});

test('TL028: twin lists left alone when no list is named for the second part', () => {
  const code = TWIN('collect_params(self.world_parts)').replace('        self.critic_parts = [critic]\n', '');
  assert.deepEqual(ids(code, 'TL028'), []);
});

// ---- DV007: a loop target read as a mapping (`model(**batch)`) is a BatchEncoding, whose .to() works in place ----

const MOVE = (use: string) => `${HEADER}for step, batch in enumerate(train_loader):\n    batch.to(device)\n    out = ${use}\n    out.loss.backward()\n`;

test('DV007: `batch.to(device)` on a batch unpacked with ** (a BatchEncoding) is left alone; a tensor batch is still reported', () => {
  assert.deepEqual(ids(MOVE('model(**batch)'), 'DV007'), []);
  assert.deepEqual(ids(MOVE('model(input_ids=batch["input_ids"])'), 'DV007'), []);
  assert.deepEqual(ids(MOVE('model(batch)'), 'DV007'), ['DV007']);
});
