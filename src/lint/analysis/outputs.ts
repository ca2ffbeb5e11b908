// What kind of values an expression holds at a loss call: probabilities (softmax / sigmoid), log-probabilities
// or raw logits. Follows simple assignments, the model's `forward` (through `self.layer`, nn.Sequential and
// sub-modules), functions of the same file, `model = Net().to(device)`, parameters through every call site, tuple
// elements and dict entries by literal key (`output['exist']` of a forward that returns a dict), picks and shape ops
// of the values (`probs.gather(...)`, `probs[:, 1]`, `torch.squeeze(probs)`), a module's methods called from outside
// (`model.predict(x)`), a module parameter nobody here passes named like one of the file's classes (`classifier` ->
// `Classifier`), `forward` parameters through the calls of the module's instances (a loss module's `inputs`), the
// rows a for loop takes of a tensor (`for row in probs:`, through enumerate / zip), `exp` of log-probabilities (a
// softmax in two steps), and the default of a module parameter of a class nothing here builds (`norm=nn.Softmax(-1)`).
// Anything else is 'unknown'.
import type { PyNode } from '../parser';
import type { RawFix } from '../types';
import { calleeName, callsWithin, keywordArg, loopTargetBinds, positionalArgs, receiver, unparen, type Analysis } from './index';
import { builtDict, dictEntries, stringKey, type Element } from './dictKeys';
import { methodsOf, returnValues, type ModuleClass } from './modules';
import { forwardArguments } from './instanceCalls';
import { signatureDefault, unpassed } from './parameterDefaults';
import { parameterArguments } from './parameters';
import { scopeOf } from './scopes';
import { elementBefore, valueBefore } from './values';
import { evaluate, fileEnv, type Literal } from './gates';
import { reachingDefs } from './reaching';
import { ruledOutBy, type ModeGate } from './modeGates';

/** `m.forward(x)` and `m.__call__(x)` run the module as `m(x)` does. */
const CALL_METHODS = new Set(['forward', '__call__']);

export type OutputKind = 'softmax' | 'log_softmax' | 'sigmoid' | 'logits' | 'unknown';

export interface Output {
  kind: OutputKind;
  /** The activation call (or the nn.Sequential element) that produced it. */
  site?: PyNode;
  /** Removes the activation, when that is a local edit. */
  removal?: RawFix;
}

const UNKNOWN: Output = { kind: 'unknown' };

/** Recursion limit: a model reached through a parameter, a builder and `.to(device)` takes a dozen steps. */
const MAX_DEPTH = 16;

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

/**
 * PyTorch Geometric layers whose output is an affine map of (aggregated) features with no activation after it, under
 * `torch_geometric.nn.X`, `torch_geometric.nn.conv.X` or the defining module (`torch_geometric.nn.conv.gcn_conv.X`).
 * `torch_geometric.nn.Linear` lives in `torch_geometric.nn.dense.linear`.
 */
const PYG_LINEAR = /^torch_geometric\.nn\.(?:(?:conv\.(?:\w+\.)?)?(?:GCNConv|GATConv|GATv2Conv|SAGEConv|GraphConv|ChebConv|TransformerConv)|(?:dense\.(?:linear\.)?)?Linear)$/;

/** PyG convolutions that apply the module they are given (`GINConv(nn.Sequential(...))`): their output is its output. */
const PYG_WRAPPING = /^torch_geometric\.nn\.(?:conv\.(?:\w+\.)?)?GINE?Conv$/;

/** Tensor methods that keep what the values mean (shape, layout or dtype changes only). */
const SHAPE_METHODS = new Set([
  'view', 'reshape', 'squeeze', 'unsqueeze', 'flatten', 'float', 'double', 'half', 'to', 'type', 'contiguous', 'clone', 'cpu', 'cuda',
  'resize', 'view_as', 'reshape_as', 'permute', 'transpose', 't', 'squeeze_', 'unsqueeze_',
]);

/** torch functions that change only the shape or layout of their first argument (`torch.squeeze(probs)`). */
const SHAPE_FNS = new Set(['torch.squeeze', 'torch.unsqueeze', 'torch.reshape', 'torch.flatten', 'torch.transpose', 'torch.permute', 'torch.t']);

/**
 * Batched products that, with one-hot labels on the other side, add up probabilities per class
 * (`attention.bmm(support_y_onehot)` of matching networks): the result is still probabilities.
 */
const MIX_METHODS = new Set(['bmm', 'matmul', 'mm']);
const MIX_FNS = new Set(['torch.bmm', 'torch.matmul', 'torch.mm']);
/** What one-hot label tensors are called: `support_set_y`, `labels_onehot`, `y_one_hot`, `targets`. */
const ONE_HOT_NAME = /one_?hot|label|target|(?:^|_)y(?:$|_)/i;

/** Tensor methods that pick some of the values (`probs.gather(1, actions)`): they keep what the values mean. */
const SELECT_METHODS = new Set(['gather', 'index_select', 'masked_select', 'take_along_dim']);

/** Module methods that return the module itself. */
const MODULE_CHAIN = new Set(['to', 'cuda', 'cpu', 'train', 'eval', 'float', 'double', 'half', 'requires_grad_', 'type']);

/** Wrappers whose output is their module's: `nn.DataParallel(model)`, `torch.compile(model)`. */
const WRAPPERS = new Set(['torch.nn.DataParallel', 'torch.nn.parallel.DataParallel', 'torch.nn.parallel.DistributedDataParallel', 'torch.compile']);

/** Names that call a model: `model(x)`, `net(x)`, `self.classifier(x)`. */
export const MODEL_NAME = /model|net|clf|classifier/i;

export class OutputFlow {
  private readonly classKinds = new Map<ModuleClass, Output>();
  /** class -> tuple element index or dict key -> what that element of forward's return holds */
  private readonly classElements = new Map<ModuleClass, Map<Element, Output>>();
  /** Parameters being resolved (their argument lists): recursion guard. */
  private readonly resolving = new Set<readonly PyNode[]>();

  /**
   * @param assumed mode tests known to hold where the value is used (`if self.method == 'multiclass':` around the
   * loss): a helper's returns in arms of other modes are left out.
   */
  constructor(
    private readonly a: Analysis,
    private readonly assumed: readonly ModeGate[] = [],
  ) {}

