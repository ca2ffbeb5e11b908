import { bodyOf, calleeName, callsWithin, receiver, unparen, type Analysis } from '../../analysis';
import { evaluation } from '../../analysis/evaluation';
import { methodsOf } from '../../analysis/modules';
import { deleteStatementLines, isLrSchedulerBuild, isSchedulerStep, reachableCalls } from '../../analysis/order';
import { parameterArguments } from '../../analysis/parameters';
import { reachingDefs } from '../../analysis/reaching';
import { indentOf, innermostLoop, isOptimizerStep } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { RawFix, Rule, RuleContext } from '../../types';

export const TL005: Rule = {
  meta: {
    id: 'TL005',
    name: 'scheduler-step-before-optimizer-step',
    group: 'training-loop',
    defaultSeverity: 'warning',
    summary: 'lr_scheduler.step() runs before optimizer.step() in the same iteration.',
    why:
      'Since PyTorch 1.1 a learning-rate scheduler must be stepped **after** the optimizer. Calling `scheduler.step()` first ' +
      '(at the top of the epoch loop, the pre-1.1 idiom, or before `optimizer.step()` in the batch loop) skips the first value ' +
      'of the schedule, so every epoch runs with the learning rate meant for the next one: warm-up is cut short and step ' +
      'decays arrive one epoch early. PyTorch only prints a warning. Descent reports a `scheduler.step()` that comes before ' +
      'the optimizer step of the same loop body (directly, in a nested batch loop, or in a training function of this file ' +
      'called after it), also at the top of a per-epoch function the loop calls and under `if scheduler is not None:`, ' +
      'and in any function whose own body steps the scheduler and then the optimizer (a wrapper\'s `step()` method). ' +
      'Schedulers count when torch\'s or Hugging Face\'s, a class of the file that subclasses a torch scheduler (without ' +
      'its own `step`), or a copy of pytorch_transformers\' `WarmupLinearSchedule` / `WarmupCosineSchedule` family ' +
      '(LambdaLR subclasses found in many projects\' utils); a project\'s other scheduler classes may be meant to run first. ' +
      '`ReduceLROnPlateau.step(metric)` after validation and a per-epoch step after the batch loop are fine.',
    wrong: 'for epoch in range(10):\n    scheduler.step()\n    for x, y in loader:\n        optimizer.zero_grad()\n        criterion(model(x), y).backward()\n        optimizer.step()',
    right: 'for epoch in range(10):\n    for x, y in loader:\n        optimizer.zero_grad()\n        criterion(model(x), y).backward()\n        optimizer.step()\n    scheduler.step()',
    concept: 'Optimisation: learning-rate schedules advance after each optimizer update',
    fixable: true,
  },
  check(ctx) {
    const a = ctx.analysis;
    for (const loop of a.loops) scan(ctx, loop, bodyOf(loop), false);
    const epochs = epochFunctions(a);
    for (const fn of epochs) scan(ctx, fn, bodyOf(fn), false);
    // Any other function stepping a scheduler in its own body (a wrapper's `step()` method, a `train_step` called from
    // other files): a direct optimizer step after it in the same body runs in the same call.
    for (const fn of steppingFunctions(a)) if (!epochs.includes(fn)) scan(ctx, fn, bodyOf(fn), true);
  },
};

/**
 * Functions that step a scheduler in their own body (outside their loops) and that the file calls only from inside
 * loops (`for epoch in ...: train(loader, optimizer, scheduler)`): each call is one iteration of the caller's loop, so
 * the body is scanned like a loop body.
 */
function epochFunctions(a: Analysis): PyNode[] {
  const out = new Set<PyNode>();
  for (const call of a.callsNamed('step')) {
    const fn = call.ancestor('function_definition');
    if (!fn || out.has(fn) || innermostLoop(call) || !isTorchSchedulerStep(call, a)) continue;
    const name = fn.child('name')?.text;
    if (!name || a.functions.get(name)?.length !== 1) continue;
    const sites = evaluation(a).callSites(name);
    if (sites.length > 0 && sites.every((site) => innermostLoop(site) && !(fn.start <= site.start && site.end <= fn.end))) out.add(fn);
  }
  return [...out];
}

