import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

const SETUP = 'model = nn.Linear(10, 2)\noptimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n';

/** A script: `build` makes `scheduler`, the epoch loop computes the metrics and runs `step`. */
const script = (build: string, step: string, pre = '') =>
  `${HEADER}${pre}${SETUP}scheduler = ${build}\nfor epoch in range(50):\n    train_one_epoch(model, train_loader, optimizer)\n    val_loss, val_acc = evaluate(model, val_loader)\n    ${step}\n`;

const PLATEAU = 'torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=3)';

test('HP005: default mode stepped with val_acc; the fix adds mode="max" and re-lints clean', () => {
  const code = script(PLATEAU, 'scheduler.step(val_acc)');
  const f = lint(code);
  assert.deepEqual(f.map((x) => [x.rule, x.severity]), [['HP005', 'warning']]);
  assert.equal(
    f[0]!.message,
    "val_acc should rise, but this ReduceLROnPlateau has mode='min' (the default) and lowers the learning rate when its value stops falling: it will cut the learning rate while the model improves. Build it with mode='max'.",
  );
  assert.equal(f[0]!.range.start.line, code.split('\n').findIndex((l) => l.trim() === 'scheduler.step(val_acc)'));
  const fixed = fix(code, 'HP005');
  assert.match(fixed, /ReduceLROnPlateau\(optimizer, factor=0\.5, patience=3, mode='max'\)/);
  assert.deepEqual(lint(fixed), []);
});

test('HP005: explicit mode="min" (keyword or positional) is replaced in its own quotes', () => {
  const kw = script('torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", patience=5)', 'scheduler.step(val_auc)');
  assert.deepEqual(ids(kw), ['HP005']);
  assert.match(lint(kw)[0]!.message, /has mode="min" and lowers/);
  const fixed = fix(kw, 'HP005');
  assert.match(fixed, /ReduceLROnPlateau\(optimizer, mode="max", patience=5\)/);
  assert.deepEqual(lint(fixed), []);
  const pos = script("torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, 'min', 0.1, 10)", 'scheduler.step(val_acc)');
  assert.deepEqual(ids(pos), ['HP005']);
  assert.match(fix(pos, 'HP005'), /ReduceLROnPlateau\(optimizer, 'max', 0\.1, 10\)/);
});

test('HP005: real-world spellings of the score and of the import', () => {
  const from = 'from torch.optim.lr_scheduler import ReduceLROnPlateau\n';
  for (const step of [
    'scheduler.step(val_accuracy)',
    'scheduler.step(metrics["val_f1"])',
    "scheduler.step(logs['val/mIoU'])",
    'scheduler.step(val_dice.item())',
    'scheduler.step(float(val_mAP))',
    'scheduler.step(history["val_acc"][-1])',
    'scheduler.step(val_accs[-1])',
    'scheduler.step(results.map50)',
    'scheduler.step(metrics=best_score)',
    'scheduler.step(valAUC)',
    'scheduler.step(bleu_score)',
  ]) {
    assert.deepEqual(ids(script('ReduceLROnPlateau(optimizer, patience=2)', step, from), 'HP005'), ['HP005'], step);
  }
  const optim = `${HEADER}import torch.optim as optim\n${SETUP}sched = optim.lr_scheduler.ReduceLROnPlateau(optimizer)\nfor epoch in range(10):\n    acc = validate(model)\n    sched.step(acc)\n`;
  assert.deepEqual(ids(optim, 'HP005'), ['HP005']);
  assert.match(fix(optim, 'HP005'), /ReduceLROnPlateau\(optimizer, mode='max'\)/);
});

test('HP005: self.scheduler built in __init__ and stepped in another method', () => {
  const code = `${HEADER}
class Trainer:
    def __init__(self, model):
        self.model = model
        self.optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(self.optimizer, patience=3)

    def on_epoch_end(self, val_metrics):
        self.scheduler.step(val_metrics["accuracy"])
`;
  assert.deepEqual(ids(code), ['HP005']);
  assert.deepEqual(lint(fix(code, 'HP005')), []);
});

test('HP005: mode="max" stepped with a loss; the fix sets mode="min"', () => {
  const code = script("torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode='max', patience=3)", 'scheduler.step(val_loss)');
  const f = lint(code);
  assert.deepEqual(f.map((x) => x.rule), ['HP005']);
  assert.match(f[0]!.message, /^val_loss should fall, but this ReduceLROnPlateau has mode='max'.*Build it with mode='min'\.$/);
  const fixed = fix(code, 'HP005');
  assert.match(fixed, /mode='min', patience=3/);
  assert.deepEqual(lint(fixed), []);
  assert.deepEqual(ids(script("torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode='max')", 'scheduler.step(val_rmse)'), 'HP005'), ['HP005']);
});

