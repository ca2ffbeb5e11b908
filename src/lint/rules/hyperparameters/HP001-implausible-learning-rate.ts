import { calleeName, keywordArg, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import type { PyNode } from '../../parser';
import type { Rule, RuleContext } from '../../types';

interface Bounds {
  /** lr at or above this is implausible (above it, for `highExclusive`) */
  high: number;
  highExclusive?: boolean;
  /** With gradient clipping a step is bounded by lr * max_norm: a large lr is the intended setting (LSTM language models). */
  clipAllowsHigh?: boolean;
  /** lr below this is implausible */
  low: number;
  fix?: string;
}

const ADAPTIVE: Bounds = { high: 0.1, low: 1e-7, fix: '1e-3' };
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
  RMSprop: { high: 0.1, low: 1e-7 },
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
      'so LSTM language models use lr=20). Adam on a single linear layer is not reported either. Below 1e-7 nothing moves. Adadelta (lr=1.0 by design) and LBFGS are not checked.',
    wrong: 'optimizer = torch.optim.Adam(model.parameters(), lr=0.1)',
    right: 'optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)',
    concept: 'Gradient descent: the learning rate sets the step size',
    fixable: true,
  },
  nodeTypes: ['call'],
  // The learning rate, read from the call and its constant; whether gradients are clipped reads the whole file.
  candidate: { reads: ['imports', 'scopes'], test: (call, ctx) => implausible(call, ctx) !== undefined },
  visit(call, ctx) {
    const hit = implausible(call, ctx);
    if (!hit) return;
    const { name, bounds, lrNode, lr, constant } = hit;
    const tooHigh = lr >= bounds.high;
    if (tooHigh && bounds.clipAllowsHigh && clipsGradients(ctx.analysis)) return;
    const shown = constant ? `${lrNode.text} = ${constant.text}` : lrNode.text;
    // The fix edits the literal in the call only; a constant is changed where it is defined.
    const fixes = bounds.fix && !constant ? [{ title: `Use lr=${bounds.fix}`, edits: [{ start: lrNode.start, end: lrNode.end, newText: bounds.fix }] }] : undefined;
    ctx.report({
      node: lrNode,
      message: tooHigh
        ? `Learning rate ${shown} is too high for ${name} and will likely diverge${bounds.fix ? ` (typical: ${bounds.fix})` : ''}.`
        : `Learning rate ${shown} is so small that ${name} will barely move the weights.`,
      fixes,
    });
  },
};

/** The optimizer call's learning rate when it is outside the bounds, seen from its statement; else undefined. */
function implausible(call: PyNode, ctx: RuleContext): { name: string; bounds: Bounds; lrNode: PyNode; lr: number; constant?: PyNode } | undefined {
  const q = ctx.analysis.callee(call);
  const name = optimizerName(q);
  const bounds = name ? BOUNDS[name] : undefined;
  if (!name || !bounds) return undefined;
  const keras = q!.startsWith('keras.');
  const lrNode = keywordArg(call, keras ? 'learning_rate' : 'lr') ?? keywordArg(call, 'lr') ?? positionalArgs(call)[keras ? 0 : 1];
  if (!lrNode) return undefined;
  // A constant (`LEARNING_RATE = 0.5`) counts; a loop target (`for lr in [...]`, a sweep) has no single value.
  const constant = lrNode.type === 'identifier' ? ctx.analysis.scopes.valueAt(lrNode.text, lrNode) : undefined;
  const lr = literal(constant ?? lrNode);
  if (lr === undefined || lr <= 0) return undefined;
  if (lr >= bounds.low) {
    if (bounds.highExclusive ? lr <= bounds.high : lr < bounds.high) return undefined;
    // Keras clips in the optimizer itself: `SGD(learning_rate=20, clipnorm=0.25)`.
    if (bounds.clipAllowsHigh && ['clipnorm', 'clipvalue', 'global_clipnorm'].some((k) => keywordArg(call, k))) return undefined;
    // d2l's house-price model: Adam at lr=5 on one nn.Linear regressing unscaled prices. A linear model is
    // convex; a large step there is a choice, not the usual divergence.
    if (bounds === ADAPTIVE && !keras && linearModel(positionalArgs(call)[0] ?? keywordArg(call, 'params') ?? undefined, ctx.analysis)) return undefined;
  }
  return { name, bounds, lrNode, lr, constant: constant ?? undefined };
}

/** `net.parameters()` where `net` is `nn.Linear(...)` or `nn.Sequential(nn.Linear(...))` (with `.to(...)` and the like). */
function linearModel(params: PyNode | null | undefined, a: Analysis): boolean {
  const p = unparen(params ?? undefined);
  if (p?.type !== 'call' || calleeName(p) !== 'parameters') return false;
  const model = unparen(receiver(p));
  let value: PyNode | undefined = (model?.type === 'identifier' ? a.scopes.valueAt(model.text, model) : model) ?? undefined;
  for (let i = 0; i < 4 && unparen(value)?.type === 'call' && /^(to|cuda|cpu|float|double)$/.test(calleeName(unparen(value)!) ?? ''); i++) value = receiver(unparen(value)!);
  const v = unparen(value);
  if (v?.type !== 'call') return false;
  const q = a.callee(v);
  if (q === 'torch.nn.Linear') return true;
  if (q !== 'torch.nn.Sequential') return false;
  const args = v.child('arguments')?.namedChildren ?? [];
  const only = args.length === 1 ? unparen(args[0]) : undefined;
  return only?.type === 'call' && a.callee(only) === 'torch.nn.Linear';
}

/** Whether the file clips gradients (`clip_grad_norm_`, `clip_grad_value_`): then each SGD step is bounded. */
function clipsGradients(a: Analysis): boolean {
  return ['clip_grad_norm_', 'clip_grad_norm', 'clip_grad_value_', 'clip_grad_value'].some((n) => a.callsNamed(n).length > 0);
}
