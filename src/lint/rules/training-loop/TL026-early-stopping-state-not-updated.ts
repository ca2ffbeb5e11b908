import { calleeName, enclosingFunction, methodClass, positionalArgs, unparen } from '../../analysis';
import { indentOf, innermostLoop, lineStartIfAlone } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { RawFix, Rule, RuleContext } from '../../types';

// Hand-written early stopping whose bookkeeping is broken: the patience counter is never reset when the metric
// improves (it counts all bad epochs, not consecutive ones), or the best value is never updated (every epoch better
// than the initial value "improves").

/** The last segment of a best-value name: `best_loss`, `bestAcc`, `min_val_loss`, `lowest_loss`, `self.best_score`. */
const BEST = /^(best(_|[A-Z]|$)|(min|max|lowest|highest|top)_\w*(loss|acc|score|metric|f1|auc|err|dice|iou|map|ppl|perplex|bleu|val|mae|mse|r2))/i;
/** Names of bests that are not a metric value: `best_epoch`, `best_state`, `best_model`, `max_len`, ... */
const NOT_METRIC = /epoch|iter|step|state|model|weight|path|ckpt|checkpoint|param|dict|file|dir|lr|size|len|num|idx|index|count|time|delta|norm|thresh|tol|patience/i;
/** The other operand of `best - min_delta`, `val_loss + self.delta`. */
const DELTA = /delta|eps|tol|thresh|margin|improv/i;
const SAVES = new Set(['save', 'save_checkpoint', 'save_model', 'save_weights', 'save_pretrained', 'deepcopy', 'state_dict', 'checkpoint']);
const COMPARE_OPS = new Set(['<', '<=', '>', '>=']);

/** The operator token of a binary / boolean operator or an augmented assignment (`+`, `or`, `+=`). */
function opOf(n: PyNode): string | undefined {
  return n.children.find((c) => !c.named && c.type !== '(' && c.type !== ')')?.text;
}

/** `x` or `self.x`: a name this rule can follow. */
function trackable(n: PyNode | undefined): n is PyNode {
  if (n?.type === 'identifier') return true;
  return n?.type === 'attribute' && n.child('object')?.type === 'identifier' && n.child('object')!.text === 'self';
}

function lastSegment(n: PyNode): string {
  return n.type === 'attribute' ? n.child('attribute')?.text ?? '' : n.text;
}

function isBestName(n: PyNode | undefined): boolean {
  if (!trackable(n)) return false;
  const s = lastSegment(n);
  return BEST.test(s) && !NOT_METRIC.test(s);
}

function isDelta(n: PyNode | undefined): boolean {
  const x = unparen(n);
  if (!x) return false;
  if (x.type === 'integer' || x.type === 'float') return true;
  return trackable(x) && DELTA.test(lastSegment(x));
}

/** `best - min_delta` → `best` (with `stripped`); a plain operand as it is. */
function strip(n: PyNode | undefined): { e: PyNode; stripped: boolean } | undefined {
  const x = unparen(n);
  if (!x) return undefined;
  if (x.type === 'binary_operator') {
    const op = opOf(x);
    if ((op !== '+' && op !== '-') || !isDelta(x.child('right'))) return undefined;
    const l = unparen(x.child('left'));
    return l ? { e: l, stripped: true } : undefined;
  }
  return { e: x, stripped: false };
}

interface Compare {
  best: PyNode;
  cur: PyNode;
  plain: boolean;
}

