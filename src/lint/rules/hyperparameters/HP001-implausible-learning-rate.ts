import { calleeName, keywordArg, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { configValue, type ConfigValue } from '../../analysis/config';
import { optimizesInputTensors } from '../../analysis/optimizedTensors';
import { kerasName } from '../../analysis/keras';
import type { PyNode } from '../../parser';
import type { Rule, RuleContext } from '../../types';

interface Bounds {
  /** lr at or above this is implausible (above it, for `highExclusive`) */
  high: number;
  highExclusive?: boolean;
  /** With gradient clipping a step is bounded by lr * max_norm: a large lr is the intended setting (LSTM language models). */
  clipAllowsHigh?: boolean;
  /** A model of one linear layer is convex: a large step there is a choice (adaptive optimizers). */
  linearAllowsHigh?: boolean;
  /** lr below this is implausible */
  low: number;
  fix?: string;
}

const ADAPTIVE: Bounds = { high: 0.1, low: 1e-7, fix: '1e-3', linearAllowsHigh: true };
const PLAIN: Bounds = { high: 1.0, low: 1e-7 };
/** SGD: lr=1.0 is a classic setting (Zaremba et al.'s LSTM), and with clipping lr=20 is pytorch/examples' default. */
const SGD: Bounds = { high: 1.0, low: 1e-7, highExclusive: true, clipAllowsHigh: true };

/** Per optimizer. Adadelta (lr=1.0 by design) and LBFGS (line search, lr=1) are deliberately absent. */
const BOUNDS: Record<string, Bounds> = {
  Adam: ADAPTIVE,
  AdamW: ADAPTIVE,
  Adamax: ADAPTIVE,
  NAdam: ADAPTIVE,
  RAdam: ADAPTIVE,
  SparseAdam: ADAPTIVE,
  RMSprop: { high: 0.1, low: 1e-7, linearAllowsHigh: true },
  SGD,
  Adagrad: PLAIN,
  ASGD: SGD,
  Rprop: PLAIN,
};

function optimizerName(q: string | undefined): string | undefined {
  const m = q ? /^(?:torch\.optim|keras\.optimizers)\.(\w+)$/.exec(q) : null;
  return m?.[1];
}

function literal(n: PyNode | undefined): number | undefined {
  if (!n || (n.type !== 'float' && n.type !== 'integer')) return undefined;
  const v = Number(n.text.replace(/_/g, ''));
  return Number.isFinite(v) ? v : undefined;
}

export const HP001: Rule = {
  meta: {
    id: 'HP001',
    name: 'implausible-learning-rate',
    group: 'hyperparameters',
    defaultSeverity: 'warning',
    summary: 'The learning rate is far outside the range that works for this optimizer.',
    why:
      'Adaptive optimizers (Adam, AdamW, RMSprop) normalise the gradient, so their step is roughly the learning rate itself: ' +
      '1e-3 or 3e-4 is typical and 0.1 or more makes training diverge (loss becomes NaN). Plain SGD tolerates larger values, ' +
      'but above 1.0 it almost always diverges (unless the gradients are clipped: `clip_grad_norm_` bounds each SGD step, ' +
      'so LSTM language models use lr=20). Adam or RMSprop on a single `nn.Linear` is not reported either (that model is ' +
      'convex), nor up to 0.3 on a module whose only weighted layer is one linear layer or a Keras `Sequential([Dense(1)])` ' +
      '(SGC uses Adam at 0.2). Below 1e-7 ' +
      'nothing moves. Adadelta (lr=1.0 by design) and LBFGS are not checked, nor an optimizer over a list of input tensors ' +
      '(`SGD([image], lr=12)`: feature visualisation, deep dream and inversion step pixels, not weights). A learning rate read from the script\'s own ' +
      'configuration is checked when the file shows its literal value and nothing changes it: `args.lr` with ' +
      "`parser.add_argument('--lr', default=0.1)`, `cfg.lr` of a `@dataclass` field default, `config['lr']` of a dict literal.",
    wrong: 'optimizer = torch.optim.Adam(model.parameters(), lr=0.1)',
    right: 'optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)',
    concept: 'Gradient descent: the learning rate sets the step size',
    fixable: true,
  },
  nodeTypes: ['call'],
  // The learning rate, read from the call and its constant; a configuration read (`args.lr`), whether gradients are
  // clipped and what the model is read the whole file.
  candidate: { reads: ['imports', 'scopes'], test: (call, ctx) => implausible(call, ctx, true) !== undefined },
  visit(call, ctx) {
    const hit = implausible(call, ctx, false);
    if (!hit) return;
    const { name, bounds, lrNode, lr, constant, config } = hit;
    const tooHigh = lr >= bounds.high;
    if (tooHigh && bounds.clipAllowsHigh && clipsGradients(ctx.analysis)) return;
    let shown = constant ? `${lrNode.text} = ${constant.text}` : lrNode.text;
    if (config) shown += ` (${config.origin})`;
    // The fix edits the literal in the call only; a constant or a configured value is changed where it is defined.
    const fixes = bounds.fix && !constant && !config ? [{ title: `Use lr=${bounds.fix}`, edits: [{ start: lrNode.start, end: lrNode.end, newText: bounds.fix }] }] : undefined;
    ctx.report({
      node: lrNode,
      message: tooHigh
        ? `Learning rate ${shown} is too high for ${name} and will likely diverge${bounds.fix ? ` (typical: ${bounds.fix})` : ''}.`
        : `Learning rate ${shown} is so small that ${name} will barely move the weights.`,
      fixes,
    });
  },
};

interface Hit {
  name: string;
  bounds: Bounds;
  lrNode: PyNode;
  lr: number;
  constant?: PyNode;
  config?: ConfigValue;
}

/**
 * The optimizer call's learning rate when it is outside the bounds; else undefined. `local`: the candidate test, seen
 * from the call's statement: a configuration read (`args.lr`, `cfg.lr`, `config['lr']`) passes unresolved, and the
 * exemptions that read the rest of the file (a model of one linear layer, a broken parse) are left to the visit.
 */
function implausible(call: PyNode, ctx: RuleContext, local: boolean): Hit | undefined {
  const a = ctx.analysis;
  const q = a.callee(call);
  const name = optimizerName(q);
  const bounds = name ? BOUNDS[name] : undefined;
  if (!name || !bounds) return undefined;
  const keras = q!.startsWith('keras.');
  const lrNode = keywordArg(call, keras ? 'learning_rate' : 'lr') ?? keywordArg(call, 'lr') ?? positionalArgs(call)[keras ? 0 : 1];
  if (!lrNode) return undefined;
  // A constant (`LEARNING_RATE = 0.5`) counts; a loop target (`for lr in [...]`, a sweep) has no single value.
  const constant = lrNode.type === 'identifier' ? (a.scopes.valueAt(lrNode.text, lrNode) ?? undefined) : undefined;
  let value: PyNode = unparen(constant) ?? lrNode;
  let config: ConfigValue | undefined;
  if (value.type === 'attribute' || value.type === 'subscript') {
    if (local) return { name, bounds, lrNode, lr: Number.NaN };
    config = configValue(a, value);
    if (!config) return undefined;
    value = config.node;
  }
  const lr = literal(value);
  if (lr === undefined || lr <= 0) return undefined;
  if (lr >= bounds.low) {
    if (bounds.highExclusive ? lr <= bounds.high : lr < bounds.high) return undefined;
    // Keras clips in the optimizer itself: `SGD(learning_rate=20, clipnorm=0.25)`.
    if (bounds.clipAllowsHigh && ['clipnorm', 'clipvalue', 'global_clipnorm'].some((k) => keywordArg(call, k))) return undefined;
    // d2l's house-price model: Adam at lr=5 on one nn.Linear regressing unscaled prices; Chollet's linear classifier,
    // RMSprop at 0.1 on `Sequential([Dense(1)])`; SGC (logistic regression over propagated features), Adam at 0.2. A
    // linear model is convex: a large step there is a choice, not the usual divergence.
    // A model class or a Keras model read through more code: only the moderately high settings published for linear
    // models (SGC's 0.2, Chollet's 0.1), not any value.
    if (bounds.linearAllowsHigh) {
      const moderate = !local && lr <= MODERATE_LINEAR_LR;
      if (keras ? moderate && kerasLinearModel(call, a) : linearModel(positionalArgs(call)[0] ?? keywordArg(call, 'params') ?? undefined, a, !moderate)) return undefined;
    }
  }
  // Gradient ascent on an input image (`SGD([image], lr=12)`: deep dream, inversion): the ranges are for weights.
  if (!local && !keras && optimizesInputTensors(call, a)) return undefined;
  // `learning_rate = ` left blank in an exercise template: tree-sitter chains it to the next line's assignment.
  if (!local && constant && brokenBinding(constant)) return undefined;
  return { name, bounds, lrNode, lr, constant, config };
}

/** A value bound by a statement that does not parse: `a = \n b = 500` read as `a = b = 500`, or one with an ERROR. */
function brokenBinding(value: PyNode): boolean {
  let top: PyNode | undefined;
  for (let p = value.parent; p?.type === 'assignment'; p = p.parent) top = p;
  if (!top) return false;
  if (top.hasError || top.parent?.hasError) return true;
  return top !== value.parent && value.src.text.slice(top.start, value.start).includes('\n');
}

/** Up to this, Adam / RMSprop on a module class or Keras model of one linear layer is a choice. */
const MODERATE_LINEAR_LR = 0.3;

const MOVES = /^(to|cuda|cpu|float|double|half|train)$/;

/** The model a `.parameters()` receiver holds: its value, through `.to(...)` and `a, b = Net().to(d), ...`. */
function modelValue(model: PyNode | undefined, a: Analysis): PyNode | undefined {
  let value: PyNode | undefined = unparen(model);
  if (value?.type === 'identifier') {
    const id = value;
    value = unparen(a.scopes.valueAt(id.text, id) ?? undefined);
    const el = value ? undefined : a.scopes.elementAt(id.text, id);
    const src = unparen(el?.source);
    if (el && (src?.type === 'expression_list' || src?.type === 'tuple')) value = unparen(src.namedChildren.filter((c) => c.type !== 'comment')[el.index]);
  }
  for (let i = 0; i < 4 && value?.type === 'call' && MOVES.test(calleeName(value) ?? ''); i++) value = unparen(receiver(value));
  return value;
}

/** Layers without weights that keep a linear model linear. */
const NO_WEIGHTS = /^torch\.nn\.(Flatten|Identity|Dropout)$/;
/** One weight matrix (PyG's SGConv is a linear layer over pre-propagated features). */
const LINEAR = /^(torch\.nn\.Linear|torch_geometric\.nn\.(conv\.)?SGConv|torch_geometric\.nn\.(dense\.(linear\.)?)?Linear)$/;

/**
 * `net.parameters()` where `net` is `nn.Linear(...)`, `nn.Sequential(nn.Linear(...))` (with `nn.Flatten()` and the
 * like), or (not `direct`) an instance of a module class of the file whose only layer with weights is one linear layer.
 */
function linearModel(params: PyNode | null | undefined, a: Analysis, direct: boolean): boolean {
  const p = unparen(params ?? undefined);
  if (p?.type !== 'call' || calleeName(p) !== 'parameters') return false;
  const v = modelValue(receiver(p), a);
  if (v?.type !== 'call') return false;
  const q = a.callee(v);
  if (q && LINEAR.test(q)) return true;
  if (q === 'torch.nn.Sequential') return oneLinear((v.child('arguments')?.namedChildren ?? []).filter((c) => c.type !== 'comment'), a);
  const f = v.child('function');
  if (direct || f?.type !== 'identifier' || v.child('arguments')?.namedChildren.some((c) => c.type !== 'comment')) return false;
  const cls = a.moduleClass(f.text, v);
  if (!cls || a.scopes.valueAt(f.text, f) !== null) return false;
  // Its base is nn.Module itself (a file-local base class may add layers).
  const bases = cls.node.child('superclasses')?.namedChildren.filter((c) => c.type !== 'comment') ?? [];
  if (bases.length !== 1 || a.qname(bases[0]) !== 'torch.nn.Module') return false;
  if (/nn\.Parameter|register_(buffer|parameter|module)|add_module/.test(cls.node.text)) return false;
  return oneLinear([...cls.layers.values()].filter((x) => unparen(x)?.type === 'call'), a);
}

/** Exactly one linear layer among calls that are otherwise weightless torch layers. */
function oneLinear(layers: PyNode[], a: Analysis): boolean {
  let linear = 0;
  for (const l of layers) {
    const u = unparen(l);
    const q = u?.type === 'call' ? a.callee(u) : undefined;
    if (!q) return false;
    if (LINEAR.test(q)) linear++;
    else if (!NO_WEIGHTS.test(q)) return false;
  }
  return linear === 1;
}

/** Keras layers without weights that keep one Dense a linear model. */
const KERAS_NO_WEIGHTS = /^(Flatten|Dropout|InputLayer|Input|Reshape)$/;

/** `model.compile(optimizer=RMSprop(...))` where `model = keras.Sequential([Dense(1)])`: one Dense layer. */
function kerasLinearModel(call: PyNode, a: Analysis): boolean {
  let arg: PyNode = call;
  if (arg.parent?.type === 'keyword_argument') arg = arg.parent;
  // Built first and passed by name: `opt = RMSprop(...)`, `model.compile(optimizer=opt)`.
  let compile = arg.parent?.type === 'argument_list' ? arg.parent.parent : undefined;
  if (compile?.type !== 'call' || calleeName(compile) !== 'compile') {
    const stmt = call.parent?.type === 'assignment' ? call.parent : undefined;
    const name = stmt?.child('left')?.type === 'identifier' ? stmt.child('left')!.text : undefined;
    if (!name) return false;
    const uses = a.callsNamed('compile').filter((c) => (keywordArg(c, 'optimizer') ?? positionalArgs(c)[0])?.text === name);
    if (uses.length !== 1) return false;
    compile = uses[0];
  }
  const model = unparen(receiver(compile!));
  const v = model?.type === 'identifier' ? unparen(a.scopes.valueAt(model.text, model) ?? undefined) : undefined;
  if (v?.type !== 'call' || !/^keras\.(models\.)?Sequential$/.test(kerasName(a.callee(v)) ?? '')) return false;
  const list = unparen(positionalArgs(v)[0] ?? keywordArg(v, 'layers'));
  if (list?.type !== 'list') return false;
  // `model.add(...)` elsewhere would add layers.
  if (a.callsNamed('add').some((c) => receiver(c)?.text === model!.text)) return false;
  let dense = 0;
  for (const l of list.namedChildren) {
    if (l.type === 'comment') continue;
    const k = l.type === 'call' ? kerasName(a.callee(l)) : undefined;
    const layer = k ? /^keras\.(?:\w+\.)*layers\.(?:\w+\.)*(\w+)$/.exec(k)?.[1] : undefined;
    if (!layer) return false;
    if (layer === 'Dense') dense++;
    else if (!KERAS_NO_WEIGHTS.test(layer)) return false;
  }
  return dense === 1;
}

/** Whether the file clips gradients (`clip_grad_norm_`, `clip_grad_value_`): then each SGD step is bounded. */
function clipsGradients(a: Analysis): boolean {
  return ['clip_grad_norm_', 'clip_grad_norm', 'clip_grad_value_', 'clip_grad_value'].some((n) => a.callsNamed(n).length > 0);
}
