import { kerasModels, type KLayer } from '../../analysis/keras';
import type { Analysis } from '../../analysis';
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
    for (const m of kerasModels(a).models) {
      const L = m.layers;
      for (let i = 1; i < L.length; i++) {
        if (L[i]!.kind !== 'dense') continue;
        let j = i - 1;
        while (j >= 0 && TRANSPARENT.has(L[j]!.kind)) j--;
        if (j < 0 || (L[j]!.kind !== 'conv2d' && L[j]!.kind !== 'pool2d')) continue;
        // The output stays a feature map to the end: nothing after this Dense flattens or reshapes it.
        if (L.slice(i + 1).some((l) => RESHAPING.has(l.kind) || l.kind === 'conv2d' || l.kind === 'pool2d')) continue;
        const fix = insertFlatten(a, L[i]!, ctx.source);
        ctx.report({
          node: L[i]!.call ?? L[i]!.site,
          message: `Dense after ${L[j]!.cls} without Flatten: it is applied per pixel and the model outputs a feature map. Insert Flatten() (or GlobalAveragePooling2D()) before it.`,
          fixes: fix ? [fix] : undefined,
        });
        break;
      }
    }
  },
};
