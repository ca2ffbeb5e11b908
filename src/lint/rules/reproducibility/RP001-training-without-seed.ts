import { trainingLoops } from '../../analysis/training';
import { calleeName, callsWithin, positionalArgs } from '../../analysis';
import { isDataLoaderCall, isOptimizerConstructor, runtimeFacts } from '../../analysis/runtime';
import { scopeOf } from '../../analysis/scopes';
import { optimizesInputTensors } from '../../analysis/optimizedTensors';
import type { PyNode } from '../../parser';
import type { Analysis } from '../../analysis';
import type { RawFix, Rule, RuleContext } from '../../types';

/**
 * A call that seeds an RNG, as RP001 counts them (`runtimeFacts().seeded` uses the same test): any call whose name
 * contains `seed` (`torch.manual_seed`, `torch.cuda.manual_seed_all`, `np.random.seed`, `random.seed`,
 * `pl.seed_everything`, `transformers.set_seed`, a helper `set_seed(...)`). Shared with RP003.
 */
export function isSeedingCall(call: PyNode): boolean {
  return /seed/i.test(calleeName(call) ?? '');
}

/** The loop's iterable is built in the file (`range(n)`, a call, or a name the file binds). */
function dataDefined(loop: PyNode, ctx: RuleContext): boolean {
  let it = loop.child('right') ?? loop.child('condition');
  while (it?.type === 'call' && /^(enumerate|tqdm|zip|iter)$/.test(it.child('function')?.text.split('.').pop() ?? '')) it = positionalArgs(it)[0];
  if (!it) return false;
  if (it.type === 'call' || loop.type === 'while_statement') return true;
  let root: PyNode | undefined = it;
  while (root && (root.type === 'attribute' || root.type === 'subscript')) root = root.child(root.type === 'attribute' ? 'object' : 'value');
  return root?.type === 'identifier' && ctx.analysis.scopes.isBoundAnywhere(root.text);
}

function isImport(n: PyNode): boolean {
  return n.type === 'import_statement' || n.type === 'import_from_statement' || n.type === 'future_import_statement';
}

/** After the last import of the file's leading import block (docstring and comments allowed in between). */
function seedFix(ctx: RuleContext): RawFix[] | undefined {
  const torch = ctx.analysis.imports.localName('torch');
  if (!torch) return undefined;
  let lastImport: PyNode | undefined;
  for (const s of ctx.root.children) {
    if (isImport(s)) lastImport = s;
    else if (s.type === 'comment' || (s.type === 'expression_statement' && s.namedChildren[0]?.type === 'string')) continue;
    else break;
  }
  if (!lastImport) return undefined;
  return [{ title: `Seed with ${torch}.manual_seed(0) after the imports`, edits: [{ start: lastImport.end, end: lastImport.end, newText: `\n\n${torch}.manual_seed(0)` }] }];
}

/**
 * The names the entry point reaches: those it mentions and, transitively, those in the bodies of the file's functions
 * (and classes) of those names (called, or passed on as in `fire.Fire(main)`). 'all' for `fire.Fire()`, which exposes
 * every function of the module (`python main.py train`).
 */
function namesReachedFrom(entry: PyNode, a: Analysis): Set<string> | 'all' {
  if (callsWithin(entry).some((c) => /(^|\.)Fire$/.test(a.callee(c) ?? '') && positionalArgs(c).length === 0)) return 'all';
  const named = new Set<string>();
  const todo: PyNode[] = [entry];
  while (todo.length) {
    const n = todo.pop()!;
    if (n.type === 'identifier' && !named.has(n.text)) {
      named.add(n.text);
      for (const def of a.functions.get(n.text) ?? []) todo.push(def);
      const cls = a.moduleClass(n.text)?.node ?? (a.definesClass(n.text) ? a.index.of('class_definition').find((c) => c.child('name')?.text === n.text) : undefined);
      if (cls) todo.push(cls);
    }
    for (const c of n.namedChildren) todo.push(c);
  }
  return named;
}

