import { callsWithin, keywordArg, positionalArgs, unparen, type Analysis, type ModuleClass } from '../../analysis';
import { kerasCallee, kerasModels, kerasName, type KLayer } from '../../analysis/keras';
import { layerClass } from '../../analysis/layers';
import { valueBefore } from '../../analysis/values';
import type { PyNode } from '../../parser';
import type { RawFix, Rule } from '../../types';

const WITH_BIAS = /^torch\.nn\.(Linear|Conv[123]d|ConvTranspose[123]d|LazyLinear|LazyConv[123]d)$/;
const BATCHNORM = /^torch\.nn\.(BatchNorm[123]d|SyncBatchNorm|LazyBatchNorm[123]d)$/;

/** The layer keeps its bias: no `bias=False` (and no positional bias, which is rare enough to skip). */
function biasLayer(a: Analysis, n: PyNode | undefined): boolean {
  if (n?.type !== 'call' || !WITH_BIAS.test(layerClass(a, n) ?? '')) return false;
  const bias = keywordArg(n, 'bias');
  const q = layerClass(a, n)!;
  const biasPos = q.includes('Linear') ? 2 : 7;
  return (!bias || bias.text === 'True') && positionalArgs(n).length <= biasPos;
}

function isBatchNorm(a: Analysis, n: PyNode | undefined): boolean {
  return n?.type === 'call' && BATCHNORM.test(layerClass(a, n) ?? '');
}

function biasFalse(layer: PyNode, name: 'bias' | 'use_bias'): RawFix | undefined {
  const bias = keywordArg(layer, name);
  if (bias) return { title: `Set ${name}=False`, edits: [{ start: bias.start, end: bias.end, newText: 'False' }] };
  const last = layer.child('arguments')?.namedChildren.filter((c) => c.type !== 'comment').pop();
  return last ? { title: `Set ${name}=False`, edits: [{ start: last.end, end: last.end, newText: `, ${name}=False` }] } : undefined;
}

/** What forward feeds a BatchNorm with: single layers (their constructors), and layer lists (the indexed reads). */
interface ForwardPairs {
  layers: PyNode[];
  /** `self.linears[i]` in `self.norms[i](self.linears[i](h))`: every layer of the list keeps its bias. */
  lists: PyNode[];
}

/** The layers of a module class whose output its forward passes straight to a BatchNorm layer, in the order found. */
function forwardBiasLayers(a: Analysis, m: ModuleClass): ForwardPairs {
  const forward = m.forward!;
  const found: ForwardPairs = { layers: [], lists: [] };
  const check = (inner: PyNode | undefined, outer: PyNode | undefined) => {
    const l1 = calledLayers(a, m, inner);
    const l2 = calledLayers(a, m, outer);
    if (!l1 || !l2 || !l1.ctors.every((l) => biasLayer(a, l)) || !l2.ctors.every((l) => isBatchNorm(a, l))) return;
    if (!l1.list) {
      if (!found.layers.includes(l1.ctors[0]!)) found.layers.push(l1.ctors[0]!);
    } else if (!found.lists.some((n) => n.text === l1.list!.text)) found.lists.push(l1.list);
  };
  for (const call of callsWithin(forward)) check(positionalArgs(call)[0], call);
  // x = self.conv(x) then x = self.bn(x) / x = F.relu(self.bn(x)), in any block of forward (a loop's body too).
  forward.walk((block) => {
    if (block !== forward && (block.type === 'function_definition' || block.type === 'lambda' || block.type === 'class_definition')) return false;
    if (block.type !== 'block') return;
    const stmts = block.namedChildren;
    for (let i = 0; i + 1 < stmts.length; i++) {
      const s1 = stmts[i]!.namedChildren[0];
      const s2 = stmts[i + 1]!.namedChildren[0];
      if (s1?.type !== 'assignment' || s2?.type !== 'assignment') continue;
      const v = s1.child('left');
      const next = s2.child('right');
      if (v?.type !== 'identifier' || next?.type !== 'call') continue;
      for (const c of callsWithin(next)) if (positionalArgs(c)[0]?.text === v.text) check(s1.child('right'), c);
    }
  });
  return found;
}