/** `val_loss < best_loss`, `best_acc < acc`, `val_loss < best - min_delta`, `score > self.best_score + self.delta`. */
function parseCompare(cond: PyNode | undefined): Compare | undefined {
  const c = unparen(cond);
  if (c?.type !== 'comparison_operator') return undefined;
  const operands = c.namedChildren.filter((x) => x.type !== 'comment');
  const ops = c.children.filter((x) => !x.named);
  if (operands.length !== 2 || ops.length !== 1 || !COMPARE_OPS.has(ops[0]!.text)) return undefined;
  const a = strip(operands[0]);
  const b = strip(operands[1]);
  if (!a || !b) return undefined;
  const aBest = isBestName(a.e);
  const bBest = isBestName(b.e);
  if (aBest === bBest) return undefined;
  const [best, cur] = aBest ? [a, b] : [b, a];
  const ct = cur.e.type;
  if (!(ct === 'identifier' || ct === 'attribute' || ct === 'subscript' || ct === 'call')) return undefined;
  return { best: best.e, cur: cur.e, plain: !a.stripped && !b.stripped && trackable(cur.e) };
}

/** `best is None` (on the same best name when given). */
function isNoneTest(cond: PyNode | undefined, best?: string): boolean {
  const c = unparen(cond);
  if (c?.type !== 'comparison_operator') return false;
  const [l, r] = c.namedChildren;
  return c.children.some((x) => x.text === 'is') && r?.type === 'none' && isBestName(unparen(l)) && (best === undefined || unparen(l)!.text === best);
}

interface Clause {
  cond?: PyNode;
  body: PyNode;
}

/** The if / elif / else clauses of an if statement. */
function clausesOf(ifs: PyNode): Clause[] {
  const out: Clause[] = [];
  const first = ifs.child('consequence');
  if (!first) return [];
  out.push({ cond: ifs.child('condition'), body: first });
  for (const alt of ifs.children) {
    if (alt.type === 'elif_clause') {
      const b = alt.child('consequence');
      if (b) out.push({ cond: alt.child('condition'), body: b });
    } else if (alt.type === 'else_clause') {
      const b = alt.child('body');
      if (b) out.push({ body: b });
    }
  }
  return out;
}

/** The clause holding the comparison (`best is None or val < best` counts), when exactly one does and the others test `best is None`. */
function findCompare(ifs: PyNode): { cmp: Compare; clause: Clause; clauses: Clause[] } | undefined {
  const clauses = clausesOf(ifs);
  let found: { cmp: Compare; clause: Clause } | undefined;
  for (const cl of clauses) {
    if (!cl.cond) continue;
    let cmp = parseCompare(cl.cond);
    const c = unparen(cl.cond);
    if (!cmp && c?.type === 'boolean_operator' && opOf(c) === 'or') {
      const l = c.child('left');
      const r = c.child('right');
      if (isNoneTest(l)) cmp = parseCompare(r);
      else if (isNoneTest(r)) cmp = parseCompare(l);
      if (cmp && !isNoneTest(isNoneTest(l) ? l : r, cmp.best.text)) cmp = undefined;
    }
    if (cmp) {
      if (found) return undefined;
      found = { cmp, clause: cl };
    } else if (!isNoneTest(cl.cond)) return undefined;
  }
  return found ? { ...found, clauses } : undefined;
}

/** A name or call that says "improved": `is_val_improving`, `improved`, `scheduler.is_better(...)`, `is_best`. */
const IMPROVED = /improv|better|(^|_)best|^isBest/i;

/**
 * Whether an if's condition tests for an improvement in some other way than a plain comparison: a flag or call named
 * for it (`if not is_val_improving:`, `scheduler.is_better(v, best)`), a call given a best value
 * (`operator(metric, self.best_metric)`), a comparison with a best value, or any of these `or`-ed with `best is None`.
 */
function testsImprovement(cond: PyNode | undefined, depth = 0): boolean {
  const c = unparen(cond);
  if (!c || depth > 4) return false;
  if (c.type === 'not_operator') return testsImprovement(c.child('argument'), depth + 1);
  if (c.type === 'boolean_operator') {
    const l = c.child('left');
    const r = c.child('right');
    if (opOf(c) !== 'or') return false;
    return (isNoneTest(l) && testsImprovement(r, depth + 1)) || (isNoneTest(r) && testsImprovement(l, depth + 1));
  }
  if (c.type === 'comparison_operator') return parseCompare(c) !== undefined;
  if (c.type === 'identifier' || c.type === 'attribute') return trackable(c) && IMPROVED.test(lastSegment(c)) && !isBestName(c);
  if (c.type !== 'call') return false;
  if (IMPROVED.test(calleeName(c) ?? '')) return true;
  return positionalArgs(c).some((x) => isBestName(unparen(x)));
}

