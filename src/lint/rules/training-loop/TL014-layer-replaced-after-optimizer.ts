import { calleeName, enclosingFunction, receiver, unparen, type Analysis } from '../../analysis';
import { bringsParameters, isLayer, SAME_MODULE } from '../../analysis/moduleBuilds';
import { isOptimizerStep, optimizerBuilds, optimizerOf, type OptimizerBuild } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { Rule, RuleContext } from '../../types';

/**
 * Whether `value` builds a new model: `Net(...)` of a module class of this file, a torch.nn layer or container
 * (`nn.Sequential(...)`), a torchvision model, `timm.create_model(...)`, or one of those followed by `.to(...)` and
 * the like. Not wrappers of the old model (`nn.DataParallel(model)`, `nn.Sequential(*model.children())`): a call
 * whose arguments mention `name` may reuse its parameters.
 */
function buildsModel(value: PyNode | undefined, name: string, a: Analysis): boolean {
  const call = mayBuildModel(value, a);
  if (!call) return false;
  const fn = call.child('function');
  if (!buildsByName(a.callee(call)) && !(fn?.type === 'identifier' && a.moduleClass(fn.text) !== undefined)) return false;
  let mentions = false;
  call.child('arguments')?.walk((n) => {
    if (mentions) return false;
    if (n.type === 'identifier' && n.text === name) mentions = true;
    return undefined;
  });
  return !mentions;
}

/**
 * The call of `value` that may build a model, seen from its statement and the file's class names: a torch.nn layer
 * or container, a torchvision model, `timm.create_model`, or a call of a class of the file (`buildsModel` checks it
 * is a module), after `.to(...)` and the like are taken off.
 */
function mayBuildModel(value: PyNode | undefined, a: Analysis): PyNode | undefined {
  let call = unparen(value);
  while (call?.type === 'call' && SAME_MODULE.has(calleeName(call) ?? '')) {
    const recv = unparen(receiver(call));
    if (recv?.type !== 'call') return undefined;
    call = recv;
  }
  if (call?.type !== 'call') return undefined;
  const fn = call.child('function');
  return (fn?.type === 'identifier' && a.definesClass(fn.text)) || buildsByName(a.callee(call)) ? call : undefined;
}

/** A callee that builds a model by what it is: a torch.nn layer or container, a torchvision model, timm.create_model. */
function buildsByName(q: string | undefined): boolean {
  return (
    (isLayer(q) && !/Parallel$|\.Parameter$|^torch\.nn\.(utils|parameter)\./.test(q!)) ||
    (!!q && q.startsWith('torchvision.models.') && !/weight|list_models/i.test(q)) ||
    q === 'timm.create_model'
  );
}

/** The branch of `p` (if/try/match) that holds `child`, when choosing it excludes the others; else undefined. */
function branchKind(p: PyNode, child: PyNode): string | undefined {
  if (p.type === 'if_statement') return child.type === 'elif_clause' || child.type === 'else_clause' || child === p.child('consequence') ? 'if' : undefined;
  if (p.type === 'try_statement') return child.type === 'except_clause' || child.type === 'except_group_clause' ? 'except' : child.type === 'block' || child.type === 'else_clause' ? 'try' : undefined;
  if (p.type === 'block' && p.parent?.type === 'match_statement') return child.type === 'case_clause' ? 'case' : undefined;
  return undefined;
}

/** Whether `x` and `y` are in different branches of one if/elif/else, try/except or match: never both run. */
function exclusive(x: PyNode, y: PyNode): boolean {
  const ancestorsOfX = new Set<PyNode>();
  for (let p = x.parent; p; p = p.parent) ancestorsOfX.add(p);
  let childY: PyNode = y;
  let p = y.parent;
  while (p && !ancestorsOfX.has(p)) {
    childY = p;
    p = p.parent;
  }
  if (!p) return false;
  let childX: PyNode = x;
  while (childX.parent && childX.parent !== p) childX = childX.parent;
  if (childX === childY) return false;
  const kx = branchKind(p, childX);
  const ky = branchKind(p, childY);
  if (!kx || !ky) return false;
  return p.type !== 'try_statement' || kx !== ky || kx === 'except';
}

