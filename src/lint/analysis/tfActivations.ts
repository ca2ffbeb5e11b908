// TensorFlow low-level code: which activation (softmax / sigmoid) a tensor expression has already been through, for
// the `tf.nn.*_cross_entropy_with_logits(logits=...)` losses. Follows simple assignments, tuple unpacking of a file
// function's return, parameters whose call sites all agree, `self.x` attributes with one value, functions of the file,
// activation calls (`tf.nn.softmax(z)`), TF1 layers (`tf.layers.dense(h, 10, activation=tf.nn.softmax)`), applied
// Keras layers (`Dense(10, activation="softmax")(h)`), and what the file's own code returns: a method called on `self`
// or on an instance of a class of the file (`self.generator(x)`), and a model called on its input (the `call` of a
// `keras.Model`/`Layer` subclass, the output layer of a Sequential or functional model; see tfModels.ts). Anything else
// is undefined: the rule stays silent.
import type { PyNode } from '../parser';
import { keywordArg, positionalArgs, unparen, type Analysis } from './index';
import { kerasModels, kerasQname, outputLayer } from './keras';
import { returnValues } from './modules';
import { parameterArguments } from './parameters';
import { reachingDefs, type ReachingDef } from './reaching';
import { applyMethod, instanceOf, methodNamed } from './tfModels';
import { elementBefore, valueBefore } from './values';

export type TfActivation = 'softmax' | 'sigmoid';

export interface TfActivated {
  kind: TfActivation;
  /** The call that applied the activation (for the message). */
  site: PyNode;
}

const MAX_DEPTH = 12;

/** `tensorflow.compat.v1.nn.softmax` -> `tensorflow.nn.softmax`. */
export function tfName(q: string | undefined): string | undefined {
  return q?.replace(/^tensorflow\.compat\.v[12]\./, 'tensorflow.');
}

const ACTIVATION_FNS: Record<string, TfActivation> = {
  'tensorflow.nn.softmax': 'softmax',
  'tensorflow.math.softmax': 'softmax',
  'tensorflow.nn.sigmoid': 'sigmoid',
  'tensorflow.math.sigmoid': 'sigmoid',
  'tensorflow.sigmoid': 'sigmoid',
  'keras.activations.softmax': 'softmax',
  'keras.activations.sigmoid': 'sigmoid',
  'keras.backend.softmax': 'softmax',
  'keras.backend.sigmoid': 'sigmoid',
};

/**
 * TF1 layer functions taking the activation as `activation=` (third positional: inputs, units, activation), contrib's
 * as `activation_fn=`, and TFLearn's (`tflearn.fully_connected(net, 10, activation='softmax')`, a tensor too).
 */
const TF1_DENSE = new Set(['tensorflow.layers.dense', 'tensorflow.contrib.layers.fully_connected']);
const TFLEARN_DENSE = /^tflearn\.(layers\.(core\.)?)?fully_connected$/;

/** Functions that keep what the values mean (shape or dtype changes only). */
const SHAPE_FNS = new Set(['tensorflow.reshape', 'tensorflow.squeeze', 'tensorflow.identity', 'tensorflow.cast']);

