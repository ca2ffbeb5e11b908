import { unparen, type Analysis } from '../../analysis';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

// Submodules of common models (torchvision, timm, transformers, user models): `model.features.requires_grad = False`.
const SUBMODULES = new Set(['features', 'classifier', 'fc', 'head', 'heads', 'backbone', 'encoder', 'decoder', 'body', 'stem', 'layer1', 'layer2', 'layer3', 'layer4', 'conv1', 'bn1', 'embeddings', 'transformer', 'base_model', 'bert', 'vit', 'resnet']);

/** Whether a name is bound to a module: an nn layer, a torchvision model, or an instance of an nn.Module class of the file. */
function isModuleName(a: Analysis, id: PyNode): boolean {
  const v = unparen(a.scopes.valueAt(id.text, id) ?? undefined);
  if (v?.type !== 'call') return false;
  const q = a.callee(v) ?? '';
  if (q.startsWith('torchvision.models.') || /^torch\.nn\.[A-Z]\w*$/.test(q)) return true;
  const fn = v.child('function');
  return fn?.type === 'identifier' && !!a.moduleClass(fn.text);
}

export const TL016: Rule = {
  meta: {
    id: 'TL016',
    name: 'module-requires-grad-attribute',
    group: 'training-loop',
    defaultSeverity: 'error',
    summary: '`model.requires_grad = False` sets a plain attribute on the module: no parameter is frozen.',
    why:
      '`requires_grad` is a flag of tensors, not of modules. On an `nn.Module`, `model.requires_grad = False` just ' +
      'stores a new Python attribute that nothing reads, so every parameter keeps training: the "frozen" backbone of a ' +
      'transfer-learning script is fine-tuned anyway, with the learning rate meant for the new head. Freeze with ' +
      '`model.requires_grad_(False)` (a module method, with an underscore) or set `p.requires_grad = False` for each ' +
      'parameter.',
    wrong: 'import torchvision\nmodel = torchvision.models.resnet18(weights=None)\nmodel.requires_grad = False',
    right: 'import torchvision\nmodel = torchvision.models.resnet18(weights=None)\nmodel.requires_grad_(False)',
    concept: 'Autograd: requires_grad decides which tensors get gradients (freezing layers)',
    fixable: true,
  },
  nodeTypes: ['assignment'],
  visit(assignment, ctx) {
    const left = assignment.child('left');
    if (left?.type !== 'attribute' || left.child('attribute')?.text !== 'requires_grad') return;
    const value = assignment.child('right');
    if (value?.text !== 'False' && value?.text !== 'True') return;
    const obj = left.child('object');
    let module = false;
    if (obj?.type === 'identifier') module = isModuleName(ctx.analysis, obj);
    else if (obj?.type === 'attribute') {
      const root = obj.child('object');
      module = root?.type === 'identifier' && SUBMODULES.has(obj.child('attribute')?.text ?? '') && isModuleName(ctx.analysis, root);
    }
    if (!module) return;
    ctx.report({
      node: left,
      message: `${obj!.text} is a module: .requires_grad = ${value.text} only adds an attribute and freezes nothing. Use ${obj!.text}.requires_grad_(${value.text}).`,
      fixes: [{ title: `Use ${obj!.text}.requires_grad_(${value.text})`, edits: [{ start: assignment.start, end: assignment.end, newText: `${obj!.text}.requires_grad_(${value.text})` }] }],
    });
  },
};
