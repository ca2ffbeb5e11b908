import { configValue } from '../../analysis/config';
import { calleeName, hasParameter, keywordArg, parameterNames, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { deleteStatementLines, hfSchedulerBuild, isSchedulerStep, lastName, operatorOf, receiverValue } from '../../analysis/order';
import { attributeValue } from '../../analysis/calls';
import { parameterArguments } from '../../analysis/parameters';
import { returnedValuesOfName } from '../../analysis/returnedValues';
import { scopeOf } from '../../analysis/scopes';
import { indentOf, iteratesBatches } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { RawEdit, RawFix, Rule, RuleContext } from '../../types';

/** Schedulers whose length is given in scheduler steps that people count in epochs: [class, the argument, its position]. */
const EPOCH_SCHEDULES: Record<string, [string, number]> = {
  StepLR: ['step_size', 1],
  MultiStepLR: ['milestones', 1],
  CosineAnnealingLR: ['T_max', 1],
  ExponentialLR: ['gamma', 1],
};

// Counted in epochs: an integer a training run has as many epochs of (a few hundred at most), or a name that says
// epochs and not iterations (`T_max=epochs * len(loader)` is a per-batch schedule, rightly stepped per batch).
const MAX_EPOCHS = 300;
const EPOCH_WORD = /epoch/i;
const PER_ITERATION = /len\(|iter|step|batch/i;
// After the keyword's own words are taken out of a name (`step_size=args.lr_step`, `milestones=cfg.lr_steps`): those
// say nothing about the unit, `per` still does (`args.steps_per_epoch`).
const PER_ITERATION_NAMED = /len\(|iter|step|batch|per/i;
const OWN_WORDS: Record<string, RegExp> = { step_size: /(?<![a-z])(step|steps|size)(?![a-z])/gi, milestones: /(?<![a-z])(step|steps|milestones?)(?![a-z])/gi };

/**
 * Whether a scheduler length counts epochs: a small integer or a list of them, a name that says epochs, or a
 * configuration read whose literal value the file shows (`step_size=cfg.step_size` with `step_size: int = 20`).
 */
function countsEpochs(a: Analysis, expr: PyNode, keyword?: string): boolean {
  const e = unparen(expr)!;
  if (e.type === 'integer') return Number(e.text) <= MAX_EPOCHS;
  if (e.type === 'list' || e.type === 'tuple') {
    const items = e.namedChildren.filter((c) => c.type !== 'comment');
    return items.length > 0 && items.every((c) => countsEpochs(a, c));
  }
  const own = keyword ? OWN_WORDS[keyword] : undefined;
  const text = own ? e.text.replace(own, '') : e.text;
  if (own ? PER_ITERATION_NAMED.test(text) : PER_ITERATION.test(text)) return false;
  if (EPOCH_WORD.test(text)) return true;
  const config = e.type === 'attribute' || e.type === 'subscript' ? configValue(a, e) : undefined;
  return !!config && (config.node.type === 'integer' || config.node.type === 'list' || config.node.type === 'tuple') && countsEpochs(a, config.node);
}

/** ExponentialLR: a decay per step that would vanish within a few epochs of batches (0.99^1000 = 4e-5). */
function fastDecay(a: Analysis, expr: PyNode): boolean {
  let e = unparen(expr)!;
  if (e.type === 'attribute' || e.type === 'subscript') e = configValue(a, e)?.node ?? e;
  return e.type === 'float' && Number(e.text) <= 0.99;
}

/** What the scheduler was built with, when it is one of EPOCH_SCHEDULES and its length looks like epochs. */
function epochSchedule(a: Analysis, built: PyNode, q: string): string | undefined {
  const name = q.slice('torch.optim.lr_scheduler.'.length);
  const spec = EPOCH_SCHEDULES[name];
  if (!spec) return undefined;
  const arg = keywordArg(built, spec[0]) ?? positionalArgs(built)[spec[1]];
  if (!arg) return undefined;
  const inEpochs = name === 'ExponentialLR' ? fastDecay(a, arg) : countsEpochs(a, arg, spec[0]);
  if (!inEpochs) return undefined;
  const e = unparen(arg)!;
  const config = e.type === 'attribute' || e.type === 'subscript' ? configValue(a, e) : undefined;
  return `${name}(${spec[0]}=${arg.text}${config ? `, ${config.origin}` : ''})`;
}

/** The step statement moved after the batch loop, at the loop's indentation. */
function moveAfterLoop(stmt: PyNode, loop: PyNode): RawFix[] | undefined {
  const del = deleteStatementLines(stmt);
  if (!del) return undefined;
  const src = loop.src.text;
  const nl = src.indexOf('\n', loop.end);
  const at = nl === -1 ? src.length : nl;
  return [{ title: `Step ${stmt.text.replace(/\.step\(\)$/, '')} once per epoch, after the batch loop`, edits: [del, { start: at, end: at, newText: `\n${indentOf(loop)}${stmt.text}` }] }];
}

// A training flag: `if is_train:`, `if model.training:`.
const TRAIN_FLAG = /^((self|model)\.)?(is_?train(ing)?|train(ing)?)$/;
const EQUALITY = new Set(['==', '!=', 'in', 'not in', 'is', 'is not']);

// The values of a train/val phase; `interval == "step"` is a deliberate per-iteration option, not a phase.
const PHASE_VALUE = /^[rbuf]*['"](train|training|val|valid|validation|eval|test)['"]$/i;

/** A phase string, or a list / tuple / set of them. */
function isPhaseValue(n: PyNode | undefined): boolean {
  const e = unparen(n);
  if (e?.type === 'string') return PHASE_VALUE.test(e.text);
  return (e?.type === 'list' || e?.type === 'tuple' || e?.type === 'set') && e.namedChildren.length > 0 && e.namedChildren.every((c) => c.type === 'string' && PHASE_VALUE.test(c.text));
}

/**
 * A condition that holds on every training batch: the phase of a shared train/val loop (`phase == "train"`,
 * `mode in ("train",)`) or a training flag, combined with not/and/or. Anything else (`i % 100 == 0`, `step > warmup`,
 * `accelerator.sync_gradients`) may make the step deliberately less frequent.
 */
function holdsEveryBatch(cond: PyNode | undefined): boolean {
  const c = unparen(cond);
  if (!c) return false;
  if (c.type === 'not_operator') return holdsEveryBatch(c.child('argument'));
  if (c.type === 'boolean_operator') return holdsEveryBatch(c.child('left')) && holdsEveryBatch(c.child('right'));
  if (c.type === 'identifier' || c.type === 'attribute') return TRAIN_FLAG.test(c.text);
  if (c.type !== 'comparison_operator' || c.namedChildren.length !== 2 || !EQUALITY.has(operatorOf(c) ?? '')) return false;
  const [l, r] = c.namedChildren;
  const named = (n: PyNode | undefined) => n?.type === 'identifier' || n?.type === 'attribute';
  return (named(unparen(l)) && isPhaseValue(r)) || (isPhaseValue(l) && named(unparen(r)));
}

/**
 * The batch loop whose every iteration runs `stmt`: up through `with` blocks and `if`s on the training phase
 * (`with torch.set_grad_enabled(...)`, `if phase == "train":`) to the nearest `for` over batches.
 */
function batchLoopOf(stmt: PyNode, a: Analysis, local: boolean): PyNode | undefined {
  for (let p = stmt.parent; p; p = p.parent) {
    switch (p.type) {
      case 'block':
      case 'with_statement':
        continue;
      case 'if_statement':
        if (!holdsEveryBatch(p.child('condition'))) return undefined;
        continue;
      case 'elif_clause':
      case 'else_clause':
        // An else of a for/while/try runs once, after the loop; the branches of an if: only under phase conditions.
        if (p.parent?.type !== 'if_statement' || !holdsEveryBatch(p.parent.child('condition'))) return undefined;
        if (p.type === 'elif_clause' && !holdsEveryBatch(p.child('condition'))) return undefined;
        p = p.parent;
        continue;
      case 'for_statement':
        // the candidate test (`local`) cannot follow call sites and helpers: it keeps every loop for the visit to decide
        return iteratesBatches(p, a) || local || iteratesLoader(p, a) ? p : undefined;
      default:
        return undefined;
    }
  }
  return undefined;
}

/**
 * A `for` over a name that says nothing (`for x, y in tqdm(train_iter)`) but holds a DataLoader: bound to one, or a
 * parameter every call site passes one for, or an element of what a helper of the file returns (`n, train_iter,
 * val_iter = prepare_data(args)`), a few links deep.
 */
function iteratesLoader(loop: PyNode, a: Analysis): boolean {
  let e = unparen(loop.child('right'));
  while (e?.type === 'call' && /^(enumerate|tqdm|trange|iter|track)$/.test(calleeName(e) ?? '')) e = unparen(positionalArgs(e)[0]);
  return !!e && holdsLoader(a, e, 0);
}

function holdsLoader(a: Analysis, expr: PyNode | undefined, depth: number): boolean {
  const e = unparen(expr);
  if (!e || depth > 4) return false;
  if (e.type === 'call') return /(^|\.)DataLoader$/.test(a.callee(e) ?? '');
  if (e.type !== 'identifier') return false;
  const returned = returnedValuesOfName(a, e);
  if (returned) return returned.every((r) => holdsLoader(a, r, depth + 1));
  const v = a.scopes.valueAt(e.text, e);
  if (v) return holdsLoader(a, v, depth + 1);
  if (v !== null || !hasParameter(scopeOf(e), e.text)) return false;
  const args = parameterArguments(a, e);
  return !!args?.length && args.every((x) => holdsLoader(a, x, depth + 1));
}

/** `self.scheduler.step()` where `__init__` stored a parameter (`self.scheduler = scheduler`): isSchedulerStep cannot see it. */
export function storedParameterStep(call: PyNode, a: Analysis): boolean {
  if (calleeName(call) !== 'step' || call.child('arguments')?.namedChildren.length) return false;
  const recv = receiver(call);
  const v = recv?.type === 'attribute' ? receiverValue(a, recv) : undefined;
  return v?.type === 'identifier' && a.scopes.valueAt(v.text, v) === null && /sched/i.test(lastName(recv)) && !/plateau/i.test(lastName(recv));
}

/** A scheduler step without arguments, run on every batch of a batch loop (the candidate test, statement-local). */
function perBatchStep(call: PyNode, a: Analysis, local = false): PyNode | undefined {
  const stmt = call.parent;
  if (stmt?.type !== 'expression_statement') return undefined;
  if (!isSchedulerStep(call, a) && !storedParameterStep(call, a)) return undefined;
  return batchLoopOf(stmt, a, local);
}

/**
 * The call an argument holds: `StepLR(...)` itself, or the value of the name or attribute passed (`self.scheduler`
 * through the class that assigns it, `trainer.scheduler` with `trainer = Trainer(...)`), a few links deep.
 */
function builtValue(a: Analysis, arg: PyNode, depth = 0): PyNode | undefined {
  let e = unparen(arg);
  for (let i = 0; i < 3 && e && e.type !== 'call'; i++) {
    if (e.type === 'identifier') {
      const returned = depth < 2 ? returnedValuesOfName(a, e) : undefined;
      if (returned) return agreedBuild(a, returned, depth);
      e = unparen(a.scopes.valueAt(e.text, e) ?? undefined);
    } else e = e.type === 'attribute' ? unparen(attributeValue(a, e)) : undefined;
  }
  return e?.type === 'call' ? e : undefined;
}

/** The one build every value a helper returns holds (`return model, opt, StepLR(...)`), else undefined. */
function agreedBuild(a: Analysis, values: readonly PyNode[], depth: number): PyNode | undefined {
  let found: PyNode | undefined;
  for (const v of values) {
    const b = builtValue(a, v, depth + 1);
    if (!b || (found && found !== b)) return undefined;
    found = b;
  }
  return found;
}

const onlyBuild = new WeakMap<Analysis, PyNode | null>();

/**
 * The file's one LR scheduler build (`torch.optim.lr_scheduler.X(...)`), when it builds exactly one and no scheduler
 * through a factory (`get_cosine_schedule_with_warmup`, `make_scheduler`): what a scheduler parameter must hold.
 */
function onlySchedulerBuild(a: Analysis): PyNode | undefined {
  let b = onlyBuild.get(a);
  if (b === undefined) {
    const builds: PyNode[] = [];
    let factory = false;
    for (const c of a.index.of('call')) {
      const name = calleeName(c) ?? '';
      if (!/^[A-Z]|[Ss]ched/.test(name)) continue; // cheap name test first: classes and scheduler factories
      if (a.callee(c)?.startsWith('torch.optim.lr_scheduler.') || hfSchedulerBuild(a, c)) builds.push(c);
      else if (/sched/i.test(name)) factory = true;
    }
    onlyBuild.set(a, (b = builds.length === 1 && !factory ? builds[0]! : null));
  }
  return b ?? undefined;
}

/**
 * What the stepped scheduler was built by: its value in the file, through `self.x = x` and a parameter's arguments at
 * the call sites, else (a parameter whose callers we cannot see) the file's only scheduler build when `onlyBuild`.
 * Shared with HP006 (which does not guess).
 */
export function schedulerBuilds(a: Analysis, recv: PyNode, onlyBuild = true): PyNode[] | undefined {
  let id: PyNode | undefined = recv.type === 'identifier' ? recv : undefined;
  let v = receiverValue(a, recv);
  if (v?.type === 'identifier') {
    id = v;
    v = a.scopes.valueAt(v.text, v) ?? undefined;
  }
  // `model, opt, scheduler = prepare(args)`: what the helper of the file returns there
  const returned = id && (!v || v.type === 'call') ? returnedValuesOfName(a, id) : undefined;
  const fromHelper = returned ? agreedBuild(a, returned, 0) : undefined;
  if (fromHelper) return [fromHelper];
  if (v) return [v];
  if (!id || !hasParameter(scopeOf(id), id.text)) return undefined;
  const args = parameterArguments(a, id)?.map((arg) => builtValue(a, arg));
  if (args?.length && args.every((x) => x !== undefined)) return args as PyNode[];
  if (!onlyBuild) return undefined;
  const only = onlySchedulerBuild(a);
  return only ? [only] : undefined;
}

// Schedulers given a function of the step count.
const LAMBDA_SCHEDULES = new Set(['torch.optim.lr_scheduler.LambdaLR', 'torch.optim.lr_scheduler.MultiplicativeLR']);
// Operators that measure the count against a length: a phase boundary or a fraction of the run.
const MEASURING = new Set(['<', '<=', '>', '>=', '/', '//', '%']);
// Words of a function that counts steps or batches (`warmup_steps`, `len(loader)`, `total_iters`).
const COUNTS_BATCHES = /len\(|iter|step|batch/i;

/** The function a `lr_lambda` argument names: a lambda, or the file's one `def` of that name. */
function lambdaFunction(a: Analysis, arg: PyNode): PyNode | undefined {
  const e = unparen(arg);
  if (e?.type === 'lambda') return e;
  if (e?.type !== 'identifier') return undefined;
  const defs = a.functions.get(e.text) ?? [];
  return defs.length === 1 ? defs[0] : undefined;
}

/**
 * `LambdaLR(opt, lr_lambda=f)` where `f` measures its count against a length in epochs (`if epoch < args.epochs_warmup`,
 * `math.cos(math.pi * epoch / args.epochs)`) and says nothing of steps or batches: a schedule written in epochs.
 */
function lambdaEpochSchedule(a: Analysis, built: PyNode, q: string): string | undefined {
  const arg = keywordArg(built, 'lr_lambda') ?? positionalArgs(built)[1];
  const fn = arg ? lambdaFunction(a, arg) : undefined;
  const params = fn ? parameterNames(fn) : [];
  const count = params.length === 1 ? params[0]! : undefined;
  const body = fn?.child('body');
  if (!count || !body || COUNTS_BATCHES.test(count) || COUNTS_BATCHES.test(body.text)) return undefined;
  let length: PyNode | undefined;
  body.walk((n) => {
    if (length) return false;
    if (n.type !== 'comparison_operator' && n.type !== 'binary_operator') return undefined;
    if (!MEASURING.has(operatorOf(n) ?? '')) return undefined;
    const [l, r] = n.type === 'binary_operator' ? [n.child('left'), n.child('right')] : n.namedChildren;
    const other = mentions(l, count) ? r : mentions(r, count) ? l : undefined;
    if (other && EPOCH_WORD.test(other.text) && !mentions(other, count)) length = other;
    return undefined;
  });
  return length ? `${q.slice('torch.optim.lr_scheduler.'.length)}(${arg!.text}), whose function divides or compares its count with ${length.text},` : undefined;
}

/** Whether an expression reads the name. */
function mentions(e: PyNode | null | undefined, name: string): boolean {
  let found = false;
  e?.walk((n) => {
    if (found) return false;
    if (n.type === 'identifier' && n.text === name && !(n.parent?.type === 'attribute' && n.parent.child('attribute') === n)) found = true;
    return undefined;
  });
  return found;
}

/** The schedule text when every build is an epoch schedule (one that is not stays silent). */
function epochScheduleOfAll(a: Analysis, builds: PyNode[]): string | undefined {
  let first: string | undefined;
  for (const b of builds) {
    const q = b.type === 'call' ? a.callee(b) : undefined;
    const s = !q ? undefined : LAMBDA_SCHEDULES.has(q) ? lambdaEpochSchedule(a, b, q) : q.startsWith('torch.optim.lr_scheduler.') ? epochSchedule(a, b, q) : undefined;
    if (!s) return undefined;
    first ??= s;
  }
  return first;
}

// Hugging Face schedules whose third positional argument is num_training_steps.
const HF_TOTAL_AT_2 = /^get_(linear|cosine|cosine_with_hard_restarts|polynomial_decay)_schedule_with_warmup$/;

/** num_training_steps of a Hugging Face schedule build (keyword, or its position), else undefined. */
function hfTotalSteps(a: Analysis, build: PyNode): { name: string; arg: PyNode } | undefined {
  const name = hfSchedulerBuild(a, build);
  if (!name) return undefined;
  const arg = keywordArg(build, 'num_training_steps') ?? (HF_TOTAL_AT_2.test(name) ? positionalArgs(build)[2] : name === 'get_scheduler' ? positionalArgs(build)[3] : undefined);
  return arg ? { name, arg: unparen(arg)! } : undefined;
}

// A count of epochs by its name alone: `epochs`, `EPOCHS`, `num_epochs`, `n_epochs`, `args.num_train_epochs`, `max_epochs`.
const EPOCH_COUNT = /^((n|num|max|total|nb)_?)?(train(ing)?_?)?epochs?$/i;

/** A Hugging Face schedule given its length in epochs: `num_training_steps=epochs`. */
function hfEpochTotal(a: Analysis, build: PyNode): { name: string; arg: PyNode } | undefined {
  const t = hfTotalSteps(a, build);
  if (!t || (t.arg.type !== 'identifier' && t.arg.type !== 'attribute')) return undefined;
  if (!EPOCH_COUNT.test(lastName(t.arg))) return undefined;
  // `epochs = len(loader) * 3`: a misleading name for a count of batches.
  const v = t.arg.type === 'identifier' ? a.scopes.valueAt(t.arg.text, build) : undefined;
  return v && PER_ITERATION.test(v.text) ? undefined : t;
}

/** The loader a batch loop iterates: `train_dataloader` in `for step, batch in enumerate(tqdm(train_dataloader)):`. */
function loaderOf(loop: PyNode): PyNode | undefined {
  let e = unparen(loop.child('right'));
  for (let i = 0; i < 3 && e?.type === 'call'; i++) {
    if (!/^(enumerate|tqdm|trange|iter|track)$/.test(calleeName(e) ?? '')) return undefined;
    e = unparen(positionalArgs(e)[0]);
  }
  return e?.type === 'identifier' || (e?.type === 'attribute' && e.child('object')?.type === 'identifier') ? e : undefined;
}

/** `num_training_steps=epochs` -> `epochs * len(train_dataloader)`, when the loader is bound where the schedule is built. */
function totalStepsFix(a: Analysis, arg: PyNode, build: PyNode, loop: PyNode): RawFix[] | undefined {
  const loader = loaderOf(loop);
  if (!loader) return undefined;
  const root = loader.type === 'identifier' ? loader : loader.child('object')!;
  const v = a.scopes.valueAt(root.text, build);
  const bound = v ? v.start < build.start : v === null && hasParameter(scopeOf(build), root.text);
  if (!bound || (root.text === 'self' && scopeOf(build) !== scopeOf(loop))) return undefined;
  const edit: RawEdit = { start: arg.start, end: arg.end, newText: `${arg.text} * len(${loader.text})` };
  return [{ title: `Count the schedule in batches: ${arg.text} * len(${loader.text})`, edits: [edit] }];
}

/** HP003 for a Hugging Face schedule sized in epochs and stepped per batch. */
function reportHfEpochTotal(ctx: RuleContext, call: PyNode, loop: PyNode, builds: PyNode[]): boolean {
  const a = ctx.analysis;
  const totals = builds.map((b) => (b.type === 'call' ? hfEpochTotal(a, b) : undefined));
  const first = totals[0];
  if (!first || totals.some((t) => !t)) return false;
  const fixes = builds.length === 1 ? totalStepsFix(a, first.arg, builds[0]!, loop) : undefined;
  const loader = loaderOf(loop)?.text ?? 'train_loader';
  ctx.report({
    node: call,
    message: `${call.text} runs once per batch, but ${first.name}(num_training_steps=${first.arg.text}) counts epochs: the schedule is over after ${first.arg.text} batches and the learning rate stays at its final value (0 for linear and cosine). Count it in batches: num_training_steps=${first.arg.text} * len(${loader}).`,
    fixes,
  });
  return true;
}

export const HP003: Rule = {
  meta: {
    id: 'HP003',
    name: 'epoch-scheduler-stepped-per-batch',
    group: 'hyperparameters',
    defaultSeverity: 'warning',
    summary: 'A learning-rate schedule set in epochs (StepLR, MultiStepLR, CosineAnnealingLR, ExponentialLR, a Hugging Face schedule with num_training_steps=epochs) is stepped once per batch (the reverse is HP006).',
    why:
      'These schedulers count calls to `scheduler.step()`, not epochs. Built with a length in epochs (`StepLR(step_size=30)`, ' +
      '`CosineAnnealingLR(T_max=epochs)`, `MultiStepLR(milestones=[30, 60])`, `ExponentialLR(gamma=0.95)`) but stepped ' +
      'inside the batch loop, the schedule runs hundreds of times faster than meant: the learning rate decays to almost ' +
      'nothing within the first epoch, or a cosine schedule cycles every few dozen batches. Training stalls early and ' +
      'nothing fails. Step these schedulers once per epoch, after the batch loop; a per-batch schedule counts batches ' +
      '(`T_max=epochs * len(train_loader)`, `OneCycleLR`). The same goes for a Hugging Face warm-up schedule ' +
      '(`get_linear_schedule_with_warmup`, `get_cosine_schedule_with_warmup`, `get_scheduler`) given ' +
      '`num_training_steps=epochs`: stepped per batch, it is over after `epochs` batches and the learning rate stays at 0; ' +
      'count it in batches (`epochs * len(train_dataloader)`), and to a `LambdaLR` whose function measures its count against ' +
      'a length in epochs (`if epoch < warmup_epochs`, `cos(pi * epoch / epochs)`). The reverse, a schedule counted in batches stepped once per ' +
      'epoch, is HP006.',
    wrong: 'scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=30, gamma=0.1)\nfor epoch in range(90):\n    for x, y in train_loader:\n        ...\n        optimizer.step()\n        scheduler.step()',
    right: 'scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=30, gamma=0.1)\nfor epoch in range(90):\n    for x, y in train_loader:\n        ...\n        optimizer.step()\n    scheduler.step()',
    concept: 'Optimisation: learning-rate schedules and what one scheduler step means',
    fixable: true,
  },
  nodeTypes: ['call'],
  // Not statement-local: a scheduler passed as a parameter is resolved at the function's call sites.
  candidate: {
    reads: ['imports', 'scopes'],
    test: (call, ctx) => perBatchStep(call, ctx.analysis, true) !== undefined,
  },
  visit(call, ctx) {
    const a = ctx.analysis;
    const loop = perBatchStep(call, a);
    if (!loop) return;
    const builds = schedulerBuilds(a, receiver(call)!);
    if (builds && reportHfEpochTotal(ctx, call, loop, builds)) return;
    const schedule = builds ? epochScheduleOfAll(a, builds) : undefined;
    if (!schedule) return;
    const stmt = call.parent!;
    // Moving the step is safe only from the loop's own body: under `if phase == "train":` it would also run for val.
    const direct = stmt.parent?.type === 'block' && stmt.parent.parent === loop;
    ctx.report({
      node: call,
      message: `${call.text} runs once per batch, but ${schedule} counts epochs: the schedule runs about len(loader) times too fast. Step it once per epoch, after the batch loop.`,
      fixes: direct ? moveAfterLoop(stmt, loop) : undefined,
    });
  },
};