  /** Kind of the values of `expr` (evaluated where it stands). */
  of(expr: PyNode | undefined, depth = 0): Output {
    const e = unparen(expr);
    if (!e || depth > MAX_DEPTH) return UNKNOWN;
    if (e.type === 'identifier') {
      // Before the statement: `pred = pred.view(-1)` reads the earlier `pred`.
      const v = valueBefore(this.a, e);
      if (v === null) {
        const el = elementBefore(this.a, e);
        if (el) return this.elementOf(el.source, el.index, depth + 1);
        return this.loopTarget(e, depth) ?? this.parameterOutput(e, depth);
      }
      if (!v) return UNKNOWN;
      const optIn = this.optInBinding(v, e, depth);
      if (optIn) return optIn;
      const out = this.of(v, depth + 1);
      // Fixes reach through a name only inside forward: elsewhere the name may feed metrics too.
      if (out.site !== unparen(v) || !out.removal) return out;
      const inForward = v.ancestor('function_definition')?.child('name')?.text === 'forward';
      return { ...out, removal: inForward ? this.selfReassignRemoval(v, out) : undefined };
    }
    if (e.type === 'subscript') return this.subscriptOf(e, depth);
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
    if (q === 'torch.exp') return this.exponentiated(e, args[0], depth);
    if (q && SHAPE_FNS.has(q)) return this.kept(args[0], depth);
    if (q && MIX_FNS.has(q)) return this.mixedWithLabels(args[0], args[1], depth);
    // `checkpoint(self.head, x)` runs the module on the rest of the arguments (activation checkpointing).
    if (q === 'torch.utils.checkpoint.checkpoint' && args[0]) return siteOnly(this.moduleCall(args[0], e, args.slice(1), depth + 1));
    if (q && (q.startsWith('torch.') || q.startsWith('keras.') || q.startsWith('tensorflow.'))) return UNKNOWN;
    if (fn.type === 'attribute') {
      const method = fn.child('attribute')?.text ?? '';
      const obj = fn.child('object');
      // `x.softmax(1)` is the tensor method; `self.softmax(x)` calls the layer stored under that name (which may be
      // an nn.LogSoftmax), so it goes to the module's layers below.
      const tensorMethod = (method === 'softmax' || method === 'log_softmax' || method === 'sigmoid') && obj?.text !== 'self';
      if (tensorMethod) return this.activation(method, e, obj);
      if (method === 'exp' && !args.length && obj && obj.text !== 'self' && !q) return this.exponentiated(e, obj, depth);
      if (SHAPE_METHODS.has(method) || SELECT_METHODS.has(method)) return this.kept(obj, depth);
      if (MIX_METHODS.has(method)) return this.mixedWithLabels(obj, args[0], depth);
      if (CALL_METHODS.has(method) && obj) return this.moduleCall(obj, e, args, depth);
      // `model.predict(x)`: a method of the file's module class the object is an instance of.
      const cls = obj && obj.text !== 'self' ? this.instanceClass(obj, depth + 1) : undefined;
      if (cls) return this.methodOutput(cls, method, depth);
    }
    return this.moduleCall(fn, e, args, depth);
  }

  /** What a module handed to a library computes: a module class of the file (skorch takes the class) or an instance. */
  handedModule(value: PyNode): Output {
    const v = unparen(value);
    if (v?.type === 'identifier' && this.a.scopes.valueAt(v.text, v) === null) {
      const cls = this.a.moduleClass(v.text, v);
      if (cls) return this.classOutput(cls);
    }
    const out = v && this.moduleOrName(v, 0);
    return out ? { kind: out.kind, site: out.site } : UNKNOWN;
  }

  /**
   * `if apply_softmax: y = F.softmax(y, dim=1)` in `forward(self, x, apply_softmax=False)`: a binding under an `if` on
   * a parameter of the function, which the file's calls do not all set true, holds only for some calls (`if not
   * self.training:` likewise). The read then holds what every binding that can reach it holds (the earlier logits
   * too), and is unknown when they differ.
   */
  private optInBinding(binding: PyNode, read: PyNode, depth: number): Output | undefined {
    const fn = read.ancestor('function_definition');
    const gate = fn ? parameterGate(binding, fn) : undefined;
    if (!gate) return undefined;
    const holds = evaluate(gate.child('condition'), (id) => this.parameterLiteral(id));
    if (holds !== undefined && holds !== null && holds !== false && holds !== 0 && holds !== '') return undefined;
    const defs = reachingDefs(read);
    if (!defs) return UNKNOWN;
    const consequence = gate.child('consequence');
    // A gate known to be false everywhere rules its own bindings out.
    const live = holds === undefined ? defs : defs.filter((d) => !(d.value && consequence && d.value.start >= consequence.start && d.value.end <= consequence.end));
    return combine(live.map((d) => (d.value && d.index === undefined ? this.of(d.value, depth + 1) : UNKNOWN)));
  }

  /** The literal a parameter holds in every call the file makes (instance calls for forward), when they agree. */
  private parameterLiteral(id: PyNode): Literal | undefined {
    const args = forwardArguments(this.a, id);
    if (!args) return fileEnv(this.a)(id);
    const values = args.map((x) => evaluate(x, fileEnv(this.a)));
    return values.length && values.every((v) => v !== undefined && v === values[0]) ? values[0] : undefined;
  }

  /**
   * `torch.exp(F.log_softmax(x, 1))`, `log_probs.exp()`: the exponential of log-probabilities is probabilities (a
   * softmax written in two steps). Anything else exponentiated is unknown. The fix drops both steps when the
   * log_softmax is the argument itself.
   */
  private exponentiated(call: PyNode, inner: PyNode | undefined, depth: number): Output {
    const out = this.of(inner, depth + 1);
    if (out.kind !== 'log_softmax') return UNKNOWN;
    const edit = out.removal?.edits.length === 1 ? out.removal.edits[0] : undefined;
    const site = out.site;
    const direct = edit && site && site === unparen(inner) && edit.start === site.start && edit.end === site.end;
    const removal: RawFix | undefined = direct ? { title: 'Remove the softmax', edits: [{ start: call.start, end: call.end, newText: edit.newText }] } : undefined;
    return { kind: 'softmax', site: call, removal };
  }