/** A block that ends the run or the function: its last statement is `return`, `raise` or `sys.exit(...)`. */
function terminates(block: PyNode): boolean {
  const stmts = block.namedChildren.filter((c) => c.type !== 'comment');
  const last = stmts[stmts.length - 1];
  if (!last) return false;
  if (last.type === 'return_statement' || last.type === 'raise_statement') return true;
  const e = last.type === 'expression_statement' ? unparen(last.namedChildren[0]) : undefined;
  return e?.type === 'call' && /^(sys\.exit|exit|quit|os\._exit)$/.test(e.child('function')?.text ?? '');
}

/** The name an optimizer is assigned to (`optimizer = optim.Adam(...)`), or undefined. */
function optimizerName(build: PyNode): string | undefined {
  let n = build;
  while (n.parent && (n.parent.type === 'parenthesized_expression' || n.parent.type === 'conditional_expression')) n = n.parent;
  const assignment = n.parent;
  if (assignment?.type !== 'assignment' || assignment.child('right') !== n) return undefined;
  const left = assignment.child('left');
  return left?.type === 'identifier' ? left.text : undefined;
}

const buildsByModel = new WeakMap<Analysis, Map<string, OptimizerBuild[]>>();

/** Optimizer builds by the name of the model they took the parameters of (`model` -> builds, in document order). */
function buildsOf(a: Analysis, name: string): readonly OptimizerBuild[] {
  let m = buildsByModel.get(a);
  if (!m) {
    m = new Map();
    for (const b of optimizerBuilds(a)) {
      const list = m.get(b.model);
      if (list) list.push(b);
      else m.set(b.model, [b]);
    }
    buildsByModel.set(a, m);
  }
  return m.get(name) ?? [];
}

const buildsByScope = new WeakMap<Analysis, Map<PyNode | null, OptimizerBuild[]>>();

/** Optimizer builds by the function they are built in (null: module level), in document order. */
function buildsIn(a: Analysis, scope: PyNode | null): readonly OptimizerBuild[] {
  let m = buildsByScope.get(a);
  if (!m) {
    m = new Map();
    for (const b of optimizerBuilds(a)) {
      const list = m.get(b.scope);
      if (list) list.push(b);
      else m.set(b.scope, [b]);
    }
    buildsByScope.set(a, m);
  }
  return m.get(scope) ?? [];
}

/** `model = Net()` after `optimizer = optim.Adam(model.parameters())`, then `optimizer.step()`: the new model never trains. */
function checkRebuiltModel(assignment: PyNode, name: string, ctx: RuleContext): void {
  const a = ctx.analysis;
  const scope = enclosingFunction(assignment) ?? null;
  // Only assignments to a name an optimizer was built from (in this scope, earlier) go further.
  const before: OptimizerBuild[] = [];
  for (const b of buildsOf(a, name)) if (b.scope === scope && b.call.end <= assignment.start) before.push(b);
  if (before.length === 0 || !buildsModel(assignment.child('right'), name, a)) return;
  for (let i = before.length - 1; i >= 0; i--) {
    const build = before[i]!.call;
    const opt = optimizerName(build);
    if (!opt || exclusive(build, assignment)) continue;
    const step = a.callsNamed('step').find(
      (s) =>
        s.start > assignment.end &&
        (enclosingFunction(s) ?? null) === scope &&
        optimizerOf(s) === opt &&
        isOptimizerStep(s, a) &&
        !exclusive(assignment, s) &&
        !endsBefore(assignment, s) &&
        stillBuiltBy(opt, s, build, a) &&
        !a.callsNamed('add_param_group').some((c) => c.start > assignment.end && c.end <= s.start && receiver(c)?.text === opt),
    );
    if (!step) continue;
    ctx.report({
      node: assignment,
      message: `${name} is rebuilt after the optimizer took its parameters (line ${ctx.lines.position(build.start).line + 1}): the optimizer still updates the old model, so this one never trains. Build the optimizer after the model.`,
    });
    return;
  }
}

