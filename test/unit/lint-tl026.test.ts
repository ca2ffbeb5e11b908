import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

const indent = (body: string, by = '    ') => body.split('\n').map((l) => (l ? by + l : l)).join('\n');
/** An epoch loop after `init`, whose body validates and then runs `body`. */
const loop = (init: string, body: string) =>
  `${HEADER}import copy\n${init}\nfor epoch in range(100):\n    train_one_epoch(model, train_loader, optimizer)\n    val_loss = validate(model, val_loader)\n${indent(body)}\n`;

const NO_RESET =
  'if val_loss < best_loss:\n    best_loss = val_loss\n    torch.save(model.state_dict(), "best.pt")\nelse:\n    counter += 1\n    if counter >= patience:\n        break';

test('TL026: the patience counter is never reset on improvement; the fix resets it first thing in the branch', () => {
  const code = loop('best_loss = float("inf")\ncounter = 0\npatience = 5', NO_RESET);
  const f = lint(code);
  assert.deepEqual(f.map((x) => [x.rule, x.severity]), [['TL026', 'warning']]);
  assert.equal(
    f[0]!.message,
    'counter counts every epoch without improvement since the start, not in a row: it is never set back to 0 when val_loss improves, so training stops too early. Reset it (counter = 0) where best_loss is updated.',
  );
  assert.equal(f[0]!.range.start.line, code.split('\n').findIndex((l) => l.trim() === 'counter += 1'));
  const fixed = fix(code, 'TL026');
  assert.match(fixed, /\n {4}if val_loss < best_loss:\n {8}counter = 0\n {8}best_loss = val_loss\n/);
  assert.deepEqual(lint(fixed), []);
});

test('TL026: the best value is never updated; the fix sets it first thing in the branch', () => {
  const code = loop(
    'best_acc = 0.0',
    'val_acc = accuracy(model, val_loader)\nif val_acc > best_acc:\n    print("new best", val_acc)\n    torch.save(model.state_dict(), "best.pt")',
  );
  const f = lint(code);
  assert.deepEqual(f.map((x) => x.rule), ['TL026']);
  assert.equal(
    f[0]!.message,
    'best_acc is never updated when val_acc improves: every epoch better than the initial value counts as an improvement, so the saved "best" model is just the latest one. Set best_acc = val_acc in this branch.',
  );
  assert.equal(f[0]!.range.start.line, code.split('\n').findIndex((l) => l.trim() === 'if val_acc > best_acc:'));
  const fixed = fix(code, 'TL026');
  assert.match(fixed, /\n {4}if val_acc > best_acc:\n {8}best_acc = val_acc\n {8}print/);
  assert.deepEqual(lint(fixed), []);
});

test('TL026: both mistakes in one branch give two findings; fixing both is clean', () => {
  const code = loop(
    'min_val_loss, epochs_no_improve, n_epochs_stop = np.inf, 0, 10',
    'if val_loss < min_val_loss:\n    best_state = copy.deepcopy(model.state_dict())\nelse:\n    epochs_no_improve += 1\n    if epochs_no_improve == n_epochs_stop:\n        print("Early stopping!")\n        break',
  ).replace('import copy\n', 'import copy\nimport numpy as np\n');
  const f = lint(code);
  assert.deepEqual(f.map((x) => x.rule), ['TL026', 'TL026']);
  assert.match(f[0]!.message, /^min_val_loss is never updated when val_loss improves/);
  assert.match(f[1]!.message, /^epochs_no_improve counts every epoch/);
  const once = fix(code, 'TL026');
  assert.match(once, /\n {4}if val_loss < min_val_loss:\n {8}min_val_loss = val_loss\n/);
  assert.deepEqual(ids(once), ['TL026']);
  const twice = fix(once, 'TL026');
  assert.match(twice, /\n {8}epochs_no_improve = 0\n {8}min_val_loss = val_loss\n/);
  assert.deepEqual(lint(twice), []);
});

