import { calleeName, keywordArg, peelConversions, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { TEST_DATA, TEST_METRIC, lastName, operatorOf, receiverValue } from '../../analysis/order';
import { calledDefinition, reachWithMethods, textAtCaller } from '../../analysis/evaluation';
import { innermostLoop, isBackward, isOptimizerStep } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { Rule, RuleContext } from '../../types';
import { readAfter } from './EV016-metric-from-last-batch';
import { listItems } from '../../analysis/listBuilds';

const BEST = /best|lowest|highest|^min_|^max_|_min$|_max$/i;
const SELECTS = /^(save|save_checkpoint|save_model|save_pretrained|save_weights|save_state|deepcopy|state_dict|copy_state)$/;
const STOP_STATE = /^(best_?(model|state|weights|params|epoch|ckpt|checkpoint|state_dict)\w*|patience\w*|\w*counter|wait|no_improve\w*|bad_epochs?|epochs_no_improve|trigger_times)$/i;

/**
 * The enclosing function evaluates on test data only (a loop over `test_loader` / `testloader`, no validation loop).
 * At module level: the outermost loop around the node (the epoch loop of a script), which is its own statement.
 */
function inTestFunction(a: Analysis, n: PyNode): boolean {
  const fn = n.ancestor('function_definition');
  const scope = fn ?? outermostLoop(n);
  // A loader parameter reads as what every call site hands it (`def evaluate(test_loader)` given `val_loader`).
  return !!scope && loopsOverTestOnly(scope, fn ? (right) => textAtCaller(a, right, fn, undefined, splitNamed) : undefined);
}

const isTestWord = (word: string) => TEST_DATA.test(word) || /^test(ing)?loader$/i.test(word) || PREFIXED_TEST.test(word);
const isValWord = (word: string) => HELD_OUT_VAL.test(word) || PREFIXED_VAL.test(word);

/** The splits a loader expression names (`test`, `val`, `train`, joined), else undefined when it names none. */
function splitNamed(text: string): string | undefined {
  const words = text.split(/[^\w]+/);
  const named = [words.some(isTestWord) && 'test', words.some(isValWord) && 'val', words.some((w) => /train/i.test(w)) && 'train'].filter(Boolean);
  return named.length > 0 ? named.join('+') : undefined;
}

/**
 * Some loop of the node goes over test data (`test_loader`, `cifar100_test_loader`) and none over validation data.
 * `textOf` reads a loop's iterable (in a caller's terms); its text by default.
 */
function loopsOverTestOnly(scope: PyNode, textOf: (right: PyNode) => string = (right) => right.text): boolean {
  let test = false;
  let val = false;
  scope.walk((x) => {
    if (x.type === 'for_statement') {
      const right = x.child('right');
      const it = right ? textOf(right) : '';
      for (const word of it.split(/[^\w]+/)) {
        if (isTestWord(word)) test = true;
        if (isValWord(word)) val = true;
      }
    }
  });
  return test && !val;
}

const HELD_OUT_VAL = /^(val|valid|validation|dev)_?(loader|dataloader|dl|data|dataset|set|ds)?$/i;
/** A held-out loader named after its dataset: `cifar100_test_loader`, `mnist_val_data` (the container suffix required). */
const PREFIXED_TEST = /^\w+_test(ing)?_?(loader|dataloader|data_loader|dl|iter|iterator|data|dataset|set|batches|ds|gen|generator)$/i;
const PREFIXED_VAL = /^\w+_(val|valid|validation|dev)_?(loader|dataloader|data_loader|dl|iter|iterator|data|dataset|set|batches|ds|gen|generator)$/i;

const testOnlyCache = new WeakMap<Analysis, Map<PyNode, boolean>>();
/**
 * `acc = eval_training(epoch)`: a call of the file's function (or method) that loops over test data and no validation
 * data and trains nothing, so what it returns is a test metric. A loader it is handed counts by the argument's name:
 * `evaluation(val_loader, model)` of `def evaluation(test_loader, model)` evaluates on validation data.
 */
function evaluatesTestOnly(a: Analysis, call: PyNode | undefined): boolean {
  if (call?.type !== 'call') return false;
  const def = calledDefinition(a, call);
  if (!def) return false;
  let m = testOnlyCache.get(a);
  if (!m) testOnlyCache.set(a, (m = new Map()));
  let r = m.get(def);
  if (r === undefined) {
    const body = def.child('body');
    r = !!body && loopsOverTestOnly(body) && !reachWithMethods(a, body, 1).some((c) => isBackward(c) || isOptimizerStep(c, a));
    m.set(def, r);
  }
  const body = def.child('body');
  return r && !!body && loopsOverTestOnly(body, (right) => textAtCaller(a, right, def, call, splitNamed));
}

/** The outermost for/while loop around a module-level node (undefined inside functions and classes). */
function outermostLoop(n: PyNode): PyNode | undefined {
  let loop: PyNode | undefined;
  for (let p = n.parent; p; p = p.parent) {
    if (p.type === 'function_definition' || p.type === 'class_definition' || p.type === 'lambda') return undefined;
    if (p.type === 'for_statement' || p.type === 'while_statement') loop = p;
  }
  return loop;
}

/**
 * `acc = correct / len(test_loader.dataset)`: a value computed from test data and from no validation data. A keyword's
 * name is the callee's parameter, not data (`evaluate(test_loader=val_loader)`).
 */
function mentionsTestData(value: PyNode | undefined): boolean {
  let test = false;
  let val = false;
  value?.walk((x) => {
    if (x.type !== 'identifier' || (x.parent?.type === 'keyword_argument' && x.parent.child('name') === x)) return;
    if (TEST_DATA.test(x.text) || /^test(ing)?loader$/i.test(x.text)) test = true;
    if (HELD_OUT_VAL.test(x.text) || PREFIXED_VAL.test(x.text)) val = true;
  });
  return test && !val;
}

/**
 * `acc = correct / len(test_loader.dataset)` inside `def evaluate(test_loader, ...)` whose every call site hands it
 * something else by name (`val_loader`): read in the callers' terms, the value names no test data.
 */
function valueAtCallers(a: Analysis, value: PyNode): boolean {
  const fn = value.ancestor('function_definition');
  if (!fn) return false;
  const text = textAtCaller(a, value, fn, undefined, splitNamed);
  if (text === value.text) return false;
  const words = text.split(/[^\w]+/);
  return !words.some(isTestWord) || words.some((w) => HELD_OUT_VAL.test(w));
}

/**
 * Test data: `test_loader`, `testloader`, `X_test`, or a test-named holder built from test data (`self.test_d` set to
 * `test_data.loader(...)`, one level).
 */
function isTestData(a: Analysis, v: PyNode | undefined): boolean {
  const name = v && (v.type === 'identifier' || v.type === 'attribute') ? lastName(v) : '';
  if (TEST_DATA.test(name) || /^test(ing)?loader$/i.test(name)) return true;
  if (!/^test/i.test(name) || TEST_METRIC.test(name)) return false;
  const value = receiverValue(a, v!);
  return !!value && mentionsTestData(value);
}

/** `evaluate(model, test_loader)`: a call that is handed the test data. */
function computedOnTest(a: Analysis, e: PyNode | undefined): boolean {
  if (e?.type !== 'call') return false;
  return (e.child('arguments')?.namedChildren ?? []).some((x) => isTestData(a, unparen(x.type === 'keyword_argument' ? x.child('value') : x)));
}

/** `evaluate(model, test_loader)` handed no validation or training data: each element it returns is a test metric. */
function computedOnTestOnly(a: Analysis, e: PyNode | undefined): boolean {
  if (!computedOnTest(a, e)) return false;
  return !(e!.child('arguments')?.namedChildren ?? []).some((x) => {
    const v = unparen(x.type === 'keyword_argument' ? x.child('value') : x);
    const name = v && (v.type === 'identifier' || v.type === 'attribute') ? lastName(v) : '';
    return HELD_OUT_VAL.test(name) || /train/i.test(name);
  });
}

/** Predictions or targets of the test split: `test_pred`, `test_outputs`, `test_labels`, `y_test_pred`. */
const TEST_OUTPUTS = /^(test|testing)_?(preds?|predictions?|predicted|outputs?|out|logits|probs?|probas?|scores|labels|targets|gts?|truths?|true|y|y_?(hat|pred|true))$|^(y|Y)_?(test)_?(pred|hat|true|prob|proba|score)s?$|^(y|Y)_?(pred|hat|prob|proba)_?test$/;

/**
 * Whether a value holds test data or what the model gave on it: a test name (`y_test`, `test_pred`), a field of one
 * (`test_dataset.labels`, `test_loader.dataset.targets`), or a name bound to what a call handed test data and nothing
 * else returns (`test_loss, preds = trainer.test(test_dataset)`, then `preds`).
 */
function holdsTestData(a: Analysis, v: PyNode | undefined): boolean {
  const e = peelCasts(unparen(v));
  let root = e;
  while (root?.type === 'attribute' || root?.type === 'subscript') root = root.type === 'attribute' ? root.child('object') : root.child('value');
  for (const x of [e, root]) {
    if (x?.type !== 'identifier' && x?.type !== 'attribute') continue;
    const name = lastName(x);
    if (TEST_DATA.test(name) || /^test(ing)?loader$/i.test(name) || TEST_OUTPUTS.test(name)) return true;
  }
  if (e?.type !== 'identifier') return false;
  const value = unparen(a.scopes.valueAt(e.text, e) ?? undefined);
  if (value) return computedOnTestOnly(a, value) || evaluatesTestOnly(a, value);
  const element = a.scopes.elementAt(e.text, e);
  return !!element && (computedOnTestOnly(a, unparen(element.source)) || evaluatesTestOnly(a, unparen(element.source)));
}

/** Calls that do not compute a metric from the data they are given. */
const NOT_METRIC = /^(len|range|enumerate|print|str|repr|format|type|isinstance|zip|list|tuple|dict|set|sorted|open|join|append)$/;

/**
 * `test_pearson = metrics.pearson(preds, test_dataset.labels)`, `f1_score(y_test, y_pred)` with `y_pred` from the test
 * inputs: a metric call whose arguments hold test data or test predictions, and none validation or training data.
 */
function metricOfTestOutputs(a: Analysis, expr: PyNode | undefined): boolean {
  // `pearsonr(x, y)[0]`, `spearmanr(x, y).correlation`: a field of the result
  let value = expr;
  if (value?.type === 'subscript' && /^-?\d+$/.test(value.child('subscript')?.text ?? '')) value = unparen(value.child('value'));
  else if (value?.type === 'attribute' && value.child('object')?.type === 'call') value = value.child('object');
  if (value?.type !== 'call' || NOT_METRIC.test(calleeName(value) ?? '')) return false;
  const args = (value.child('arguments')?.namedChildren ?? []).map((x) => unparen(x.type === 'keyword_argument' ? x.child('value') : x));
  if (args.length === 0) return false;
  const heldOrTrain = (x: PyNode | undefined) => {
    let found = false;
    x?.walk((t) => void (t.type === 'identifier' && (HELD_OUT_VAL.test(t.text) || /^(val|valid|dev)_|train/i.test(t.text)) && (found = true)));
    return found;
  };
  return !args.some(heldOrTrain) && args.some((x) => holdsTestData(a, x));
}

/** A test metric with a prefix: `epoch_test_loss`, `avg_test_acc`, `mean_test_auc` (not `epoch_val_loss`, `train_test_loss`). */
const PREFIXED_TEST_METRIC = /^([a-z0-9]+_)+test(ing)?_(loss|acc|accuracy|score|metric|f1|auc|err|error|perf|ppl|perplexity|mae|mse|rmse|r2|rank1|map|mrr|ndcg|recall|precision)\w*$/i;
const NOT_TEST_PREFIX = /(^|_)(val|valid|validation|dev|train|training)(_|$)/i;

function isTestMetricName(name: string): boolean {
  if (TEST_METRIC.test(name)) return true;
  if (!PREFIXED_TEST_METRIC.test(name)) return false;
  return !NOT_TEST_PREFIX.test(name.slice(0, name.search(/_test/i)));
}

/** Validation or training data by a word of its name: `val_loader`, `valloader`, `train_set`, `x_train`. */
const VAL_OR_TRAIN_WORD = /^(val|valid|validation|dev|train|training)(_?(loader|dataloader|data_loader|dl|iter|data|dataset|set|ds|x|y|gen|generator))?$|^(x|y|X|Y)_?(val|valid|train)$|^\w+_(val|valid|validation|dev|train|training)_?(loader|dataloader|data_loader|dl|data|dataset|set|ds)$/i;

/** A value that names validation or training data, read from a word of its text. */
function namesValOrTrain(text: string): boolean {
  return text.split(/[^\w]+/).some((w) => VAL_OR_TRAIN_WORD.test(w) || isValWord(w));
}

/** Operations that keep what a number measures: `test_loss / n`, `float(test_loss)`, `np.mean(test_losses)`. */
const KEEPS_MEASURE = /^(float|round|abs|mean|nanmean|average|sum|item|tolist)$/;

/**
 * `epoch_test_loss = test_loss / dataset_sizes['test']`, `avg = np.mean(test_losses)`: arithmetic over a test-named
 * metric and over no validation or training number.
 */
function derivedFromTestMetric(value: PyNode | undefined): boolean {
  const v = unparen(value);
  if (v?.type !== 'binary_operator' && !(v?.type === 'call' && KEEPS_MEASURE.test(calleeName(v) ?? ''))) return false;
  let test = false;
  let other = false;
  v.walk((x) => {
    if (x.type !== 'identifier' || x.parent?.type === 'keyword_argument') return;
    if (x.parent?.type === 'attribute' && x.parent.child('attribute') === x) return;
    if (isTestMetricName(x.text)) test = true;
    else if (namesValOrTrain(x.text) || /^(val|valid|dev|train)_/i.test(x.text)) other = true;
  });
  return test && !other;
}

/** Test functions by name: `test`, `test_model`, `test_epoch`, `run_test` (a pytest `test_forward` is not one). */
const TEST_FUNCTION = /^_*test(_(model|epoch|net|network|loop|one_epoch|all|step))?$|^_*(run|eval|evaluate|do)_test$/;

const testFunctionCache = new WeakMap<Analysis, Map<PyNode, boolean>>();
/**
 * `rank1 = test(model, queryloader, galleryloader)`: a call of the file's test function that trains nothing, loops over
 * no validation data, and is handed no validation or training data (by name, or by what a name is bound to).
 */
function callsTestFunction(a: Analysis, call: PyNode | undefined): boolean {
  if (call?.type !== 'call' || !TEST_FUNCTION.test(calleeName(call) ?? '')) return false;
  const def = calledDefinition(a, call);
  const body = def?.child('body');
  if (!def || !body) return false;
  let m = testFunctionCache.get(a);
  if (!m) testFunctionCache.set(a, (m = new Map()));
  let evaluates = m.get(def);
  if (evaluates === undefined) {
    let valLoop = false;
    body.walk((x) => void (x.type === 'for_statement' && namesValOrTrain(x.child('right')?.text ?? '') && (valLoop = true)));
    evaluates = !valLoop && !reachWithMethods(a, body, 1).some((c) => isBackward(c) || isOptimizerStep(c, a));
    m.set(def, evaluates);
  }
  if (!evaluates) return false;
  return !(call.child('arguments')?.namedChildren ?? []).some((x) => {
    const v = unparen(x.type === 'keyword_argument' ? x.child('value') : x);
    if (!v || namesValOrTrain(v.text)) return !!v;
    const bound = v.type === 'identifier' ? a.scopes.valueAt(v.text, v) : undefined;
    return !!bound && namesValOrTrain(bound.text);
  });
}

/** `float(loss)`, `loss.item()`, `acc.cpu().numpy()` -> the metric itself. */
const peelCasts = (n: PyNode | undefined) => peelConversions(n, /^(float|int|round)$/, /^(item|float|double|cpu|numpy|detach|tolist)$/);

/** A name that says validation: `val_loss`, `valid_acc`, `dev_f1` (what the file's `test(vx, vy)` returns into it). */
const VAL_METRIC_NAME = /^(val|valid|validation|dev)_?(loss|acc|accuracy|score|metric|f1|auc|err|error|ppl|perplexity|mae|mse|rmse)\w*$/i;

/**
 * `results['test'][epoch]`, `history["test_acc"][-1]`, `metrics['test']['f1']`: a read by string key from a container
 * of per-split scores, one key naming the test split or a test metric and none another split.
 */
function testKeyed(e: PyNode | undefined): boolean {
  let test = false;
  for (let x = e; x?.type === 'subscript'; x = unparen(x.child('value'))) {
    const key = /^[rbu]*['"](\w+)['"]$/.exec(x.child('subscript')?.text ?? '')?.[1];
    if (!key) continue;
    if (/^(test|testing)$/i.test(key) || isTestMetricName(key)) test = true;
    else if (/^(val|valid|validation|dev|train|training)$|^(val|valid|dev|train)_/i.test(key)) return false;
  }
  return test;
}

/** Meter fields that hold the running value: `top1.avg`, `acc_meter.mean`. */
const METER_FIELD = /^(avg|average|mean|value|global_avg|median)$/;
const METER_NAME = /^(top\d|prec\d?|acc\w*|\w*_acc|accuracy|loss(es)?|\w*_loss|\w*meter\w*|f1|auc|map|rank\d?)$/i;

/** `top1.avg` in a function that evaluates on test data: the meter of a test metric. */
function testMeter(a: Analysis, e: PyNode, inTestFn: boolean): boolean {
  if (!inTestFn || e.type !== 'attribute' || !METER_FIELD.test(e.child('attribute')?.text ?? '')) return false;
  const obj = unparen(e.child('object'));
  if (obj?.type !== 'identifier') return false;
  if (METER_NAME.test(obj.text)) return true;
  const v = unparen(a.scopes.valueAt(obj.text, obj) ?? undefined);
  return v?.type === 'call' && /Meter$/.test(calleeName(v) ?? '');
}

function isTestMetric(a: Analysis, n: PyNode | undefined, inTestFn: boolean, depth = 0): boolean {
  const e = peelCasts(n);
  if (!e) return false;
  const name = e.type === 'identifier' || e.type === 'attribute' ? lastName(e) : '';
  if (isTestMetricName(name) || computedOnTest(a, e) || testKeyed(e) || testMeter(a, e, inTestFn)) return true;
  // `val_loss = self.test(vx, vy)`: the file's `test` routine given validation data under other names.
  const valNamed = VAL_METRIC_NAME.test(name);
  if (!valNamed && callsTestFunction(a, e)) return true;
  const value = e.type === 'identifier' ? unparen(a.scopes.valueAt(e.text, e) ?? undefined) : undefined;
  if (depth < 4 && copiesTestMetric(a, e, value, inTestFn, depth)) return true;
  if (computedOnTest(a, value) || evaluatesTestOnly(a, value) || metricOfTestOutputs(a, value) || testKeyed(value)) return true;
  if ((!valNamed && callsTestFunction(a, value)) || derivedFromTestMetric(value)) return true;
  // `eval_loss, eval_acc = evaluate(model, test_loader)`: an element of what a call on test data returns.
  const element = e.type === 'identifier' && !value ? a.scopes.elementAt(e.text, e) : undefined;
  const source = unparen(element?.source);
  if (element && (computedOnTestOnly(a, source) || evaluatesTestOnly(a, source) || callsTestFunction(a, source))) return true;
  if (e.type !== 'identifier' || !/^(acc|accuracy|loss|score|f1|auc|top1|correct)$/i.test(e.text)) return false;
  return inTestFn || (mentionsTestData(value) && !valueAtCallers(a, value!));
}

/**
 * `current = avg_score` with `[avg_score, f1] = results` and `loss, results = test(test_loader)`: a plain copy of a name,
 * an element unpacked from a name, or one read by a literal key (`results[0]`, `scores["acc"]`), that is itself a test
 * metric (or a list of them).
 */
function copiesTestMetric(a: Analysis, e: PyNode, value: PyNode | undefined, inTestFn: boolean, depth: number): boolean {
  if (e.type !== 'identifier') return false;
  if (value?.type === 'subscript' && /^(-?\d+|[rbu]*['"]\w+['"])$/.test(value.child('subscript')?.text ?? '')) value = unparen(value.child('value'));
  if (value) return value.type === 'identifier' && value.text !== e.text && isTestMetric(a, value, inTestFn, depth + 1);
  const source = unparen(a.scopes.elementAt(e.text, e)?.source);
  return source?.type === 'identifier' && source.text !== e.text && isTestMetric(a, source, inTestFn, depth + 1);
}

function selects(block: PyNode | undefined): boolean {
  if (!block) return false;
  let hit = false;
  block.walk((x) => {
    if (hit) return false;
    if (x.type === 'break_statement') hit = true;
    if (x.type === 'call' && SELECTS.test(calleeName(x) ?? '')) hit = true;
    if ((x.type === 'assignment' || x.type === 'augmented_assignment') && STOP_STATE.test(lastName(x.child('left')))) hit = true;
  });
  return hit;
}

/** The comparisons a condition joins with and / or: `epoch > warm and best_acc < acc` -> both. */
function comparisonsOf(cond: PyNode | undefined): PyNode[] {
  const c = unparen(cond);
  if (c?.type === 'comparison_operator') return [c];
  if (c?.type !== 'boolean_operator') return [];
  return [...comparisonsOf(c.child('left')), ...comparisonsOf(c.child('right'))];
}

/** An ordering comparison with a running best on one side: `acc > best_acc`. */
function bestComparison(cond: PyNode): boolean {
  if (!['<', '>', '<=', '>='].includes(operatorOf(cond) ?? '')) return false;
  const [l, r] = cond.namedChildren;
  return BEST.test(lastName(unparen(l))) || BEST.test(lastName(unparen(r))) || !!runningBestOf(cond);
}

/**
 * `if epoch_err <= top_err: ... else: top_err = epoch_err`: the side of the comparison a branch of its `if` sets to the
 * other side is a running best, whatever its name.
 */
function runningBestOf(cond: PyNode): PyNode | undefined {
  let s: PyNode | null = cond.parent;
  while (s && s.type !== 'if_statement' && (s.type === 'boolean_operator' || s.type === 'parenthesized_expression')) s = s.parent;
  if (s?.type !== 'if_statement') return undefined;
  const [l, r] = cond.namedChildren.map((x) => unparen(x));
  if (!l || !r) return undefined;
  const branches = [s.child('consequence'), ...s.childrenOf('alternative').filter((c) => c.type === 'else_clause').map((c) => c.child('body'))];
  for (const b of branches) {
    for (const x of b?.namedChildren ?? []) {
      const asg = x.type === 'expression_statement' ? x.namedChildren[0] : undefined;
      if (asg?.type !== 'assignment') continue;
      const left = asg.child('left')?.text;
      const right = peelCasts(asg.child('right'))?.text;
      if (left === l.text && right === peelCasts(r)?.text) return l;
      if (left === r.text && right === peelCasts(l)?.text) return r;
    }
  }
  return undefined;
}

function checkIf(s: PyNode, ctx: RuleContext): void {
  for (const cond of comparisonsOf(s.child('condition'))) if (bestComparison(cond) && checkComparison(s, cond, ctx)) return;
  // `is_best = rank1 > best_rank1` then `if is_best:`
  const flag = unparen(s.child('condition'));
  if (flag?.type !== 'identifier' || !FLAG.test(flag.text)) return;
  for (const cond of flagComparisons(ctx.analysis, flag)) if (checkComparison(s, cond, ctx, flag)) return;
}

/** Names of a flag that says the latest score is the best: `is_best`, `improved`, `is_better`. */
const FLAG = /best|improv|better/i;

/** The best comparisons a flag is bound to: `is_best = acc > best_acc` (a name read by an `if` or a save call). */
function flagComparisons(a: Analysis, flag: PyNode): PyNode[] {
  const value = a.scopes.valueAt(flag.text, flag);
  return value ? comparisonsOf(value).filter(bestComparison) : [];
}

/**
 * `save_checkpoint(state, is_best)`: a save call handed a flag bound to a comparison of a test metric with its best
 * (the ImageNet example's shape); true when reported.
 */
function checkSavedFlag(call: PyNode, ctx: RuleContext): boolean {
  for (const arg of positionalArgs(call)) {
    if (arg.type !== 'identifier' || !FLAG.test(arg.text) || testedByIf(ctx.analysis, arg)) continue;
    for (const cond of flagComparisons(ctx.analysis, arg)) {
      const metric = testMetricOf(ctx.analysis, cond, inTestFunction(ctx.analysis, call));
      if (!metric) continue;
      ctx.report({
        node: arg,
        message: `The checkpoint kept as best is chosen on a test-set metric (${metric.text}): the test score becomes optimistic. Select on a validation split and touch the test set once at the end.`,
      });
      return true;
    }
  }
  return false;
}

/** A flag some `if` of the file tests (`if is_best:`): reported there, once. */
function testedByIf(a: Analysis, flag: PyNode): boolean {
  return a.identifiersNamed(flag.text).some((x) => x.parent?.type === 'if_statement' && x.parent.child('condition') === x);
}

/** The side of a best comparison that is a test metric (`rank1` of `rank1 > best_rank1`), else undefined. */
function testMetricOf(a: Analysis, cond: PyNode, testFn: boolean): PyNode | undefined {
  const [l, r] = cond.namedChildren;
  const best = runningBestOf(cond);
  const isBest = (x: PyNode | undefined) => BEST.test(lastName(unparen(x))) || (!!best && unparen(x) === best);
  if (isTestMetric(a, l, testFn) && isBest(r)) return l;
  if (isTestMetric(a, r, testFn) && isBest(l)) return r;
  return undefined;
}

/**
 * Reports the `if` when the comparison is of a test metric with its best and the branch selects; true when reported.
 * `at`: the node to report (the flag an `if` tests, when the comparison is bound to it elsewhere).
 */
function checkComparison(s: PyNode, cond: PyNode, ctx: RuleContext, at: PyNode = cond): boolean {
  const [l, r] = cond.namedChildren;
  const metric = testMetricOf(ctx.analysis, cond, inTestFunction(ctx.analysis, s));
  if (!metric) return false;
  const alt = s.childrenOf('alternative').find((c) => c.type === 'else_clause');
  if (selects(s.child('consequence')) || selects(alt)) {
    ctx.report({
      node: at,
      message: `Model selection / early stopping on a test-set metric (${metric.text}): the test score becomes optimistic. Select on a validation split and touch the test set once at the end.`,
    });
    return true;
  }
  // `if acc > best: best = acc`, with `best` reported after the epoch loop.
  const best = metric === l ? unparen(r) : unparen(l);
  const keeps = s.child('consequence')?.namedChildren.some((x) => {
    const asg = x.type === 'expression_statement' ? x.namedChildren[0] : undefined;
    return asg?.type === 'assignment' && asg.child('left')?.text === best?.text && peelCasts(asg.child('right'))?.text === peelCasts(metric)?.text;
  });
  return best?.type === 'identifier' && !!keeps && reportBestOfEpochs(ctx, s, at, best.text, metric);
}

/** `best = max(best, acc)` / `best = min(loss, best)`: the running best and the value it takes in. */
function runningBest(asg: PyNode): { best: string; value: PyNode } | undefined {
  const left = asg.child('left');
  const right = unparen(asg.child('right'));
  if (left?.type !== 'identifier' || right?.type !== 'call') return undefined;
  const f = right.child('function');
  if (f?.type !== 'identifier' || !/^(max|min)$/.test(f.text)) return undefined;
  const args = right.child('arguments')?.namedChildren ?? [];
  if (args.length !== 2 || args.some((x) => x.type === 'keyword_argument' || x.type === 'list_splat')) return undefined;
  const i = args.findIndex((x) => x.text === left.text);
  return i < 0 ? undefined : { best: left.text, value: args[1 - i]! };
}

/**
 * The running best of a test metric, kept over a loop that trains (the epoch loop) and read after it (written, returned,
 * printed): the result reported is the best test score over the epochs, an epoch picked on the test set.
 */
function reportBestOfEpochs(ctx: RuleContext, stmt: PyNode, node: PyNode, best: string, metric: PyNode): boolean {
  const a = ctx.analysis;
  for (let loop = innermostLoop(stmt); loop; loop = innermostLoop(loop)) {
    const body = loop.child('body');
    const reach = body ? reachWithMethods(a, body) : [];
    if (!reach.some((c) => isBackward(c) || isOptimizerStep(c, a))) continue;
    const read = readAfter(loop, best);
    if (!read) return false;
    const line = ctx.lines.position(read.start).line + 1;
    ctx.report({
      node,
      message: `${best} keeps the best test-set score (${metric.text}) over the training epochs and is reported after the loop (line ${line}): picking the epoch on the test set makes it optimistic. Pick the epoch on a validation split and report its test score.`,
    });
    return true;
  }
  return false;
}

function checkRunningMax(asg: PyNode, ctx: RuleContext): void {
  const rb = runningBest(asg);
  if (!rb || !isTestMetric(ctx.analysis, rb.value, inTestFunction(ctx.analysis, asg))) return;
  reportBestOfEpochs(ctx, asg, asg, rb.best, rb.value);
}

/** Statement-local first test: the node has the shape of something visit may report. */
function mayReport(n: PyNode): boolean {
  if (n.type === 'assignment') return runningBest(n) !== undefined;
  if (n.type === 'if_statement') {
    const cond = unparen(n.child('condition'));
    return (cond?.type === 'identifier' && FLAG.test(cond.text)) || comparisonsOf(cond).some((c) => c.namedChildren.some((x) => BEST.test(lastName(unparen(x)))) || !!runningBestOf(c));
  }
  const name = calleeName(n) ?? '';
  if (SELECTS.test(name)) return positionalArgs(n).some((x) => x.type === 'identifier' && FLAG.test(x.text));
  return name === 'step' || name === 'fit' || /early_?stop/i.test(name);
}

/**
 * The text of what a `callbacks=` value holds: the expression, and what its names are bound to, through lists of names
 * (`callbacks=cbs` with `cbs = [ckpt, stop]`) and lists built by `append` / `+=` (even under an option: enabled, it
 * selects on the data given).
 */
function callbacksText(a: Analysis, cbs: PyNode, depth = 0): string {
  let text = cbs.text;
  if (depth > 2) return text;
  cbs.walk((x) => {
    if (x.type !== 'identifier') return;
    for (const { item } of listItems(a, x) ?? []) text += ' ' + callbacksText(a, item, depth + 1);
    const v = a.scopes.valueAt(x.text, x);
    if (v) text += ' ' + callbacksText(a, v, depth + 1);
  });
  return text;
}

const KERAS_SELECTING = /^(EarlyStopping|ModelCheckpoint|ReduceLROnPlateau)$/;

/**
 * The EarlyStopping / ModelCheckpoint / ReduceLROnPlateau calls a `callbacks=` value holds, through names and lists of
 * names (as callbacksText).
 */
function selectingCallbacks(a: Analysis, cbs: PyNode, out: PyNode[] = [], depth = 0): PyNode[] {
  if (depth > 2) return out;
  cbs.walk((x) => {
    if (x.type === 'call' && KERAS_SELECTING.test(calleeName(x) ?? '')) out.push(x);
    if (x.type !== 'identifier') return;
    for (const { item } of listItems(a, x) ?? []) selectingCallbacks(a, item, out, depth + 1);
    const v = a.scopes.valueAt(x.text, x);
    if (v) selectingCallbacks(a, v, out, depth + 1);
  });
  return out;
}

/**
 * Every selecting callback found monitors a training quantity (`monitor='loss'`, `'acc'`): the validation data drives
 * none of them. Keras monitors 'val_loss' by default; a monitor that is not a literal may be a validation one.
 */
function monitorsTrainingOnly(a: Analysis, cbs: PyNode): boolean {
  const found = selectingCallbacks(a, cbs);
  return found.length > 0 && found.every((c) => /^[rbu]*['"](?!val_)\w+['"]$/.test(keywordArg(c, 'monitor')?.text ?? ''));
}

/**
 * `model.fit(..., validation_data=(x_eval, y_eval))` then `model.predict(x_eval)` / `model.evaluate(x_eval, y_eval)`: the
 * first later predict/evaluate call handed the same binding of the inputs, when they are not named as validation data
 * (`x_val` evaluated after the fit reports the validation score, knowingly).
 */
function evaluatedAfter(a: Analysis, fit: PyNode, x: PyNode): PyNode | undefined {
  if (x.type !== 'identifier' || namesValOrTrain(x.text) || /(^|_)(val|valid|validation|dev)(_|$)/i.test(x.text)) return undefined;
  const bound = a.scopes.valueAt(x.text, fit);
  for (const name of ['predict', 'evaluate']) {
    for (const c of a.callsNamed(name)) {
      if (c.start < fit.end || !receiver(c)) continue;
      const arg = unparen(positionalArgs(c)[0] ?? keywordArg(c, 'x'));
      if (arg?.type === 'identifier' && arg.text === x.text && a.scopes.valueAt(arg.text, arg) === bound) return c;
    }
  }
  return undefined;
}

function isPlateau(a: Analysis, call: PyNode): boolean {
  const recv = receiver(call);
  if (!recv) return false;
  const v = receiverValue(a, recv);
  const q = v?.type === 'call' ? a.callee(v) : undefined;
  if (q) return /ReduceLROnPlateau$/.test(q);
  return /sched|plateau/i.test(lastName(recv));
}

export const EV005: Rule = {
  meta: {
    id: 'EV005',
    name: 'selection-on-test-set',
    group: 'evaluation',
    defaultSeverity: 'warning',
    summary: 'Early stopping, checkpoint selection or ReduceLROnPlateau is driven by a test-set metric.',
    why:
      'Every decision taken from a metric (keeping the best checkpoint, stopping early, lowering the learning rate on a ' +
      'plateau) fits the training run to the data that metric is computed on. Done on the test set, the final test score is ' +
      'no longer an unbiased estimate: it is the best of many looks and overstates how the model does on new data. Make ' +
      'these decisions on a validation split and evaluate on the test set once. Descent recognises test metrics by their ' +
      'names (`test_loss`, `test_acc`, an accuracy computed in a function that loops over `test_loader`; a loader parameter ' +
      'counts by the argument its callers pass, so `evaluate(val_loader)` of `def evaluate(test_loader)` is validation) and Keras ' +
      '`validation_data=(x_test, y_test)` with EarlyStopping / ModelCheckpoint / ReduceLROnPlateau callbacks. Also ' +
      'reported: the best test score over the training epochs (`best = max(best, test_acc)`, or `if test_acc > best: ' +
      'best = test_acc`) read after the epoch loop as the result, which picks the epoch on the test set. A test metric is ' +
      'also one derived from a test-named one (`epoch_test_loss = test_loss / n`), what the file\'s own `test(...)` function ' +
      'returns when it is handed no validation data, and a best flag (`is_best = rank1 > best_rank1`) tested by an `if` or ' +
      'passed to `save_checkpoint`. Keras validation data that is evaluated again after the fit (`model.predict(x_eval)`) ' +
      'is the data the reported score comes from, so callbacks on it select on the test set; callbacks that all monitor a ' +
      'training quantity (`monitor=\'loss\'`) are not driven by it. Also a test metric: a score read by a `\'test\'` key ' +
      '(`results[\'test\'][epoch]`), a meter\'s running value in a function that loops over test data (`top1.avg`), and ' +
      'either side of a comparison whose running best a branch keeps (`else: top_err = epoch_test_err`), whatever its ' +
      'name. A value named for validation (`val_loss = self.test(vx, vy)`) is not taken from the name of the routine.',
    wrong: 'for epoch in range(100):\n    train_one_epoch(model, train_loader)\n    test_loss = evaluate(model, test_loader)\n    if test_loss < best_loss:\n        best_loss = test_loss\n        torch.save(model.state_dict(), "best.pt")',
    right: 'for epoch in range(100):\n    train_one_epoch(model, train_loader)\n    val_loss = evaluate(model, val_loader)\n    if val_loss < best_loss:\n        best_loss = val_loss\n        torch.save(model.state_dict(), "best.pt")\ntest_loss = evaluate(model, test_loader)',
    concept: 'Generalisation: the test set is used once, after all choices are made',
    fixable: false,
  },
  nodeTypes: ['if_statement', 'call', 'assignment'],
  // The running best is followed to the epoch loop and its read after it: beyond the statement.
  candidate: { reads: [], test: (n) => mayReport(n) },
  visit(n, ctx) {
    if (n.type === 'if_statement') return checkIf(n, ctx);
    if (n.type === 'assignment') return checkRunningMax(n, ctx);
    const a = ctx.analysis;
    const name = calleeName(n) ?? '';
    if (SELECTS.test(name) && checkSavedFlag(n, ctx)) return;
    const args = positionalArgs(n);
    if (name === 'step' && args.length === 1 && isPlateau(a, n) && isTestMetric(a, args[0], false)) {
      ctx.report({ node: n, message: `The learning rate is reduced on a test-set metric (${args[0]!.text}): the test score becomes optimistic. Step the plateau scheduler on a validation metric.` });
      return;
    }
    if (/early_?stop/i.test(name) && args.some((x) => isTestMetric(a, x, false))) {
      ctx.report({ node: n, message: `Early stopping on a test-set metric: the test score becomes optimistic. Stop on a validation metric.` });
      return;
    }
    if (name === 'fit') {
      const vd = unparen(keywordArg(n, 'validation_data'));
      const first = vd && (vd.type === 'tuple' || vd.type === 'list') ? vd.namedChildren[0] : undefined;
      if (!first) return;
      const testNamed = /^(x|X)_?test$|^test_?(x|X|data|images|inputs|set|ds|dataset|gen|generator)$/.test(lastName(first));
      const finalEval = testNamed ? undefined : evaluatedAfter(a, n, first);
      if (!testNamed && !finalEval) return;
      const cbs = keywordArg(n, 'callbacks');
      if (!cbs || !/EarlyStopping|ModelCheckpoint|ReduceLROnPlateau/.test(callbacksText(a, cbs)) || monitorsTrainingOnly(a, cbs)) return;
      if (testNamed) {
        ctx.report({ node: vd!, message: 'The test set is passed as validation_data to callbacks that stop early / keep the best model / lower the lr: the test score becomes optimistic. Use a validation split.' });
      } else {
        const line = ctx.lines.position(finalEval!.start).line + 1;
        ctx.report({ node: vd!, message: `${first.text} drives the callbacks that stop early / keep the best model / lower the lr, and is then the data evaluated after training (line ${line}): that score is optimistic. Split off a validation set for the callbacks.` });
      }
    }
  },
};
