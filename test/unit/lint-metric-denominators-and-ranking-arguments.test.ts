// Metric-computation mistakes: a sum over batches divided by the last 0-based index, per-batch means divided by the
// number of samples (EV010); ranking metrics with swapped arguments or hard labels passed through a helper (EV015).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fix, HEADER, ids, lint, useParser } from './lint/helpers';

useParser();

const ev010 = (body: string) => ids(`${HEADER}${body}\n`, 'EV010');

test('EV010: a sum over an enumerate loop divided by its last index (or a name set from it), with the message and fix', () => {
  const src = `${HEADER}def test_nn(model, test_loader):
    count = 0
    total_acc = 0
    with torch.no_grad():
        for batch_idx, (inputs, targets) in enumerate(test_loader):
            total_acc += accuracy(model(inputs), targets)
            count = batch_idx
    return total_acc / count
`;
  const f = lint(src, { select: ['EV010'] });
  assert.equal(f.length, 1);
  assert.equal(
    f[0]!.message,
    'count (set from batch_idx) is the last 0-based index of the loop, one less than the number of batches it summed total_acc over: divide by count + 1.',
  );
  assert.match(fix(src, 'EV010'), /return total_acc \/ \(count \+ 1\)/);
  // The index itself, read after the loop; `/=`; a cast denominator.
  assert.deepEqual(ev010('def f(model, loader):\n    running = 0.0\n    for i, (x, y) in enumerate(loader):\n        running += loss_fn(model(x), y).item()\n    return running / i'), ['EV010']);
  assert.deepEqual(ev010('def f(model, loader):\n    s = 0.0\n    for step, batch in enumerate(loader):\n        s += model(batch).item()\n    s /= step\n    return s'), ['EV010']);
  assert.deepEqual(ev010('s = 0\nfor it, b in enumerate(val_loader):\n    s += score(b)\nprint(s / float(it))'), ['EV010']);
});

test('EV010: the index is the right count, or not the loop index, and stays quiet', () => {
  // enumerate(..., 1) / start=1.
  assert.deepEqual(ev010('def f(loader):\n    s = 0\n    for i, b in enumerate(loader, 1):\n        s += g(b)\n    return s / i'), []);
  assert.deepEqual(ev010('def f(loader):\n    s = 0\n    for i, b in enumerate(loader, start=1):\n        s += g(b)\n    return s / i'), []);
  // n = i + 1 after the loop; count = i + 1 in the loop.
  assert.deepEqual(ev010('def f(loader):\n    s = 0\n    for i, b in enumerate(loader):\n        s += g(b)\n    n = i + 1\n    return s / n'), []);
  assert.deepEqual(ev010('def f(loader):\n    s = 0\n    for i, b in enumerate(loader):\n        s += g(b)\n        n = i + 1\n    return s / n'), []);
  // The loop may end early (the index then counts what ran), or skips a batch.
  assert.deepEqual(ev010('def f(loader):\n    s = 0\n    for i, b in enumerate(loader):\n        if i > limit:\n            break\n        s += g(b)\n    return s / i'), []);
  assert.deepEqual(ev010('def f(loader):\n    s = 0\n    for i, b in enumerate(loader):\n        if i == 0:\n            continue\n        s += g(b)\n    return s / i'), []);
  assert.deepEqual(ev010('def f(loader):\n    s = 0\n    for i, b in enumerate(loader):\n        if i > 0:\n            s += g(b)\n    return s / i'), []);
  // The sum is not built in that loop; the division sits inside the loop.
  assert.deepEqual(ev010('def f(loader, s):\n    for i, b in enumerate(loader):\n        g(b)\n    return s / i'), []);
  assert.deepEqual(ev010('def f(loader):\n    s = 0\n    for i, b in enumerate(loader):\n        s += g(b)\n        print(s / i)'), []);
  // The name is rebound after the loop.
  assert.deepEqual(ev010('def f(loader):\n    s = 0\n    for i, b in enumerate(loader):\n        s += g(b)\n    i = len(loader)\n    return s / i'), []);
});

