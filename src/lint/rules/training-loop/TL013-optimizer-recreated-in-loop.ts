import { callsWithin, calleeName, keywordArg, loopTargetBinds, positionalArgs, receiver, type Analysis } from '../../analysis';
import { reachableCalls } from '../../analysis/order';
import { innermostLoop, isBackward, isOptimizerClass, isOptimizerStep, optimizedModel } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

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

/** An optimizer or LR scheduler class built by this call. */
function buildsOptimizer(q: string | undefined): q is string {
  return !!q && (isOptimizerClass(q) || (q.startsWith(SCHEDULERS) && /\.[A-Z]\w*$/.test(q)));
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

/** Optimizers that keep state between steps; plain SGD without momentum keeps none, so re-creating it is harmless. */
function keepsState(q: string, call: PyNode): boolean {
  if (q !== 'torch.optim.SGD') return true;
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
      'never decays. Nothing fails; the model just trains badly. Create both once, before the loop.',
    wrong: 'model = Net()\nfor epoch in range(10):\n    optimizer = optim.Adam(model.parameters(), lr=1e-3)\n    for x, y in loader:\n        optimizer.zero_grad()\n        loss = criterion(model(x), y)\n        loss.backward()\n        optimizer.step()',
    right: 'model = Net()\noptimizer = optim.Adam(model.parameters(), lr=1e-3)\nfor epoch in range(10):\n    for x, y in loader:\n        optimizer.zero_grad()\n        loss = criterion(model(x), y)\n        loss.backward()\n        optimizer.step()',
    concept: 'Optimizer state: momentum and adaptive learning rates',
    fixable: false,
  },
  nodeTypes: ['call'],
  // Not statement-local: the loop may train through functions defined elsewhere in the file.
  candidate: {
    reads: ['imports'],
    test: (call, ctx) => buildsOptimizer(ctx.analysis.callee(call)) && innermostLoop(call) !== undefined,
  },
  visit(call, ctx) {
    const a = ctx.analysis;
    const q = a.callee(call);
    if (!buildsOptimizer(q) || !innermostLoop(call)) return;
    const loop = loopsAround(call).find((l) => trains(l, a));
    if (!loop) return;
    if (q.startsWith(SCHEDULERS)) {
      // The schedule restarts only if the optimizer it drives lives on across iterations.
      const optimizer = keywordArg(call, 'optimizer') ?? positionalArgs(call)[0];
      if (!optimizer || renewedIn(loop, optimizer.text)) return;
      ctx.report({ node: call, message: `${q.slice(SCHEDULERS.length)} is created inside the training loop: its schedule restarts every iteration, so the learning rate never follows it. Create it once, before the loop.` });
      return;
    }
    if (!keepsState(q, call)) return;
    const model = optimizedModel(call);
    if (!model || renewedIn(loop, model)) return; // a new model each iteration (a sweep, a fold) gets a new optimizer
    ctx.report({ node: call, message: `${q.slice('torch.optim.'.length)} is created inside the training loop: its state (momentum, running averages) starts from zero every iteration. Create it once, before the loop.` });
  },
};
