import { callsWithin, calleeName, keywordArg, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { isBackward, isOptimizerStep } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

// Cross-validation splitters whose folds validate on rows other folds train on (TimeSeriesSplit is left out: its
// later folds train on earlier folds' validation rows anyway).
const SPLITTERS = /^sklearn\.model_selection\.(KFold|StratifiedKFold|GroupKFold|StratifiedGroupKFold|RepeatedKFold|RepeatedStratifiedKFold|ShuffleSplit|StratifiedShuffleSplit|GroupShuffleSplit|LeaveOneOut|LeavePOut|LeaveOneGroupOut|LeavePGroupsOut)$/;

/** Methods that give a model fresh (or saved initial) weights. */
const RESETS = new Set(['load_state_dict', 'reset_parameters', 'apply', 'init_weights', '_init_weights', 'initialize_weights']);

/** `for fold, (tr, va) in enumerate(kf.split(X, y))`: the loop iterates a CV splitter's folds. */
function iteratesFolds(loop: PyNode, a: Analysis): boolean {
  let it = unparen(loop.child('right'));
  while (it?.type === 'call' && /^(enumerate|tqdm|list)$/.test(it.child('function')?.text ?? '')) it = unparen(positionalArgs(it)[0]);
  if (it?.type !== 'call' || calleeName(it) !== 'split') return false;
  let splitter = unparen(receiver(it));
  if (splitter?.type === 'identifier') splitter = unparen(a.scopes.valueAt(splitter.text, splitter) ?? undefined);
  return splitter?.type === 'call' && SPLITTERS.test(a.callee(splitter) ?? '');
}

/** The optimizer steps a loop body runs: its own, and those of the file's functions it calls (with the argument passed). */
function stepsIn(body: PyNode, a: Analysis): PyNode[] {
  const out: PyNode[] = [];
  const calls = callsWithin(body);
  for (const c of calls) {
    if (isOptimizerStep(c, a)) {
      const r = receiver(c);
      if (r?.type === 'identifier') out.push(r);
      continue;
    }
    const fn = c.child('function');
    const defs = fn?.type === 'identifier' ? a.functions.get(fn.text) : undefined;
    if (defs?.length !== 1) continue;
    const def = defs[0]!;
    const inner = callsWithin(def.child('body') ?? def);
    if (!inner.some(isBackward)) continue;
    const params = (def.child('parameters')?.namedChildren ?? []).map((p) => (p.type === 'identifier' ? p.text : p.namedChildren.find((x) => x.type === 'identifier')?.text));
    for (const s of inner) {
      if (!isOptimizerStep(s, a)) continue;
      const r = receiver(s);
      if (r?.type !== 'identifier') continue;
      const i = params.indexOf(r.text);
      // A parameter: what this call passes; a global: the name itself, read at the call.
      const arg = i < 0 ? undefined : (keywordArg(c, r.text) ?? positionalArgs(c)[i]);
      if (i < 0 && a.scopes.valueAt(r.text, c) !== undefined) out.push(r);
      else if (arg?.type === 'identifier') out.push(arg);
    }
  }
  return out;
}

/** Whether `name` is re-bound or re-initialised anywhere in the loop (`model = Net()`, `model.load_state_dict(init)`). */
function resetInLoop(loop: PyNode, name: string): boolean {
  let hit = false;
  loop.child('body')?.walk((n) => {
    if (hit) return false;
    if ((n.type === 'assignment' || n.type === 'augmented_assignment') && n.child('left')?.text === name) hit = true;
    if (n.type === 'call') {
      const r = receiver(n);
      const method = calleeName(n) ?? '';
      if (RESETS.has(method) && (r?.text === name || r?.text.startsWith(name + '.'))) hit = true;
      if (method === 'reset_parameters') hit = true; // `for layer in model.children(): layer.reset_parameters()`
    }
  });
  return hit;
}

/** The model an optimizer was built from: `torch.optim.Adam(model.parameters(), ...)` -> model. */
function modelOf(optimizer: PyNode | undefined, a: Analysis): string | undefined {
  const v = unparen(optimizer);
  if (v?.type !== 'call' || !(a.callee(v) ?? '').startsWith('torch.optim.')) return undefined;
  const params = unparen(positionalArgs(v)[0] ?? keywordArg(v, 'params'));
  if (params?.type !== 'call' || !/^(parameters|named_parameters)$/.test(calleeName(params) ?? '')) return undefined;
  const m = receiver(params);
  return m?.type === 'identifier' ? m.text : undefined;
}

export const TL022: Rule = {
  meta: {
    id: 'TL022',
    name: 'model-not-reset-per-fold',
    group: 'training-loop',
    defaultSeverity: 'warning',
    summary: 'The model and optimizer are built once, before the cross-validation loop: every fold continues from the last.',
    why:
      'In K-fold cross-validation each fold must start from fresh weights. When the model (and its optimizer) is built ' +
      'before `for fold, (tr, va) in enumerate(kf.split(X))`, fold 2 starts from the weights fold 1 trained, and those were ' +
      "trained on rows that are fold 2's validation set. The validation scores leak and the CV estimate is optimistic; the " +
      'out-of-fold predictions are wrong too. Build the model and the optimizer inside the fold loop (or reload the initial ' +
      'state with `model.load_state_dict(initial_state)`).',
    wrong:
      'import torch\nfrom sklearn.model_selection import KFold\nmodel = Net()\noptimizer = torch.optim.Adam(model.parameters(), lr=1e-3)\nfor fold, (tr, va) in enumerate(KFold(5, shuffle=True).split(X)):\n    for xb, yb in make_loader(tr):\n        optimizer.zero_grad()\n        loss = criterion(model(xb), yb)\n        loss.backward()\n        optimizer.step()',
    right:
      'import torch\nfrom sklearn.model_selection import KFold\nfor fold, (tr, va) in enumerate(KFold(5, shuffle=True).split(X)):\n    model = Net()\n    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)\n    for xb, yb in make_loader(tr):\n        optimizer.zero_grad()\n        loss = criterion(model(xb), yb)\n        loss.backward()\n        optimizer.step()',
    concept: 'Cross-validation: each fold trains a fresh model',
    fixable: false,
  },
  check(ctx) {
    const a = ctx.analysis;
    const loops = new Set<PyNode>();
    for (const split of a.callsNamed('split')) {
      // `for ... in enumerate(kf.split(X))`: the loop whose iterable holds the call.
      let n: PyNode | undefined = split;
      while (n?.parent && n.parent.type !== 'for_statement' && n.parent.type !== 'block' && n.parent.type !== 'module') n = n.parent;
      const loop = n?.parent;
      if (loop?.type === 'for_statement' && loop.child('right') === n) loops.add(loop);
    }
    for (const loop of loops) {
      if (!iteratesFolds(loop, a)) continue;
      const body = loop.child('body');
      if (!body) continue;
      const seen = new Set<string>();
      for (const recv of stepsIn(body, a)) {
        if (seen.has(recv.text)) continue;
        seen.add(recv.text);
        // The optimizer is bound before the loop (not in it) and built from a model also bound only before it.
        const opt = a.scopes.valueAt(recv.text, loop);
        if (!opt || opt.start >= loop.start || resetInLoop(loop, recv.text)) continue;
        const model = modelOf(opt, a);
        if (!model || resetInLoop(loop, model)) continue;
        const mv = a.scopes.valueAt(model, loop);
        if (!mv || mv.start >= loop.start) continue;
        ctx.report({
          node: loop.child('right') ?? loop,
          message: `${model} and ${recv.text} are built once before the cross-validation loop, so each fold keeps training the previous fold's weights (which saw this fold's validation rows). Build them inside the loop.`,
        });
      }
    }
  },
};