  /**
   * A name a for loop binds, read in its body: `for out in probs:` iterates the rows of a tensor, which hold what the
   * tensor holds; `for i, out in enumerate(probs)` and `for out, t in zip(probs, targets)` pick their element. Undefined
   * when `id` is not a loop target (a parameter, say); unknown for iterables this does not follow.
   */
  private loopTarget(id: PyNode, depth: number): Output | undefined {
    const loop = bindingLoop(id);
    if (!loop) return undefined;
    const iterable = iteratedAs(id.text, loop.child('left'), loop.child('right'));
    if (!iterable) return UNKNOWN;
    const out = this.of(iterable, depth + 1);
    return { kind: out.kind, site: out.site };
  }

  /** What `inner` holds, through an op that keeps what its values mean (no fix: the op stays). */
  private kept(inner: PyNode | undefined, depth: number): Output {
    const out = this.of(inner, depth + 1);
    return { kind: out.kind, site: out.site };
  }

  /** `probs.bmm(onehot)`: probabilities summed per class are probabilities; any other product is unknown. */
  private mixedWithLabels(probs: PyNode | undefined, other: PyNode | undefined, depth: number): Output {
    const o = unparen(other);
    if (!o || (o.type !== 'identifier' && o.type !== 'attribute') || !ONE_HOT_NAME.test(o.text.slice(o.text.lastIndexOf('.') + 1))) return UNKNOWN;
    const out = this.of(probs, depth + 1);
    return out.kind === 'softmax' ? { kind: out.kind, site: out.site } : UNKNOWN;
  }

  /**
   * Element `index` of what `source` holds: `recon, mu, logvar = model(x)` reads element 0 of forward's
   * `return self.decode(z), mu, logvar`; `output['exist']` reads the key of a returned dict. Never a fix: the
   * activation sits in a tuple or dict other code may read.
   */
  private elementOf(source: PyNode, index: Element, depth: number): Output {
    const s = unparen(source);
    if (!s || depth > MAX_DEPTH) return UNKNOWN;
    if (s.type === 'identifier') return this.elementOfName(s, index, depth);
    if (typeof index === 'string') {
      const entries = dictEntries(this.a, s);
      if (entries) return this.entryOutput(entries.get(index), depth);
    }
    if ((s.type === 'tuple' || s.type === 'expression_list') && typeof index === 'number') {
      const items = s.namedChildren.filter((c) => c.type !== 'comment');
      const out = this.of(items[index], depth + 1);
      return { kind: out.kind, site: out.site };
    }
    if (s.type !== 'call') return UNKNOWN;
    const fn = s.child('function');
    if (!fn) return UNKNOWN;
    const q = this.a.qname(fn);
    if (q && (q.startsWith('torch.') || q.startsWith('keras.') || q.startsWith('tensorflow.'))) return UNKNOWN;
    const obj = fn.type === 'attribute' ? fn.child('object') : undefined;
    const callee = obj && CALL_METHODS.has(fn.child('attribute')?.text ?? '') ? obj : fn;
    if (callee === fn && fn.type === 'attribute' && fn.child('object')?.text !== 'self') return UNKNOWN;
    const out = this.moduleCall(callee, s, positionalArgs(s), depth, index);
    return { kind: out.kind, site: out.site };
  }

  /** `outputs[0]` where `outputs = model(x)` (or a tuple): element 0 of it; `outputs['probs']`: that dict key. */
  private subscriptOf(e: PyNode, depth: number): Output {
    const idx = e.child('subscript');
    const obj = unparen(e.child('value'));
    if (!idx || !obj) return UNKNOWN;
    // `probs[:, 1]`, `probs[range(n), actions]`: a tensor's own values (tuples and dicts take one plain index).
    if (e.childrenOf('subscript').length > 1 || idx.type === 'slice' || idx.type === 'ellipsis') {
      const inner = this.of(obj, depth + 1);
      return { kind: inner.kind, site: inner.site };
    }
    const key = idx.type === 'integer' && /^\d+$/.test(idx.text) ? Number(idx.text) : stringKey(idx);
    if (key !== undefined) return this.elementOf(obj, key, depth + 1);
    // `predict[mask]`, `probs[idx]`: an index that is not a literal picks values of a tensor. Only a known kind counts
    // (a tuple, list or dict of outputs is never one), so an element of a container stays unknown.
    const inner = this.of(obj, depth + 1);
    return inner.kind === 'unknown' ? UNKNOWN : { kind: inner.kind, site: inner.site };
  }

  /**
   * Element `index` of what a name holds: a tuple or call it was bound to, a dict built in its scope
   * (`out = {}; out['exist'] = torch.sigmoid(h)`), or the same element of every call site's argument for a parameter.
   */
  private elementOfName(id: PyNode, index: Element, depth: number): Output {
    const v = valueBefore(this.a, id);
    if (v === undefined) return UNKNOWN;
    if (v === null) {
      if (elementBefore(this.a, id)) return UNKNOWN;
      const args = this.argumentsOf(id);
      if (!args || this.resolving.has(args)) return UNKNOWN;
      this.resolving.add(args);
      const out = combine(args.map((arg) => this.elementOf(arg, index, depth + 1)));
      this.resolving.delete(args);
      return out;
    }
    if (typeof index === 'string') {
      const dict = builtDict(this.a, id, unparen(v) ?? v, index);
      if (dict === null) return UNKNOWN; // written in ways this does not follow (`out.update(...)`, `out[k] = ...`)
      if (dict) return combine(dict.map((value) => this.entryOutput(value, depth)));
    }
    return this.elementOf(v, index, depth + 1);
  }

  private entryOutput(value: PyNode | undefined, depth: number): Output {
    const out = this.of(value, depth + 1);
    return { kind: out.kind, site: out.site };
  }

