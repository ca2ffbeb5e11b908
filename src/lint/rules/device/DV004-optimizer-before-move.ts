import { calleeName, hasParameter, keywordArg, methodClass, parameterNames, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { argumentFor, callSitesOf } from '../../analysis/calls';
import { methodsOf } from '../../analysis/modules';
import { assignedTarget, deviceMove, isOptimizerConstructor, mayBeCuda, optimizedModel, sameScope, stringValue } from '../../analysis/runtime';
import { scopeOf } from '../../analysis/scopes';
import type { PyNode } from '../../parser';
import type { Rule, RuleContext } from '../../types';

/** The move goes to a GPU (or to a device we cannot see, named like one), never to the CPU. */
function movesToGpu(dev: PyNode | undefined, ctx: RuleContext): boolean {
  if (!dev) return true; // .cuda()
  if (stringValue(dev) !== undefined) return mayBeCuda(dev, ctx.analysis);
  if (dev.type === 'identifier') {
    const v = ctx.analysis.scopes.valueAt(dev.text, dev);
    if (v) return mayBeCuda(v, ctx.analysis);
    return /cuda|gpu|device/i.test(dev.text);
  }
  if (dev.type === 'attribute') {
    // `self.device = 'cpu'`: the values the class gives it, when they are all literal devices
    const cls = dev.child('object')?.text === 'self' ? dev.ancestor('class_definition') : undefined;
    const values = cls ? ctx.analysis.scopes.selfAttr(cls, dev.child('attribute')?.text ?? '') : [];
    if (values.length > 0 && values.every((v) => literalDevice(v, ctx))) return values.some((v) => mayBeCuda(v, ctx.analysis));
    return /cuda|gpu|device/i.test(dev.text) && !/cpu/i.test(dev.text);
  }
  return mayBeCuda(dev, ctx.analysis);
}

/** A device written out: `'cpu'`, `"cuda:0"`, `torch.device('cpu')`, or a conditional between two of those. */
function literalDevice(v: PyNode, ctx: RuleContext): boolean {
  const e = unparen(v);
  if (!e) return false;
  if (stringValue(e) !== undefined) return true;
  if (e.type === 'call' && ctx.analysis.callee(e) === 'torch.device') return positionalArgs(e).length === 1 && literalDevice(positionalArgs(e)[0]!, ctx);
  if (e.type === 'conditional_expression') return [e.namedChildren[0], e.namedChildren[2]].every((c) => c !== undefined && literalDevice(c, ctx));
  return false;
}

/** `self.model = model.to(device)`: the moved model is what the object keeps. */
function storedOnSelf(move: PyNode): boolean {
  const p = move.parent;
  return p?.type === 'assignment' && p.child('right') === move && p.child('left')?.type === 'attribute' && p.child('left')?.child('object')?.text === 'self';
}

/** The name a submodule chain starts from (`model_ft` for `model_ft.fc`), unless it is `self`; else the node itself. */
function rootModel(params: PyNode): PyNode {
  let n: PyNode | undefined = params;
  while (n?.type === 'attribute') n = n.child('object');
  return n && n !== params && n.type === 'identifier' && n.text !== 'self' ? n : params;
}

function isLoop(n: PyNode): boolean {
  return n.type === 'for_statement' || n.type === 'while_statement';
}

export const DV004: Rule = {
  meta: {
    id: 'DV004',
    name: 'optimizer-before-model-to-device',
    group: 'device',
    defaultSeverity: 'info',
    summary: 'The optimizer is built from `model.parameters()` before the model is moved to the GPU.',
    why:
      'The `torch.optim` documentation asks to move a model with `.cuda()` / `.to(device)` before constructing its optimizer, ' +
      'because the optimizer keeps references to the parameter objects it was given. Today `Module.to()` updates parameters in ' +
      'place by default, so plain SGD/Adam usually keep working; but with parameter swapping on conversion ' +
      '(`torch.__future__`), optimizer state loaded before the move, or wrappers that replace parameters, the optimizer ends up ' +
      'updating stale CPU tensors or mixing devices. Moving first costs nothing and removes the question. Moves to the CPU ' +
      'and moves after a training loop (for export) are not reported. Parameter groups (`[{"params": [p for n, p in ' +
      'model.named_parameters() if ...]}, ...]`) count as the model\'s parameters, and an optimizer built in a class\'s ' +
      '`__init__` over `self.net` counts as built before a later `obj.cuda()` / `obj.to(device)` of an instance when the ' +
      'class is a module or its own `cuda` / `to` method moves `self.net`. A trainer handed a model and its optimizer that ' +
      'moves the model itself, to a device it picks (`self.model = model.to(self._pick_device())`), is reported too: ' +
      'the caller built the optimizer before that move (unless a call site of the file passes a model moved already; a ' +
      'device the caller hands in is left alone, since the caller may have moved the model to it first).',
    wrong: 'device = torch.device("cuda" if torch.cuda.is_available() else "cpu")\nmodel = Net()\noptimizer = optim.SGD(model.parameters(), lr=0.01)\nmodel.to(device)',
    right: 'device = torch.device("cuda" if torch.cuda.is_available() else "cpu")\nmodel = Net()\nmodel.to(device)\noptimizer = optim.SGD(model.parameters(), lr=0.01)',
    concept: 'Devices: move the model before building its optimizer',
    fixable: false,
  },
  check(ctx) {
    const calls = ctx.nodesOfType('call');
    const optimizers = calls.filter((c) => isOptimizerConstructor(ctx.analysis.callee(c)));
    const a = ctx.analysis;
    // nothing to order: no optimizer built here, and no function handed one
    if (optimizers.length === 0 && !ctx.nodesOfType('function_definition').some((f) => parameterNames(f).some((p) => OPTIMIZER_PARAM.test(p)))) return;
    // Moves are `.to(...)` / `.cuda(...)` method calls: looked up by name, in document order.
    const moves = [...ctx.analysis.callsNamed('to'), ...ctx.analysis.callsNamed('cuda')]
      .sort((x, y) => x.start - y.start)
      .map((c) => ({ call: c, move: deviceMove(c) }))
      .filter((m) => m.move !== undefined);
    checkMovedWithOptimizer(ctx, moves);
    for (const opt of optimizers) {
      const params = optimizedModel(opt) ?? groupedModel(opt, a);
      if (!params) continue;
      if (params.type === 'attribute' && params.child('object')?.text === 'self') {
        checkInitBuild(ctx, opt, params, moves);
        continue;
      }
      // `model.fc.parameters()` (fine-tuning a head): moving `model` moves them.
      const model = rootModel(params);
      const sameModel = (m: (typeof moves)[number]) => m.move!.target.text === model.text && sameScope(m.call, opt);
      // moved already (`model = Net().to(device)` or an earlier `model.to(...)`)
      if (moves.some((m) => sameModel(m) && m.call.start < opt.start)) continue;
      if (model.type === 'identifier') {
        const v = ctx.analysis.scopes.valueAt(model.text, opt);
        // An unpacked value or loop target: the caller may have moved it. A parameter too, unless the scope keeps it
        // moved to the GPU later (`self.model = model.to(device)` in a Trainer's `__init__`): then it came unmoved.
        if (v === null && !(hasParameter(scopeOf(opt), model.text) && moves.some((m) => sameModel(m) && m.call.start > opt.end && storedOnSelf(m.call)))) continue;
        if (v && /\.(to|cuda)\(/.test(v.text)) continue;
      } else {
        continue; // self.model & co: moved in another method we do not order
      }
      const later = moves.find((m) => sameModel(m) && m.call.start > opt.end && movesToGpu(m.move!.device, ctx));
      if (!later) continue;
      const between = ctx.nodesOfType('for_statement').concat(ctx.nodesOfType('while_statement'));
      if (between.some((l) => isLoop(l) && l.start > opt.end && l.start < later.call.start && sameScope(l, opt))) continue;
      ctx.report({
        node: opt,
        message: `Optimizer built from ${params.text}.parameters() before ${model.text} is moved to the GPU (line ${ctx.source.slice(0, later.call.start).split('\n').length}): move the model first, then build the optimizer.`,
      });
    }
  },
};

// ---- Parameter groups: `[{"params": [p for n, p in model.named_parameters() if ...]}, ...]` ----

/** A call that lists a module's parameters: `M.parameters()`, `M.named_parameters()` (no arguments). */
function parametersOwner(n: PyNode | undefined): PyNode | undefined {
  const call = unparen(n);
  if (call?.type !== 'call' || !/^(named_)?parameters$/.test(calleeName(call) ?? '') || positionalArgs(call).length > 0) return undefined;
  const m = receiver(call);
  return m && (m.type === 'identifier' || m.type === 'attribute') ? m : undefined;
}

/**
 * The module whose parameters a params expression lists, when every part agrees: `M.parameters()`, a comprehension
 * over it, a list of parameter-group dicts whose `"params"` are those, or a name bound to one of these.
 */
function paramsSource(n: PyNode | undefined, a: Analysis, depth: number): PyNode | undefined {
  const e = unparen(n);
  if (!e || depth > 6) return undefined;
  const direct = parametersOwner(e);
  if (direct) return direct;
  switch (e.type) {
    case 'identifier': {
      const v = a.scopes.valueAt(e.text, e);
      return v ? paramsSource(v, a, depth + 1) : undefined;
    }
    case 'list_comprehension':
    case 'generator_expression':
      return paramsSource(e.namedChildren.find((c) => c.type === 'for_in_clause')?.child('right'), a, depth + 1);
    case 'dictionary': {
      const pair = e.namedChildren.find((p) => p.type === 'pair' && /^['"]params['"]$/.test(p.child('key')?.text ?? ''));
      return pair ? paramsSource(pair.child('value'), a, depth + 1) : undefined;
    }
    case 'list':
    case 'tuple': {
      const parts = e.namedChildren.filter((c) => c.type !== 'comment').map((c) => paramsSource(c, a, depth + 1));
      const first = parts[0];
      return first && parts.every((p) => p?.text === first.text) ? first : undefined;
    }
    default:
      return undefined;
  }
}

/** The model of an optimizer built from parameter groups or a comprehension over one model's parameters. */
function groupedModel(opt: PyNode, a: Analysis): PyNode | undefined {
  return paramsSource(positionalArgs(opt)[0] ?? keywordArg(opt, 'params'), a, 0);
}

// ---- An optimizer built in `__init__` over `self.net`, and a later `obj.cuda()` of an instance ----

type Move = { call: PyNode; move: ReturnType<typeof deviceMove> };

/**
 * `self.optimizer = Adam(self.net.parameters())` in `__init__`; the file then builds `obj = Cls(...)` and, later in
 * the same scope and before any loop, moves it with `obj.cuda()` / `obj.to(device)`, which moves `self.net` when the
 * class is a module or its own `cuda` / `to` method moves `self.net`.
 */
function checkInitBuild(ctx: RuleContext, opt: PyNode, params: PyNode, moves: Move[]): void {
  const a = ctx.analysis;
  const init = scopeOf(opt);
  const cls = init && init.child('name')?.text === '__init__' ? methodClass(init) : undefined;
  const clsName = cls?.child('name')?.text;
  if (!cls || !clsName) return;
  // `self.net` is a submodule chain from self: `self.net` (`self.encoder.fc` moves with `self.encoder`)
  let net: PyNode = params;
  while (net.child('object')?.type === 'attribute') net = net.child('object')!;
  const attr = net.child('attribute')?.text ?? '';
  // moved in __init__ before the optimizer, or assigned already moved
  if (moves.some((m) => m.move!.target.text === net.text && scopeOf(m.call) === init && m.call.start < opt.start)) return;
  if (a.scopes.selfAttr(cls, attr).some((v) => /\.(to|cuda)\(/.test(v.text))) return;
  const isModule = a.moduleClass(clsName, cls) !== undefined;
  for (const site of a.callsNamed(clsName)) {
    if (site.child('function')?.type !== 'identifier' || !a.definesClass(clsName)) continue;
    const obj = assignedTarget(site);
    if (obj?.type !== 'identifier') continue;
    const later = moves.find(
      (m) => m.move!.target.text === obj.text && sameScope(m.call, site) && m.call.start > site.end && movesToGpu(m.move!.device, ctx) && (isModule || ownMoveMethodMoves(cls, calleeName(m.call) ?? '', net.text)),
    );
    if (!later || loopBetween(ctx, site, later.call)) continue;
    ctx.report({
      node: opt,
      message: `Optimizer built from ${params.text}.parameters() in ${clsName}.__init__, before ${later.call.text} moves it to the GPU (line ${ctx.source.slice(0, later.call.start).split('\n').length}): move the model first, then build the optimizer.`,
    });
    return;
  }
}

/** The class's own `cuda` / `to` method moves `self.net` (`def cuda(self): self.network.cuda()`). */
function ownMoveMethodMoves(cls: PyNode, method: string, net: string): boolean {
  const def = methodsOf(cls).find((m) => m.child('name')?.text === method);
  let hit = false;
  def?.child('body')?.walk((n) => {
    if (hit) return false;
    if (n.type === 'call' && deviceMove(n)?.target.text === net) hit = true;
    return undefined;
  });
  return hit;
}

function loopBetween(ctx: RuleContext, from: PyNode, to: PyNode): boolean {
  return [...ctx.nodesOfType('for_statement'), ...ctx.nodesOfType('while_statement')].some((l) => l.start > from.end && l.start < to.start && sameScope(l, from));
}

// ---- A function handed a model and its optimizer that moves the model itself ----

/** A parameter that receives an optimizer built by the caller. */
const OPTIMIZER_PARAM = /^(optim|optimizer|opt|optimiser)$|^optim|optimizer$/i;

/**
 * `def __init__(self, model, optimizer, ...): self.model = model.to(self.device); self.optimizer = optimizer`: the
 * optimizer was built by the caller from the parameters of a model that is moved only here. Reported for a class's
 * `__init__` unless a call site in the file passes a model that was moved already (or no optimizer), and for a plain
 * function only when it has call sites and none of them passes a moved model.
 */
function checkMovedWithOptimizer(ctx: RuleContext, moves: Move[]): void {
  const a = ctx.analysis;
  for (const m of moves) {
    // cheapest first: a parameter moved in a function that also takes an optimizer
    const target = m.move!.target;
    if (target.type !== 'identifier') continue;
    const fn = scopeOf(m.call);
    if (fn?.type !== 'function_definition' || !hasParameter(fn, target.text)) continue;
    const optimizer = parameterNames(fn).find((p) => OPTIMIZER_PARAM.test(p) && p !== target.text);
    if (!optimizer || a.scopes.valueAt(target.text, m.call) !== null || !movesToGpu(m.move!.device, ctx)) continue;
    if (!readAfter(fn, optimizer, m.call) || buildsOptimizer(fn)) continue;
    if (callerChoosesDevice(fn, m.move!.device, a)) continue;
    const sites = constructionSites(fn, a);
    if (sites === undefined) continue;
    if (sites.length === 0 && fn.child('name')?.text !== '__init__') continue;
    const unmoved = (site: PyNode) => {
      const model = argumentFor(site, fn, target.text);
      const opt = argumentFor(site, fn, optimizer);
      return model !== undefined && opt !== undefined && opt.type !== 'none' && !movedBefore(model, site, moves, a);
    };
    if (!sites.every(unmoved)) continue;
    ctx.report({
      node: m.call,
      message: `${target.text} is moved to the GPU here, after the caller built ${optimizer} from its parameters: move the model to the device before building the optimizer.`,
    });
  }
}

/**
 * The caller hands the device in (`def __init__(self, model, optimizer, device)`, `self.device = device`): it knows
 * the device and may well have moved the model before building the optimizer, the move here being a no-op. Only a
 * device the function picks itself (`self._prepare_device(cfg['n_gpu'])`, `'cuda'`) proves the model arrives unmoved.
 */
function callerChoosesDevice(fn: PyNode, dev: PyNode | undefined, a: Analysis): boolean {
  if (!dev) return false; // .cuda()
  const params = new Set(parameterNames(fn).filter((p) => /dev|gpu|cuda/i.test(p)));
  const readsParam = (e: PyNode) => {
    let hit = false;
    e.walk((n) => void (n.type === 'identifier' && params.has(n.text) && (hit = true)));
    return hit;
  };
  if (readsParam(dev)) return true;
  const cls = dev.type === 'attribute' && dev.child('object')?.text === 'self' ? methodClass(fn) : undefined;
  return cls !== undefined && a.scopes.selfAttr(cls, dev.child('attribute')?.text ?? '').some(readsParam);
}

/** `name` is read after `at` in the function (the optimizer it was handed is kept or used). */
function readAfter(fn: PyNode, name: string, at: PyNode): boolean {
  let read = false;
  fn.child('body')?.walk((n) => {
    if (read || n.type === 'function_definition' || n.type === 'class_definition') return false;
    if (n.type === 'identifier' && n.text === name && n.start > at.end) read = true;
    return undefined;
  });
  return read;
}

/** The function builds an optimizer itself (`optimizer or Adam(self.model.parameters())`). */
function buildsOptimizer(fn: PyNode): boolean {
  return /\b(SGD|Adam\w*|RMSprop|Adagrad|Adadelta|LBFGS|Lamb|AdaFactor)\(/.test(fn.child('body')?.text ?? '');
}

/**
 * The calls that run the function: for `__init__`, the calls of its class (and of the file's subclasses that do not
 * define their own `__init__`); else `callSitesOf`. Undefined when they cannot be listed.
 */
function constructionSites(fn: PyNode, a: Analysis): PyNode[] | undefined {
  if (fn.child('name')?.text !== '__init__') {
    const sites = callSitesOf(a, fn);
    return sites && sites.unknown.length === 0 ? sites.known : undefined;
  }
  const cls = methodClass(fn);
  const name = cls?.child('name')?.text;
  if (!cls || !name) return undefined;
  const names = [name];
  for (const sub of a.index.of('class_definition')) {
    if (!(sub.child('superclasses')?.namedChildren ?? []).some((b) => b.text === name)) continue;
    if (methodsOf(sub).some((f) => f.child('name')?.text === '__init__')) return undefined;
    names.push(sub.child('name')?.text ?? '');
  }
  return names.flatMap((n) => a.callsNamed(n).filter((c) => c.child('function')?.type === 'identifier'));
}

/** The model argument was moved before the call: built moved (`Net().to(device)`) or moved earlier in the caller. */
function movedBefore(model: PyNode, site: PyNode, moves: Move[], a: Analysis): boolean {
  if (/\.(to|cuda)\(/.test(model.text)) return true;
  if (model.type !== 'identifier') return true; // `self.model` & co: moved where we do not look
  const v = a.scopes.valueAt(model.text, site);
  if (v === null || (v && /\.(to|cuda)\(/.test(v.text))) return true;
  return moves.some((m) => m.move!.target.text === model.text && m.call.start < site.start && sameScope(m.call, site));
}
