import { calleeName, positionalArgs } from '../../analysis';
import { argumentRole } from '../../analysis/argumentRoles';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

// scikit-learn metrics whose value changes when the true labels and the predictions trade places (accuracy, MCC and
// Cohen's kappa are symmetric and left out; ranking metrics are EV015's).
const ASYMMETRIC = new Set(['precision_score', 'recall_score', 'f1_score', 'fbeta_score', 'confusion_matrix', 'multilabel_confusion_matrix', 'classification_report', 'precision_recall_fscore_support', 'balanced_accuracy_score', 'ConfusionMatrixDisplay.from_predictions']);

/** The metric a call computes, when it is one of the asymmetric scikit-learn ones. */
function metricOf(call: PyNode, q: string | undefined): string | undefined {
  const name = calleeName(call);
  if (!name || !q?.startsWith('sklearn.metrics.')) return undefined;
  const key = name === 'from_predictions' ? q.split('.').slice(-2).join('.') : name;
  return ASYMMETRIC.has(key) ? key : undefined;
}

/** The cheap first test: the callee's last name is an asymmetric metric's. */
function mayBeMetric(call: PyNode): boolean {
  const name = calleeName(call);
  return !!name && (ASYMMETRIC.has(name) || name === 'from_predictions');
}

export const EV017: Rule = {
  meta: {
    id: 'EV017',
    name: 'metric-arguments-swapped',
    group: 'evaluation',
    defaultSeverity: 'warning',
    summary: '`precision_score(y_pred, y_true)`, `confusion_matrix(preds, labels)`: scikit-learn takes the true labels first.',
    why:
      "scikit-learn's classification metrics take `(y_true, y_pred)`. Swapped, they still return numbers, but precision " +
      'becomes recall (and recall precision), the confusion matrix is transposed (rows become the predicted classes), ' +
      'per-class F-beta and balanced accuracy change, and `classification_report` describes the labels as if they were ' +
      "predictions. Nothing fails, so the wrong figure is reported. Reported when the arguments' names say which is which " +
      '(`y_pred`, `preds`, `outputs` first; `y_true`, `labels`, `targets`, `y_test` second), or the first holds what a ' +
      "model's `predict` returned (through argmax / reshape, whatever its name). Names are read past container words " +
      "(`labels_list`, `gt_all`) and short spellings (`grd`, `gold`, `tgts`), and a list built empty is read through what " +
      "its `append` / `extend` calls add (`grd.extend(batch_labels.tolist())`), and read through a row selection or a " +
      'threshold (`preds[mask] > 0`). Accuracy, MCC and kappa are ' +
      'symmetric and not reported.',
    wrong: 'from sklearn.metrics import precision_score\nprecision = precision_score(y_pred, y_true)',
    right: 'from sklearn.metrics import precision_score\nprecision = precision_score(y_true, y_pred)',
    concept: 'Evaluation: precision, recall and the confusion matrix are not symmetric',
    fixable: true,
  },
  nodeTypes: ['call'],
  // A list argument is read through the appends that built it, in any statement.
  candidate: { reads: ['imports'], test: (call, ctx) => mayBeMetric(call) && metricOf(call, ctx.analysis.callee(call)) !== undefined && positionalArgs(call).length >= 2 },
  visit(call, ctx) {
    const a = ctx.analysis;
    if (!mayBeMetric(call)) return;
    const metric = metricOf(call, a.callee(call));
    if (!metric) return;
    const [first, second] = positionalArgs(call);
    if (!first || !second || argumentRole(a, first) !== 'predicted' || argumentRole(a, second) !== 'true') return;
    ctx.report({
      node: first,
      message: `${metric}(${first.text}, ${second.text}) has its arguments swapped: scikit-learn takes the true labels first, so ${metric.includes('confusion') ? 'the matrix comes out transposed' : 'the figure is computed with the roles of labels and predictions exchanged'}. Pass (${second.text}, ${first.text}).`,
      fixes: [
        {
          title: `Swap to ${metric}(${second.text}, ${first.text}, ...)`,
          edits: [
            { start: first.start, end: first.end, newText: second.text },
            { start: second.start, end: second.end, newText: first.text },
          ],
        },
      ],
    });
  },
};