  /**
   * `m(x)` where m is a module (layer, Sequential, model) or a function of this file. With `element`, what element
   * `element` of the tuple it returns holds.
   */
  private moduleCall(callee: PyNode, call: PyNode, args: PyNode[], depth: number, element?: Element): Output {
    if (callee.type === 'attribute' && callee.child('object')?.text === 'self') {
      const cls = this.enclosingModule(call);
      const attr = callee.child('attribute')?.text;
      if (!cls && attr) return this.selfAttrModule(call, attr, depth, element);
      const layer = cls && attr ? cls.layers.get(attr) : undefined;
      if (!layer) return cls && attr ? this.methodOutput(cls, attr, depth, element) : UNKNOWN;
      const out = this.moduleValue(layer, depth + 1, element);
      if (out.kind === 'unknown' && element === undefined && this.isLibraryModule(layer)) {
        const applied = this.appliedLayer(cls!, args, depth);
        if (applied) return applied;
      }
      // `self.softmax(x)` in forward: dropping it means using x.
      if (element === undefined && out.kind !== 'unknown' && out.kind !== 'logits' && out.site === layer && args[0]) {
        return { kind: out.kind, site: call, removal: replaceWith(call, args[0], 'Remove the ' + out.kind) };
      }
      return { kind: out.kind, site: out.site };
    }
    if (callee.type === 'identifier' && callee.text === 'self') {
      const cls = this.enclosingModule(call);
      return cls ? this.classOutput(cls, element) : UNKNOWN;
    }
    if (callee.type === 'identifier') {
      const cls = this.a.moduleClass(callee.text);
      if (cls) return UNKNOWN; // constructing, not calling
      const fns = this.a.functions.get(callee.text);
      if (fns?.length === 1 && !fns[0]!.ancestor('class_definition')) return this.returned(fns[0]!, depth, element);
      const out = this.nameModule(callee, depth + 1, element);
      if (out) return out;
      return this.unseenModule(callee.text, element);
    }
    return UNKNOWN;
  }

  /** A layer built by a library's class (not torch's, not this file's): `ConcreteDropout(...)`, `Residual(...)`. */
  private isLibraryModule(layer: PyNode): boolean {
    const v = unparen(layer);
    if (v?.type !== 'call') return false;
    const q = this.a.callee(v);
    const last = v.child('function')?.text.split('.').pop() ?? '';
    return !!q && !/^(torch|keras|tensorflow)\./.test(q) && !this.a.definesClass(last) && !this.a.functions.has(last);
  }

  /**
   * `self.cd(x, nn.Sequential(self.fc, self.softmax))`: a library wrapper called with the input and the one layer it
   * applies to it (concrete dropout, `checkpoint(layer, x)`) returns that layer's output. Undefined unless exactly
   * one argument is a layer (an `nn.*` layer built there, or one of the module's `self.` layers) beside the input.
   */
  private appliedLayer(cls: ModuleClass | undefined, args: PyNode[], depth: number): Output | undefined {
    if (args.length < 2) return undefined;
    const layers = args.map((arg) => this.layerArgument(cls, arg)).filter((l): l is PyNode => l !== undefined);
    if (layers.length !== 1) return undefined;
    const out = this.moduleValue(layers[0]!, depth + 1);
    return out.kind === 'unknown' ? undefined : { kind: out.kind, site: out.site };
  }

  /** The layer an argument is: `nn.Sequential(...)` / `nn.Linear(...)` built in place, or `self.fc` of the module. */
  private layerArgument(cls: ModuleClass | undefined, arg: PyNode): PyNode | undefined {
    const v = unparen(arg);
    if (v?.type === 'call') return /^torch\.nn\.[A-Z]/.test(this.a.callee(v) ?? '') ? v : undefined;
    if (v?.type === 'attribute' && v.child('object')?.text === 'self') return cls?.layers.get(v.child('attribute')?.text ?? '');
    return undefined;
  }

  /** What a function returns (or element `element` of the tuples it returns); all returns must agree. */
  private returned(fn: PyNode, depth: number, element?: Element): Output {
    const values = returnValues(fn).filter((r) => !ruledOutBy(r, this.assumed));
    return combine(values.map((r) => (element === undefined ? this.of(r, depth + 1) : this.elementOf(r, element, depth + 1))));
  }

  /** `self.decode(z)` in forward: what the module's method returns. */
  private methodOutput(cls: ModuleClass, name: string, depth: number, element?: Element): Output {
    const method = methodsOf(cls.node).find((m) => m.child('name')?.text === name);
    if (!method || method === cls.forward) return UNKNOWN;
    const out = this.returned(method, depth, element);
    return { kind: out.kind, site: out.site };
  }

  /** `self.model(x)` in a class that is not a module (a Trainer): what `self.model` was assigned. */
  private selfAttrModule(call: PyNode, attr: string, depth: number, element?: Element): Output {
    const cls = call.ancestor('class_definition');
    const values = cls ? this.a.scopes.selfAttr(cls, attr) : [];
    // `self.squash(scores)` in a trainer class: a method of the class, never assigned over.
    const method = cls && !values.length ? methodsOf(cls).find((m) => m.child('name')?.text === attr) : undefined;
    if (method) return siteOnly(this.returned(method, depth + 1, element));
    const outs = values.map((v) => this.moduleOrName(v, depth + 1, element));
    // Assigned from a parameter nobody in this file passes (or never assigned here): like a bare model name.
    if (outs.every((o) => o === undefined)) return this.unseenModule(attr, element);
    return combine(outs.map((o) => o ?? UNKNOWN));
  }

  /**
   * The module a name holds where it is read (`model` in `model(x)`), through its assignment, a replaced torchvision
   * head, or the call sites of the function it is a parameter of. Undefined when it is a parameter (or loop target)
   * whose value this file does not show.
   */
  private nameModule(id: PyNode, depth: number, element?: Element): Output | undefined {
    if (depth > MAX_DEPTH) return UNKNOWN;
    const v = valueBefore(this.a, id);
    if (v === undefined) return undefined;
    if (v === null) {
      const el = elementBefore(this.a, id);
      if (el) return this.unpackedModule(el.source, el.index, depth + 1, element);
      return this.parameterModule(id, depth, element);
    }
    if (isReloaded(this.a, v)) {
      const others = this.besidesReloads(id, depth, element);
      if (others !== null) return others;
    }
    const head = replacedHead(this.a, id, v);
    return this.moduleValue(head ?? v, depth + 1, element);
  }