/**
 * The layer constructors a call in forward runs: `self.conv(x)` runs one; `self.linears[i](x)` one of the layers of a
 * ModuleList (its literal items, or what the class appends to it), all of which must be known.
 */
function calledLayers(a: Analysis, m: ModuleClass, call: PyNode | undefined): { ctors: PyNode[]; list?: PyNode } | undefined {
  const f = call?.type === 'call' ? unparen(call.child('function')) : undefined;
  const attr = selfAttribute(f);
  if (attr) {
    const layer = m.layers.get(attr);
    return layer ? { ctors: [layer] } : undefined;
  }
  const listAttr = f?.type === 'subscript' ? selfAttribute(unparen(f.child('value'))) : undefined;
  const ctors = listAttr ? listLayers(a, m, listAttr) : undefined;
  return ctors && { ctors, list: f };
}

function selfAttribute(n: PyNode | undefined): string | undefined {
  return n?.type === 'attribute' && n.child('object')?.text === 'self' ? n.child('attribute')?.text : undefined;
}

/** The layers of `self.<attr> = nn.ModuleList([...])` plus `self.<attr>.append(layer)` in the class; undefined when one is unknown. */
function listLayers(a: Analysis, m: ModuleClass, attr: string): PyNode[] | undefined {
  const values = a.scopes.selfAttr(m.node, attr);
  const list = values.length === 1 ? unparen(values[0]) : undefined;
  if (list?.type !== 'call' || a.callee(list) !== 'torch.nn.ModuleList') return undefined;
  const items: (PyNode | undefined)[] = [];
  const init = unparen(positionalArgs(list)[0]);
  if (init?.type === 'list') items.push(...init.namedChildren.filter((c) => c.type !== 'comment'));
  else if (init?.type === 'list_comprehension') items.push(init.child('body') ?? undefined);
  else if (init) return undefined;
  for (const method of ['append', 'extend', 'insert']) {
    for (const c of a.callsNamed(method)) {
      const f = c.child('function');
      if (c.start < m.node.start || c.end > m.node.end || selfAttribute(unparen(f?.child('object'))) !== attr) continue;
      if (method !== 'append') return undefined;
      items.push(positionalArgs(c)[0]);
    }
  }
  const ctors = items.map((i) => layerCtor(a, i));
  return ctors.length && ctors.every((c) => c !== undefined) ? (ctors as PyNode[]) : undefined;
}

// Keras / TensorFlow: Conv2D / Dense keep a bias (`use_bias=True`) by default.
type KerasBiasKind = 'dense' | 'conv1d' | 'conv2d' | 'conv3d';
const KERAS_BIAS: [RegExp, KerasBiasKind][] = [
  [/^Dense$/, 'dense'],
  [/^(Conv1D|Convolution1D)$/, 'conv1d'],
  [/^(Conv2D|Convolution2D|Conv2DTranspose|DepthwiseConv2D|SeparableConv2D)$/, 'conv2d'],
  [/^(Conv3D|Convolution3D|Conv3DTranspose)$/, 'conv3d'],
];
/** TF 1 functions `tf.layers.conv2d(inputs, filters, ...)` / `tf.layers.dense(inputs, units)`: their input comes first. */
const TF_BIAS: [RegExp, KerasBiasKind][] = [
  [/^tensorflow\.(compat\.v1\.)?layers\.dense$/, 'dense'],
  [/^tensorflow\.(compat\.v1\.)?layers\.conv1d$/, 'conv1d'],
  [/^tensorflow\.(compat\.v1\.)?layers\.(conv2d|conv2d_transpose|separable_conv2d)$/, 'conv2d'],
  [/^tensorflow\.(compat\.v1\.)?layers\.(conv3d|conv3d_transpose)$/, 'conv3d'],
];
const TF_BATCHNORM = /^tensorflow\.(compat\.v1\.)?layers\.batch_normalization$/;
/** Positional arguments that stop short of `activation` / `use_bias`. */
const MAX_POSITIONAL: Record<KerasBiasKind, number> = { dense: 1, conv1d: 6, conv2d: 6, conv3d: 6 };

/** The Keras layer class of a constructor call (`Dense`, `BatchNormalization`), any `keras.…layers…` path. */
function kerasLayerClass(a: Analysis, call: PyNode): string | undefined {
  const q = kerasName(kerasCallee(a, call));
  return q?.startsWith('keras.') && q.split('.').includes('layers') ? q.slice(q.lastIndexOf('.') + 1) : undefined;
}

