import { calleeName, callsWithin, keywordArg, parameterNames, positionalArgs, receiver } from '../../analysis';
import { dataCallee } from '../../analysis/sklearnNames';
import { argumentFor, fileFunctionOf } from '../../analysis/calls';
import { assignedTarget, sameScope } from '../../analysis/runtime';
import { scopeOf } from '../../analysis/scopes';
import { pooledStatistics } from './pooledStatistics';
import type { PyNode } from '../../parser';
import type { Rule, RuleContext } from '../../types';

/**
 * Transformers that learn from the data they are fitted on (scalers, imputers, binning, decompositions, feature
 * selectors, TF-IDF; stateless ones such as Normalizer excluded). Encoders that only learn the set of categories
 * (OneHotEncoder, LabelEncoder) are left out: knowing a category exists is not a statistic of the held-out rows.
 */
const FITTED = /^sklearn\.(preprocessing\.(StandardScaler|MinMaxScaler|RobustScaler|MaxAbsScaler|QuantileTransformer|PowerTransformer|KBinsDiscretizer|SplineTransformer)|impute\.(SimpleImputer|KNNImputer|IterativeImputer)|decomposition\.(PCA|TruncatedSVD|IncrementalPCA|KernelPCA|SparsePCA|FastICA|NMF|FactorAnalysis|LatentDirichletAllocation)|feature_selection\.(SelectKBest|SelectPercentile|SelectFpr|SelectFdr|SelectFwe|GenericUnivariateSelect|SelectFromModel|SequentialFeatureSelector|RFE|RFECV)|feature_extraction\.text\.TfidfVectorizer)$/;
/** CountVectorizer learns which words to keep from document frequencies when told to drop rare / common ones. */
const VOCABULARY_LIMITS = ['max_features', 'min_df', 'max_df'];
const SPLIT = 'sklearn.model_selection.train_test_split';
/** Function forms that standardise with statistics of the array they get. */
const SCALE_FUNCTIONS = /^sklearn\.preprocessing\.(scale|minmax_scale|robust_scale|maxabs_scale)$/;

/** The variable at the root of an expression: `df[cols].values` -> `df`, `X.astype(float)` -> `X`. */
export function rootName(n: PyNode | undefined): string | undefined {
  while (n) {
    if (n.type === 'identifier') return n.text;
    if (n.type === 'attribute') n = n.child('object');
    else if (n.type === 'subscript') n = n.child('value');
    else if (n.type === 'call') n = n.child('function');
    else if (n.type === 'parenthesized_expression') n = n.namedChildren[0];
    else return undefined;
  }
  return undefined;
}

/** The scaler class a receiver holds: `StandardScaler()` or a name bound to it. */
export function scalerOf(recv: PyNode | undefined, ctx: RuleContext): string | undefined {
  const v = transformerValue(recv, ctx);
  if (v?.type !== 'call') return undefined;
  const q = dataCallee(ctx.analysis, v);
  // the old Imputer(axis=1) filled each row from its own values: nothing learned across samples
  if (q === 'sklearn.impute.SimpleImputer' && keywordArg(v, 'axis')?.text === '1') return undefined;
  if (q === 'sklearn.feature_extraction.text.CountVectorizer' && VOCABULARY_LIMITS.some((k) => keywordArg(v, k))) return 'CountVectorizer';
  return q && FITTED.test(q) ? q.split('.').pop() : undefined;
}

/**
 * The constructor call a receiver holds: `StandardScaler()`, a name bound to it, and through `fit`, which returns the
 * transformer itself (`imputer = imputer.fit(X)`, `sc = StandardScaler().fit(X)`).
 */
function transformerValue(recv: PyNode | undefined, ctx: RuleContext): PyNode | undefined {
  let v: PyNode | null | undefined = recv;
  for (let i = 0; i < 4 && v; i++) {
    if (v.type === 'identifier') {
      // looked up before the statement: in `imputer = imputer.fit(X)` the name still holds the constructor
      const stmt = v.ancestor('assignment') ?? v;
      v = ctx.analysis.scopes.valueAt(v.text, stmt.child('left')?.text === v.text ? stmt : v);
    } else if (v.type === 'call' && calleeName(v) === 'fit' && receiver(v)) v = receiver(v);
    else return v;
  }
  return undefined;
}

/** Statistics a hand-written standardisation divides or subtracts by. */
const STATISTICS = /^(mean|std|min|max|nanmean|nanstd|var|amin|amax)$/;

/**
 * The data and axis of a statistic call: `X.mean(0)` (method), or `np.mean(X, axis=0)` / `torch.std(X)` (function of
 * numpy or torch, whose first argument is the data). Undefined for anything else.
 */
