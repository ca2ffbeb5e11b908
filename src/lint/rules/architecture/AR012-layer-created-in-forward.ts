import { calleeName, enclosingFunction, methodClass, receiver, type Analysis } from '../../analysis';
import { kerasName, kerasQname } from '../../analysis/keras';
import { classHoldsParameters, isLayer, isParametricBuild, PARAMETER_FREE, SAME_MODULE } from '../../analysis/moduleBuilds';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

/** Keras layers that create weights when first called (any `keras.…layers…` path). */
const KERAS_WEIGHTED =
  /^keras\.(?:\w+\.)*layers\.(?:\w+\.)*(Dense|EinsumDense|Conv[123]D|Conv[123]DTranspose|Convolution[123]D|Convolution[23]DTranspose|SeparableConv[12]D|SeparableConvolution[12]D|DepthwiseConv[12]D|LocallyConnected[12]D|Embedding|LSTM|GRU|SimpleRNN|ConvLSTM[123]D|Bidirectional|BatchNormalization|LayerNormalization|GroupNormalization|UnitNormalization|MultiHeadAttention|PReLU)$/;
/** Bases that make a class a Keras layer or model (its `call` runs on every step). */
const KERAS_BASE = /^keras\.(?:\w+\.)*(Model|Layer)$/;
const CONTAINER = /^torch\.nn\.(Sequential|ModuleList|ModuleDict)$/;

type Framework = 'torch' | 'keras';

/** A construction that may bring weights, from the call alone: the cheap first test. */
function mayBuildWeights(call: PyNode, a: Analysis): Framework | undefined {
  const fn = call.child('function');
  if (!fn || (fn.type !== 'identifier' && fn.type !== 'attribute')) return undefined;
  const q = a.callee(call);
  if (q && isLayer(q) && !PARAMETER_FREE.test(q)) return 'torch';
  if (q && KERAS_WEIGHTED.test(kerasName(q) ?? '')) return 'keras';
  return fn.type === 'identifier' && a.definesClass(fn.text) ? 'torch' : undefined;
}

/** Whether the construction brings parameters: a parametric torch.nn layer (or container of one), a module class of the file that holds some. */
function buildsWeights(call: PyNode, a: Analysis, fw: Framework): boolean {
  if (fw === 'keras') return true;
  const q = a.callee(call);
  if (q?.startsWith('torch.nn.')) return isParametricBuild(call, a);
  const fn = call.child('function');
  return fn?.type === 'identifier' && !!a.moduleClass(fn.text, call) && classHoldsParameters(a, fn.text);
}

/** The expression that holds the module: a torch.nn container around the construction, then `.to(device)` and the like. */
function heldModule(call: PyNode, a: Analysis): PyNode | undefined {
  let e = call;
  for (;;) {
    const p = e.parent;
    if (p?.type === 'parenthesized_expression') e = p;
    else if (p?.type === 'argument_list' && p.parent?.type === 'call' && CONTAINER.test(a.callee(p.parent) ?? '')) return undefined; // the container is reported
    else if (p?.type === 'attribute' && p.child('object') === e && SAME_MODULE.has(p.child('attribute')?.text ?? '') && p.parent?.type === 'call' && p.parent.child('function') === p) e = p.parent;
    else return e;
  }
}

/** The class whose method `fn` is, and whether that class is a torch module or a Keras layer/model. */
function ownerClass(fn: PyNode, a: Analysis, fw: Framework): PyNode | undefined {
  const cls = methodClass(fn);
  if (!cls) return undefined;
  if (fw === 'torch') {
    const name = cls.child('name')?.text;
    return name && a.moduleClass(name, cls)?.node === cls ? cls : undefined;
  }
  return (cls.child('superclasses')?.namedChildren ?? []).some((b) => KERAS_BASE.test(kerasQname(a, b) ?? '')) ? cls : undefined;
}

/** The method around the call, when it is a method of a class that may run per step (not `__init__`, not `build`). */
function inMethodThatMayRun(call: PyNode): PyNode | undefined {
  const fn = enclosingFunction(call);
  const name = fn?.child('name')?.text;
  if (!fn || !name || (NOT_HELPERS.has(name) && name !== 'forward' && name !== 'call')) return undefined;
  return methodClass(fn) ? fn : undefined;
}

