import { calleeName, enclosingFunction, keywordArg, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { signedInt } from '../../analysis/numbers';
import { dispatchedCallees, mayBeDispatched } from '../../analysis/dispatchedCalls';
import { parameterArguments } from '../../analysis/parameters';
import { anchorOf, elementBefore, valueBefore } from '../../analysis/values';
import { namedAs, strip } from '../../analysis/metricArguments';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

/** A metric that needs scores, and where its score argument is. */
interface Metric {
  /** Short name for the message. */
  name: string;
  position: number;
  keywords: readonly string[];
  /** A probability loss (log_loss, brier_score_loss) rather than a ranking metric. */
  loss: boolean;
  /** Ranks on one column of binary scores: the negative-class column check applies. */
  ranking: boolean;
}

const SK_RANKING = new Set(['roc_auc_score', 'average_precision_score', 'roc_curve', 'precision_recall_curve', 'det_curve']);
const SK_DISPLAY = /^sklearn\.metrics\.(\w+\.)*(RocCurveDisplay|PrecisionRecallDisplay|DetCurveDisplay)\.from_predictions$/;
const TM = /^torchmetrics\.functional\.(classification\.)?(binary_)?(auroc|average_precision|roc|precision_recall_curve)$/;
const NAMES = new Set([...SK_RANKING, 'log_loss', 'brier_score_loss', 'from_predictions', 'auroc', 'binary_auroc', 'average_precision', 'binary_average_precision', 'roc', 'binary_roc', 'binary_precision_recall_curve']);

function metricOf(call: PyNode, a: Analysis): Metric | undefined {
  const n = calleeName(call);
  if (n === undefined || !NAMES.has(n)) return undefined;
  const q = a.callee(call);
  if (!q) return undefined;
  if (q.startsWith('sklearn.metrics.')) {
    const last = q.slice(q.lastIndexOf('.') + 1);
    if (SK_RANKING.has(last)) return { name: last, position: 1, keywords: ['y_score', 'probas_pred'], loss: false, ranking: true };
    if (last === 'log_loss') return { name: last, position: 1, keywords: ['y_pred'], loss: true, ranking: false };
    if (last === 'brier_score_loss') return { name: last, position: 1, keywords: ['y_prob', 'y_proba'], loss: true, ranking: false };
    if (SK_DISPLAY.test(q)) return { name: q.split('.').slice(-2).join('.'), position: 1, keywords: ['y_pred', 'y_score'], loss: false, ranking: false };
    return undefined;
  }
  if (TM.test(q)) return { name: n, position: 0, keywords: ['preds'], loss: false, ranking: false };
  return undefined;
}

function scoreArg(call: PyNode, m: Metric): PyNode | undefined {
  const pos = positionalArgs(call);
  if (pos.length > m.position) return pos[m.position];
  for (const k of m.keywords) {
    const v = keywordArg(call, k);
    if (v) return v;
  }
  return undefined;
}

const CLASSIFIER =
  /^(sklearn|xgboost|lightgbm|catboost)\.(\w+\.)*(\w*Classifier|LogisticRegression(CV)?|SVC|LinearSVC|NuSVC|(Gaussian|Multinomial|Bernoulli|Complement|Categorical)NB|RidgeClassifierCV|Perceptron|(Linear|Quadratic)DiscriminantAnalysis|CalibratedClassifierCV)$/;
const SEARCH = /^sklearn\.model_selection\.(\w+\.)*(GridSearchCV|RandomizedSearchCV|HalvingGridSearchCV|HalvingRandomSearchCV)$/;

/** Whether an expression is a known sklearn-style classifier (its `predict` returns classes). */
function isClassifier(a: Analysis, e: PyNode | undefined, depth = 0): boolean {
  const x = unparen(e);
  if (!x || depth > 5) return false;
  if (x.type === 'identifier') {
    const v = valueBefore(a, x);
    return !!v && isClassifier(a, v, depth + 1);
  }
  if (x.type !== 'call') return false;
  const q = a.callee(x);
  if (q) {
    if (CLASSIFIER.test(q)) return true;
    if (q === 'sklearn.pipeline.make_pipeline') return isClassifier(a, positionalArgs(x).at(-1), depth + 1);
    if (q === 'sklearn.pipeline.Pipeline') {
      const steps = unparen(positionalArgs(x)[0] ?? keywordArg(x, 'steps'));
      if (steps?.type !== 'list') return false;
      const last = unparen(steps.namedChildren.filter((c) => c.type !== 'comment').at(-1));
      if (last?.type !== 'tuple') return false;
      const parts = last.namedChildren.filter((c) => c.type !== 'comment');
      return parts.length === 2 && isClassifier(a, parts[1], depth + 1);
    }
    if (SEARCH.test(q)) return isClassifier(a, positionalArgs(x)[0] ?? keywordArg(x, 'estimator'), depth + 1);
    return false;
  }
  // clf.fit(X, y) returns clf.
  return calleeName(x) === 'fit' && x.child('function')?.type === 'attribute' && isClassifier(a, receiver(x), depth + 1);
}

/** `torch.max(x, 1)` / `x.max(dim=1)` (on a tensor, not NumPy): a (values, indices) pair. */
function isMaxWithDim(a: Analysis, call: PyNode | undefined): boolean {
  const c = unparen(call);
  if (c?.type !== 'call' || calleeName(c) !== 'max') return false;
  const q = a.callee(c);
  const pos = positionalArgs(c);
  const dim = keywordArg(c, 'dim');
  if (q === 'torch.max') return pos.length === (dim ? 1 : 2) && signedInt(dim ?? pos[1]) !== undefined;
  if (q !== undefined || c.child('function')?.type !== 'attribute') return false;
  if (pos.length !== (dim ? 0 : 1) || signedInt(dim ?? pos[0]) === undefined) return false;
  // NumPy's max(axis) returns the values only: the receiver must not be an array.
  for (let r = unparen(receiver(c)); r; ) {
    if (r.type === 'call') {
      const rq = a.callee(r);
      if (rq?.startsWith('numpy.') || rq?.startsWith('pandas.') || calleeName(r) === 'numpy') return false;
      r = unparen(receiver(r));
    } else if (r.type === 'attribute') r = unparen(r.child('object'));
    else if (r.type === 'subscript') r = unparen(r.child('value'));
    else break;
  }
  return true;
}

const ARGMAX = new Set(['torch.argmax', 'numpy.argmax', 'tensorflow.argmax', 'tensorflow.math.argmax']);
const ROUND = new Set(['torch.round', 'numpy.round', 'numpy.around', 'numpy.rint', 'torch.rint']);
const WHERE = new Set(['numpy.where', 'torch.where']);

interface Hard {
  /** Where the labels come from, for the message. */
  how: string;
  /** The classifier call, when from `clf.predict(X)`. */
  predict?: PyNode;
}

function isNumberLiteral(n: PyNode | undefined): boolean {
  const x = unparen(n);
  return x?.type === 'integer' || x?.type === 'float' || x?.type === 'true' || x?.type === 'false' || signedInt(x) !== undefined;
}

function zeroOrAbsent(n: PyNode | undefined): boolean {
  return n === undefined || signedInt(n) === 0;
}

/** What makes an expression hard class labels (argmax, max indices, rounding, a threshold, clf.predict), or undefined. */
function hardLabels(a: Analysis, e: PyNode | undefined, depth = 0): Hard | undefined {
  const x = strip(a, e);
  if (!x || depth > 5) return undefined;
  switch (x.type) {
    case 'comparison_operator':
      return { how: 'a threshold comparison' };
    case 'call': {
      const name = calleeName(x);
      const q = a.callee(x);
      const f = x.child('function');
      const pos = positionalArgs(x);
      if (name === 'argmax') {
        if (q ? ARGMAX.has(q) : f?.type === 'attribute') return { how: 'argmax' };
        return undefined;
      }
      if (name === 'round' || name === 'rint' || name === 'around') {
        if (q ? ROUND.has(q) && pos.length === 1 && zeroOrAbsent(keywordArg(x, 'decimals')) : f?.type === 'attribute' && name === 'round' && zeroOrAbsent(pos[0] ?? keywordArg(x, 'decimals')) && pos.length <= 1) return { how: 'rounding' };
        return undefined;
      }
      if (name === 'where' && q && WHERE.has(q) && pos.length === 3 && strip(a, pos[0])?.type === 'comparison_operator' && isNumberLiteral(pos[1]) && isNumberLiteral(pos[2])) return { how: 'a threshold (where)' };
      if (name === 'predict' && !q && f?.type === 'attribute' && pos.length === 1 && !x.child('arguments')?.children.some((c) => c.type === 'keyword_argument' || c.type === 'dictionary_splat' || c.type === 'list_splat') && isClassifier(a, receiver(x))) {
        return { how: `${x.child('function')!.text}(), which returns classes`, predict: x };
      }
      return undefined;
    }
    case 'subscript': {
      const idx = x.childrenOf('subscript');
      if (idx.length === 1 && signedInt(idx[0]) === 1 && isMaxWithDim(a, x.child('value'))) return { how: 'the indices of max' };
      return undefined;
    }
    case 'attribute':
      return x.child('attribute')?.text === 'indices' && isMaxWithDim(a, x.child('object')) ? { how: 'the indices of max' } : undefined;
    case 'identifier': {
      const el = elementBefore(a, x);
      if (el && el.index === 1 && isMaxWithDim(a, el.source) && el.source.parent?.child('left')?.namedChildren.filter((c) => c.type !== 'comment').length === 2) return { how: 'the indices of max' };
      const list = emptyListAt(a, x.text, x);
      if (list) return accumulated(a, x.text, list, depth);
      const v = valueBefore(a, x);
      const found = v ? hardLabels(a, v, depth + 1) : unpackedElement(a, x, el, depth);
      // A parameter (`def calculate_metrics(y_pred, y_true)`): hard labels when every call site in the file passes them.
      return found ?? labelMetricAlso(a, x) ?? (v === null && !el ? fromEveryCaller(a, x, depth) : undefined);
    }
    case 'list':
    case 'tuple': {
      // `torch.cat([pos_pred, neg_pred])` (strip keeps the list): hard when every part is.
      const parts = x.namedChildren.filter((c) => c.type !== 'comment');
      let found: Hard | undefined;
      for (const p of parts) {
        const h = hardLabels(a, p, depth + 1);
        if (!h) return undefined;
        found ??= h;
      }
      return found;
    }
    case 'binary_operator': {
      // `1 - preds`: the other class's labels.
      const op = x.children.find((c) => !c.named)?.text;
      return op === '-' && isNumberLiteral(x.child('left')) ? hardLabels(a, x.child('right'), depth + 1) : undefined;
    }
    default:
      return undefined;
  }
}

/** `p, y = p.numpy(), y.numpy()`: the element of a written-out tuple a name unpacks. */
function unpackedElement(a: Analysis, id: PyNode, el: ReturnType<typeof elementBefore>, depth: number): Hard | undefined {
  const src = unparen(el?.source);
  if (src?.type !== 'expression_list' && src?.type !== 'tuple') return undefined;
  return hardLabels(a, src.namedChildren.filter((c) => c.type !== 'comment')[el!.index], depth + 1);
}

/** scikit-learn metrics that raise on continuous scores: what they are given as predictions must be class labels. */
const LABEL_METRICS = new Set([
  'accuracy_score', 'balanced_accuracy_score', 'f1_score', 'fbeta_score', 'precision_score', 'recall_score', 'jaccard_score',
  'confusion_matrix', 'multilabel_confusion_matrix', 'classification_report', 'matthews_corrcoef', 'cohen_kappa_score',
  'hamming_loss', 'zero_one_loss', 'precision_recall_fscore_support',
]);

/** The same binding of a name at two reads of one function. */
function sameValue(a: Analysis, x: PyNode, y: PyNode): boolean {
  if (enclosingFunction(x) !== enclosingFunction(y)) return false;
  const vx = valueBefore(a, x);
  if (vx === undefined || vx !== valueBefore(a, y)) return false;
  const ex = elementBefore(a, x);
  const ey = elementBefore(a, y);
  return ex?.source === ey?.source && ex?.index === ey?.index;
}

/**
 * `accuracy_score(y, preds)` and `roc_auc_score(y, preds)` on the same `preds`: accuracy raises on continuous scores,
 * so the value it gets (when that code runs) holds class labels.
 */
function labelMetricAlso(a: Analysis, id: PyNode): Hard | undefined {
  for (const name of LABEL_METRICS) {
    for (const c of a.callsNamed(name)) {
      const q = a.callee(c);
      if (!q?.startsWith('sklearn.metrics.')) continue;
      const pred = strip(a, positionalArgs(c)[1] ?? keywordArg(c, 'y_pred'));
      if (pred?.type === 'identifier' && pred.text === id.text && sameValue(a, pred, id)) return { how: `${id.text}, which ${name}() also takes (it accepts class labels only)` };
    }
  }
  return undefined;
}

/** The hard labels every call site passes for the parameter `id` reads, or undefined when one passes something else. */
function fromEveryCaller(a: Analysis, id: PyNode, depth: number): Hard | undefined {
  const args = parameterArguments(a, id);
  if (!args?.length) return undefined;
  let found: Hard | undefined;
  for (const arg of args) {
    const h = hardLabels(a, arg, depth + 1);
    if (!h) return undefined;
    found ??= h;
  }
  return found;
}

/** The empty list a name holds at `at` (`preds = []`, or `preds, labels = [], []`), else undefined. */
export function emptyListAt(a: Analysis, name: string, at: PyNode): PyNode | undefined {
  let v = unparen(a.scopes.valueAt(name, anchorOf(at)) ?? undefined);
  if (!v) {
    const el = a.scopes.elementAt(name, anchorOf(at));
    const src = unparen(el?.source);
    if (src?.type === 'expression_list' || src?.type === 'tuple') v = unparen(src.namedChildren.filter((c) => c.type !== 'comment')[el!.index]);
  }
  return v?.type === 'list' && v.namedChildren.length === 0 ? v : undefined;
}

/** `preds = []` filled by `preds.append(...)` / `preds.extend(...)` / `preds += ...`: hard labels when every one adds them. */
function accumulated(a: Analysis, name: string, list: PyNode, depth: number): Hard | undefined {
  let found: Hard | undefined;
  for (const method of ['append', 'extend']) {
    for (const c of a.callsNamed(method)) {
      const r = receiver(c);
      if (r?.type !== 'identifier' || r.text !== name || emptyListAt(a, name, r) !== list) continue;
      const args = positionalArgs(c);
      const h = args.length === 1 ? hardLabels(a, args[0], depth + 1) : undefined;
      if (!h) return undefined;
      found ??= h;
    }
  }
  for (const s of a.index.of('augmented_assignment')) {
    const left = s.child('left');
    if (left?.type !== 'identifier' || left.text !== name || emptyListAt(a, name, s) !== list) continue;
    const h = hardLabels(a, s.child('right'), depth + 1);
    if (!h) return undefined;
    found ??= h;
  }
  return found;
}

/** `clf.predict_proba(X)[:, 0]` (or a name bound to it) with `clf` a known classifier: the first class's column. */
function negativeColumn(a: Analysis, e: PyNode | undefined, depth = 0): boolean {
  const x = strip(a, e);
  if (!x || depth > 4) return false;
  if (x.type === 'identifier') {
    const v = valueBefore(a, x);
    return !!v && negativeColumn(a, v, depth + 1);
  }
  if (x.type !== 'subscript') return false;
  const idx = x.childrenOf('subscript');
  if (idx.length !== 2 || idx[0]!.type !== 'slice' || idx[0]!.namedChildren.length !== 0 || signedInt(idx[1]) !== 0) return false;
  let v = unparen(x.child('value'));
  if (v?.type === 'identifier') v = unparen(valueBefore(a, v) ?? undefined);
  return v?.type === 'call' && calleeName(v) === 'predict_proba' && !a.callee(v) && positionalArgs(v).length === 1 && isClassifier(a, receiver(v));
}

/** The labels argument as plain data (`y`, `y_test`, `df["label"].values`), not `y == 0` or `1 - y`. */
function plainLabels(a: Analysis, call: PyNode): boolean {
  const y = strip(a, positionalArgs(call)[0] ?? keywordArg(call, 'y_true'));
  return y?.type === 'identifier' || y?.type === 'attribute' || y?.type === 'subscript';
}

/** `roc_auc_score(y_pred, y_true)`: sklearn's labels-then-scores order reversed, as the names say. */
function swapped(a: Analysis, call: PyNode, m: Metric): boolean {
  if (m.position !== 1 || !m.ranking) return false;
  const pos = positionalArgs(call);
  return pos.length >= 2 && namedAs(a, pos[0]) === 'predicted' && namedAs(a, pos[1]) === 'true';
}

function isCandidate(call: PyNode, a: Analysis): boolean {
  const m = metricOf(call, a);
  return (!!m && scoreArg(call, m) !== undefined) || (positionalArgs(call).length >= 2 && mayBeDispatched(a, call));
}

/**
 * `for f in ["accuracy_score", "roc_auc_score"]: getattr(metrics, f)(y, clf.predict(x))`: one call runs a ranking
 * metric and a label metric on the same predictions. Returns both names.
 */
function dispatchedMix(a: Analysis, call: PyNode): { ranking: string; label: string } | undefined {
  const names = dispatchedCallees(a, call)?.filter((q) => q.startsWith('sklearn.metrics.')).map((q) => q.slice(q.lastIndexOf('.') + 1));
  const ranking = names?.find((n) => SK_RANKING.has(n) || n === 'log_loss' || n === 'brier_score_loss');
  const label = names?.find((n) => LABEL_METRICS.has(n));
  return ranking && label ? { ranking, label } : undefined;
}

export const EV015: Rule = {
  meta: {
    id: 'EV015',
    name: 'ranking-metric-on-hard-labels',
    group: 'evaluation',
    defaultSeverity: 'warning',
    summary: '`roc_auc_score` / `average_precision_score` / `log_loss` get hard class predictions (argmax, a threshold, `predict`) instead of scores.',
    why:
      'ROC AUC, average precision, the ROC and precision-recall curves rank the samples by a score, and `log_loss` / ' +
      '`brier_score_loss` grade probabilities. Given hard labels (`outputs.argmax(1)`, `probs > 0.5`, `torch.round(p)`, ' +
      "a classifier's `predict(X)`) they still return a number, but it measures a single threshold, usually far lower " +
      'than the model deserves (or a huge log loss), and nothing fails. Pass the scores: the positive-class probability ' +
      '(`probs[:, 1]`, `clf.predict_proba(X)[:, 1]`) or `decision_function(X)`. Taking column `[:, 0]` scores the negative ' +
      'class and turns a binary AUC into 1 - AUC. The labels come first: `roc_auc_score(y_pred, y_true)` (as the names ' +
      'say) ranks the labels by the predictions, a different number, or an error for real-valued scores. Predictions that ' +
      'a scikit-learn label metric (`accuracy_score`, `f1_score`, `confusion_matrix`...) also gets are class labels (those ' +
      'raise on scores), and so is one call that runs a list of metrics (`getattr(metrics, name)(y, pred)` over names, a ' +
      'loop over the metric functions) mixing both kinds.',
    wrong:
      'from sklearn.metrics import roc_auc_score\nwith torch.no_grad():\n    outputs = model(x_val)\n    preds = outputs.argmax(dim=1)\nauc = roc_auc_score(y_val.numpy(), preds.numpy())',
    right:
      'from sklearn.metrics import roc_auc_score\nwith torch.no_grad():\n    outputs = model(x_val)\n    probs = torch.softmax(outputs, dim=1)[:, 1]\nauc = roc_auc_score(y_val.numpy(), probs.numpy())',
    concept: 'Evaluation: ranking metrics need scores, not decisions',
    fixable: false,
  },
  nodeTypes: ['call'],
  candidate: { reads: ['imports'], test: (call, ctx) => isCandidate(call, ctx.analysis) },
  visit(call, ctx) {
    const a = ctx.analysis;
    const m = metricOf(call, a);
    const score = m && scoreArg(call, m);
    if (!m || !score) {
      const mix = positionalArgs(call).length >= 2 ? dispatchedMix(a, call) : undefined;
      if (mix) {
        ctx.report({
          node: positionalArgs(call)[1]!,
          message: `This call runs ${mix.ranking} and ${mix.label} on the same predictions: ${mix.label} needs class labels, so ${mix.ranking} scores hard labels, not the model's ranking. Give ${mix.ranking} the scores (predict_proba(...)[:, 1] or decision_function(...)).`,
        });
      }
      return;
    }
    if (swapped(a, call, m)) {
      const [first, second] = positionalArgs(call) as [PyNode, PyNode];
      const hardFirst = hardLabels(a, first);
      const also = hardFirst ? `, and ${first.text} holds hard labels from ${hardFirst.how}: pass the scores (e.g. probabilities), not the 0/1 predictions` : '';
      ctx.report({
        node: first,
        message: `${m.name}(${first.text}, ${second.text}) has its arguments swapped: the true labels come first, then the scores${also}.`,
      });
      return;
    }
    const hard = hardLabels(a, score);
    if (hard) {
      const consequence = m.loss
        ? 'a probability loss of 0/1 predictions punishes every mistake as fully confident'
        : 'a ranking metric of hard labels is not the model\'s (usually much lower)';
      const what = hard.predict
        ? `the scores instead: ${receiver(hard.predict)!.text}.${m.loss ? 'predict_proba(...)' : 'predict_proba(...)[:, 1] or decision_function(...)'}`
        : m.loss
          ? 'the predicted probabilities instead'
          : 'the positive-class probability (e.g. probs[:, 1]) or the scores instead';
      ctx.report({ node: score, message: `${m.name} gets hard labels from ${hard.how}: ${consequence}. Pass ${what}.` });
      return;
    }
    if (m.ranking && !keywordArg(call, 'pos_label') && plainLabels(a, call) && negativeColumn(a, score)) {
      ctx.report({
        node: score,
        message: `${m.name} gets predict_proba(...)[:, 0], the probability of the first (negative) class: on a binary problem the result is inverted (AUC becomes 1 - AUC). Pass [:, 1], the positive class.`,
      });
    }
  },
};
