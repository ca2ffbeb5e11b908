import { unparen, type Analysis } from '../../analysis';
import { parameterArguments } from '../../analysis/parameters';
import { scopeOf } from '../../analysis/scopes';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

// Submodules of common models (torchvision, timm, transformers, user models): `model.features.requires_grad = False`.
const SUBMODULES = new Set(['features', 'classifier', 'fc', 'head', 'heads', 'backbone', 'encoder', 'decoder', 'body', 'stem', 'layer1', 'layer2', 'layer3', 'layer4', 'conv1', 'bn1', 'embeddings', 'transformer', 'base_model', 'bert', 'vit', 'resnet']);

// Words of submodule names (`outc`, `conv_out`, `proj2`, `text_encoder`) and of parameter names (`pos_embed`,
// `cls_token`, `logit_scale`): a name with a parameter word is never taken for a submodule.
const MODULE_WORDS = new Set(['conv', 'layer', 'layers', 'block', 'blocks', 'head', 'fc', 'linear', 'proj', 'projection', 'encoder', 'decoder', 'net', 'mlp', 'attn', 'attention', 'norm', 'bn', 'classifier', 'backbone', 'features', 'stem', 'neck', 'out', 'outc', 'inc', 'down', 'up', 'lstm', 'gru', 'rnn', 'transformer', 'model', 'module', 'stage', 'branch', 'embed', 'embedding', 'embeddings', 'generator', 'discriminator', 'unet']);
const PARAMETER_WORDS = /(^|_)(weights?|bias|tokens?|scale|temperature|temp|alpha|beta|gamma|logits?|params?|parameters?|mask|prompts?|pos|position|query|queries|codebook|centers?|anchors?|sigma|log|mu|std|mean|var|running|buffer)(_|\d|$)/;

/** Calls that build a module: an nn layer (not a Parameter), a torchvision or timm model. */
const MODULE_CALL = /^torch\.nn\.(?!Parameter$|Buffer$|UninitializedParameter$)[A-Z]\w*$|^torchvision\.models\.|^timm\.create_model$/;
/** Calls that build a tensor (or a Parameter): their `requires_grad` is the real flag. */
const TENSOR_CALL = /^torch\.nn\.(Parameter|Buffer|UninitializedParameter|parameter\.\w+)$|^torch\.(?!nn\.|hub\.|jit\.|load$)|^numpy\./;
/** A model factory by its name: `get_model(opt)`, `build_model(cfg)`, `models.create_net(...)`. */
const FACTORY = /^(get|build|create|make|load|init|init_|construct)_?(model|net|network|backbone|encoder|decoder)$/i;

/** Methods only modules have: calling one on a name shows it holds a module. */
const MODULE_METHODS = new Set(['parameters', 'named_parameters', 'children', 'named_children', 'modules', 'named_modules', 'train', 'eval', 'state_dict', 'load_state_dict', 'apply', 'requires_grad_', 'zero_grad']);
/** Attributes of layers (a tensor has none of them). */
const LAYER_ATTRS = new Set(['weight', 'bias', 'in_features', 'out_features', 'in_channels', 'out_channels', 'kernel_size']);
/** Attributes of tensors: `p.data.zero_()` is no sign that `p` is a module. */
const TENSOR_ATTRS = new Set(['data', 'grad', 'T', 'mT', 'H', 'mH', 'shape', 'device', 'dtype', 'real', 'imag', 'is_leaf', 'grad_fn', 'requires_grad', 'ndim']);

interface Target {
  /** The expression assigned to: `self.model.outc`. */
  obj: PyNode;
  /** What holds the model: `model`, or `self.model` (first attribute of `self`). */
  base: PyNode;
  /** The attributes after the base (`outc`), empty for `model.requires_grad`. */
  rest: string[];
  value: PyNode;
}

