import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

const SETUP = 'model = nn.Linear(10, 3)\ncorrect = 0\n';
const indent = (body: string, by = '    ') => body.split('\n').map((l) => (l ? by + l : l)).join('\n');
/** An evaluation loop `for x, y in val_loader:` with `body`. */
const evalLoop = (body: string, target = 'x, y') => `${HEADER}${SETUP}with torch.no_grad():\n    for ${target} in val_loader:\n${indent(body, '        ')}\n`;
const ev = (code: string) => ids(code, 'EV012');

test('EV012: preds, _ = torch.max(outputs, 1) compared with the labels; the fix swaps the targets', () => {
  const code = evalLoop('outputs = model(x)\npreds, _ = torch.max(outputs, 1)\ncorrect += (preds == y).sum().item()');
  const f = lint(code).filter((x) => x.rule === 'EV012');
  assert.deepEqual(f.map((x) => [x.rule, x.severity]), [['EV012', 'error']]);
  assert.equal(
    f[0]!.message,
    'the first element of torch.max(outputs, 1) is the max scores, not the predicted classes, yet it is compared with y: take the indices (`_, preds = ...`) or use argmax(dim=1).',
  );
  assert.equal(f[0]!.range.start.line, code.split('\n').findIndex((l) => l.includes('preds, _ =')));
  const fixed = fix(code, 'EV012');
  assert.match(fixed, /\n {8}_, preds = torch\.max\(outputs, 1\)\n/);
  assert.deepEqual(ev(fixed), []);
});

test('EV012: torch.max(outputs, 1)[0] through one name, compared with ==; the fix takes [1]', () => {
  const code = evalLoop('outputs = model(x)\npreds = torch.max(outputs, 1)[0]\ncorrect += (preds == y).sum().item()');
  assert.deepEqual(ev(code), ['EV012']);
  const fixed = fix(code, 'EV012');
  assert.match(fixed, /preds = torch\.max\(outputs, 1\)\[1\]/);
  assert.deepEqual(ev(fixed), []);
});

test('EV012: outputs.max(1).values with .eq(labels); the fix takes .indices', () => {
  const code = evalLoop('outputs = model(images)\npreds = outputs.max(1).values\ncorrect += preds.eq(labels).sum().item()', 'images, labels');
  assert.deepEqual(ev(code), ['EV012']);
  const fixed = fix(code, 'EV012');
  assert.match(fixed, /preds = outputs\.max\(1\)\.indices/);
  assert.deepEqual(ev(fixed), []);
});

test('EV012: other spellings: .data, dim=1, dim=-1, inline, !=, torch.eq, labels.eq(preds), keepdim with view_as', () => {
  assert.deepEqual(ev(evalLoop('outputs = model(x)\npredicted = torch.max(outputs.data, 1)[0]\ncorrect += (predicted == y).sum().item()')), ['EV012']);
  assert.deepEqual(ev(evalLoop('out = model(x)\npred = out.max(dim=1)[0]\ncorrect += (pred == target).sum()', 'x, target')), ['EV012']);
  assert.deepEqual(ev(evalLoop('out = model(x)\ncorrect += (torch.max(out, dim=-1)[0] == y).sum()')), ['EV012']);
  assert.deepEqual(ev(evalLoop('out = model(x)\nwrong += (out.max(1)[0] != y).sum()')), ['EV012']);
  assert.deepEqual(ev(evalLoop('out = model(x)\np = out.max(1)[0]\ncorrect += torch.eq(p, y).sum()')), ['EV012']);
  assert.deepEqual(ev(evalLoop('out = model(x)\np, _ = out.max(1)\ncorrect += labels.eq(p).sum()', 'x, labels')), ['EV012']);
  assert.deepEqual(ev(evalLoop('output = model(data)\npred = output.max(1, keepdim=True)[0]\ncorrect += pred.eq(target.view_as(pred)).sum().item()', 'data, target')), ['EV012']);
  assert.deepEqual(ev(evalLoop("out = model(batch['x'])\npreds = out.max(1)[0]\ncorrect += (preds == batch['label']).sum()", 'batch')), ['EV012']);
  assert.deepEqual(ev(evalLoop('out = model(x)\npreds = torch.max(out, 1)[0].cpu()\ncorrect += (preds == y.cpu()).sum()')), ['EV012']);
});

test('EV012: passed to sklearn metrics', () => {
  const code = `${HEADER}from sklearn.metrics import accuracy_score, f1_score\nmodel = nn.Linear(10, 3)\nall_preds, all_labels = [], []\nwith torch.no_grad():\n    for x, y in test_loader:\n        preds, _ = torch.max(model(x), 1)\n        print(accuracy_score(y.numpy(), preds.numpy()))\n`;
  assert.deepEqual(ev(code), ['EV012']);
  const code2 = `${HEADER}from sklearn import metrics\nmodel = nn.Linear(10, 3)\nout = model(X_test)\nprint(metrics.f1_score(y_test, out.max(1).values.numpy(), average="macro"))\n`;
  assert.deepEqual(ev(code2), ['EV012']);
});

