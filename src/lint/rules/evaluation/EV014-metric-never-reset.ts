import { calleeName, enclosingFunction, receiver, unparen, type Analysis } from '../../analysis';
import { indentOf, innermostLoop, lineStartIfAlone } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

// A torchmetrics metric computed once per epoch and never reset: every epoch's value covers all the epochs so far.

/** `for epoch in range(...)`, `for ep in trange(n)`, `while epoch < n`: a loop over epochs, not over batches. */
function isEpochLoop(l: PyNode): boolean {
  if (l.type === 'while_statement') return /epoch/i.test(l.child('condition')?.text ?? '');
  return /epoch|^ep$|^e$/i.test(l.child('left')?.text ?? '');
}

/** Loops nested in a loop's body (not the loop itself). */
function innerLoops(l: PyNode): PyNode[] {
  const out: PyNode[] = [];
  l.child('body')?.walk((n) => {
    if (n.type === 'function_definition' || n.type === 'lambda') return false;
    if (n.type === 'for_statement' || n.type === 'while_statement') out.push(n);
  });
  return out;
}

/** torchmetrics, and the same classes under PyTorch Lightning's old `pl.metrics` namespace (PL <= 1.4). */
function isMetricClass(q: string | undefined): boolean {
  return !!q && (q.startsWith('torchmetrics.') || q.startsWith('pytorch_lightning.metrics.'));
}

/** The metric class a value builds: `torchmetrics.AUROC(task="binary").to(device)`. */
function buildsMetric(a: Analysis, value: PyNode | undefined): boolean {
  let built = unparen(value);
  while (built?.type === 'call' && /^(to|cuda|cpu)$/.test(calleeName(built) ?? '') && built.child('function')?.type === 'attribute') built = unparen(receiver(built));
  return built?.type === 'call' && isMetricClass(a.callee(built));
}

/** Whether code in `n` feeds the metric: `metric.update(...)` or a call of the metric itself (`self.acc(preds, y)`). */
function feeds(n: PyNode, metric: string): boolean {
  let hit = false;
  n.walk((c) => {
    if (hit) return false;
    if (c.type !== 'call') return;
    if ((calleeName(c) === 'update' && receiver(c)?.text === metric) || c.child('function')?.text === metric) hit = true;
  });
  return hit;
}

/** `self.log("acc", self.acc)`, `self.log_dict({"acc": self.acc})`: the metric object itself, not its compute(). */
function passesObject(log: PyNode, metric: string): boolean {
  let found = false;
  log.child('arguments')?.walk((x) => {
    if (found) return false;
    const p = x.parent;
    if (x.text === metric && p?.type !== 'attribute' && !(p?.type === 'call' && p.child('function') === x)) found = true;
  });
  return found;
}

// Lightning's epoch boundary: the hooks it calls once per epoch.
const EPOCH_END_HOOK = /^(on_)?(train|training|validation|val|test)_epoch_end$/;

/**
 * `self.log("val_acc", self.val_acc.compute())` in `validation_epoch_end` of a class whose steps feed `self.val_acc`,
 * never reset: the compute() calls on `self.<metric>` in Lightning epoch-end hooks, one per metric.
 */
function hookComputes(a: Analysis): { compute: PyNode; metric: string }[] {
  const out: { compute: PyNode; metric: string }[] = [];
  const resets = new Set(a.callsNamed('reset').map((c) => receiver(c)?.text));
  const seen = new Set<string>();
  for (const compute of a.callsNamed('compute')) {
    const m = receiver(compute);
    if (m?.type !== 'attribute' || m.child('object')?.text !== 'self' || resets.has(m.text) || seen.has(m.text)) continue;
    const hook = enclosingFunction(compute);
    const cls = hook?.ancestor('class_definition');
    if (!hook || !cls || !EPOCH_END_HOOK.test(hook.child('name')?.text ?? '')) continue;
    const values = a.scopes.selfAttr(cls, m.child('attribute')?.text ?? '');
    if (!values.length || !values.every((v) => buildsMetric(a, v))) continue;
    // Fed in the class (`self.val_acc(preds, y)`, `.update(...)`), and never logged as the object (Lightning resets those).
    let logged = false;
    cls.walk((c) => void (c.type === 'call' && /^log(_dict)?$/.test(calleeName(c) ?? '') && receiver(c)?.text === 'self' && passesObject(c, m.text) && (logged = true)));
    if (!feeds(cls, m.text) || logged) continue;
    seen.add(m.text);
    out.push({ compute, metric: m.text });
  }
  return out;
}