/** Functions with a torch scheduler step outside any loop of theirs. */
function steppingFunctions(a: Analysis): PyNode[] {
  const out = new Set<PyNode>();
  for (const call of a.callsNamed('step')) {
    const fn = call.ancestor('function_definition');
    if (fn && !out.has(fn) && innermostLoopIs(call, fn) && isTorchSchedulerStep(call, a)) out.add(fn);
  }
  return [...out];
}

/** Blocks of an `if` (its branches) or a `with` whose statements run in order within one iteration. */
function innerBlocks(s: PyNode): PyNode[][] {
  if (s.type === 'with_statement') return [bodyOf(s)];
  if (s.type !== 'if_statement') return [];
  const out = [statementsOf(s.child('consequence'))];
  for (const alt of s.children) {
    if (alt.type === 'elif_clause') out.push(statementsOf(alt.child('consequence')));
    else if (alt.type === 'else_clause') out.push(bodyOf(alt));
  }
  return out;
}

function statementsOf(block: PyNode | undefined): PyNode[] {
  if (!block) return [];
  return block.type === 'block' ? block.namedChildren.filter((c) => c.type !== 'comment') : [block];
}

/**
 * Scans the statements of one block of `loop`'s body in order: a scheduler step seen before the first statement that
 * reaches the optimizer step is reported. A statement that reaches it but holds no earlier scheduler step is an `if` or
 * `with` (the accumulation guard `if (i + 1) % accum == 0:`): its blocks are scanned the same way. Inside such a
 * block (`nested`) only a direct optimizer step counts, so an `if epoch > 0:` around a whole epoch of batches (which acts
 * as the previous epoch's end) stays silent.
 */