  /** A parameter holding a module: what every call site passes, else an unpassed default; undefined when unseen. */
  private parameterModule(id: PyNode, depth: number, element?: Element): Output | undefined {
    const args = parameterArguments(this.a, id);
    if (!args) {
      // `def __init__(self, normalize=nn.Softmax(-1))` of a class nothing here builds: the default.
      // Unknown (`model=None`) stays undefined, for the callers' own guesses.
      const fallback = signatureDefault(id);
      const out = fallback && this.moduleOrName(fallback, depth + 1, element);
      return out && out.kind !== 'unknown' && unpassed(this.a, id) ? out : undefined;
    }
    if (this.resolving.has(args)) return undefined;
    this.resolving.add(args); // a recursive function passes its own parameter on
    const outs = args.map((arg) => this.moduleOrName(arg, depth + 1, element));
    this.resolving.delete(args);
    if (outs.every((o) => o === undefined)) return undefined;
    return combine(outs.map((o) => o ?? UNKNOWN));
  }

  /**
   * `if resume: model = ckpt.model` with the model passed in otherwise: a model reloaded from a checkpoint has the
   * architecture the other paths build, so the read holds what those hold. Null when only reloads reach it (or the
   * paths are not followed): the caller goes on with the nearest binding.
   */
  private besidesReloads(id: PyNode, depth: number, element?: Element): Output | undefined | null {
    const defs = reachingDefs(id);
    const others = defs?.filter((d) => !(d.value && isReloaded(this.a, d.value)));
    if (!others?.length || others.some((d) => d.index !== undefined || (!d.value && !d.parameterOf))) return null;
    const outs = others.map((d) => (d.value ? this.moduleOrName(d.value, depth + 1, element) : this.parameterModule(id, depth, element)));
    if (outs.every((o) => o === undefined)) return undefined;
    return combine(outs.map((o) => o ?? UNKNOWN));
  }

  /**
   * A module bound by unpacking: `enc, dec = nn.Linear(4, 2), Decoder()`, or `model, opt = build(cfg)` with
   * `build` a function of this file returning `model, optimizer`.
   */
  private unpackedModule(source: PyNode, index: number, depth: number, element?: Element): Output | undefined {
    const s = unparen(source);
    if (!s || depth > MAX_DEPTH) return UNKNOWN;
    if (s.type === 'tuple' || s.type === 'expression_list') {
      const item = s.namedChildren.filter((c) => c.type !== 'comment')[index];
      return item ? this.moduleOrName(item, depth + 1, element) : UNKNOWN;
    }
    const fn = s.type === 'call' ? s.child('function') : undefined;
    const defs = fn?.type === 'identifier' ? this.a.functions.get(fn.text) : undefined;
    if (defs?.length !== 1 || defs[0]!.ancestor('class_definition')) return UNKNOWN;
    const outs = returnValues(defs[0]!).map((r) => {
      const t = unparen(r);
      const item = t?.type === 'tuple' || t?.type === 'expression_list' ? t.namedChildren.filter((c) => c.type !== 'comment')[index] : undefined;
      return item ? (this.moduleOrName(item, depth + 1, element) ?? UNKNOWN) : UNKNOWN;
    });
    return combine(outs);
  }

  private moduleOrName(value: PyNode, depth: number, element?: Element): Output | undefined {
    const v = unparen(value);
    return v?.type === 'identifier' ? this.nameModule(v, depth, element) : this.moduleValue(value, depth, element);
  }

  /** The file's module class whose instance `value` holds (`model` with `model = Net().to(device)`), when known. */
  private instanceClass(value: PyNode, depth: number): ModuleClass | undefined {
    const v = unparen(value);
    if (!v || depth > MAX_DEPTH) return undefined;
    if (v.type === 'identifier') {
      const bound = valueBefore(this.a, v);
      if (bound) return this.instanceClass(bound, depth + 1);
      if (bound === undefined || elementBefore(this.a, v)) return undefined;
      const args = this.argumentsOf(v);
      if (!args) return this.classNamedLike(v.text);
      const classes = new Set(args.map((x) => this.instanceClass(x, depth + 1)));
      return classes.size === 1 ? [...classes][0] : undefined;
    }
    if (v.type === 'attribute' && v.child('object')?.text === 'self') {
      const owner = v.ancestor('class_definition');
      const values = owner ? this.a.scopes.selfAttr(owner, v.child('attribute')!.text) : [];
      const classes = new Set(values.map((x) => this.instanceClass(x, depth + 1)));
      return classes.size === 1 ? [...classes][0] : undefined;
    }
    if (v.type !== 'call') return undefined;
    const fn = v.child('function');
    if (fn?.type === 'identifier') return this.a.moduleClass(fn.text, v);
    if (WRAPPERS.has(this.a.qname(fn) ?? '')) {
      const inner = positionalArgs(v)[0];
      return inner ? this.instanceClass(inner, depth + 1) : undefined;
    }
    const obj = fn?.type === 'attribute' && MODULE_CHAIN.has(fn.child('attribute')?.text ?? '') ? fn.child('object') : undefined;
    return obj ? this.instanceClass(obj, depth + 1) : undefined;
  }

  /** A parameter holding data (`def step(out, y): loss = criterion(out, y)`): what every call site passes. */
  private parameterOutput(id: PyNode, depth: number): Output {
    const args = this.argumentsOf(id);
    if (!args || this.resolving.has(args)) return UNKNOWN;
    this.resolving.add(args);
    // The activation is in the caller: no local fix.
    const out = combine(args.map((arg) => this.of(arg, depth + 1)));
    this.resolving.delete(args);
    return { kind: out.kind, site: out.site };
  }

  /**
   * What a parameter receives at each call site: of a function or method through its calls, of a module's `forward`
   * (a loss module's `inputs`) through the calls of its instances.
   */
  private argumentsOf(id: PyNode): readonly PyNode[] | undefined {
    const m = this.forwardArgs;
    const cached = m.get(id);
    if (cached !== undefined) return cached ?? undefined;
    const args = parameterArguments(this.a, id) ?? forwardArguments(this.a, id);
    m.set(id, args ?? null);
    return args;
  }
  private readonly forwardArgs = new Map<PyNode, readonly PyNode[] | null>();

