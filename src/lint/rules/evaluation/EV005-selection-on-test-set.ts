import { calleeName, keywordArg, peelConversions, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { TEST_DATA, TEST_METRIC, lastName, operatorOf, receiverValue } from '../../analysis/order';
import type { PyNode } from '../../parser';
import type { Rule, RuleContext } from '../../types';

const BEST = /best|lowest|highest|^min_|^max_|_min$|_max$/i;
const SELECTS = /^(save|save_checkpoint|save_model|save_pretrained|save_weights|save_state|deepcopy|state_dict|copy_state)$/;
const STOP_STATE = /^(best_?(model|state|weights|params|epoch|ckpt|checkpoint|state_dict)\w*|patience\w*|\w*counter|wait|no_improve\w*|bad_epochs?|epochs_no_improve|trigger_times)$/i;

/**
 * The enclosing function evaluates on test data only (a loop over `test_loader` / `testloader`, no validation loop).
 * At module level: the outermost loop around the node (the epoch loop of a script), which is its own statement.
 */
function inTestFunction(n: PyNode): boolean {
  const scope = n.ancestor('function_definition') ?? outermostLoop(n);
  if (!scope) return false;
  let test = false;
  let val = false;
  scope.walk((x) => {
    if (x.type === 'for_statement') {
      const it = x.child('right')?.text ?? '';
      for (const word of it.split(/[^\w]+/)) {
        if (TEST_DATA.test(word) || /^test(ing)?loader$/i.test(word)) test = true;
        if (HELD_OUT_VAL.test(word)) val = true;
      }
    }
  });
  return test && !val;
}

const HELD_OUT_VAL = /^(val|valid|validation|dev)_?(loader|dataloader|dl|data|dataset|set|ds)?$/i;

/** The outermost for/while loop around a module-level node (undefined inside functions and classes). */
function outermostLoop(n: PyNode): PyNode | undefined {
  let loop: PyNode | undefined;
  for (let p = n.parent; p; p = p.parent) {
    if (p.type === 'function_definition' || p.type === 'class_definition' || p.type === 'lambda') return undefined;
    if (p.type === 'for_statement' || p.type === 'while_statement') loop = p;
  }
  return loop;
}

/** `acc = correct / len(test_loader.dataset)`: a value computed from test data and from no validation data. */
function mentionsTestData(value: PyNode | undefined): boolean {
  let test = false;
  let val = false;
  value?.walk((x) => {
    if (x.type !== 'identifier') return;
    if (TEST_DATA.test(x.text) || /^test(ing)?loader$/i.test(x.text)) test = true;
    if (HELD_OUT_VAL.test(x.text)) val = true;
  });
  return test && !val;
}

/** `evaluate(model, test_loader)`: a call that is handed the test data. */
function computedOnTest(e: PyNode | undefined): boolean {
  if (e?.type !== 'call') return false;
  return (e.child('arguments')?.namedChildren ?? []).some((x) => {
    const v = unparen(x.type === 'keyword_argument' ? x.child('value') : x);
    const name = v && (v.type === 'identifier' || v.type === 'attribute') ? lastName(v) : '';
    return TEST_DATA.test(name) || /^test(ing)?loader$/i.test(name);
  });
}

/** `evaluate(model, test_loader)` handed no validation or training data: each element it returns is a test metric. */
function computedOnTestOnly(e: PyNode | undefined): boolean {
  if (!computedOnTest(e)) return false;
  return !(e!.child('arguments')?.namedChildren ?? []).some((x) => {
    const v = unparen(x.type === 'keyword_argument' ? x.child('value') : x);
    const name = v && (v.type === 'identifier' || v.type === 'attribute') ? lastName(v) : '';
    return HELD_OUT_VAL.test(name) || /train/i.test(name);
  });
}

/** `float(loss)`, `loss.item()`, `acc.cpu().numpy()` -> the metric itself. */
const peelCasts = (n: PyNode | undefined) => peelConversions(n, /^(float|int|round)$/, /^(item|float|double|cpu|numpy|detach|tolist)$/);

function isTestMetric(a: Analysis, n: PyNode | undefined, inTestFn: boolean): boolean {
  const e = peelCasts(n);
  if (!e) return false;
  const name = e.type === 'identifier' || e.type === 'attribute' ? lastName(e) : '';
  if (TEST_METRIC.test(name) || computedOnTest(e)) return true;
  const value = e.type === 'identifier' ? unparen(a.scopes.valueAt(e.text, e) ?? undefined) : undefined;
  if (computedOnTest(value)) return true;
  // `eval_loss, eval_acc = evaluate(model, test_loader)`: an element of what a call on test data returns.
  const element = e.type === 'identifier' && !value ? a.scopes.elementAt(e.text, e) : undefined;
  if (element && computedOnTestOnly(unparen(element.source))) return true;
  if (e.type !== 'identifier' || !/^(acc|accuracy|loss|score|f1|auc|top1|correct)$/i.test(e.text)) return false;
  return inTestFn || mentionsTestData(value);
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

function checkIf(s: PyNode, ctx: RuleContext): void {
  const cond = unparen(s.child('condition'));
  if (cond?.type !== 'comparison_operator' || !['<', '>', '<=', '>='].includes(operatorOf(cond) ?? '')) return;
  const [l, r] = cond.namedChildren;
  if (!BEST.test(lastName(unparen(l))) && !BEST.test(lastName(unparen(r)))) return;
  const testFn = inTestFunction(s);
  const metric = isTestMetric(ctx.analysis, l, testFn) && BEST.test(lastName(unparen(r))) ? l : isTestMetric(ctx.analysis, r, testFn) && BEST.test(lastName(unparen(l))) ? r : undefined;
  if (!metric) return;
  const alt = s.childrenOf('alternative').find((c) => c.type === 'else_clause');
  if (!selects(s.child('consequence')) && !selects(alt)) return;
  ctx.report({
    node: cond,
    message: `Model selection / early stopping on a test-set metric (${metric.text}): the test score becomes optimistic. Select on a validation split and touch the test set once at the end.`,
  });
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
      'names (`test_loss`, `test_acc`, an accuracy computed in a function that loops over `test_loader`) and Keras ' +
      '`validation_data=(x_test, y_test)` with EarlyStopping / ModelCheckpoint / ReduceLROnPlateau callbacks.',
    wrong: 'for epoch in range(100):\n    train_one_epoch(model, train_loader)\n    test_loss = evaluate(model, test_loader)\n    if test_loss < best_loss:\n        best_loss = test_loss\n        torch.save(model.state_dict(), "best.pt")',
    right: 'for epoch in range(100):\n    train_one_epoch(model, train_loader)\n    val_loss = evaluate(model, val_loader)\n    if val_loss < best_loss:\n        best_loss = val_loss\n        torch.save(model.state_dict(), "best.pt")\ntest_loss = evaluate(model, test_loader)',
    concept: 'Generalisation: the test set is used once, after all choices are made',
    fixable: false,
  },
  nodeTypes: ['if_statement', 'call'],
  local: ['imports', 'scopes'],
  visit(n, ctx) {
    if (n.type === 'if_statement') return checkIf(n, ctx);
    const a = ctx.analysis;
    const name = calleeName(n) ?? '';
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
      if (!first || !/^(x|X)_?test$|^test_?(x|X|data|images|inputs|set|ds|dataset|gen|generator)$/.test(lastName(first))) return;
      const cbs = keywordArg(n, 'callbacks');
      if (!cbs) return;
      let text = cbs.text;
      cbs.walk((x) => {
        if (x.type === 'identifier') {
          const v = a.scopes.valueAt(x.text, x);
          if (v) text += ' ' + v.text;
        }
      });
      if (/EarlyStopping|ModelCheckpoint|ReduceLROnPlateau/.test(text)) {
        ctx.report({ node: vd!, message: 'The test set is passed as validation_data to callbacks that stop early / keep the best model / lower the lr: the test score becomes optimistic. Use a validation split.' });
      }
    }
  },
};