/** `m.requires_grad = True/False`, `m.a.b.requires_grad = ...`, `self.m.a.requires_grad = ...`: the parts, else undefined. */
function requiresGradTarget(assignment: PyNode): Target | undefined {
  const left = assignment.child('left');
  if (left?.type !== 'attribute' || left.child('attribute')?.text !== 'requires_grad') return undefined;
  const value = assignment.child('right');
  if (value?.text !== 'False' && value?.text !== 'True') return undefined;
  const obj = left.child('object');
  const chain: PyNode[] = [];
  let n = obj;
  while (n?.type === 'attribute') {
    chain.unshift(n);
    n = n.child('object');
  }
  if (!obj || n?.type !== 'identifier') return undefined;
  if (n.text !== 'self') return { obj, base: n, rest: chain.map((c) => c.child('attribute')!.text), value };
  // `self.requires_grad = False` may be a flag of the class's own: not reported.
  if (chain.length === 0) return undefined;
  return { obj, base: chain[0]!, rest: chain.slice(1).map((c) => c.child('attribute')!.text), value };
}

/**
 * What the base may hold where it is assigned: its values (undefined: unknown); with `callers`, a `self.x = x` of a
 * parameter is followed to the arguments of the file's calls (this reads other statements).
 */
function baseValues(a: Analysis, base: PyNode, callers = true): (PyNode | undefined)[] | undefined {
  if (base.type === 'identifier') {
    const v = a.scopes.valueAt(base.text, base);
    return v === undefined ? undefined : [v ?? undefined];
  }
  const cls = base.ancestor('class_definition');
  const attr = base.child('attribute')?.text;
  if (!cls || !attr) return undefined;
  // `self.model = model` in __init__: the argument, when the file builds the class.
  return a.scopes.selfAttr(cls, attr).flatMap((v) => {
    const u = unparen(v);
    if (u?.type !== 'identifier' || !callers || a.scopes.valueAt(u.text, u) !== null) return [u];
    return parameterArguments(a, u)?.map((x) => unparen(x)) ?? [undefined];
  });
}

/** Statement-local part: the base is not a tensor (its values are calls of no tensor factory, or unknown). */
function mayBeModule(a: Analysis, t: Target): boolean {
  const values = baseValues(a, t.base, false);
  if (!values?.length) return false;
  return values.every((v) => v === undefined || (v.type === 'call' && !TENSOR_CALL.test(a.callee(v) ?? '')) || (v.type === 'identifier' && t.base.type === 'attribute'));
}

/** Whether one value builds a module: an nn layer, a torchvision/timm model, a module class of the file, `get_model(...)`. */
function buildsModule(a: Analysis, v: PyNode | undefined): boolean {
  if (v?.type !== 'call') return false;
  if (MODULE_CALL.test(a.callee(v) ?? '')) return true;
  const fn = v.child('function');
  if (fn?.type === 'identifier' && a.moduleClass(fn.text)) return true;
  const last = fn?.type === 'attribute' ? fn.child('attribute')?.text : fn?.text;
  return FACTORY.test(last ?? '');
}

/** Reads of `text` (`model`, `self.model.outc`) where it refers to the same thing as at `target`. */
function sameHolder(a: Analysis, use: PyNode, target: Target): boolean {
  if (target.base.type === 'attribute') return use.ancestor('class_definition') === target.base.ancestor('class_definition');
  const name = target.base.text;
  if (scopeOf(use) === scopeOf(target.base)) return true;
  return scopeOf(target.base) === null && a.scopes.valueAt(name, use) === a.scopes.valueAt(name, target.base);
}

/** Whether the file uses `text` as a module: `text(x)`, `text.parameters()`, `text.weight`, `text.conv.weight`. */
function usedAsModule(a: Analysis, text: string, target: Target): boolean {
  for (const n of a.index.of('call')) {
    if (n.child('function')?.text === text && sameHolder(a, n, target)) return true;
  }
  for (const n of a.index.of('attribute')) {
    if (n.child('object')?.text !== text || !sameHolder(a, n, target)) continue;
    const attr = n.child('attribute')?.text ?? '';
    if (MODULE_METHODS.has(attr) && n.parent?.type === 'call' && n.parent.child('function') === n) return true;
    if (LAYER_ATTRS.has(attr)) return true;
    // `outc.conv.weight`: outc holds a submodule named conv.
    if (n.parent?.type === 'attribute' && n.parent.child('object') === n && !TENSOR_ATTRS.has(attr)) return true;
  }
  return false;
}

