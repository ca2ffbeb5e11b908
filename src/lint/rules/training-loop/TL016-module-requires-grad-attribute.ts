import { unparen, type Analysis } from '../../analysis';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

// Submodules of common models (torchvision, timm, transformers, user models): `model.features.requires_grad = False`.
const SUBMODULES = new Set(['features', 'classifier', 'fc', 'head', 'heads', 'backbone', 'encoder', 'decoder', 'body', 'stem', 'layer1', 'layer2', 'layer3', 'layer4', 'conv1', 'bn1', 'embeddings', 'transformer', 'base_model', 'bert', 'vit', 'resnet']);

/** Whether a name is bound to a module: an nn layer, a torchvision model, or an instance of an nn.Module class of the file. */
function isModuleName(a: Analysis, id: PyNode): boolean {
  const v = mayBeModule(a, id);
  if (!v) return false;
  const q = a.callee(v) ?? '';
  if (q.startsWith('torchvision.models.') || /^torch\.nn\.[A-Z]\w*$/.test(q)) return true;
  const fn = v.child('function');
  return fn?.type === 'identifier' && !!a.moduleClass(fn.text);
}

/**
 * The call a name is bound to when it may be a module (isModuleName without the file's classes): a torch.nn layer,
 * a torchvision model, or a call of a plain name; else undefined.
 */
function mayBeModule(a: Analysis, id: PyNode): PyNode | undefined {
  const v = unparen(a.scopes.valueAt(id.text, id) ?? undefined);
  if (v?.type !== 'call') return undefined;
  const q = a.callee(v) ?? '';
  if (q.startsWith('torchvision.models.') || /^torch\.nn\.[A-Z]\w*$/.test(q)) return v;
  return v.child('function')?.type === 'identifier' ? v : undefined;
}

/** `m.requires_grad = True/False` / `m.<submodule>.requires_grad = ...`: the name that must be a module, else undefined. */
function requiresGradTarget(assignment: PyNode): { obj: PyNode; root: PyNode; value: PyNode } | undefined {
  const left = assignment.child('left');
  if (left?.type !== 'attribute' || left.child('attribute')?.text !== 'requires_grad') return undefined;
  const value = assignment.child('right');
  if (value?.text !== 'False' && value?.text !== 'True') return undefined;
  const obj = left.child('object');
  if (obj?.type === 'identifier') return { obj, root: obj, value };
  if (obj?.type !== 'attribute') return undefined;
  const root = obj.child('object');
  return root?.type === 'identifier' && SUBMODULES.has(obj.child('attribute')?.text ?? '') ? { obj, root, value } : undefined;
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
  // `<name>.requires_grad = ...` with the name bound to a layer, a torchvision model or a call of a plain name; whether
  // that plain name is a module class reads the file.
  candidate: {
    reads: ['imports', 'scopes'],
    test(assignment, ctx) {
      const t = requiresGradTarget(assignment);
      return t !== undefined && mayBeModule(ctx.analysis, t.root) !== undefined;
    },
  },
  visit(assignment, ctx) {
    const t = requiresGradTarget(assignment);
    if (!t || !isModuleName(ctx.analysis, t.root)) return;
    const { obj, value } = t;
    const left = assignment.child('left')!;
    ctx.report({
      node: left,
      message: `${obj.text} is a module: .requires_grad = ${value.text} only adds an attribute and freezes nothing. Use ${obj.text}.requires_grad_(${value.text}).`,
      fixes: [{ title: `Use ${obj.text}.requires_grad_(${value.text})`, edits: [{ start: assignment.start, end: assignment.end, newText: `${obj.text}.requires_grad_(${value.text})` }] }],
    });
  },
};
