import { calleeName, hasKeywordSplat, keywordArg, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { receiverValue } from '../../analysis/order';
import { returnedValues } from '../../analysis/returnedValues';
import { stringValue } from '../../analysis/runtime';
import type { PyNode } from '../../parser';
import type { RawFix, Rule } from '../../types';

const PLATEAU = 'torch.optim.lr_scheduler.ReduceLROnPlateau';

// Words of a name (`val_acc`, `valAUC`, "val/f1") that say the value should rise, or fall.
const SCORE = new Set([
  'acc', 'accuracy', 'auc', 'auroc', 'f1', 'dice', 'iou', 'miou', 'map', 'precision', 'recall', 'bleu', 'score', 'psnr', 'ssim',
  // regression, ranking and recommendation: R², NDCG, hit rate, MRR, agreement and correlation
  'r2', 'ndcg', 'hr', 'hit', 'hits', 'mrr', 'kappa', 'mcc', 'corr', 'pearson', 'spearman',
]);
const LOSS = new Set(['loss', 'err', 'error', 'mse', 'mae', 'rmse', 'perplexity', 'ppl', 'nll']);
// Words that make either reading unsafe: a distance, a negated or inverted value, a difference.
const UNCLEAR = new Set(['dist', 'distance', 'neg', 'negative', 'inv', 'inverse', 'minus', 'delta', 'diff', 'gap', 'drop']);

type Kind = 'score' | 'loss';

/** The words of a name, lowercased: split on non-alphanumerics, each part whole (`mIoU`) and split on camelCase (`valAUC`). */
function words(name: string): string[] {
  const out: string[] = [];
  for (const part of name.split(/[^A-Za-z0-9]+/)) {
    if (!part) continue;
    out.push(part.toLowerCase());
    const camel = part.replace(/([a-z0-9])([A-Z])/g, '$1 $2').split(' ');
    if (camel.length > 1) for (const w of camel) out.push(w.toLowerCase());
  }
  return out;
}

/** What a name says of its value: a score (higher is better), a loss (lower is better), or nothing clear. */
function kindOfName(name: string): Kind | undefined {
  let score = false;
  let loss = false;
  for (const w of words(name)) {
    const bare = w.replace(/\d+$/, '');
    // The word, without trailing digits (`acc1`, `map50`) and plurals (`val_accs`, `val_losses`).
    const forms = [w, bare, bare.replace(/s$/, ''), bare.replace(/es$/, '')];
    if (forms.some((f) => UNCLEAR.has(f))) return undefined;
    if (forms.some((f) => SCORE.has(f))) score = true;
    if (forms.some((f) => LOSS.has(f))) loss = true;
  }
  return score === loss ? undefined : score ? 'score' : 'loss';
}

// Aggregates of a tracker (`loss_meter.avg`, `acc_metric.compute()`): the tracker's name says what the value is.
const AGGREGATE = new Set(['avg', 'mean', 'average', 'val', 'value', 'median', 'global_avg', 'compute', 'result']);

/**
 * The name that says what the stepped value is: `val_acc`, `metrics.val_acc`, `logs["val_acc"]`, `val_accs[-1]`,
 * `acc_meter.avg`, through `.item()` and `float(...)`. Undefined for anything computed (`1 - acc`, a call).
 */
function valueName(expr: PyNode | undefined, depth = 0): string | undefined {
  const e = unparen(expr);
  if (!e || depth > 3) return undefined;
  if (e.type === 'identifier') return e.text;
  if (e.type === 'attribute') {
    const attr = e.child('attribute')?.text;
    return attr && AGGREGATE.has(attr) ? valueName(e.child('object'), depth + 1) : attr;
  }
  if (e.type === 'subscript') {
    const idx = e.childrenOf('subscript');
    if (idx.length !== 1) return undefined;
    const key = stringValue(idx[0]);
    if (key !== undefined) return key;
    // A position in a history list (`val_accs[-1]`, `history["val_acc"][-1]`): the list's name.
    return idx[0]!.type === 'integer' || idx[0]!.type === 'unary_operator' ? valueName(e.child('value'), depth + 1) : undefined;
  }
  if (e.type === 'call') {
    const args = e.child('arguments')?.namedChildren.filter((c) => c.type !== 'comment') ?? [];
    const fn = e.child('function');
    const method = fn?.type === 'attribute' && args.length === 0 ? calleeName(e) : undefined;
    if (method && (method === 'item' || AGGREGATE.has(method))) return valueName(fn!.child('object'), depth + 1);
    if (fn?.type === 'identifier' && fn.text === 'float' && args.length === 1) return valueName(args[0], depth + 1);
  }
  return undefined;
}

const flip = (k: Kind | undefined): Kind | undefined => (k === 'score' ? 'loss' : k === 'loss' ? 'score' : undefined);

// Rounding keeps a value's order: `round(loss, 3)`, `math.ceil(loss * 1000) / 1000`, `np.floor(loss)`.
const ROUNDING = /^(round|ceil|floor|trunc)$/;

/**
 * The value a rounding or a scaling by a positive literal wraps (`math.ceil(val_loss * 1000.0) / 1000.0`,
 * `val_loss / len(loader)` is not: only literals), so it rises and falls with it; else undefined.
 */
function sameOrder(e: PyNode | undefined): PyNode | undefined {
  const u = unparen(e);
  if (u?.type === 'call' && ROUNDING.test(calleeName(u) ?? '')) {
    const args = positionalArgs(u);
    return args.length >= 1 && args.length <= 2 && !keywordArg(u, 'out') ? args[0] : undefined;
  }
  if (u?.type !== 'binary_operator') return undefined;
  const op = operatorText(u);
  const l = u.child('left');
  const r = u.child('right');
  if ((op === '*' || op === '/') && positiveLiteral(r)) return l ?? undefined;
  if (op === '*' && positiveLiteral(l)) return r ?? undefined;
  return undefined;
}

function operatorText(n: PyNode): string | undefined {
  return n.children.find((c) => c !== n.child('left') && c !== n.child('right'))?.text;
}

function positiveLiteral(n: PyNode | null | undefined): boolean {
  const u = unparen(n ?? undefined);
  return (u?.type === 'integer' || u?.type === 'float') && Number(u.text.replace(/_/g, '')) > 0;
}

/** `-x`: the operand, when the expression negates one. */
function negated(e: PyNode | undefined): PyNode | undefined {
  const u = unparen(e);
  return u?.type === 'unary_operator' && u.children[0]?.text === '-' ? u.child('argument') : undefined;
}

/**
 * What a stepped value is, by its name; a negated value is the other kind (`-val_loss` rises as the model improves).
 * A name assigned from a value whose text says the other kind stays unclear, unless that value negates it.
 */
function kindOfValue(a: Analysis, expr: PyNode, depth = 0): Kind | undefined {
  const kept = sameOrder(expr);
  if (kept) return depth < 3 ? kindOfValue(a, kept, depth + 1) : undefined;
  const inner = negated(expr);
  if (inner) return depth < 2 ? flip(kindOfValue(a, inner, depth + 1)) : undefined;
  const name = valueName(expr);
  const kind = name ? kindOfName(name) : undefined;
  if (!kind) return undefined;
  const e = unparen(expr)!;
  const v = e.type === 'identifier' ? a.scopes.valueAt(e.text, e) : undefined;
  if (v) {
    // `score = -val_loss`: a score indeed (it rises); `loss = -val_acc` would be one too.
    if (negated(v)) return depth < 2 && kindOfValue(a, v, depth + 1) === kind ? kind : undefined;
    // `acc = 1 - err`: the value is not what its name says.
    if (v.type === 'unary_operator' || v.type === 'binary_operator') {
      for (const w of words(v.text)) if (kind === 'score' ? LOSS.has(w) : SCORE.has(w)) return undefined;
    }
    const vk = kindOfName(v.text.replace(/\(.*$/s, ''));
    if (vk && vk !== kind) return undefined;
  }
  return kind;
}

/** The ReduceLROnPlateau build an expression holds: the call, a name bound to it, or what a helper of the file returns. */
function plateauOf(a: Analysis, v: PyNode | null | undefined, depth = 0): PyNode | undefined {
  const e = unparen(v ?? undefined);
  if (!e || depth > 3) return undefined;
  if (e.type === 'identifier') {
    const bound = a.scopes.valueAt(e.text, e);
    if (bound) return plateauOf(a, bound, depth + 1);
    // `optimizer, scheduler = setup_optimizer(model)`: element `index` of what the helper returns.
    const el = a.scopes.elementAt(e.text, e);
    return el ? returnedPlateau(a, el.source, depth, el.index) : undefined;
  }
  if (e.type !== 'call') return undefined;
  return a.callee(e) === PLATEAU ? e : returnedPlateau(a, e, depth);
}

/** The build a call of a function of the file returns (element `index` of its returned tuples), when every return agrees. */
function returnedPlateau(a: Analysis, call: PyNode, depth: number, index?: number): PyNode | undefined {
  let found: PyNode | undefined;
  for (const value of returnedValues(a, call, index) ?? []) {
    const built = plateauOf(a, value, depth + 1);
    if (!built || (found && found !== built)) return undefined;
    found = built;
  }
  return found;
}

/** The ReduceLROnPlateau build a `.step(x)` receiver holds, when the file shows it. */
function plateauBuild(a: Analysis, recv: PyNode): PyNode | undefined {
  const v = receiverValue(a, recv);
  if (v !== undefined || recv.type === 'identifier') return plateauOf(a, recv.type === 'identifier' ? recv : v);
  return soleScheduler(a, recv);
}

/**
 * `state['scheduler'].step(x)`, `trainer.lr_scheduler.step(x)`: a receiver named for a scheduler that the file does not
 * show being set (a framework's state passed to a hook). It can only be the file's scheduler when the file builds
 * exactly one, and that one is a ReduceLROnPlateau: every call that could build a scheduler counts.
 */
function soleScheduler(a: Analysis, recv: PyNode): PyNode | undefined {
  const key = recv.type === 'subscript' ? stringValue(recv.childrenOf('subscript')[0]) : recv.type === 'attribute' ? recv.child('attribute')?.text : undefined;
  if (!key || !/sched/i.test(key)) return undefined;
  let builds = schedulerBuilds.get(a);
  if (!builds) {
    builds = a.index.of('call').filter((c) => {
      const q = a.callee(c) ?? '';
      return q.startsWith('torch.optim.lr_scheduler.') || /sched|plateau/i.test(calleeName(c) ?? '');
    });
    schedulerBuilds.set(a, builds);
  }
  return builds.length === 1 && a.callee(builds[0]!) === PLATEAU ? builds[0] : undefined;
}

const schedulerBuilds = new WeakMap<Analysis, PyNode[]>();

interface Mode {
  mode: 'min' | 'max';
  /** The literal, when the mode is written. */
  node?: PyNode;
}

/** The constructor's mode: 'min' when absent; undefined when not a literal 'min' / 'max' or hidden in **kwargs. */
function modeOf(built: PyNode): Mode | undefined {
  if (hasKeywordSplat(built)) return undefined;
  const node = keywordArg(built, 'mode') ?? positionalArgs(built)[1];
  if (!node) return { mode: 'min' };
  const s = stringValue(node);
  return s === 'min' || s === 'max' ? { mode: s, node } : undefined;
}

/** Set the constructor's mode: replace the literal, or add `mode=` after its last argument. */
function setMode(built: PyNode, mode: Mode, to: 'min' | 'max'): RawFix[] | undefined {
  const title = `Build the ReduceLROnPlateau with mode='${to}'`;
  if (mode.node) {
    const quote = mode.node.text.endsWith('"') ? '"' : "'";
    return [{ title, edits: [{ start: mode.node.start, end: mode.node.end, newText: `${quote}${to}${quote}` }] }];
  }
  const last = built.child('arguments')?.namedChildren.filter((c) => c.type !== 'comment').at(-1);
  if (!last) return undefined;
  const quote = /"/.test(built.text) && !/'/.test(built.text) ? '"' : "'";
  return [{ title, edits: [{ start: last.end, end: last.end, newText: `, mode=${quote}${to}${quote}` }] }];
}

interface Stepped {
  /** Where to report: the `.step(x)` call, or Lightning's `'monitor'` string. */
  call: PyNode;
  value: PyNode;
  kind: Kind | undefined;
  monitor?: boolean;
}

/** Whether a dict value holds this build: the call itself, or a name bound to it. */
function holdsBuild(a: Analysis, v: PyNode | undefined, built: PyNode): boolean {
  const e = unparen(v);
  if (e === built) return true;
  return e?.type === 'identifier' && unparen(a.scopes.valueAt(e.text, e) ?? undefined) === built;
}

/**
 * Lightning's `configure_optimizers` returns the metric by name: `{'scheduler': sched, 'monitor': 'val/loss'}` (also
 * `{'optimizer': opt, 'lr_scheduler': sched, 'monitor': ...}`). The monitor strings of the dicts in the build's function.
 */
function monitorsOf(a: Analysis, built: PyNode): PyNode[] {
  const fn = built.ancestor('function_definition');
  const out: PyNode[] = [];
  fn?.child('body')?.walk((n) => {
    if (n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type !== 'dictionary') return;
    let monitor: PyNode | undefined;
    let holds = false;
    for (const p of n.namedChildren) {
      if (p.type !== 'pair') continue;
      const key = stringValue(p.child('key'));
      if (key === 'monitor') monitor = unparen(p.child('value'));
      else if ((key === 'scheduler' || key === 'lr_scheduler') && holdsBuild(a, p.child('value'), built)) holds = true;
    }
    if (holds && monitor && stringValue(monitor) !== undefined) out.push(monitor);
  });
  return out;
}

export const HP005: Rule = {
  meta: {
    id: 'HP005',
    name: 'plateau-mode-min-on-score',
    group: 'hyperparameters',
    defaultSeverity: 'warning',
    summary: "ReduceLROnPlateau in mode='min' (its default) is stepped with a score that should rise (accuracy, AUC, F1), or mode='max' with a loss.",
    why:
      "`ReduceLROnPlateau` defaults to `mode='min'`: it lowers the learning rate when the monitored value has stopped " +
      'decreasing. Stepped with an accuracy, AUC, F1, Dice, IoU or mAP, which rise as the model improves, it sees no ' +
      'progress at all and cuts the learning rate every `patience` epochs while the model is still improving, so training ' +
      "stalls early and nothing fails. A negated loss (`-val_loss`) rises too. Build it with `mode='max'` for a score, keep `mode='min'` for a loss. Lightning's " +
      "`{'scheduler': sched, 'monitor': 'val_acc'}` names the monitored value and is read the same way.",
    wrong:
      'scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=3)\nfor epoch in range(50):\n    train_one_epoch(model, train_loader, optimizer)\n    val_acc = evaluate(model, val_loader)\n    scheduler.step(val_acc)',
    right:
      "scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode='max', factor=0.5, patience=3)\nfor epoch in range(50):\n    train_one_epoch(model, train_loader, optimizer)\n    val_acc = evaluate(model, val_loader)\n    scheduler.step(val_acc)",
    concept: 'Optimisation: learning-rate schedules driven by a validation metric',
    fixable: true,
  },
  check(ctx) {
    const a = ctx.analysis;
    if (a.callsNamed('ReduceLROnPlateau').length === 0) return;
    const byBuild = new Map<PyNode, Stepped[]>();
    for (const call of a.callsNamed('step')) {
      const recv = receiver(call);
      const args = call.child('arguments')?.namedChildren.filter((c) => c.type !== 'comment') ?? [];
      const value = keywordArg(call, 'metrics') ?? positionalArgs(call)[0];
      if (!recv || !value || args.length === 0 || hasKeywordSplat(call)) continue;
      const built = plateauBuild(a, recv);
      if (!built) continue;
      const list = byBuild.get(built) ?? [];
      list.push({ call, value, kind: kindOfValue(a, value) });
      byBuild.set(built, list);
    }
    for (const built of a.callsNamed('ReduceLROnPlateau')) {
      if (a.callee(built) !== PLATEAU) continue;
      for (const m of monitorsOf(a, built)) {
        const list = byBuild.get(built) ?? [];
        list.push({ call: m, value: m, kind: kindOfName(stringValue(m)!), monitor: true });
        byBuild.set(built, list);
      }
    }
    for (const [built, steps] of byBuild) {
      const mode = modeOf(built);
      if (!mode) continue;
      const wrong: Kind = mode.mode === 'min' ? 'score' : 'loss';
      // Every step of this scheduler must feed the mistaken kind: a mix (a score here, a loss there) stays silent.
      if (!steps.every((s) => s.kind === wrong)) continue;
      const modeText = mode.node ? `mode=${mode.node.text}` : "mode='min' (the default)";
      // One constructor edit: only the first step's finding carries it (a fix-all would apply it twice).
      const fixes = setMode(built, mode, wrong === 'score' ? 'max' : 'min');
      for (const [i, s] of steps.entries()) {
        const what = s.monitor ? `The monitored ${s.value.text}` : s.value.text;
        // `-val_loss`: dropping the minus is the other fix.
        const also = !s.monitor && negated(s.value) ? ', or drop the minus' : '';
        ctx.report({
          node: s.call,
          message:
            wrong === 'score'
              ? `${what} should rise, but this ReduceLROnPlateau has ${modeText} and lowers the learning rate when its value stops falling: it will cut the learning rate while the model improves. Build it with mode='max'${also}.`
              : `${what} should fall, but this ReduceLROnPlateau has ${modeText} and lowers the learning rate when its value stops rising: it will cut the learning rate while the model improves. Build it with mode='min'${also}.`,
          fixes: i === 0 ? fixes : undefined,
        });
      }
    }
  },
};
