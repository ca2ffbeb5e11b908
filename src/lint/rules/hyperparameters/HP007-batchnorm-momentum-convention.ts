import { keywordArg, positionalArgs, type Analysis } from '../../analysis';
import { aliasedClasses } from '../../analysis/classAliases';
import { kerasName } from '../../analysis/keras';
import { numberValue } from '../../analysis/numbers';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

/**
 * PyTorch: `running = (1 - momentum) * running + momentum * batch`, default 0.1. TensorFlow/Keras:
 * `moving = momentum * moving + (1 - momentum) * batch`, default 0.99. A value on the wrong side of one half was
 * written for the other library.
 */
type Convention = 'torch' | 'tf';

interface MomentumArg {
  arg: PyNode | undefined;
  keyword: string;
  convention: Convention;
  /** How the message opens the call when it does not name the class itself: `partial(nn.BatchNorm2d, ...`. */
  opening?: string;
  /** What an alias holds, for the message: `BN holds torch.nn.BatchNorm2d`. */
  holds?: string;
}

const TORCH_LAYER = /^torch\.nn\.(BatchNorm[123]d|SyncBatchNorm)$/;
const TORCH_LAZY = /^torch\.nn\.LazyBatchNorm[123]d$/;
const TORCH_FUNCTION = /^torch\.(nn\.functional\.)?batch_norm$/;
const KERAS_LAYER = /^keras\.(?:\w+\.)*layers\.(?:\w+\.)*(BatchNormalization|SyncBatchNormalization)$/;
const TF_LAYERS_CLASS = /^tensorflow\.(compat\.v1\.)?layers\.BatchNormalization$/;
const TF_LAYERS_FUNCTION = /^tensorflow\.(compat\.v1\.)?layers\.batch_normalization$/;
/** TF 1's contrib/slim `batch_norm(inputs, decay=0.999)`: decay is Keras' momentum. */
const TF_CONTRIB = /^(tensorflow\.contrib\.(layers|slim)|tf_slim|tf_slim\.layers)\.batch_norm$/;

/** The momentum argument of a batch-norm call, with the library's convention, when the call is one. */
function momentumArg(q: string | undefined, call: PyNode): MomentumArg | undefined {
  if (!q) return undefined;
  const at = (keyword: string, index: number, convention: Convention): MomentumArg => ({ arg: keywordArg(call, keyword) ?? positionalArgs(call)[index], keyword, convention });
  if (TORCH_LAYER.test(q)) return at('momentum', 2, 'torch');
  if (TORCH_LAZY.test(q)) return at('momentum', 1, 'torch');
  if (TORCH_FUNCTION.test(q)) return at('momentum', 6, 'torch');
  if (KERAS_LAYER.test(kerasName(q) ?? '') || TF_LAYERS_CLASS.test(q)) return at('momentum', 1, 'tf');
  if (TF_LAYERS_FUNCTION.test(q)) return at('momentum', 2, 'tf');
  if (TF_CONTRIB.test(q)) return at('decay', 1, 'tf');
  return undefined;
}

/**
 * A third-party PyTorch batch norm a script swaps in for torch's (`encoding.nn.SyncBatchNorm`, apex's
 * `SyncBatchNorm`): same signature and convention. Counted only next to a torch class in the same alias.
 */
const TORCH_LIKE = /(^|\.)(SyncBatchNorm|BatchNorm[123]d)$/;
const PARTIAL = /^functools\.partial$/;

/**
 * The batch-norm class a call builds when its name is an alias (`BN = nn.BatchNorm2d`, a try/except fallback, a
 * `norm_layer=nn.BatchNorm2d` parameter; see classAliases.ts): the torch class when every class the name may hold
 * follows torch's convention, a Keras class when every one is that same class. Undefined otherwise.
 */
function aliasedNormClass(a: Analysis, call: PyNode): string | undefined {
  const fn = call.child('function');
  const classes = fn ? aliasedClasses(a, fn) : undefined;
  if (!classes?.length) return undefined;
  const torch = classes.find((q) => TORCH_LAYER.test(q));
  if (torch) return classes.every((q) => TORCH_LAYER.test(q) || (TORCH_LIKE.test(q) && !/^(keras|tensorflow)\./.test(q))) ? torch : undefined;
  const first = classes[0]!;
  return classes.every((q) => q === first) && momentumArg(first, call)?.convention === 'tf' ? first : undefined;
}

/** `partial(nn.BatchNorm2d, momentum=0.99)`: the momentum given to the class a partial binds (by keyword only). */
function partialMomentum(a: Analysis, call: PyNode): MomentumArg | undefined {
  const cls = positionalArgs(call)[0];
  const found = cls ? momentumArg(a.qname(cls), call) : undefined;
  return found && { ...found, arg: keywordArg(call, found.keyword), opening: `partial(${cls!.text}, ...` };
}

/** The momentum argument of a batch-norm call: the class called by name, through an alias, or bound by `partial`. */
function momentumOf(a: Analysis, call: PyNode): MomentumArg | undefined {
  const q = a.callee(call);
  if (q && PARTIAL.test(q)) return partialMomentum(a, call);
  const direct = momentumArg(q, call);
  if (direct || call.child('function')?.type !== 'identifier' || !mayBeAliasCall(call)) return direct;
  const cls = aliasedNormClass(a, call);
  const found = momentumArg(cls, call);
  // Positional arguments follow only a class the call names itself: an alias may hold any signature.
  return found && { ...found, arg: keywordArg(call, found.keyword), holds: `${call.child('function')!.text} holds ${cls}` };
}