/** The method that runs on every step: `forward` for torch, `call` for Keras. */
const STEP_METHOD: Record<Framework, string> = { torch: 'forward', keras: 'call' };
const NOT_HELPERS = new Set(['__init__', 'build', 'forward', 'call', '__call__', 'reset_parameters', '_init_weights', 'init_weights']);

/**
 * Whether method `fn` of `cls` runs only from the step method: it is the step method, or a helper every call of which
 * is `self.<name>(...)` inside the step method (or such a helper), and nothing else in the file names it.
 */
function runsPerStep(fn: PyNode, cls: PyNode, a: Analysis, fw: Framework, depth = 0): boolean {
  const name = fn.child('name')?.text;
  if (!name) return false;
  if (name === STEP_METHOD[fw]) return true;
  if (NOT_HELPERS.has(name) || depth > 2) return false;
  let known = helpers.get(a);
  if (!known) helpers.set(a, (known = new Map()));
  let answer = known.get(fn);
  if (answer === undefined) {
    known.set(fn, false); // recursion adds nothing
    const calls = a.callsNamed(name);
    answer =
      calls.length > 0 &&
      // a reference handed elsewhere (`self.apply(self.f)`, `map(self.f, ...)`) or a second definition: unknown
      a.identifiersNamed(name).length === calls.length + 1 &&
      calls.every((c) => {
        const caller = enclosingFunction(c);
        return receiver(c)?.text === 'self' && !!caller && caller !== fn && methodClass(caller) === cls && runsPerStep(caller, cls, a, fw, depth + 1);
      });
    known.set(fn, answer);
  }
  return answer;
}

const helpers = new WeakMap<Analysis, Map<PyNode, boolean>>();

/**
 * How the module is used, when it is run in the method: called in place (`nn.Linear(a, b)(x)`), through a local name
 * that is only called (`conv = nn.Conv2d(...); y = conv(x)`), or kept as `self.x` unconditionally (no lazy-build guard)
 * and called. Any other use (`conv.weight.data = k`, `nn.init...(conv.weight)`, handed to a function) is left alone:
 * the layer may be a functional wrapper of given weights.
 */
function runHere(held: PyNode, method: PyNode, cls: PyNode): boolean {
  const p = held.parent;
  if (p?.type === 'call' && p.child('function') === held) return true;
  if (p?.type !== 'assignment' || p.child('right') !== held) return false;
  const left = p.child('left');
  if (left?.type === 'identifier') return onlyCalled(left, method, p);
  if (left?.type === 'attribute' && left.child('object')?.text === 'self') {
    const block = p.parent?.parent;
    // `if self.fc is None: self.fc = ...`, `if not hasattr(...)`: built once; only a statement of the method's own body is not
    return block?.type === 'block' && block.parent === method && calledAsSelf(cls, left.child('attribute')?.text ?? '');
  }
  return false;
}

/** Every later read of the local name in the method is a call of it (or `.to(device)` and the like on the way), and there is one. */
function onlyCalled(name: PyNode, method: PyNode, assignment: PyNode): boolean {
  let called = false;
  let other = false;
  method.walk((n) => {
    if (other) return false;
    if (n.type !== 'identifier' || n.text !== name.text || n === name) return;
    const p = n.parent;
    if (p?.type === 'call' && p.child('function') === n) called = true;
    else if (p?.type === 'attribute' && p.child('object') === n && SAME_MODULE.has(p.child('attribute')?.text ?? '') && p.parent?.type === 'call') return;
    else if (p?.type === 'assignment' && p.child('left') === n) {
      if (n.start > assignment.end) other = true; // rebound later: which value is called is unclear
    } else other = true;
  });
  return called && !other;
}

function calledAsSelf(cls: PyNode, attr: string): boolean {
  let found = false;
  cls.walk((n) => {
    if (found) return false;
    if (n.type === 'call') {
      const f = n.child('function');
      if (f?.type === 'attribute' && f.child('object')?.text === 'self' && f.child('attribute')?.text === attr) found = true;
    }
  });
  return found;
}