function statisticOf(call: PyNode, ctx: RuleContext): { data: PyNode | undefined; axis: PyNode | undefined } | undefined {
  if (!STATISTICS.test(calleeName(call) ?? '')) return undefined;
  const keyed = keywordArg(call, 'axis') ?? keywordArg(call, 'dim');
  if (/^(numpy|torch)\.[a-z]+$/.test(ctx.analysis.callee(call) ?? '')) return { data: positionalArgs(call)[0], axis: keyed ?? positionalArgs(call)[1] };
  return { data: receiver(call), axis: keyed ?? positionalArgs(call)[0] };
}

/**
 * `X = (X - X.mean(0)) / X.std(0)` or `X = (X - np.mean(X)) / np.std(X)` (statistics over the samples axis, or over the
 * whole array): the normalised name and its source.
 */
function manualStandardisation(asg: PyNode, ctx: RuleContext): { target: string; source: string } | undefined {
  const left = asg.child('left');
  const right = asg.child('right');
  if (left?.type !== 'identifier' || right?.type !== 'binary_operator' || !/^\s*\(/.test(right.text)) return undefined;
  let source: string | undefined;
  let ok = true;
  let hasMinus = false;
  let spread = false;
  right.walk((n) => {
    if (n.type === 'binary_operator' && n.children.some((c) => c.type === '-')) hasMinus = true;
    const stat = n.type === 'call' ? statisticOf(n, ctx) : undefined;
    if (stat) {
      if (stat.axis && stat.axis.text !== '0') ok = false;
      const r = rootName(stat.data);
      if (!r || (source && source !== r)) ok = false;
      source = r;
      if (/std|max|var/.test(calleeName(n) ?? '')) spread = true;
      return false;
    }
  });
  if (!ok || !hasMinus || !source || !spread) return undefined;
  return { target: left.text, source };
}

export const DT003: Rule = {
  meta: {
    id: 'DT003',
    name: 'scaler-fit-before-split',
    group: 'data',
    defaultSeverity: 'error',
    summary: 'A scaler, imputer, PCA or feature selector is fitted on the whole dataset before the train/test split.',
    why:
      '`StandardScaler`, `MinMaxScaler`, imputers and the like learn statistics (mean, variance, min/max, fill values) from ' +
      'the data they are fitted on; PCA learns directions, TF-IDF word weights, and feature selectors such as ' +
      '`SelectKBest` pick columns by how well they predict the labels, test labels included. Fitting them before `train_test_split` lets the test rows shape the preprocessing the ' +
      'model trains with: information from the held-out set leaks into training and the test score is optimistic. Split ' +
      'first, `fit` (or `fit_transform`) on the training part only, then `transform` validation and test data - or put the ' +
      'scaler in a `Pipeline`. The same holds for normalising by hand with the mean/std of the full array, and for a helper ' +
      'function of the file that fits on its argument and returns the scaled data (`X = prep(X)`), or one that splits the ' +
      'data it is given. Cross-validation is a split too: a transformer fitted on the data that `cross_val_score`, a ' +
      '`GridSearchCV.fit` or a `KFold.split` loop then splits has seen every validation fold (also when that data is the ' +
      'training part), so the CV scores that pick hyperparameters are optimistic: put the transformer in a `Pipeline`. ' +
      'Splits of names that already denote training data (a second split for validation) are not reported. ' +
      'Old scikit-learn spellings count too (`sklearn.cross_validation.train_test_split`, `preprocessing.Imputer`).',
    wrong:
      'from sklearn.preprocessing import StandardScaler\nfrom sklearn.model_selection import train_test_split\n' +
      'scaler = StandardScaler()\nX = scaler.fit_transform(X)\nX_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)',
    right:
      'from sklearn.preprocessing import StandardScaler\nfrom sklearn.model_selection import train_test_split\n' +
      'X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)\nscaler = StandardScaler()\n' +
      'X_train = scaler.fit_transform(X_train)\nX_test = scaler.transform(X_test)',
    concept: 'Data leakage: preprocessing is part of the model and is fitted on training data only',
    fixable: false,
  },
  check(ctx) {
    for (const p of pooledStatistics(ctx, (recv) => scalerOf(recv, ctx))) {
      const line = ctx.lines.position(p.join.start).line + 1;
      const whose = `training and held-out data joined together (\`${p.heldOut}\`, line ${line})`;
      ctx.report({
        node: p.use,
        message: p.fitted
          ? `${p.what} is fitted on ${whose}: test statistics leak into the preprocessing. Fit it on the training data only.`
          : `The ${p.what} statistics are computed over ${whose}: test statistics leak into the preprocessing they set. Compute them on the training data only.`,
      });
    }
    const calls = ctx.nodesOfType('call');
    const splits = splitSites(ctx);
    const cvs = cvSites(ctx);
    if (splits.length === 0 && cvs.length === 0) return;
    // The first split (or, for data already named as training data, cross-validation) of a name tainted before it
    // (the offset where the name started to hold scaled data). Cross-validation splits training data too.
    // `cvTaint`: the names holding the fitted rows themselves (not other data the scaler transformed).
    const leakAfter = (at: PyNode, taint: Map<string, number>, trainData: boolean, cvTaint = taint) => {
      const taints = (t: Map<string, number>) => (sp: SplitSite) => sp.node.start > at.end && sameScope(sp.node, at) && sp.names.some((n) => (t.get(n) ?? Infinity) < sp.node.start);
      const split = trainData ? undefined : splits.find(taints(taint));
      if (split) return { node: split.node, what: 'the train/test split', leak: 'test data leaks into training', fix: 'Split first, fit on the training part only.', manualFix: 'Split first, compute mean/std on the training part.' };
      const cv = cvs.find(taints(cvTaint));
      return cv && { severity: 'warning' as const, node: cv.node, what: `cross-validation in ${cv.label}`, leak: 'every validation fold was seen by it', fix: 'Put it in a Pipeline with the estimator, so each fold fits it on its own training part.', manualFix: 'Use a StandardScaler in a Pipeline with the estimator.' };
    };
    const lineOf = (n: PyNode) => ctx.source.slice(0, n.start).split('\n').length;

    for (const call of calls) {
      const fit = directFit(call, ctx);
      if (!fit || fittedOnRowSlice(fit.dataArg, ctx)) continue;
      const base = [fit.data, ...transformedNames(call, ctx)];
      const own = [fit.data, ...transformedNames(call, ctx, fit.data)];
      const leak = leakAfter(call, propagateTaint(call, base, ctx), /train/i.test(fit.data), cvs.length ? rowTaint(call, own, ctx) : undefined);
      if (!leak) continue;
      ctx.report({
        node: call,
        severity: leak.severity,
        message: `${fit.scaler} is fitted on all of \`${fit.data}\` before ${leak.what} (line ${lineOf(leak.node)}): ${leak.leak}. ${leak.fix}`,
      });
    }
    // `X = preprocess(X)` where preprocess fits a scaler on its parameter and returns the scaled data
    for (const call of calls) {
      const via = fittingCall(call, ctx, new Set());
      if (!via || fittedOnRowSlice(via.dataArg, ctx)) continue;
      const base = taintedTargets(call, via.returned);
      if (base.length === 0) continue;
      const leak = leakAfter(call, propagateTaint(call, base, ctx), /train/i.test(via.data));
      if (!leak) continue;
      ctx.report({
        node: call,
        severity: leak.severity,
        message: `${via.fn}() fits ${via.scaler} on all of \`${via.data}\` before ${leak.what} (line ${lineOf(leak.node)}): ${leak.leak}. ${leak.fix}`,
      });
    }
    for (const asg of ctx.nodesOfType('assignment')) {
      const m = manualStandardisation(asg, ctx);
      if (!m) continue;
      const leak = leakAfter(asg, new Map([[m.target, asg.end]]), /train/i.test(m.source));
      if (!leak) continue;
      ctx.report({
        node: asg,
        severity: leak.severity,
        message: `\`${m.target}\` is normalised with statistics of the whole dataset before ${leak.what} (line ${lineOf(leak.node)}): ${leak.leak}. ${leak.manualFix}`,
      });
    }
  },
};

/** scikit-learn's cross-validation functions: the data is their second argument (`cross_val_score(est, X, y)`). */
const CV_FUNCTIONS = /^sklearn\.model_selection\.(cross_val_score|cross_validate|cross_val_predict|learning_curve|validation_curve|permutation_test_score)$/;
/** Hyperparameter searches that cross-validate inside `fit(X, y)`. */
const CV_SEARCHES = /^sklearn\.model_selection\.(GridSearchCV|RandomizedSearchCV|HalvingGridSearchCV|HalvingRandomSearchCV)$/;
/** Splitters whose `split(X)` yields the folds of a hand-written cross-validation loop. */
const CV_SPLITTERS = /^sklearn\.model_selection\.(KFold|StratifiedKFold|GroupKFold|StratifiedGroupKFold|RepeatedKFold|RepeatedStratifiedKFold|ShuffleSplit|StratifiedShuffleSplit|GroupShuffleSplit|LeaveOneOut|LeavePOut)$/;

/**
 * Cross-validation sites and the names of the data they split: `cross_val_score(est, X, y)`, `search.fit(X, y)` of a
 * GridSearchCV / RandomizedSearchCV, `kf.split(X)` of a KFold-like splitter.
 */
function cvSites(ctx: RuleContext): (SplitSite & { label: string })[] {
  const a = ctx.analysis;
  const out: (SplitSite & { label: string })[] = [];
  const add = (node: PyNode, data: PyNode | undefined, label: string) => {
    if (data) out.push({ node, names: namesIn(data, ctx), label });
  };
  for (const c of ctx.nodesOfType('call')) {
    const name = calleeName(c);
    if (name === 'fit' || name === 'split') {
      const recv = receiver(c);
      const built = transformerValue(recv, ctx);
      const q = built?.type === 'call' ? dataCallee(a, built) : undefined;
      if (!q) continue;
      if (name === 'fit' && CV_SEARCHES.test(q)) add(c, positionalArgs(c)[0] ?? keywordArg(c, 'X'), `${q.split('.').pop()}.fit`);
      if (name === 'split' && CV_SPLITTERS.test(q)) add(c, positionalArgs(c)[0] ?? keywordArg(c, 'X'), `${q.split('.').pop()}.split`);
      continue;
    }
    const q = dataCallee(a, c);
    if (q && CV_FUNCTIONS.test(q)) add(c, positionalArgs(c)[1] ?? keywordArg(c, 'X'), `${q.split('.').pop()}`);
  }
  return out;
}

interface Fit {
  scaler: string;
  dataArg: PyNode;
  /** The variable the data comes from. */
  data: string;
}

/** `scaler.fit(X)` / `scaler.fit_transform(X)` of a learning transformer, or `scale(X)`. */
function directFit(call: PyNode, ctx: RuleContext): Fit | undefined {
  const name = calleeName(call);
  let scaler: string | undefined;
  let dataArg: PyNode | undefined;
  const q = dataCallee(ctx.analysis, call);
  if (name === 'fit' || name === 'fit_transform') {
    scaler = scalerOf(receiver(call), ctx);
    dataArg = positionalArgs(call)[0] ?? keywordArg(call, 'X');
  } else if (q && SCALE_FUNCTIONS.test(q)) {
    scaler = `${q.split('.').pop()}()`;
    dataArg = positionalArgs(call)[0] ?? keywordArg(call, 'X');
  }
  const data = rootName(dataArg);
  return scaler && dataArg && data ? { scaler, dataArg, data } : undefined;
}

/**
 * A `transform` receiver that holds the fitted transformer: the fit's own receiver (`sc.fit(X)`; `sc.transform`), or
 * the name `fit` returned it to (`sc = StandardScaler().fit(X)`; `sc.transform`).
 */
function holdsFit(recv: PyNode | undefined, fit: PyNode): boolean {
  if (!recv) return false;
  if (recv.text === receiver(fit)?.text) return true;
  const target = calleeName(fit) === 'fit' ? assignedTarget(fit) : undefined;
  return target?.type === 'identifier' && recv.type === 'identifier' && recv.text === target.text;
}

/**
 * Later `Z = scaler.transform(...)` of a fitted scaler (and the `fit_transform` result itself): names of scaled data.
 * With `of`, only the transforms of that same data (`pca.transform(X)` after `pca.fit(X)`).
 */
function transformedNames(fit: PyNode, ctx: RuleContext, of?: string): string[] {
  const out: string[] = [];
  const target = assignedTarget(fit);
  if (target?.type === 'identifier' && calleeName(fit) !== 'fit') out.push(target.text);
  const recv = receiver(fit);
  if (!recv || !/fit/.test(calleeName(fit) ?? '')) return out;
  for (const t of ctx.analysis.callsNamed('transform')) {
    if (t.start > fit.end && holdsFit(receiver(t), fit) && (of === undefined || rootName(positionalArgs(t)[0]) === of)) {
      const tt = assignedTarget(t);
      if (tt?.type === 'identifier') out.push(tt.text);
    }
  }
  return out;
}

interface FittingFunction {
  /** The parameter the scaler is fitted on. */
  param: string;
  scaler: string;
  /** Which part of the return value holds the scaled data: all of it, or these elements of a returned tuple. */
  returned: 'all' | Set<number>;
}

interface FittingCall extends Fit {
  fn: string;
  returned: 'all' | Set<number>;
}

const fittingCache = new WeakMap<RuleContext['analysis'], Map<PyNode, FittingFunction | undefined>>();

/** A call of a file function that fits a scaler on the argument it passes (and returns the scaled data). */
function fittingCall(call: PyNode, ctx: RuleContext, visiting: Set<PyNode>): FittingCall | undefined {
  const fn = fileFunctionOf(call, ctx.analysis);
  const info = fn && fittingFunction(fn, ctx, visiting);
  const dataArg = info && argumentFor(call, fn!, info.param);
  const data = rootName(dataArg);
  if (!info || !dataArg || !data) return undefined;
  return { scaler: info.scaler, dataArg, data, fn: fn!.child('name')?.text ?? '', returned: info.returned };
}

/**
 * A function that fits a scaler (directly, or through another such function) on one of its parameters, unsliced, and
 * returns data the fitted scaler produced (or data derived from it).
 */
function fittingFunction(fn: PyNode, ctx: RuleContext, visiting: Set<PyNode>): FittingFunction | undefined {
  let cache = fittingCache.get(ctx.analysis);
  if (!cache) fittingCache.set(ctx.analysis, (cache = new Map()));
  if (cache.has(fn)) return cache.get(fn);
  if (visiting.has(fn)) return undefined;
  visiting.add(fn);
  let out: FittingFunction | undefined;
  const params = parameterNames(fn);
  const returns = returnStatements(fn);
  for (const call of returns.length ? callsWithin(fn.child('body') ?? fn) : []) {
    if (scopeOf(call) !== fn) continue;
    let fit: Fit | undefined = directFit(call, ctx);
    let base: string[];
    if (fit) base = transformedNames(call, ctx).filter((n) => n !== fit!.data);
    else {
      const via = fittingCall(call, ctx, visiting);
      fit = via;
      base = via ? taintedTargets(call, via.returned) : [];
    }
    if (!fit || !params.includes(fit.data) || fittedOnRowSlice(fit.dataArg, ctx)) continue;
    // the parameter itself, not a re-bound name
    if (ctx.analysis.scopes.valueAt(fit.data, call) !== null || ctx.analysis.scopes.elementAt(fit.data, call)) continue;
    const taint = propagateTaint(call, base, ctx);
    const produced = scaledBy(call, fit.data, ctx);
    const returned = returnedElements(returns, (e) => carriesTaint(e, taint) || produced.some((p) => p.start >= e.start && p.end <= e.end));
    if (returned) {
      out = { param: fit.data, scaler: fit.scaler, returned };
      break;
    }
  }
  visiting.delete(fn);
  cache.set(fn, out);
  return out;
}

/** The fit call itself (when it returns data) and the fitted scaler's `transform` calls on the same data after it. */
function scaledBy(fit: PyNode, data: string, ctx: RuleContext): PyNode[] {
  const out = calleeName(fit) === 'fit' ? [] : [fit];
  const recv = receiver(fit);
  if (!recv || calleeName(fit) !== 'fit') return out;
  for (const t of ctx.analysis.callsNamed('transform')) {
    if (t.start > fit.end && sameScope(t, fit) && holdsFit(receiver(t), fit) && rootName(positionalArgs(t)[0]) === data) out.push(t);
  }
  return out;
}

/** `return` statements of a function itself (not of nested functions). */
function returnStatements(fn: PyNode): PyNode[] {
  const out: PyNode[] = [];
  fn.child('body')?.walk((n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type === 'return_statement') out.push(n);
  });
  return out;
}

