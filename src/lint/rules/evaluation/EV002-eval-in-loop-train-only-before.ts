import { bodyOf, callsWithin, calleeName, fileCallName, parameterNames, receiver, type Analysis } from '../../analysis';
import { calledDefinition, functionMode, helperSwitch, helperSwitchCalls, mayHelperSwitch, modelAtCaller, reachWithMethods } from '../../analysis/evaluation';
import { methodsOf } from '../../analysis/modules';
import { isBackward, isOptimizerStep, indentOf, lineStartIfAlone } from '../../analysis/training';
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
  /** Switched through `obj.method()` of a plain wrapper class: the class (its own train() may not exist). */
  wrapperClass?: PyNode;
}

/**
 * Eval-mode switches among `calls`, in their scope's terms: direct (`model.eval()`), through a function of the file
 * that switches on every path (`model.val_start()`), or made inside a function of the file called there (two levels
 * down, arguments mapped to the caller's names).
 */
function evalSwitches(a: Analysis, calls: readonly PyNode[], depth: number, seen: Set<PyNode>): Omit<EvalSite, 'at'>[] {
  const out: Omit<EvalSite, 'at'>[] = [];
  for (const c of calls) {
    if (isEvalMode(c)) {
      out.push({ model: receiver(c)!.text });
      continue;
    }
    const sw = helperSwitch(a, c);
    if (sw?.mode === 'eval') {
      for (const model of sw.targets) out.push({ model, wrapperClass: sw.wrapperClass });
      continue;
    }
    // `obj.method()` of a class of the file counts only through helperSwitch (a switch on every path).
    const def = depth > 0 && fileCallName(c) ? calledDefinition(a, c) : undefined;
    if (!def || seen.has(def)) continue;
    seen.add(def);
    for (const inner of evalSwitches(a, callsWithin(def.child('body') ?? def), depth - 1, seen)) {
      const model = modelAtCaller(inner.model, def, c);
      if (!model) continue;
      // `trainer.validate()` switching `self.model`: the switch reaches the caller as one of `trainer` as a whole.
      const wrapped = /^self(\.|$)/.test(inner.model) && !/^self(\.|$)/.test(model);
      out.push({ model, wrapperClass: wrapped ? (def.ancestor('class_definition') ?? undefined) : inner.wrapperClass });
    }
  }
  return out;
}

/** Eval-mode switches made in a loop body, each reported at the body's call that leads to it. */
function evalSites(a: Analysis, body: PyNode): EvalSite[] {
  const out: EvalSite[] = [];
  for (const c of callsWithin(body)) {
    for (const s of evalSwitches(a, [c], 2, new Set())) out.push({ at: c, ...s });
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
      const args = c.child('arguments');
      if (args) for (const model of optimizedModules(a, args, 1)) out.add(model);
    }
  }
  // `model.train_start()` of a wrapper whose method puts its sub-modules in training mode.
  for (const { sw } of helperSwitchCalls(a, 'train')) for (const t of sw.targets) out.add(norm(t));
  return out;
}

/**
 * The modules whose `.parameters()` (or `named_parameters()`) an optimizer argument reads: inline, or through names
 * bound to them (`params = list(model.encoder.parameters()) + ...`, `depth` steps).
 */
function optimizedModules(a: Analysis, expr: PyNode, depth: number): string[] {
  const out: string[] = [];
  expr.walk((n) => {
    if (n.type === 'call' && /^(named_)?parameters$/.test(calleeName(n) ?? '') && receiver(n)) out.push(norm(receiver(n)!.text));
    if (n.type === 'identifier' && depth > 0 && n.parent?.type !== 'attribute') {
      const v = a.scopes.valueAt(n.text, n);
      if (v) out.push(...optimizedModules(a, v, depth - 1));
    }
  });
  return out;
}

/** The model is trained: itself, or sub-modules of it (`Adam(model.encoder.parameters())` trains `model`). */
function isTrained(trained: Set<string>, model: string): boolean {
  const m = norm(model);
  if (trained.has(m)) return true;
  for (const t of trained) if (t.startsWith(m + '.')) return true;
  return false;
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
      'functions of the file called in the loop (two levels down), counts a call of a function or wrapper method of the ' +
      'file that switches modes on every path (`model.val_start()` whose body calls `.eval()` on the sub-modules) as ' +
      'that switch, and stays silent for models it can prove have no Dropout/BatchNorm.',
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
      const reach = reachWithMethods(a, body);
      if (!reach.some((c) => isOptimizerStep(c, a)) || !reach.some(isBackward)) continue;
      if (reach.some((c) => isTrainMode(c) || mayHelperSwitch(a, c, 'train'))) continue;
      trained ??= trainedModels(a);
      for (const s of sites) {
        if (!isTrained(trained, s.model) || modeFree(a, s.model, loop) || onlyOnLastIteration(s.at, loop)) continue;
        reported.add(s.at);
        const back = trainCall(a, s);
        ctx.report({
          node: s.at,
          message: `${s.model} is switched to eval mode inside this loop and never back: later iterations train with Dropout/BatchNorm in eval mode. ${back ? `Call ${back} at the start of each epoch.` : `Switch it back to training mode at the start of each epoch.`}`,
          fixes: back ? trainFix(loop, back) : undefined,
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

/**
 * The call that puts the model back in training mode: `model.train()`, or for a plain wrapper class the method of it
 * that does (`model.train_start()`); undefined when the wrapper has none.
 */
function trainCall(a: Analysis, s: EvalSite): string | undefined {
  if (!s.wrapperClass) return `${s.model}.train()`;
  const back = methodsOf(s.wrapperClass).find((m) => functionMode(m)?.mode === 'train' && parameterNames(m).length === 1);
  return back ? `${s.model}.${back.child('name')!.text}()` : undefined;
}

function trainFix(loop: PyNode, call: string): RawFix[] | undefined {
  const first = bodyOf(loop)[0];
  if (!first) return undefined;
  const at = lineStartIfAlone(first);
  if (at === undefined) return undefined;
  return [{ title: `Call ${call} at the start of each iteration`, edits: [{ start: at, end: at, newText: `${indentOf(first)}${call}\n` }] }];
}
