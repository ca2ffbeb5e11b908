import { kerasCallee, kerasModels, mayCallKeras, type KerasModel, type KLayer } from '../../analysis/keras';
import { featureMaps } from '../../analysis/featureMaps';
import { reachingDefs } from '../../analysis/reaching';
import { keywordArg, positionalArgs, unparen, type Analysis } from '../../analysis';
import type { PyNode } from '../../parser';
import { valueBefore } from '../../analysis/values';
import type { RawFix, Rule } from '../../types';

const TRANSPARENT = new Set(['dropout', 'batchnorm', 'activation']);
/** After these the tensor is no longer a feature map (or we cannot tell). */
const RESHAPING = new Set(['flatten', 'globalpool', 'reshape', 'rnn', 'other', 'input']);

/** `Flatten()` spelled like the Dense call (`layers.Flatten()`, `keras.layers.Flatten()`, `Flatten()` when imported). */
function flattenText(a: Analysis, dense: KLayer): string | undefined {
  const fn = dense.call?.child('function');
  if (fn?.type === 'attribute') return `${fn.child('object')!.text}.Flatten()`;
  const local = a.imports.localName('keras.layers.Flatten') ?? a.imports.localName('tensorflow.keras.layers.Flatten');
  return local ? `${local}()` : undefined;
}

function insertFlatten(a: Analysis, dense: KLayer, source: string): RawFix | undefined {
  const flat = flattenText(a, dense);
  if (!flat) return undefined;
  if (dense.via === 'list') return { title: 'Insert Flatten() before this Dense', edits: [{ start: dense.site.start, end: dense.site.start, newText: `${flat}, ` }] };
  if (dense.via === 'add') {
    const stmt = dense.site.parent!;
    const lineStart = source.lastIndexOf('\n', stmt.start - 1) + 1;
    const indent = source.slice(lineStart, stmt.start);
    if (indent.trim() !== '') return undefined;
    const recv = dense.site.child('function')?.child('object')?.text;
    return { title: 'Insert Flatten() before this Dense', edits: [{ start: lineStart, end: lineStart, newText: `${indent}${recv}.add(${flat})\n` }] };
  }
  return undefined;
}

export const KR004: Rule = {
  meta: {
    id: 'KR004',
    name: 'dense-without-flatten',
    group: 'keras',
    defaultSeverity: 'error',
    summary: 'A Dense layer follows a 2-D convolution or pooling layer with no Flatten / global pooling between them.',
    why:
      'Keras applies `Dense` to the last axis only: after `Conv2D`/`MaxPooling2D` the tensor is still (batch, height, width, ' +
      'channels), so the Dense layer acts on each pixel separately and the model outputs a feature map instead of one ' +
      'prediction per image. Depending on the labels this fails with a shape error or silently trains a per-pixel ' +
      'classifier. Insert `Flatten()` or `GlobalAveragePooling2D()` before the first Dense layer.',
    wrong:
      'from tensorflow.keras import layers, models\nmodel = models.Sequential([layers.Conv2D(32, 3, activation="relu", input_shape=(28, 28, 1)), layers.MaxPooling2D(), layers.Dense(10, activation="softmax")])',
    right:
      'from tensorflow.keras import layers, models\nmodel = models.Sequential([layers.Conv2D(32, 3, activation="relu", input_shape=(28, 28, 1)), layers.MaxPooling2D(), layers.Flatten(), layers.Dense(10, activation="softmax")])',
    concept: 'Tensor shapes: flatten feature maps before fully connected layers',
    fixable: true,
  },
  check(ctx) {
    const a = ctx.analysis;
    const reported = new Set<PyNode>();
    for (const m of kerasModels(a).models) {
      const L = m.layers;
      for (let i = 1; i < L.length; i++) {
        if (L[i]!.kind !== 'dense') continue;
        let j = i - 1;
        while (j >= 0 && TRANSPARENT.has(L[j]!.kind)) j--;
        if (j < 0) continue;
        const prev = L[j]!;
        if (prev.kind === 'conv2d' || prev.kind === 'pool2d') {
          // The output stays a feature map to the end: nothing after this Dense flattens or reshapes it.
          if (L.slice(i + 1).some((l) => RESHAPING.has(l.kind) || l.kind === 'conv2d' || l.kind === 'pool2d')) continue;
        } else if (prev.kind === 'conv1d' || prev.kind === 'pool1d' || (prev.kind === 'rnn' && returnsSequences(prev))) {
          if (!singleValueHead(m, i) || sequenceTargets(a, m)) continue;
        } else continue;
        const fix = insertFlatten(a, L[i]!, ctx.source);
        const sequence = prev.kind === 'rnn';
        ctx.report({
          node: L[i]!.call ?? L[i]!.site,
          message: sequence
            ? `Dense after ${prev.cls}(return_sequences=True) is applied to every time step, so the model outputs a whole sequence where the ${lossNames(m)} loss expects one value per sample. Drop return_sequences=True from the last recurrent layer.`
            : `Dense after ${prev.cls} without Flatten: it is applied per ${prev.kind === 'conv1d' || prev.kind === 'pool1d' ? 'time step' : 'pixel'} and the model outputs a feature map. Insert Flatten() (or ${prev.kind === 'conv1d' || prev.kind === 'pool1d' ? 'GlobalMaxPooling1D()' : 'GlobalAveragePooling2D()'}) before it.`,
          fixes: fix && !sequence ? [fix] : undefined,
        });
        if (L[i]!.call) reported.add(L[i]!.call!);
        break;
      }
    }
    for (const { app, layer } of denseApplications(a)) {
      if (!layer.call || reported.has(layer.call) || !isGraphOutput(a, app)) continue;
      const map = featureMaps(a).shapes(positionalArgs(app)[0]).map;
      if (!map) continue;
      reported.add(layer.call);
      ctx.report({
        node: layer.call,
        message: `This Dense can receive the 4-D output of ${map.cls} (line ${lineOf(ctx.source, map.site)}) with no Flatten or global pooling on that path, so it is applied per pixel and the model outputs a feature map. Flatten or pool on every path before it.`,
      });
    }
  },
};