/** Which parts of the returned values pass `scaled`: 'all', the tuple elements, or undefined when none does. */
function returnedElements(returns: PyNode[], scaled: (e: PyNode) => boolean): 'all' | Set<number> | undefined {
  const parts = new Set<number>();
  for (const r of returns) {
    const v = r.namedChildren.find((c) => c.type !== 'comment');
    if (!v) continue;
    if (v.type === 'expression_list' || v.type === 'tuple') v.namedChildren.forEach((e, i) => scaled(e) && parts.add(i));
    else if (scaled(v)) return 'all';
  }
  return parts.size ? parts : undefined;
}

/** The names a call's result is assigned to that receive the scaled parts (`X_s = f(X)`, `X_s, sc = f(X)`). */
function taintedTargets(call: PyNode, returned: 'all' | Set<number>): string[] {
  const asg = call.parent;
  if (asg?.type !== 'assignment' || asg.child('right') !== call) return [];
  const left = asg.child('left');
  if (left?.type === 'identifier') return [left.text];
  if (left?.type !== 'pattern_list' && left?.type !== 'tuple_pattern') return [];
  return left.namedChildren.filter((t, i) => t.type === 'identifier' && (returned === 'all' || returned.has(i))).map((t) => t.text);
}

/** Names an expression reads (attribute fields excluded), following a name to its assigned value once. */
function namesIn(e: PyNode, ctx: RuleContext, follow = true): string[] {
  const out: string[] = [];
  e.walk((n) => {
    if (n.type === 'identifier' && !(n.parent?.type === 'attribute' && n.parent.child('attribute') === n) && n.parent?.type !== 'keyword_argument') {
      out.push(n.text);
      if (follow) {
        const v = ctx.analysis.scopes.valueAt(n.text, n);
        if (v && v.type === 'call') out.push(...namesIn(v, ctx, false));
      }
    }
    if (n.type === 'keyword_argument') {
      const v = n.child('value');
      if (v) out.push(...namesIn(v, ctx, follow));
      return false;
    }
  });
  return out;
}

