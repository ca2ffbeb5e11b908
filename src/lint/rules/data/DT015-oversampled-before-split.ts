import { calleeName, keywordArg, positionalArgs, receiver } from '../../analysis';
import { dataCallee } from '../../analysis/sklearnNames';
import { sameScope } from '../../analysis/runtime';
import type { PyNode } from '../../parser';
import type { Rule, RuleContext } from '../../types';
import { carriesTaint, rootName } from './DT003-scaler-fit-before-split';

/**
 * imblearn samplers that add rows (over-samplers, and the combined ones that over-sample first). Under-samplers are
 * left out: they drop rows, so no row is shared between the later train and test parts.
 */
const SAMPLER_NAME = /^(SMOTE|ADASYN|RandomOverSampler|BorderlineSMOTE|SVMSMOTE|KMeansSMOTE|SMOTENC|SMOTEN|SMOTEENN|SMOTETomek)$/;
const OVER_SAMPLER = new RegExp(`^imblearn\\.(over_sampling|combine)\\.${SAMPLER_NAME.source.slice(1)}`);
const SPLIT = 'sklearn.model_selection.train_test_split';
/** Cross-validation helpers taking `(estimator, X, y, ...)`. */
const CV_FUNCTION = /^sklearn\.model_selection\.(cross_val_score|cross_validate|cross_val_predict|learning_curve|validation_curve|permutation_test_score)$/;
const SEARCH = /^sklearn\.model_selection\.(GridSearchCV|RandomizedSearchCV|HalvingGridSearchCV|HalvingRandomSearchCV)$/;
const SPLITTER = /^sklearn\.model_selection\.(KFold|StratifiedKFold|RepeatedKFold|RepeatedStratifiedKFold|ShuffleSplit|StratifiedShuffleSplit|GroupKFold|StratifiedGroupKFold|GroupShuffleSplit|LeaveOneOut|LeavePOut)$/;

interface Resampling {
  call: PyNode;
  /** `SMOTE`, `RandomOverSampler`, `resample(..., replace=True)`. */
  label: string;
  /** The data argument's root name (`X`, `df`). */
  data: string;
  /** The data already is a training part (named so, or from a split / row index): a later train_test_split is a validation split. */
  trainPart: boolean;
  duplicates: boolean;
}

interface Sink {
  node: PyNode;
  /** The arguments that hold the samples. */
  data: PyNode[];
  label: string;
  cv: boolean;
}

/** The class a receiver is an instance of: `SMOTE(...)` or a name bound to it. */
function classOf(recv: PyNode | undefined, ctx: RuleContext): string | undefined {
  let v: PyNode | null | undefined = recv;
  if (recv?.type === 'identifier') v = ctx.analysis.scopes.valueAt(recv.text, recv);
  return v?.type === 'call' ? dataCallee(ctx.analysis, v) : undefined;
}

/** `X_train`, a name unpacked from `train_test_split(...)` / `random_split(...)`, or `X[train_idx]` / `df.iloc[idx]`. */
function isTrainPart(arg: PyNode, name: string, ctx: RuleContext): boolean {
  if (/train/i.test(name) || /^(X|x|y)_?tr$/.test(name)) return true;
  if (rowsOfFold(arg)) return true;
  const el = ctx.analysis.scopes.elementAt(name, arg);
  if (el?.source.type === 'call') {
    const q = dataCallee(ctx.analysis, el.source);
    if (q === SPLIT || q === 'torch.utils.data.random_split' || calleeName(el.source) === 'split') return true;
  }
  const v = ctx.analysis.scopes.valueAt(name, arg);
  return !!v && rowsOfFold(v);
}

/** `X[train_idx]`, `df.iloc[tr]`, `X[:n_train]`: rows picked by fold indices or a slice (not a mask such as `df[df.y == 1]`). */
function rowsOfFold(n: PyNode): boolean {
  if (n.type !== 'subscript') return false;
  const index = n.namedChildren.find((c) => c !== n.child('value') && c.type !== 'comment');
  if (!index) return false;
  if (index.type === 'slice') return index.text.replace(/\s/g, '') !== ':';
  return (index.type === 'identifier' || index.type === 'attribute') && /(idx|index|indices|train|fold|^tr$)/i.test(index.text);
}

/** `df.fit_sample(df.imbalance.over_sampling.SMOTE())` (pandas_ml's ModelFrame, the sampler as argument): its class name. */
function accessorSampler(call: PyNode, ctx: RuleContext): string | undefined {
  let arg: PyNode | null | undefined = positionalArgs(call)[0];
  if (arg?.type === 'identifier') arg = ctx.analysis.scopes.valueAt(arg.text, arg);
  if (arg?.type !== 'call') return undefined;
  const f = arg.child('function');
  const name = calleeName(arg) ?? '';
  return f?.type === 'attribute' && /\.(imbalance\.)?(over_sampling|combine)$/.test(f.child('object')?.text ?? '') && SAMPLER_NAME.test(name) ? name : undefined;
}

