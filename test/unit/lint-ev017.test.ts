import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fix, ids, lint, useParser } from './lint/helpers';

useParser();

const IMPORTS = 'import numpy as np\nfrom sklearn import metrics\nfrom sklearn.metrics import precision_score, recall_score, confusion_matrix, classification_report, accuracy_score\n';

test('EV017: asymmetric scikit-learn metrics with the predictions first, as the names say', () => {
  for (const call of [
    'precision_score(y_pred, y_true)',
    'recall_score(preds, labels, average="macro")',
    'confusion_matrix(all_preds, all_labels)',
    'metrics.classification_report(predictions, targets)',
    'metrics.f1_score(np.array(outputs), y_test)',
    'metrics.ConfusionMatrixDisplay.from_predictions(y_hat, y_true)',
  ]) {
    assert.deepEqual(ids(`${IMPORTS}result = ${call}\n`), ['EV017'], call);
  }
  const f = lint(`${IMPORTS}cm = confusion_matrix(all_preds, all_labels)\n`)[0]!;
  assert.match(f.message, /confusion_matrix\(all_preds, all_labels\) has its arguments swapped.*transposed.*Pass \(all_labels, all_preds\)/);
});

test('EV017: the fix swaps the two arguments and the result is clean', () => {
  const fixed = fix(`${IMPORTS}p = precision_score(y_pred, y_true, average="binary")\n`, 'EV017');
  assert.match(fixed, /precision_score\(y_true, y_pred, average="binary"\)/);
  assert.deepEqual(ids(fixed), []);
});

test('EV017: negatives: the right order, symmetric metrics, keywords, unclear names, a function of the file', () => {
  for (const call of [
    'precision_score(y_true, y_pred)',
    'confusion_matrix(labels, preds)',
    'accuracy_score(y_pred, y_true)',
    'metrics.matthews_corrcoef(preds, labels)',
    'recall_score(y_pred=preds, y_true=labels)',
    'precision_score(a, b)',
    'f1_score(test_preds, train_preds)' /* two predictions */,
    'metrics.roc_auc_score(y_true, y_score)',
  ]) {
    assert.deepEqual(ids(`${IMPORTS}from sklearn.metrics import f1_score\nresult = ${call}\n`, 'EV017'), [], call);
  }
  const own = 'def confusion_matrix(pred, label):\n    return pred == label\n\ncm = confusion_matrix(preds, labels)\n';
  assert.deepEqual(ids(own, 'EV017'), []);
});