test('EV010: per-batch means summed, then divided by the number of samples', () => {
  const src = `${HEADER}def evaluate(model, val_loader):
    acc = 0.0
    with torch.no_grad():
        for x, y in val_loader:
            acc += (model(x).argmax(1) == y).float().mean().item()
    return acc / len(val_loader.dataset)
`;
  const f = lint(src, { select: ['EV010'] });
  assert.equal(f.length, 1);
  assert.match(f[0]!.message, /^acc adds one per-batch mean per batch but len\(val_loader\.dataset\) counts samples/);
  assert.match(fix(src, 'EV010'), /return acc \/ len\(val_loader\)\n/);
  assert.deepEqual(ev010('acc = 0\nfor x, y in test_loader:\n    acc += (model(x).argmax(1) == y).sum().item() / y.size(0)\nacc /= len(test_loader.dataset)'), ['EV010']);
});

test('EV010: per-sample sums over len(loader.dataset) stay quiet', () => {
  // Weighted by the batch size, or a count of hits.
  assert.deepEqual(ev010('acc = 0\nfor x, y in test_loader:\n    acc += (model(x).argmax(1) == y).float().mean().item() * x.size(0)\nprint(acc / len(test_loader.dataset))'), []);
  assert.deepEqual(ev010('correct = 0\nfor x, y in test_loader:\n    correct += (model(x).argmax(1) == y).sum().item()\nprint(correct / len(test_loader.dataset))'), []);
  // A loss summed per batch (not a syntactic mean): left alone.
  assert.deepEqual(ev010('total = 0\nfor x, y in test_loader:\n    total += criterion(model(x), y).item()\nprint(total / len(test_loader.dataset))'), []);
  // A sum with additions of both kinds.
  assert.deepEqual(ev010('acc = 0\nfor x, y in test_loader:\n    acc += (model(x).argmax(1) == y).float().mean().item()\nacc += extra_hits\nprint(acc / len(test_loader.dataset))'), []);
});

test('EV010: a count of correct samples divided by a count of batches (`n += 1` per batch, `i + 1`)', () => {
  const src = `${HEADER}def evaluate(model, test_loader):
    correct, n_batches = 0, 0
    for x, y in test_loader:
        correct += (model(x).argmax(1) == y).sum().item()
        n_batches += 1
    return correct / n_batches
`;
  const f = lint(src, { select: ['EV010'] });
  assert.equal(f.length, 1);
  assert.equal(f[0]!.message, 'correct counts samples but n_batches counts batches: divide by the number of samples (add y.size(0) per batch, or len(loader.dataset)).');
  assert.deepEqual(ev010('hits = 0\nfor i, (x, y) in enumerate(val_loader):\n    hits += (model(x).argmax(1) == y).sum().item()\nprint(100.0 * hits / (i + 1))'), ['EV010']);
  assert.deepEqual(ev010('correct = 0\ntotal = 0\nfor x, y in tqdm(test_loader):\n    correct += torch.sum(model(x).argmax(1) == y).item()\n    total += 1\nacc = correct / total'), ['EV010']);
});

