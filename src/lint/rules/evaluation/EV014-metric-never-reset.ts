import { calleeName, enclosingFunction, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { bindingLoop } from '../../analysis/dispatchedCalls';
import { indentOf, innermostLoop, lineStartIfAlone } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

// A torchmetrics metric computed once per epoch and never reset: every epoch's value covers all the epochs so far.

/** `for epoch in range(...)`, `for ep in trange(n)`, `while epoch < n`: a loop over epochs, not over batches. */
function isEpochLoop(l: PyNode): boolean {
  if (l.type === 'while_statement') return /epoch/i.test(l.child('condition')?.text ?? '');
  // `for _ in tqdm(range(num_epochs))`: the count names the epochs.
  return /epoch|^ep$|^e$/i.test(l.child('left')?.text ?? '') || /^(range|trange|tqdm\(\s*range)\(.*epoch/i.test(l.child('right')?.text ?? '');
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

/** A metric read through the collection that holds it: `self.metrics["val_acc"]` -> `self.metrics`. */
function collectionRoot(n: PyNode | undefined): PyNode | undefined {
  let r = unparen(n);
  while (r?.type === 'subscript') r = unparen(r.child('value'));
  return r;
}

/**
 * Whether code in `n` feeds the metric: `metric.update(...)` or a call of the metric itself (`self.acc(preds, y)`), also
 * through a key of the collection that holds it (`self.metrics[f"{step}_acc"](preds, y)`).
 */
function feeds(n: PyNode, metric: string): boolean {
  let hit = false;
  n.walk((c) => {
    if (hit) return false;
    if (c.type !== 'call') return;
    if ((calleeName(c) === 'update' && collectionRoot(receiver(c))?.text === metric) || collectionRoot(c.child('function'))?.text === metric) hit = true;
  });
  return hit;
}

/**
 * `self.log("acc", self.acc)`, `self.log_dict({"acc": self.acc})`, `self.log("acc", self.metrics["acc"])`: the metric
 * object itself (or one of its collection), not its compute().
 */
function passesObject(log: PyNode, metric: string): boolean {
  let found = false;
  log.child('arguments')?.walk((x) => {
    if (found) return false;
    if (x.text !== metric) return;
    let top = x;
    while (top.parent?.type === 'subscript' && top.parent.child('value') === top) top = top.parent;
    const p = top.parent;
    if (p?.type !== 'attribute' && !(p?.type === 'call' && p.child('function') === top)) found = true;
  });
  return found;
}

/**
 * Where a compute() runs once per epoch in a LightningModule: an epoch-end hook, or a method of the class that such a
 * hook calls (`self._shared_epoch_end(outputs, "val")` from `validation_epoch_end`).
 */
function runsAtEpochEnd(a: Analysis, fn: PyNode, cls: PyNode): boolean {
  const name = fn.child('name')?.text ?? '';
  if (EPOCH_END_HOOK.test(name)) return true;
  if (fn.parent?.parent !== cls) return false;
  return a.callsNamed(name).some((c) => {
    const caller = enclosingFunction(c);
    return receiver(c)?.text === 'self' && caller?.ancestor('class_definition') === cls && EPOCH_END_HOOK.test(caller.child('name')?.text ?? '');
  });
}

// Lightning's epoch boundary: the hooks it calls once per epoch.
const EPOCH_END_HOOK = /^(on_)?(train|training|validation|val|test)_epoch_end$/;

/**
 * `self.log("val_acc", self.val_acc.compute())` in `validation_epoch_end` of a class whose steps feed `self.val_acc`,
 * never reset: the compute() calls on `self.<metric>` in Lightning epoch-end hooks, one per metric.
 */
function hookComputes(a: Analysis): { compute: PyNode; metric: string }[] {
  const out: { compute: PyNode; metric: string }[] = [];
  const resets = new Set(a.callsNamed('reset').map((c) => collectionRoot(receiver(c))?.text));
  const seen = new Set<string>();
  for (const compute of a.callsNamed('compute')) {
    const m = collectionRoot(receiver(compute));
    if (m?.type !== 'attribute' || m.child('object')?.text !== 'self' || resets.has(m.text) || seen.has(m.text)) continue;
    const hook = enclosingFunction(compute);
    const cls = hook?.ancestor('class_definition');
    if (!hook || !cls || !runsAtEpochEnd(a, hook, cls)) continue;
    // The metric itself, or (read by key) a MetricCollection / a dict or ModuleDict of metrics.
    const keyed = m !== unparen(receiver(compute));
    const values = a.scopes.selfAttr(cls, m.child('attribute')?.text ?? '');
    if (!values.length || !values.every((v) => buildsMetric(a, v) || (keyed && metricLiteral(a, v)))) continue;
    // Fed in the class (`self.val_acc(preds, y)`, `.update(...)`), and never logged as the object (Lightning resets those).
    let logged = false;
    cls.walk((c) => void (c.type === 'call' && /^log(_dict)?$/.test(calleeName(c) ?? '') && receiver(c)?.text === 'self' && passesObject(c, m.text) && (logged = true)));
    if (!feeds(cls, m.text) || logged) continue;
    seen.add(m.text);
    out.push({ compute, metric: m.text });
  }
  return out;
}

/**
 * The collection a loop variable walks: `for m in metrics`, `for i, m in enumerate(metrics)`, `for k, m in
 * metrics.items()`, `for m in metrics.values()`. Returns the loop and the collection's expression.
 */
function walkedCollection(id: PyNode): { loop: PyNode; collection: PyNode } | undefined {
  const b = bindingLoop(id, id.text);
  if (!b) return undefined;
  let right = unparen(b.loop.child('right'));
  const name = right?.type === 'call' ? calleeName(right) : undefined;
  if (b.index === -1) {
    if (name === 'values' && right!.child('function')?.type === 'attribute') right = unparen(receiver(right!));
  } else if (b.index === 1 && name === 'enumerate' && right!.child('function')?.type === 'identifier') right = unparen(positionalArgs(right!)[0]);
  else if (b.index === 1 && name === 'items' && right!.child('function')?.type === 'attribute') right = unparen(receiver(right!));
  else return undefined;
  return right && (right.type === 'identifier' || right.type === 'attribute') ? { loop: b.loop, collection: right } : undefined;
}

/** The collection a for loop walks, by its text (see walkedCollection). */
function walkedCollectionOf(loop: PyNode): string | undefined {
  const left = loop.child('left');
  const v = left?.type === 'identifier' ? left : left?.namedChildren[1];
  const body = loop.child('body');
  if (v?.type !== 'identifier' || !body) return undefined;
  let read: PyNode | undefined;
  body.walk((n) => {
    if (read) return false;
    if (n.type === 'identifier' && n.text === v.text) read = n;
  });
  return read && walkedCollection(read)?.loop === loop ? walkedCollection(read)!.collection.text : undefined;
}

/** `[Accuracy(...), F1Score(...)]`, `{"acc": Accuracy(...)}`, `nn.ModuleList([...])`: every element builds a metric. */
function metricLiteral(a: Analysis, value: PyNode | undefined): boolean {
  let v = unparen(value);
  if (v?.type === 'call' && /^(ModuleList|ModuleDict)$/.test(calleeName(v) ?? '')) v = unparen(positionalArgs(v)[0]);
  if (v?.type !== 'list' && v?.type !== 'tuple' && v?.type !== 'dictionary') return false;
  const els = v.namedChildren.filter((c) => c.type !== 'comment').map((c) => (c.type === 'pair' ? c.child('value') ?? undefined : c));
  return els.length > 0 && els.every((e) => buildsMetric(a, e));
}

/** A parameter annotated with a torchmetrics type (`metrics: Iterable[Metric]`, `list[torchmetrics.Metric]`). */
function annotatedMetrics(a: Analysis, id: PyNode): boolean {
  const fn = enclosingFunction(id);
  const param = fn?.child('parameters')?.namedChildren.find((p) => (p.type === 'typed_parameter' ? p.namedChildren[0] : p.child('name'))?.text === id.text);
  const type = param?.child('type');
  let found = false;
  type?.walk((t) => {
    if (found) return false;
    if ((t.type === 'identifier' || t.type === 'attribute') && isMetricClass(a.qname(t))) {
      found = true;
      return false;
    }
  });
  return found;
}

/** Whether a collection expression holds torchmetrics objects: a literal of them, or a parameter typed so. */
function holdsMetrics(a: Analysis, coll: PyNode): boolean {
  if (coll.type === 'attribute') {
    const cls = coll.ancestor('class_definition');
    const values = cls && coll.child('object')?.text === 'self' ? a.scopes.selfAttr(cls, coll.child('attribute')?.text ?? '') : [];
    return values.length > 0 && values.every((v) => metricLiteral(a, v));
  }
  const v = a.scopes.valueAt(coll.text, coll);
  if (v) return metricLiteral(a, v);
  return v === null && annotatedMetrics(a, coll);
}

/** Whether code in `n` feeds an element of the collection: a loop over it whose variable is updated or called. */
function feedsCollection(n: PyNode, coll: string): boolean {
  let hit = false;
  n.walk((c) => {
    if (hit) return false;
    if (c.type !== 'call') return;
    const name = calleeName(c) === 'update' ? receiver(c) : c.child('function');
    if (name?.type === 'identifier' && walkedCollection(name)?.collection.text === coll) hit = true;
  });
  return hit;
}

/** A `reset()` of the collection or of an element walked from it, anywhere in the file. */
function resetsCollection(a: Analysis, coll: string): boolean {
  return a.callsNamed('reset').some((c) => {
    const r = receiver(c);
    return r?.text === coll || (r?.type === 'identifier' && walkedCollection(r)?.collection.text === coll);
  });
}

/**
 * `for i, m in enumerate(val_metrics): out[i].append(m.compute())` in an epoch loop that also feeds every metric of
 * the collection, none ever reset: the compute call, the collection and the loop that walks it.
 */
function collectionCompute(a: Analysis, m: PyNode): { coll: PyNode; walk: PyNode } | undefined {
  const walked = walkedCollection(m);
  if (!walked || !holdsMetrics(a, walked.collection)) return undefined;
  const coll = walked.collection;
  const bound = coll.type === 'identifier' ? a.scopes.valueAt(coll.text, coll) : undefined;
  // An epoch loop around the walk, or the first loop around it whose inner (batch) loop feeds the metrics.
  let loop: PyNode | undefined;
  let nested: PyNode | undefined;
  for (let l = innermostLoop(walked.loop); l && !(bound && bound.start > l.start && bound.end < l.end); l = innermostLoop(l)) {
    nested ??= l;
    if (isEpochLoop(l)) {
      loop = l;
      break;
    }
  }
  // (a batch loop, not a walk over the collection itself: that would be a running value within one pass)
  const walks = (l: PyNode) => l.type === 'for_statement' && l.child('left') !== undefined && walkedCollectionOf(l) === coll.text;
  if (!loop && nested && innerLoops(nested).some((inner) => !walks(inner) && feedsCollection(inner, coll.text))) loop = nested;
  if (!loop || !feedsCollection(loop.child('body') ?? loop, coll.text) || resetsCollection(a, coll.text)) return undefined;
  return { coll, walk: walked.loop };
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
      'under the old `pl.metrics` namespace, and a collection of metrics (a list or dict of them, or a parameter typed ' +
      '`Iterable[Metric]`) walked to update and to compute every epoch, none of them reset.',
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
      if (!value) {
        const hit = collectionCompute(a, m);
        if (!hit) continue;
        seen.add(m.text);
        ctx.report({
          node: compute,
          message: `The metrics of ${hit.coll.text} are computed every epoch but never reset: each value covers all the epochs so far. Call ${m.text}.reset() after ${m.text}.compute().`,
          fixes: resetFix(compute, hit.walk, m.text),
        });
        continue;
      }
      if (value.type !== 'call' || !buildsMetric(a, value)) continue;
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
      ctx.report({
        node: compute,
        message: `${m.text} is computed every epoch but never reset: each value covers all the epochs so far. Call ${m.text}.reset() after compute().`,
        fixes: resetFix(compute, loop, m.text),
      });
    }
  },
};

/** Resets the metric right after the statement holding compute(), when that statement is directly in the loop body. */
function resetFix(compute: PyNode, loop: PyNode, metric: string) {
  let stmt: PyNode | undefined = compute;
  while (stmt && stmt.parent !== loop.child('body')) stmt = stmt.parent ?? undefined;
  return stmt && lineStartIfAlone(stmt) !== undefined ? [{ title: `Reset ${metric} after computing it`, edits: [{ start: stmt.end, end: stmt.end, newText: `\n${indentOf(stmt)}${metric}.reset()` }] }] : undefined;
}
