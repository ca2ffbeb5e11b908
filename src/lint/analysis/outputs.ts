// What kind of values an expression holds at a loss call: probabilities (softmax / sigmoid), log-probabilities
// or raw logits. Follows simple assignments, the model's `forward` (through `self.layer`, nn.Sequential and
// sub-modules), functions of the same file, and `model = Net().to(device)`. Anything else is 'unknown'.
import type { PyNode } from '../parser';
import type { RawFix } from '../types';
import { callsWithin, positionalArgs, receiver, unparen, type Analysis } from './index';
import { returnValues, type ModuleClass } from './modules';

export type OutputKind = 'softmax' | 'log_softmax' | 'sigmoid' | 'logits' | 'unknown';

export interface Output {
  kind: OutputKind;
  /** The activation call (or the nn.Sequential element) that produced it. */
  site?: PyNode;
  /** Removes the activation, when that is a local edit. */
  removal?: RawFix;
}

const UNKNOWN: Output = { kind: 'unknown' };

const ACTIVATION_FNS: Record<string, OutputKind> = {
  'torch.softmax': 'softmax',
  'torch.nn.functional.softmax': 'softmax',
  'torch.special.softmax': 'softmax',
  'torch.log_softmax': 'log_softmax',
  'torch.nn.functional.log_softmax': 'log_softmax',
  'torch.special.log_softmax': 'log_softmax',
  'torch.sigmoid': 'sigmoid',
  'torch.nn.functional.sigmoid': 'sigmoid',
  'torch.special.expit': 'sigmoid',
};

const ACTIVATION_LAYERS: Record<string, OutputKind> = {
  'torch.nn.Softmax': 'softmax',
  'torch.nn.LogSoftmax': 'log_softmax',
  'torch.nn.Sigmoid': 'sigmoid',
};

const LINEAR_LAYERS = new Set(['torch.nn.Linear', 'torch.nn.LazyLinear', 'torch.nn.Bilinear', 'torch.nn.Conv1d', 'torch.nn.Conv2d', 'torch.nn.Conv3d']);

/** Tensor methods that keep what the values mean (shape or dtype changes only). */
const SHAPE_METHODS = new Set(['view', 'reshape', 'squeeze', 'unsqueeze', 'flatten', 'float', 'double', 'to', 'contiguous', 'clone', 'cpu', 'cuda']);

/** Module methods that return the module itself. */
const MODULE_CHAIN = new Set(['to', 'cuda', 'cpu', 'train', 'eval', 'float', 'double', 'half', 'requires_grad_', 'type']);

/** Names that call a model: `model(x)`, `net(x)`, `self.classifier(x)`. */
export const MODEL_NAME = /model|net|clf|classifier/i;

export class OutputFlow {
  private readonly classKinds = new Map<ModuleClass, Output>();

  constructor(private readonly a: Analysis) {}

  /** Kind of the values of `expr` (evaluated where it stands). */
  of(expr: PyNode | undefined, depth = 0): Output {
    const e = unparen(expr);
    if (!e || depth > 8) return UNKNOWN;
    if (e.type === 'identifier') {
      const v = this.a.scopes.valueAt(e.text, e);
      if (!v) return UNKNOWN;
      const out = this.of(v, depth + 1);
      // Fixes reach through a name only inside forward: elsewhere the name may feed metrics too.
      if (out.site !== unparen(v) || !out.removal) return out;
      const inForward = v.ancestor('function_definition')?.child('name')?.text === 'forward';
      return { ...out, removal: inForward ? this.selfReassignRemoval(v, out) : undefined };
    }
    if (e.type !== 'call') return UNKNOWN;
    const fn = e.child('function');
    if (!fn) return UNKNOWN;
    const q = this.a.qname(fn);
    const args = positionalArgs(e);
    if (q && ACTIVATION_FNS[q]) return this.activation(ACTIVATION_FNS[q], e, args[0]);
    if (q === 'torch.log') {
      const inner = this.of(args[0], depth + 1);
      return inner.kind === 'softmax' ? { kind: 'log_softmax', site: e } : UNKNOWN;
    }
    if (q && (q.startsWith('torch.') || q.startsWith('keras.') || q.startsWith('tensorflow.'))) return UNKNOWN;
    if (fn.type === 'attribute') {
      const method = fn.child('attribute')?.text ?? '';
      const obj = fn.child('object');
      if (method === 'softmax' || method === 'log_softmax' || method === 'sigmoid') return this.activation(method, e, obj);
      if (SHAPE_METHODS.has(method)) {
        const inner = this.of(obj, depth + 1);
        return { kind: inner.kind, site: inner.site };
      }
      if (method === 'forward' && obj) return this.moduleCall(obj, e, args, depth);
    }
    return this.moduleCall(fn, e, args, depth);
  }

