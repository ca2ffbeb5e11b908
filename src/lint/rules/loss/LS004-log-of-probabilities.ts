import { positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { losses } from '../../analysis/losses';
import type { PyNode } from '../../parser';
import type { RawFix, Rule, RuleContext } from '../../types';

const TORCH_LOG = new Set(['torch.log', 'torch.special.log']);
const TF_LOG = new Set(['tensorflow.log', 'tensorflow.math.log']);
const TF_ACT: Record<string, 'softmax' | 'sigmoid'> = {
  'tensorflow.nn.softmax': 'softmax',
  'tensorflow.math.softmax': 'softmax',
  'keras.activations.softmax': 'softmax',
  'tensorflow.nn.sigmoid': 'sigmoid',
  'tensorflow.sigmoid': 'sigmoid',
  'tensorflow.math.sigmoid': 'sigmoid',
  'keras.activations.sigmoid': 'sigmoid',
};

interface Prob {
  kind: 'softmax' | 'sigmoid';
  /** The activation call, when it is the log's direct argument (then a fix is local). */
  direct?: PyNode;
}

function tfProb(a: Analysis, e: PyNode | undefined, depth = 0): Prob | undefined {
  const x = unparen(e);
  if (!x || depth > 4) return undefined;
  if (x.type === 'identifier') {
    const v = a.scopes.valueAt(x.text, x);
    const p = v ? tfProb(a, v, depth + 1) : undefined;
    return p ? { kind: p.kind } : undefined;
  }
  if (x.type !== 'call') return undefined;
  const k = TF_ACT[a.callee(x) ?? ''];
  return k ? { kind: k, direct: x } : undefined;
}

function torchProb(a: Analysis, e: PyNode | undefined): Prob | undefined {
  const out = losses(a).flow.of(e);
  if (out.kind !== 'softmax' && out.kind !== 'sigmoid') return undefined;
  return { kind: out.kind, direct: out.site === unparen(e) && out.site?.type === 'call' ? out.site : undefined };
}

function fixFor(logCall: PyNode, p: Prob, tf: boolean, ctx: RuleContext): RawFix | undefined {
  const act = p.direct;
  if (!act) return undefined;
  const fn = act.child('function');
  if (!fn) return undefined;
  const a = ctx.analysis;
  if (tf) {
    if (p.kind !== 'softmax') return undefined;
    const args = act.child('arguments')!.text;
    const tfName = a.imports.localName('tensorflow') ?? 'tf';
    return { title: 'Use tf.nn.log_softmax', edits: [{ start: logCall.start, end: logCall.end, newText: `${tfName}.nn.log_softmax${args}` }] };
  }
  if (p.kind === 'softmax') {
    // F.softmax(x, dim=1) -> F.log_softmax(x, dim=1); x.softmax(1) -> x.log_softmax(1)
    const name = fn.type === 'attribute' ? fn.child('attribute') : fn;
    if (!name || name.text !== 'softmax') return undefined;
    const text = act.src.text.slice(act.start, name.start) + 'log_softmax' + act.src.text.slice(name.end, act.end);
    return { title: 'Use log_softmax', edits: [{ start: logCall.start, end: logCall.end, newText: text }] };
  }
  const inner = fn.type === 'attribute' && fn.child('attribute')?.text === 'sigmoid' && !a.qname(fn) ? receiver(act) : positionalArgs(act)[0];
  if (!inner) return undefined;
  const F = a.imports.localName('torch.nn.functional');
  const torch = a.imports.localName('torch') ?? 'torch';
  return { title: 'Use logsigmoid', edits: [{ start: logCall.start, end: logCall.end, newText: `${F ?? `${torch}.nn.functional`}.logsigmoid(${inner.text})` }] };
}

/** The argument `log` is taken of: `torch.log(p)`, `tf.math.log(p)` (tf), `p.log()`; undefined for any other call. */
function logArg(a: Analysis, call: PyNode): { arg: PyNode; tf: boolean } | undefined {
  const q = a.callee(call);
  let arg: PyNode | undefined;
  let tf = false;
  if (q && TORCH_LOG.has(q)) arg = positionalArgs(call)[0];
  else if (q && TF_LOG.has(q)) {
    arg = positionalArgs(call)[0];
    tf = true;
  } else if (!q && call.child('function')?.type === 'attribute' && call.child('function')?.child('attribute')?.text === 'log' && positionalArgs(call).length === 0) {
    arg = receiver(call);
  }
  return arg ? { arg, tf } : undefined;
}

export const LS004: Rule = {
  meta: {
    id: 'LS004',
    name: 'log-of-probabilities',
    group: 'loss',
    defaultSeverity: 'warning',
    summary: 'log() is taken of softmax/sigmoid probabilities without clamping; use log_softmax / logsigmoid.',
    why:
      'Softmax and sigmoid saturate: for confident predictions some probabilities round to exactly 0 in float32, and ' +
      '`log(0)` is `-inf`, which turns the loss and every gradient into NaN a few steps later, often long into training. ' +
      '`log_softmax` and `logsigmoid` (or `tf.nn.log_softmax`, `*_with_logits` losses) compute the same values from the ' +
      'logits with the log-sum-exp trick and never overflow. A clamp or an epsilon (`torch.log(p + 1e-8)`, `p.clamp(min=eps)`) ' +
      'is not reported.',
    wrong: 'probs = F.softmax(logits, dim=1)\nloss = -(y_onehot * torch.log(probs)).sum(dim=1).mean()',
    right: 'log_probs = F.log_softmax(logits, dim=1)\nloss = -(y_onehot * log_probs).sum(dim=1).mean()',
    concept: 'Numerical stability: computing log-probabilities from logits',
    fixable: true,
  },
  nodeTypes: ['call'],
  // The log calls; for TensorFlow the probabilities are traced by name (scopes), for torch by the file's loss flow.
  candidate: {
    reads: ['imports', 'scopes'],
    test(call, ctx) {
      const l = logArg(ctx.analysis, call);
      return !!l && (!l.tf || tfProb(ctx.analysis, l.arg) !== undefined);
    },
  },
  visit(call, ctx) {
    const a = ctx.analysis;
    const l = logArg(a, call);
    if (!l) return;
    const { arg, tf } = l;
    const p = tf ? tfProb(a, arg) : torchProb(a, arg);
    if (!p) return;
    const better = tf ? 'tf.nn.log_softmax / a *_with_logits loss' : p.kind === 'softmax' ? 'log_softmax' : 'F.logsigmoid';
    const fix = fixFor(call, p, tf, ctx);
    ctx.report({
      node: call,
      message: `log of ${p.kind} probabilities gives -inf (then NaN) once a probability underflows to 0. Use ${better} on the logits.`,
      fixes: fix ? [fix] : undefined,
    });
  },
};