test('TL026: min_delta, reversed comparison, tuple init, trigger_times, while loop condition', () => {
  // val_loss < best_loss - min_delta: flagged, the counter fix is still offered
  const delta = loop(
    'best_loss, trigger_times, patience, min_delta = float("inf"), 0, 3, 1e-4',
    'if val_loss < best_loss - min_delta:\n    best_loss = val_loss\n    torch.save(model.state_dict(), "best.pt")\nelse:\n    trigger_times += 1\n    if trigger_times >= patience:\n        break',
  );
  assert.deepEqual(ids(delta, 'TL026'), ['TL026']);
  assert.deepEqual(lint(fix(delta, 'TL026')), []);
  // best_loss > val_loss, written the other way round
  const reversed = loop('best_loss = 1e9\nwait = 0', NO_RESET.replace('val_loss < best_loss', 'best_loss > val_loss').replace(/counter/g, 'wait').replace('patience', '7'));
  assert.deepEqual(ids(reversed, 'TL026'), ['TL026']);
  // the best value not updated, with `- min_delta`: no fix (the branch may not be the whole improvement)
  const noFix = loop(
    'best_loss = float("inf")\nmin_delta = 0.01',
    'if val_loss < best_loss - min_delta:\n    torch.save(model.state_dict(), "best.pt")',
  );
  const f = lint(noFix);
  assert.deepEqual(f.map((x) => x.rule), ['TL026']);
  assert.equal(f[0]!.fixes, undefined);
  // while bad_epochs < patience: the loop condition is the patience test
  const whileLoop = `${HEADER}best_val = float("inf")\nbad_epochs = 0\nwhile bad_epochs < 10:\n    val_loss = run_epoch(model)\n    if val_loss < best_val:\n        best_val = val_loss\n        torch.save(model.state_dict(), "best.pt")\n    else:\n        bad_epochs += 1\n`;
  assert.deepEqual(ids(whileLoop, 'TL026'), ['TL026']);
  assert.deepEqual(lint(fix(whileLoop, 'TL026')), []);
});

test('TL026: the inverted if (worse first, improvement in else)', () => {
  const code = loop(
    'best_loss = float("inf")\npatience_counter = 0',
    'if val_loss >= best_loss:\n    patience_counter += 1\n    if patience_counter > 5:\n        break\nelse:\n    best_loss = val_loss\n    torch.save(model.state_dict(), "best.pt")',
  );
  assert.deepEqual(ids(code, 'TL026'), ['TL026']);
  const fixed = fix(code, 'TL026');
  assert.match(fixed, /\n {4}else:\n {8}patience_counter = 0\n {8}best_loss = val_loss\n/);
  assert.deepEqual(lint(fixed), []);
});

const CLASS = (call: string) => `${HEADER}
class EarlyStopping:
    def __init__(self, patience=7, delta=0.0, path="checkpoint.pt"):
        self.patience = patience
        self.counter = 0
        self.best_score = None
        self.early_stop = False
        self.val_loss_min = float("inf")
        self.delta = delta
        self.path = path

${call}

    def save_checkpoint(self, val_loss, model):
        torch.save(model.state_dict(), self.path)
        self.val_loss_min = val_loss
`;

test('TL026: an EarlyStopping class whose __call__ never resets self.counter (the classic pattern, one line missing)', () => {
  const code = CLASS(`    def __call__(self, val_loss, model):
        score = -val_loss
        if self.best_score is None:
            self.best_score = score
            self.save_checkpoint(val_loss, model)
        elif score < self.best_score + self.delta:
            self.counter += 1
            print(f"EarlyStopping counter: {self.counter} out of {self.patience}")
            if self.counter >= self.patience:
                self.early_stop = True
        else:
            self.best_score = score
            self.save_checkpoint(val_loss, model)`);
  const f = lint(code);
  assert.deepEqual(f.map((x) => x.rule), ['TL026']);
  assert.match(f[0]!.message, /^self\.counter counts every epoch .* when score improves, .* Reset it \(self\.counter = 0\) where self\.best_score is updated\.$/);
  const fixed = fix(code, 'TL026');
  assert.match(fixed, /\n {8}else:\n {12}self\.counter = 0\n {12}self\.best_score = score\n/);
  assert.deepEqual(lint(fixed), []);
  // the original (with the reset) is clean
  assert.deepEqual(lint(fixed.replace('            self.counter = 0\n            self.best_score = score\n            self.save_checkpoint(val_loss, model)', '            self.best_score = score\n            self.save_checkpoint(val_loss, model)\n            self.counter = 0')), []);
});

test('TL026: an EarlyStopping.step method that never updates self.best', () => {
  const code = `${HEADER}
class EarlyStopper:
    def __init__(self, patience=5):
        self.patience = patience
        self.wait = 0
        self.best = float("inf")

    def step(self, metric):
        if metric < self.best:
            self.wait = 0
        else:
            self.wait += 1
        return self.wait >= self.patience
`;
  const f = lint(code);
  assert.deepEqual(f.map((x) => x.rule), ['TL026']);
  assert.match(f[0]!.message, /^self\.best is never updated when metric improves/);
  const fixed = fix(code, 'TL026');
  assert.match(fixed, /\n {8}if metric < self\.best:\n {12}self\.best = metric\n {12}self\.wait = 0\n/);
  assert.deepEqual(lint(fixed), []);
});

