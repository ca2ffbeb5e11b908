import { callsWithin, calleeName, keywordArg, positionalArgs, receiver } from '../../analysis';
import { deleteStatementLines } from '../../analysis/order';
import { isOptimizerConstructor } from '../../analysis/runtime';
import { indentOf, isBackward, isOptimizerStep, iteratesBatches, lineStartIfAlone } from '../../analysis/training';
import type { Analysis } from '../../analysis';
import type { PyNode } from '../../parser';
import type { RawFix, Rule } from '../../types';
import { isSeedingCall } from './RP001-training-without-seed';

const SCOPE_BOUNDARY = new Set(['function_definition', 'lambda', 'class_definition']);
/** Calls that compute a seed rather than set one (`get_seed(cfg)`, `make_seed(0)`). */
const GETTER = /^_*(get|gen|generate|make|new|next|draw|sample|derive|compute|create|load|read|parse|choose|pick)_?/i;
/** Calls in a seed expression whose result does not change between iterations. */
const PURE = /^(int|float|str|abs|hash|len|min|max|round|sum)$/;
/** Objects with their own seedable generator, reseeded by `g.manual_seed(0)` / `rs.seed(0)`. */
const GENERATOR = /^(torch\.Generator|numpy\.random\.(RandomState|Generator)|random\.Random)$/;
/** A class that builds a model (`Net`, `ResNet18`, `MLPClassifier`). */
const MODEL_CLASS = /^[A-Z]\w*(Model|Net|Classifier|Regressor|Encoder|Decoder|MLP|CNN|RNN|LSTM|GRU|Transformer|Network)\w*$|^(Net|MLP|CNN)/;
/** A factory that builds a model (`build_model(cfg)`, `get_model()`, `create_network`). */
const MODEL_FACTORY = /^_*(build|create|make|get|init|new|load|setup|construct)_?\w*(model|net|network)$/i;
/** Library constructors: `nn.Linear(...)`, `torchvision.models.resnet18()`, `timm.create_model`, `AutoModel.from_pretrained`. */
const MODEL_LIBRARY = /^torch\.nn\.[A-Z]\w*(?<!Loss)$|^torchvision\.models\.|^timm\.|\.from_pretrained$/;

/** Names a loop rebinds each iteration: its target and whatever its body (or a while condition) assigns. */
interface Bound {
  names: Set<string>;
  /** Assigned attributes, as text (`self.seed`). */
  attrs: Set<string>;
}

function addTarget(t: PyNode | undefined, b: Bound): void {
  if (!t) return;
  if (t.type === 'identifier') b.names.add(t.text);
  else if (t.type === 'attribute') b.attrs.add(t.text);
  else if (t.type === 'subscript') {
    // `cfg["seed"] = ...`: anything read from `cfg` may change.
    let root: PyNode | undefined = t;
    while (root && (root.type === 'subscript' || root.type === 'attribute')) root = root.child(root.type === 'subscript' ? 'value' : 'object');
    if (root?.type === 'identifier') b.names.add(root.text);
    else if (root) addTarget(root, b);
  } else for (const c of t.namedChildren) addTarget(c, b);
}

function boundBy(loop: PyNode): Bound {
  const b: Bound = { names: new Set(), attrs: new Set() };
  addTarget(loop.child('left'), b);
  for (const part of [loop.child('body'), loop.child('condition')]) {
    part?.walk((n) => {
      if (n !== part && SCOPE_BOUNDARY.has(n.type)) return false;
      switch (n.type) {
        case 'assignment':
        case 'augmented_assignment':
          addTarget(n.child('left'), b);
          break;
        case 'for_statement':
        case 'for_in_clause':
          addTarget(n.child('left'), b);
          break;
        case 'as_pattern':
          addTarget(n.child('alias'), b);
          break;
        case 'named_expression':
          addTarget(n.child('name'), b);
          break;
      }
      return undefined;
    });
  }
  return b;
}