/** The `counter += 1` statements of an if that tests for an improvement (see `testsImprovement`), at most if / else. */
function improvementIncrements(ifs: PyNode): PyNode[] {
  const clauses = clausesOf(ifs);
  if (clauses.length > 2 || (clauses.length === 2 && clauses[1]!.cond) || !testsImprovement(clauses[0]?.cond)) return [];
  return clauses.flatMap((c) => increments(c.body));
}

function candidate(ifs: PyNode): boolean {
  return ifs.type === 'if_statement' && (findCompare(ifs) !== undefined || improvementIncrements(ifs).length > 0);
}

const NESTED = new Set(['function_definition', 'class_definition', 'lambda']);

interface Write {
  target: PyNode;
  stmt: PyNode;
  value?: PyNode;
  aug: boolean;
}

/** Targets an assignment binds, with their values when the shapes match (`a, b = x, 0`). */
function bindTargets(left: PyNode | undefined, right: PyNode | undefined, out: (t: PyNode, v: PyNode | undefined) => void): void {
  const l = unparen(left);
  if (!l) return;
  if (l.type === 'pattern_list' || l.type === 'tuple_pattern' || l.type === 'list_pattern' || l.type === 'tuple' || l.type === 'list') {
    const r = unparen(right);
    const rs = r && (r.type === 'expression_list' || r.type === 'tuple' || r.type === 'list') ? r.namedChildren : undefined;
    const ls = l.namedChildren;
    ls.forEach((t, i) => bindTargets(t, rs && rs.length === ls.length ? rs[i] : undefined, out));
    return;
  }
  out(l, right);
}

/** Every write of `key` (`x` or `self.x`) inside `region`; nested functions are skipped unless `intoMethods`. */
function writesOf(region: PyNode, key: string, intoMethods: boolean): Write[] {
  const out: Write[] = [];
  region.walk((n) => {
    if (n !== region && (n.type === 'class_definition' || n.type === 'lambda' || (n.type === 'function_definition' && !intoMethods))) return false;
    if (n.type === 'assignment') {
      // `a = b = 0`: the right side is itself an assignment.
      let right = n.child('right');
      while (right?.type === 'assignment') right = right.child('right');
      bindTargets(n.child('left'), right, (t, v) => {
        if (t.text === key) out.push({ target: t, stmt: n, value: v, aug: false });
      });
    } else if (n.type === 'augmented_assignment') {
      if (unparen(n.child('left'))?.text === key) out.push({ target: n.child('left')!, stmt: n, aug: true });
    } else if (n.type === 'for_statement' || n.type === 'named_expression' || n.type === 'with_item' || n.type === 'for_in_clause') {
      const t = n.type === 'named_expression' ? n.child('name') : n.type === 'with_item' ? n.child('value') : n.child('left');
      if (t && t.text.split(/[\s,()[\]]+/).includes(key)) out.push({ target: t, stmt: n, aug: true });
      else if (n.type === 'with_item' && / as /.test(n.text) && n.text.includes(key)) out.push({ target: n, stmt: n, aug: true });
    } else if (n.type === 'call' && n.child('function')?.text === 'setattr') out.push({ target: n, stmt: n, aug: true });
    return undefined;
  });
  return out;
}

