// Preprocessing statistics computed over training and held-out data joined into one array (DT003):
// `torch.cat([train..., test...]).mean(0)`, `scaler.fit(np.concatenate([X_train, X_test]))`.
import { calleeName, keywordArg, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { assignedTarget, sameScope } from '../../analysis/runtime';
import type { PyNode } from '../../parser';
import type { RuleContext } from '../../types';

/** Calls that join their parts as rows (along the first axis unless told otherwise). */
const JOINS = /^(torch\.(cat|concat|concatenate|vstack)|numpy\.(concatenate|vstack|row_stack)|pandas\.concat)$/;
const JOIN_NAMES = ['cat', 'concat', 'concatenate', 'vstack', 'row_stack'];
/** Names of held-out data: test_set, X_test, val_df, valid, holdout (never anything with "train"). */
const HELD_OUT = /(^|_)(test|val|valid|validation|holdout|heldout)(_|$|\d)|^(test|val|valid)[A-Z]|[a-z](Test|Val|Valid)($|[A-Z_])/;
const TRAIN = /train/i;

export interface PooledStatistics {
  /** The join call. */
  join: PyNode;
  /** The held-out part's name, for the message. */
  heldOut: string;
  /** Where the statistics or the fit are taken. */
  use: PyNode;
  /** 'mean/std', 'min/max', or the transformer fitted. */
  what: string;
  fitted: boolean;
}

/**
 * Joins of training and held-out data whose statistics are then taken: the center and the spread over the samples
 * axis (`mean` + `std`, `min` + `max`), or a learning transformer's `fit` (`scalerOf`). Computing both is what a
 * normalisation needs; one `mean()` alone (a fill value, a log line) is left alone.
 */
export function pooledStatistics(ctx: RuleContext, scalerOf: (recv: PyNode | undefined) => string | undefined): PooledStatistics[] {
  const a = ctx.analysis;
  const out: PooledStatistics[] = [];
  for (const name of JOIN_NAMES) {
    for (const join of a.callsNamed(name)) {
      if (!JOINS.test(a.callee(join) ?? '') || !joinsRows(join)) continue;
      const heldOut = mixedParts(join, a);
      if (!heldOut) continue;
      const found = statisticsOf(join, a, scalerOf);
      if (found) out.push({ join, heldOut, ...found });
    }
  }
  return out;
}

/** Along the first axis: no `dim=` / `axis=` other than 0 (`pd.concat(axis=1)` joins columns). */
function joinsRows(join: PyNode): boolean {
  const axis = keywordArg(join, 'dim') ?? keywordArg(join, 'axis') ?? positionalArgs(join)[1];
  return !axis || /^(0|'index'|"index")$/.test(axis.text);
}

/** The held-out name when the joined parts hold both training and held-out data; undefined otherwise. */
function mixedParts(join: PyNode, a: Analysis): string | undefined {
  const parts = partsOf(positionalArgs(join)[0] ?? keywordArg(join, 'tensors') ?? keywordArg(join, 'objs'));
  let train = false;
  let heldOut: string | undefined;
  for (const p of parts) {
    const kind = partKind(p, a);
    if (kind === 'train') train = true;
    else if (kind) heldOut ??= kind.heldOut;
  }
  return train ? heldOut : undefined;
}

/** The elements of `[a, b]`, `(a, b)` and `[...] + [...]`. */
function partsOf(n: PyNode | undefined): PyNode[] {
  const e = unparen(n);
  if (!e) return [];
  if (e.type === 'list' || e.type === 'tuple') return e.namedChildren.filter((c) => c.type !== 'comment');
  if (e.type === 'binary_operator' && e.children.some((c) => c.type === '+')) return [...partsOf(e.child('left')), ...partsOf(e.child('right'))];
  return [e];
}

/** Whether one part reads training data, held-out data (and which name), or neither / both. */
function partKind(part: PyNode, a: Analysis): 'train' | { heldOut: string } | undefined {
  let train = false;
  let heldOut: string | undefined;
  part.walk((n) => {
    if (n.type === 'keyword_argument') return false;
    if (n.type !== 'identifier' || (n.parent?.type === 'attribute' && n.parent.child('attribute') === n)) return undefined;
    const split = splitOfName(n, a);
    if (split === 'train') train = true;
    else if (split === 'heldOut') heldOut ??= n.text;
    return undefined;
  });
  if (train === (heldOut !== undefined)) return undefined;
  return train ? 'train' : { heldOut: heldOut! };
}

/** A name's split from its spelling, or from the dataset call it is bound to (`CIFAR10(..., train=False)`). */
function splitOfName(id: PyNode, a: Analysis): 'train' | 'heldOut' | undefined {
  if (TRAIN.test(id.text)) return 'train';
  if (HELD_OUT.test(id.text)) return 'heldOut';
  const v = a.scopes.valueAt(id.text, id);
  if (v?.type !== 'call') return undefined;
  const flag = keywordArg(v, 'train')?.text;
  if (flag === 'True') return 'train';
  if (flag === 'False') return 'heldOut';
  const split = keywordArg(v, 'split')?.text.replace(/['"]/g, '');
  if (split === 'train') return 'train';
  return split && /^(test|val|valid|validation)$/.test(split) ? 'heldOut' : undefined;
}

/** Statistics a normalisation takes: the center and the spread. */
const CENTER = /^(mean|nanmean|min|amin|nanmin)$/;
const SPREAD = /^(std|nanstd|var|max|amax|nanmax)$/;

/**
 * The statistics taken of a join: on the call itself (`torch.cat(...).mean(0)`, `np.mean(np.concatenate(...))`) or on
 * the name it is assigned to, later in the same scope; or a transformer fitted on either.
 */
function statisticsOf(join: PyNode, a: Analysis, scalerOf: (recv: PyNode | undefined) => string | undefined): Omit<PooledStatistics, 'join' | 'heldOut'> | undefined {
  const target = assignedTarget(join);
  const name = target?.type === 'identifier' ? target.text : undefined;
  // later reads of the name while it still holds the join
  const uses = name ? a.identifiersNamed(name).filter((i) => i.start > join.end && sameScope(i, join) && a.scopes.valueAt(name, i) === join) : [];
  let center: PyNode | undefined;
  let spread: PyNode | undefined;
  for (const at of [join, ...uses]) {
    const n = throughKeeps(at);
    const call = statisticCall(n);
    if (!call) continue;
    const method = calleeName(call) ?? '';
    if (method === 'fit' || method === 'fit_transform') {
      const scaler = positionalArgs(call)[0] === n ? scalerOf(receiver(call)) : undefined;
      if (scaler) return { use: call, what: scaler, fitted: true };
      continue;
    }
    const axis = statisticAxis(call, n, a);
    if (axis === false) continue;
    if (CENTER.test(method)) center ??= call;
    if (SPREAD.test(method)) spread ??= call;
    if (center && spread) return { use: center, what: /min/.test(calleeName(center) ?? '') ? 'min/max' : 'mean/std', fitted: false };
  }
  return undefined;
}

/** Attribute reads and calls that keep the rows: `data.values`, `data.numpy()`, `(data).float()`. */
const KEEP_ATTRIBUTES = /^(values|data|T)$/;
const KEEP_METHODS = /^(numpy|float|double|to_numpy|cpu)$/;

function throughKeeps(n: PyNode): PyNode {
  for (let i = 0; i < 6; i++) {
    const p = n.parent;
    if (p?.type === 'parenthesized_expression') n = p;
    else if (p?.type === 'attribute' && p.child('object') === n) {
      const attr = p.child('attribute')?.text ?? '';
      const call = p.parent?.type === 'call' && p.parent.child('function') === p ? p.parent : undefined;
      if (call && KEEP_METHODS.test(attr)) n = call;
      else if (!call && KEEP_ATTRIBUTES.test(attr)) n = p;
      else return n;
    } else return n;
  }
  return n;
}

/** The call that reads `n`: `n.mean(...)` (n is the receiver) or `f(n)` (n is the first argument). */
function statisticCall(n: PyNode): PyNode | undefined {
  const p = n.parent;
  if (p?.type === 'attribute' && p.child('object') === n && p.parent?.type === 'call' && p.parent.child('function') === p) return p.parent;
  const args = p?.type === 'argument_list' ? p : undefined;
  return args?.parent?.type === 'call' && positionalArgs(args.parent)[0] === n ? args.parent : undefined;
}

/** Whether a statistic spans the samples (no axis, axis 0, or a list of axes with 0); false for per-sample ones. */
function statisticAxis(call: PyNode, data: PyNode, a: Analysis): boolean {
  const fnForm = receiver(call) !== data;
  if (fnForm && !/^(numpy|torch)\.[a-z]+$/.test(a.callee(call) ?? '')) return false;
  const axis = keywordArg(call, 'axis') ?? keywordArg(call, 'dim') ?? positionalArgs(call)[fnForm ? 1 : 0];
  if (!axis) return true;
  if (axis.type === 'list' || axis.type === 'tuple') return axis.namedChildren.some((c) => c.text === '0');
  return axis.text === '0';
}