  /** `m(x)` where m is a module (layer, Sequential, model) or a function of this file. */
  private moduleCall(callee: PyNode, call: PyNode, args: PyNode[], depth: number): Output {
    if (callee.type === 'attribute' && callee.child('object')?.text === 'self') {
      const cls = this.enclosingModule(call);
      const attr = callee.child('attribute')?.text;
      const layer = cls && attr ? cls.layers.get(attr) : undefined;
      if (!layer) return UNKNOWN;
      const out = this.moduleValue(layer, depth + 1);
      // `self.softmax(x)` in forward: dropping it means using x.
      if (out.kind !== 'unknown' && out.kind !== 'logits' && out.site === layer && args[0]) {
        return { kind: out.kind, site: call, removal: replaceWith(call, args[0], 'Remove the ' + out.kind) };
      }
      return { kind: out.kind, site: out.site };
    }
    if (callee.type === 'identifier' && callee.text === 'self') {
      const cls = this.enclosingModule(call);
      return cls ? this.classOutput(cls, depth + 1) : UNKNOWN;
    }
    if (callee.type === 'identifier') {
      const cls = this.a.moduleClass(callee.text);
      if (cls) return UNKNOWN; // constructing, not calling
      const fns = this.a.functions.get(callee.text);
      if (fns?.length === 1 && !fns[0]!.ancestor('class_definition')) {
        return combine(returnValues(fns[0]!).map((r) => this.of(r, depth + 1)));
      }
      const v = this.a.scopes.valueAt(callee.text, callee);
      if (v) return this.moduleValue(v, depth + 1);
      if (!v && MODEL_NAME.test(callee.text)) return this.fileModels(depth);
      return UNKNOWN;
    }
    return UNKNOWN;
  }

  /** Output kind of a module given the expression that built it (`Net()`, `nn.Sequential(...)`, `nn.Softmax(1)`). */
  private moduleValue(value: PyNode, depth: number): Output {
    const v = unparen(value);
    if (!v || depth > 8) return UNKNOWN;
    if (v.type === 'identifier') {
      const next = this.a.scopes.valueAt(v.text, v);
      return next ? this.moduleValue(next, depth + 1) : UNKNOWN;
    }
    if (v.type !== 'call') return UNKNOWN;
    const fn = v.child('function');
    const q = this.a.qname(fn);
    if (q && ACTIVATION_LAYERS[q]) return { kind: ACTIVATION_LAYERS[q], site: v };
    if (q && LINEAR_LAYERS.has(q)) return { kind: 'logits', site: v };
    if (q === 'torch.nn.Sequential') return this.sequential(v, depth);
    if (fn?.type === 'identifier') {
      const cls = this.a.moduleClass(fn.text);
      if (cls) return this.classOutput(cls, depth + 1);
    }
    if (fn?.type === 'attribute' && MODULE_CHAIN.has(fn.child('attribute')?.text ?? '')) {
      const obj = fn.child('object');
      return obj ? this.moduleValue(obj, depth + 1) : UNKNOWN;
    }
    return UNKNOWN;
  }

  private sequential(seq: PyNode, depth: number): Output {
    const args = positionalArgs(seq);
    const last = args[args.length - 1];
    if (!last || seq.child('arguments')?.children.some((c) => c.type === 'list_splat')) return UNKNOWN;
    const out = this.moduleValue(last, depth + 1);
    if (out.kind === 'unknown' || out.kind === 'logits' || out.site !== unparen(last)) return out;
    const prev = args[args.length - 2];
    const removal: RawFix | undefined = prev ? { title: `Remove the final ${out.kind} layer`, edits: [{ start: prev.end, end: last.end, newText: '' }] } : undefined;
    return { kind: out.kind, site: last, removal };
  }