/** An expression that may take a different value in each iteration: it reads a rebound name or calls something. */
function varies(expr: PyNode | undefined, b: Bound): boolean {
  if (!expr) return false;
  let v = false;
  expr.walk((n) => {
    if (v) return false;
    const p = n.parent;
    if (n.type === 'call') {
      const name = n.child('function')?.type === 'identifier' ? n.child('function')!.text : '';
      if (!PURE.test(name)) v = true;
    } else if (n.type === 'attribute') {
      if (b.attrs.has(n.text)) v = true;
    } else if (n.type === 'identifier') {
      const isField = (p?.type === 'attribute' && p.child('attribute')?.start === n.start) || (p?.type === 'keyword_argument' && p.child('name')?.start === n.start);
      if (!isField && b.names.has(n.text)) v = true;
    }
    return undefined;
  });
  return v;
}

/** The argument that carries the seed: `seed=` or the first positional one (undefined: no seed given, a random reseed). */
function seedArgument(call: PyNode): PyNode | undefined {
  const arg = keywordArg(call, 'seed') ?? positionalArgs(call)[0];
  return arg && arg.text !== 'None' ? arg : undefined;
}

/** A call that sets a global RNG (or a generator object) to a given seed: not a getter, not `env.seed(0)`. */
function setsSeed(call: PyNode, a: Analysis): boolean {
  if (!isSeedingCall(call) || !seedArgument(call)) return false;
  const name = calleeName(call) ?? '';
  if (GETTER.test(name)) return false;
  const recv = receiver(call);
  if (!recv) return true;
  if (recv.type === 'identifier' && (recv.text === 'self' || recv.text === 'cls')) return true;
  if (a.qname(recv) !== undefined) return true;
  if (recv.type !== 'identifier') return false;
  const value = a.scopes.valueAt(recv.text, recv);
  return value?.type === 'call' && GENERATOR.test(a.callee(value) ?? '');
}

/** `g.manual_seed(0)` with `g = torch.Generator()` (or a RandomState / Random): not the global generator. */
function ownGenerator(call: PyNode, a: Analysis): boolean {
  const recv = receiver(call);
  if (recv?.type !== 'identifier') return false;
  const value = a.scopes.valueAt(recv.text, recv);
  return value?.type === 'call' && GENERATOR.test(a.callee(value) ?? '');
}

/** The statement a seeding call is (`torch.manual_seed(0)` or `seed = pl.seed_everything(0)`), else undefined. */
function statementOf(call: PyNode): PyNode | undefined {
  const p = call.parent;
  if (p?.type === 'expression_statement') return p;
  if (p?.type === 'assignment' && p.child('right') === call && p.parent?.type === 'expression_statement') return p.parent;
  return undefined;
}

/** A call built into a model or optimizer (`Net()`, `Net().to(device)`, `torch.optim.Adam(...)`). */
function buildsModelOrOptimizer(call: PyNode | undefined, a: Analysis): boolean {
  // `Net(...).to(device)`, `.cuda()`: look at the innermost constructor.
  while (call?.type === 'call' && /^(to|cuda|cpu|float|double|half|train)$/.test(calleeName(call) ?? '') && receiver(call)?.type === 'call') call = receiver(call);
  if (call?.type !== 'call') return false;
  const q = a.callee(call);
  if (isOptimizerConstructor(q) || (q !== undefined && MODEL_LIBRARY.test(q))) return true;
  const name = calleeName(call) ?? '';
  return a.moduleClass(name) !== undefined || MODEL_CLASS.test(name) || MODEL_FACTORY.test(name) || name === 'from_pretrained';
}

/**
 * Each iteration starts a new run: a model or optimizer is built (`model = Net()`, `opt = Adam(...)`) or
 * re-initialised (`model.reset_parameters()`, `model.load_state_dict(init)`, `model.apply(init_weights)`) before the loop trains.
 */
function newRunEachIteration(loop: PyNode, firstTraining: number, a: Analysis): boolean {
  const body = loop.child('body');
  if (!body) return false;
  for (const c of callsWithin(body)) {
    if (c.start >= firstTraining) break;
    const name = calleeName(c);
    if (name === 'reset_parameters' || name === 'load_state_dict' || name === 'apply') return true;
    const p = c.parent;
    if (p?.type === 'assignment' && p.child('right') === c && buildsModelOrOptimizer(c, a)) return true;
  }
  return false;
}