  /** Output kind of a module given the expression that built it (`Net()`, `nn.Sequential(...)`, `nn.Softmax(1)`). */
  private moduleValue(value: PyNode, depth: number, element?: Element): Output {
    const v = unparen(value);
    if (!v || depth > MAX_DEPTH) return UNKNOWN;
    if (v.type === 'identifier') return this.nameModule(v, depth + 1, element) ?? UNKNOWN;
    if (v.type === 'attribute') return this.selfLayer(v, depth, element);
    if (v.type !== 'call') return UNKNOWN;
    const fn = v.child('function');
    const q = this.a.qname(fn);
    if (q && WRAPPERS.has(q)) {
      const inner = positionalArgs(v)[0];
      return inner ? this.moduleValue(inner, depth + 1, element) : UNKNOWN;
    }
    if (fn?.type === 'attribute' && MODULE_CHAIN.has(fn.child('attribute')?.text ?? '')) {
      const obj = fn.child('object');
      return obj ? this.moduleValue(obj, depth + 1, element) : UNKNOWN;
    }
    if (fn?.type === 'identifier') {
      const cls = this.a.moduleClass(fn.text, v);
      if (cls) return this.classOutput(cls, element);
      // `build_model()`: a function of this file that returns the model.
      const defs = this.a.functions.get(fn.text);
      if (defs?.length === 1 && !defs[0]!.ancestor('class_definition')) {
        return combine(returnValues(defs[0]!).map((r) => this.moduleValue(r, depth + 1, element)));
      }
    }
    // Layers return one tensor (or, like nn.LSTM, a tuple whose elements this does not follow).
    if (element !== undefined) return UNKNOWN;
    if (q && ACTIVATION_LAYERS[q]) return { kind: ACTIVATION_LAYERS[q], site: v };
    if (q && (LINEAR_LAYERS.has(q) || (q.startsWith('torch_geometric.') && PYG_LINEAR.test(q)))) return { kind: 'logits', site: v };
    if (q?.startsWith('torch_geometric.') && PYG_WRAPPING.test(q)) {
      const inner = positionalArgs(v)[0] ?? keywordArg(v, 'nn');
      if (!inner) return UNKNOWN;
      const out = this.moduleValue(inner, depth + 1);
      return { kind: out.kind, site: out.site };
    }
    if (q === 'torch.nn.Sequential') return this.sequential(v, depth);
    return UNKNOWN;
  }

  /** `nn.Sequential(self.fc, self.softmax)` in a module: the layers `self.fc` and `self.softmax` hold. */
  private selfLayer(attr: PyNode, depth: number, element?: Element): Output {
    const name = attr.child('object')?.text === 'self' ? attr.child('attribute')?.text : undefined;
    const layer = name ? this.enclosingModule(attr)?.layers.get(name) : undefined;
    return layer && layer !== attr ? this.moduleValue(layer, depth + 1, element) : UNKNOWN;
  }

  private sequential(seq: PyNode, depth: number): Output {
    const args = positionalArgs(seq);
    if (seq.child('arguments')?.children.some((c) => c.type === 'list_splat' || c.type === 'dictionary_splat')) return UNKNOWN;
    if (args.length === 0) return this.addedModules(seq, depth);
    const items = args.length === 1 ? orderedDictItems(this.a, args[0]!) : undefined;
    if (items) return this.lastLayer(items.map((t) => unparen(t.namedChildren[1])), items, depth);
    return this.lastLayer(args, args, depth);
  }

  /**
   * Output of the last of a Sequential's layers. `elements` are what a fix removes: the layers themselves, or the
   * `(name, layer)` tuples of an OrderedDict.
   */
  private lastLayer(layers: (PyNode | undefined)[], elements: PyNode[], depth: number): Output {
    const last = layers[layers.length - 1];
    if (!last) return UNKNOWN;
    const out = this.moduleValue(last, depth + 1);
    if (out.kind === 'unknown' || out.kind === 'logits' || out.site !== unparen(last)) return out;
    const prev = elements[elements.length - 2];
    const lastEl = elements[elements.length - 1]!;
    const removal: RawFix | undefined = prev ? { title: `Remove the final ${out.kind} layer`, edits: [{ start: prev.end, end: lastEl.end, newText: '' }] } : undefined;
    return { kind: out.kind, site: last, removal };
  }

  /** `net = nn.Sequential()` then `net.add_module('out', layer)`: the last layer added in the same block. */
  private addedModules(seq: PyNode, depth: number): Output {
    const asg = seq.parent;
    const left = asg?.type === 'assignment' && asg.child('right') === seq ? asg.child('left') : undefined;
    const stmt = asg?.parent;
    if (!left || stmt?.type !== 'expression_statement') return UNKNOWN;
    let layer: PyNode | undefined;
    for (const c of this.a.callsNamed('add_module')) {
      if (c.start < seq.end || receiver(c)?.text !== left.text) continue;
      // Added in the same block (not under an `if` or a loop), to this binding of the name.
      if (c.parent?.type !== 'expression_statement' || c.parent.parent !== stmt.parent) continue;
      if (left.type === 'identifier' && this.a.scopes.valueAt(left.text, c) !== seq) continue;
      layer = positionalArgs(c)[1] ?? keywordArg(c, 'module');
    }
    if (!layer) return UNKNOWN;
    const out = this.moduleValue(layer, depth + 1);
    return { kind: out.kind, site: out.site };
  }

  /**
   * What a module class's forward returns; all returns must agree. Computed from a fresh depth, whatever the caller's:
   * the result is cached, so it must not depend on how deep the first caller was (the guard below stops cycles).
   */
  classOutput(cls: ModuleClass, element?: Element): Output {
    if (element !== undefined) return this.classElement(cls, element);
    const cached = this.classKinds.get(cls);
    if (cached) return cached;
    this.classKinds.set(cls, UNKNOWN); // recursion guard
    const outs = cls.returns.map((r) => this.of(r, 1));
    const out = combine(outs);
    this.classKinds.set(cls, out);
    return out;
  }