/** `float("inf")`, `-np.inf`, `math.inf`, `1e9`, `0`, `None`, `sys.maxsize`: the usual starting value of a best. */
function isSentinel(v: PyNode | undefined): boolean {
  let x = unparen(v);
  if (x?.type === 'unary_operator') x = unparen(x.child('argument'));
  if (!x) return false;
  if (x.type === 'integer' || x.type === 'float' || x.type === 'none') return true;
  if (x.type === 'attribute') return /^(np|numpy|math|torch|sys)\.(inf|Inf|infty|maxsize)$/.test(x.text);
  if (x.type === 'call' && x.child('function')?.text === 'float') return /^\(\s*["'][+-]?inf(inity)?["']\s*\)$/i.test(x.child('arguments')?.text ?? '');
  return false;
}

interface Where {
  /** The loop repeating the comparison, or the method called once per epoch. */
  region: PyNode;
  loop?: PyNode;
  fn?: PyNode;
  cls?: PyNode;
}

/**
 * Whether every write of `key` (other than `except`) initialises it: before the loop in the same scope, or in
 * `__init__` for `self.x`. False (stay silent) when the name is not ours to follow (global / nonlocal, no writes).
 */
function onlyInitialised(ctx: RuleContext, w: Where, key: PyNode, except: PyNode | undefined, sentinel: boolean): boolean {
  const k = key.text;
  if (key.type === 'identifier') {
    for (const g of [...ctx.nodesOfType('global_statement'), ...ctx.nodesOfType('nonlocal_statement')]) {
      if (g.namedChildren.some((c) => c.text === k)) return false;
    }
  }
  let scope: PyNode;
  if (key.type === 'attribute') {
    if (!w.cls) return false;
    scope = w.cls;
  } else {
    if (!w.loop) return false;
    scope = w.fn?.child('body') ?? ctx.root;
  }
  const writes = writesOf(scope, k, key.type === 'attribute').filter((x) => x.stmt !== except);
  let inits = 0;
  for (const x of writes) {
    if (x.aug) return false;
    const fn = enclosingFunction(x.stmt);
    const init =
      (fn !== undefined && fn !== w.fn && fn.child('name')?.text === '__init__' && methodClass(fn) === w.cls) ||
      (fn === w.fn && w.loop !== undefined && x.stmt.end <= w.loop.start);
    if (!init) return false;
    if (sentinel && !isSentinel(x.value)) return false;
    inits++;
  }
  return inits > 0;
}

/** Direct statements of a block. */
function stmts(body: PyNode): PyNode[] {
  return body.namedChildren.filter((c) => c.type !== 'comment');
}

/** Every `counter += 1` among the direct statements of a clause (a clause may count several: LR and stop patience). */
function increments(body: PyNode): PyNode[] {
  const out: PyNode[] = [];
  for (const s of stmts(body)) {
    const e = s.type === 'expression_statement' ? s.namedChildren[0] : undefined;
    if (e?.type !== 'augmented_assignment' || opOf(e) !== '+=') continue;
    const l = unparen(e.child('left'));
    if (trackable(l) && e.child('right')?.text === '1') out.push(e);
  }
  return out;
}

/** The first `counter += 1` among the direct statements of a clause. */
function increment(body: PyNode): PyNode | undefined {
  return increments(body)[0];
}

/** A clause that looks like "improved": it saves, keeps a best-something, or resets something to 0, and counts nothing. */
function improves(body: PyNode): boolean {
  let seen = false;
  let counts = false;
  body.walk((n) => {
    if (NESTED.has(n.type)) return false;
    if (n.type === 'augmented_assignment') counts = true;
    if (n.type === 'call' && SAVES.has(calleeName(n) ?? '')) seen = true;
    if (n.type === 'assignment') {
      const l = unparen(n.child('left'));
      if (l && trackable(l) && /best/i.test(lastSegment(l))) seen = true;
      if (n.child('right')?.text === '0') seen = true;
    }
    return undefined;
  });
  return seen && !counts;
}

/** The counter is compared with a patience somewhere in the region (`counter >= patience`, `while wait < patience`). */
function comparedIn(region: PyNode, key: string): boolean {
  let hit = false;
  region.walk((n) => {
    if (hit || (n !== region && NESTED.has(n.type))) return false;
    if (n.type === 'comparison_operator' && n.namedChildren.length === 2 && n.namedChildren.some((c) => unparen(c)?.text === key)) {
      const op = n.children.find((c) => !c.named)?.text;
      if (op && ['<', '<=', '>', '>=', '=='].includes(op)) hit = true;
    }
    return undefined;
  });
  return hit;
}

/** A line inserted as the first statement of `body`, when that statement starts its line. */
function insertFirst(body: PyNode, line: string, title: string): RawFix[] | undefined {
  const first = stmts(body)[0];
  const at = first && body.type === 'block' ? lineStartIfAlone(first) : undefined;
  if (at === undefined) return undefined;
  return [{ title, edits: [{ start: at, end: at, newText: `${indentOf(first!)}${line}\n` }] }];
}

/** Where the comparison repeats: its loop, or for a `self.best` a method called once per epoch. */
function whereOf(ifs: PyNode, selfState: boolean): Where | undefined {
  const loop = innermostLoop(ifs);
  const fn = enclosingFunction(ifs);
  const cls = methodClass(fn);
  if (loop) return { region: loop, loop, fn, cls };
  if (fn && cls && selfState && fn.child('name')?.text !== '__init__') return { region: fn, fn, cls };
  return undefined;
}

/** A comparison with a best value: the best never updated, or a counter the other clauses count never reset. */
function checkCompare(ifs: PyNode, found: NonNullable<ReturnType<typeof findCompare>>, ctx: RuleContext, reported: Set<PyNode>): void {
  const { cmp, clause, clauses } = found;
  const w = whereOf(ifs, cmp.best.type === 'attribute');
  if (!w || (cmp.best.type === 'attribute' && !w.cls)) return;

  // The improvement branch: the comparison's own clause or, for `if val > best: counter += 1 else: ...`, the else.
  const others = clauses.filter((c) => c !== clause && !isNoneTest(c.cond));
  let better: Clause | undefined;
  if (improves(clause.body)) better = clause;
  else if (increment(clause.body) && others.length === 1 && !others[0]!.cond && improves(others[0]!.body)) better = others[0];
  if (!better) return;
  const best = cmp.best.text;
  const cur = cmp.cur.text;

  // 1. The best value is never updated.
  if (onlyInitialised(ctx, w, cmp.best, undefined, true)) {
    ctx.report({
      node: unparen(clause.cond) ?? ifs,
      message: `${best} is never updated when ${cur} improves: every epoch better than the initial value counts as an improvement, so the saved "best" model is just the latest one. Set ${best} = ${cur} in this branch.`,
      fixes: cmp.plain ? insertFirst(better.body, `${best} = ${cur}`, `Set ${best} = ${cur}`) : undefined,
    });
  }

  // 2. A patience counter is never reset: each one the other clauses count (one may be reset elsewhere, by a
  // plateau helper, while the early-stopping one is not).
  for (const inc of clauses.filter((c) => c !== better).flatMap((c) => increments(c.body))) {
    reported.add(inc);
    const counter = unparen(inc.child('left'))!;
    if (counter.type === 'attribute' && !w.cls) continue;
    if (isBestName(counter) || !comparedIn(w.region, counter.text)) continue;
    if (!onlyInitialised(ctx, w, counter, inc, false)) continue;
    const c = counter.text;
    ctx.report({
      node: inc,
      message: `${c} counts every epoch without improvement since the start, not in a row: it is never set back to 0 when ${cur} improves, so training stops too early. Reset it (${c} = 0) where ${best} is updated.`,
      fixes: insertFirst(better.body, `${c} = 0`, `Reset ${c} = 0 on improvement`),
    });
  }
}

/** A flag that ends training when set: `stop = True`, `self.early_stop = True`, `control.should_training_stop = True`. */
const STOP_FLAG = /stop|early|finish|done|terminat|exit|halt/i;

/** A block that ends training: `break`, `return`, `raise`, `sys.exit()`, or setting a stop flag to True. */
function stopsTraining(block: PyNode): boolean {
  let hit = false;
  block.walk((n) => {
    if (hit || NESTED.has(n.type)) return false;
    if (n.type === 'break_statement' || n.type === 'return_statement' || n.type === 'raise_statement') hit = true;
    else if (n.type === 'call' && /^(sys\.)?exit$/.test(n.child('function')?.text ?? '')) hit = true;
    else if (n.type === 'assignment' && n.child('right')?.text === 'True') {
      const l = unparen(n.child('left'));
      if (l && (l.type === 'identifier' || l.type === 'attribute') && STOP_FLAG.test(lastSegment(l))) hit = true;
    }
    return undefined;
  });
  return hit;
}

/** Some `if` of the region compares the counter (`counter >= patience`) and then ends training. */
function stopsOn(region: PyNode, key: string): boolean {
  let hit = false;
  region.walk((n) => {
    if (hit || (n !== region && NESTED.has(n.type))) return false;
    if (n.type === 'if_statement' && comparedIn(n.child('condition') ?? n, key) && stopsTraining(n.child('consequence') ?? n)) hit = true;
    return undefined;
  });
  return hit;
}

/**
 * A counter counted when a flag or call says "no improvement" (`if not is_improving: wait += 1`, `if best is None or
 * better(m, self.best): ... else: self.interval += 1`), compared with a patience to stop training and never set back
 * to 0: it counts all bad epochs since the start.
 */
function checkIncrement(ifs: PyNode, inc: PyNode, ctx: RuleContext): void {
  const counter = unparen(inc.child('left'))!;
  const w = whereOf(ifs, counter.type === 'attribute');
  if (!w || (counter.type === 'attribute' && !w.cls) || isBestName(counter)) return;
  if (!stopsOn(w.region, counter.text) || !onlyInitialised(ctx, w, counter, inc, false)) return;
  const c = counter.text;
  ctx.report({
    node: inc,
    message: `${c} counts every check without improvement since the start, not in a row: it is never set back to 0 when the metric improves, so training stops too early. Reset it (${c} = 0) on improvement.`,
  });
}

export const TL026: Rule = {
  meta: {
    id: 'TL026',
    name: 'early-stopping-state-not-updated',
    group: 'training-loop',
    defaultSeverity: 'warning',
    summary:
      'Hand-written early stopping that never resets its patience counter on improvement, or never updates the best value: training stops at the wrong time and the "best" checkpoint is not the best.',
    why:
      'Early stopping keeps two pieces of state: the best value so far and the number of epochs since it last improved. ' +
      'If the counter is not set back to 0 when the metric improves, it counts every bad epoch since the start, not ' +
      'consecutive ones, so training stops far too early. If `best_loss` is not updated when `val_loss` beats it, every ' +
      'epoch better than the initial value (`float("inf")`) counts as an improvement: the saved "best" model is just the ' +
      'latest one and the patience never runs out. Nothing fails. In the improvement branch, set `best_loss = val_loss` and `counter = 0`.',
    wrong:
      'import copy\nbest_loss, counter, patience = float("inf"), 0, 5\nfor epoch in range(100):\n    val_loss = train_and_validate(model)\n    if val_loss < best_loss:\n        best_loss = val_loss\n        best_state = copy.deepcopy(model.state_dict())\n    else:\n        counter += 1\n        if counter >= patience:\n            break',
    right:
      'import copy\nbest_loss, counter, patience = float("inf"), 0, 5\nfor epoch in range(100):\n    val_loss = train_and_validate(model)\n    if val_loss < best_loss:\n        best_loss = val_loss\n        counter = 0\n        best_state = copy.deepcopy(model.state_dict())\n    else:\n        counter += 1\n        if counter >= patience:\n            break',
    concept: 'Early stopping: best value and patience counter',
    fixable: true,
  },
  nodeTypes: ['if_statement'],
  candidate: { reads: [], test: (n) => candidate(n) },
  visit(ifs, ctx) {
    const reported = new Set<PyNode>();
    const found = findCompare(ifs);
    if (found) checkCompare(ifs, found, ctx, reported);
    for (const inc of improvementIncrements(ifs)) if (!reported.has(inc)) checkIncrement(ifs, inc, ctx);
  },
};