/** Offset of the loop's first optimizer step or backward pass (nested blocks and loops included), or undefined. */
function firstTrainingCall(loop: PyNode, a: Analysis): number | undefined {
  const body = loop.child('body');
  if (!body) return undefined;
  let first: number | undefined;
  for (const c of callsWithin(body)) if ((isBackward(c) || isOptimizerStep(c, a)) && (first === undefined || c.start < first)) first = c.start;
  return first;
}

/**
 * Conditions between the call and the loop that depend on the loop: 'once' when one may hold on a single iteration
 * (`if epoch == 0:`, a flag), 'periodic' when every such condition tests `epoch % k` (the periodic sampling or
 * evaluation block: the reset comes back every k epochs), 'none' when no condition depends on the loop.
 */
function loopCondition(call: PyNode, loop: PyNode, b: Bound): { kind: 'none' | 'once' | 'periodic'; cond?: PyNode } {
  let found: PyNode | undefined;
  for (let p = call.parent; p && p !== loop; p = p.parent) {
    if (p.type !== 'if_statement') continue;
    const conds = [p.child('condition'), ...p.childrenOf('alternative').filter((alt) => alt.type === 'elif_clause').map((alt) => alt.child('condition'))];
    for (const c of conds) {
      if (!c || !varies(c, b)) continue;
      if (!periodic(c, b)) return { kind: 'once' };
      found ??= c;
    }
  }
  return found ? { kind: 'periodic', cond: found } : { kind: 'none' };
}

/** `epoch % k == 0` somewhere in the condition, on a name the loop rebinds: true on every k-th iteration. */
function periodic(cond: PyNode, b: Bound): boolean {
  let found = false;
  cond.walk((n) => {
    if (found || n.type === 'lambda') return false;
    if (n.type === 'binary_operator' && n.children.some((c) => !c.named && c.text === '%') && varies(n.child('left') ?? undefined, b)) found = true;
    return undefined;
  });
  return found;
}

function unitOf(loop: PyNode, a: Analysis): string {
  const body = loop.child('body');
  const nestedTrains = body
    ? callsWithin(body).some((c) => (isBackward(c) || isOptimizerStep(c, a)) && c.ancestor('for_statement', 'while_statement') !== loop)
    : false;
  if (nestedTrains || /epoch/i.test(loop.child('left')?.text ?? '')) return 'epoch';
  if (iteratesBatches(loop, a) || /batch/i.test(loop.child('left')?.text ?? '')) return 'batch';
  return 'iteration';
}

/** Moves the seeding statement just before the loop, when it runs unconditionally in the loop's (training) body. */
function moveBeforeLoop(call: PyNode, stmt: PyNode, loop: PyNode, training: Set<PyNode>, b: Bound): RawFix[] | undefined {
  const block = stmt.parent;
  if (block?.type !== 'block' || block.namedChildren.filter((c) => c.type !== 'comment').length < 2) return undefined;
  for (let p: PyNode | null = block; p && p !== loop; p = p.parent) {
    if (p.type === 'for_statement' || p.type === 'while_statement') {
      if (!training.has(p)) return undefined;
    } else if (p.type !== 'block' && p.type !== 'with_statement') return undefined;
  }
  if (varies(call.child('arguments'), b)) return undefined;
  const del = deleteStatementLines(stmt);
  const at = lineStartIfAlone(loop);
  if (!del || at === undefined) return undefined;
  return [{ title: `Move ${stmt.text} before the loop`, edits: [{ start: at, end: at, newText: `${indentOf(loop)}${stmt.text}\n` }, del] }];
}

/** A reset under `if epoch % k == 0:` (periodic sampling, evaluation): the global generator is rewound each time. */
function periodicMessage(call: PyNode, cond: PyNode, unit: string): string {
  const c = cond.text.replace(/\s+/g, ' ');
  return `${call.text.replace(/\s+/g, ' ')} runs inside the training loop whenever \`${c.length > 60 ? `${c.slice(0, 57)}...` : c}\`: it rewinds the global generator each time, so the ${unit}s after it replay the same shuffle order, dropout masks and noise. Seed once before the loop, or give this use its own torch.Generator().manual_seed(...).`;
}