test('EV010: batches of one sample, per-batch means, or counts of samples stay quiet', () => {
  // The loader holds one sample per batch, here or at every call site.
  assert.deepEqual(ev010('loader = DataLoader(ds, batch_size=1)\ncorrect = total = 0\nfor x, y in loader:\n    correct += (model(x).argmax(1) == y).sum().item()\n    total += 1\nacc = correct / total'), []);
  assert.deepEqual(ev010('def ev(model, test_loader):\n    correct = total = 0\n    for x, y in test_loader:\n        correct += (model(x).argmax(1) == y).sum().item()\n        total += 1\n    return correct / total\none = DataLoader(ds)\nev(net, one)'), []);
  // A sum of per-batch accuracies over the batches is a mean of means; a count over samples.
  assert.deepEqual(ev010('acc = steps = 0\nfor x, y in test_loader:\n    acc += (model(x).argmax(1) == y).float().mean().item()\n    steps += 1\nprint(acc / steps)'), []);
  assert.deepEqual(ev010('correct = total = 0\nfor x, y in test_loader:\n    correct += (model(x).argmax(1) == y).sum().item()\n    total += y.size(0)\nprint(correct / total)'), []);
  // A loop over samples, not batches; the division inside the loop.
  assert.deepEqual(ev010('correct = n = 0\nfor x, y in test_loader.dataset:\n    correct += (model(x).argmax() == y).sum().item()\n    n += 1\nprint(correct / n)'), []);
  assert.deepEqual(ev010('correct = n = 0\nfor x, y in test_loader:\n    correct += (model(x).argmax(1) == y).sum().item()\n    n += 1\n    print(correct / n)'), []);
});

const SK = 'import numpy as np\nfrom sklearn.metrics import roc_auc_score, average_precision_score, precision_score\n';
const ev015 = (body: string) => ids(`${HEADER}${SK}${body}\n`, 'EV015');

test('EV015: roc_auc_score(y_pred, y_true) swapped, as the names say; with hard labels passed by every caller', () => {
  const body = `def report(y_pred, y_true):
    return roc_auc_score(y_pred, y_true)

def run(loader):
    preds, labels = [], []
    for xb, yb in loader:
        preds.append(np.rint(torch.sigmoid(model(xb)).numpy()))
        labels.append(yb.numpy())
    preds = np.concatenate(preds).ravel()
    report(preds, np.concatenate(labels))`;
  const f = lint(`${HEADER}${SK}${body}\n`, { select: ['EV015'] });
  assert.equal(f.length, 1);
  assert.equal(
    f[0]!.message,
    'roc_auc_score(y_pred, y_true) has its arguments swapped: the true labels come first, then the scores, and y_pred holds hard labels from rounding: pass the scores (e.g. probabilities), not the 0/1 predictions.',
  );
  assert.deepEqual(ev015('auc = average_precision_score(all_probs, all_labels)'), ['EV015']);
  assert.deepEqual(ev015('auc = roc_auc_score(val_preds.cpu().numpy(), y_val)'), ['EV015']);
  assert.deepEqual(ev015('auc = roc_auc_score(outputs, targets)'), ['EV015']);
});

test('EV015: argument order and names that do not say they are swapped stay quiet', () => {
  assert.deepEqual(ev015('auc = roc_auc_score(y_true, y_pred)'), []);
  assert.deepEqual(ev015('auc = roc_auc_score(labels, probs)'), []);
  assert.deepEqual(ev015('auc = roc_auc_score(a, b)'), []);
  // `pred_labels` says both; `y_score` after `y_pred` says nothing of labels.
  assert.deepEqual(ev015('auc = roc_auc_score(pred_labels, y_true)'), []);
  assert.deepEqual(ev015('auc = roc_auc_score(y_pred, y_score)'), []);
  // Not a ranking metric of this rule.
  assert.deepEqual(ev015('p = precision_score(y_pred, y_true)'), []);
});

test('EV015: hard labels reach a helper parameter only when every call site passes them', () => {
  const helper = 'def auc_of(y, p):\n    return roc_auc_score(y, p)\n';
  assert.deepEqual(ev015(`${helper}auc_of(y_val, np.rint(probs))\nauc_of(y_test, out.argmax(1))`), ['EV015']);
  assert.deepEqual(ev015(`${helper}auc_of(y_val, np.rint(probs))\nauc_of(y_test, probs_test)`), []);
  assert.deepEqual(ev015(`${helper}auc_of(y_val, probs)`), []);
  // No call site in the file: unknown.
  assert.deepEqual(ev015(helper), []);
});