test('TL026: silent on correct early stopping, whatever the spelling', () => {
  const clean = [
    // reset in the branch
    loop('best_loss, counter = float("inf"), 0', NO_RESET.replace('    best_loss = val_loss\n', '    best_loss = val_loss\n    counter = 0\n')),
    // tuple update `best_val, bad_epochs = val_loss, 0`
    loop(
      'best_val, best_state, patience, bad_epochs = float("inf"), None, 5, 0',
      'if val_loss < best_val:\n    best_val, bad_epochs = val_loss, 0\n    best_state = copy.deepcopy(model.state_dict())\nelse:\n    bad_epochs += 1\n    if bad_epochs >= patience:\n        break',
    ),
    // best = min(best, val_loss) after the comparison
    loop('best_loss = float("inf")', 'if val_loss < best_loss:\n    torch.save(model.state_dict(), "best.pt")\nbest_loss = min(best_loss, val_loss)'),
    // best = min(...) in the branch
    loop('best_loss = float("inf")', 'if val_loss < best_loss:\n    best_loss = min(best_loss, val_loss)\n    torch.save(model.state_dict(), "best.pt")'),
    // counter = 0 at the top of the loop (a different design)
    loop('best_loss = float("inf")\ncounter = 0', `counter = 0\n${NO_RESET}`),
    // counter reset after the if, covering the improvement
    loop('best_loss = float("inf")\ncounter = 0', `${NO_RESET}\nif val_loss <= best_loss:\n    counter = 0`),
    // the best compared against a name never assigned here (a parameter): ambiguous
    `${HEADER}def fit(model, best_loss):\n    for epoch in range(10):\n        val_loss = validate(model)\n        if val_loss < best_loss:\n            torch.save(model.state_dict(), "best.pt")\n`,
    // a threshold computed from a model, not a sentinel start
    loop('best_loss = evaluate(baseline)', 'if val_loss < best_loss:\n    torch.save(model.state_dict(), "better_than_baseline.pt")'),
    // two comparisons in the chain: ambiguous
    loop(
      'best_loss = float("inf")\ncounter = 0',
      'if val_loss < best_loss:\n    best_loss = val_loss\nelif val_loss < best_loss * 1.01:\n    torch.save(model.state_dict(), "near.pt")\nelse:\n    counter += 1\n    if counter >= 5:\n        break',
    ),
    // best_epoch arithmetic, not a metric
    loop('best_epoch = 0', 'if epoch > best_epoch + 10:\n    break'),
    // a global updated in a helper
    `${HEADER}best_acc = 0\ndef remember(acc):\n    global best_acc\n    best_acc = acc\nfor epoch in range(10):\n    acc = validate(model)\n    if acc > best_acc:\n        torch.save(model.state_dict(), "best.pt")\n        remember(acc)\n`,
    // a counter that is never compared with a patience (statistics, not early stopping)
    loop('best_loss = float("inf")\nn_worse = 0', 'if val_loss < best_loss:\n    best_loss = val_loss\n    torch.save(model.state_dict(), "best.pt")\nelse:\n    n_worse += 1\nprint(n_worse)'),
    // the counter reset by a method the branch calls
    `${HEADER}
class Stopper:
    def __init__(self):
        self.best_loss = float("inf")
        self.counter = 0

    def _improved(self, loss):
        self.best_loss = loss
        self.counter = 0

    def __call__(self, loss):
        if loss < self.best_loss:
            self._improved(loss)
            torch.save(model.state_dict(), "best.pt")
        else:
            self.counter += 1
        return self.counter >= 3
`,
    // a comparison outside any loop or method: one decision, nothing to repeat
    `${HEADER}best_loss = float("inf")\nval_loss = validate(model)\nif val_loss < best_loss:\n    torch.save(model.state_dict(), "best.pt")\n`,
    // lightning's callback: library code, nothing here
    `${HEADER}import lightning as L\nfrom lightning.pytorch.callbacks import EarlyStopping\ntrainer = L.Trainer(callbacks=[EarlyStopping(monitor="val_loss", patience=3)])\n`,
  ];
  for (const code of clean) assert.deepEqual(ids(code, 'TL026'), [], code);
});

test('TL026: look-alikes: per-fold reset before the loop is an initialisation; `best is None or` is followed', () => {
  // best reset per fold, before the epoch loop, never updated inside: still flagged
  const folds = `${HEADER}for fold in range(5):\n    best_loss = float("inf")\n    for epoch in range(20):\n        val_loss = validate(model)\n        if val_loss < best_loss:\n            torch.save(model.state_dict(), f"best_{fold}.pt")\n`;
  assert.deepEqual(ids(folds, 'TL026'), ['TL026']);
  assert.deepEqual(lint(fix(folds, 'TL026')), []);
  // best_score is None or ...: the None branch of the same `or` updates nothing, the branch does
  const orNone = loop(
    'best_score = None\nbad = 0',
    'score = -val_loss\nif best_score is None or score > best_score:\n    best_score = score\n    torch.save(model.state_dict(), "best.pt")\nelse:\n    bad += 1\n    if bad >= 4:\n        break',
  );
  assert.deepEqual(ids(orNone, 'TL026'), ['TL026']);
  assert.match(lint(orNone)[0]!.message, /^bad counts every epoch/);
  assert.deepEqual(lint(fix(orNone, 'TL026')), []);
});
