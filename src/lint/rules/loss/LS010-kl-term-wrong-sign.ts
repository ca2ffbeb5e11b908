import { calleeName, enclosingFunction, positionalArgs, receiver, rootOf, unparen, type Analysis } from '../../analysis';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

// The VAE KL term, -0.5 * sum(1 + logvar - mu^2 - exp(logvar)), written with its sign lost on the way to the loss.
// Signs are tracked relative to `sum(1 + logvar - mu^2 - exp(logvar))` (which is -2 KL): a loss must hold it with
// a negative sign. Anything the sign walk does not understand ends it silently.

type Sign = 1 | -1;

/** `mu.pow(2)`, `mu ** 2`, `torch.pow(mu, 2)`, `torch.square(mu)`, `mu * mu`. */
function isSquare(e: PyNode): boolean {
  if (e.type === 'binary_operator') {
    const op = e.children.find((c) => !c.named)?.type;
    const l = e.child('left');
    const r = e.child('right');
    return (op === '**' && r?.text === '2') || (op === '*' && !!l && l.text === r?.text && l.type !== 'integer' && l.type !== 'float');
  }
  if (e.type !== 'call') return false;
  const name = calleeName(e);
  const args = positionalArgs(e);
  if (name === 'square') return true;
  return name === 'pow' && (args[args.length - 1]?.text === '2' || args[args.length - 1]?.text === '2.0');
}

function isExp(e: PyNode): boolean {
  return e.type === 'call' && calleeName(e) === 'exp';
}

function isOne(e: PyNode): boolean {
  return (e.type === 'integer' || e.type === 'float') && Number(e.text) === 1;
}

/** The terms of a sum with their signs: `1 + logvar - mu.pow(2)` -> [[1, +], [logvar, +], [mu.pow(2), -]]. */
function terms(e: PyNode | undefined, sign: Sign, out: [PyNode, Sign][]): void {
  const x = unparen(e);
  if (!x) return;
  if (x.type === 'binary_operator') {
    const op = x.children.find((c) => !c.named)?.type;
    if (op === '+' || op === '-') {
      terms(x.child('left'), sign, out);
      terms(x.child('right'), op === '-' ? (-sign as Sign) : sign, out);
      return;
    }
  }
  if (x.type === 'unary_operator' && x.children[0]?.type === '-') return terms(x.namedChildren[0], -sign as Sign, out);
  out.push([x, sign]);
}

/**
 * +1 when `e` is `1 + logvar - mu^2 - exp(logvar)` (-1 for its negation `mu^2 + exp(logvar) - 1 - logvar`), undefined
 * when it is not the KL integrand.
 */
export function klPolarity(e: PyNode | undefined): Sign | undefined {
  const list: [PyNode, Sign][] = [];
  terms(e, 1, list);
  if (list.length !== 4) return undefined;
  const one = list.find(([t]) => isOne(t));
  const square = list.find(([t]) => isSquare(t));
  const exp = list.find(([t]) => isExp(t));
  const rest = list.filter((t) => t !== one && t !== square && t !== exp);
  if (!one || !square || !exp || rest.length !== 1) return undefined;
  const p = one[1];
  return square[1] === -p && exp[1] === -p && rest[0]![1] === p ? p : undefined;
}

/** Logarithms of torch, NumPy, math, Keras and TensorFlow. */
const LOGS = new Set(['torch.log', 'numpy.log', 'math.log', 'keras.backend.log', 'keras.ops.log', 'tensorflow.math.log', 'tensorflow.log']);

/** Sums and means that keep the sign of what they reduce (`torch.sum(E)`, `K.sum(E, axis=-1)`, `tf.reduce_mean(E)`). */
const REDUCTIONS = new Set([
  'torch.sum', 'torch.mean', 'numpy.sum', 'numpy.mean', 'keras.backend.sum', 'keras.backend.mean', 'keras.ops.sum', 'keras.ops.mean',
  'tensorflow.reduce_sum', 'tensorflow.reduce_mean', 'tensorflow.math.reduce_sum', 'tensorflow.math.reduce_mean',
]);