  /** What a module class's forward returns; all returns must agree. */
  classOutput(cls: ModuleClass, depth = 0): Output {
    const cached = this.classKinds.get(cls);
    if (cached) return cached;
    this.classKinds.set(cls, UNKNOWN); // recursion guard
    const outs = cls.returns.map((r) => this.of(r, depth + 1));
    const out = combine(outs);
    this.classKinds.set(cls, out);
    return out;
  }

  /** A model passed in as a parameter: the models this file builds, if they all agree. */
  private fileModelsCache?: Output;
  private fileModels(depth: number): Output {
    this.fileModelsCache ??= this.computeFileModels(depth);
    return this.fileModelsCache;
  }

  private computeFileModels(depth: number): Output {
    const built = new Set<ModuleClass>();
    for (const call of this.a.index.of('call')) {
      const fn = call.child('function');
      if (fn?.type !== 'identifier' || call.ancestor('class_definition')) continue;
      const cls = this.a.moduleClass(fn.text);
      if (cls) built.add(cls);
    }
    if (built.size === 0) {
      // Nothing built here (a module imported elsewhere builds it): the classes no other class uses as a part.
      const called = new Set(this.a.index.of('call').map((c) => c.child('function')?.text));
      for (const m of this.a.modules) if (!called.has(m.name)) built.add(m);
      if (built.size === 0) return UNKNOWN;
    }
    const outs = [...built].map((c) => this.classOutput(c, depth + 1));
    const out = combine(outs);
    return built.size === 1 ? out : { kind: out.kind, site: out.site };
  }

  private enclosingModule(n: PyNode): ModuleClass | undefined {
    const cls = n.ancestor('class_definition');
    return cls ? this.a.modules.find((m) => m.node === cls) : undefined;
  }

  private activation(kind: string, call: PyNode, inner: PyNode | undefined): Output {
    const k = kind as OutputKind;
    return { kind: k, site: call, removal: inner ? replaceWith(call, inner, `Remove the ${k}`) : undefined };
  }

  /** `x = F.softmax(x, 1)` reached through `x`: drop the whole statement when it re-assigns the same name. */
  private selfReassignRemoval(value: PyNode, out: Output): RawFix | undefined {
    if (out.site !== unparen(value) || !out.removal) return undefined;
    const assign = value.parent;
    const stmt = assign?.parent;
    const edit = out.removal.edits[0];
    if (assign?.type !== 'assignment' || stmt?.type !== 'expression_statement' || !edit) return undefined;
    if (assign.child('left')?.text !== edit.newText) return out.removal;
    const src = stmt.src.text;
    const lineStart = src.lastIndexOf('\n', stmt.start - 1) + 1;
    const lineEnd = src.indexOf('\n', stmt.end);
    if (src.slice(lineStart, stmt.start).trim() !== '' || (lineEnd !== -1 && src.slice(stmt.end, lineEnd).trim() !== '')) return out.removal;
    return { title: out.removal.title, edits: [{ start: lineStart, end: lineEnd === -1 ? src.length : lineEnd + 1, newText: '' }] };
  }
}

function replaceWith(call: PyNode, inner: PyNode, title: string): RawFix {
  return { title, edits: [{ start: call.start, end: call.end, newText: inner.text }] };
}

function combine(outs: Output[]): Output {
  if (outs.length === 0) return UNKNOWN;
  const kind = outs[0]!.kind;
  if (outs.some((o) => o.kind !== kind)) return UNKNOWN;
  return outs.length === 1 ? outs[0]! : { kind, site: outs[0]!.site };
}

/** True when a call's arguments include a call of `name` on something (used for `.backward()` scans). */
export function hasMethodCall(node: PyNode, name: string): boolean {
  return callsWithin(node).some((c) => c.child('function')?.child('attribute')?.text === name && receiver(c) !== undefined);
}
