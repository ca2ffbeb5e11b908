// Keras models written in the file: `keras.Sequential([...])`, `Sequential()` + `model.add(...)`, and functional
// graphs (`x = Dense(64)(inputs)` ... `keras.Model(inputs, outputs)`). For each: its layers in order (kind,
// units, activation), its `compile(loss=...)` and its `fit(...)` calls. `tf.keras.X` and `tensorflow.keras.X`
// resolve to `keras.X` (imports.ts). Anything not understood makes the model `complete: false` (layers known only
// from the first unknown one on) or leaves the loss undefined: rules stay silent then.
import type { PyNode } from '../parser';
import { hasParameter, keywordArg, positionalArgs, receiver, unparen, type Analysis } from './index';
import { methodsOf, returnValues } from './modules';
import { parameterArguments } from './parameters';
import { elementBefore, valueBefore } from './values';

export type KLayerKind = 'dense' | 'conv2d' | 'conv1d' | 'pool2d' | 'pool1d' | 'flatten' | 'globalpool' | 'reshape' | 'dropout' | 'batchnorm' | 'activation' | 'input' | 'rnn' | 'other';

export interface KLayer {
  kind: KLayerKind;
  /** Class name (`Dense`, `Conv2D`), or undefined when the element is not a recognised layer. */
  cls?: string;
  /** The constructor call (`Dense(10, activation="softmax")`). */
  call?: PyNode;
  units?: number;
  /** Units given by a name bound to an integer literal (`Dense(NUM_CLASSES)`); `units` stays literal-only. */
  namedUnits?: number;
  /** Activation name, lower case (`softmax`); null when linear (none given); undefined when unknown. */
  activation?: string | null;
  /** The node holding the activation argument (a string to replace), when given. */
  activationNode?: PyNode;
  /** Where the layer is placed: the list element, the `model.add(...)` call, or the functional application. */
  site: PyNode;
  via: 'list' | 'add' | 'functional';
}

export interface KLoss {
  /** snake_case name: `categorical_crossentropy`, `mean_squared_error`, ... */
  name: string;
  /** from_logits: true / false (given or default), undefined when not a literal. */
  fromLogits: boolean | undefined;
  form: 'string' | 'object' | 'function';
  node: PyNode;
}

/** A Keras loss applied to a prediction: `loss_fn(y_true, y_pred)`. */
export interface KLossCall {
  call: PyNode;
  loss: KLoss;
  /** The `y_pred` argument. */
  pred: PyNode;
}

export interface KerasModel {
  /** The `Sequential(...)` / `Model(...)` call. */
  node: PyNode;
  layers: KLayer[];
  /** All layers known, from the input on. */
  complete: boolean;
  compiles: { call: PyNode; loss?: KLoss; metrics?: PyNode }[];
  fits: PyNode[];
}

const KIND_BY_CLASS: [RegExp, KLayerKind][] = [
  [/^Dense$/, 'dense'],
  [/^(Conv[23]D|Conv[23]DTranspose|SeparableConv2D|DepthwiseConv2D|Convolution[23]D)$/, 'conv2d'],
  [/^(Conv1D|Convolution1D|SeparableConv1D)$/, 'conv1d'],
  [/^(MaxPooling[23]D|AveragePooling[23]D|MaxPool[23]D|AvgPool[23]D|UpSampling[23]D|ZeroPadding[23]D|Cropping[23]D)$/, 'pool2d'],
  [/^(MaxPooling1D|AveragePooling1D|MaxPool1D|AvgPool1D)$/, 'pool1d'],
  [/^Flatten$/, 'flatten'],
  [/^Global(Average|Max)(Pooling|Pool)[123]D$/, 'globalpool'],
  [/^(Reshape|Permute|RepeatVector|TimeDistributed|Lambda)$/, 'reshape'],
  [/^(Dropout|SpatialDropout[123]D|GaussianNoise|GaussianDropout|AlphaDropout)$/, 'dropout'],
  [/^(BatchNormalization|LayerNormalization)$/, 'batchnorm'],
  [/^(Activation|Softmax|ReLU|LeakyReLU|PReLU|ELU|ThresholdedReLU)$/, 'activation'],
  [/^(Input|InputLayer)$/, 'input'],
  [/^(LSTM|GRU|SimpleRNN|Bidirectional|ConvLSTM2D|CuDNNLSTM|CuDNNGRU|RNN)$/, 'rnn'],
];

