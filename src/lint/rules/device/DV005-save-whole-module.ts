import { positionalArgs, type Analysis } from '../../analysis';
import { parameterArguments } from '../../analysis/parameters';
import type { PyNode } from '../../parser';
import type { RawFix, Rule } from '../../types';

const MODEL_NAME = /^(model|net|network|module|classifier|encoder|decoder|generator|discriminator|\w+_model|model_\w+|\w+_net|net_\w+)$/i;
const NOT_MODEL = /state|dict|ckpt|checkpoint|optim|weights|params|history|result|metric|config|args|tensor|data|loss/i;

/**
 * The saved object is a whole nn.Module: a module constructed in this file, or a name that means one. `isClass` tells
 * the module classes of the file; the candidate test, which cannot see them, takes every name for one.
 */
function isWholeModule(obj: PyNode, a: Analysis, isClass: (name: string) => boolean, depth = 0, callSites = false): boolean {
  if (depth > 3) return false;
  if (obj.type === 'call') {
    const q = a.callee(obj);
    if (q && /^torch\.nn\.[A-Z]\w*$/.test(q) && !/Parameter/.test(q)) return true;
    if (q && /^torchvision\.models\.(\w+\.)?[a-z]\w*$/.test(q) && !/weights|get_weight/i.test(q)) return true;
    const fn = obj.child('function');
    if (fn?.type === 'identifier' && isClass(fn.text)) return true;
    // Net().to(device) / Net().cuda()
    if (fn?.type === 'attribute' && /^(to|cuda|cpu|train|eval)$/.test(fn.child('attribute')?.text ?? '')) return isWholeModule(fn.child('object')!, a, isClass, depth + 1);
    return false;
  }
  if (obj.type !== 'identifier' && obj.type !== 'attribute') return false;
  const last = obj.type === 'attribute' ? (obj.child('attribute')?.text ?? '') : obj.text;
  if (NOT_MODEL.test(last)) return false;
  if (obj.type === 'identifier') {
    const v = a.scopes.valueAt(obj.text, obj);
    if (v && isWholeModule(v, a, isClass, depth + 1)) return true;
    // a known value that is not a call of an unknown factory (dict, state_dict(), torch.jit.script(...)): not a module
    if (v && !(v.type === 'call' && isUnknownFactory(v, a))) return false;
    // A parameter every call site of the file fills with something else (`save(self, model)` always given a
    // state_dict()). Not in the candidate test, which reads its own statement only.
    const args = callSites ? parameterArguments(a, obj) : undefined;
    if (args?.length && args.every((x) => !isWholeModule(x, a, isClass, depth + 1))) return false;
  }
  return MODEL_NAME.test(last);
}

/** `build_model(...)`, `get_net()`: a call we cannot see into (not torch.jit, not a state_dict, not a dict/tensor op). */
function isUnknownFactory(call: PyNode, a: Analysis): boolean {
  const q = a.callee(call) ?? '';
  if (/^(torch|numpy|collections|copy)\./.test(q) || /^(dict|list|tuple|OrderedDict)$/.test(q)) return false;
  const fn = call.child('function');
  const name = fn?.type === 'attribute' ? fn.child('attribute')?.text : fn?.text;
  return name !== undefined && !/state_dict|dict|load|copy|script|trace|compile|tensor|export/i.test(name);
}

/** The object a `torch.save(obj, ...)` call saves, when it may be a whole module (`isClass` as in `isWholeModule`). */
function savedModule(call: PyNode, a: Analysis, isClass: (name: string) => boolean, callSites = false): PyNode | undefined {
  if (a.callee(call) !== 'torch.save') return undefined;
  const obj = positionalArgs(call)[0];
  return obj && isWholeModule(obj, a, isClass, 0, callSites) ? obj : undefined;
}

export const DV005: Rule = {
  meta: {
    id: 'DV005',
    name: 'save-whole-module',
    group: 'device',
    defaultSeverity: 'info',
    summary: '`torch.save(model)` pickles the whole module instead of its `state_dict()`.',
    why:
      'Saving the module object pickles a reference to its class by import path. Loading it later needs the exact same ' +
      'source tree: renaming a file, moving the class or changing its attributes breaks the checkpoint, and loading it ' +
      'requires `weights_only=False`, i.e. trusting the file with arbitrary code. `torch.save(model.state_dict(), path)` stores ' +
      'only tensors keyed by parameter name; it loads with `model.load_state_dict(torch.load(path, weights_only=True))` into ' +
      'any compatible model. The quick fix changes what the file holds, so update the loading code with it.',
    wrong: 'model = nn.Linear(4, 2)\ntorch.save(model, "model.pt")',
    right: 'model = nn.Linear(4, 2)\ntorch.save(model.state_dict(), "model.pt")',
    concept: 'Checkpoints: save and load state_dicts, not pickled objects',
    fixable: true,
  },
  nodeTypes: ['call'],
  // torch.save of what may be a module, taking any called name for a module class of the file.
  candidate: { reads: ['imports', 'scopes'], test: (call, ctx) => savedModule(call, ctx.analysis, () => true) !== undefined },
  visit(call, ctx) {
    const a = ctx.analysis;
    const obj = savedModule(call, a, (name) => a.moduleClass(name) !== undefined, true);
    if (!obj) return;
    const fixes: RawFix[] | undefined =
      obj.type === 'identifier' || obj.type === 'attribute'
        ? [{ title: `Save ${obj.text}.state_dict()`, edits: [{ start: obj.end, end: obj.end, newText: '.state_dict()' }] }]
        : undefined;
    ctx.report({
      node: obj,
      message: `torch.save(${obj.text}) pickles the whole module, which breaks when the code moves: save its state_dict() instead.`,
      fixes,
    });
  },
};