function shown(call: PyNode): string {
  const fn = call.child('function')?.text ?? calleeName(call) ?? 'layer';
  return `${fn}(...)`;
}

export const AR012: Rule = {
  meta: {
    id: 'AR012',
    name: 'layer-created-in-forward',
    group: 'architecture',
    defaultSeverity: 'error',
    summary: 'A layer with weights is built inside `forward()` (Keras: `call()`): a new random layer on every call, never trained.',
    why:
      'A layer\'s weights are created, randomly, when the layer object is constructed. Built inside `forward()` ' +
      '(`x = nn.Conv2d(a, b, 1)(x)`, `proj = nn.Linear(d, d); y = proj(x)`), the layer is a new object on every call: ' +
      'its weights are fresh random numbers each step, they are not sub-modules of the model, so `model.parameters()` ' +
      'and the optimizer never see them, `model.to(device)` does not move them and `state_dict()` does not save them. ' +
      'That part of the network is pure noise that training cannot fix, and evaluation gives different answers on each ' +
      'run. Build the layer once in `__init__` (`self.proj = nn.Linear(d, d)`) and call `self.proj(x)` in `forward`. ' +
      'The same holds for a Keras layer with weights (`Dense`, `Conv2D`, ...) built inside `call()` of a `keras.Model` ' +
      'or `Layer` subclass: build it in `__init__` or `build()`. Also reported in a helper method that only `forward` ' +
      'calls, and for a module class of the file that holds parameters. Not reported: layers without parameters (ReLU, ' +
      'Dropout, pooling, Flatten), a layer kept as `self.x` under a lazy-build guard (`if self.x is None:`), and a layer ' +
      'whose weights the code sets itself (`conv.weight.data = kernel`).',
    wrong:
      'class Block(nn.Module):\n    def __init__(self, c_in, c_out):\n        super().__init__()\n        self.body = nn.Conv2d(c_in, c_out, 3, padding=1)\n        self.c_in, self.c_out = c_in, c_out\n\n    def forward(self, x):\n        skip = nn.Conv2d(self.c_in, self.c_out, 1)(x)\n        return self.body(x) + skip',
    right:
      'class Block(nn.Module):\n    def __init__(self, c_in, c_out):\n        super().__init__()\n        self.body = nn.Conv2d(c_in, c_out, 3, padding=1)\n        self.skip = nn.Conv2d(c_in, c_out, 1)\n\n    def forward(self, x):\n        return self.body(x) + self.skip(x)',
    concept: 'nn.Module: layers are built once, in __init__',
    fixable: false,
  },
  nodeTypes: ['call'],
  // Not statement-local: a module class of the file and helper methods' callers are read elsewhere in the file.
  candidate: { reads: ['imports', 'classes'], test: (call, ctx) => inMethodThatMayRun(call) !== undefined && mayBuildWeights(call, ctx.analysis) !== undefined },
  visit(call, ctx) {
    const a = ctx.analysis;
    const method = inMethodThatMayRun(call);
    const fw = method && mayBuildWeights(call, a);
    if (!method || !fw) return;
    const held = heldModule(call, a);
    if (!held) return;
    const cls = ownerClass(method, a, fw);
    if (!cls || !runsPerStep(method, cls, a, fw)) return;
    if (!runHere(held, method, cls) || !buildsWeights(call, a, fw)) return;
    const where = method.child('name')?.text === STEP_METHOD[fw] ? `${STEP_METHOD[fw]}()` : `${method.child('name')?.text}() (run from ${STEP_METHOD[fw]}())`;
    const keep = fw === 'torch' ? 'build it once in __init__ (self.layer = ...) and call self.layer(x) here' : 'build it once in __init__ or build() and call self.layer(x) here';
    const optimizer = fw === 'torch' ? 'the optimizer never sees it' : 'it is never trained';
    ctx.report({
      node: call,
      message: `${shown(call)} is built inside ${where}: every call makes a new randomly initialised layer and ${optimizer}; ${keep}.`,
    });
  },
};