const ACTIVATION_LAYER: Record<string, string> = { Softmax: 'softmax', ReLU: 'relu', LeakyReLU: 'leaky_relu', PReLU: 'prelu', ELU: 'elu', ThresholdedReLU: 'relu' };
/**
 * Keras' model classes under every public or internal path old and new scripts import them from: `keras.Model`,
 * `keras.models.Model`, Keras 2.0's `keras.engine.Model`, `keras.engine.training.Model`, Keras 3's `keras.src.models.Model`.
 */
const MODEL_PATH = String.raw`keras\.(?:(?:src|engine|models|training|functional|sequential|model)\.)*`;
const SEQUENTIAL_CLASS = new RegExp(`^${MODEL_PATH}Sequential$`);
const FUNCTIONAL_CLASS = new RegExp(`^${MODEL_PATH}(?:Model|Functional)$`);
/** Whether a Keras-normalised name is the functional `Model` class (also the base class of subclassed models). */
export const isFunctionalModelClass = (q: string | undefined): boolean => q !== undefined && FUNCTIONAL_CLASS.test(q);

/** `tensorflow.python.keras.layers.Dense` -> `keras.layers.Dense` (imports.ts maps only `tensorflow.keras.`). */
export function kerasName(q: string | undefined): string | undefined {
  if (!q) return undefined;
  if (q.startsWith('keras.')) return q;
  if (/^(tensorflow|tf_keras)(\.python)?\.keras$/.test(q)) return 'keras';
  const i = q.indexOf('.keras.');
  return i >= 0 && /^(tensorflow|tf_keras)\b/.test(q) ? q.slice(i + 1) : q;
}

/** Keras modules a script may give a short name by assignment (`keras = tf.keras`, `layers = tf.keras.layers`). */
const KERAS_MODULE = /^keras(\.(layers|losses|models|activations|optimizers|metrics|applications))?$/;

const aliasCache = new WeakMap<Analysis, Map<string, string>>();
/** Module-level names bound once to a Keras module by a plain assignment, with the module they stand for. */
function kerasAliases(a: Analysis): Map<string, string> {
  let out = aliasCache.get(a);
  if (out) return out;
  out = new Map();
  const twice = new Set<string>();
  for (const stmt of a.root.namedChildren) {
    const asg = stmt.type === 'expression_statement' ? stmt.namedChildren[0] : undefined;
    const left = asg?.type === 'assignment' ? asg.child('left') : undefined;
    if (left?.type !== 'identifier') continue;
    if (out.has(left.text)) twice.add(left.text);
    const right = unparen(asg!.child('right'));
    const q = right && (right.type === 'attribute' || right.type === 'identifier') ? kerasName(a.qname(right)) : undefined;
    if (q && KERAS_MODULE.test(q)) out.set(left.text, q);
  }
  for (const name of twice) out.delete(name);
  aliasCache.set(a, out);
  return out;
}

/**
 * The Keras-normalised qualified name of a dotted expression, also through a module-level alias of a Keras module
 * (`keras = tf.keras` ... `keras.layers.Dense`), which imports.ts does not follow (it is an assignment, not an import).
 */
export function kerasQname(a: Analysis, node: PyNode | undefined | null): string | undefined {
  if (!node) return undefined;
  const q = kerasName(a.qname(node));
  if (q) return q;
  if (!kerasAliases(a).size && !snippetFile(a)) return undefined;
  // The head name first: most unresolved names (`x.view`, a local function) stand for no Keras module.
  let head: PyNode | undefined | null = node;
  while (head?.type === 'attribute') head = head.child('object');
  const base = head?.type === 'identifier' ? (kerasAliases(a).get(head.text) ?? snippetName(a, head.text)) : undefined;
  if (!base) return undefined;
  const parts: string[] = [];
  for (let n: PyNode | undefined | null = node; n?.type === 'attribute'; n = n.child('object')) parts.unshift(n.child('attribute')?.text ?? '');
  return [base, ...parts].join('.');
}