interface SplitSite {
  node: PyNode;
  names: string[];
}

/**
 * `train_test_split(...)`, `random_split(...)`, and splits written by hand: slicing into a training part
 * (`X_train = X[:800]`), rows picked by training indices (`X[perm[:n]]`, `X[train_idx]`), `df.sample(frac=0.8)`
 * kept as the training part, `np.split(X, [n])` into training and test parts.
 */
function splitSites(ctx: RuleContext): SplitSite[] {
  const out: SplitSite[] = [];
  for (const c of ctx.nodesOfType('call')) {
    const q = dataCallee(ctx.analysis, c);
    if (q === SPLIT || q === 'torch.utils.data.random_split') out.push({ node: c, names: positionalArgs(c).flatMap((arg) => namesIn(arg, ctx)) });
  }
  for (const asg of ctx.nodesOfType('assignment')) {
    const left = asg.child('left');
    const right = asg.child('right');
    if (!left || !right) continue;
    const train = /train/i.test(left.text);
    if (!train && !/train/i.test(right.text)) continue;
    const parts = right.type === 'expression_list' || right.type === 'tuple' ? right.namedChildren : [right];
    // cheap first: a target that is not a training name only splits by `X[train_idx]` as written
    const names = parts
      .map((p) => (train ? handSplitSource(unwrapValue(p, ctx), true, ctx) : p.type === 'subscript' ? handSplitSource(p, false, ctx) : undefined))
      .filter((n): n is string => n !== undefined);
    if (names.length > 0) out.push({ node: asg, names });
  }
  for (const sub of ctx.nodesOfType('subscript')) {
    const source = splitPointSlice(sub);
    if (source) out.push({ node: sub, names: [source] });
  }
  out.push(...splittingCalls(out, ctx));
  return out.sort((x, y) => x.node.start - y.node.start);
}