export const RP003: Rule = {
  meta: {
    id: 'RP003',
    name: 'seed-reset-in-training-loop',
    group: 'reproducibility',
    defaultSeverity: 'warning',
    summary: 'A constant seed is set inside the training loop: every epoch replays the same random numbers.',
    why:
      'Seeding makes a run repeatable when it happens **once**, before training. Calling `torch.manual_seed(42)` (or ' +
      '`np.random.seed`, `random.seed`, `seed_everything`, a `set_seed` helper) at the top of each epoch or batch resets ' +
      'the generator to the same state every time, so each epoch draws the same random numbers: the same dropout masks, ' +
      'the same augmentations and noise, the same shuffle order (a `DataLoader` with `shuffle=True` draws its order from ' +
      "torch's generator when the epoch's iterator is created), the same initialisation of anything built in the loop. " +
      'Dropout and augmentation then stop regularising and the model overfits; nothing fails. Reported for a seeding call ' +
      'in a loop that trains (an optimizer step or `backward()` in its body) when the seed does not depend on the loop ' +
      '(`seed + epoch` is fine), and not for a loop over seeds or runs that builds a new model or optimizer each iteration. ' +
      'A seed set only under a periodic test (`if epoch % 10 == 0:`, to sample or evaluate with fixed noise) is reported too: ' +
      'it rewinds the global generator every k epochs, so training after it replays the same random stream; a seed under ' +
      'a one-off test (`if epoch == 0:`) is not.',
    wrong:
      'model = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Dropout(0.5), nn.Linear(64, 1))\nopt = optim.SGD(model.parameters(), lr=0.1)\n' +
      'for epoch in range(10):\n    torch.manual_seed(42)\n    for x, y in train_loader:\n        opt.zero_grad()\n        F.mse_loss(model(x), y).backward()\n        opt.step()',
    right:
      'torch.manual_seed(42)\nmodel = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Dropout(0.5), nn.Linear(64, 1))\nopt = optim.SGD(model.parameters(), lr=0.1)\n' +
      'for epoch in range(10):\n    for x, y in train_loader:\n        opt.zero_grad()\n        F.mse_loss(model(x), y).backward()\n        opt.step()',
    concept: 'Reproducibility: seed once, then let the random stream run',
    fixable: true,
  },
  check(ctx) {
    const a = ctx.analysis;
    const trains = new Map<PyNode, number | undefined>();
    const firstTraining = (loop: PyNode) => {
      if (!trains.has(loop)) trains.set(loop, firstTrainingCall(loop, a));
      return trains.get(loop);
    };
    for (const call of ctx.nodesOfType('call')) {
      if (!setsSeed(call, a)) continue;
      const stmt = statementOf(call);
      if (!stmt) continue;
      let target: { loop: PyNode; bound: Bound; cond?: PyNode } | undefined;
      const training = new Set<PyNode>();
      let inside: PyNode = call;
      for (let p = call.parent; p && !SCOPE_BOUNDARY.has(p.type); inside = p, p = p.parent) {
        if (p.type !== 'for_statement' && p.type !== 'while_statement') continue;
        if (p.child('body') !== inside) continue; // in the iterable, the condition or the else clause: runs once
        const bound = boundBy(p);
        // The seed (or any argument) follows this loop: `seed + epoch`, `for seed in seeds:`, a name set in the body.
        if (varies(call.child('arguments'), bound)) break;
        const cond = loopCondition(call, p, bound);
        if (cond.kind === 'once') break;
        const first = firstTraining(p);
        if (first === undefined) continue;
        if (newRunEachIteration(p, first, a)) break;
        training.add(p);
        target = { loop: p, bound, cond: cond.cond };
      }
      if (!target) continue;
      // The reset repeats with the innermost training loop; the fix moves it before the outermost one.
      const unit = unitOf([...training][0]!, a);
      const what = unit === 'epoch' ? 'the same dropout masks, augmentations and shuffle order' : 'the same dropout masks, noise and augmentations';
      if (target.cond) {
        // A generator object of its own reseeded for fixed sampling noise: the training stream is untouched.
        if (ownGenerator(call, a)) continue;
        ctx.report({ node: call, message: periodicMessage(call, target.cond, unit) });
        continue;
      }
      ctx.report({
        node: call,
        message: `${call.text.replace(/\s+/g, ' ')} inside the training loop replays the same random numbers every ${unit}: ${what}. Seed once, before the loop.`,
        fixes: moveBeforeLoop(call, stmt, target.loop, training, target.bound),
      });
    }
  },
};