function resamplings(ctx: RuleContext): Resampling[] {
  const a = ctx.analysis;
  const out: Resampling[] = [];
  for (const call of [...a.callsNamed('fit_resample'), ...a.callsNamed('fit_sample'), ...a.callsNamed('resample')]) {
    let label: string | undefined;
    if (calleeName(call) === 'resample') {
      if (dataCallee(a, call) !== 'sklearn.utils.resample' || keywordArg(call, 'replace')?.text !== 'True') continue;
      label = 'resample(..., replace=True)';
    } else {
      const q = classOf(receiver(call), ctx);
      const inverted = q && OVER_SAMPLER.test(q) ? undefined : accessorSampler(call, ctx);
      if (inverted) {
        // pandas_ml: the data frame resamples itself with the sampler it is given
        const data = rootName(receiver(call));
        if (data) out.push({ call, label: inverted, data, trainPart: isTrainPart(receiver(call)!, data, ctx), duplicates: !/SMOTE|ADASYN/.test(inverted) });
        continue;
      }
      if (!q || !OVER_SAMPLER.test(q)) continue;
      label = q.split('.').pop()!;
    }
    const arg = positionalArgs(call)[0] ?? keywordArg(call, 'X');
    const data = rootName(arg);
    if (!arg || !data) continue;
    out.push({ call, label, data, trainPart: isTrainPart(arg, data, ctx), duplicates: !/SMOTE|ADASYN/.test(label) });
  }
  return out;
}

function sinks(ctx: RuleContext): Sink[] {
  const a = ctx.analysis;
  const out: Sink[] = [];
  // every array argument, `*arrays` included
  const arrays = (c: PyNode) => (c.child('arguments')?.namedChildren ?? []).filter((n) => n.type !== 'keyword_argument' && n.type !== 'comment' && n.type !== 'dictionary_splat');
  for (const c of a.callsNamed('train_test_split')) if (dataCallee(a, c) === SPLIT) out.push({ node: c, data: arrays(c), label: 'train_test_split', cv: false });
  const x = (c: PyNode, i: number) => {
    const arg = positionalArgs(c)[i] ?? keywordArg(c, 'X');
    return arg ? [arg] : [];
  };
  for (const name of ['cross_val_score', 'cross_validate', 'cross_val_predict', 'learning_curve', 'validation_curve', 'permutation_test_score']) {
    for (const c of a.callsNamed(name)) if (CV_FUNCTION.test(dataCallee(a, c) ?? '')) out.push({ node: c, data: x(c, 1), label: `cross-validation (${name})`, cv: true });
  }
  for (const c of a.callsNamed('fit')) {
    const q = classOf(receiver(c), ctx);
    if (q && SEARCH.test(q)) out.push({ node: c, data: x(c, 0), label: `${q.split('.').pop()}'s cross-validation`, cv: true });
  }
  for (const c of a.callsNamed('split')) {
    const q = classOf(receiver(c), ctx);
    if (q && SPLITTER.test(q)) out.push({ node: c, data: x(c, 0), label: `${q.split('.').pop()}.split`, cv: true });
  }
  return out.sort((p, q) => p.node.start - q.node.start);
}