/** The argument of a log: `torch.log(q + 1e-20)`, `q.log()`, `np.log(q)`, `log_q` bound to one of those. */
function logArgument(e: PyNode | undefined, a: Analysis, depth = 0): PyNode | undefined {
  let x = unparen(e);
  if (x?.type === 'identifier' && depth < 2) return logArgument(a.scopes.valueAt(x.text, x) ?? undefined, a, depth + 1);
  if (x?.type !== 'call' || calleeName(x) !== 'log') return undefined;
  const q = a.callee(x);
  if (q && LOGS.has(q)) x = positionalArgs(x)[0];
  else if (!q && x.child('function')?.type === 'attribute') x = receiver(x);
  else return undefined;
  return unparen(x);
}

/** `q`, or `q + eps` / `q + 1e-20`: the probabilities inside a guarded log. */
function sameProbabilities(logArg: PyNode | undefined, q: PyNode): boolean {
  let x = unparen(logArg);
  if (x?.type === 'binary_operator' && x.children.some((c) => c.type === '+') && /^(eps|epsilon|\d|1e-)/i.test(x.child('right')?.text ?? '')) x = unparen(x.child('left'));
  return !!x && x.text === unparen(q)?.text;
}

/**
 * The categorical KL integrand: -1 when `e` is `q * (log q - log p)` or `q * log(q / p)` (the KL itself), +1 for
 * `q * (log p - log q)` (minus the KL); the same convention as `klPolarity`. Undefined for anything else.
 */
export function categoricalPolarity(e: PyNode | undefined, a: Analysis): Sign | undefined {
  const x = unparen(e);
  if (x?.type !== 'binary_operator' || !x.children.some((c) => c.type === '*')) return undefined;
  const sides = [x.child('left'), x.child('right')];
  for (const [q, d] of [sides, [sides[1], sides[0]]]) {
    const diff = unparen(d);
    if (!q || !diff) continue;
    if (diff.type === 'binary_operator' && diff.children.some((c) => c.type === '-')) {
      if (sameProbabilities(logArgument(diff.child('left'), a), q)) return -1;
      if (sameProbabilities(logArgument(diff.child('right'), a), q)) return 1;
      continue;
    }
    const ratio = unparen(logArgument(diff, a));
    if (ratio?.type === 'binary_operator' && ratio.children.some((c) => c.type === '/') && sameProbabilities(ratio.child('left'), q)) return -1;
  }
  return undefined;
}

function polarity(e: PyNode, a: Analysis): Sign | undefined {
  return klPolarity(e) ?? categoricalPolarity(e, a);
}

/**
 * The summed expression of `torch.sum(E)`, `E.sum()`, `torch.mean(E)`, `E.mean(dim=1)`, `K.sum(E)`, `tf.reduce_sum(E)`;
 * through one name bound in the same function (`kl = q * (log_q - log_p); K.sum(kl, axis=-1)`).
 */
function summed(call: PyNode, a: Analysis): PyNode | undefined {
  const name = calleeName(call);
  if (name !== 'sum' && name !== 'mean' && name !== 'reduce_sum' && name !== 'reduce_mean') return undefined;
  const q = a.callee(call);
  let e: PyNode | undefined;
  if (q && REDUCTIONS.has(q)) e = positionalArgs(call)[0];
  else if (!q && (name === 'sum' || name === 'mean') && call.child('function')?.type === 'attribute') e = receiver(call);
  const x = unparen(e);
  if (x?.type !== 'identifier') return e;
  const v = a.scopes.valueAt(x.text, x);
  return v && enclosingFunction(v) === enclosingFunction(call) ? v : e;
}

interface Sink {
  sign: Sign;
  /** The node whose value is the loss (a `.backward()` receiver or a loss function's return). */
  at: PyNode;
}

const MAX_HOPS = 4;

export class SignWalk {
  constructor(private readonly a: Analysis) {}