test('HP005: the right pairings are silent', () => {
  assert.deepEqual(ids(script(PLATEAU, 'scheduler.step(val_loss)')), []);
  assert.deepEqual(ids(script("torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode='max')", 'scheduler.step(val_acc)')), []);
  assert.deepEqual(ids(script("torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, 'max')", 'scheduler.step(val_f1)')), []);
  assert.deepEqual(ids(script("torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode='min')", 'scheduler.step(val_error)')), []);
});

test('HP005: negated or computed scores, unclear names, mixed uses are silent', () => {
  for (const step of [
    'scheduler.step(-val_acc)',
    'scheduler.step(1 - val_acc)',
    'scheduler.step(100.0 - val_acc)',
    'scheduler.step(val_metric)',
    'scheduler.step(neg_acc)',
    'scheduler.step(acc_loss)',
    'scheduler.step(top1_err)',
    'scheduler.step(dice_loss)',
    'scheduler.step(score_dist)',
    'scheduler.step(compute_acc(model))',
    'scheduler.step(metrics[key])',
    'scheduler.step(metrics[f"val_{name}"])',
    'scheduler.step(accuracy_drop)',
  ]) {
    assert.deepEqual(ids(script(PLATEAU, step), 'HP005'), [], step);
  }
  // A score computed as a negated loss rises as the model improves: mode='min' is wrong for it (lint-keras-plateau-wild6).
  assert.deepEqual(ids(script(PLATEAU, 'score = -val_loss\n    scheduler.step(score)'), 'HP005'), ['HP005']);
  // A name that says the other kind than its negated value: unclear.
  assert.deepEqual(ids(script(PLATEAU, 'score = -val_acc\n    scheduler.step(score)'), 'HP005'), []);
  // The same scheduler stepped with a loss elsewhere: not clearly the wrong kind.
  assert.deepEqual(ids(script(PLATEAU, 'scheduler.step(val_acc)\n    scheduler.step(val_loss)'), 'HP005'), []);
});

test('HP005: other schedulers, unknown builds, non-literal modes and **kwargs are silent', () => {
  assert.deepEqual(ids(script('torch.optim.lr_scheduler.StepLR(optimizer, step_size=10)', 'scheduler.step(val_acc)'), 'HP005'), []);
  assert.deepEqual(ids(script('make_scheduler(optimizer)', 'scheduler.step(val_acc)'), 'HP005'), []);
  assert.deepEqual(ids(script('torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode=cfg.mode)', 'scheduler.step(val_acc)'), 'HP005'), []);
  assert.deepEqual(ids(script('torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode=MODE)', 'scheduler.step(val_acc)', 'MODE = "max"\n'), 'HP005'), []);
  assert.deepEqual(ids(script('torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, **sched_kwargs)', 'scheduler.step(val_acc)'), 'HP005'), []);
  // A class of the same name that is not torch's, and a scheduler passed in as a parameter.
  assert.deepEqual(ids(`${HEADER}from mylib import ReduceLROnPlateau\n${SETUP}s = ReduceLROnPlateau(optimizer)\ns.step(val_acc)\n`, 'HP005'), []);
  const param = `${HEADER}x = torch.optim.lr_scheduler.ReduceLROnPlateau\ndef fit(model, scheduler):\n    for epoch in range(10):\n        val_acc = evaluate(model)\n        scheduler.step(val_acc)\n`;
  assert.deepEqual(ids(param, 'HP005'), []);
  // optimizer.step() and a scheduler step without a metric are not this rule's.
  assert.deepEqual(ids(script(PLATEAU, 'optimizer.step()'), 'HP005'), []);
});

test('HP005: the metadata snippets', () => {
  assert.deepEqual(ids(`${HEADER}${SETUP}scheduler = ${PLATEAU}\nval_acc = 0.5\nscheduler.step(val_acc)\n`, 'HP005'), ['HP005']);
});

test('HP005: two steps of one scheduler: both reported, the constructor fix offered once', () => {
  const code = script(PLATEAU, 'if epoch < 10:\n        scheduler.step(val_acc)\n    else:\n        scheduler.step(val_acc)');
  const f = lint(code);
  assert.deepEqual(f.map((x) => x.rule), ['HP005', 'HP005']);
  assert.deepEqual(f.map((x) => x.fixes?.length ?? 0), [1, 0]);
  assert.deepEqual(lint(fix(code, 'HP005')), []);
});