export const DT015: Rule = {
  meta: {
    id: 'DT015',
    name: 'oversampled-before-split',
    group: 'data',
    defaultSeverity: 'warning',
    summary: 'The whole dataset is oversampled (SMOTE, RandomOverSampler...) before the train/test split or cross-validation.',
    why:
      'Oversamplers such as `SMOTE`, `ADASYN` or `RandomOverSampler` add minority-class rows that are copies or ' +
      'interpolations of existing rows. Resampling before `train_test_split` (or before `cross_val_score`, `GridSearchCV`, ' +
      '`KFold.split`) puts a row in the test part and its copy or synthetic neighbour in the training part: the model is ' +
      'tested on data it has practically seen, and the test score is inflated and meaningless. Split first and call ' +
      '`fit_resample` on the training split only, or put the sampler in an `imblearn.pipeline.Pipeline`, which resamples ' +
      'inside each training fold. Under-samplers, which only drop rows, are not reported, nor is a validation split of an ' +
      'oversampled training part, unless its outputs are named as the test set (`X_train, X_test, ... = ' +
      'train_test_split(X_res, y_res)`).',
    wrong:
      'from imblearn.over_sampling import SMOTE\nfrom sklearn.model_selection import train_test_split\n' +
      'X_res, y_res = SMOTE(random_state=42).fit_resample(X, y)\n' +
      'X_train, X_test, y_train, y_test = train_test_split(X_res, y_res, test_size=0.2)',
    right:
      'from imblearn.over_sampling import SMOTE\nfrom sklearn.model_selection import train_test_split\n' +
      'X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y)\n' +
      'X_train, y_train = SMOTE(random_state=42).fit_resample(X_train, y_train)',
    concept: 'Data leakage: resampling is part of training and only ever sees the training split',
    fixable: false,
  },
  check(ctx) {
    const found = resamplings(ctx);
    if (found.length === 0) return;
    const all = sinks(ctx);
    if (all.length === 0) return;
    const lineOf = (n: PyNode) => ctx.source.slice(0, n.start).split('\n').length;
    for (const r of found) {
      const taint = propagateTaint(r.call, ctx);
      const sink = all.find(
        (s) =>
          (s.cv || !r.trainPart || splitsOffTestSet(s.node)) &&
          sameScope(s.node, r.call) &&
          ((s.node.start > r.call.end && s.data.some((d) => carriesTaint(d, taint))) || s.data.some((d) => d.start <= r.call.start && r.call.end <= d.end)),
      );
      if (!sink) continue;
      const what = r.trainPart ? `\`${r.data}\`` : `the whole dataset (\`${r.data}\`)`;
      const copies = r.duplicates ? 'duplicates' : 'synthetic copies';
      const verb = r.label.startsWith('resample') ? `${r.label} upsamples` : `${r.label} oversamples`;
      const where = sink.node.start > r.call.end ? ` (line ${lineOf(sink.node)})` : '';
      ctx.report({
        node: r.call,
        message: sink.cv
          ? `${verb} ${what} before ${sink.label}${where}: ${copies} of held-out rows end up in the training folds and the cross-validation score is inflated. Resample inside each training fold (an imblearn Pipeline does it).`
          : r.trainPart
            ? `${verb} the training part ${what} and train_test_split${where} splits it again into a test set: that test set holds ${copies} of rows the model trains on, so the test score is inflated. Keep the original test split and resample only the training part.`
            : `${verb} ${what} before train_test_split${where}: ${copies} of test rows end up in training and the test score is inflated. Split first and resample only the training split (or use an imblearn Pipeline).`,
      });
    }
  },
};

/** Names of a held-out part used as the test set (`X_test`, `y_te`), not a validation part. */
const TEST_PART = /test|(^|_)te$/i;
const VALIDATION_PART = /val|dev/i;

/**
 * The split's outputs are named as the test set (`X_train, X_test, ... = train_test_split(X_res, ...)`): an oversampled
 * training part split again is then not a validation split, its held-out rows are scored as the test set.
 */
function splitsOffTestSet(split: PyNode): boolean {
  const asg = split.parent;
  if (asg?.type !== 'assignment' || asg.child('right') !== split) return false;
  const left = asg.child('left');
  const names = (left?.type === 'pattern_list' || left?.type === 'tuple_pattern' ? left.namedChildren : []).map((t) => t.text);
  return names.some((n) => TEST_PART.test(n)) && !names.some((n) => VALIDATION_PART.test(n));
}

/**
 * Names holding the resampled data, each with the offset from which it does: the resampling's targets
 * (`X_res, y_res = ...`), then forward in document order through the assignments of its scope
 * (`df_up = pd.concat([df_major, df_minor_up])`). A name re-assigned from other data is dropped.
 */
function propagateTaint(call: PyNode, ctx: RuleContext): Map<string, number> {
  const taint = new Map<string, number>();
  const asg = call.parent;
  if (asg?.type !== 'assignment' || asg.child('right') !== call) return taint;
  const left = asg.child('left')!;
  const targets = left.type === 'pattern_list' || left.type === 'tuple_pattern' ? left.namedChildren : [left];
  for (const t of targets) if (t.type === 'identifier') taint.set(t.text, asg.end);
  for (const e of ctx.nodesOfType('assignment')) {
    if (e.start <= asg.end || !sameScope(e, call)) continue;
    const l = e.child('left');
    const right = e.child('right');
    if (!l || !right || right.type === 'assignment') continue;
    const ts = l.type === 'pattern_list' || l.type === 'tuple_pattern' ? l.namedChildren : [l];
    const values = right.type === 'expression_list' || right.type === 'tuple' ? right.namedChildren : [];
    ts.forEach((t, i) => {
      if (t.type !== 'identifier') return;
      if (carriesTaint(values.length === ts.length ? values[i]! : right, taint)) taint.set(t.text, taint.get(t.text) ?? e.end);
      else taint.delete(t.text);
    });
  }
  return taint;
}