function activationQname(a: Analysis, n: PyNode): TfActivation | undefined {
  const q = tfName(kerasQname(a, n));
  if (q && ACTIVATION_FNS[q]) return ACTIVATION_FNS[q];
  const s = /^['"](softmax|sigmoid)['"]$/.exec(n.text);
  return s ? (s[1] as TfActivation) : undefined;
}

export class TfActivations {
  constructor(private readonly a: Analysis) {}

  of(expr: PyNode | undefined, depth = 0): TfActivated | undefined {
    const e = unparen(expr);
    if (!e || depth > MAX_DEPTH) return undefined;
    if (e.type === 'identifier') return this.name(e, depth);
    if (e.type === 'attribute' && e.child('object')?.text === 'self') return this.selfAttr(e, depth);
    if (e.type !== 'call') return undefined;
    const fn = e.child('function');
    if (!fn) return undefined;
    const q = tfName(kerasQname(this.a, fn));
    const args = positionalArgs(e);
    if (q && ACTIVATION_FNS[q]) return { kind: ACTIVATION_FNS[q], site: e };
    if (q && TF1_DENSE.has(q)) {
      const act = keywordArg(e, q.endsWith('fully_connected') ? 'activation_fn' : 'activation') ?? (q.endsWith('dense') ? args[2] : undefined);
      const kind = act ? activationQname(this.a, act) : undefined;
      return kind ? { kind, site: e } : undefined;
    }
    if (q && TFLEARN_DENSE.test(q)) {
      const act = keywordArg(e, 'activation') ?? args[2];
      const kind = act ? activationQname(this.a, act) : undefined;
      return kind ? { kind, site: e } : undefined;
    }
    if (q && SHAPE_FNS.has(q)) return this.of(args[0] ?? keywordArg(e, 'tensor') ?? keywordArg(e, 'x') ?? keywordArg(e, 'input'), depth + 1);
    // An applied Keras layer: `Dense(10, activation="softmax")(h)`, `out = Dense(...)` then `out(h)`, or `self.out(h)`.
    const ctor = fn.type === 'call' ? fn : fn.type === 'identifier' || isSelfAttr(fn) ? this.oneValue(fn) : undefined;
    const layer = ctor?.type === 'call' ? kerasModels(this.a).layerOf(ctor, e, 'functional') : undefined;
    if (layer?.cls) return layer.activation === 'softmax' || layer.activation === 'sigmoid' ? { kind: layer.activation, site: e } : undefined;
    return this.callResult(e, depth);
  }

  /** The value a name or `self.x` is bound to, when it has one. */
  private oneValue(n: PyNode): PyNode | undefined {
    if (n.type === 'identifier') return unparen(valueBefore(this.a, n) ?? undefined);
    const values = this.a.scopes.selfAttr(n.ancestor('class_definition')!, n.child('attribute')?.text ?? '');
    return values.length === 1 ? unparen(values[0]) : undefined;
  }

  /**
   * What a call of the file's code returns (element `index` of a returned tuple, when given): a function of the file,
   * a method (`self.generator(x)`), or a model applied to its input (its `call`, or its output layer).
   */
  private callResult(call: PyNode, depth: number, index?: number): TfActivated | undefined {
    const fn = call.child('function');
    if (fn?.type === 'identifier') {
      const defs = this.a.functions.get(fn.text);
      if (defs?.length === 1 && !defs[0]!.ancestor('class_definition')) return this.returned(defs[0]!, depth, index);
    }
    const method = fn?.type === 'attribute' ? methodNamed(this.a, fn, depth) : undefined;
    if (method) return this.returned(method, depth, index);
    const target = fn ? instanceOf(this.a, fn, depth) : undefined;
    if (target?.cls) {
      const run = applyMethod(this.a, target.cls);
      return run ? this.returned(run, depth, index) : undefined;
    }
    const out = target?.model && index === undefined ? outputLayer(target.model) : undefined;
    const kind = out?.activation;
    if (kind !== 'softmax' && kind !== 'sigmoid') return undefined;
    return { kind, site: out!.actLayer?.call ?? out!.actLayer?.site ?? target!.model!.node };
  }

  /** What a function returns, when every return agrees (element `index` of the returned tuples, when given). */
  private returned(fn: PyNode, depth: number, index?: number): TfActivated | undefined {
    const rets = returnValues(fn);
    let found: TfActivated | undefined;
    for (const r of rets) {
      const item = index === undefined ? r : tupleItem(r, index);
      const out = item ? this.of(item, depth + 1) : undefined;
      if (!out || (found && found.kind !== out.kind)) return undefined;
      found ??= out;
    }
    return found;
  }

  private name(id: PyNode, depth: number): TfActivated | undefined {
    // `if not training: x = tf.nn.softmax(x)` ... `return x`: every assignment that may reach the read must agree
    const defs = reachingDefs(id);
    if (defs && defs.length > 1) return this.allReaching(defs, depth);
    const v = valueBefore(this.a, id);
    if (v) return this.of(v, depth + 1);
    if (v === undefined) return undefined;
    const el = elementBefore(this.a, id);
    if (el) {
      const s = unparen(el.source);
      if (s?.type === 'tuple' || s?.type === 'expression_list') return this.of(tupleItem(s, el.index), depth + 1);
      return s?.type === 'call' ? this.callResult(s, depth, el.index) : undefined;
    }
    return this.allAgree(parameterArguments(this.a, id), depth);
  }

  private allReaching(defs: readonly ReachingDef[], depth: number): TfActivated | undefined {
    let found: TfActivated | undefined;
    for (const d of defs) {
      const v = unparen(d.value);
      if (!v) return undefined;
      const out =
        d.index === undefined ? this.of(v, depth + 1) : v.type === 'call' ? this.callResult(v, depth + 1, d.index) : this.of(tupleItem(v, d.index), depth + 1);
      if (!out || (found && found.kind !== out.kind)) return undefined;
      found ??= out;
    }
    return found;
  }

  /** `self.probs` assigned once in the class (`self.probs = tf.nn.softmax(self.scores)`). */
  private selfAttr(e: PyNode, depth: number): TfActivated | undefined {
    const cls = e.ancestor('class_definition');
    const attr = e.child('attribute')?.text;
    if (!cls || !attr) return undefined;
    return this.allAgree(this.a.scopes.selfAttr(cls, attr), depth);
  }

  private allAgree(values: readonly PyNode[] | undefined, depth: number): TfActivated | undefined {
    if (!values?.length) return undefined;
    let found: TfActivated | undefined;
    for (const v of values) {
      const out = this.of(v, depth + 1);
      if (!out || (found && found.kind !== out.kind)) return undefined;
      found ??= out;
    }
    return found;
  }
}

function isSelfAttr(n: PyNode): boolean {
  return n.type === 'attribute' && n.child('object')?.text === 'self' && n.ancestor('class_definition') !== undefined;
}

function tupleItem(r: PyNode, index: number): PyNode | undefined {
  const t = unparen(r);
  if (t?.type !== 'tuple' && t?.type !== 'expression_list') return undefined;
  return t.namedChildren.filter((c) => c.type !== 'comment')[index];
}

/** The TF loss functions that take raw logits, and where their `logits` argument sits when passed by position. */
const LOGITS_LOSSES: Record<string, number> = {
  'tensorflow.nn.softmax_cross_entropy_with_logits': 1,
  'tensorflow.nn.softmax_cross_entropy_with_logits_v2': 1,
  'tensorflow.nn.sparse_softmax_cross_entropy_with_logits': 1,
  'tensorflow.nn.sigmoid_cross_entropy_with_logits': 1,
  'tensorflow.nn.weighted_cross_entropy_with_logits': 1,
  'tensorflow.losses.softmax_cross_entropy': 1,
  'tensorflow.losses.sparse_softmax_cross_entropy': 1,
  'tensorflow.losses.sigmoid_cross_entropy': 1,
};

// Before TensorFlow 1.0 these took `(logits, labels)` by position; from 1.0 a positional call raises (a `_sentinel`
// comes first), and TF2 takes `(labels, logits)`.
const LOGITS_FIRST_BEFORE_1_0 = new Set([
  'tensorflow.nn.softmax_cross_entropy_with_logits',
  'tensorflow.nn.sparse_softmax_cross_entropy_with_logits',
  'tensorflow.nn.sigmoid_cross_entropy_with_logits',
]);
// Graph-mode calls that say the file is TensorFlow 1 (or older): TF2 has them only under `tf.compat.v1`.
const GRAPH_ERA = ['placeholder', 'Session', 'InteractiveSession', 'initialize_all_variables'];
const graphEra = new WeakMap<Analysis, boolean>();

/** Whether the file builds a TF1-style graph with the un-prefixed names (`tf.placeholder`, `tf.Session()`). */
function isGraphEra(a: Analysis): boolean {
  let era = graphEra.get(a);
  if (era === undefined) {
    era = GRAPH_ERA.some((name) => a.callsNamed(name).some((c) => a.callee(c) === `tensorflow.${name}`));
    graphEra.set(a, era);
  }
  return era;
}

/**
 * `tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=z)`: the call's short name and its logits argument. Two
 * positional arguments in a graph-era file can only run on TensorFlow before 1.0, where logits came first: that one is
 * `legacy` (the later position stays `logits`, as most posted code means it). `fileWide` false reads the call alone (a
 * candidate test).
 */
export function tfLogitsArgument(a: Analysis, call: PyNode, fileWide = true): { loss: string; logits: PyNode; legacy?: PyNode } | undefined {
  const q = tfName(a.callee(call));
  const pos = q ? LOGITS_LOSSES[q] : undefined;
  if (pos === undefined) return undefined;
  const args = positionalArgs(call);
  const keyword = keywordArg(call, 'logits');
  const logits = keyword ?? args[pos];
  if (!logits) return undefined;
  const legacy = !keyword && fileWide && args.length === 2 && !keywordArg(call, 'labels') && LOGITS_FIRST_BEFORE_1_0.has(q!) && isGraphEra(a) ? args[0] : undefined;
  return { loss: q!.slice('tensorflow.'.length), logits, legacy };
}

const cache = new WeakMap<Analysis, TfActivations>();
export function tfActivations(a: Analysis): TfActivations {
  let t = cache.get(a);
  if (!t) cache.set(a, (t = new TfActivations(a)));
  return t;
}