export const EV014: Rule = {
  meta: {
    id: 'EV014',
    name: 'metric-never-reset',
    group: 'evaluation',
    defaultSeverity: 'warning',
    summary: 'A torchmetrics metric is computed every epoch but never reset: each value averages over all epochs so far.',
    why:
      'A torchmetrics object accumulates state with every `update()` (or call) until `reset()`. Computed at the end of ' +
      'each epoch without a reset, epoch 10\'s accuracy (or AUROC, F1...) mixes the predictions of epochs 1 to 10: ' +
      'the curve is smoothed, lags behind the model, and early stopping or checkpoint selection on it picks the wrong ' +
      'epoch. Call `metric.reset()` after `compute()` (Lightning does it for you only for metrics logged as objects). ' +
      'Also reported: `self.metric.compute()` in a LightningModule\'s `*_epoch_end` hook, and the same metric classes ' +
      'under the old `pl.metrics` namespace.',
    wrong:
      'import torchmetrics\nacc = torchmetrics.Accuracy(task="multiclass", num_classes=10)\nfor epoch in range(epochs):\n    for x, y in val_loader:\n        acc.update(model(x), y)\n    print(epoch, acc.compute())',
    right:
      'import torchmetrics\nacc = torchmetrics.Accuracy(task="multiclass", num_classes=10)\nfor epoch in range(epochs):\n    for x, y in val_loader:\n        acc.update(model(x), y)\n    print(epoch, acc.compute())\n    acc.reset()',
    concept: 'Metrics: one value per epoch needs a fresh state per epoch',
    fixable: true,
  },
  check(ctx) {
    const a = ctx.analysis;
    const computes = a.callsNamed('compute');
    if (!computes.length) return;
    for (const { compute, metric } of hookComputes(a)) {
      ctx.report({
        node: compute,
        message: `${metric} is computed at each epoch end but never reset: each value covers all the epochs so far. Call ${metric}.reset() after compute() (or log the metric object).`,
      });
    }
    const resets = new Set(a.callsNamed('reset').map((c) => receiver(c)?.text));
    const seen = new Set<string>();
    for (const compute of computes) {
      const m = receiver(compute);
      if (m?.type !== 'identifier' || seen.has(m.text) || resets.has(m.text)) continue;
      const value = unparen(a.scopes.valueAt(m.text, m) ?? undefined);
      if (value?.type !== 'call' || !buildsMetric(a, value)) continue;
      // The compute runs in an epoch loop the metric was built outside of, and that loop feeds it.
      // (an epoch loop by name, or a loop whose inner batch loop does the updating while it computes once per pass).
      let loop: PyNode | undefined;
      let nested: PyNode | undefined;
      for (let l = innermostLoop(compute); l && !(value.start > l.start && value.end < l.end); l = innermostLoop(l)) {
        if (isEpochLoop(l)) loop = l;
        nested ??= l;
      }
      if (!loop && nested && innerLoops(nested).some((inner) => feeds(inner, m.text))) loop = nested;
      if (!loop) continue;
      if (!feeds(loop.child('body') ?? loop, m.text)) continue;
      seen.add(m.text);
      // The fix resets right after the statement holding compute(), when that statement is directly in the loop body.
      let stmt: PyNode | undefined = compute;
      while (stmt && stmt.parent !== loop.child('body')) stmt = stmt.parent ?? undefined;
      const fixes = stmt && lineStartIfAlone(stmt) !== undefined ? [{ title: `Reset ${m.text} after computing it`, edits: [{ start: stmt.end, end: stmt.end, newText: `\n${indentOf(stmt)}${m.text}.reset()` }] }] : undefined;
      ctx.report({
        node: compute,
        message: `${m.text} is computed every epoch but never reset: each value covers all the epochs so far. Call ${m.text}.reset() after compute().`,
        fixes,
      });
    }
  },
};
