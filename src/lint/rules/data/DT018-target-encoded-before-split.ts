import { calleeName, keywordArg, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { dataCallee } from '../../analysis/sklearnNames';
import { sameScope, stringValue } from '../../analysis/runtime';
import type { PyNode } from '../../parser';
import type { Rule, RuleContext } from '../../types';
import { carriesTaint, rootName } from './DT003-scaler-fit-before-split';
import { unwrapTarget } from './DT013-target-left-in-features';

// `df["city_mean"] = df.groupby("city")["price"].transform("mean")` before `train_test_split(X, y)` with `y = df["price"]`:
// each row's feature holds its own label.

/** Splits and cross-validation helpers that take the data as arguments. */
const SPLIT_FUNCTIONS = /^sklearn\.model_selection\.(train_test_split|cross_val_score|cross_validate|cross_val_predict)$/;
/** Splitters whose `.split(X, y)` yields train/test folds. */
const SPLITTERS = /^sklearn\.model_selection\.(KFold|StratifiedKFold|GroupKFold|StratifiedGroupKFold|RepeatedKFold|RepeatedStratifiedKFold|ShuffleSplit|StratifiedShuffleSplit|GroupShuffleSplit)$/;
/** category_encoders encoders that learn per-category statistics of y (sklearn's TargetEncoder cross-fits in fit_transform). */
const ENCODERS = /^category_encoders\.(?:\w+\.)*(TargetEncoder|LeaveOneOutEncoder|CatBoostEncoder|MEstimateEncoder|JamesSteinEncoder|WOEEncoder|GLMMEncoder)$/;
/** Aggregations that read the values (own label included); count/size/nunique do not. */
const STATS: Record<string, string> = {
  mean: 'averages',
  median: 'takes the median of',
  sum: 'sums',
  std: 'takes the spread of',
  var: 'takes the spread of',
  min: 'takes the minimum of',
  max: 'takes the maximum of',
};
/** Frames that already denote one part of a split. */
const PART = /train|test|val|holdout|fold/i;

interface Split {
  call: PyNode;
  label: string;
}

/** A string literal, or a name bound to one (`target = "price"`). */
function stringOf(a: Analysis, n: PyNode | undefined): string | undefined {
  n = unparen(n);
  if (n?.type === 'list' && n.namedChildren.length === 1) n = n.namedChildren[0];
  if (n?.type === 'identifier') n = a.scopes.valueAt(n.text, n) ?? undefined;
  return stringValue(n);
}

function splitSites(a: Analysis): Split[] {
  const out: Split[] = [];
  for (const name of ['train_test_split', 'cross_val_score', 'cross_validate', 'cross_val_predict']) {
    for (const c of a.callsNamed(name)) if (SPLIT_FUNCTIONS.test(dataCallee(a, c) ?? '')) out.push({ call: c, label: name });
  }
  for (const c of a.callsNamed('split')) {
    let r = unparen(receiver(c));
    const label = r?.type === 'identifier' ? `${r.text}.split` : 'the cross-validation split';
    if (r?.type === 'identifier') r = a.scopes.valueAt(r.text, r) ?? undefined;
    if (r?.type === 'call' && SPLITTERS.test(dataCallee(a, r) ?? '')) out.push({ call: c, label });
  }
  return out.sort((x, y) => x.call.start - y.call.start);
}

/** Names read by a split's arguments (keyword values included). */
function argNames(call: PyNode): Set<string> {
  const out = new Set<string>();
  call.child('arguments')?.walk((n) => {
    if (n.type === 'identifier' && !(n.parent?.type === 'attribute' && n.parent.child('attribute') === n) && !(n.parent?.type === 'keyword_argument' && n.parent.child('name') === n)) out.add(n.text);
  });
  return out;
}

/** `F.groupby(K)["T"].transform("mean")`, `F.groupby(K)["T"].mean()`, `.agg("mean")`: frame F, column T, statistic. */
function groupedStat(a: Analysis, call: PyNode): { frame: PyNode; column: string; stat: string; transform: boolean } | undefined {
  const method = calleeName(call);
  if (!method) return undefined;
  let stat: string | undefined;
  const transform = method === 'transform';
  if (STATS[method] !== undefined) {
    if (positionalArgs(call).length > 0) return undefined;
    stat = method;
  } else if (method === 'transform' || method === 'agg' || method === 'aggregate') {
    const args = positionalArgs(call);
    if (args.length !== 1) return undefined;
    const arg = args[0]!;
    const s = stringValue(arg) ?? /^numpy\.(mean|median|sum|std|var|min|max)$/.exec(a.qname(arg) ?? '')?.[1];
    if (s === undefined || STATS[s] === undefined) return undefined;
    stat = s;
  } else return undefined;
  const sel = unparen(receiver(call));
  let column: string | undefined;
  let grouped: PyNode | undefined;
  if (sel?.type === 'subscript') {
    column = stringOf(a, sel.child('subscript'));
    grouped = unparen(sel.child('value'));
  } else if (sel?.type === 'attribute') {
    column = sel.child('attribute')?.text;
    grouped = unparen(sel.child('object'));
  }
  if (column === undefined || grouped?.type !== 'call' || calleeName(grouped) !== 'groupby') return undefined;
  const frame = unparen(receiver(grouped));
  return frame?.type === 'identifier' ? { frame, column, stat, transform } : undefined;
}

/** The assignment whose right side contains `n` (not through nested functions), if `n` is in one. */
function enclosingAssignment(n: PyNode): PyNode | undefined {
  for (let p = n.parent; p; p = p.parent) {
    if (p.type === 'assignment') return p.child('right') && p.child('right')!.start <= n.start && n.end <= p.child('right')!.end ? p : undefined;
    if (/^(function_definition|lambda|class_definition|block|module|expression_statement)$/.test(p.type)) return p.type === 'expression_statement' ? enclosingAssignment(p) : undefined;
  }
  return undefined;
}

/** `pd.Series(...).map(s)`, `merge(s)`, `join(s)`, `replace(s)`: a call that puts per-group values back on the rows. */
function mapsBack(call: PyNode): boolean {
  return /^(map|merge|join|replace)$/.test(calleeName(call) ?? '');
}

/** The frame written and the feature's name: `D["name"] = ...` -> D, name; `D = ...` -> D. */
function written(asg: PyNode): { frame: string; feature?: string } | undefined {
  const left = asg.child('left');
  if (left?.type === 'identifier') return { frame: left.text };
  if (left?.type === 'subscript') {
    const f = rootName(left);
    return f ? { frame: f, feature: stringValue(left.child('subscript')) } : undefined;
  }
  return undefined;
}

/**
 * `F["price"]`, `F[["a", "b"]]`, `F[features]`, `F.drop(columns=[..., feature])`: a column selection that leaves the feature out (or
 * that cannot be read, when the feature's name is unknown).
 */
function leavesOut(a: Analysis, e: PyNode, feature: string | undefined): boolean {
  let x = unparen(e);
  for (let i = 0; i < 4 && x; i++) {
    if (x.type === 'call' && /^(to_numpy|astype|copy|fillna)$/.test(calleeName(x) ?? '')) x = unparen(receiver(x));
    else if (x.type === 'attribute' && /^(values|array)$/.test(x.child('attribute')?.text ?? '')) x = unparen(x.child('object'));
    else break;
  }
  const names = (n: PyNode | undefined): (string | undefined)[] | undefined => {
    n = unparen(n);
    if (n?.type === 'identifier') n = unparen(a.scopes.valueAt(n.text, n) ?? undefined);
    if (n?.type === 'string') return [stringValue(n)];
    return n?.type === 'list' || n?.type === 'tuple' ? n.namedChildren.filter((c) => c.type !== 'comment').map(stringValue) : undefined;
  };
  if (x?.type === 'subscript') {
    const cols = names(x.child('subscript'));
    return cols !== undefined && (feature === undefined || !cols.includes(feature));
  }
  if (x?.type === 'call' && calleeName(x) === 'drop' && feature !== undefined) {
    const cols = names(keywordArg(x, 'columns') ?? positionalArgs(x)[0]);
    return cols?.includes(feature) ?? false;
  }
  return false;
}

/** Names holding data derived from `base` from the given offset on, followed through assignments in `from`'s scope. */
function propagate(ctx: RuleContext, from: PyNode, base: string[], feature?: string): Map<string, number> {
  const taint = new Map(base.map((n) => [n, from.end]));
  for (const e of ctx.nodesOfType('assignment')) {
    if (e.start <= from.end || !sameScope(e, from)) continue;
    const left = e.child('left');
    const right = e.child('right');
    if (!left || !right || right.type === 'assignment') continue;
    if (left.type === 'subscript' || left.type === 'attribute') continue;
    const targets = left.type === 'pattern_list' || left.type === 'tuple_pattern' ? left.namedChildren : [left];
    const values = right.type === 'expression_list' || right.type === 'tuple' ? right.namedChildren : [];
    targets.forEach((t, i) => {
      if (t.type !== 'identifier') return;
      const v = values.length === targets.length ? values[i]! : right;
      if (carriesTaint(v, taint) && !leavesOut(ctx.analysis, v, feature)) {
        if (!taint.has(t.text)) taint.set(t.text, e.end);
      } else taint.delete(t.text);
    });
  }
  return taint;
}

/** `y = F["T"]`, `y = F.pop("T")`, `y = np.log1p(F["T"])`, `y = F["T"].values`: frame F and column T. */
function targetOf(a: Analysis, e: PyNode | undefined): { frame: string; column: string } | undefined {
  const x = unwrapTarget(a, e);
  if (x?.type === 'call' && calleeName(x) === 'pop') {
    const f = unparen(receiver(x));
    const column = stringOf(a, positionalArgs(x)[0]);
    return f?.type === 'identifier' && column !== undefined ? { frame: f.text, column } : undefined;
  }
  if (x?.type !== 'subscript') return undefined;
  const f = unparen(x.child('value'));
  const column = stringOf(a, x.child('subscript'));
  return f?.type === 'identifier' && column !== undefined ? { frame: f.text, column } : undefined;
}

/** The split uses column `column` of one of `frames` as its labels (directly, or through a name bound to it in scope). */
function labelsFrom(a: Analysis, split: PyNode, column: string, frames: Set<string>): boolean {
  const fromFrame = (e: PyNode | undefined) => {
    const t = targetOf(a, e);
    return t !== undefined && t.column === column && frames.has(t.frame);
  };
  const args = [...positionalArgs(split), ...['y', 'groups'].map((k) => keywordArg(split, k)).filter((x): x is PyNode => x !== undefined)];
  for (const arg of args) {
    const x = unparen(arg);
    if (fromFrame(x)) return true;
    if (x?.type === 'identifier' && fromFrame(a.scopes.valueAt(x.text, x) ?? undefined)) return true;
  }
  // KFold.split(X) with the labels used in the fold loop: a `y = F["T"]` in scope passed to this split or a fit.
  for (const asg of a.index.of('assignment')) {
    const left = asg.child('left');
    if (left?.type !== 'identifier' || !sameScope(asg, split) || !fromFrame(asg.child('right'))) continue;
    if (argNames(split).has(left.text)) return true;
    if (a.callsNamed('fit').some((f) => f.start > split.start && argNames(f).has(left.text))) return true;
  }
  return false;
}

export const DT018: Rule = {
  meta: {
    id: 'DT018',
    name: 'target-encoded-before-split',
    group: 'data',
    defaultSeverity: 'warning',
    summary: 'A feature averages the target per category over the whole dataset before the train/test split (target encoding leak).',
    why:
      'Target (mean) encoding replaces a category by the average label of its rows. Computed with ' +
      '`df.groupby("city")["price"].transform("mean")` (or a `category_encoders` `TargetEncoder` fitted on all rows) ' +
      'before `train_test_split` or cross-validation, each test row\'s feature is computed from its own label: the model ' +
      'reads the answer, the test score is inflated and the model disappoints in production. Split first and compute the ' +
      'encoding on the training split only (map it onto the test rows), or fit the encoder inside the cross-validation ' +
      'folds (a `Pipeline`, or sklearn\'s `TargetEncoder.fit_transform`, which cross-fits).',
    wrong:
      'import pandas as pd\nfrom sklearn.model_selection import train_test_split\ndf = pd.read_csv("houses.csv")\n' +
      'df["city_mean"] = df.groupby("city")["price"].transform("mean")\nX = df.drop(columns=["price", "city"])\ny = df["price"]\n' +
      'X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)',
    right:
      'import pandas as pd\nfrom sklearn.model_selection import train_test_split\ndf = pd.read_csv("houses.csv")\n' +
      'train_df, test_df = train_test_split(df, test_size=0.2)\nmeans = train_df.groupby("city")["price"].mean()\n' +
      'train_df["city_mean"] = train_df["city"].map(means)\ntest_df["city_mean"] = test_df["city"].map(means).fillna(means.mean())',
    concept: 'Data leakage: target statistics are learned from training rows only',
    fixable: false,
  },
  check(ctx) {
    const a = ctx.analysis;
    const groupbys = a.callsNamed('groupby');
    const encoders = a.callsNamed('fit_transform').length + a.callsNamed('fit').length;
    if (groupbys.length === 0 && encoders === 0) return;
    const splits = splitSites(a);
    if (splits.length === 0) return;
    const reported = new Set<PyNode>();

    /** The first split after `at` in its scope whose data carries the taint; its label. */
    const splitAfter = (at: PyNode, taint: Map<string, number>, column?: string, feature?: string, frame?: string) =>
      splits.find((sp) => {
        if (sp.call.start <= at.end || !sameScope(sp.call, at)) return false;
        const data = [...positionalArgs(sp.call), ...['X', 'arrays'].map((k) => keywordArg(sp.call, k)).filter((x): x is PyNode => x !== undefined)];
        if (!data.some((d) => carriesTaint(d, taint) && (column === undefined || !leavesOut(a, d, feature)))) return false;
        return column === undefined || labelsFrom(a, sp.call, column, new Set([...taint.keys(), ...(frame ? [frame] : [])]));
      });

    // pandas: group statistics of the target column put back on the rows.
    for (const g of groupbys) {
      let stat = g.parent?.parent;
      // groupby(K)["T"] -> subscript; its .transform / .mean attribute; the call.
      stat = stat?.parent?.type === 'call' ? stat.parent : undefined;
      if (!stat) continue;
      const s = groupedStat(a, stat);
      if (!s || PART.test(s.frame.text)) continue;
      let asg: PyNode | undefined;
      let feature: string | undefined;
      if (s.transform) {
        asg = enclosingAssignment(stat);
      } else {
        // `F["K"].map(<stat>)` inline, or `v = <stat>` then `... .map(v)` / `.merge(v, ...)`.
        let inline: PyNode | undefined;
        for (let p = stat.parent; p && p.type !== 'expression_statement' && p.type !== 'assignment'; p = p.parent) {
          if (p.type === 'call' && mapsBack(p) && p.child('function') !== stat.parent) inline = p;
        }
        if (inline) asg = enclosingAssignment(inline);
        else {
          const holder = enclosingAssignment(stat);
          const v = holder?.child('left');
          if (!holder || v?.type !== 'identifier') continue;
          feature = v.text;
          for (const name of ['map', 'merge', 'join', 'replace']) {
            for (const c of a.callsNamed(name)) {
              if (c.start <= holder.end || !sameScope(c, holder)) continue;
              const uses = positionalArgs(c).some((x) => x.type === 'identifier' && x.text === v.text && a.scopes.valueAt(x.text, x) === holder.child('right'));
              if (uses && (!asg || c.start < asg.start)) asg = enclosingAssignment(c) ?? asg;
            }
          }
        }
      }
      if (!asg || reported.has(asg)) continue;
      const w = written(asg);
      // The statistics come from the very frame that gets the feature (not a reference table of other rows).
      if (!w || PART.test(w.frame) || w.frame !== s.frame.text) continue;
      feature = w.feature ?? feature;
      const taint = propagate(ctx, asg, [w.frame], feature);
      const split = splitAfter(asg, taint, s.column, feature, s.frame.text);
      if (!split) continue;
      reported.add(asg);
      const what = feature ? `\`${feature}\`` : 'this feature';
      ctx.report({
        node: asg,
        message: `${what} ${STATS[s.stat]} the target (${s.column}) over all rows before ${split.label}: each test row's feature contains its own label, so the test score is inflated. Compute the encoding on the training split only (or inside cross-validation folds).`,
      });
    }

    // category_encoders: a target encoder fitted with y on all rows.
    if (encoders === 0) return;
    for (const call of [...a.callsNamed('fit_transform'), ...a.callsNamed('fit')]) {
      let enc = unparen(receiver(call));
      if (enc?.type === 'identifier') enc = a.scopes.valueAt(enc.text, enc) ?? undefined;
      const q = enc?.type === 'call' ? dataCallee(a, enc) : undefined;
      const cls = q ? ENCODERS.exec(q)?.[1] : undefined;
      if (!cls) continue;
      const data = positionalArgs(call)[0] ?? keywordArg(call, 'X');
      const labels = positionalArgs(call)[1] ?? keywordArg(call, 'y');
      const root = rootName(data);
      if (!data || !labels || !root || PART.test(root) || PART.test(rootName(labels) ?? '')) continue;
      if (unparen(data)?.type === 'subscript' && unparen(data)!.namedChildren.some((c) => c.type === 'slice')) continue;
      const base: string[] = [];
      let at: PyNode = call;
      if (calleeName(call) === 'fit_transform') {
        const asg = enclosingAssignment(call);
        const w = asg && written(asg);
        if (!asg || !w || asg.child('right') !== call) continue;
        base.push(w.frame);
        at = asg;
      } else {
        // enc.fit(X, y) then Z = enc.transform(<not a split part>)
        const recv = receiver(call)?.text;
        for (const t of a.callsNamed('transform')) {
          if (t.start <= call.end || receiver(t)?.text !== recv || !sameScope(t, call)) continue;
          const arg = rootName(positionalArgs(t)[0]);
          const asg = enclosingAssignment(t);
          const w = asg && written(asg);
          if (!arg || PART.test(arg) || !asg || !w || asg.child('right') !== t) continue;
          base.push(w.frame);
          at = asg;
          break;
        }
        if (base.length === 0) continue;
      }
      const split = splitAfter(at, propagate(ctx, at, base));
      if (!split) continue;
      ctx.report({
        node: call,
        message: `${cls} is fitted with the target on all rows of \`${root}\` before ${split.label}: each test row's encoding contains its own label, so the test score is inflated. Fit the encoder on the training split only (or inside cross-validation folds).`,
      });
    }
  },
};