/** Keras names that pasted snippets use without their imports (`model = Sequential()`, `model.add(Dense(10))`). */
const SNIPPET_NAMES: ReadonlyMap<string, string> = new Map([
  ...['layers', 'models', 'losses', 'activations', 'optimizers'].map((m): [string, string] => [m, `keras.${m}`]),
  ['Sequential', 'keras.models.Sequential'],
  ['Model', 'keras.models.Model'],
  ...`Dense Conv1D Conv2D Conv3D Conv2DTranspose SeparableConv2D DepthwiseConv2D Convolution1D Convolution2D
    MaxPooling1D MaxPooling2D AveragePooling1D AveragePooling2D MaxPool2D UpSampling2D ZeroPadding2D Flatten
    GlobalAveragePooling1D GlobalAveragePooling2D GlobalMaxPooling1D GlobalMaxPooling2D Reshape Dropout
    SpatialDropout1D SpatialDropout2D BatchNormalization Activation Softmax LeakyReLU PReLU Input InputLayer LSTM GRU
    SimpleRNN Bidirectional Embedding`
    .split(/\s+/)
    .map((c): [string, string] => [c, `keras.layers.${c}`]),
]);

/**
 * What an unimported Keras name stands for in a snippet (posted code often leaves out its imports): only a name the
 * file binds nowhere, in a file without star imports (whose modules could define it).
 */
function snippetName(a: Analysis, name: string): string | undefined {
  const q = SNIPPET_NAMES.get(name);
  return q && snippetFile(a) && !a.scopes.isBoundAnywhere(name) ? q : undefined;
}

const snippetFiles = new WeakMap<Analysis, boolean>();
/** No star import (its module could define any name) and no torch import (torch code is not a Keras snippet). */
function snippetFile(a: Analysis): boolean {
  let ok = snippetFiles.get(a);
  if (ok === undefined) {
    ok = !a.imports.wildcards.length && ![...a.imports.aliases.values()].some((q) => q === 'torch' || q.startsWith('torch.'));
    snippetFiles.set(a, ok);
  }
  return ok;
}

/** kerasQname of what a call calls. */
export function kerasCallee(a: Analysis, call: PyNode | undefined): string | undefined {
  return call?.type === 'call' ? kerasQname(a, call.child('function')) : undefined;
}

/**
 * Whether some call of the file may have a kerasCallee whose last name is `last` (a layer class): a resolved name
 * keeps the callee's last name, and a name alone resolves to what its import binds (`from keras.layers import Dense
 * as D`) or, through a star import, to itself. A cheap first test before resolving every call of the file.
 */
export function mayCallKeras(a: Analysis, last: string): boolean {
  if (a.callsNamed(last).length > 0) return true;
  for (const q of a.imports.aliases.values()) if (q === last || q.endsWith(`.${last}`)) return true;
  return false;
}

/** `keras.layers.Dense` -> `Dense` (any `keras.` path that goes through a `layers` module). */
function layerClass(q: string | undefined): string | undefined {
  q = kerasName(q);
  if (!q || !q.startsWith('keras.')) return undefined;
  const parts = q.split('.');
  return parts.includes('layers') ? parts[parts.length - 1] : undefined;
}

