// What a module-building call brings: whether `nn.Linear(...)`, `nn.Sequential(...)` or `Head(...)` (a module class of
// the file) holds parameters. Read by the rules about parameters an optimizer does not see (TL014, TL028).
import type { PyNode } from '../parser';
import { calleeName, callsWithin, receiver, unparen, type Analysis } from './index';
import { methodsOf } from './modules';

/** `torch.nn.Linear(...)` and other layer classes of torch.nn (not functions, not torch.nn.functional). */
export function isLayer(q: string | undefined): boolean {
  return !!q && q.startsWith('torch.nn.') && !q.startsWith('torch.nn.functional.') && /\.[A-Z]\w*$/.test(q);
}

/**
 * torch.nn modules that hold no parameters: activations, dropout, pooling, padding, reshaping, resampling and losses
 * (not `AdaptiveLogSoftmaxWithLoss`). Swapping one in (`model.fc = nn.Identity()`, `model.maxpool = nn.Identity()`)
 * leaves nothing outside the optimizer.
 */
export const PARAMETER_FREE =
  /^torch\.nn\.(Identity|Flatten|Unflatten|ReLU6?|GELU|SiLU|Mish|ELU|CELU|SELU|LeakyReLU|RReLU|Tanh|Tanhshrink|Sigmoid|LogSigmoid|Hardtanh|Hardswish|Hardsigmoid|Hardshrink|Softshrink|Softplus|Softsign|Softmin|Softmax2?d?|LogSoftmax|Threshold|GLU|\w*Dropout\w*|(Adaptive)?(Max|Avg|LP)Pool\dd|FractionalMaxPool\dd|MaxUnpool\dd|Upsample|Upsampling\w+|PixelShuffle|PixelUnshuffle|ChannelShuffle|(Zero|Constant|Reflection|Replication|Circular)Pad\dd|Fold|Unfold|CosineSimilarity|PairwiseDistance|(?!AdaptiveLogSoftmax)\w+Loss(2d)?)$/;
/** torch.nn layers that hold parameters by default (InstanceNorm has none unless `affine=True`: left out). */
const PARAMETRIC =
  /^torch\.nn\.(Lazy)?(Linear|Bilinear|Conv[123]d|ConvTranspose[123]d|Embedding|EmbeddingBag|RNN|LSTM|GRU|RNNCell|LSTMCell|GRUCell|BatchNorm[123]d|SyncBatchNorm|LayerNorm|GroupNorm|RMSNorm|MultiheadAttention|Transformer|TransformerEncoder|TransformerDecoder|TransformerEncoderLayer|TransformerDecoderLayer|PReLU|AdaptiveLogSoftmaxWithLoss)$/;

/** A torch.nn layer known to hold parameters, or a container holding one built in place. */
export function isParametricBuild(call: PyNode, a: Analysis): boolean {
  const q = a.callee(call);
  return !!q && (CONTAINER.test(q) ? bringsParameters(call, a) : PARAMETRIC.test(q));
}

const CONTAINER = /^torch\.nn\.(Sequential|ModuleList|ModuleDict)$/;
const PARAMETER = /^torch\.nn\.(parameter\.)?Parameter$/;

/** Methods that return the same module (`Net().to(device)`, `.cuda()`, `.float()`, `.train()`). */
export const SAME_MODULE = new Set(['to', 'cuda', 'cpu', 'float', 'double', 'half', 'bfloat16', 'train', 'eval', 'requires_grad_', 'share_memory', 'type']);

/**
 * Whether the module built by `call` (a torch.nn layer) brings parameters the optimizer has not seen: a parametric
 * layer, or a container holding one built here. Not a parameter-free layer, nor a container of parameter-free layers
 * and existing modules (`nn.Sequential(nn.Dropout(0.2), model.fc)` wraps the old layer, already in the optimizer).
 * Inside a container, a call of a module class of the file counts when it holds a parametric torch.nn layer.
 */
export function bringsParameters(call: PyNode, a: Analysis, depth = 0): boolean {
  const q = a.callee(call);
  if (!q || PARAMETER_FREE.test(q)) return false;
  if (!CONTAINER.test(q)) return isLayer(q);
  if (depth > 4) return false;
  let found = false;
  call.child('arguments')?.walk((n) => {
    if (found) return false;
    if (n.type === 'lambda' || n.type === 'function_definition') return false;
    if (n.type !== 'call') return undefined;
    const cq = a.callee(n);
    if (cq && cq.startsWith('torch.nn.')) {
      if (isLayer(cq) && bringsParameters(n, a, depth + 1)) found = true;
      return false;
    }
    const fn = n.child('function');
    const cls = fn?.type === 'identifier' ? a.moduleClass(fn.text) : undefined;
    if (cls) {
      for (const layer of cls.layers.values()) {
        const l = unparen(layer);
        if (l?.type === 'call' && isLayer(a.callee(l)) && bringsParameters(l, a, depth + 1)) found = true;
      }
      return false;
    }
    return undefined; // `OrderedDict([...])`, lists and tuples: look inside
  });
  return found;
}

/**
 * Whether a module class of the file holds parameters of its own making: an `nn.Parameter(...)` or a parametric
 * torch.nn layer built anywhere in the class, or an instance of another such class of the file (also as its base).
 */
export function classHoldsParameters(a: Analysis, name: string, depth = 0): boolean {
  let known = holding.get(a);
  if (!known) holding.set(a, (known = new Map()));
  let holds = known.get(name);
  if (holds === undefined) {
    known.set(name, false); // a class that builds itself (recursion) adds nothing
    holds = depth <= 4 && holdsOwnParameters(a, name, depth);
    known.set(name, holds);
  }
  return holds;
}

const holding = new WeakMap<Analysis, Map<string, boolean>>();

function holdsOwnParameters(a: Analysis, name: string, depth: number): boolean {
  const cls = a.moduleClass(name);
  if (!cls) return false;
  for (const base of cls.node.child('superclasses')?.namedChildren ?? []) {
    if (base.type === 'identifier' && classHoldsParameters(a, base.text, depth + 1)) return true;
  }
  for (const c of [cls.node, ...methodsOf(cls.node)].flatMap(callsWithin)) {
    const q = a.callee(c);
    if (q && (PARAMETER.test(q) || isParametricBuild(c, a))) return true;
    const fn = c.child('function');
    if (fn?.type === 'identifier' && a.moduleClass(fn.text) && classHoldsParameters(a, fn.text, depth + 1)) return true;
  }
  return false;
}

/** The call under `.to(device)`, `.cuda()` and the like (`Head(768).to(device)` -> `Head(768)`), else the expression. */
export function peelSameModule(value: PyNode | undefined): PyNode | undefined {
  let e = unparen(value);
  while (e?.type === 'call' && SAME_MODULE.has(calleeName(e) ?? '')) {
    const recv = unparen(receiver(e));
    if (recv?.type !== 'call') return e;
    e = recv;
  }
  return e;
}
