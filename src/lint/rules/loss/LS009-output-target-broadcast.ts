import { calleeName, keywordArg, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { signatureDefault, unpassed } from '../../analysis/parameterDefaults';
import { parameterArguments } from '../../analysis/parameters';
import type { PyNode } from '../../parser';
import type { RawFix, Rule } from '../../types';
import { reshapedNames, Shapes } from './LS009-shapes';

const LOSS_CLASSES: Record<string, string> = {
  'torch.nn.MSELoss': 'MSELoss',
  'torch.nn.L1Loss': 'L1Loss',
  'torch.nn.SmoothL1Loss': 'SmoothL1Loss',
  'torch.nn.HuberLoss': 'HuberLoss',
};
const LOSS_FUNCTIONS: Record<string, string> = {
  'torch.nn.functional.mse_loss': 'mse_loss',
  'torch.nn.functional.l1_loss': 'l1_loss',
  'torch.nn.functional.smooth_l1_loss': 'smooth_l1_loss',
  'torch.nn.functional.huber_loss': 'huber_loss',
};
const LOSS_TEXT = /MSELoss|L1Loss|HuberLoss|mse_loss|l1_loss|huber_loss/;
const OUTPUT_TEXT = /Linear|linear\(|matmul|\.mm\(|@/;

/** The regression loss a callee stands for: a loss function, a loss module, or a name / `self.x` / parameter bound to one. */
function lossName(a: Analysis, callee: PyNode | undefined, depth: number, resolving: Set<readonly PyNode[]>): string | undefined {
  const c = unparen(callee);
  if (!c || depth > 8) return undefined;
  if (c.type === 'call') return LOSS_CLASSES[a.callee(c) ?? ''];
  if (c.type === 'attribute') {
    const q = a.qname(c);
    if (q) return LOSS_FUNCTIONS[q];
    const cls = c.child('object')?.text === 'self' ? c.ancestor('class_definition') : undefined;
    const attr = c.child('attribute')?.text;
    if (!cls || !attr) return undefined;
    const names = a.scopes.selfAttr(cls, attr).map((v) => lossName(a, v, depth + 1, resolving));
    return names.length && names.every((n) => n === names[0]) ? names[0] : undefined;
  }
  if (c.type !== 'identifier') return undefined;
  const q = a.qname(c);
  if (q && LOSS_FUNCTIONS[q]) return LOSS_FUNCTIONS[q];
  const v = a.scopes.valueAt(c.text, c);
  if (v) return lossName(a, v, depth + 1, resolving);
  if (v === undefined || a.functions.has(c.text)) return undefined;
  const args = parameterArguments(a, c);
  if (!args) {
    // `def __init__(self, loss=nn.MSELoss())` of a class nothing here builds: the default.
    const fallback = signatureDefault(c);
    const name = fallback && lossName(a, fallback, depth + 1, resolving);
    return name && unpassed(a, c) ? name : undefined;
  }
  if (resolving.has(args)) return undefined;
  resolving.add(args);
  const names = args.map((x) => lossName(a, x, depth + 1, resolving));
  resolving.delete(args);
  return names.length && names.every((n) => n === names[0]) ? names[0] : undefined;
}

const PRIMARY = new Set(['identifier', 'call', 'attribute', 'subscript', 'parenthesized_expression']);

function squeezeFix(out: PyNode): RawFix {
  const edits = PRIMARY.has(out.type)
    ? [{ start: out.end, end: out.end, newText: '.squeeze(1)' }]
    : [
        { start: out.start, end: out.start, newText: '(' },
        { start: out.end, end: out.end, newText: ').squeeze(1)' },
      ];
  return { title: 'Squeeze the (N, 1) output to (N,)', edits };
}

const short = (n: PyNode) => (n.text.length <= 40 && !n.text.includes('\n') ? n.text : 'the prediction');

interface Use {
  node: PyNode;
  /** The loss name, or '==' for a comparison. */
  what: string;
  left: PyNode;
  right: PyNode;
}

function comparisons(a: Analysis): Use[] {
  const out: Use[] = [];
  for (const c of a.index.of('comparison_operator')) {
    const ops = c.children.filter((x) => !x.named);
    const sides = c.namedChildren.filter((x) => x.type !== 'comment');
    if (ops.length !== 1 || (ops[0]!.text !== '==' && ops[0]!.text !== '!=') || sides.length !== 2) continue;
    out.push({ node: c, what: ops[0]!.text, left: sides[0]!, right: sides[1]! });
  }
  for (const c of a.callsNamed('eq')) {
    const args = positionalArgs(c);
    const r = receiver(c);
    if (a.callee(c) === 'torch.eq' && args.length === 2) out.push({ node: c, what: 'torch.eq', left: args[0]!, right: args[1]! });
    else if (r && !a.qname(c.child('function')) && args.length === 1) out.push({ node: c, what: '.eq()', left: r, right: args[0]! });
  }
  return out;
}

function lossUses(a: Analysis): Use[] {
  const out: Use[] = [];
  const resolving = new Set<readonly PyNode[]>();
  for (const call of a.index.of('call')) {
    const fn = call.child('function');
    if (!fn || (fn.type !== 'identifier' && fn.type !== 'attribute' && fn.type !== 'call')) continue;
    const args = positionalArgs(call);
    const input = args[0] ?? keywordArg(call, 'input');
    const target = args[1] ?? keywordArg(call, 'target');
    if (!input || !target) continue;
    const name = lossName(a, fn, 0, resolving);
    if (name) out.push({ node: call, what: name, left: input, right: target });
  }
  return out;
}

export const LS009: Rule = {
  meta: {
    id: 'LS009',
    name: 'output-target-broadcast',
    group: 'loss',
    defaultSeverity: 'error',
    summary: 'A model output of shape (N, 1) is compared with a 1-D target of shape (N,), which broadcasts to (N, N).',
    why:
      'A model ending in `nn.Linear(_, 1)` (or in a product with its own one-column weight, `x @ w + b` with `w` of shape ' +
      '`(k, 1)`) outputs shape `(N, 1)`, while a target built from a pandas column or a 1-D array ' +
      'has shape `(N,)`. PyTorch broadcasts the two to `(N, N)`: `MSELoss` compares every prediction with every target (it only ' +
      'warns "Using a target size that is different to the input size") and the model learns the batch mean, and ' +
      '`(preds == y).float().mean()` averages an N x N matrix, so the accuracy is meaningless. Squeeze the output ' +
      '(`out.squeeze(1)`) or give the target the same shape (`y.unsqueeze(1)`). Descent reports this only when it can see ' +
      'both shapes in the file.',
    wrong:
      'import pandas as pd\ndf = pd.read_csv("houses.csv")\nX = torch.tensor(df.drop(columns=["price"]).values, dtype=torch.float32)\n' +
      'y = torch.tensor(df["price"].values, dtype=torch.float32)\nmodel = nn.Sequential(nn.Linear(X.shape[1], 64), nn.ReLU(), nn.Linear(64, 1))\n' +
      'criterion = nn.MSELoss()\nloss = criterion(model(X), y)',
    right:
      'import pandas as pd\ndf = pd.read_csv("houses.csv")\nX = torch.tensor(df.drop(columns=["price"]).values, dtype=torch.float32)\n' +
      'y = torch.tensor(df["price"].values, dtype=torch.float32)\nmodel = nn.Sequential(nn.Linear(X.shape[1], 64), nn.ReLU(), nn.Linear(64, 1))\n' +
      'criterion = nn.MSELoss()\nloss = criterion(model(X).squeeze(1), y)',
    concept: 'Tensor shapes and broadcasting: predictions and targets must have the same shape',
    fixable: true,
  },
  check(ctx) {
    const a = ctx.analysis;
    // A (N, 1) output needs a Linear layer or a product with a weight (`x @ w`, `torch.matmul`, `F.linear`) in the file.
    if (!OUTPUT_TEXT.test(ctx.source)) return;
    const uses = [...(LOSS_TEXT.test(ctx.source) ? lossUses(a) : []), ...comparisons(a)];
    const seen = new Set<PyNode>();
    for (const use of uses) {
      for (const [out, target] of [
        [use.left, use.right],
        [use.right, use.left],
      ] as const) {
        if (seen.has(use.node)) break;
        const shapes = new Shapes(a);
        const linear = shapes.columnOutput(out);
        if (!linear) continue;
        const d = shapes.dims(target);
        if (d?.ndim !== 1) continue;
        const isLoss = use.what !== '==' && use.what !== '!=' && use.what !== 'torch.eq' && use.what !== '.eq()';
        // A loss needs tensors (a NumPy target raises); a comparison works on arrays too, not on pandas objects.
        if (isLoss ? d.kind !== 'tensor' : d.kind === 'series' || d.kind === 'frame') continue;
        const reshaped = reshapedNames(a);
        if ([...shapes.names].some((n) => reshaped.has(n))) continue;
        seen.add(use.node);
        const o = short(out);
        const t = short(target);
        const squeezed = o === 'the prediction' ? 'the prediction squeezed with .squeeze(1)' : PRIMARY.has(out.type) ? `${o}.squeeze(1)` : `(${o}).squeeze(1)`;
        const gather = calleeName(linear) === 'gather';
        const product = linear.type === 'binary_operator' || /^(matmul|mm|linear)$/.test(calleeName(linear) ?? '');
        const origin = gather ? 'gathered over the action dim' : product ? `${short(linear)} multiplies by a one-column weight` : `the model ends with ${linear.text}`;
        const message = gather && isLoss
          ? `${o} has shape (N, 1) (${origin}) but the target ${t} is 1-D (N,): ${use.what} broadcasts them to (N, N), comparing every Q-value with every target. Use ${squeezed}.`
          : isLoss
          ? `${o} has shape (N, 1) (${origin}) but the target ${t} is 1-D (N,): ${use.what} broadcasts them to (N, N) and the model learns the batch ${use.what.startsWith('l1') || use.what.startsWith('L1') ? 'median' : 'mean'}. Use ${squeezed}.`
          : `${o} has shape (N, 1) (${origin}) but ${t} is 1-D (N,): ${use.what} broadcasts them to an (N, N) matrix, so the accuracy is wrong. Compare ${squeezed}.`;
        ctx.report({ node: use.node, message, fixes: [squeezeFix(out)] });
      }
    }
  },
};