function lineOf(source: string, node: PyNode): number {
  return source.slice(0, node.start).split('\n').length;
}

/** Functional applications of a Keras Dense layer: `Dense(10)(x)`, or `head(x)` with `head = Dense(10)`. */
function denseApplications(a: Analysis): { app: PyNode; layer: KLayer }[] {
  const out: { app: PyNode; layer: KLayer }[] = [];
  if (!mayCallKeras(a, 'Dense')) return out;
  for (const call of a.index.of('call')) {
    const fn = call.child('function');
    const ctor = fn?.type === 'call' ? fn : fn?.type === 'identifier' ? unparen(valueBefore(a, fn) ?? undefined) : undefined;
    if (ctor?.type !== 'call' || !/\.Dense$/.test(kerasCallee(a, ctor) ?? '')) continue;
    const layer = kerasModels(a).layerOf(ctor, call, 'functional');
    if (layer.kind === 'dense' && positionalArgs(call).length === 1) out.push({ app: call, layer });
  }
  return out;
}

/**
 * The application is what the model outputs: returned by its function (`x = Dense(...)(x)` ... `return x`) or given
 * as a Model's outputs. A per-pixel Dense in the middle of a network can be meant (a 1x1 projection).
 */
function isGraphOutput(a: Analysis, app: PyNode): boolean {
  const parent = app.parent;
  if (parent?.type === 'return_statement') return true;
  if (parent?.type !== 'assignment' || parent.child('right') !== app || parent.child('left')?.type !== 'identifier') return false;
  const name = parent.child('left')!.text;
  const scope = app.ancestor('function_definition') ?? app.ancestor('module');
  let found = false;
  scope?.walk((n) => {
    if (found || (n !== scope && (n.type === 'function_definition' || n.type === 'class_definition'))) return false;
    if (n.type !== 'identifier' || n.text !== name || n.start < app.end) return undefined;
    const use = n.parent;
    const isOut =
      use?.type === 'return_statement' ||
      (use?.type === 'keyword_argument' && /^outputs?$/.test(use.child('name')?.text ?? '') && isModelCall(a, use.parent?.parent)) ||
      (use?.type === 'argument_list' && positionalArgs(use.parent!)[1] === n && isModelCall(a, use.parent));
    if (isOut && reachingDefs(n)?.some((d) => d.value === app)) found = true;
    return undefined;
  });
  return found;
}

function isModelCall(a: Analysis, call: PyNode | null | undefined): boolean {
  const q = call?.type === 'call' ? kerasCallee(a, call) : undefined;
  return q === 'keras.Model' || q === 'keras.models.Model';
}

/** Losses of one value per sample, where a per-step output is the bug (a tagger would use a crossentropy over classes). */
const SINGLE_VALUE_LOSSES = new Set(['binary_crossentropy', 'mean_squared_error', 'mean_absolute_error', 'huber_loss', 'huber']);

/**
 * Over a sequence (Conv1D, an RNN returning sequences) a per-step Dense can be intended (sequence tagging), so report
 * only the regression / yes-no head: the Dense is the model's last layer (known from the input on), one unit, no
 * TimeDistributed / RepeatVector anywhere, and every compile uses a single-value loss.
 */
function singleValueHead(m: KerasModel, i: number): boolean {
  const L = m.layers;
  const dense = L[i]!;
  if (!m.complete || dense.units !== 1 || L.slice(i + 1).some((l) => !TRANSPARENT.has(l.kind))) return false;
  if (L.some((l) => l.kind === 'reshape')) return false;
  return m.compiles.length > 0 && m.compiles.every((c) => c.loss !== undefined && SINGLE_VALUE_LOSSES.has(c.loss.name));
}

/** Targets given to fit() visibly shaped as sequences (`y.reshape(-1, T, 1)`, `y[..., None]`): many-to-many, as intended. */
function sequenceTargets(a: Analysis, m: KerasModel): boolean {
  return m.fits.some((fit) => {
    const y = keywordArg(fit, 'y') ?? positionalArgs(fit)[1];
    const value = y?.type === 'identifier' ? valueBefore(a, y) : undefined;
    return [y, value].some((n) => n && /reshape\([^)]*,[^)]*,|expand_dims|None\]|newaxis/.test(n.text));
  });
}

function lossNames(m: KerasModel): string {
  return [...new Set(m.compiles.map((c) => c.loss?.name))].join('/');
}

/** `LSTM(50, return_sequences=True)`, also inside `Bidirectional(...)`: the literal True only. */
function returnsSequences(l: KLayer): boolean {
  const call = l.call;
  if (!call) return false;
  const inner: PyNode | undefined = l.cls === 'Bidirectional' ? positionalArgs(call)[0] : call;
  return inner?.type === 'call' && keywordArg(inner, 'return_sequences')?.text === 'True';
}