/** A cheap, statement-local first test: a call by a plain name that passes `momentum=` / `decay=`. */
function mayBeAliasCall(call: PyNode): boolean {
  return call.child('function')?.type === 'identifier' && (keywordArg(call, 'momentum') !== undefined || keywordArg(call, 'decay') !== undefined);
}

/**
 * Whether a momentum reads as the other library's: PyTorch above 0.5 and below 1 (1 is a deliberate "last batch"),
 * Keras below 0.5. One half itself means the same in both. Keras' 0 (the moving statistics are the last batch's) is
 * counted too: it comes from a port (ResNet-RS's `bn_momentum=0.0`) or a PyTorch habit, never from Keras' own.
 */
function otherConvention(m: number, convention: Convention): boolean {
  return convention === 'torch' ? m > 0.5 && m < 1 : m >= 0 && m < 0.5;
}

const percent = (x: number) => String(Number((x * 100).toFixed(6)));
/** 1 - m without float noise: 0.01, 0.1, 0.003. */
const complement = (m: number) => String(Number((1 - m).toFixed(10)));

export const HP007: Rule = {
  meta: {
    id: 'HP007',
    name: 'batchnorm-momentum-convention',
    group: 'hyperparameters',
    defaultSeverity: 'warning',
    summary: 'A batch-norm momentum written in the other library\'s convention: PyTorch `BatchNorm2d(momentum=0.99)`, Keras `BatchNormalization(momentum=0.1)`.',
    why:
      'PyTorch and TensorFlow/Keras define batch-norm momentum in opposite ways. PyTorch updates ' +
      '`running = (1 - momentum) * running + momentum * batch` (default 0.1): momentum is the weight of the NEW batch. ' +
      'Keras updates `moving = momentum * moving + (1 - momentum) * batch` (default 0.99): momentum is the weight of the ' +
      'history. A value copied across (`nn.BatchNorm1d(c, momentum=0.99)` from a TensorFlow model, or ' +
      '`BatchNormalization(momentum=0.1)` from a PyTorch one) makes the running statistics almost the last batch\'s: ' +
      'training looks fine, but in evaluation mode each layer normalises with one noisy batch\'s mean and variance and ' +
      'validation accuracy swings or collapses. Use `1 - momentum`. Reported for a PyTorch momentum above 0.5 (but not 1, a ' +
      'deliberate "last batch only") and a Keras/TensorFlow momentum below 0.5, 0 included (one half reads the same in both), written in place or followed to the literal a ' +
      'name, parameter default or every call site gives. The class is also followed through an alias (`BN = nn.BatchNorm2d`, ' +
      'a `try`/`except` fallback to a third-party SyncBatchNorm, a `norm_layer=nn.BatchNorm2d` parameter) and `partial(nn.BatchNorm2d, momentum=...)`.',
    wrong: 'self.bn = nn.BatchNorm1d(256, momentum=0.99, eps=1e-3)',
    right: 'self.bn = nn.BatchNorm1d(256, momentum=0.01, eps=1e-3)',
    concept: 'Batch normalisation: running statistics',
    fixable: false,
  },
  nodeTypes: ['call'],
  // Not statement-local: a name is followed to the literal it holds (call sites, defaults, `self.m = m`).
  candidate: {
    reads: ['imports'],
    test: (call, ctx) => {
      const q = ctx.analysis.callee(call);
      return momentumArg(q, call)?.arg !== undefined || mayBeAliasCall(call) || (q !== undefined && PARTIAL.test(q) && keywordArg(call, 'momentum') !== undefined);
    },
  },
  visit(call, ctx) {
    const found = momentumOf(ctx.analysis, call);
    const arg = found?.arg;
    if (!arg) return;
    const known = numberValue(ctx.analysis, arg);
    if (!known || !otherConvention(known.value, found.convention)) return;
    const m = known.value;
    const node = arg.parent?.type === 'keyword_argument' ? arg.parent : arg;
    const opening = found.opening ?? `${call.child('function')?.text ?? 'BatchNorm'}(...`;
    const given = `${found.keyword}=${arg.text}`;
    const notes = [found.holds, known.origin].filter(Boolean);
    const origin = notes.length ? ` (${notes.join('; ')})` : '';
    const message =
      found.convention === 'tf' && m === 0
        ? `${opening}, ${given})${origin}: with ${found.keyword} 0 the moving mean/variance keep only the last training batch's statistics, which evaluation then normalises with; use ${found.keyword}=0.99 (the Keras default).`
        : found.convention === 'torch'
        ? `${opening}, ${given})${origin} uses TensorFlow's convention: PyTorch's momentum weighs the NEW batch, so the running statistics are ${percent(m)} % the last batch; use ${found.keyword}=${complement(m)}.`
        : `${opening}, ${given})${origin} uses PyTorch's convention: here ${found.keyword} weighs the running history, so the moving statistics are ${percent(1 - m)} % the last batch; use ${found.keyword}=${complement(m)}.`;
    ctx.report({ node, message });
  },
};