  /** Where the value of `node` ends up as a loss, with the sign it carries there (relative to `node`). */
  sinks(node: PyNode, sign: Sign, hops = 0, out: Sink[] = []): Sink[] {
    let n = node;
    let s = sign;
    for (;;) {
      const p = n.parent;
      if (!p) return out;
      if (p.type === 'parenthesized_expression') n = p;
      else if (p.type === 'unary_operator' && (p.children[0]?.type === '-' || p.children[0]?.type === '+')) {
        if (p.children[0].type === '-') s = -s as Sign;
        n = p;
      } else if (p.type === 'binary_operator') {
        const op = p.children.find((c) => !c.named)?.type;
        const other = p.child('left') === n ? p.child('right') : p.child('left');
        if (op === '-' && p.child('right') === n) s = -s as Sign;
        else if (op === '*' || (op === '/' && p.child('left') === n)) {
          // A divisor is a count or a size (`/ x.size(0)`, `/ len(loader)`); a factor must be a known constant.
          const f = constantSign(other) ?? (op === '/' ? 1 : undefined);
          if (f === undefined) return out; // a weight of unknown sign
          s = (s * f) as Sign;
        } else if (op !== '+' && op !== '-') return out;
        n = p;
      } else if (p.type === 'argument_list') {
        // `torch.mean(-0.5 * torch.sum(...))`: a mean keeps the sign; any other call's argument is not followed.
        const call = p.parent;
        const q = call ? this.a.callee(call) : undefined;
        if (!call || !q || !REDUCTIONS.has(q) || positionalArgs(call)[0] !== n) return out;
        n = call;
      } else if (p.type === 'attribute' && p.child('object') === n) {
        const call = p.parent;
        const method = p.child('attribute')?.text;
        if (call?.type !== 'call') return out;
        if (method === 'backward') return (out.push({ sign: s, at: n }), out);
        if (method !== 'mean' && method !== 'sum') return out;
        n = call;
      } else if (p.type === 'return_statement') {
        if (returnsLoss(enclosingFunction(p))) out.push({ sign: s, at: n });
        return out;
      } else if (p.type === 'assignment' && p.child('right') === n) {
        const left = p.child('left');
        if (left?.type === 'identifier' && hops < MAX_HOPS) this.uses(left, p, s, hops + 1, out);
        return out;
      } else if (p.type === 'augmented_assignment' && p.child('right') === n) {
        const left = p.child('left');
        const op = p.children.find((c) => !c.named)?.type;
        if (left?.type === 'identifier' && (op === '+=' || op === '-=') && hops < MAX_HOPS) this.uses(left, p, op === '-=' ? (-s as Sign) : s, hops + 1, out);
        return out;
      } else return out;
    }
  }

  /** Follows the uses of `name` after the statement that bound it (same scope): each use's sinks. */
  private uses(name: PyNode, binding: PyNode, sign: Sign, hops: number, out: Sink[]): void {
    const scope = enclosingFunction(binding)?.child('body') ?? rootOf(binding);
    const value = binding.type === 'assignment' ? binding.child('right') : undefined;
    scope.walk((n) => {
      if (n.end <= binding.start || (n.start >= binding.start && n.end <= binding.end)) return false;
      if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
      if (n.type !== 'identifier' || n.text !== name.text || n.field === 'attribute') return;
      if (value && this.a.scopes.valueAt(n.text, n) !== value) return;
      // A re-binding of the name (`loss = ...` again) is a new value, not a use.
      if (n.parent?.type === 'assignment' && n.parent.child('left') === n) return;
      if (n.parent?.type === 'augmented_assignment' && n.parent.child('left') === n) {
        this.uses(n, n.parent, sign, hops, out);
        return false;
      }
      this.sinks(n, sign, hops, out);
    });
  }
}

/** A function whose return value is minimised: `loss_function`, `vae_loss`, a Loss module's forward, `training_step`. */
function returnsLoss(fn: PyNode | undefined): boolean {
  const name = fn?.child('name')?.text ?? '';
  // `elbo` is maximised; `elbo_loss`, `neg_elbo` and `nll` are minimised.
  if (/elbo|likelihood/i.test(name) && !/loss|neg|nll/i.test(name)) return false;
  if (/loss|criterion|objective|neg_?elbo|nelbo|^(training_step|train_step)$/i.test(name)) return true;
  return name === 'forward' && /loss/i.test(fn?.ancestor('class_definition')?.child('name')?.text ?? '');
}


