import { enclosingFunction, keywordArg, parameterNames, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { lastName, operatorOf } from '../../analysis/order';
import { scopeOf } from '../../analysis/scopes';
import type { PyNode } from '../../parser';
import type { RawEdit, RawFix, Rule, RuleContext } from '../../types';

/**
 * Names of held-out arrays, as DT007 reads them (`X_test`, `x_val`, `test_x`, `val_features`, `test_df`), plus
 * `eval`/`dev`/`testing` and the unseparated `Xtest`, `xVal`. Never anything with "train".
 */
const HELD_OUT = /(^|_)(test|testing|val|valid|validation|holdout|eval|dev)(_|$)|^([xXyY])(test|Test|val|Val|valid|Valid)$/;
/** Every word HELD_OUT can match, in any case: the statements without one cannot normalise held-out data. */
const HELD_OUT_WORD = /test|val|holdout|eval|dev/i;
/** One sample (`val_img`, `test_image`, `test_sample`: per-sample normalisation) or a result, not the features of a split. */
const NOT_DATA = /(^|_)(img|image|sample|item|example|instance|patch|seq|sequence)(_|$)|std_?dev|loss|acc|score|pred|logit|output|reward|return|adv|err|grad|prob|metric|auc|f1|weight/i;

type Kind = 'mean' | 'median' | 'std' | 'var' | 'min' | 'max';
const KINDS: Record<string, Kind> = {
  mean: 'mean',
  nanmean: 'mean',
  median: 'median',
  nanmedian: 'median',
  std: 'std',
  nanstd: 'std',
  var: 'var',
  nanvar: 'var',
  min: 'min',
  amin: 'min',
  nanmin: 'min',
  max: 'max',
  amax: 'max',
  nanmax: 'max',
};
/** Statistics subtracted (centring) and divided by (scaling). The minimum counts only before a division (min-max
 * scaling): `X_test - X_test.min()` alone just shifts the data to positive values. */
const CENTRE: readonly Kind[] = ['mean', 'median'];
const CENTRE_THEN_SCALE: readonly Kind[] = ['mean', 'median', 'min'];
const SCALE: readonly Kind[] = ['std', 'var', 'max', 'min'];
const ARRAY_MODULES = /^(numpy|torch)\.\w+$/;

interface Stat {
  kind: Kind;
  /** The data the statistic is computed on (`X_test` in `X_test.mean(0)` and `np.mean(X_test, 0)`). */
  subject: PyNode;
  /** What to replace to use another statistic: the call, or `call[0]` / `call.values` for torch's min/max. */
  site: PyNode;
}

/** Text without blanks, to compare two spellings of one expression. */
const squash = (n: PyNode) => n.text.replace(/\s+/g, '');

/** The axis of a reduction reaches over the samples: none (all), 0, None, or a tuple holding 0. */
function acrossSamples(axis: PyNode | undefined): boolean {
  axis = unparen(axis);
  if (!axis || axis.type === 'none') return true;
  if (axis.type === 'integer') return Number(axis.text) === 0;
  if (axis.type === 'tuple' || axis.type === 'list') return axis.namedChildren.some((c) => c.type === 'integer' && Number(c.text) === 0);
  return false;
}

/** `H.mean(...)`, `np.mean(H, ...)`, `torch.std(H, ...)` over the samples (not per sample: `dim=1`). */
function statOf(call: PyNode, a: Analysis): Stat | undefined {
  if (call.type !== 'call') return undefined;
  const f = call.child('function');
  const name = f?.type === 'attribute' ? f.child('attribute')?.text : undefined;
  const kind = name ? KINDS[name] : undefined;
  if (!kind) return undefined;
  const pos = positionalArgs(call);
  const axisKw = keywordArg(call, 'axis') ?? keywordArg(call, 'dim');
  const q = a.callee(call);
  let subject: PyNode | undefined;
  let axis: PyNode | undefined;
  if (q && ARRAY_MODULES.test(q)) {
    subject = pos[0] ?? keywordArg(call, 'a') ?? keywordArg(call, 'input');
    axis = axisKw ?? pos[1];
  } else {
    subject = receiver(call);
    axis = axisKw ?? pos[0];
  }
  subject = unparen(subject);
  if (!subject || !acrossSamples(axis)) return undefined;
  // torch's `x.min(0)` returns (values, indices): `x.min(0)[0]` / `x.min(0).values` is the statistic.
  const p = call.parent;
  const site = p?.type === 'subscript' && p.child('value') === call && p.child('subscript')?.text === '0' ? p
    : p?.type === 'attribute' && p.child('object') === call && p.child('attribute')?.text === 'values' ? p
    : call;
  return { kind, subject, site };
}

/** The name of the data an expression holds: `X_test`, `self.X_test` -> `X_test`, `test_df[cols]` -> `test_df`. */
function dataName(n: PyNode): string | undefined {
  if (n.type === 'identifier' || n.type === 'attribute') return lastName(n);
  if (n.type !== 'subscript') return undefined;
  const value = n.child('value');
  const index = n.childrenOf('subscript');
  if (!value || (value.type !== 'identifier' && value.type !== 'attribute')) return undefined;
  const name = lastName(value);
  // Columns (`[:, 0]`, `["age"]`, `[num_cols]`), not one sample (`[i]`, `[idx]`).
  const column = index.length > 1 || index.some((i) => i.type === 'slice' || i.type === 'string' || i.type === 'list' || (i.type === 'identifier' && /col|feat/i.test(i.text)));
  return column ? name : undefined;
}

function heldOut(name: string | undefined): name is string {
  return !!name && HELD_OUT.test(name) && !/train/i.test(name) && !NOT_DATA.test(name);
}

/** Statistics of `data` inside `expr` (directly, or through a name bound to one: `test_mean = X_test.mean(0)`). */
function ownStats(expr: PyNode | undefined, data: PyNode, kinds: readonly Kind[], ctx: RuleContext): { stat: Stat; site: PyNode }[] {
  const out: { stat: Stat; site: PyNode }[] = [];
  if (!expr) return out;
  const want = squash(data);
  const own = (s: Stat | undefined) => !!s && kinds.includes(s.kind) && squash(s.subject) === want;
  expr.walk((n) => {
    if (n.type === 'lambda' || n.type === 'function_definition' || n.type === 'class_definition') return false;
    if (n.type === 'call') {
      const s = statOf(n, ctx.analysis);
      if (own(s)) {
        out.push({ stat: s!, site: s!.site });
        return false;
      }
    } else if (n.type === 'identifier' && n.parent?.type !== 'attribute' && n.parent?.type !== 'keyword_argument') {
      const v = unparen(ctx.analysis.scopes.valueAt(n.text, n) ?? undefined);
      const s = v && statOf(v, ctx.analysis);
      if (own(s) && s!.site === v) out.push({ stat: s!, site: n });
    }
  });
  return out;
}

interface Normalisation {
  data: PyNode;
  /** The expression to underline. */
  node: PyNode;
  stats: { stat: Stat; site: PyNode }[];
}

/** Where a statement may normalise data: each data operand, the expression to underline, and the statistic side. */
type Site = (data: PyNode, node: PyNode, expr: PyNode | undefined, kinds: readonly Kind[]) => void;

/**
 * The normalisation sites of a statement whose data is held out (`X_test - ...`, `X_test / ...`, `X_test -= ...`),
 * read from the statement alone: `normalisations` then looks for the data's own statistics in `expr`.
 */
function heldOutSites(stmt: PyNode, site: Site): void {
  const add = (data: PyNode | undefined, node: PyNode, expr: PyNode | undefined, kinds: readonly Kind[]) => {
    data = unparen(data);
    if (data && heldOut(dataName(data))) site(data, node, expr, kinds);
  };
  const right = stmt.child('right');
  if (!right) return;
  if (stmt.type === 'augmented_assignment') {
    const op = operatorOf(stmt);
    if (op === '-=') add(stmt.child('left'), right, right, CENTRE);
    else if (op === '/=') add(stmt.child('left'), right, right, SCALE);
    return;
  }
  right.walk((n) => {
    if (n.type === 'lambda' || n.type === 'function_definition' || n.type === 'class_definition') return false;
    if (n.type !== 'binary_operator') return;
    const op = operatorOf(n);
    const left = unparen(n.child('left'));
    if (op === '-') add(left, n, n.child('right'), numerator(n) ? CENTRE_THEN_SCALE : CENTRE);
    else if (op === '/') {
      const numerator = left?.type === 'binary_operator' && operatorOf(left) === '-' ? unparen(left.child('left')) : left;
      add(numerator, n, n.child('right'), SCALE);
    }
  });
}

/** A statement that may normalise held-out data: the prefix of the visit that reads the statement alone. */
function mayNormaliseHeldOut(stmt: PyNode): boolean {
  // Cheap first: a held-out name (HELD_OUT) must appear in the statement's text; most assignments have none.
  if (!HELD_OUT_WORD.test(stmt.text)) return false;
  if (stmt.child('right')?.type === 'assignment') return false; // `a = b = expr`: the inner assignment is visited
  let found = false;
  heldOutSites(stmt, () => void (found = true));
  return found;
}

/** `H - <stat of H>` and `H / <stat of H>` / `(H - ...) / <stat of H>` in an expression; `H -= ...`, `H /= ...`. */
function normalisations(stmt: PyNode, ctx: RuleContext): Normalisation[] {
  const out: Normalisation[] = [];
  heldOutSites(stmt, (data, node, expr, kinds) => {
    const stats = ownStats(expr, data, kinds, ctx);
    if (!stats.length) return;
    const same = out.find((o) => squash(o.data) === squash(data));
    if (same) {
      for (const s of stats) if (!same.stats.some((x) => x.site === s.site)) same.stats.push(s);
      if (node.start <= same.node.start && node.end >= same.node.end) same.node = node;
    } else out.push({ data, node, stats });
  });
  return out;
}

/** The expression is what a `/` divides: `(H - H.min()) / ...`. */
function numerator(n: PyNode): boolean {
  let top = n;
  while (top.parent?.type === 'parenthesized_expression') top = top.parent;
  const p = top.parent;
  return p?.type === 'binary_operator' && operatorOf(p) === '/' && p.child('left') === top;
}

/** A name bound to a statistic of the training data (`mean = X_train.mean(axis=0)`) that holds at `at`, per kind. */
function trainingStat(kind: Kind, at: PyNode, ctx: RuleContext): string | undefined {
  for (const asg of ctx.nodesOfType('assignment')) {
    const left = asg.child('left');
    const value = unparen(asg.child('right'));
    if (left?.type !== 'identifier' || value?.type !== 'call' || asg.start >= at.start) continue;
    const s = statOf(value, ctx.analysis);
    if (!s || s.kind !== kind || s.site !== value || !/train/i.test(dataName(s.subject) ?? '')) continue;
    const bound = ctx.analysis.scopes.valueAt(left.text, at);
    if (!bound || bound.start !== asg.child('right')!.start) continue;
    // Computed after the training data was normalised with its own statistics: mean 0, std 1, no use.
    if (normalisedBefore(s.subject, asg, ctx)) continue;
    return left.text;
  }
  return undefined;
}

function normalisedBefore(data: PyNode, before: PyNode, ctx: RuleContext): boolean {
  const want = squash(data);
  const scope = scopeOf(before);
  return [...ctx.nodesOfType('assignment'), ...ctx.nodesOfType('augmented_assignment')].some((s) => {
    if (s.start >= before.start || scopeOf(s) !== scope || squash(s.child('left') ?? s) !== want) return false;
    const right = s.child('right');
    if (!right) return false;
    const kinds: readonly Kind[] = [...CENTRE_THEN_SCALE, ...SCALE];
    let own = false;
    right.walk((n) => {
      if (own) return false;
      const st = n.type === 'call' ? statOf(n, ctx.analysis) : undefined;
      if (st && kinds.includes(st.kind) && squash(st.subject) === want) own = true;
    });
    return own;
  });
}

function kindsText(stats: { stat: Stat }[]): string {
  const kinds = [...new Set(stats.map((s) => s.stat.kind))];
  const order: Kind[] = ['mean', 'median', 'min', 'max', 'std', 'var'];
  kinds.sort((x, y) => order.indexOf(x) - order.indexOf(y));
  return kinds.length === 1 ? kinds[0]! : `${kinds.slice(0, -1).join(', ')} and ${kinds[kinds.length - 1]}`;
}

/** Parameters that bring statistics in from outside: the class can be given the training ones. */
const STATS_PARAM = /mean|std|stat|norm|scal|mu|sigma/i;

/**
 * `class S: def __init__(self, images): self.mean = images.mean(0); self.images = images - self.mean`: the position of
 * the `__init__` parameter the class centres with its own, unconditional mean (directly or through a `self.` attribute).
 * Undefined when `__init__` can also take statistics from outside (a `mean=` / `stats=` parameter).
 */
function selfCentredParam(cls: PyNode, ctx: RuleContext): number | undefined {
  const init = cls.child('body')?.namedChildren.find((n) => n.type === 'function_definition' && n.child('name')?.text === '__init__');
  const body = init?.child('body');
  if (!init || !body) return undefined;
  const params = parameterNames(init).slice(1); // after self
  if (params.some((p) => STATS_PARAM.test(p))) return undefined;
  const unconditionalMean = (n: PyNode | undefined, param: string) => {
    const st = n && statOf(unparen(n)!, ctx.analysis);
    if (!st || !CENTRE.includes(st.kind) || st.subject.text !== param) return false;
    for (let p = n!.parent; p && p !== body; p = p.parent) if (p.type === 'if_statement' || p.type === 'conditional_expression') return false;
    return true;
  };
  const selfStats = new Map<string, PyNode>();
  body.walk((n) => {
    if (n.type === 'function_definition' || n.type === 'lambda') return false;
    if (n.type === 'assignment' && /^self\.\w+$/.test(n.child('left')?.text ?? '')) selfStats.set(n.child('left')!.text, n.child('right')!);
    return undefined;
  });
  let found: number | undefined;
  body.walk((n) => {
    if (found !== undefined || n.type === 'function_definition' || n.type === 'lambda') return false;
    if (n.type !== 'binary_operator' || operatorOf(n) !== '-') return undefined;
    const left = unparen(n.child('left'));
    const right = unparen(n.child('right'));
    const at = left?.type === 'identifier' ? params.indexOf(left.text) : -1;
    if (at < 0 || !right) return undefined;
    const stat = right.type === 'attribute' ? selfStats.get(right.text) : right;
    if (unconditionalMean(stat, left!.text)) found = at;
    return undefined;
  });
  return found;
}

/** `Cls(x_test, ...)` of a class of this file: the call's data argument when its name says held out. */
function heldOutInstance(call: PyNode, ctx: RuleContext): PyNode | undefined {
  const f = call.child('function');
  if (f?.type !== 'identifier' || !ctx.analysis.definesClass(f.text)) return undefined;
  return (call.child('arguments')?.namedChildren ?? []).find((x) => x.type !== 'keyword_argument' && heldOut(dataName(x)));
}

/**
 * A held-out split given to a class that centres its input with the input's own mean, which the file also builds on
 * training data: `train = ImageSet(x_train)`, `test = ImageSet(x_test)`.
 */
function classOwnStatistics(call: PyNode, ctx: RuleContext): void {
  const arg = heldOutInstance(call, ctx);
  if (!arg) return;
  const name = call.child('function')!.text;
  const cls = ctx.nodesOfType('class_definition').find((c) => c.child('name')?.text === name);
  const at = cls && selfCentredParam(cls, ctx);
  if (at === undefined || positionalArgs(call)[at] !== arg || call.child('arguments')!.namedChildren.some((x) => x.type === 'keyword_argument' && STATS_PARAM.test(x.child('name')?.text ?? ''))) return;
  const trained = ctx.analysis.callsNamed(name).some((c) => c !== call && /train/i.test(dataName(positionalArgs(c)[at] ?? c) ?? ''));
  if (!trained) return;
  ctx.report({
    node: call,
    message: `${name} centres its input with that input's own mean, so ${arg.text} is normalised with its own statistics: compute them on the training data and pass them in.`,
  });
}

export const DT011: Rule = {
  meta: {
    id: 'DT011',
    name: 'held-out-normalised-with-own-statistics',
    group: 'data',
    defaultSeverity: 'warning',
    summary: 'Test or validation data standardised with its own mean and std: scale it with the training set\'s statistics.',
    why:
      'A model learns on inputs scaled by the training set\'s statistics: `(X_train - mean) / std`. The same `mean` and ' +
      '`std` must scale every other split. `(X_test - X_test.mean(0)) / X_test.std(0)` uses the test set\'s own ' +
      'statistics instead: each feature is shifted and stretched differently from what the model saw, so the same raw ' +
      'value means different things in training and in evaluation. With a small test set, or one batch at a time, the ' +
      'statistics move a lot and scores become unreliable; in production there is no "test mean" at all. Compute the ' +
      'statistics once on the training data and reuse them (or fit a StandardScaler on the training data and only ' +
      '`transform` the rest). Also reported: a class of the file that centres the data it is built on with that ' +
      'data\'s own mean, built once on training and once on held-out data.',
    wrong:
      'import numpy as np\nX_train = (X_train - X_train.mean(axis=0)) / X_train.std(axis=0)\n' +
      'X_test = (X_test - X_test.mean(axis=0)) / X_test.std(axis=0)',
    right:
      'import numpy as np\nmean, std = X_train.mean(axis=0), X_train.std(axis=0)\n' +
      'X_train = (X_train - mean) / std\nX_test = (X_test - mean) / std',
    concept: 'Preprocessing: every split is scaled with the training statistics',
    fixable: true,
  },
  nodeTypes: ['assignment', 'augmented_assignment', 'call'],
  // Held-out data on the left of `-` or `/`; whether the other side is its own statistic reads the bindings. A call:
  // held-out data given to a class of the file, whose body and other instances are read in the visit.
  candidate: { reads: ['classes'], test: (n, ctx) => (n.type === 'call' ? heldOutInstance(n, ctx) !== undefined : mayNormaliseHeldOut(n)) },
  visit(stmt, ctx) {
    if (stmt.type === 'call') {
      classOwnStatistics(stmt, ctx);
      return;
    }
    if (!mayNormaliseHeldOut(stmt)) return;
    // One sample in a Dataset: per-sample normalisation, the same for every split.
    if (enclosingFunction(stmt)?.child('name')?.text === '__getitem__') return;
    for (const norm of normalisations(stmt, ctx)) {
      const name = dataName(norm.data)!;
      // `train` replaces the split word to name the training counterpart (`X_test` -> `X_train`, `test_x` -> `train_x`).
      const train = name.replace(HELD_OUT, (_m, pre: string | undefined, _w, post: string | undefined, x: string | undefined) =>
        x ? `${x}train` : `${pre ?? ''}train${post ?? ''}`,
      );
      const trained = train !== name && ctx.analysis.scopes.isBoundAnywhere(train) ? `${train} scaled by them` : 'the training data scaled by them';
      // A fix only when every own statistic has a training counterpart bound in the file (`mean = X_train.mean(0)`).
      const edits: RawEdit[] = [];
      for (const s of norm.stats) {
        const t = trainingStat(s.stat.kind, stmt, ctx);
        if (!t) break;
        edits.push({ start: s.site.start, end: s.site.end, newText: t });
      }
      const fixes: RawFix[] | undefined =
        edits.length === norm.stats.length ? [{ title: `Use the training statistics (${edits.map((e) => e.newText).join(', ')})`, edits }] : undefined;
      ctx.report({
        node: norm.node,
        message: `${name} is normalised with its own ${kindsText(norm.stats)}: use the training set's statistics (the model was trained on ${trained}).`,
        fixes,
      });
    }
  },
};
