import { configValue } from '../../analysis/config';
import { calleeName, keywordArg, methodClass, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { returnValues } from '../../analysis/modules';
import { hfSchedulerBuild, isSchedulerStep, lastName, operatorOf, reachableCalls } from '../../analysis/order';
import { BATCH_ITERABLE, isOptimizerStep, iteratesBatches } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { Rule, RuleContext } from '../../types';
import { schedulerBuilds, storedParameterStep } from './HP003-epoch-scheduler-stepped-per-batch';

// The mirror of HP003: a schedule whose length is counted in optimizer steps (batches) but stepped once per epoch,
// in a plain loop after the batch loop or by Lightning's default `interval: "epoch"`. The schedule advances
// len(loader) times too slowly: OneCycleLR and the warm-up schedules never leave their warm-up.

/** How a count of batches shows in an expression: `len(train_loader)`, `self.trainer.estimated_stepping_batches`. */
interface BatchCount {
  /** The expression counts batches of a loader (or Lightning's total optimizer steps). */
  batches: boolean;
  /** It multiplies (`epochs * len(loader)`) or is a total already (`estimated_stepping_batches`). */
  total: boolean;
}

const TOTAL_STEPS_ATTR = /^estimated_stepping_batches$/;

/**
 * What an expression counts, following names to their values (`total_steps = epochs * steps_per_epoch`,
 * `steps_per_epoch = len(train_loader)`) up to `depth` hops. A parameter or an unknown value adds nothing.
 */
function batchCount(a: Analysis, expr: PyNode | undefined, depth = 3, out: BatchCount = { batches: false, total: false }): BatchCount {
  const e = unparen(expr);
  if (!e) return out;
  e.walk((n) => {
    if (n.type === 'call') {
      const fn = n.child('function');
      if (fn?.type === 'identifier' && fn.text === 'len') {
        const arg = positionalArgs(n)[0];
        if (positionalArgs(n).length === 1 && arg && BATCH_ITERABLE.test(arg.text)) out.batches = true;
        return false;
      }
      // The callee's own name says nothing (`math.ceil(...)`): look at its arguments only.
      for (const arg of n.child('arguments')?.namedChildren ?? []) batchCount(a, arg, depth, out);
      return false;
    }
    if (n.type === 'keyword_argument') {
      batchCount(a, n.child('value') ?? undefined, depth, out);
      return false;
    }
    if (n.type === 'binary_operator' && operatorOf(n) === '*') out.total = true;
    if (n.type === 'attribute') {
      if (TOTAL_STEPS_ATTR.test(n.child('attribute')?.text ?? '')) out.batches = out.total = true;
      return false;
    }
    if (n.type === 'identifier' && depth > 0) {
      const v = a.scopes.valueAt(n.text, n);
      if (v && v !== e) batchCount(a, v, depth - 1, out);
      return false;
    }
    return undefined;
  });
  return out;
}

/** A literal (or configured) 1: `steps_per_epoch=1` makes OneCycleLR a per-epoch schedule. */
function isOne(a: Analysis, expr: PyNode): boolean {
  let e = unparen(expr)!;
  if (e.type === 'identifier') e = a.scopes.valueAt(e.text, e) ?? e;
  if (e.type === 'attribute' || e.type === 'subscript') e = configValue(a, e)?.node ?? e;
  return e.type === 'integer' && Number(e.text) === 1;
}

// Hugging Face schedules whose third positional argument is num_training_steps.
const HF_TOTAL_AT_2 = /^get_(linear|cosine|cosine_with_hard_restarts|polynomial_decay)_schedule_with_warmup$/;

/** A schedule counted in batches: its name and length as the message shows them, and what per-epoch stepping does to it. */
interface BatchSchedule {
  what: string;
  effect: string;
}

/** The schedule a build defines, when it is clearly counted in batches (else undefined: stay silent). */
function batchSchedule(a: Analysis, build: PyNode): BatchSchedule | undefined {
  if (build.type !== 'call') return undefined;
  const hf = hfSchedulerBuild(a, build);
  if (hf) {
    const arg = keywordArg(build, 'num_training_steps') ?? (HF_TOTAL_AT_2.test(hf) ? positionalArgs(build)[2] : hf === 'get_scheduler' ? positionalArgs(build)[3] : undefined);
    const c = arg ? batchCount(a, arg) : undefined;
    if (!c?.batches || !c.total) return undefined;
    return { what: `${hf} is defined over num_training_steps=${arg!.text} batches`, effect: 'the learning rate never gets past the warm-up and never decays' };
  }
  const q = a.callee(build);
  if (!q?.startsWith('torch.optim.lr_scheduler.')) return undefined;
  switch (q.slice('torch.optim.lr_scheduler.'.length)) {
    case 'OneCycleLR': {
      const effect = 'the learning rate never leaves the warm-up';
      const spe = keywordArg(build, 'steps_per_epoch') ?? positionalArgs(build)[4];
      if (spe && spe.text !== 'None' && !isOne(a, spe)) return { what: `OneCycleLR is defined over epochs × steps_per_epoch (${spe.text}) steps`, effect };
      const total = keywordArg(build, 'total_steps') ?? positionalArgs(build)[2];
      const c = total ? batchCount(a, total) : undefined;
      return c?.batches ? { what: `OneCycleLR is defined over total_steps=${total!.text} batches`, effect } : undefined;
    }
    case 'CyclicLR': {
      const up = keywordArg(build, 'step_size_up') ?? positionalArgs(build)[3];
      const effect = 'the learning rate barely moves from base_lr';
      if (!up) return { what: 'CyclicLR is defined over step_size_up=2000 (the default) batches per half cycle', effect };
      return batchCount(a, up).batches ? { what: `CyclicLR is defined over step_size_up=${up.text} batches per half cycle`, effect } : undefined;
    }
    case 'CosineAnnealingLR': {
      const t = keywordArg(build, 'T_max') ?? positionalArgs(build)[1];
      const c = t ? batchCount(a, t) : undefined;
      return c?.batches && c.total ? { what: `CosineAnnealingLR is defined over T_max=${t!.text} batches`, effect: 'the learning rate barely decays' } : undefined;
    }
    default:
      return undefined;
  }
}

/** `if scheduler:` / `if self.scheduler is not None:`: a guard that holds on every epoch. */
function schedulerGuard(cond: PyNode | undefined, recv: PyNode): boolean {
  const c = unparen(cond);
  return !!c && (c.text === recv.text || c.text === `${recv.text} is not None`);
}

/** The loop whose every iteration runs `stmt` (through `with` blocks and a guard on the scheduler itself). */
function enclosingLoop(stmt: PyNode, recv: PyNode): PyNode | undefined {
  for (let p = stmt.parent; p; p = p.parent) {
    switch (p.type) {
      case 'block':
      case 'with_statement':
        continue;
      case 'if_statement':
        if (!schedulerGuard(p.child('condition'), recv) || p.child('alternative')) return undefined;
        continue;
      case 'for_statement':
      case 'while_statement':
        return p;
      default:
        return undefined;
    }
  }
  return undefined;
}

/** A `for` over batches between `n` and `stop` (exclusive; a function boundary ends the walk). */
function inBatchLoop(n: PyNode, stop: PyNode): boolean {
  for (let p = n.parent; p && p !== stop; p = p.parent) {
    if (p.type === 'function_definition' || p.type === 'lambda') return false;
    if (p.type === 'for_statement' && BATCH_ITERABLE.test(p.child('right')?.text ?? '')) return true;
  }
  return false;
}

/**
 * A scheduler step once per epoch: a statement of an epoch loop (not itself over batches, nor inside one) that runs a
 * batch loop stepping the optimizer, directly or through a function of this file, and nowhere else steps this scheduler.
 */
function checkLoopStep(ctx: RuleContext, call: PyNode): void {
  const a = ctx.analysis;
  const stmt = call.parent;
  if (stmt?.type !== 'expression_statement' || call.child('arguments')?.namedChildren.length) return;
  const recv = receiver(call);
  if (!recv || (!isSchedulerStep(call, a) && !storedParameterStep(call, a))) return;
  const loop = enclosingLoop(stmt, recv);
  if (!loop) return;
  if (loop.type === 'for_statement' && iteratesBatches(loop, a)) return;
  if (inBatchLoop(loop, loop.ancestor('module') ?? loop)) return;
  const body = loop.child('body');
  if (!body) return;
  let batchUpdate = false;
  for (const c of reachableCalls(a, body, 2)) {
    if (c === call) continue;
    const name = calleeName(c);
    if (name === 'step') {
      const r = receiver(c);
      // The same scheduler stepped elsewhere in the epoch (per batch, or a second step): not this rule's case.
      if (r && (r.text === recv.text || lastName(r) === lastName(recv))) return;
      if (!batchUpdate && isOptimizerStep(c, a) && inBatchLoop(c, loop)) batchUpdate = true;
    }
    // The scheduler handed to a function (`train_one_epoch(..., scheduler)`) may be stepped there.
    if (c.child('arguments')?.namedChildren.some((x) => unparen(x)?.text === recv.text || unparen(x.child('value') ?? undefined)?.text === recv.text)) return;
  }
  if (!batchUpdate) return;
  const builds = schedulerBuilds(a, recv, false);
  if (!builds?.length) return;
  const schedules = builds.map((b) => batchSchedule(a, b));
  const first = schedules[0];
  if (!first || schedules.some((s) => !s)) return;
  ctx.report({
    node: call,
    message: `${first.what} but ${call.text} runs once per epoch: ${first.effect}. Call ${call.text} after optimizer.step() inside the batch loop.`,
  });
}

// ---- PyTorch Lightning: configure_optimizers without "interval": "step" ----

const LIGHTNING_IMPORT = /\b(pytorch_lightning|lightning)\b/;

/** A dict literal's entries by string key (`{"interval": "step"}`); undefined when a key is not a plain string. */
function dictEntries(d: PyNode): Map<string, PyNode> | undefined {
  const out = new Map<string, PyNode>();
  for (const c of d.namedChildren) {
    if (c.type === 'comment') continue;
    if (c.type !== 'pair') return undefined; // `**base`: unknown entries
    const k = c.child('key');
    const v = c.child('value');
    const m = k?.type === 'string' ? /^[rbuf]*(['"])(\w+)\1$/i.exec(k.text) : null;
    if (!m || !v) return undefined;
    out.set(m[2]!, v);
  }
  return out;
}

/** A name's value inside the method (`sched = OneCycleLR(...)`, `config = {...}`), else the expression itself. */
function valueOf(a: Analysis, e: PyNode | undefined): PyNode | undefined {
  const u = unparen(e);
  if (u?.type !== 'identifier') return u;
  return a.scopes.valueAt(u.text, u) ?? undefined;
}

/** Lightning's `interval` of a scheduler config: 'epoch' when absent or "epoch", else undefined (a step interval or unknown). */
function epochInterval(entries: Map<string, PyNode>): boolean {
  const i = entries.get('interval');
  if (!i) return true;
  return /^[rbuf]*(['"])epoch\1$/i.test(i.text);
}

/** Reports a scheduler (a build, a name, or a `{"scheduler": ...}` config) that Lightning steps once per epoch. */
function checkLightningScheduler(ctx: RuleContext, expr: PyNode | undefined, fn: PyNode): void {
  const a = ctx.analysis;
  let v = valueOf(a, expr);
  if (!v) return;
  let at = unparen(expr)!;
  if (v.type === 'dictionary') {
    const entries = dictEntries(v);
    if (!entries || !epochInterval(entries)) return;
    at = unparen(entries.get('scheduler')) ?? at;
    v = valueOf(a, entries.get('scheduler'));
  }
  if (v?.type !== 'call' || !(fn.start <= v.start && v.end <= fn.end)) return;
  const s = batchSchedule(a, v);
  if (!s) return;
  ctx.report({
    node: at,
    message: `${s.what} but Lightning steps it once per epoch (its default interval): ${s.effect}. Return it as {"scheduler": ..., "interval": "step"}.`,
  });
}

/** configure_optimizers of a LightningModule (automatic optimization) that returns a batch-counted schedule without `"interval": "step"`. */
function checkConfigureOptimizers(ctx: RuleContext, fn: PyNode): void {
  const a = ctx.analysis;
  const cls = methodClass(fn);
  if (!cls) return;
  if (/self\.automatic_optimization\s*=\s*False/.test(cls.text)) return;
  for (const r of returnValues(fn)) {
    const v = valueOf(a, r);
    if (v?.type === 'dictionary') {
      const entries = dictEntries(v);
      // `interval` at the top level: not Lightning's place for it, but the intent is clear enough to stay silent.
      if (!entries || entries.has('interval')) continue;
      checkLightningScheduler(ctx, entries.get('lr_scheduler'), fn);
    } else if ((v?.type === 'tuple' || v?.type === 'list' || v?.type === 'expression_list') && v.namedChildren.length === 2) {
      const scheds = valueOf(a, v.namedChildren[1]);
      if (scheds?.type !== 'list' && scheds?.type !== 'tuple') continue;
      for (const s of scheds.namedChildren) if (s.type !== 'comment') checkLightningScheduler(ctx, s, fn);
    }
  }
}

function importsLightning(a: Analysis): boolean {
  return [...a.index.of('import_statement'), ...a.index.of('import_from_statement')].some((s) => LIGHTNING_IMPORT.test(s.text));
}

export const HP006: Rule = {
  meta: {
    id: 'HP006',
    name: 'step-scheduler-stepped-per-epoch',
    group: 'hyperparameters',
    defaultSeverity: 'warning',
    summary: 'A learning-rate schedule counted in batches (OneCycleLR, CyclicLR, a warm-up schedule over epochs * len(loader)) is stepped once per epoch.',
    why:
      'A scheduler counts calls to `scheduler.step()`. `OneCycleLR(steps_per_epoch=len(train_loader))`, `CyclicLR`, and ' +
      'Hugging Face warm-up schedules or `CosineAnnealingLR` sized `epochs * len(train_loader)` are defined in optimizer ' +
      'steps, so they expect one `scheduler.step()` per batch. Stepped once per epoch, after the batch loop, the schedule ' +
      'advances len(loader) times too slowly: OneCycleLR never leaves its warm-up, a linear warm-up never reaches the peak ' +
      'learning rate, and training runs at a tiny learning rate without any error. Call `scheduler.step()` right after ' +
      '`optimizer.step()`, inside the batch loop. In PyTorch Lightning, `configure_optimizers` schedulers are stepped per ' +
      'epoch unless configured otherwise: return `{"scheduler": sched, "interval": "step"}`.',
    wrong:
      'scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, epochs=10, steps_per_epoch=len(train_loader))\nfor epoch in range(10):\n    for x, y in train_loader:\n        optimizer.zero_grad()\n        loss_fn(model(x), y).backward()\n        optimizer.step()\n    scheduler.step()',
    right:
      'scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, epochs=10, steps_per_epoch=len(train_loader))\nfor epoch in range(10):\n    for x, y in train_loader:\n        optimizer.zero_grad()\n        loss_fn(model(x), y).backward()\n        optimizer.step()\n        scheduler.step()',
    concept: 'Optimisation: learning-rate schedules and what one scheduler step means',
    fixable: false,
  },
  check(ctx) {
    const a = ctx.analysis;
    for (const call of a.callsNamed('step')) checkLoopStep(ctx, call);
    const configure = a.functions.get('configure_optimizers');
    if (configure?.length && importsLightning(a)) for (const fn of configure) checkConfigureOptimizers(ctx, fn);
  },
};
