import { callsWithin, calleeName, enclosingFunction, hasParameter, keywordArg, loopTargetBinds, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { argumentOrDefault, callSitesOf } from '../../analysis/calls';
import { hfSchedulerBuild, operatorOf, reachableCalls } from '../../analysis/order';
import { innermostLoop, isBackward, isOptimizerClass, isOptimizerStep, isOtherOptimizerClass, optimizedModel } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { Rule, RuleContext } from '../../types';

const SCHEDULERS = 'torch.optim.lr_scheduler.';
// Calls that give a model fresh weights: an optimizer made after them starting from zero state is intended.
const REINIT = new Set(['load_state_dict', 'apply', 'reset_parameters', 'init_weights']);

/** The loops around a node (innermost first) up to the enclosing function. */
function loopsAround(node: PyNode): PyNode[] {
  const loops: PyNode[] = [];
  for (let l = innermostLoop(node); l; l = innermostLoop(l)) loops.push(l);
  return loops;
}

const trainingCall = (a: Analysis) => (c: PyNode) => isBackward(c) || isOptimizerStep(c, a);

/**
 * Whether the loop trains: it runs backward() or an optimizer step, here, in a nested loop, or in a function of the
 * file it calls (`train_one_epoch(model, loader, optimizer)`, `self.train_epoch()`).
 */
function trains(loop: PyNode, a: Analysis): boolean {
  // callsWithin first: memoised and enough for most loops; reachableCalls repeats it and follows the file's functions.
  return callsWithin(loop).some(trainingCall(a)) || reachableCalls(a, loop).some(trainingCall(a));
}

/** Whether the loop's own body (not a nested loop's, not a called function's) runs backward() or an optimizer step. */
function trainsDirectly(loop: PyNode, a: Analysis): boolean {
  return callsWithin(loop).some((c) => trainingCall(a)(c) && innermostLoop(c) === loop);
}

/** An optimizer or LR scheduler class built by this call (a Hugging Face schedule factory included). */
function buildsOptimizer(q: string | undefined, call: PyNode, a: Analysis): q is string {
  return !!q && (isStatefulOptimizerClass(q) || (q.startsWith(SCHEDULERS) && /\.[A-Z]\w*$/.test(q)) || hfSchedulerBuild(a, call) !== undefined);
}

/** Whether `name` (a variable or `self.x`) is given a new value inside the loop: assigned, a loop target, re-initialised. */
function renewedIn(loop: PyNode, name: string): boolean {
  let assigned = false;
  // The loop's own subtree, as the node index sees it (no ERROR subtrees, no string contents).
  loop.walk((n) => {
    if (assigned || n.type === 'ERROR' || n.type === 'string') return false;
    if (n.type === 'assignment' && n.child('left')?.text === name) assigned = true;
  });
  if (assigned) return true;
  if (loopTargetBinds(loop, name)) return true; // for model in models:
  return callsWithin(loop).some((c) => REINIT.has(calleeName(c) ?? '') && receiver(c)?.text === name);
}

/** An optimizer class of torch.optim or of a known package (Hugging Face, apex, bitsandbytes, timm, ...). */
function isStatefulOptimizerClass(q: string): boolean {
  return isOptimizerClass(q) || isOtherOptimizerClass(q);
}

/** `Adam` for `torch.optim.Adam`, `FusedAdam` for `apex.optimizers.FusedAdam`. */
const className = (q: string) => q.slice(q.lastIndexOf('.') + 1);

/** Optimizers that keep state between steps; plain SGD without momentum keeps none, so re-creating it is harmless. */
function keepsState(q: string, call: PyNode): boolean {
  if (q !== 'torch.optim.SGD' && q !== 'apex.optimizers.FusedSGD') return true;
  const m = keywordArg(call, 'momentum') ?? positionalArgs(call)[2];
  return m !== undefined && !/^0*\.?0*$/.test(m.text);
}

export const TL013: Rule = {
  meta: {
    id: 'TL013',
    name: 'optimizer-recreated-in-loop',
    group: 'training-loop',
    defaultSeverity: 'warning',
    summary: 'The optimizer or LR scheduler is created inside the training loop, so its state restarts every iteration.',
    why:
      'An optimizer keeps state between steps: momentum buffers for SGD with momentum, running averages of the gradient ' +
      'and its square for Adam, RMSprop and AdaGrad. Created inside the loop, it starts from zero on every iteration: ' +
      "momentum never builds up, and Adam's first step after a reset is a full-size step in every weight, so training is " +
      'noisy or stalls. An LR scheduler created inside the loop restarts its schedule each time, so the learning rate ' +
      'never decays. The same holds when the optimizer is built in a function or method the epoch loop calls every epoch ' +
      '(`trainer.train_epoch(model)`, directly or one call deeper), also under a default-argument guard ' +
      '(`def train_epoch(model, opt=None): if opt is None: opt = Adam(...)`) when no call passes `opt`. Nothing fails; the ' +
      'model just trains badly. Create both once, before the loop. Not reported: a LambdaLR / MultiplicativeLR whose ' +
      'function ignores its step argument and reads a counter of its own (rebuilding it sets the intended rate).',
    wrong: 'model = Net()\nfor epoch in range(10):\n    optimizer = optim.Adam(model.parameters(), lr=1e-3)\n    for x, y in loader:\n        optimizer.zero_grad()\n        loss = criterion(model(x), y)\n        loss.backward()\n        optimizer.step()',
    right: 'model = Net()\noptimizer = optim.Adam(model.parameters(), lr=1e-3)\nfor epoch in range(10):\n    for x, y in loader:\n        optimizer.zero_grad()\n        loss = criterion(model(x), y)\n        loss.backward()\n        optimizer.step()',
    concept: 'Optimizer state: momentum and adaptive learning rates',
    fixable: false,
  },
  nodeTypes: ['call'],
  // Not statement-local: the loop may train through functions defined elsewhere in the file.
  candidate: {
    reads: ['imports'],
    test: (call, ctx) =>
      (buildsOptimizer(ctx.analysis.callee(call), call, ctx.analysis) && (innermostLoop(call) !== undefined || builtAtTopOf(call) !== undefined)) ||
      factoryCallInLoop(call),
  },
  visit(call, ctx) {
    const a = ctx.analysis;
    const q = a.callee(call);
    if (!buildsOptimizer(q, call, a)) {
      if (factoryCallInLoop(call)) factoryInLoop(call, ctx);
      return;
    }
    if (!innermostLoop(call)) {
      epochFunction(call, q, ctx);
      return;
    }
    const loop = loopsAround(call).find((l) => trains(l, a));
    if (!loop || builtOnceIn(call, loop)) return;
    const hf = hfSchedulerBuild(a, call);
    if (q.startsWith(SCHEDULERS) || hf) {
      // The schedule restarts only if the optimizer it drives lives on across iterations. A Hugging Face schedule is
      // sized for one run (num_training_steps): rebuilt only in an epoch loop is it surely a restart.
      const optimizer = schedulerOptimizer(call, hf);
      if (!optimizer || renewedIn(loop, optimizer.text) || ignoresItsStep(a, q, call)) return;
      if (hf && !isEpochLoop(loop)) return;
      ctx.report({ node: call, message: `${hf ?? q.slice(SCHEDULERS.length)} is created inside the training loop: its schedule restarts each time the loop creates it, so the learning rate never follows it. Create it once, before the loop.` });
      return;
    }
    if (!keepsState(q, call)) return;
    const model = optimizedModel(call);
    if (!model || renewedIn(loop, model)) return; // a new model each iteration (a sweep, a fold) gets a new optimizer
    // A loop that trains through an inner loop (or a function) is a restart only if it is an epoch loop: an outer
    // loop over devices, learning rates or seeds (`for device in ['cpu', 'cuda']:`) gives each run its own optimizer.
    if (!trainsDirectly(loop, a) && !isEpochLoop(loop)) return;
    ctx.report({ node: call, message: `${className(q)} is created inside the training loop: its state (momentum, running averages) starts again from zero each time the loop creates it. Create it once, before the loop.` });
  },
};

/** `if opt is None: opt = Adam(...)` inside the loop: built on the first iteration only, then reused. */
function builtOnceIn(call: PyNode, loop: PyNode): boolean {
  const assignment = call.parent?.type === 'assignment' && call.parent.child('right') === call ? call.parent : undefined;
  const target = assignment?.child('left')?.text;
  if (!target) return false;
  for (let n = call.parent; n && n !== loop; n = n.parent) {
    if (n.type === 'block' && n.field === 'consequence' && n.parent?.type === 'if_statement' && testsNone(n.parent.child('condition'), target)) return true;
  }
  return false;
}

/**
 * A LambdaLR / MultiplicativeLR whose every function ignores the step count it is given and reads its own counter
 * (`lambda _: (1 - it / max_it) ** 0.9` with `it` a global): rebuilt every iteration, it sets the intended rate.
 */
function ignoresItsStep(a: Analysis, q: string, call: PyNode): boolean {
  if (q !== `${SCHEDULERS}LambdaLR` && q !== `${SCHEDULERS}MultiplicativeLR`) return false;
  const fns = unparen(keywordArg(call, 'lr_lambda') ?? positionalArgs(call)[1]);
  if (!fns) return false;
  const list = fns.type === 'list' || fns.type === 'tuple' ? fns.namedChildren.filter((c) => c.type !== 'comment') : [fns];
  return list.length > 0 && list.every((f) => {
    const fn = lambdaOrDef(a, f);
    return fn !== undefined && !usesFirstParameter(fn);
  });
}

/** The lambda or plain function of the file an expression names (`lambda e: ...`, `f` with `f = lambda ...` or `def f`). */
function lambdaOrDef(a: Analysis, e: PyNode): PyNode | undefined {
  const x = unparen(e);
  if (x?.type === 'lambda') return x;
  if (x?.type !== 'identifier') return undefined;
  const bound = a.scopes.valueAt(x.text, x);
  if (bound) return unparen(bound)?.type === 'lambda' ? unparen(bound) : undefined;
  const defs = a.functions.get(x.text) ?? [];
  return defs.length === 1 && !defs[0]!.ancestor('class_definition') ? defs[0] : undefined;
}

/** Whether a lambda or def reads its first parameter (true when that cannot be told: `*args`, none, a default). */
function usesFirstParameter(fn: PyNode): boolean {
  const first = fn.child('parameters')?.namedChildren.find((c) => c.type !== 'comment');
  if (first?.type !== 'identifier') return true;
  const body = fn.child('body');
  let used = false;
  body?.walk((n) => {
    if (used) return false;
    if (n.type === 'identifier' && n.text === first.text) used = true;
    return undefined;
  });
  return used || !body;
}

/** The optimizer a scheduler build drives: its first argument, `get_scheduler(name, optimizer, ...)`'s second. */
function schedulerOptimizer(call: PyNode, hf: string | undefined): PyNode | undefined {
  return keywordArg(call, 'optimizer') ?? positionalArgs(call)[hf === 'get_scheduler' ? 1 : 0];
}

// An epoch loop: `for epoch in range(...)`, `for ep in ...`, `for _ in range(num_epochs)`, `while epoch < epochs`.
const EPOCH_TARGET = /^(epoch|ep|e|\w*_epoch|epoch_\w+)$/i;
function isEpochLoop(loop: PyNode): boolean {
  if (loop.type === 'while_statement') return /epoch/i.test(loop.child('condition')?.text ?? '');
  const target = loop.child('left');
  if (target?.type === 'identifier' && EPOCH_TARGET.test(target.text)) return true;
  const right = loop.child('right');
  return right?.type === 'call' && calleeName(right) === 'range' && /epoch/i.test(right.child('arguments')?.text ?? '');
}

/**
 * The function whose body builds `call` in one of its own top-level statements (`optimizer = AdamW(...)`), also inside
 * a `with` or an `if`/`else` of that body whose every branch assigns the same name (so every call builds it; a lone
 * `if epoch == 0:` builds it once; a branch that raises builds nothing and goes nowhere). A default-argument guard,
 * `def f(..., opt=None): if opt is None: opt = Adam(...)`, builds it on every call that leaves `opt` out: with
 * `sites`, every call of the function must (without it, the syntactic test of the candidate, the guard is accepted).
 */
function builtAtTopOf(call: PyNode, sites?: (fn: PyNode, name: string) => boolean): PyNode | undefined {
  const assignment = call.parent?.type === 'assignment' && call.parent.child('right') === call ? call.parent : undefined;
  const stmt = assignment ? assignment.parent : call.parent;
  if (stmt?.type !== 'expression_statement') return undefined;
  const target = assignment?.child('left')?.text;
  let guarded = false;
  for (let block = stmt.parent; block?.type === 'block'; ) {
    const owner = block.parent;
    if (owner?.type === 'function_definition') {
      if (!guarded) return owner;
      return defaultsToNone(owner, target!) && (!sites || sites(owner, target!)) ? owner : undefined;
    }
    if (owner?.type === 'with_statement') block = owner.parent;
    else if (target && owner?.type === 'if_statement' && isNoneGuard(owner, target)) {
      guarded = true;
      block = owner.parent;
    } else {
      const ifStmt = owner?.type === 'if_statement' ? owner : owner?.type === 'else_clause' || owner?.type === 'elif_clause' ? owner.parent : undefined;
      if (!target || ifStmt?.type !== 'if_statement') return undefined;
      const branches = everyBranchAssigns(ifStmt, target);
      if (!branches) return undefined;
      guarded ||= branches === 'guarded';
      block = ifStmt.parent;
    }
  }
  return undefined;
}

/** `if opt is None:` / `if not opt:` with no other branch: builds `name` only when it was not given. */
function isNoneGuard(s: PyNode, name: string): boolean {
  return s.childrenOf('alternative').length === 0 && testsNone(s.child('condition'), name);
}

/** `name is None` / `not name`. */
function testsNone(condition: PyNode | undefined, name: string): boolean {
  const cond = unparen(condition);
  if (cond?.type === 'comparison_operator') {
    const [left, right] = cond.namedChildren;
    return cond.namedChildren.length === 2 && left?.text === name && right?.type === 'none' && operatorOf(cond) === 'is';
  }
  return cond?.type === 'not_operator' && unparen(cond.child('argument'))?.text === name;
}

/** A parameter of `fn` whose default is None: `opt=None`, `opt: Optimizer = None`. */
function defaultsToNone(fn: PyNode, name: string): boolean {
  return (fn.child('parameters')?.namedChildren ?? []).some(
    (p) => (p.type === 'default_parameter' || p.type === 'typed_default_parameter') && p.child('name')?.text === name && unparen(p.child('value'))?.type === 'none',
  );
}

/**
 * Whether an `if` with an `else` assigns `name` on every branch that goes on: each branch assigns it a call in one of
 * its own statements (`'guarded'` when one does so under a default-argument guard, `if name is None:`) or raises.
 */
function everyBranchAssigns(s: PyNode, name: string): 'plain' | 'guarded' | undefined {
  const branches = [s.child('consequence')];
  let hasElse = false;
  for (const alt of s.children) {
    if (alt.type === 'elif_clause') branches.push(alt.child('consequence'));
    else if (alt.type === 'else_clause') {
      hasElse = true;
      branches.push(alt.child('body'));
    }
  }
  const assigns = (st: PyNode): boolean => {
    const as = st.type === 'expression_statement' ? st.namedChildren[0] : undefined;
    return as?.type === 'assignment' && as.child('left')?.text === name && as.child('right')?.type === 'call';
  };
  let guarded = false;
  let assigned = 0;
  for (const block of branches) {
    const stmts = block?.namedChildren.filter((c) => c.type !== 'comment') ?? [];
    if (stmts.some(assigns)) assigned++;
    else if (stmts.some((st) => st.type === 'if_statement' && isNoneGuard(st, name) && (st.child('consequence')?.namedChildren.some(assigns) ?? false))) {
      assigned++;
      guarded = true;
    } else if (stmts.at(-1)?.type !== 'raise_statement') return undefined;
  }
  return hasElse && assigned > 0 ? (guarded ? 'guarded' : 'plain') : undefined;
}

/** Every call of `fn` in the file leaves parameter `name` at its None default (or passes None): it builds its own. */
function leftOutEverywhere(a: Analysis, fn: PyNode, name: string): boolean {
  const sites = callSitesOf(a, fn);
  if (!sites?.known.length) return false;
  return [...sites.known, ...sites.unknown].every((site) => unparen(argumentOrDefault(fn, site, name))?.type === 'none');
}

/**
 * `def train_epoch(epoch): optimizer = AdamW(...)` whose every call in the file is inside an epoch loop
 * (`for epoch in range(4): train_epoch(epoch)`, `trainer.epoch(model, epoch)`), or at the top of a function whose
 * every call is (`def run_epoch(): train(model)`), and which trains (steps and back-propagates): the optimizer (or a
 * schedule) is rebuilt every epoch just as if it were created in the loop.
 */
function epochFunction(call: PyNode, q: string, ctx: RuleContext): void {
  const a = ctx.analysis;
  const fn = builtAtTopOf(call, (f, name) => leftOutEverywhere(a, f, name));
  const name = fn?.child('name')?.text;
  if (!fn || !name || name === '__init__') return;
  const body = fn.child('body');
  const hf = hfSchedulerBuild(a, call);
  // What must live on across the epochs: the scheduler's optimizer, the optimizer's model. A parameter is followed to
  // the arguments of the call sites; one rebuilt in the epoch loop (or anything we cannot follow) stays silent.
  let kept: PyNode | undefined;
  if (q.startsWith(SCHEDULERS) || hf) {
    if (ignoresItsStep(a, q, call)) return;
    kept = schedulerOptimizer(call, hf);
  } else {
    if (!keepsState(q, call)) return;
    // `model.backbone.parameters()` (a param group) lives as long as `model`.
    const model = optimizedModelNode(call);
    kept = model && ownerOf(model);
  }
  if (!kept || (kept.type !== 'identifier' && kept.type !== 'attribute')) return;
  if (kept.type === 'attribute' && kept.child('object')?.text !== 'self') return;
  if (assignedIn(body, kept.text, call)) return;
  if (!runsEveryEpoch(a, fn, kept, 1)) return;
  const reach = body ? [...reachableCalls(a, body), ...nestedDefCalls(body)] : [];
  if (!reach.some((c) => isOptimizerStep(c, a)) || !reach.some((c) => isBackward(c))) return;
  const what = hf ?? (q.startsWith(SCHEDULERS) ? q.slice(SCHEDULERS.length) : className(q));
  const restarts = q.startsWith(SCHEDULERS) || hf ? 'its schedule restarts every epoch' : 'its state (momentum, running averages) starts from zero every epoch';
  ctx.report({ node: call, message: `${what} is created in ${name}(), which runs every epoch: ${restarts}. Create it once, before the epoch loop, and pass it in.` });
}

/** Calls inside the functions a body defines (`def train_step(batch): ...` local to the epoch function). */
function nestedDefCalls(body: PyNode): PyNode[] {
  const out: PyNode[] = [];
  body.walk((n) => {
    if (n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.type === 'function_definition') {
      const inner = n.child('body');
      if (inner) out.push(...callsWithin(inner));
    }
    return undefined;
  });
  return out;
}

/**
 * Whether every call of `fn` in the file runs on each iteration of an epoch loop, directly or (up to `depth` levels)
 * from the top of a function that does, and `kept` (what `fn` calls the model or optimizer that must live on) is
 * the same object on every iteration: not rebuilt in the loop, nor by the calling function. A call on an object we
 * cannot tell (`x.epoch()`) counts as a call; at least one call must be known to run `fn`.
 */
function runsEveryEpoch(a: Analysis, fn: PyNode, kept: PyNode, depth: number): boolean {
  const sites = callSitesOf(a, fn);
  if (!sites?.known.length) return false;
  for (const site of [...sites.known, ...sites.unknown]) {
    if (fn.start <= site.start && site.end <= fn.end) {
      if (sites.known.includes(site)) return false; // recursion
      continue;
    }
    // What the caller calls that object: the argument it passes for a parameter.
    let outside: PyNode | undefined = kept;
    if (kept.type === 'identifier' && hasParameter(fn, kept.text)) outside = unparen(argumentOrDefault(fn, site, kept.text));
    if (!outside || (outside.type !== 'identifier' && outside.type !== 'attribute')) return false;
    const loop = innermostLoop(site);
    if (loop) {
      if (!isEpochLoop(loop) || renewedIn(loop, outside.text)) return false;
      continue;
    }
    // One call level up: `def run_epoch(self): self.train(self.model)` called from the epoch loop.
    const caller = enclosingFunction(site);
    if (depth <= 0 || !caller || caller.child('name')?.text === '__init__') return false;
    if (assignedIn(caller.child('body') ?? undefined, outside.text, site)) return false; // the caller builds a new one
    if (!runsEveryEpoch(a, caller, outside, depth - 1)) return false;
  }
  return true;
}

/** What holds a sub-module: `model` for `model.encoder.layer`, `self.model` for `self.model.head`. */
function ownerOf(n: PyNode): PyNode {
  while (n.type === 'attribute') {
    const obj = n.child('object');
    if (!obj || obj.text === 'self') return n;
    if (obj.type !== 'identifier' && obj.type !== 'attribute') return n;
    n = obj;
  }
  return n;
}

/** The node of the model in `torch.optim.Adam(model.parameters(), ...)`. */
function optimizedModelNode(call: PyNode): PyNode | undefined {
  const params = keywordArg(call, 'params') ?? positionalArgs(call)[0];
  let model: PyNode | undefined;
  params?.walk((n) => {
    if (model !== undefined) return false;
    if (n.type === 'call' && (calleeName(n) === 'parameters' || calleeName(n) === 'named_parameters')) model = receiver(n) ?? undefined;
    return undefined;
  });
  return model;
}

/** Whether `name` is assigned in the function body before `at` (a model built in the function itself). */
function assignedIn(body: PyNode | undefined, name: string, at: PyNode): boolean {
  let hit = false;
  body?.walk((n) => {
    if (hit || n.start > at.start || n.type === 'function_definition' || n.type === 'class_definition') return false;
    if (n.type === 'assignment' && n.child('left')?.text === name) hit = true;
    return undefined;
  });
  return hit;
}

// ---- Optimizer factories: `optimizer = build_optimizer(cfg, model)` called inside the epoch loop ----

/** `build_optimizer(...)`, `get_optimizer(...)`, `make_optimizer(...)` called by a plain name inside a loop (syntax only). */
function factoryCallInLoop(call: PyNode): boolean {
  const fn = call.child('function');
  return fn?.type === 'identifier' && /optim/i.test(fn.text) && innermostLoop(call) !== undefined;
}

/**
 * The optimizer builds a factory returns: its every `return` (one at least) is `return torch.optim.X(...)` (or a name
 * the function bound to one). Undefined when it may return anything else.
 */
function factoryBuilds(a: Analysis, def: PyNode): PyNode[] | undefined {
  const body = def.child('body');
  if (!body) return undefined;
  const builds: PyNode[] = [];
  let other = false;
  body.walk((n) => {
    if (other || n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type !== 'return_statement') return undefined;
    let value = unparen(n.namedChildren[0]);
    // `optimizer = torch.optim.Adam(...)` then `return optimizer`
    if (value?.type === 'identifier') {
      const bound = unparen(a.scopes.valueAt(value.text, value) ?? undefined);
      value = bound && def.start <= bound.start && bound.end <= def.end ? bound : undefined;
    }
    const q = value?.type === 'call' ? a.callee(value) : undefined;
    if (value && q && isStatefulOptimizerClass(q)) builds.push(value);
    else other = true;
    return false;
  });
  return other || builds.length === 0 ? undefined : builds;
}

/** The argument `call` passes for parameter `name` of `def` (by position, keyword or default), else undefined. */
function argumentFor(def: PyNode, call: PyNode, name: string): PyNode | undefined {
  const args = call.child('arguments')?.namedChildren ?? [];
  if (args.some((x) => x.type === 'list_splat' || x.type === 'dictionary_splat')) return undefined;
  let position = 0;
  for (const p of def.child('parameters')?.namedChildren ?? []) {
    if (p.type === 'list_splat_pattern' || p.type === 'dictionary_splat_pattern' || p.type === 'keyword_separator') return undefined;
    const id = p.type === 'identifier' ? p : p.namedChildren.find((c) => c.type === 'identifier');
    if (id?.text === name) return positionalArgs(call)[position] ?? keywordArg(call, name) ?? p.child('value');
    position++;
  }
  return undefined;
}

/**
 * `optimizer = build_optimizer(cfg, model)` inside the training loop, where the file's `build_optimizer` returns
 * `torch.optim.X(model.parameters(), ...)`: the same restart as building the optimizer in the loop itself.
 */
function factoryInLoop(call: PyNode, ctx: RuleContext): void {
  const a = ctx.analysis;
  const name = call.child('function')!.text;
  const defs = a.functions.get(name);
  if (defs?.length !== 1) return;
  const def = defs[0]!;
  if (def.ancestor('class_definition') || (def.start <= call.start && call.end <= def.end)) return;
  const builds = factoryBuilds(a, def);
  if (!builds || !builds.some((b) => keepsState(a.callee(b)!, b))) return;
  const loop = loopsAround(call).find((l) => trains(l, a));
  if (!loop || (!trainsDirectly(loop, a) && !isEpochLoop(loop))) return;
  // The model each build optimizes, followed from a parameter of the factory to this call's argument.
  for (const b of builds) {
    let model = optimizedModelNode(b);
    if (model?.type === 'identifier' && hasParameter(def, model.text)) model = argumentFor(def, call, model.text);
    if (!model || (model.type !== 'identifier' && model.type !== 'attribute') || renewedIn(loop, model.text)) return;
  }
  const classes = [...new Set(builds.map((b) => className(a.callee(b)!)))].join(' / ');
  ctx.report({
    node: call,
    message: `${name}() builds a new ${classes} inside the training loop: its state (momentum, running averages) starts again from zero each time the loop creates it. Call it once, before the loop.`,
  });
}