test('EV012: in a function, a named second target: reported without a fix', () => {
  const code = `${HEADER}def evaluate(model, loader):\n    correct = 0\n    for x, y in loader:\n        preds, idx = torch.max(model(x), 1)\n        correct += (preds == y).sum().item()\n    return correct\n`;
  const f = lint(code).filter((x) => x.rule === 'EV012');
  assert.equal(f.length, 1);
  assert.equal(f[0]!.fixes, undefined);
});

test('EV012: the indices are clean', () => {
  assert.deepEqual(ev(evalLoop('outputs = model(x)\n_, preds = torch.max(outputs, 1)\ncorrect += (preds == y).sum().item()')), []);
  assert.deepEqual(ev(evalLoop('outputs = model(x)\npreds = torch.max(outputs, 1)[1]\ncorrect += (preds == y).sum().item()')), []);
  assert.deepEqual(ev(evalLoop('outputs = model(x)\npreds = outputs.max(1).indices\ncorrect += preds.eq(y).sum().item()')), []);
  assert.deepEqual(ev(evalLoop('outputs = model(x)\ncorrect += (outputs.argmax(1) == y).sum().item()')), []);
});

test('EV012: the values used as confidences, masks or anything but labels are left alone', () => {
  // thresholded confidence
  assert.deepEqual(ev(evalLoop('probs = F.softmax(model(x), 1)\nconf, _ = probs.max(1)\nconfident = conf > 0.5\nkept += confident.sum()')), []);
  assert.deepEqual(ev(evalLoop('probs = F.softmax(model(x), 1)\nconf = probs.max(1)[0]\nmask = conf >= threshold\n')), []);
  // a mask of where the max is: compared with the tensor itself
  assert.deepEqual(ev(evalLoop('out = model(x)\nis_max = out == out.max(1, keepdim=True)[0]\n')), []);
  assert.deepEqual(ev(evalLoop('out = model(x)\nm = torch.max(out, dim=1, keepdim=True)[0]\nhits = (out == m)\n')), []);
  // compared with a literal, or with other scores
  assert.deepEqual(ev(evalLoop('out = model(x)\nv, _ = out.max(1)\nzeros += (v == 0).sum()')), []);
  assert.deepEqual(ev(evalLoop('a = model(x)\nb = model2(x)\nsame += (a.max(1)[0] == b.max(1)[0]).sum()')), []);
  assert.deepEqual(ev(evalLoop('out = model(x)\nv = out.max(1)[0]\nsame += (v == ref_scores).sum()')), []);
  // not compared at all
  assert.deepEqual(ev(evalLoop('out = model(x)\nv, _ = out.max(1)\ntotal_conf += v.sum()')), []);
});

test('EV012: no dim, two tensors, dim 0, NumPy: not a (values, indices) pair here', () => {
  assert.deepEqual(ev(evalLoop('out = model(x)\npeak = torch.max(out)\nhit = (peak == y)')), []);
  assert.deepEqual(ev(evalLoop('out = model(x)\nclipped = torch.max(out, other)[0]\nhit = (clipped == y).sum()')), []);
  assert.deepEqual(ev(evalLoop('out = model(x)\nv = torch.max(out, 0)[0]\nhit = (v == y).sum()')), []);
  assert.deepEqual(ev(`${HEADER}import numpy as np\nscores = model(x).detach().numpy()\np = scores.max(1)[0]\nprint(p == y)\n`), []);
  assert.deepEqual(ev(`${HEADER}import numpy as np\np = np.max(scores, 1)[0]\nprint(p == y)\n`), []);
  assert.deepEqual(ev(`x = [3, 1, 2]\nv = max(x, 1)\nprint(v == y)\n`), []);
});

test('EV012: the name rebound before the comparison, or a different binding, is left alone', () => {
  assert.deepEqual(ev(evalLoop('out = model(x)\npreds = out.max(1)[0]\npreds = out.argmax(1)\ncorrect += (preds == y).sum()')), []);
  assert.deepEqual(ev(evalLoop('out = model(x)\npreds, _ = out.max(1)\n_, preds = out.max(1)\ncorrect += (preds == y).sum()')), []);
  // two bindings: preds = v.cpu() where v holds the values: not followed
  assert.deepEqual(ev(evalLoop('out = model(x)\nv = out.max(1)[0]\npreds = helper(v)\ncorrect += (preds == y).sum()')), []);
  // used in a nested function: not followed
  assert.deepEqual(ev(`${HEADER}def f(out, y):\n    preds, _ = out.max(1)\n    def g():\n        return (preds == y).sum()\n    return g\n`), []);
});
