import { calleeName, keywordArg, positionalArgs, receiver } from '../../analysis';
import { assignedTarget, sameScope } from '../../analysis/runtime';
import type { PyNode } from '../../parser';
import type { Rule, RuleContext } from '../../types';

/** Transformers that learn from the data they are fitted on (scalers, imputers, PCA, feature selectors, TF-IDF; stateless ones such as Normalizer excluded). */
const FITTED = /^sklearn\.(preprocessing\.(StandardScaler|MinMaxScaler|RobustScaler|MaxAbsScaler|QuantileTransformer|PowerTransformer)|impute\.(SimpleImputer|KNNImputer|IterativeImputer)|decomposition\.(PCA|TruncatedSVD)|feature_selection\.(SelectKBest|SelectPercentile|RFE|RFECV)|feature_extraction\.text\.TfidfVectorizer)$/;
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
  if (!recv) return undefined;
  let v: PyNode | null | undefined = recv;
  if (recv.type === 'identifier') v = ctx.analysis.scopes.valueAt(recv.text, recv);
  if (v?.type !== 'call') return undefined;
  const q = ctx.analysis.callee(v);
  return q && FITTED.test(q) ? q.split('.').pop() : undefined;
}

/** `X = (X - X.mean(0)) / X.std(0)` (statistics over the samples axis): the normalised name and its source. */
function manualStandardisation(asg: PyNode): { target: string; source: string } | undefined {
  const left = asg.child('left');
  const right = asg.child('right');
  if (left?.type !== 'identifier' || right?.type !== 'binary_operator' || !/^\s*\(/.test(right.text)) return undefined;
  let source: string | undefined;
  let ok = true;
  let hasMinus = false;
  right.walk((n) => {
    if (n.type === 'binary_operator' && n.children.some((c) => c.type === '-')) hasMinus = true;
    if (n.type === 'call' && /^(mean|std|min|max)$/.test(calleeName(n) ?? '')) {
      const axis = keywordArg(n, 'axis') ?? keywordArg(n, 'dim') ?? positionalArgs(n)[0];
      if (axis && axis.text !== '0') ok = false;
      const r = rootName(receiver(n));
      if (!r || (source && source !== r)) ok = false;
      source = r;
      return false;
    }
  });
  if (!ok || !hasMinus || !source || !/\.(std|max)\(/.test(right.text)) return undefined;
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
      'scaler in a `Pipeline`. The same holds for normalising by hand with the mean/std of the full array. Splits of names ' +
      'that already denote training data (a second split for validation) are not reported.',
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
    const a = ctx.analysis;
    const calls = ctx.nodesOfType('call');
    const splits = splitSites(ctx);
    if (splits.length === 0) return;
    // A split of a name tainted before it (the offset where the name started to hold scaled data).
    const splitAfter = (at: PyNode, taint: Map<string, number>) =>
      splits.find((sp) => sp.node.start > at.end && sameScope(sp.node, at) && sp.names.some((n) => (taint.get(n) ?? Infinity) < sp.node.start));
    const lineOf = (n: PyNode) => ctx.source.slice(0, n.start).split('\n').length;

    for (const call of calls) {
      const name = calleeName(call);
      let scaler: string | undefined;
      let dataArg: PyNode | undefined;
      const q = a.callee(call);
      if (name === 'fit' || name === 'fit_transform') {
        scaler = scalerOf(receiver(call), ctx);
        dataArg = positionalArgs(call)[0] ?? keywordArg(call, 'X');
      } else if (q && SCALE_FUNCTIONS.test(q)) {
        scaler = `${q.split('.').pop()}()`;
        dataArg = positionalArgs(call)[0] ?? keywordArg(call, 'X');
      }
      const data = rootName(dataArg);
      if (!scaler || !data || /train/i.test(data) || fittedOnRowSlice(dataArg!, ctx)) continue;
      const base = [data];
      const target = assignedTarget(call);
      if (target?.type === 'identifier') base.push(target.text);
      // later `Z = scaler.transform(...)`
      const recv = receiver(call);
      if (recv && name !== undefined && /fit/.test(name)) {
        for (const t of calls) {
          if (t.start > call.end && calleeName(t) === 'transform' && receiver(t)?.text === recv.text) {
            const tt = assignedTarget(t);
            if (tt?.type === 'identifier') base.push(tt.text);
          }
        }
      }
      const split = splitAfter(call, propagateTaint(call, base, ctx));
      if (!split) continue;
      ctx.report({
        node: call,
        message: `${scaler} is fitted on all of \`${data}\` before the train/test split (line ${lineOf(split.node)}): test data leaks into training. Split first, fit on the training part only.`,
      });
    }
    for (const asg of ctx.nodesOfType('assignment')) {
      const m = manualStandardisation(asg);
      if (!m || /train/i.test(m.source)) continue;
      const split = splitAfter(asg, new Map([[m.target, asg.end]]));
      if (!split) continue;
      ctx.report({
        node: asg,
        message: `\`${m.target}\` is normalised with statistics of the whole dataset before the train/test split (line ${lineOf(split.node)}): test data leaks into training. Split first, compute mean/std on the training part.`,
      });
    }
  },
};

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

/** `train_test_split(...)`, `random_split(...)`, and slicing into a training part (`X_train = X[:800]`). */
function splitSites(ctx: RuleContext): SplitSite[] {
  const out: SplitSite[] = [];
  for (const c of ctx.nodesOfType('call')) {
    const q = ctx.analysis.callee(c);
    if (q === SPLIT || q === 'torch.utils.data.random_split') out.push({ node: c, names: positionalArgs(c).flatMap((arg) => namesIn(arg, ctx)) });
  }
  for (const asg of ctx.nodesOfType('assignment')) {
    const left = asg.child('left');
    const right = asg.child('right');
    if (!left || !right || !/train/i.test(left.text)) continue;
    const parts = right.type === 'expression_list' || right.type === 'tuple' ? right.namedChildren : [right];
    const names = parts
      .map((p) => unwrapValue(p, ctx))
      .filter((p) => p.type === 'subscript' && p.namedChildren.some((c) => c.type === 'slice'))
      .map((p) => rootName(p))
      .filter((n): n is string => n !== undefined);
    if (names.length > 0) out.push({ node: asg, names });
  }
  return out.sort((x, y) => x.node.start - y.node.start);
}

/** Calls that hand back their first argument's data in another container: `torch.tensor(X[:n])`, `np.array(...)`. */
const WRAPPERS = /^(torch\.(tensor|as_tensor|from_numpy|Tensor|FloatTensor|DoubleTensor|LongTensor)|numpy\.(array|asarray|float32|float64))$/;
/** Methods and attributes that keep the data: `X[:n].float()`, `df[:n].values`. */
const KEEPS = /^(float|double|long|astype|to|copy|contiguous|values|to_numpy)$/;

/** The data expression inside value-preserving wrappers: `torch.tensor(data[:n], dtype=...)` -> `data[:n]`. */
function unwrapValue(n: PyNode, ctx: RuleContext): PyNode {
  for (let i = 0; i < 8; i++) {
    if (n.type === 'call') {
      const q = ctx.analysis.callee(n);
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