  /** Element `index` of the tuples forward returns (`return self.decode(z), mu, logvar`), cached like classOutput. */
  private classElement(cls: ModuleClass, index: Element): Output {
    let m = this.classElements.get(cls);
    if (!m) this.classElements.set(cls, (m = new Map()));
    const cached = m.get(index);
    if (cached) return cached;
    m.set(index, UNKNOWN); // recursion guard
    const out = combine(cls.returns.map((r) => this.elementOf(r, index, 1)));
    m.set(index, out);
    return out;
  }

  /**
   * A module whose value this file does not show (a parameter nobody here passes, `self.x = x` from one): the file's
   * class named like it (`classifier` -> `Classifier`, `d_net` -> `DNet`), else for a model-like name the models the
   * file builds.
   */
  private unseenModule(name: string, element?: Element): Output {
    const cls = this.classNamedLike(name);
    if (cls) return this.classOutput(cls, element);
    return MODEL_NAME.test(name) ? this.fileModels(element) : UNKNOWN;
  }

  /** module classes by lowercased name without underscores; null where two classes share one. */
  private byLooseName?: Map<string, ModuleClass | null>;
  private classNamedLike(name: string): ModuleClass | undefined {
    if (!this.byLooseName) {
      this.byLooseName = new Map();
      for (const m of this.a.modules) {
        const key = looseName(m.name);
        this.byLooseName.set(key, this.byLooseName.has(key) ? null : m);
      }
    }
    return this.byLooseName.get(looseName(name)) ?? undefined;
  }

  /** A model passed in as a parameter: the models this file builds, if they all agree. */
  private fileModelsCache?: Output;
  private fileModels(element?: Element): Output {
    if (element !== undefined) return this.computeFileModels(element);
    this.fileModelsCache ??= this.computeFileModels();
    return this.fileModelsCache;
  }