/** Whether `opt` at `step` still holds the optimizer built by `build` (not rebuilt in between). */
function stillBuiltBy(opt: string, step: PyNode, build: PyNode, a: Analysis): boolean {
  const value = a.scopes.valueAt(opt, step);
  return !!value && value.start <= build.start && build.end <= value.end;
}

/** Whether a block around `from` (not around `to`) ends with return/raise/exit, so `to` does not run after it. */
function endsBefore(from: PyNode, to: PyNode): boolean {
  for (let p = from.parent; p && !(p.start <= to.start && to.end <= p.end); p = p.parent) if (p.type === 'block' && terminates(p)) return true;
  return false;
}

export const TL014: Rule = {
  meta: {
    id: 'TL014',
    name: 'layer-replaced-after-optimizer',
    group: 'training-loop',
    defaultSeverity: 'error',
    summary:
      'A layer of the model (or the whole model) is replaced after the optimizer was built from its parameters: the new weights are never trained.',
    why:
      '`optim.SGD(model.parameters(), ...)` takes the parameter tensors that exist at that moment. Replacing a layer ' +
      'afterwards (`model.fc = nn.Linear(512, 10)`, the usual transfer-learning step) creates new tensors the optimizer ' +
      'has never seen: they get gradients but are never updated, so the new head keeps its random weights while the ' +
      'rest trains. Rebuilding the whole model (`model = Net().to(device)` after the optimizer) is the same bug: ' +
      '`optimizer.step()` keeps updating the old model and the loss does not move. Build the optimizer after the last ' +
      'change to the model (or add the new parameters with `optimizer.add_param_group`).',
    wrong: 'model = Net()\noptimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)\nmodel.fc = nn.Linear(512, 10)',
    right: 'model = Net()\nmodel.fc = nn.Linear(512, 10)\noptimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)',
    concept: 'Optimizers hold references to parameter tensors',
    fixable: false,
  },
  nodeTypes: ['assignment'],
  // A model built into a name, a layer into an attribute or item; whether an optimizer holds the old one reads the file.
  candidate: {
    reads: ['imports', 'classes'],
    test(assignment, ctx) {
      const left = assignment.child('left');
      const right = assignment.child('right');
      if (left?.type === 'identifier') return mayBuildModel(right, ctx.analysis) !== undefined;
      return (left?.type === 'attribute' || left?.type === 'subscript') && right?.type === 'call' && isLayer(ctx.analysis.callee(right));
    },
  },
  visit(assignment, ctx) {
    const left = assignment.child('left');
    if (left?.type === 'identifier') return checkRebuiltModel(assignment, left.text, ctx);
    if (left?.type !== 'attribute' && left?.type !== 'subscript') return;
    const scope = enclosingFunction(assignment) ?? null;
    // Most layers are built in an `__init__` no optimizer is built in: settled before reading the layer.
    const inScope = buildsIn(ctx.analysis, scope);
    if (inScope.length === 0) return;
    const right = assignment.child('right');
    if (right?.type !== 'call' || !isLayer(ctx.analysis.callee(right)) || !bringsParameters(right, ctx.analysis)) return;
    const sameScope = (n: PyNode) => (enclosingFunction(n) ?? null) === scope;
    const target = left.text;
    // The optimizers of this scope built from a model whose layer this assignment replaces.
    const built = inScope.filter((b) => target.startsWith(b.model + '.') || target.startsWith(b.model + '[')).map((b) => b.call);
    const before = built.filter((c) => c.end <= assignment.start);
    if (before.length === 0 || built.some((c) => c.start > assignment.end)) return; // none yet, or rebuilt afterwards
    if (ctx.analysis.callsNamed('add_param_group').some((c) => c.start > assignment.end && sameScope(c))) return;
    const optimizer = before[before.length - 1]!;
    ctx.report({
      node: left,
      message: `${target} is replaced after the optimizer was built (line ${ctx.lines.position(optimizer.start).line + 1}): the new layer's weights are not in the optimizer and never train. Build the optimizer after changing the model.`,
    });
  },
};