/** A name for the point where training rows end: `train_size`, `n_train`, `cfg.train_len`, `split_idx`. */
const SPLIT_POINT = /train|^split(_?(idx|index|point|at|row|pos|n|num|size|ix))?$/i;

/**
 * `X[:train_size]`, `data.y[cfg.n_train:]`, `df.iloc[split_idx:, :]`: the rows before or after a split point, whatever
 * the result is named. The data sliced (its root name), or undefined.
 */
function splitPointSlice(sub: PyNode): string | undefined {
  // `X[a:b, ...]`: the first index cuts the rows (tree-sitter lists each index of `X[a, b]` as a child)
  const value = sub.child('value');
  const rows = sub.namedChildren.find((c) => c !== value && c.type !== 'comment');
  if (rows?.type !== 'slice' || !/train|split/i.test(rows.text)) return undefined;
  let bound = false;
  rows.walk((n) => {
    if (n.type === 'call' && !/^(int|round|len|min|max)$/.test(calleeName(n) ?? '')) return false;
    const name = n.type === 'attribute' ? n.child('attribute') : n.type === 'identifier' ? n : undefined;
    if (name && SPLIT_POINT.test(name.text) && !(n.type === 'identifier' && n.parent?.type === 'attribute')) bound = true;
  });
  return bound ? rootName(sub) : undefined;
}

