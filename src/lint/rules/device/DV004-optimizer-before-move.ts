import { hasParameter } from '../../analysis';
import { deviceMove, isOptimizerConstructor, mayBeCuda, optimizedModel, sameScope, stringValue } from '../../analysis/runtime';
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
  if (dev.type === 'attribute') return /cuda|gpu|device/i.test(dev.text) && !/cpu/i.test(dev.text);
  return mayBeCuda(dev, ctx.analysis);
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
      'and moves after a training loop (for export) are not reported.',
    wrong: 'device = torch.device("cuda" if torch.cuda.is_available() else "cpu")\nmodel = Net()\noptimizer = optim.SGD(model.parameters(), lr=0.01)\nmodel.to(device)',
    right: 'device = torch.device("cuda" if torch.cuda.is_available() else "cpu")\nmodel = Net()\nmodel.to(device)\noptimizer = optim.SGD(model.parameters(), lr=0.01)',
    concept: 'Devices: move the model before building its optimizer',
    fixable: false,
  },
  check(ctx) {
    const calls = ctx.nodesOfType('call');
    const optimizers = calls.filter((c) => isOptimizerConstructor(ctx.analysis.callee(c)));
    if (optimizers.length === 0) return;
    // Moves are `.to(...)` / `.cuda(...)` method calls: looked up by name, in document order.
    const moves = [...ctx.analysis.callsNamed('to'), ...ctx.analysis.callsNamed('cuda')]
      .sort((x, y) => x.start - y.start)
      .map((c) => ({ call: c, move: deviceMove(c) }))
      .filter((m) => m.move !== undefined);
    for (const opt of optimizers) {
      const params = optimizedModel(opt);
      if (!params) continue;
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