/** Whether the base holds a module: built as one, or used as one. */
function baseIsModule(a: Analysis, t: Target): boolean {
  const values = baseValues(a, t.base) ?? [];
  if (values.some((v) => v?.type === 'call' && TENSOR_CALL.test(a.callee(v) ?? ''))) return false;
  return values.some((v) => buildsModule(a, v)) || usedAsModule(a, t.base.text, t);
}

/** Whether `<module>.<rest>` is a submodule, not a parameter: a known or module-like name, a layer of a file class, or used as a module. */
function restIsModule(a: Analysis, t: Target): boolean {
  if (t.rest.length === 0) return true;
  const last = t.rest[t.rest.length - 1]!;
  if (t.rest.length === 1) {
    const layer = fileClassLayer(a, t, last);
    if (layer) return buildsModule(a, layer);
  }
  if (SUBMODULES.has(last)) return true;
  if (!PARAMETER_WORDS.test(last) && last.split(/_|\d+/).some((w) => MODULE_WORDS.has(w))) return true;
  return usedAsModule(a, t.obj.text, t);
}

/** `model.head` with `model = Net()` of this file: what Net assigns to `self.head` (undefined when not known). */
function fileClassLayer(a: Analysis, t: Target, attr: string): PyNode | undefined {
  for (const v of baseValues(a, t.base) ?? []) {
    const fn = v?.type === 'call' ? v.child('function') : undefined;
    const cls = fn?.type === 'identifier' ? a.moduleClass(fn.text) : undefined;
    const layer = cls?.layers.get(attr);
    if (layer) return unparen(layer);
  }
  return undefined;
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
      'parameter. Descent reports it on a name or `self.` attribute built as a module (an nn layer, a torchvision or ' +
      'timm model, a module class of the file, a `get_model(...)`-like factory) or used as one (`model(x)`, ' +
      '`model.parameters()`), and on its submodules, but not on attributes named like parameters (`pos_embed`, `cls_token`).',
    wrong: 'import torchvision\nmodel = torchvision.models.resnet18(weights=None)\nmodel.requires_grad = False',
    right: 'import torchvision\nmodel = torchvision.models.resnet18(weights=None)\nmodel.requires_grad_(False)',
    concept: 'Autograd: requires_grad decides which tensors get gradients (freezing layers)',
    fixable: true,
  },
  nodeTypes: ['assignment'],
  // `<base>.requires_grad = ...` with the base bound to something that is not a tensor; whether it is a module reads
  // the file (its classes, how the base is used).
  candidate: {
    reads: ['imports', 'scopes'],
    test(assignment, ctx) {
      const t = requiresGradTarget(assignment);
      return t !== undefined && mayBeModule(ctx.analysis, t);
    },
  },
  visit(assignment, ctx) {
    const a = ctx.analysis;
    const t = requiresGradTarget(assignment);
    if (!t || !mayBeModule(a, t) || !baseIsModule(a, t) || !restIsModule(a, t)) return;
    const { obj, value } = t;
    const left = assignment.child('left')!;
    ctx.report({
      node: left,
      message: `${obj.text} is a module: .requires_grad = ${value.text} only adds an attribute and freezes nothing. Use ${obj.text}.requires_grad_(${value.text}).`,
      fixes: [{ title: `Use ${obj.text}.requires_grad_(${value.text})`, edits: [{ start: assignment.start, end: assignment.end, newText: `${obj.text}.requires_grad_(${value.text})` }] }],
    });
  },
};