/**
 * Calls of file functions that split what they receive: `train_model(X, y)` where `train_model` passes its parameter
 * `X` to a split. The call splits the names its argument for that parameter reads (one level of calls).
 */
function splittingCalls(splits: SplitSite[], ctx: RuleContext): SplitSite[] {
  const out: SplitSite[] = [];
  const seen = new Set<PyNode>();
  for (const sp of splits) {
    const fn = scopeOf(sp.node);
    const name = fn?.child('name')?.text;
    if (!fn || !name || seen.has(fn)) continue;
    const params = parameterNames(fn).filter((p) => sp.names.includes(p) && ctx.analysis.scopes.valueAt(p, sp.node) === null);
    if (params.length === 0) continue;
    seen.add(fn);
    for (const call of ctx.analysis.callsNamed(name)) {
      if (fileFunctionOf(call, ctx.analysis) !== fn) continue;
      const names = params.flatMap((p) => {
        const arg = argumentFor(call, fn, p);
        return arg ? namesIn(arg, ctx) : [];
      });
      if (names.length > 0) out.push({ node: call, names });
    }
  }
  return out;
}

/**
 * The data a hand-written split takes its training (or, with `train`, any) part from: `X[:800]` and `df.sample(frac=0.8)`
 * assigned to a training name, `X[perm[:n]]` / `X[idx]` with `idx = perm[:n]` likewise, `np.split(X, [n])` into a
 * training name, and `X[train_idx]` whatever the target.
 */