/** The sign of a numeric constant factor (`0.5`, `-0.5`, `(1 / 2)`, `beta` named like a weight); undefined otherwise. */
function constantSign(e: PyNode | undefined): Sign | undefined {
  const x = unparen(e);
  if (!x) return undefined;
  if (x.type === 'integer' || x.type === 'float') return Number(x.text) > 0 ? 1 : undefined;
  if (x.type === 'unary_operator' && x.children[0]?.type === '-') {
    const inner = constantSign(x.namedChildren[0]);
    return inner === undefined ? undefined : (-inner as Sign);
  }
  // KL weights (beta-VAE, annealing) are positive by construction.
  if (x.type === 'identifier' || x.type === 'attribute') return /^(self\.)?(beta|kl_weight|kld_weight|kl_coef|kl_beta|lambda_kl|anneal\w*|kl_anneal\w*)$/i.test(x.text) ? 1 : undefined;
  if (x.type === 'binary_operator') {
    const op = x.children.find((c) => !c.named)?.type;
    if (op !== '*' && op !== '/') return undefined;
    const l = constantSign(x.child('left'));
    const r = constantSign(x.child('right'));
    return l === undefined || r === undefined ? undefined : ((l * r) as Sign);
  }
  return undefined;
}

export const LS010: Rule = {
  meta: {
    id: 'LS010',
    name: 'kl-term-wrong-sign',
    group: 'loss',
    defaultSeverity: 'error',
    summary: 'The VAE loss adds minus the KL divergence: minimising it pushes the latent codes away from the prior.',
    why:
      'The KL divergence of a VAE with a standard normal prior is `-0.5 * sum(1 + logvar - mu^2 - exp(logvar))`, which is never ' +
      'negative. Without the leading minus (or subtracted from the reconstruction loss) the term is *minus* the KL, so the ' +
      'optimizer maximises the divergence: `mu` and `logvar` grow without bound, the loss goes to minus infinity or NaN, and ' +
      'samples from the prior decode to noise. Write `kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())` and add it. ' +
      'The same holds for the KL of a categorical latent (Gumbel-softmax VAE), `sum(q * (log q - log p))`: it is added as it is. ' +
      'Sums and logs of torch, NumPy, Keras (`K.sum`) and TensorFlow (`tf.reduce_sum`) are followed.',
    wrong:
      'import torch\nimport torch.nn.functional as F\n\ndef vae_loss(recon, x, mu, logvar):\n    bce = F.binary_cross_entropy(recon, x, reduction="sum")\n    kld = 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())\n    return bce + kld',
    right:
      'import torch\nimport torch.nn.functional as F\n\ndef vae_loss(recon, x, mu, logvar):\n    bce = F.binary_cross_entropy(recon, x, reduction="sum")\n    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())\n    return bce + kld',
    concept: 'Variational autoencoders: the ELBO and the KL term',
    fixable: true,
  },
  nodeTypes: ['call'],
  candidate: {
    reads: ['imports', 'scopes'],
    test: (call, ctx) => {
      const e = summed(call, ctx.analysis);
      return !!e && polarity(e, ctx.analysis) !== undefined;
    },
  },
  visit(call, ctx) {
    const e = summed(call, ctx.analysis);
    const gaussian = e ? klPolarity(e) : undefined;
    const p = e ? (gaussian ?? categoricalPolarity(e, ctx.analysis)) : undefined;
    if (!p) return;
    const sinks = new SignWalk(ctx.analysis).sinks(call, p);
    // Every place the term reaches a loss must carry it with the wrong sign (+1: minus the KL).
    if (!sinks.length || sinks.some((s) => s.sign !== 1)) return;
    // The common slip: a positive literal factor where -0.5 belongs, in the term's own statement.
    const factor = call.parent?.type === 'binary_operator' && call.parent.child('right') === call ? call.parent.child('left') : undefined;
    const fixes = gaussian && factor && (factor.type === 'float' || factor.type === 'integer') && p === 1
      ? [{ title: `Use -${factor.text}`, edits: [{ start: factor.start, end: factor.start, newText: '-' }] }]
      : undefined;
    ctx.report({
      node: call,
      message: gaussian
        ? 'This KL term enters the loss with the wrong sign: it is minus the KL divergence, so training maximises the divergence and the latent codes blow up. Use -0.5 * sum(1 + logvar - mu^2 - exp(logvar)) and add it to the reconstruction loss.'
        : 'This KL term enters the loss with the wrong sign: it is minus the KL divergence, so training maximises the divergence from the prior. Add sum(q * (log q - log p)) to the reconstruction loss, without a minus.',
      fixes,
    });
  },
};
