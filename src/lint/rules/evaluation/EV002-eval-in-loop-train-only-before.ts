import { bodyOf, callsWithin, calleeName, positionalArgs, receiver, type Analysis } from '../../analysis';
import { isBackward, isOptimizerStep, indentOf, lineStartIfAlone } from '../../analysis/training';
import { reachableCalls } from '../../analysis/order';
import type { PyNode } from '../../parser';
import type { RawFix, Rule } from '../../types';
import { hasStatefulLayers } from './EV001-eval-without-eval-mode';

/** `x.train()`, `x.train(True)`, `x.train(mode)`: anything but `train(False)`. */
function isTrainMode(c: PyNode): boolean {
  return calleeName(c) === 'train' && receiver(c) !== undefined && !/^\(\s*(False|mode\s*=\s*False)\s*\)$/.test(c.child('arguments')?.text ?? '');
}

function isEvalMode(c: PyNode): boolean {
  if (!receiver(c)) return false;
  if (calleeName(c) === 'eval') return (c.child('arguments')?.namedChildren.length ?? 0) === 0;
  return calleeName(c) === 'train' && /^\(\s*(False|mode\s*=\s*False)\s*\)$/.test(c.child('arguments')?.text ?? '');
}

interface EvalSite {
  /** Where to report: the eval call itself or the call of a function of this file that makes it. */
  at: PyNode;
  /** The model, as written in the loop (`model`, `self.model`). */
  model: string;
}

/** Eval-mode calls made in a loop body, directly or by a function of this file called there (arguments mapped). */
function evalSites(a: Analysis, body: PyNode): EvalSite[] {
  const out: EvalSite[] = [];
  for (const c of callsWithin(body)) {
    if (isEvalMode(c)) {
      out.push({ at: c, model: receiver(c)!.text });
      continue;
    }
    const fn = c.child('function');
    let name: string | undefined;
    if (fn?.type === 'identifier') name = fn.text;
    else if (fn?.type === 'attribute' && fn.child('object')?.text === 'self') name = fn.child('attribute')?.text;
    const defs = name ? a.functions.get(name) : undefined;
    if (!defs || defs.length !== 1) continue;
    const def = defs[0]!;
    const params = (def.child('parameters')?.namedChildren ?? []).map((p) => (p.type === 'identifier' ? p.text : (p.child('name')?.text ?? '')));
    const offset = params[0] === 'self' && fn?.type === 'attribute' ? 1 : 0;
    for (const e of callsWithin(def.child('body') ?? def)) {
      if (!isEvalMode(e)) continue;
      let model = receiver(e)!.text;
      const i = params.indexOf(model);
      if (i >= 0) {
        const arg = positionalArgs(c)[i - offset];
        const kw = c.child('arguments')?.children.find((k) => k.type === 'keyword_argument' && k.child('name')?.text === model)?.child('value');
        const given = kw ?? arg;
        if (!given) continue;
        model = given.text;
      }
      out.push({ at: c, model });
    }
  }
  return out;
}

const norm = (s: string) => s.replace(/^self\./, '');

/** Models the file trains: receivers of `.train()` and models whose parameters() go to an optimizer. */
function trainedModels(a: Analysis): Set<string> {
  const out = new Set<string>();
  for (const c of a.index.of('call')) {
    if (isTrainMode(c)) out.add(norm(receiver(c)!.text));
    const q = a.callee(c) ?? '';
    if ((q.startsWith('torch.optim.') && !q.startsWith('torch.optim.lr_scheduler.')) || /^(Adam\w*|SGD|RMSprop|Adagrad|Adadelta|Lion)$/.test(calleeName(c) ?? '')) {
      c.child('arguments')?.walk((n) => {
        if (n.type === 'call' && calleeName(n) === 'parameters' && receiver(n)) out.add(norm(receiver(n)!.text));
      });
    }
  }
  return out;
}