function stringValue(n: PyNode | undefined): string | undefined {
  if (n?.type !== 'string') return undefined;
  if (n.children.some((c) => c.type === 'interpolation')) return undefined;
  const m = /^[rRbBuU]?(['"])(.*)\1$/s.exec(n.text);
  return m ? m[2] : undefined;
}

function intValue(n: PyNode | undefined): number | undefined {
  return n?.type === 'integer' ? Number(n.text) : undefined;
}

/** A name bound to an integer literal (`NUM_CLASSES = 5` ... `Dense(NUM_CLASSES)`). */
function namedInt(a: Analysis, n: PyNode | undefined): number | undefined {
  return n?.type === 'identifier' ? intValue(valueBefore(a, n) ?? undefined) : undefined;
}

const snake = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
const LOSS_ALIASES: Record<string, string> = {
  mse: 'mean_squared_error',
  mae: 'mean_absolute_error',
  msle: 'mean_squared_logarithmic_error',
  mape: 'mean_absolute_percentage_error',
  bce: 'binary_crossentropy',
  binary_cross_entropy: 'binary_crossentropy',
  categorical_cross_entropy: 'categorical_crossentropy',
  sparse_categorical_cross_entropy: 'sparse_categorical_crossentropy',
};
const normLoss = (s: string) => {
  const k = snake(s).replace(/^keras\./, '');
  return LOSS_ALIASES[k] ?? k;
};

export class KerasModels {
  private _models?: KerasModel[];
  private readonly byNode = new Map<PyNode, KerasModel>();
  /** Subclassed `keras.Model`s by class name (their output layer only: `complete` is false). */
  private readonly subclassed = new Map<string, KerasModel>();
  /** `NAME.add(...)` calls by receiver name, in document order (collected once). */
  private addCalls?: Map<string, PyNode[]>;
  private _classes?: Map<string, PyNode>;
  private _lossCalls?: KLossCall[];
  constructor(private readonly a: Analysis) {}

  get models(): KerasModel[] {
    this._models ??= this.find();
    return this._models;
  }

  /** A layer from its constructor expression (or a name bound to it). */
  layerOf(expr: PyNode | undefined, site: PyNode, via: KLayer['via'], depth = 0): KLayer {
    const e = unparen(expr);
    if (e?.type === 'identifier' && depth < 4) {
      const v = valueBefore(this.a, e);
      if (v) return this.layerOf(v, site, via, depth + 1);
    }
    if (e?.type !== 'call') return { kind: 'other', site, via };
    const q = kerasCallee(this.a, e);
    if (q === 'keras.Input') return { kind: 'input', cls: 'Input', call: e, site, via };
    const cls = layerClass(q);
    if (!cls) return { kind: 'other', site, via };
    let kind: KLayerKind = 'other';
    for (const [re, k] of KIND_BY_CLASS) if (re.test(cls)) kind = k;
    const layer: KLayer = { kind, cls, call: e, site, via };
    const pos = positionalArgs(e);
    // Keras 0.x: Dense(input_dim, output_dim, init, activation). Two integers cannot be (units, activation).
    const legacy = kind === 'dense' && intValue(pos[0]) !== undefined && intValue(pos[1]) !== undefined;
    if (kind === 'dense') {
      const units = keywordArg(e, 'units') ?? keywordArg(e, 'output_dim') ?? pos[legacy ? 1 : 0];
      layer.units = intValue(units);
      layer.namedUnits = namedInt(this.a, units);
    }
    if (kind === 'dense' || kind === 'conv2d' || kind === 'conv1d') {
      const act = keywordArg(e, 'activation') ?? (kind === 'dense' ? pos[legacy ? 3 : 1] : undefined);
      layer.activationNode = act;
      layer.activation = act ? this.activationName(act) : null;
    } else if (cls === 'Activation') {
      const act = keywordArg(e, 'activation') ?? pos[0];
      layer.activationNode = act;
      layer.activation = act ? this.activationName(act) : undefined;
      if (layer.activation === null) layer.kind = 'other';
    } else if (kind === 'activation') {
      layer.activation = ACTIVATION_LAYER[cls];
    }
    return layer;
  }

  private activationName(n: PyNode): string | null | undefined {
    const s = stringValue(n);
    if (s !== undefined) return s === 'linear' || s === '' ? null : s.toLowerCase();
    if (n.text === 'None') return null;
    const q = kerasQname(this.a, n);
    if (q && /^(keras\.activations|tensorflow\.nn|tensorflow\.math|tensorflow\.keras\.activations)\.\w+$/.test(q)) {
      const name = q.slice(q.lastIndexOf('.') + 1).toLowerCase();
      return name === 'linear' ? null : name;
    }
    return undefined;
  }

  lossOf(expr: PyNode | undefined, depth = 0): KLoss | undefined {
    const e = unparen(expr);
    if (!e || depth > 4) return undefined;
    const s = stringValue(e);
    if (s !== undefined) return { name: normLoss(s), fromLogits: false, form: 'string', node: e };
    if (e.type === 'identifier') {
      const v = valueBefore(this.a, e);
      if (v) return this.lossOf(v, depth + 1);
      // `def train_step(loss_fn, ...)`: what every call site passes, when they all agree
      if (v === null && !elementBefore(this.a, e)) return this.agreedLoss(parameterArguments(this.a, e), depth);
    }
    // `self.loss_fn`, assigned once in the class (in `__init__` or a `compile` override, from a parameter)
    const self = selfAttribute(e);
    if (self) return self.cls ? this.agreedLoss(this.a.scopes.selfAttr(self.cls, self.attr), depth, true) : undefined;
    if (e.type === 'call') {
      const q = kerasCallee(this.a, e);
      if (!q?.startsWith('keras.losses.')) return undefined;
      const fl = keywordArg(e, 'from_logits');
      const fromLogits = !fl ? false : fl.text === 'True' ? true : fl.text === 'False' ? false : undefined;
      return { name: normLoss(q.slice('keras.losses.'.length)), fromLogits, form: 'object', node: e };
    }
    const q = kerasQname(this.a, e);
    if (q?.startsWith('keras.losses.') || q?.startsWith('keras.metrics.')) return { name: normLoss(q.slice(q.lastIndexOf('.') + 1)), fromLogits: false, form: 'function', node: e };
    return undefined;
  }

  /** The loss all these values are (one value when `single`), the same name and from_logits for all. */
  private agreedLoss(values: readonly PyNode[] | undefined, depth: number, single = false): KLoss | undefined {
    if (!values?.length || (single && values.length !== 1)) return undefined;
    let found: KLoss | undefined;
    for (const v of values) {
      const l = this.lossOf(v, depth + 1);
      if (!l || (found && (found.name !== l.name || found.fromLogits !== l.fromLogits))) return undefined;
      found ??= l;
    }
    return found;
  }

  /**
   * The model a name stands for at a node (following `model = build_model()` into the builder's return, and a
   * parameter `def train(model, ...)` to what its call sites pass, one level up).
   */
  modelAt(expr: PyNode | undefined, depth = 0, viaParameter = false): KerasModel | undefined {
    const e = unparen(expr);
    if (!e || depth > 6) return undefined;
    const direct = this.byNode.get(e);
    if (direct) return direct;
    if (e.type === 'identifier') {
      const v = valueBefore(this.a, e);
      if (v) return this.modelAt(v, depth + 1, viaParameter);
      return v === null && !viaParameter ? this.passedModel(e, depth) : undefined;
    }
    if (e.type === 'call' && e.child('function')?.type === 'identifier') {
      const sub = this.subclassed.get(e.child('function')!.text);
      if (sub) return sub;
      const fns = this.a.functions.get(e.child('function')!.text);
      if (fns?.length !== 1) return undefined;
      const rets = returnValues(fns[0]!);
      if (rets.length !== 1) return undefined;
      return this.modelAt(rets[0], depth + 1, viaParameter);
    }
    return undefined;
  }

  /**
   * The `class X(keras.Model)` a name stands for (`net = Net()`), whatever its `call` returns: for rules about how a
   * model is called (its `call` signature, its layers), which need no output layer.
   */
  modelClassAt(expr: PyNode | undefined): PyNode | undefined {
    const m = this.modelAt(expr);
    if (m) return m.node.type === 'class_definition' ? m.node : undefined;
    let e = unparen(expr);
    for (let i = 0; i < 4 && e?.type === 'identifier'; i++) e = unparen(valueBefore(this.a, e) ?? undefined);
    const fn = e?.type === 'call' ? e.child('function') : undefined;
    return fn?.type === 'identifier' ? this.modelClasses().get(fn.text) : undefined;
  }

  /** Whether the file builds a model or defines a `keras.Model` subclass. */
  hasModels(): boolean {
    return this.models.length > 0 || this.modelClasses().size > 0;
  }

  /** `keras.Model` subclasses by name (a name defined twice is left out: which one is meant is unknown). */
  private modelClasses(): Map<string, PyNode> {
    if (this._classes) return this._classes;
    const out = new Map<string, PyNode>();
    const seen = new Set<string>();
    for (const c of this.a.index.of('class_definition')) {
      const name = c.child('name')?.text;
      if (!name) continue;
      if (seen.has(name)) out.delete(name);
      else if (this.isModelClass(c)) out.set(name, c);
      seen.add(name);
    }
    return (this._classes = out);
  }

  private isModelClass(c: PyNode): boolean {
    return (c.child('superclasses')?.namedChildren ?? []).some((b) => isFunctionalModelClass(kerasQname(this.a, b)));
  }

  /**
   * The model every call site passes for a parameter, when they all pass the same one. A parameter named like a model
   * (`def train(model, ...)`) with no call site in the file stands for the one model the file builds, if it builds
   * exactly one (a training helper next to its model builder).
   */
  private passedModel(param: PyNode, depth: number): KerasModel | undefined {
    const args = parameterArguments(this.a, param);
    if (!args) return this.onlyModel(param);
    let found: KerasModel | undefined;
    for (const arg of args ?? []) {
      const m = this.modelAt(arg, depth + 1, true);
      if (!m || (found && found !== m)) return undefined;
      found = m;
    }
    return found;
  }

  private onlyModel(param: PyNode): KerasModel | undefined {
    const fn = param.ancestor('function_definition');
    if (!/model|net|clf|classifier/i.test(param.text) || !hasParameter(fn, param.text) || elementBefore(this.a, param)) return undefined;
    // Called from somewhere in the file (with *args, say): the arguments are not readable, so no guess.
    const name = fn?.child('name')?.text;
    if (!name || this.a.callsNamed(name).length) return undefined;
    const models = this._models ?? [];
    return models.length === 1 ? models[0] : undefined;
  }

  /**
   * The calls that may build a Sequential or functional model, in document order: a resolved name keeps the callee's
   * last name (`keras.models.Sequential`), or for a name alone what its import binds (`from keras import Model as M`).
   */
  private modelCalls(): PyNode[] {
    const names = new Set(['Sequential', 'Model']);
    for (const [local, q] of this.a.imports.aliases) if (/(^|\.)(Sequential|Model)$/.test(q)) names.add(local);
    const out: PyNode[] = [];
    for (const name of names) out.push(...this.a.callsNamed(name));
    if (names.size > 1) out.sort((x, y) => x.start - y.start || y.end - x.end);
    return out;
  }

  private find(): KerasModel[] {
    const out: KerasModel[] = [];
    for (const call of this.modelCalls()) {
      const q = kerasCallee(this.a, call);
      if (q && SEQUENTIAL_CLASS.test(q)) out.push(this.sequential(call));
      else if (isFunctionalModelClass(q)) {
        const m = this.functional(call);
        if (m) out.push(m);
      }
    }
    for (const c of this.a.index.of('class_definition')) {
      const m = this.subclass(c);
      if (m) out.push(m);
    }
    this._models = out;
    for (const m of out) this.byNode.set(m.node, m);
    if (!out.length) return out;
    const calls = this.a.index.of('call');
    // compile / fit / add calls on a name bound to one of the models.
    for (const call of calls) {
      const fn = call.child('function');
      const method = fn?.type === 'attribute' ? fn.child('attribute')?.text : undefined;
      if (method !== 'compile' && method !== 'fit') continue;
      const recv = receiver(call);
      if (recv?.type !== 'identifier') continue;
      const m = this.modelAt(recv);
      if (!m) continue;
      if (method === 'fit') m.fits.push(call);
      else m.compiles.push({ call, loss: this.lossOf(keywordArg(call, 'loss') ?? positionalArgs(call)[1]), metrics: keywordArg(call, 'metrics') });
    }
    this.customLoopLosses();
    return out;
  }

  /**
   * Keras losses applied to a prediction in the file: a loss object or function called as `loss_fn(y, pred)`
   * (`keras.losses.BinaryCrossentropy(...)` bound to a name or called at once, `keras.losses.sparse_categorical_crossentropy`), with
   * `from_logits` read from the call for the function form.
   */
  get lossCalls(): readonly KLossCall[] {
    if (this._lossCalls) return this._lossCalls;
    const out: KLossCall[] = [];
    // Every Keras loss is spelled through a `keras` module somewhere in the file: one text search spares following
    // the callee of every call in files without Keras.
    const calls = this.a.root.text.includes('keras') ? this.a.index.of('call') : [];
    for (const call of calls) {
      const fn = call.child('function');
      // `loss_fn(y, pred)`, `self.loss(y, pred)`, and a loss object built and called at once: `Loss(...)(y, pred)`.
      if (fn?.type !== 'identifier' && fn?.type !== 'attribute' && fn?.type !== 'call') continue;
      const pred = keywordArg(call, 'y_pred') ?? positionalArgs(call)[1];
      if (!pred) continue;
      const loss = this.lossOf(fn);
      if (!loss || loss.form === 'string') continue;
      if (loss.form === 'function') {
        const fl = keywordArg(call, 'from_logits');
        loss.fromLogits = !fl ? false : fl.text === 'True' ? true : fl.text === 'False' ? false : undefined;
        loss.node = call;
      }
      out.push({ call, loss, pred });
    }
    return (this._lossCalls = out);
  }

  /**
   * A custom training loop (GradientTape) scores a model's output with a loss object or function:
   * `loss = loss_object(y, model(x, training=True))`. Counted like a `compile(loss=...)` of that model.
   */
  private customLoopLosses(): void {
    for (const { call, loss, pred } of this.lossCalls) {
      const m = this.modelOfOutput(pred);
      if (m && !m.compiles.some((c) => c.loss?.node === loss.node)) m.compiles.push({ call, loss });
    }
  }

  /**
   * The model whose output `expr` is: `model(x)`, or a name bound to it (`logits = model(x, training=True)`), or a
   * parameter every call site of its function passes the same model's output for (`def d_loss(real, fake)` called as
   * `d_loss(disc(x), disc(g))`).
   */
  modelOfOutput(expr: PyNode, depth = 0): KerasModel | undefined {
    const e = unparen(expr);
    if (!e || depth > 4) return undefined;
    if (e.type === 'identifier') {
      const v = valueBefore(this.a, e);
      if (v) return this.modelOfOutput(v, depth + 1);
      return v === null ? this.passedOutput(e, depth) : undefined;
    }
    // `model(x)[:, 0]`: a slice of the outputs
    if (e.type === 'subscript') return this.modelOfOutput(e.child('value')!, depth + 1);
    if (e.type !== 'call') return undefined;
    const fn = e.child('function');
    if (fn?.type === 'identifier') return this.modelAt(fn);
    // `self.discriminator(x)` with `self.discriminator = discriminator` (a parameter) or a built model
    const self = selfAttribute(fn);
    if (self) {
      const values = self.cls ? this.a.scopes.selfAttr(self.cls, self.attr) : [];
      return values.length === 1 ? this.modelAt(values[0]) : undefined;
    }
    // `tf.squeeze(model(x))`: shape and dtype changes keep the output layer's activation
    return SHAPE_FNS.has(kerasQname(this.a, fn) ?? '') ? this.modelOfOutput(positionalArgs(e)[0] ?? e, depth + 1) : undefined;
  }

  private passedOutput(param: PyNode, depth: number): KerasModel | undefined {
    if (elementBefore(this.a, param)) return undefined;
    let found: KerasModel | undefined;
    for (const arg of parameterArguments(this.a, param) ?? []) {
      const m = this.modelOfOutput(arg, depth + 1);
      if (!m || (found && found !== m)) return undefined;
      found = m;
    }
    return found;
  }

  /** `class MyModel(keras.Model)` whose `call` returns one layer's output (`return self.out(x)`). */
  private subclass(c: PyNode): KerasModel | undefined {
    if (!this.isModelClass(c)) return undefined;
    const name = c.child('name')?.text;
    const call = methodsOf(c).find((m) => m.child('name')?.text === 'call');
    if (!name || !call) return undefined;
    let last: KLayer | undefined;
    for (const r of returnValues(call)) {
      const layer = this.returnedLayer(c, r);
      if (!layer || (last && last.call !== layer.call)) return undefined;
      last = layer;
    }
    if (!last) return undefined;
    const m: KerasModel = { node: c, layers: [last], complete: false, compiles: [], fits: [] };
    this.subclassed.set(name, m);
    return m;
  }

  /** The layer `self.<attr>` whose application a `call` method returns (through `x = self.out(x)`). */
  private returnedLayer(cls: PyNode, value: PyNode | undefined, depth = 0): KLayer | undefined {
    const e = unparen(value);
    if (!e || depth > 4) return undefined;
    if (e.type === 'identifier') {
      const v = valueBefore(this.a, e);
      return v ? this.returnedLayer(cls, v, depth + 1) : undefined;
    }
    const fn = e.type === 'call' ? e.child('function') : undefined;
    if (fn?.type !== 'attribute' || fn.child('object')?.text !== 'self') return undefined;
    const values = this.a.scopes.selfAttr(cls, fn.child('attribute')?.text ?? '');
    const ctor = values.length === 1 ? values[0] : undefined;
    const layer = ctor ? this.layerOf(ctor, e, 'functional') : undefined;
    return layer?.cls ? layer : undefined;
  }

  private sequential(call: PyNode): KerasModel {
    const m: KerasModel = { node: call, layers: [], complete: true, compiles: [], fits: [] };
    const list = unparen(keywordArg(call, 'layers') ?? positionalArgs(call)[0]);
    if (list) {
      if (list.type !== 'list') m.complete = false;
      else
        for (const el of list.namedChildren) {
          if (el.type === 'comment') continue;
          if (el.type === 'list_splat') {
            m.complete = false;
            m.layers = [];
            continue;
          }
          m.layers.push(this.layerOf(el, el, 'list'));
        }
    }
    // model = Sequential(); model.add(...) in the same block.
    const assign = call.parent;
    const name = assign?.type === 'assignment' && assign.child('right') === call ? assign.child('left') : undefined;
    if (name?.type !== 'identifier') return m;
    const block = assign!.parent?.parent;
    if (!this.addCalls) {
      this.addCalls = new Map();
      for (const c of this.a.index.of('call')) {
        const f = c.child('function');
        const r = f?.type === 'attribute' && f.child('attribute')?.text === 'add' ? f.child('object') : undefined;
        if (r?.type !== 'identifier') continue;
        const list = this.addCalls.get(r.text);
        if (list) list.push(c);
        else this.addCalls.set(r.text, [c]);
      }
    }
    for (const add of this.addCalls.get(name.text) ?? []) {
      if (add.start < call.end) continue;
      const recv = add.child('function')!.child('object')!;
      if (valueBefore(this.a, recv) !== call) continue;
      const stmt = add.parent;
      if (stmt?.type !== 'expression_statement' || stmt.parent !== block) {
        // Added in a loop or a branch: the order and count are unknown from here on.
        m.complete = false;
        m.layers = [];
        continue;
      }
      m.layers.push(this.layerOf(positionalArgs(add)[0] ?? keywordArg(add, 'layer'), add, 'add'));
    }
    return m;
  }

  private functional(call: PyNode): KerasModel | undefined {
    let outputs = unparen(keywordArg(call, 'outputs') ?? keywordArg(call, 'output') ?? positionalArgs(call)[1]);
    if (!outputs) return undefined;
    const layers: KLayer[] = [];
    let complete = false;
    for (let i = 0; i < 64 && outputs; i++) {
      if (outputs.type === 'identifier') {
        const v = valueBefore(this.a, outputs);
        outputs = unparen(v ?? undefined);
        continue;
      }
      if (outputs.type !== 'call') break;
      const fn = unparen(outputs.child('function'));
      const direct = layerClass(kerasCallee(this.a, outputs));
      if (direct === 'Input' || direct === 'InputLayer' || kerasCallee(this.a, outputs) === 'keras.Input') {
        complete = true;
        break;
      }
      // Dense(10)(x) or dense(x) with dense = Dense(10)
      const ctor = fn?.type === 'call' ? fn : fn?.type === 'identifier' ? unparen(valueBefore(this.a, fn) ?? undefined) : undefined;
      if (ctor?.type !== 'call' || !layerClass(kerasCallee(this.a, ctor))) break;
      const args = positionalArgs(outputs);
      layers.unshift(this.layerOf(ctor, outputs, 'functional'));
      if (args.length !== 1) break;
      outputs = unparen(args[0]);
    }
    if (!layers.length) return undefined;
    return { node: call, layers, complete, compiles: [], fits: [] };
  }
}

/** TensorFlow functions that change a tensor's shape or dtype, not what its values mean. */
const SHAPE_FNS = new Set(['tensorflow.squeeze', 'tensorflow.reshape', 'tensorflow.identity', 'tensorflow.cast', 'tensorflow.expand_dims']);

/** `self.<attr>` read in a method: the class and the attribute. */
function selfAttribute(e: PyNode | undefined | null): { cls: PyNode | undefined; attr: string } | undefined {
  if (e?.type !== 'attribute' || e.child('object')?.text !== 'self') return undefined;
  const attr = e.child('attribute')?.text;
  return attr ? { cls: e.ancestor('class_definition'), attr } : undefined;
}

export interface OutputLayer {
  /** The output activation: a name, null for linear, undefined when unknown. */
  activation: string | null | undefined;
  units?: number;
  /** The layer carrying the activation (Dense or Activation). */
  actLayer?: KLayer;
  dense?: KLayer;
}

/** What the last layer of a model outputs. */
export function outputLayer(m: KerasModel): OutputLayer | undefined {
  const L = m.layers;
  const last = L[L.length - 1];
  if (!last) return undefined;
  if (last.kind === 'dense') return { activation: last.activation, units: last.units, actLayer: last, dense: last };
  if (last.kind === 'activation') {
    const prev = L[L.length - 2];
    if (prev?.kind !== 'dense' || prev.activation !== null) return { activation: last.activation, actLayer: last };
    return { activation: last.activation, units: prev.units, actLayer: last, dense: prev };
  }
  return undefined;
}

const cache = new WeakMap<Analysis, KerasModels>();
export function kerasModels(a: Analysis): KerasModels {
  let k = cache.get(a);
  if (!k) cache.set(a, (k = new KerasModels(a)));
  return k;
}