/** A layer that produced a tensor: its constructor (or the TF function call), kind, and the tensor it was applied to. */
interface Produced {
  ctor: PyNode;
  kind: KerasBiasKind | 'bn' | 'passthrough' | 'flat' | 'other';
  /** TF 1 function (arguments on `ctor` itself, input first) rather than a layer object. */
  fn: boolean;
  input: PyNode | undefined;
}

const PASSTHROUGH = /^(Dropout|SpatialDropout[123]D|GaussianNoise|GaussianDropout|AlphaDropout|Activation|ReLU|LeakyReLU|PReLU|ELU)$/;
const FLAT = /^(Flatten|Global(Average|Max)(Pooling|Pool)[123]D)$/;

/** The constructor a layer object is built by: `Conv2D(...)`, a name or `self.attr` bound to one. */
function layerCtor(a: Analysis, f: PyNode | undefined, depth = 0): PyNode | undefined {
  const e = unparen(f);
  if (!e || depth > 4) return undefined;
  if (e.type === 'call') return e;
  if (e.type === 'identifier') {
    const v = valueBefore(a, e);
    return v ? layerCtor(a, v, depth + 1) : undefined;
  }
  if (e.type === 'attribute' && e.child('object')?.text === 'self') {
    const cls = e.ancestor('class_definition');
    const values = cls ? a.scopes.selfAttr(cls, e.child('attribute')?.text ?? '') : [];
    return values.length === 1 ? layerCtor(a, values[0], depth + 1) : undefined;
  }
  return undefined;
}

/** What layer produced `expr`: `Conv2D(...)(x)`, `conv(x)` with `conv = Conv2D(...)`, `tf.layers.conv2d(x, ...)`, a name bound to one. */
function producedBy(a: Analysis, expr: PyNode | undefined, depth = 0): Produced | undefined {
  const e = unparen(expr);
  if (!e || depth > 6) return undefined;
  if (e.type === 'identifier') {
    const v = valueBefore(a, e);
    return v ? producedBy(a, v, depth + 1) : undefined;
  }
  if (e.type !== 'call') return undefined;
  const q = a.callee(e) ?? '';
  const tf = TF_BIAS.find(([re]) => re.test(q));
  if (tf) return { ctor: e, kind: tf[1], fn: true, input: keywordArg(e, 'inputs') ?? positionalArgs(e)[0] };
  if (TF_BATCHNORM.test(q)) return { ctor: e, kind: 'bn', fn: true, input: keywordArg(e, 'inputs') ?? positionalArgs(e)[0] };
  const ctor = layerCtor(a, e.child('function'));
  const cls = ctor && kerasLayerClass(a, ctor);
  if (!ctor || !cls) return undefined;
  const input = keywordArg(e, 'inputs') ?? positionalArgs(e)[0];
  const kind = KERAS_BIAS.find(([re]) => re.test(cls))?.[1] ?? (cls === 'BatchNormalization' ? 'bn' : PASSTHROUGH.test(cls) ? 'passthrough' : FLAT.test(cls) ? 'flat' : 'other');
  return { ctor, kind, fn: false, input };
}

