import { positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { previousExcept, torchLayers } from '../../analysis/layers';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';
import { sourceOf } from './shared';
import { valueBefore } from '../../analysis/values';

const INIT_FNS = new Set(['torch.nn.init.zeros_', 'torch.nn.init.ones_', 'torch.nn.init.constant_', 'torch.nn.init.constant', 'torch.nn.init.zeros', 'torch.nn.init.ones']);
const LEARNING = /^torch\.nn\.(Linear|LazyLinear|Bilinear|(Lazy)?Conv(Transpose)?[123]d)$/;
const NORM = /Norm|Embedding/;

/** The tensor a constant initialiser writes: `nn.init.zeros_(w)`, `w.data.fill_(0)`, `w.zero_()`. */
function target(a: Analysis, call: PyNode): PyNode | undefined {
  const q = a.callee(call);
  if (q && INIT_FNS.has(q)) return stripData(positionalArgs(call)[0]);
  const fn = call.child('function');
  const method = fn?.type === 'attribute' ? fn.child('attribute')?.text : undefined;
  if (method !== 'fill_' && method !== 'zero_') return undefined;
  return stripData(receiver(call));
}

/** `w.data` -> `w`. */
function stripData(t: PyNode | undefined): PyNode | undefined {
  const u = unparen(t);
  return u?.type === 'attribute' && u.child('attribute')?.text === 'data' ? u.child('object') : u;
}

/** DCGAN-style `classname.find("Linear") != -1`, `"Conv" in classname`, `type(m) == nn.Linear`. */
const NAMES_LEARNING = /(['"](Linear|Conv\w*)['"]|\bnn\.(Linear|Conv[123]d)\b)/;

/** `isinstance(m, (nn.Linear, nn.Conv2d))` guarding the call, listing learning layers and no norm layer. */
function guardedByLayerType(a: Analysis, call: PyNode, obj: PyNode): boolean {
  const branch = call.ancestor('if_statement', 'elif_clause');
  const cond = unparen(branch?.child('condition'));
  if (!cond) return false;
  if (cond.type !== 'call' || cond.child('function')?.text !== 'isinstance') {
    // Class-name tests: only for a plain name (the module being visited), never mentioning norm layers.
    return obj.type === 'identifier' && NAMES_LEARNING.test(cond.text) && !NORM.test(cond.text);
  }
  const [subject, types] = positionalArgs(cond);
  if (subject?.text !== obj.text || !types) return false;
  const list = types.type === 'tuple' ? types.namedChildren : [types];
  const qs = list.map((t) => a.qname(t) ?? t.text);
  return qs.some((q) => LEARNING.test(q)) && !qs.some((q) => NORM.test(q));
}

/**
 * `def zero_init(m)` applied only as `self.film.apply(zero_init)` / `model.head.apply(zero_init)`: the constant init
 * targets one named part (a FiLM conditioning layer, a last layer started at zero so the block starts as the
 * identity), not every layer. Quiet when every use of the function is such an `apply` on a part holding at most one
 * Linear/Conv layer (a part of another object: its layers are not shown here, so it is trusted too).
 */
function targetsOnePart(a: Analysis, call: PyNode, obj: PyNode): boolean {
  const fn = call.ancestor('function_definition');
  const name = fn?.child('name')?.text;
  const param = fn?.child('parameters')?.namedChildren.find((p) => p.type === 'identifier');
  if (!fn || !name || param?.text !== obj.text) return false;
  const uses = a.identifiersNamed(name).filter((id) => id !== fn.child('name'));
  return uses.length > 0 && uses.every((id) => appliedToOnePart(a, id));
}

/** `<part>.apply(id)` where the part is an attribute (`self.film`, `model.head`) holding at most one learning layer. */
function appliedToOnePart(a: Analysis, id: PyNode): boolean {
  const call = id.parent?.type === 'argument_list' ? id.parent.parent : undefined;
  const f = call?.type === 'call' ? call.child('function') : undefined;
  if (f?.type !== 'attribute' || f.child('attribute')?.text !== 'apply' || positionalArgs(call!)[0] !== id) return false;
  const part = unparen(f.child('object'));
  if (part?.type !== 'attribute') return false;
  if (part.child('object')?.text !== 'self') return true;
  const cls = part.ancestor('class_definition');
  const values = cls ? a.scopes.selfAttr(cls, part.child('attribute')?.text ?? '') : [];
  return values.length > 0 && values.every((v) => learningLayers(a, v) <= 1);
}

/** How many Linear/Conv layers an expression builds (`nn.Sequential(nn.Linear(...), nn.ReLU())` -> 1). */
function learningLayers(a: Analysis, value: PyNode): number {
  let n = 0;
  value.walk((c) => {
    if (c.type === 'call' && LEARNING.test(a.callee(c) ?? '')) n++;
  });
  return n;
}

/** `self.fc1.weight` where forward feeds fc1's output (through activations) into another Linear/Conv layer. */
function hiddenLayerWeight(a: Analysis, obj: PyNode): boolean {
  if (obj.type !== 'attribute' || obj.child('object')?.text !== 'self') return false;
  const cls = a.modules.find((m) => m.node === obj.ancestor('class_definition'));
  const attr = obj.child('attribute')?.text ?? '';
  if (!cls || !LEARNING.test(a.callee(cls.layers.get(attr) ?? obj) ?? '')) return false;
  const steps = torchLayers(a).forward(cls).steps;
  return steps.some((t) => {
    if (t.kind !== 'linear' && t.kind !== 'conv') return false;
    const p = previousExcept(t, ['activation', 'dropout', 'batchnorm', 'shape', 'pool', 'sigmoid']);
    return p?.attr === attr;
  });
}

/** `for p in model.parameters(): <init>(p)`: every parameter of a model, weights included. */
function allParameters(a: Analysis, call: PyNode, t: PyNode): boolean {
  if (t.type !== 'identifier') return false;
  const stmt = call.parent;
  const loop = stmt?.parent?.parent;
  if (stmt?.type !== 'expression_statement' || loop?.type !== 'for_statement') return false;
  if (loop.child('left')?.text !== t.text) return false;
  const it = unparen(loop.child('right'));
  if (it?.type !== 'call' || it.child('function')?.child('attribute')?.text !== 'parameters') return false;
  const owner = receiver(it);
  if (!owner) return false;
  if (owner.text === 'self') return !!call.ancestor('class_definition') && a.modules.some((m) => m.node === call.ancestor('class_definition'));
  if (owner.type !== 'identifier') return false;
  const v = valueBefore(a, owner);
  if (!v) return false;
  const fn = unparen(v)?.type === 'call' ? unparen(v)!.child('function') : undefined;
  return (fn?.type === 'identifier' && !!a.moduleClass(fn.text)) || a.callee(unparen(v)!) === 'torch.nn.Sequential' || !!sourceOf(a, v);
}

export const AR007: Rule = {
  meta: {
    id: 'AR007',
    name: 'constant-weight-init',
    group: 'architecture',
    defaultSeverity: 'warning',
    summary: 'Weights of hidden Linear/Conv layers are initialised to a constant (often zero).',
    why:
      'If every weight of a layer starts with the same value, every unit of the layer computes the same output and receives ' +
      'the same gradient, so the units stay identical forever (the symmetry is never broken) and the layer behaves like a ' +
      'single unit; with zeros, the layers before it get no gradient at all. Keep PyTorch\'s default initialisation or use ' +
      'a random scheme (`kaiming_normal_`, `xavier_uniform_`). Constant biases, BatchNorm/LayerNorm weights, a zero-initialised ' +
      'final layer and an init function applied only to one named single-layer part (`self.film.apply(zero_init)`, a ' +
      'conditioning or residual branch started at zero) are fine and not reported.',
    wrong:
      'class MLP(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc1 = nn.Linear(784, 256)\n        self.fc2 = nn.Linear(256, 10)\n        nn.init.zeros_(self.fc1.weight)\n\n    def forward(self, x):\n        return self.fc2(F.relu(self.fc1(x)))',
    right:
      'class MLP(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc1 = nn.Linear(784, 256)\n        self.fc2 = nn.Linear(256, 10)\n        nn.init.kaiming_normal_(self.fc1.weight)\n        nn.init.zeros_(self.fc1.bias)\n\n    def forward(self, x):\n        return self.fc2(F.relu(self.fc1(x)))',
    concept: 'Weight initialisation: random init breaks the symmetry between units',
    fixable: false,
  },
  nodeTypes: ['call'],
  candidate: { reads: ['imports'], test: (call, ctx) => target(ctx.analysis, call) !== undefined },
  visit(call, ctx) {
    const a = ctx.analysis;
    const t = unparen(target(a, call));
    if (!t) return;
    let hit = false;
    if (t.type === 'attribute' && t.child('attribute')?.text === 'weight') {
      const obj = t.child('object')!;
      hit = (guardedByLayerType(a, call, obj) && !targetsOnePart(a, call, obj)) || hiddenLayerWeight(a, obj);
    } else {
      hit = allParameters(a, call, t);
    }
    if (!hit) return;
    ctx.report({
      node: call,
      message: 'Constant weight initialisation: all units of the layer start identical and stay identical. Use a random initialiser such as nn.init.kaiming_normal_ or xavier_uniform_.',
    });
  },
};
