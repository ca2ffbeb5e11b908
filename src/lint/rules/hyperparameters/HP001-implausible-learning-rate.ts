import { keywordArg, positionalArgs } from '../../analysis';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

interface Bounds {
  /** lr at or above this is implausible */
  high: number;
  /** lr below this is implausible */
  low: number;
  fix?: string;
}

const ADAPTIVE: Bounds = { high: 0.1, low: 1e-7, fix: '1e-3' };
const PLAIN: Bounds = { high: 1.0, low: 1e-7 };

/** Per optimizer. Adadelta (lr=1.0 by design) and LBFGS (line search, lr=1) are deliberately absent. */
const BOUNDS: Record<string, Bounds> = {
  Adam: ADAPTIVE,
  AdamW: ADAPTIVE,
  Adamax: ADAPTIVE,
  NAdam: ADAPTIVE,
  RAdam: ADAPTIVE,
  SparseAdam: ADAPTIVE,
  RMSprop: { high: 0.1, low: 1e-7 },
  SGD: PLAIN,
  Adagrad: PLAIN,
  ASGD: PLAIN,
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
      'but 1.0 and above almost always diverges. Below 1e-7 nothing moves. Adadelta (lr=1.0 by design) and LBFGS are not checked.',
    wrong: 'optimizer = torch.optim.Adam(model.parameters(), lr=0.1)',
    right: 'optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)',
    concept: 'Gradient descent: the learning rate sets the step size',
    fixable: true,
  },
  nodeTypes: ['call'],
  local: ['imports', 'scopes'],
  visit(call, ctx) {
    const name = optimizerName(ctx.analysis.callee(call));
    const bounds = name ? BOUNDS[name] : undefined;
    if (!name || !bounds) return;
    const keras = ctx.analysis.callee(call)!.startsWith('keras.');
    const lrNode = keywordArg(call, keras ? 'learning_rate' : 'lr') ?? keywordArg(call, 'lr') ?? positionalArgs(call)[keras ? 0 : 1];
    // A constant (`LEARNING_RATE = 0.5`) counts; a loop target (`for lr in [...]`, a sweep) has no single value.
    const constant = lrNode?.type === 'identifier' ? ctx.analysis.scopes.valueAt(lrNode.text, lrNode) : undefined;
    const lr = literal(constant ?? lrNode);
    if (lr === undefined || lr <= 0 || (lr < bounds.high && lr >= bounds.low)) return;
    const tooHigh = lr >= bounds.high;
    const shown = constant ? `${lrNode!.text} = ${constant.text}` : lrNode!.text;
    // The fix edits the literal in the call only; a constant is changed where it is defined.
    const fixes = bounds.fix && !constant ? [{ title: `Use lr=${bounds.fix}`, edits: [{ start: lrNode!.start, end: lrNode!.end, newText: bounds.fix }] }] : undefined;
    ctx.report({
      node: lrNode,
      message: tooHigh
        ? `Learning rate ${shown} is too high for ${name} and will likely diverge${bounds.fix ? ` (typical: ${bounds.fix})` : ''}.`
        : `Learning rate ${shown} is so small that ${name} will barely move the weights.`,
      fixes,
    });
  },
};
