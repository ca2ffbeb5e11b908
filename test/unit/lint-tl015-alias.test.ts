import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

/** Early stopping that keeps `best_model = <keep>` in the loop, then runs `after` once the loop is done. */
const script = (keep: string, after = 'torch.save(best_model.state_dict(), "best.pt")', pre = '') =>
  `${HEADER}${pre}best_loss = float("inf")\n` +
  'for epoch in range(epochs):\n' +
  '    train_one_epoch(model, train_loader, optimizer)\n' +
  '    val_loss = validate(model, val_loader)\n' +
  '    if val_loss < best_loss:\n' +
  '        best_loss = val_loss\n' +
  `        best_model = ${keep}\n` +
  `${after}\n`;

test('TL015: best_model = model in the loop, saved after it, is an error; the fix deep-copies and imports copy', () => {
  const code = script('model');
  const f = lint(code);
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}:${x.range.start.line}`), ['TL015:error:10']);
  assert.match(f[0]!.message, /^best_model = model keeps the same object, which goes on training: copy it \(copy\.deepcopy\(model\)\)/);
  const fixed = fix(code, 'TL015');
  assert.match(fixed, /^ {8}best_model = copy\.deepcopy\(model\)$/m);
  assert.match(fixed, /^import copy$/m);
  assert.equal(fixed.match(/^import copy$/gm)?.length, 1);
  assert.deepEqual(ids(fixed, 'TL015'), []);
  assert.deepEqual(ids(fixed), []);
});

test('TL015: the fix reuses an existing `import copy` (or `from copy import deepcopy`) and adds no import', () => {
  const withImport = fix(script('model', undefined, 'import copy\n'), 'TL015');
  assert.equal(withImport.match(/^import copy$/gm)?.length, 1);
  assert.match(withImport, /best_model = copy\.deepcopy\(model\)/);
  const fromImport = fix(script('model', undefined, 'from copy import deepcopy\n'), 'TL015');
  assert.doesNotMatch(fromImport, /^import copy$/m);
  assert.match(fromImport, /best_model = deepcopy\(model\)/);
  assert.deepEqual(ids(fromImport, 'TL015'), []);
  // a leading docstring and __future__ import stay first
  const doc = fix(`"""Train."""\nfrom __future__ import annotations\n${script('model')}`, 'TL015');
  assert.match(doc, /^"""Train\."""\nfrom __future__ import annotations\nimport copy\nimport torch\n/);
});

test('TL015: best_model = model in a while loop, and in def fit(model, ...) returning it', () => {
  const whileLoop =
    `${HEADER}best_acc, epoch = 0.0, 0\n` +
    'while epoch < max_epochs:\n' +
    '    model.train()\n' +
    '    for x, y in train_loader:\n' +
    '        optimizer.zero_grad()\n' +
    '        criterion(model(x), y).backward()\n' +
    '        optimizer.step()\n' +
    '    acc = evaluate(model, val_loader)\n' +
    '    if acc > best_acc:\n' +
    '        best_acc, best_model = acc, model\n' +
    '        best_net = model\n' +
    '    epoch += 1\n' +
    'evaluate(best_net, test_loader)\n';
  assert.deepEqual(ids(whileLoop, 'TL015'), ['TL015']);
  const fit =
    `${HEADER}def fit(model, train_loader, val_loader, epochs=20):\n` +
    '    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)\n' +
    '    best_loss, best_model = float("inf"), None\n' +
    '    for epoch in range(epochs):\n' +
    '        train_one_epoch(model, train_loader, optimizer)\n' +
    '        val_loss = validate(model, val_loader)\n' +
    '        if val_loss < best_loss:\n' +
    '            best_loss = val_loss\n' +
    '            best_model = model\n' +
    '    return best_model\n';
  const f = lint(fit, { select: ['TL015'] });
  assert.deepEqual(f.map((x) => `${x.rule}:${x.severity}:${x.range.start.line}`), ['TL015:error:12']);
  const fixed = fix(fit, 'TL015');
  assert.match(fixed, /^import copy\nimport torch\n/);
  assert.match(fixed, /^ {12}best_model = copy\.deepcopy\(model\)$/m);
  assert.deepEqual(ids(fixed, 'TL015'), []);
  // a model that is not named like one: recognised by its optimizer
  const learner = fit.replace(/\bmodel\b/g, 'learner');
  assert.deepEqual(ids(learner, 'TL015'), ['TL015']);
  // a trainer method keeping self.model
  const method =
    `${HEADER}class Trainer:\n` +
    '    def fit(self, epochs):\n' +
    '        best, best_model = 0.0, None\n' +
    '        for epoch in range(epochs):\n' +
    '            self.train_epoch()\n' +
    '            acc = self.validate()\n' +
    '            if acc > best:\n' +
    '                best, best_model = acc, None\n' +
    '                best_model = self.model\n' +
    '        self.model = best_model\n';
  assert.deepEqual(ids(method, 'TL015'), ['TL015']);
  assert.match(fix(method, 'TL015'), /best_model = copy\.deepcopy\(self\.model\)/);
});

test('TL015: deepcopy, outside a loop, outside an if, not used after the loop, restoring: fine', () => {
  assert.deepEqual(ids(script('copy.deepcopy(model)', undefined, 'import copy\n'), 'TL015'), []);
  assert.deepEqual(ids(`${HEADER}train(model)\nbest_model = model\ntorch.save(best_model.state_dict(), "best.pt")\n`, 'TL015'), []);
  // never used after the loop (only inside it)
  assert.deepEqual(ids(script('model', 'print(best_loss)'), 'TL015'), []);
  assert.deepEqual(ids(script('model\n        torch.save(best_model.state_dict(), "best.pt")', 'print(best_loss)'), 'TL015'), []);
  // not under a condition: the last model, on purpose
  const always = `${HEADER}for epoch in range(10):\n    train_one_epoch(model, train_loader, optimizer)\n    last_model = model\ntorch.save(last_model, "last.pt")\n`;
  assert.deepEqual(ids(always, 'TL015'), []);
  // model = best_model: restoring
  const restore =
    `${HEADER}for epoch in range(epochs):\n` +
    '    train_one_epoch(model, train_loader, optimizer)\n' +
    '    if stop_early(model):\n' +
    '        model = best_model\n' +
    '        break\n' +
    'torch.save(model.state_dict(), "final.pt")\n';
  assert.deepEqual(ids(restore, 'TL015'), []);
  assert.deepEqual(ids(restore.replace('stop_early(model)', 'stop_early(model, best_model)'), 'TL015'), []);
  // a fresh model built and loaded after the loop
  const fresh = script('model', 'best_model = Net()\nbest_model.load_state_dict(torch.load("best.pt"))');
  assert.deepEqual(ids(fresh, 'TL015'), []);
  // the checkpoint saved in the loop is loaded back into it after the loop
  const loaded = script('model\n        torch.save(model.state_dict(), "best.pt")', 'best_model.load_state_dict(torch.load("best.pt"))');
  assert.deepEqual(ids(loaded, 'TL015'), []);
});

test('TL015: keeping the best of several models (loop target, or a new model each iteration) is fine', () => {
  const models =
    `${HEADER}best_acc = 0.0\n` +
    'for model in models:\n' +
    '    train(model, train_loader)\n' +
    '    acc = evaluate(model, val_loader)\n' +
    '    if acc > best_acc:\n' +
    '        best_acc, best_model = acc, None\n' +
    '        best_model = model\n' +
    'torch.save(best_model.state_dict(), "best.pt")\n';
  assert.deepEqual(ids(models, 'TL015'), []);
  const candidates = models.replace('for model in models:', 'for name, model in candidates.items():');
  assert.deepEqual(ids(candidates, 'TL015'), []);
  const search =
    `${HEADER}best_acc = 0.0\n` +
    'for lr in [1e-2, 1e-3, 1e-4]:\n' +
    '    model = Net()\n' +
    '    optimizer = torch.optim.SGD(model.parameters(), lr=lr)\n' +
    '    for epoch in range(10):\n' +
    '        train_one_epoch(model, train_loader, optimizer)\n' +
    '    acc = evaluate(model, val_loader)\n' +
    '    if acc > best_acc:\n' +
    '        best_acc = acc\n' +
    '        best_model = model\n' +
    'torch.save(best_model.state_dict(), "best.pt")\n';
  assert.deepEqual(ids(search, 'TL015'), []);
  // built by a call in the loop, or unpacked from one
  assert.deepEqual(ids(search.replace('    model = Net()\n', '    model, optimizer = build(lr)\n'), 'TL015'), []);
  // a layer replaced in the loop is not a new model: still the same object
  const changed = script('model', undefined).replace('    train_one_epoch(', '    model.fc = nn.Linear(8, 2)\n    train_one_epoch(');
  assert.deepEqual(ids(changed, 'TL015'), ['TL015']);
  // something that is not the model: a tensor, a plain value
  assert.deepEqual(ids(script('val_loss', 'print(best_model)'), 'TL015'), []);
  assert.deepEqual(ids(script('epoch', 'print(best_model)'), 'TL015'), []);
  const config = script('config', 'print(best_model)').replace('optimizer)', 'optimizer, config)');
  assert.deepEqual(ids(config, 'TL015'), []);
  assert.deepEqual(ids(config.replace(/\bconfig\b/g, 'net'), 'TL015'), ['TL015']);
});