function handSplitSource(p: PyNode, train: boolean, ctx: RuleContext): string | undefined {
  if (p.type === 'call') {
    if (!train) return undefined;
    const name = calleeName(p);
    if (/^(split|array_split)$/.test(name ?? '') && /^numpy\.(split|array_split)$/.test(ctx.analysis.callee(p) ?? '')) return rootName(positionalArgs(p)[0]);
    const frac = name === 'sample' ? keywordArg(p, 'frac') : undefined;
    return frac && frac.text !== '1' && frac.text !== '1.0' ? rootName(receiver(p)) : undefined;
  }
  if (p.type !== 'subscript') return undefined;
  if (train && p.namedChildren.some((c) => c.type === 'slice')) return rootName(p);
  const index = p.namedChildren.find((c) => c !== p.child('value') && c.type !== 'comment');
  return index && trainingIndex(index, train, ctx) ? rootName(p) : undefined;
}

/** Row indices of a training part: `train_idx`, `idx_train`, or (for a training target) `perm[:n]` and a name bound to it. */
function trainingIndex(index: PyNode, train: boolean, ctx: RuleContext): boolean {
  if (index.type === 'identifier' && /train/i.test(index.text)) return true;
  if (!train) return false;
  const v = index.type === 'identifier' ? boundValue(index, ctx) : index;
  return v?.type === 'subscript' && v.namedChildren.some((c) => c.type === 'slice' && c.text.replace(/\s/g, '') !== ':');
}

/** The value a name is bound to, also as one element of a tuple assignment (`tr, te = perm[:n], perm[n:]`). */
function boundValue(id: PyNode, ctx: RuleContext): PyNode | undefined {
  const v = ctx.analysis.scopes.valueAt(id.text, id);
  if (v) return v;
  const el = ctx.analysis.scopes.elementAt(id.text, id);
  const src = el?.source;
  return src && (src.type === 'expression_list' || src.type === 'tuple') ? src.namedChildren[el.index] : undefined;
}

/** Calls that hand back their first argument's data in another container: `torch.tensor(X[:n])`, `np.array(...)`. */
const WRAPPERS = /^(torch\.(tensor|as_tensor|from_numpy|Tensor|FloatTensor|DoubleTensor|LongTensor)|numpy\.(array|asarray|float32|float64))$/;
/** Methods and attributes that keep the data: `X[:n].float()`, `df[:n].values`. */
const KEEPS = /^(float|double|long|astype|to|copy|contiguous|values|to_numpy)$/;

/** The data expression inside value-preserving wrappers: `torch.tensor(data[:n], dtype=...)` -> `data[:n]`. */
function unwrapValue(n: PyNode, ctx: RuleContext): PyNode {
  for (let i = 0; i < 8; i++) {
    if (n.type === 'call') {
      const q = dataCallee(ctx.analysis, n);
      const inner = q && WRAPPERS.test(q) ? positionalArgs(n)[0] : KEEPS.test(calleeName(n) ?? '') ? receiver(n) : undefined;
      if (!inner) return n;
      n = inner;
    } else if (n.type === 'attribute' && KEEPS.test(n.child('attribute')?.text ?? '')) n = n.child('object')!;
    else if (n.type === 'parenthesized_expression' && n.namedChildren[0]) n = n.namedChildren[0];
    else return n;
  }
  return n;
}

/** `scaler.fit(data[:n_train])`, `fit(df.iloc[:split])`: fitted on a slice of the rows, the training part. */
function fittedOnRowSlice(arg: PyNode, ctx: RuleContext): boolean {
  const n = unwrapValue(arg, ctx);
  if (n.type !== 'subscript') return false;
  const first = n.namedChildren.find((c) => c !== n.child('value') && c.type !== 'comment');
  return first?.type === 'slice' && first.text.replace(/\s/g, '') !== ':';
}