function scan(ctx: RuleContext, loop: PyNode, stmts: PyNode[], nested: boolean): void {
  const a = ctx.analysis;
  let sched: { stmt: PyNode; call: PyNode } | undefined;
  for (const s of stmts) {
    const reaches = nested ? callsWithin(s).some((c) => isOptimizerStep(c, a) && innermostLoopIs(c, loop)) : reachableCalls(a, s).some((c) => isOptimizerStep(c, a));
    if (reaches) {
      if (sched) {
        ctx.report({
          node: sched.call,
          message: `${sched.call.text} runs before the optimizer step of this ${loop.type === 'function_definition' ? 'call' : 'iteration'}, so the schedule is off by one step (PyTorch warns). Call it after optimizer.step().`,
          fixes: sched.stmt.type === 'expression_statement' ? moveToEnd(sched.stmt, stmts) : undefined,
        });
      } else {
        for (const block of innerBlocks(s)) scan(ctx, loop, block, true);
      }
      return;
    }
    // Guards such as `if epoch > 0:` make a top-of-loop step act as the previous epoch's end: only `phase == "train"`
    // and a check that the scheduler exists (`if scheduler is not None:`) count.
    const phaseIf = s.type === 'if_statement' && /==\s*['"]|['"]\s*==/.test(s.child('condition')?.text ?? '');
    if (!sched && (s.type === 'expression_statement' || phaseIf || s.type === 'if_statement')) {
      const call = callsWithin(s).find((c) => isTorchSchedulerStep(c, a) && innermostLoopIs(c, loop) && (s.type !== 'if_statement' || phaseIf || presenceGuard(s, c)));
      if (call) sched = { stmt: s, call };
    }
  }
}

/**
 * `if scheduler is not None:` (also `if scheduler:`, `!= None`) with no other branch, around a step of that scheduler:
 * the optional-scheduler idiom, which runs the step whenever there is one.
 */
function presenceGuard(s: PyNode, call: PyNode): boolean {
  if (s.children.some((c) => c.type === 'elif_clause' || c.type === 'else_clause')) return false;
  const recv = receiver(call)?.text;
  const cond = unparen(s.child('condition'))?.text.replace(/\s+/g, ' ');
  return !!recv && (cond === recv || cond === `${recv} is not None` || cond === `${recv} != None`);
}

/** Whether `loop` (a loop, or a function scanned as one) is the innermost loop or function around `n`. */
function innermostLoopIs(n: PyNode, loop: PyNode): boolean {
  for (let p = n.parent; p; p = p.parent) {
    if (p.type === 'for_statement' || p.type === 'while_statement' || p.type === 'function_definition') return p === loop;
  }
  return false;
}

/** Moves the scheduler step to the end of the loop body. */
function moveToEnd(stmt: PyNode, stmts: PyNode[]): RawFix[] | undefined {
  const last = stmts[stmts.length - 1];
  if (!last || last === stmt || /^(return|break|continue|raise)/.test(last.type)) return undefined;
  const del = deleteStatementLines(stmt);
  if (!del) return undefined;
  const src = last.src.text;
  const nl = src.indexOf('\n', last.end);
  const at = nl === -1 ? src.length : nl;
  return [{ title: `Move ${stmt.text} after the optimizer step`, edits: [del, { start: at, end: at, newText: `\n${indentOf(stmt)}${stmt.text}` }] }];
}

// pytorch_transformers' schedules (LambdaLR subclasses), copied with their names into many projects' own modules.
const COPIED_SCHEDULES = /^(Warmup(Linear|Cosine|Constant|CosineWithHardRestarts)Schedule|ConstantLRSchedule)$/;

/**
 * `scheduler.step()` on a scheduler stepped the torch way: `isSchedulerStep`, or a receiver every value of which (every
 * assignment that reaches it, or every `self.x = ...` of the class) is built by a scheduler class `torchSchedulerClass`
 * accepts or a torch / Hugging Face schedule.
 */
function isTorchSchedulerStep(call: PyNode, a: Analysis): boolean {
  if (calleeName(call) !== 'step' || call.child('arguments')?.namedChildren.length) return false;
  if (isSchedulerStep(call, a)) return true;
  const recv = receiver(call);
  let values: (PyNode | undefined)[] | undefined;
  if (recv?.type === 'identifier') values = reachingDefs(recv)?.map((d) => (d.index === undefined ? d.value : undefined));
  else if (recv?.type === 'attribute' && recv.child('object')?.text === 'self') {
    const cls = recv.ancestor('class_definition');
    values = cls ? a.scopes.selfAttr(cls, recv.child('attribute')!.text) : undefined;
  }
  if (!values?.length) return false;
  return values.every((v) => builtAsTorchScheduler(a, v, 0));
}

/**
 * A value built by a scheduler class `torchSchedulerClass` accepts or a torch / Hugging Face schedule; a parameter
 * (`self.scheduler = scheduler` in `__init__`) through the argument of every call site in the file, and a name through
 * every assignment that reaches it.
 */
function builtAsTorchScheduler(a: Analysis, v: PyNode | undefined, depth: number): boolean {
  const built = unparen(v);
  if (built?.type === 'call') return isLrSchedulerBuild(a, built) || torchSchedulerClass(a, built);
  if (built?.type !== 'identifier' || depth > 2) return false;
  const args = parameterArguments(a, built);
  if (args) return args.length > 0 && args.every((x) => builtAsTorchScheduler(a, x, depth + 1));
  const defs = reachingDefs(built);
  return !!defs?.length && defs.every((d) => d.value !== undefined && d.index === undefined && builtAsTorchScheduler(a, d.value, depth + 1));
}

/**
 * The call builds a scheduler whose `step()` follows the optimizer's: a class of the file that subclasses a torch LR
 * scheduler (also through the file's other classes) and defines no `step` of its own on the way, or, when the file does
 * not define it, a class named as pytorch_transformers' schedules.
 */
function torchSchedulerClass(a: Analysis, call: PyNode): boolean {
  const q = a.callee(call) ?? call.child('function')?.text ?? '';
  const name = q.slice(q.lastIndexOf('.') + 1);
  const defs = a.index.of('class_definition').filter((c) => c.child('name')?.text === name);
  if (defs.length === 0) return COPIED_SCHEDULES.test(name);
  return defs.length === 1 && subclassesTorchScheduler(a, defs[0]!, 0);
}

function subclassesTorchScheduler(a: Analysis, cls: PyNode, depth: number): boolean {
  if (depth > 4 || methodsOf(cls).some((m) => m.child('name')?.text === 'step')) return false;
  return (cls.child('superclasses')?.namedChildren ?? []).some((b) => {
    const q = a.qname(b) ?? '';
    if (q.startsWith('torch.optim.lr_scheduler.')) return !/ReduceLROnPlateau$/.test(q);
    const local = a.index.of('class_definition').filter((c) => c.child('name')?.text === b.text);
    return local.length === 1 && local[0] !== cls && subclassesTorchScheduler(a, local[0]!, depth + 1);
  });
}