  private computeFileModels(element?: Element): Output {
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
    const candidates = element === undefined ? tensorModels(built) : [...built];
    const out = combine(candidates.map((c) => this.classOutput(c, element)));
    return candidates.length === 1 ? out : { kind: out.kind, site: out.site };
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

/** The for loop (in the function of `id`) whose target binds `id`, when `id` is read in the loop's body. */
function bindingLoop(id: PyNode): PyNode | undefined {
  for (let p: PyNode | null = id.parent, prev: PyNode = id; p; prev = p, p = p.parent) {
    if (p.type === 'function_definition' || p.type === 'lambda' || p.type === 'class_definition') return undefined;
    if (p.type === 'for_statement' && prev === p.child('body') && loopTargetBinds(p, id.text)) return p;
  }
  return undefined;
}

/**
 * The tensor whose rows `name` takes in `for <target> in <iter>`: `iter` itself for a bare name, through
 * `enumerate(x)` (the second item) and `zip(a, b)` (the item at the name's position), nested.
 */
function iteratedAs(name: string, target: PyNode | undefined, iter: PyNode | undefined): PyNode | undefined {
  const t = unparen(target);
  const it = unparen(iter);
  if (!t || !it) return undefined;
  if (t.type === 'identifier') return t.text === name ? it : undefined;
  if (t.type !== 'pattern_list' && t.type !== 'tuple_pattern') return undefined;
  const fn = it.type === 'call' ? it.child('function') : undefined;
  if (fn?.type !== 'identifier' || it.child('arguments')?.children.some((c) => c.type === 'list_splat' || c.type === 'keyword_argument')) return undefined;
  const items = t.namedChildren.filter((c) => c.type !== 'comment');
  const args = positionalArgs(it);
  if (fn.text === 'enumerate' && items.length === 2 && (args.length === 1 || args.length === 2)) return iteratedAs(name, items[1], args[0]);
  if (fn.text === 'zip' && items.length === args.length) {
    for (let i = 0; i < items.length; i++) {
      const found = iteratedAs(name, items[i], args[i]);
      if (found) return found;
    }
  }
  return undefined;
}

/** Loaders whose result is a saved model or checkpoint: `torch.load(path)`, `Checkpoint.load(path)`, `load_model(path)`. */
const RELOADS = /^(?:load|load_model|load_checkpoint|load_from_checkpoint)$/;

/** A model read back from a checkpoint: a loader's result, or its `.model` / `['model']` (`ckpt = Checkpoint.load(p); ckpt.model`). */
function isReloaded(a: Analysis, value: PyNode, depth = 0): boolean {
  const v = unparen(value);
  if (!v || depth > 2) return false;
  if (v.type === 'call') return RELOADS.test(calleeName(v) ?? '');
  if (v.type === 'identifier') {
    const bound = valueBefore(a, v);
    return !!bound && isReloaded(a, bound, depth + 1);
  }
  const obj = v.type === 'attribute' ? v.child('object') : v.type === 'subscript' ? v.child('value') : undefined;
  return !!obj && isReloaded(a, obj, depth + 1);
}

/** The `(name, layer)` tuples of `OrderedDict([...])`, when all are literal pairs. */
function orderedDictItems(a: Analysis, arg: PyNode): PyNode[] | undefined {
  const call = unparen(arg);
  if (call?.type !== 'call') return undefined;
  const q = a.callee(call);
  if (q !== 'collections.OrderedDict' && !(q === undefined && call.child('function')?.text === 'OrderedDict')) return undefined;
  const list = unparen(positionalArgs(call)[0]);
  if (list?.type !== 'list' && list?.type !== 'tuple') return undefined;
  const items = list.namedChildren.filter((c) => c.type !== 'comment');
  return items.length && items.every((t) => t.type === 'tuple' && t.namedChildren.length === 2) ? items : undefined;
}

/**
 * The classification head of a torchvision model, per family: the attribute `forward` ends with and, for an
 * nn.Sequential head, the index of its last layer.
 */
const HEADS: [RegExp, string, number?][] = [
  [/^(resnet|resnext|wide_resnet|regnet_|googlenet|inception_v3|shufflenet)/, 'fc'],
  [/^(vgg|alexnet)/, 'classifier', 6],
  [/^mobilenet_v2|^efficientnet|^mnasnet/, 'classifier', 1],
  [/^mobilenet_v3/, 'classifier', 3],
  [/^convnext/, 'classifier', 2],
  [/^densenet/, 'classifier'],
  [/^vit_/, 'heads', 0],
  [/^swin_/, 'head'],
];

const MODEL_CHAIN = new Set(['to', 'cuda', 'cpu', 'train', 'eval', 'float', 'double', 'half']);

/** The torchvision model family (`resnet18`) a value builds, through `.to(device)` and names. */
function torchvisionFamily(a: Analysis, value: PyNode | undefined, depth = 0): string | undefined {
  const v = unparen(value);
  if (!v || depth > 6) return undefined;
  if (v.type === 'identifier') return torchvisionFamily(a, valueBefore(a, v) ?? undefined, depth + 1);
  if (v.type !== 'call') return undefined;
  const fn = v.child('function');
  if (fn?.type === 'attribute' && MODEL_CHAIN.has(fn.child('attribute')?.text ?? '')) return torchvisionFamily(a, fn.child('object'), depth + 1);
  const q = a.callee(v);
  return q?.startsWith('torchvision.models.') ? q.slice(q.lastIndexOf('.') + 1) : undefined;
}

/** Whether `target` (the left of an assignment, after the model name) is the family's head. */
function isHead(family: string, target: string): boolean {
  const head = HEADS.find(([re]) => re.test(family));
  if (!head) return false;
  const [, attr, lastIndex] = head;
  if (target === attr || (attr === 'heads' && target === 'heads.head')) return true;
  const m = /^(\w+)\[(-?\d+)\]$/.exec(target);
  return !!m && m[1] === attr && lastIndex !== undefined && (m[2] === '-1' || Number(m[2]) === lastIndex);
}

/** Assignments to `name.attr...` (`model.fc = ...`, `model.classifier[6] = ...`) by model name, once per file. */
const headAssignments = new WeakMap<Analysis, Map<string, PyNode[]>>();
function attributeAssignments(a: Analysis): Map<string, PyNode[]> {
  let m = headAssignments.get(a);
  if (m) return m;
  m = new Map();
  for (const asg of a.index.of('assignment')) {
    const left = asg.child('left');
    if (left?.type !== 'attribute' && left?.type !== 'subscript') continue;
    const name = /^(\w+)\./.exec(left.text)?.[1];
    if (!name || name === 'self') continue;
    const list = m.get(name);
    if (list) list.push(asg);
    else m.set(name, [asg]);
  }
  headAssignments.set(a, m);
  return m;
}

/**
 * `model = models.resnet18(); model.fc = nn.Sequential(...)`: the last head assigned to the model read at `id`, in the
 * block of its binding `value`, after it (and before `id` when `id` is in that scope).
 */
function replacedHead(a: Analysis, id: PyNode, value: PyNode): PyNode | undefined {
  const stmt = value.parent?.type === 'assignment' ? value.parent.parent : undefined;
  if (stmt?.type !== 'expression_statement') return undefined;
  const candidates = attributeAssignments(a).get(id.text);
  if (!candidates) return undefined;
  const family = torchvisionFamily(a, value);
  if (!family) return undefined;
  const sameScope = scopeOf(id) === scopeOf(value);
  let head: PyNode | undefined;
  for (const asg of candidates) {
    if (asg.start < value.end || (sameScope && asg.start > id.start) || asg.parent?.parent !== stmt.parent) continue;
    const target = asg.child('left')!.text.slice(id.text.length + 1);
    if (isHead(family, target)) head = asg.child('right');
  }
  return head;
}

function looseName(name: string): string {
  return name.replace(/_/g, '').toLowerCase();
}

function replaceWith(call: PyNode, inner: PyNode, title: string): RawFix {
  return { title, edits: [{ start: call.start, end: call.end, newText: inner.text }] };
}

/** The innermost `if` (inside `fn`) whose body holds `node`, when its condition reads one of `fn`'s parameters or the module's training flag. */
function parameterGate(node: PyNode, fn: PyNode): PyNode | undefined {
  const params = new Set<string>();
  for (const p of fn.child('parameters')?.namedChildren ?? []) {
    const id = p.type === 'identifier' ? p : p.child('name');
    if (id?.type === 'identifier' && id.text !== 'self') params.add(id.text);
  }
  for (let p: PyNode | null = node; p && p !== fn; p = p.parent) {
    const parent: PyNode | null = p.parent;
    if (parent?.type !== 'if_statement' || p !== parent.child('consequence')) continue;
    const cond = parent.child('condition');
    // `if not self.training:` too: the softmax is for inference, and the training forward leaves logits.
    const reads = (n: PyNode): boolean => (n.type === 'identifier' && params.has(n.text) && isFlag(n)) || (n.type === 'attribute' && n.text === 'self.training') || n.namedChildren.some(reads);
    return cond && reads(cond) ? parent : undefined;
  }
  return undefined;
}

const FLAG_CONTEXTS = new Set(['if_statement', 'not_operator', 'boolean_operator', 'comparison_operator', 'parenthesized_expression']);
/** A name read as a switch (`if flag`, `not flag`, `mode == 'eval'`), not as data (`x.dim() == 2`, `len(x)`). */
function isFlag(id: PyNode): boolean {
  return id.parent !== null && FLAG_CONTEXTS.has(id.parent.type);
}

/**
 * The classes among `built` that can be a model whose whole output is read as one tensor: not an abstract base whose
 * forward returns nothing (raises NotImplementedError), nor one that returns a tuple literal (`return output, hidden`
 * of an encoder part). All of them when none is left.
 */
function tensorModels(built: Set<ModuleClass>): ModuleClass[] {
  const all = [...built];
  const kept = all.filter((c) => c.returns.length > 0 && !c.returns.every((r) => TUPLES.has(unparen(r)?.type ?? '')));
  return kept.length ? kept : all;
}
const TUPLES = new Set(['tuple', 'expression_list']);

/** An output without its fix (the activation is reached through a call that stays). */
function siteOnly(out: Output): Output {
  return out.removal ? { kind: out.kind, site: out.site } : out;
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