/** A Keras / TF layer that keeps its bias and applies no activation after it. */
function kerasBias(p: Produced): boolean {
  if (p.kind === 'bn' || p.kind === 'passthrough' || p.kind === 'flat' || p.kind === 'other') return false;
  const c = p.ctor;
  if (c.child('arguments')?.namedChildren.some((x) => x.type === 'list_splat' || x.type === 'dictionary_splat')) return false;
  const bias = keywordArg(c, 'use_bias');
  if (bias && bias.text !== 'True') return false;
  const act = keywordArg(c, 'activation');
  if (act && !/^(None|['"]linear['"])$/.test(act.text)) return false;
  return positionalArgs(c).length <= MAX_POSITIONAL[p.kind] + (p.fn ? 1 : 0);
}

/** A Dense output known to be (batch, units): its input is flattened or pooled, through dropout / activations / Dense. */
function rank2(a: Analysis, input: PyNode | undefined, depth = 0): boolean {
  const p = depth < 8 ? producedBy(a, input) : undefined;
  if (!p) return false;
  if (p.kind === 'flat') return true;
  return (p.kind === 'passthrough' || p.kind === 'bn' || p.kind === 'dense') && rank2(a, p.input, depth + 1);
}

/** The same in a Sequential list: the layers before `i` reach a Flatten / global pooling through such layers. */
function flatBefore(layers: readonly KLayer[], i: number): boolean {
  for (let j = i - 1; j >= 0; j--) {
    const k = layers[j]!.kind;
    if (k === 'flatten' || k === 'globalpool') return true;
    if (k !== 'dropout' && k !== 'activation' && k !== 'batchnorm' && k !== 'dense') return false;
  }
  return false;
}

/** Whether BatchNormalization with this axis normalises per channel of the layer's bias (so it cancels it). */
function perBiasChannel(layer: Produced, axisNode: PyNode | undefined, denseRank2: () => boolean): boolean {
  const axis = axisNode ? axisNode.text.replace(/\s+/g, '') : '-1';
  const format = keywordArg(layer.ctor, 'data_format');
  const channelsFirst = format ? /^['"]channels_first['"]$/.test(format.text) : false;
  if (format && !channelsFirst && !/^['"]channels_last['"]$/.test(format.text)) return false;
  const rank = { dense: 2, conv1d: 3, conv2d: 4, conv3d: 5 }[layer.kind as KerasBiasKind];
  if (channelsFirst) return axis === '1';
  // Dense(...) on a (batch, features) input: axis=1 is its last axis too.
  return axis === '-1' || (axis === String(rank - 1) && (layer.kind !== 'dense' || denseRank2()));
}

/** Keras / TF 1 layers whose output goes straight into BatchNormalization: functional, Sequential lists and `add`. */
function kerasBiasLayers(a: Analysis): PyNode[] {
  const found = new Set<PyNode>();
  // Cheapest first: no BatchNormalization / batch_normalization call, nothing to read (most PyTorch files).
  const bns = a.callsNamed('BatchNormalization');
  const tfBns = a.callsNamed('batch_normalization');
  if (!bns.length && !tfBns.length) return [];
  const tryPair = (producer: Produced | undefined, axis: PyNode | undefined) => {
    if (producer && kerasBias(producer) && perBiasChannel(producer, axis, () => rank2(a, producer.input))) found.add(producer.ctor);
  };
  // BatchNormalization(...)(x), bn(x) with bn = BatchNormalization(...), self.bn(x), tf.layers.batch_normalization(x)
  for (const ctor of bns) {
    if (kerasLayerClass(a, ctor) !== 'BatchNormalization') continue;
    const axis = keywordArg(ctor, 'axis') ?? positionalArgs(ctor)[0];
    for (const app of kerasApplications(a, ctor)) tryPair(producedBy(a, keywordArg(app, 'inputs') ?? positionalArgs(app)[0]), axis);
  }
  for (const call of tfBns) {
    if (!TF_BATCHNORM.test(a.callee(call) ?? '')) continue;
    tryPair(producedBy(a, keywordArg(call, 'inputs') ?? positionalArgs(call)[0]), keywordArg(call, 'axis') ?? positionalArgs(call)[1]);
  }
  // Sequential([... Conv2D(...), BatchNormalization(), ...]) / model.add(...)
  for (const m of bns.length ? kerasModels(a).models : []) {
    const L = m.layers;
    for (let i = 0; i + 1 < L.length; i++) {
      const [l1, l2] = [L[i]!, L[i + 1]!];
      if (l1.via === 'functional' || !l1.call || l2.cls !== 'BatchNormalization' || !l2.call) continue;
      const kind = KERAS_BIAS.find(([re]) => re.test(l1.cls ?? ''))?.[1];
      const producer: Produced | undefined = kind && { ctor: l1.call, kind, fn: false, input: undefined };
      const axis = keywordArg(l2.call, 'axis') ?? positionalArgs(l2.call)[0];
      if (producer && kerasBias(producer) && perBiasChannel(producer, axis, () => flatBefore(L, i))) found.add(l1.call);
    }
  }
  return [...found];
}

/** The calls that apply a layer object built by `ctor`: `Cls(...)(x)`, a name or `self.attr` holding it. */
function kerasApplications(a: Analysis, ctor: PyNode): PyNode[] {
  let node = ctor;
  while (node.parent?.type === 'parenthesized_expression') node = node.parent;
  const parent = node.parent;
  if (parent?.type === 'call' && node.field === 'function') return [parent];
  if (parent?.type !== 'assignment' || node.field !== 'right') return [];
  const left = parent.child('left');
  if (left?.type === 'identifier') {
    return a.callsNamed(left.text).filter((c) => {
      const f = c.child('function');
      return f?.type === 'identifier' && unparen(valueBefore(a, f) ?? undefined) === ctor;
    });
  }
  const cls = parent.ancestor('class_definition');
  const attr = left?.type === 'attribute' && left.child('object')?.text === 'self' ? left.child('attribute')?.text : undefined;
  if (!cls || !attr) return [];
  return a.callsNamed(attr).filter((c) => {
    const f = c.child('function');
    return f?.type === 'attribute' && f.child('object')?.text === 'self' && c.ancestor('class_definition') === cls;
  });
}

const MESSAGE = 'This layer\'s bias is cancelled by the BatchNorm that follows (it subtracts the mean). Pass bias=False.';
const LIST_MESSAGE = 'The layers of LIST keep their bias, which the BatchNorm that follows cancels (it subtracts the mean). Build them with bias=False.';
const KERAS_MESSAGE = 'This layer\'s bias is cancelled by the BatchNormalization that follows (it subtracts the per-channel mean). Pass use_bias=False.';

export const AR001: Rule = {
  meta: {
    id: 'AR001',
    name: 'bias-before-batchnorm',
    group: 'architecture',
    defaultSeverity: 'info',
    summary: 'A Linear/Conv layer with a bias feeds straight into BatchNorm, which cancels the bias.',
    why:
      'BatchNorm subtracts the per-channel mean of its input, so a constant bias added just before it disappears: the ' +
      'parameters take memory and optimizer state, receive (near-)zero gradients and do nothing. BatchNorm has its own ' +
      'learnable shift (`beta`) that plays the bias role. Keras and TensorFlow 1 layers too: `Conv2D` / `Dense` keep ' +
      '`use_bias=True` by default, so `BatchNormalization()(Conv2D(64, 3)(x))`, the same in a `Sequential` list or ' +
      '`model.add` sequence, `self.bn(self.conv(x))` in a subclassed model and `tf.layers.batch_normalization(' +
      'tf.layers.conv2d(x, 64, 3))` are reported when the normalised axis is the bias\'s channel axis (the default -1, ' +
      'or 1 with `channels_first`) and no activation sits between them.',
    wrong: 'nn.Sequential(nn.Conv2d(3, 64, 3), nn.BatchNorm2d(64), nn.ReLU())',
    right: 'nn.Sequential(nn.Conv2d(3, 64, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU())',
    concept: 'Batch normalisation: normalising removes any constant offset',
    fixable: true,
  },
  check(ctx) {
    const a = ctx.analysis;
    const report = (layer: PyNode, name: 'bias' | 'use_bias' = 'bias') => {
      const fix = biasFalse(layer, name);
      ctx.report({ node: layer, message: name === 'bias' ? MESSAGE : KERAS_MESSAGE, fixes: fix ? [fix] : undefined });
    };
    // nn.Sequential(conv, bn, ...)
    for (const call of a.callsTo('torch.nn.Sequential')) {
      const args = positionalArgs(call);
      for (let i = 0; i + 1 < args.length; i++) if (biasLayer(a, args[i]) && isBatchNorm(a, args[i + 1])) report(args[i]!);
    }
    // forward: self.bn(self.conv(x)), or x = self.conv(x) followed by x = self.bn(x). Read from the class alone: kept
    // per statement between lints.
    for (const m of a.modules) {
      if (!m.forward) continue;
      const pairs = a.perStatement(m.node, 'AR001-forward', () => forwardBiasLayers(a, m));
      for (const layer of pairs.layers) report(layer);
      for (const read of pairs.lists) ctx.report({ node: read, message: LIST_MESSAGE.replace('LIST', read.child('value')?.text ?? read.text) });
    }
    for (const layer of kerasBiasLayers(a)) report(layer, 'use_bias');
  },
};
