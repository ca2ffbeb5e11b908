import { hasKeywordSplat, keywordArg, positionalArgs, type Analysis } from '../../analysis';
import { assignedTarget, lastArgument } from '../../analysis/runtime';
import type { PyNode } from '../../parser';
import type { Rule, RuleContext } from '../../types';

/**
 * The file loads a pickled module here (weights_only=True would refuse it): the result is assigned to a model-like
 * name, or the same path is written by `torch.save(<not a state_dict>, path)`.
 */
function loadsWholeModule(call: PyNode, ctx: RuleContext): boolean {
  const target = assignedTarget(call);
  const name = target?.type === 'attribute' ? target.child('attribute')?.text : target?.text;
  if (name && /model|net|module/i.test(name) && !/state|dict|ckpt|checkpoint|weights/i.test(name)) return true;
  const path = positionalArgs(call)[0]?.text;
  return ctx.nodesOfType('call').some((c) => {
    if (ctx.analysis.callee(c) !== 'torch.save') return false;
    const [obj, dest] = positionalArgs(c);
    return dest?.text === path && obj !== undefined && !/state_dict\(\)|^\{/.test(obj.text) && !/state|ckpt|checkpoint/i.test(obj.text);
  });
}

/** The last argument of a `torch.load(...)` call without `weights_only` (nor `**kwargs`): where the fix appends it. */
function loadWithoutWeightsOnly(call: PyNode, a: Analysis): PyNode | undefined {
  if (a.callee(call) !== 'torch.load') return undefined;
  if (keywordArg(call, 'weights_only') || hasKeywordSplat(call)) return undefined;
  return lastArgument(call);
}

export const DV001: Rule = {
  meta: {
    id: 'DV001',
    name: 'torch-load-without-weights-only',
    group: 'device',
    defaultSeverity: 'info',
    summary: '`torch.load` is called without `weights_only`: it may unpickle arbitrary code.',
    why:
      '`torch.load` reads a pickle. Before PyTorch 2.6 its default was `weights_only=False`, so loading a checkpoint from an ' +
      'untrusted source (a download, a shared folder) can run any code that the file carries. `weights_only=True` restricts ' +
      'unpickling to tensors, primitive types and plain containers, which is all a `state_dict` or a typical checkpoint ' +
      'dict needs; it became the default in 2.6, and passing it explicitly keeps older versions safe and the intent clear. ' +
      'An explicit `weights_only=False` is taken as a deliberate choice (e.g. loading a whole pickled module from a trusted ' +
      'file) and is not reported. The quick fix is not offered when a custom `pickle_module` is given or when the ' +
      'call evidently loads a whole pickled module (assigned to `model`, or the file saves a module to that path), which ' +
      '`weights_only=True` would refuse.',
    wrong: 'model.load_state_dict(torch.load("model.pt"))',
    right: 'model.load_state_dict(torch.load("model.pt", weights_only=True))',
    concept: 'Checkpoints: save and load state_dicts, not pickled objects',
    fixable: true,
  },
  nodeTypes: ['call'],
  // Every such call is reported; only whether the fix is offered reads the whole file.
  candidate: { reads: ['imports'], test: (call, ctx) => loadWithoutWeightsOnly(call, ctx.analysis) !== undefined },
  visit(call, ctx) {
    const last = loadWithoutWeightsOnly(call, ctx.analysis);
    if (!last) return;
    const fixes = keywordArg(call, 'pickle_module') || loadsWholeModule(call, ctx)
      ? undefined
      : [{ title: 'Add weights_only=True', edits: [{ start: last.end, end: last.end, newText: ', weights_only=True' }] }];
    ctx.report({
      node: call,
      message: 'torch.load without weights_only unpickles arbitrary objects (the default before PyTorch 2.6): pass weights_only=True for checkpoints of tensors.',
      fixes,
    });
  },
};