/**
 * The names that hold the fitted rows themselves, for cross-validation: the base names, then names assigned from one of
 * them as it is (`Z = X_s`, `Z = np.array(X_s)`, `Z = X_s[:, :10]`), in document order in the fit's scope. Stricter than
 * propagateTaint, which also follows a pipeline built from the column names of the data.
 */
function rowTaint(fit: PyNode, base: string[], ctx: RuleContext): Map<string, number> {
  const taint = new Map(base.map((n) => [n, fit.end]));
  const asgs = ctx.nodesOfType('assignment').filter((a) => a.start > fit.end && sameScope(a, fit));
  for (const asg of asgs) {
    const left = asg.child('left');
    const right = asg.child('right');
    if (left?.type !== 'identifier' || !right) continue;
    let v: PyNode | undefined = unwrapValue(right, ctx);
    while (v?.type === 'subscript') v = v.child('value');
    if (v?.type === 'identifier' && (taint.get(v.text) ?? Infinity) < asg.start) taint.set(left.text, taint.get(left.text) ?? asg.end);
    else taint.delete(left.text);
  }
  return taint;
}

/**
 * Names that hold data derived from the fitted array, with the offset from which they do: followed forward in
 * document order through assignments (`X, y = np.array(X), np.array(y)`), `for row in scaled:` targets and
 * `L.append(<tainted>)` in the fit's scope. A name re-assigned from untainted data is dropped. Proportional to the
 * statements of one scope, once per scaler fit.
 */
function propagateTaint(fit: PyNode, base: string[], ctx: RuleContext): Map<string, number> {
  const taint = new Map(base.map((n) => [n, fit.end]));
  const events: PyNode[] = [];
  for (const a of ctx.nodesOfType('assignment')) if (a.start > fit.end && sameScope(a, fit)) events.push(a);
  for (const l of ctx.nodesOfType('for_statement')) if (l.start > fit.end && sameScope(l, fit)) events.push(l);
  for (const c of [...ctx.analysis.callsNamed('append'), ...ctx.analysis.callsNamed('extend')]) if (c.start > fit.end && sameScope(c, fit)) events.push(c);
  events.sort((x, y) => x.start - y.start);
  const set = (target: PyNode, tainted: boolean, at: number) => {
    if (target.type !== 'identifier') return;
    if (tainted) taint.set(target.text, taint.get(target.text) ?? at);
    else taint.delete(target.text);
  };
  for (const e of events) {
    if (e.type === 'call') {
      const list = receiver(e);
      const item = positionalArgs(e)[0];
      if (list?.type === 'identifier' && item && carriesTaint(item, taint)) set(list, true, e.end);
      continue;
    }
    const left = e.child('left');
    const right = e.child('right');
    if (!left || !right || (e.type === 'assignment' && right.type === 'assignment')) continue;
    // `Z = sc.transform(X)` of a base name: where it starts to hold scaled data, not a re-binding from clean data
    if (right.type === 'call' && calleeName(right) === 'transform' && left.type === 'identifier' && base.includes(left.text)) continue;
    const targets = left.type === 'pattern_list' || left.type === 'tuple_pattern' ? left.namedChildren : [left];
    const values = right.type === 'expression_list' || right.type === 'tuple' ? right.namedChildren : [];
    targets.forEach((t, i) => set(t, carriesTaint(values.length === targets.length ? values[i]! : right, taint), e.end));
  }
  return taint;
}

/**
 * An expression whose value holds a tainted name's rows (not just its length, shape, columns or a number computed
 * from it). Shared with DT015.
 */
export function carriesTaint(e: PyNode, taint: Map<string, number>): boolean {
  switch (e.type) {
    case 'identifier':
      return (taint.get(e.text) ?? Infinity) < e.start;
    case 'attribute':
      return !/^(shape|ndim|dtype|dtypes|size|columns|index|device)$/.test(e.child('attribute')?.text ?? '') && carriesTaint(e.child('object')!, taint);
    case 'subscript':
      return carriesTaint(e.child('value')!, taint);
    case 'call': {
      const f = e.child('function');
      if (f?.type === 'identifier' && /^(len|range|enumerate|int|float|str|print|type|isinstance|sum|max|min)$/.test(f.text)) return false;
      return (f !== undefined && f.type !== 'identifier' && carriesTaint(f, taint)) || positionalArgs(e).some((a) => carriesTaint(a, taint));
    }
    case 'lambda':
    case 'keyword_argument':
    case 'comparison_operator':
      return false;
    default:
      return e.namedChildren.some((c) => carriesTaint(c, taint));
  }
}