/** Whether the model is known to hold no Dropout/BatchNorm (then eval/train mode makes no difference). */
function modeFree(a: Analysis, model: string, at: PyNode): boolean {
  if (!/^\w+$/.test(model)) return false;
  const v = a.scopes.valueAt(model, at);
  return v ? hasStatefulLayers(a, v) === 'no' : false;
}

export const EV002: Rule = {
  meta: {
    id: 'EV002',
    name: 'eval-in-loop-train-only-before',
    group: 'evaluation',
    defaultSeverity: 'warning',
    summary: 'model.eval() runs inside the training loop, but model.train() is only called before the loop.',
    why:
      'Evaluating each epoch switches the model to eval mode; if `model.train()` is called once before the loop, it never ' +
      'comes back. From the second epoch on the model trains with Dropout disabled and BatchNorm using (and no longer ' +
      'updating) its running statistics: regularisation silently disappears and results differ from what the code suggests. ' +
      'Call `model.train()` at the start of every epoch (or at the start of the training function). Descent follows the ' +
      'functions of the file called in the loop, and stays silent for models it can prove have no Dropout/BatchNorm.',
    wrong: 'model.train()\nfor epoch in range(10):\n    for x, y in train_loader:\n        optimizer.zero_grad()\n        criterion(model(x), y).backward()\n        optimizer.step()\n    model.eval()\n    with torch.no_grad():\n        val_out = model(x_val)',
    right: 'for epoch in range(10):\n    model.train()\n    for x, y in train_loader:\n        optimizer.zero_grad()\n        criterion(model(x), y).backward()\n        optimizer.step()\n    model.eval()\n    with torch.no_grad():\n        val_out = model(x_val)',
    concept: 'Regularisation: Dropout and BatchNorm behave differently in training and inference',
    fixable: true,
  },
  check(ctx) {
    const a = ctx.analysis;
    const reported = new Set<PyNode>();
    let trained: Set<string> | undefined;
    // Innermost loops first, so an eval inside the batch loop is reported there.
    const loops = [...a.loops].sort((x, y) => y.start - x.start);
    for (const loop of loops) {
      const body = loop.child('body');
      if (!body) continue;
      const sites = evalSites(a, body).filter((s) => !reported.has(s.at));
      if (sites.length === 0) continue;
      const reach = reachableCalls(a, body);
      if (!reach.some((c) => isOptimizerStep(c, a)) || !reach.some(isBackward)) continue;
      if (reach.some(isTrainMode)) continue;
      trained ??= trainedModels(a);
      for (const s of sites) {
        if (!trained.has(norm(s.model)) || modeFree(a, s.model, loop) || onlyOnLastIteration(s.at, loop)) continue;
        reported.add(s.at);
        ctx.report({
          node: s.at,
          message: `${s.model} is switched to eval mode inside this loop and never back: later iterations train with Dropout/BatchNorm in eval mode. Call ${s.model}.train() at the start of each epoch.`,
          fixes: trainFix(loop, s.model),
        });
        break;
      }
    }
  },
};

/** Under `if epoch == epochs - 1:` (or a `last`/`final` flag): nothing trains after it. */
function onlyOnLastIteration(n: PyNode, loop: PyNode): boolean {
  for (let p = n.parent; p && p !== loop; p = p.parent) {
    if (p.type === 'if_statement' && /==\s*[\w.]*(epoch|step|iter)\w*\s*-\s*1\b|\b(is_)?(last|final)\b/i.test(p.child('condition')?.text ?? '')) return true;
  }
  return false;
}

function trainFix(loop: PyNode, model: string): RawFix[] | undefined {
  const first = bodyOf(loop)[0];
  if (!first) return undefined;
  const at = lineStartIfAlone(first);
  if (at === undefined) return undefined;
  return [{ title: `Call ${model}.train() at the start of each iteration`, edits: [{ start: at, end: at, newText: `${indentOf(first)}${model}.train()\n` }] }];
}