/** A function (or method) holding one of the loops is among the names the entry point reaches (walked once). */
function entryReachesLoop(entry: PyNode, loops: readonly PyNode[], a: Analysis): boolean {
  const named = namesReachedFrom(entry, a);
  if (named === 'all') return true;
  return loops.some((loop) => {
    for (let fn = loop.ancestor('function_definition'); fn; fn = fn.ancestor('function_definition')) {
      if (named.has(fn.child('name')?.text ?? '')) return true;
    }
    return false;
  });
}

export const RP001: Rule = {
  meta: {
    id: 'RP001',
    name: 'training-without-seed',
    group: 'reproducibility',
    defaultSeverity: 'info',
    summary: 'A training script never seeds its random number generators.',
    why:
      'Weight initialisation, shuffling, dropout and augmentation all draw random numbers. Without a seed every run starts ' +
      'from a different point, so two runs of the same code give different curves and a change cannot be told apart from ' +
      'noise; a bug that shows up once may never come back. Seeding once at start-up (`torch.manual_seed(0)`, plus ' +
      '`random.seed` / `np.random.seed` when those are used, or `lightning.seed_everything` / `transformers.set_seed`) makes ' +
      'runs repeatable on the same machine. Reported once per file, at the first training loop, and only for scripts (a ' +
      'training loop at module level or an `if __name__ == "__main__":` entry point that reaches the loop); a library module that only defines ' +
      'a trainer leaves seeding to its caller, and an optimizer over input tensors (`Adam([image])`, feature visualisation) ' +
      'is not training. Any call whose name contains `seed` counts as seeding.',
    wrong: 'train_loader = DataLoader(train_ds, batch_size=32, shuffle=True)\nmodel = nn.Linear(4, 1)\nopt = optim.SGD(model.parameters(), lr=0.1)\nfor x, y in train_loader:\n    opt.zero_grad()\n    F.mse_loss(model(x), y).backward()\n    opt.step()',
    right:
      'torch.manual_seed(0)\ntrain_loader = DataLoader(train_ds, batch_size=32, shuffle=True)\nmodel = nn.Linear(4, 1)\nopt = optim.SGD(model.parameters(), lr=0.1)\nfor x, y in train_loader:\n    opt.zero_grad()\n    F.mse_loss(model(x), y).backward()\n    opt.step()',
    concept: 'Reproducibility: seeded random number generators',
    fixable: true,
  },
  check(ctx) {
    const facts = runtimeFacts(ctx.analysis);
    if (facts.seeded) return;
    const loops = trainingLoops(ctx.analysis).updates.map((u) => u.loop);
    if (loops.length === 0) return;
    // A script: a training loop at module level, or one the `__main__` block reaches (a library module whose
    // `__main__` block only samples or tests something else leaves seeding to the script that trains).
    const entry = facts.mainGuard;
    const script = loops.some((l) => scopeOf(l) === null) || (entry !== undefined && entryReachesLoop(entry, loops, ctx.analysis));
    if (!script) return;
    // A complete script, not a fragment: it builds its optimizer (over weights: one over an input image is a
    // visualisation, not training) and its data.
    const a = ctx.analysis;
    if (!ctx.nodesOfType('call').some((c) => isOptimizerConstructor(a.callee(c)) && !optimizesInputTensors(c, a))) return;
    const loop = loops[0]!;
    const hasLoader = ctx.nodesOfType('call').some((c) => isDataLoaderCall(c, a));
    if (!hasLoader && !dataDefined(loop, ctx)) return;
    ctx.report({
      start: loop.start,
      end: (loop.child('right') ?? loop.child('condition') ?? loop).end,
      message: 'This training script never seeds its RNGs, so runs are not repeatable: call torch.manual_seed(...) (and random/numpy seeds) at start-up.',
      fixes: seedFix(ctx),
    });
  },
};
