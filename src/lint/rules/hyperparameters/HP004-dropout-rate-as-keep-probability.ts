import { keywordArg, positionalArgs, type Analysis } from '../../analysis';
import { kerasName } from '../../analysis/keras';
import { numberValue, type NumberValue } from '../../analysis/numbers';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

/** At or above this drop probability, the value reads as TensorFlow 1's `keep_prob`. */
const THRESHOLD = 0.8;

const TORCH_LAYER = /^torch\.nn\.(Dropout|Dropout1d|Dropout2d|Dropout3d|AlphaDropout|FeatureAlphaDropout)$/;
const TORCH_FUNCTION = /^torch\.(nn\.functional\.)?(dropout|dropout1d|dropout2d|dropout3d|alpha_dropout|feature_alpha_dropout)$/;
/** Keras layers whose `rate` is the fraction to drop (any `keras.…layers…` path). */
const KERAS_LAYER = /^keras\.(?:\w+\.)*layers\.(?:\w+\.)*(Dropout|SpatialDropout1D|SpatialDropout2D|SpatialDropout3D|AlphaDropout|GaussianDropout)$/;

/** TensorFlow 1's layers: `tf.layers.dropout(inputs, rate=0.5)` and `tf.layers.Dropout(rate=0.5)` take the fraction to drop. */
const TF_LAYERS_FUNCTION = /^tensorflow\.(compat\.v1\.)?layers\.dropout$/;
const TF_LAYERS_CLASS = /^tensorflow\.(compat\.v1\.)?layers\.Dropout$/;
/** `tf.nn.dropout`: its second positional argument is keep_prob in TF 1 and rate in TF 2, so only `rate=` tells. */
const TF_NN = /^tensorflow\.(compat\.v[12]\.)?nn\.dropout$/;

/** The drop probability argument of a dropout call and its keyword name, when the call is one. */
function dropArg(q: string | undefined, call: PyNode): { arg: PyNode | undefined; keyword: string; layer: boolean } | undefined {
  if (!q) return undefined;
  if (TORCH_LAYER.test(q)) return { arg: keywordArg(call, 'p') ?? positionalArgs(call)[0], keyword: 'p', layer: true };
  if (TORCH_FUNCTION.test(q)) return { arg: keywordArg(call, 'p') ?? positionalArgs(call)[1], keyword: 'p', layer: false };
  if (KERAS_LAYER.test(kerasName(q) ?? '') || TF_LAYERS_CLASS.test(q)) return { arg: keywordArg(call, 'rate') ?? positionalArgs(call)[0], keyword: 'rate', layer: true };
  if (TF_LAYERS_FUNCTION.test(q)) return { arg: keywordArg(call, 'rate') ?? positionalArgs(call)[1], keyword: 'rate', layer: false };
  if (TF_NN.test(q)) return { arg: keywordArg(call, 'rate'), keyword: 'rate', layer: false };
  return undefined;
}

// A keep probability by name: `keep_prob`, `self.keep_prob`, `FLAGS.dropout_keep_prob`, `keepProb`, `keep_probability`.
const KEEP_NAME = /keep_?prob/i;

/** The last name of `x`, `self.x`, `FLAGS.x`. */
function lastName(n: PyNode): string {
  return n.type === 'attribute' ? (n.child('attribute')?.text ?? '') : n.text;
}

/**
 * A keep probability passed as the drop probability: `rate=keep_prob`, `nn.Dropout(p=self.keep_prob)`. A name
 * bound in the file to a small literal (`keep_prob = 0.2`, a parameter defaulting to 0.2) is a misnamed drop rate:
 * not reported.
 */
function keepProbabilityName(arg: PyNode, a: Analysis, known: NumberValue | undefined): boolean {
  if ((arg.type !== 'identifier' && arg.type !== 'attribute') || !KEEP_NAME.test(lastName(arg))) return false;
  if (known && known.value <= 0.5) return false;
  const v = arg.type === 'identifier' ? a.scopes.valueAt(arg.text, arg) : undefined;
  return !(v && (v.type === 'float' || v.type === 'integer') && Number(v.text) <= 0.5);
}

/** A comment that calls the value a keep probability (`# probability to keep units`, `# keep_prob`), not `1 - keep_prob`. */
const KEEP_COMMENT = /keep[\s_-]*(prob|rate|ratio|fraction|percent)|(prob(ability)?|fraction|percent(age)?|ratio|chance)\s+(of\s+|to\s+)?keep/i;
const KEEP_NAME_BINDING = new Set(['assignment', 'default_parameter', 'typed_default_parameter', 'keyword_argument']);

/**
 * Where the literal a drop rate holds was written says it is a keep probability: bound to a keep name
 * (`KEEP_PROB = 0.7`, `def net(x, keep_prob=0.7)`, `build(keep_prob=0.7)`) or commented as one on its line
 * (`dropout = 0.75  # probability to keep units`). Followed through any chain of names and parameters.
 */
function literalSaysKeep(lit: PyNode): string | undefined {
  const p = lit.parent;
  if (p && KEEP_NAME_BINDING.has(p.type) && (p.child('right') ?? p.child('value')) === lit) {
    const name = p.child('left') ?? p.child('name');
    if (name && (name.type === 'identifier' || name.type === 'attribute') && KEEP_NAME.test(lastName(name))) return `${name.text} = ${lit.text}`;
  }
  const src = lit.src.text;
  const eol = src.indexOf('\n', lit.end);
  const rest = src.slice(lit.end, eol < 0 ? src.length : eol);
  const hash = rest.indexOf('#');
  const comment = hash < 0 ? '' : rest.slice(hash);
  return KEEP_COMMENT.test(comment) && !/1\s*-\s*keep/i.test(comment) ? `commented "${comment.slice(1).trim()}"` : undefined;
}

/** Whether the file imports PyTorch Geometric (`import torch_geometric...`, `from torch_geometric... import ...`). */
function importsPyG(a: Analysis): boolean {
  for (const q of a.imports.aliases.values()) if (q === 'torch_geometric' || q.startsWith('torch_geometric.')) return true;
  return false;
}

/** 1 - p without float noise: 0.2, 0.1, 0.05. */
const complement = (p: number) => String(Number((1 - p).toFixed(10)));

export const HP004: Rule = {
  meta: {
    id: 'HP004',
    name: 'dropout-rate-as-keep-probability',
    group: 'hyperparameters',
    defaultSeverity: 'warning',
    summary: '`nn.Dropout(0.8)` drops 80 % of the units: `p` is the probability to drop, not to keep (TensorFlow 1\'s `keep_prob`).',
    why:
      'TensorFlow 1.x took `keep_prob` in `tf.nn.dropout`: 0.8 kept 80 % of the units. PyTorch\'s `nn.Dropout(p)` and ' +
      '`F.dropout(x, p)`, and Keras\' `Dropout(rate)`, take the opposite: the probability of zeroing each unit. Ported as ' +
      'is, `nn.Dropout(0.8)` throws away four units out of five on every training step and scales the survivors by 5: ' +
      'the network underfits badly, the training loss stays high, and nothing raises an error. Typical values are 0.1 to ' +
      '0.5; use `1 - keep_prob`. TensorFlow\'s own `tf.layers.dropout(rate=)` and `tf.nn.dropout(rate=)` take the drop rate ' +
      'too. A name is followed to the number it holds: a parameter\'s default (`def __init__(self, drop=0.9)`) when no ' +
      'call in the file overrides it, the value every call passes, `self.p = p`. Also reported: a value named as a keep ' +
      'probability passed as the rate (`rate=keep_prob`), and a value above one half that was written as one: bound to a keep ' +
      'name (`KEEP_PROB = 0.7`) or commented as one on its line (`dropout = 0.75  # probability to keep units`). Functional dropout in a PyTorch Geometric file is not reported: graph models drop most of ' +
      'their sparse input features on purpose (Graph U-Nets uses p=0.92).',
    wrong: 'model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.8), nn.Linear(256, 10))',
    right: 'model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.2), nn.Linear(256, 10))',
    concept: 'Dropout: p is the probability to drop a unit',
    fixable: false,
  },
  nodeTypes: ['call'],
  // Not statement-local: a name is followed to the literal it holds (call sites, defaults, `self.p = p`).
  candidate: { reads: ['imports'], test: (call, ctx) => dropArg(ctx.analysis.callee(call), call)?.arg !== undefined },
  visit(call, ctx) {
    const found = dropArg(ctx.analysis.callee(call), call);
    const arg = found?.arg;
    // Graph models drop most of the sparse input features on purpose (Graph U-Nets: p=0.92 on Cora's bag of words;
    // MixHop: 0.9): functional dropout in a PyTorch Geometric file is not reported.
    if (found && !found.layer && importsPyG(ctx.analysis)) return;
    if (!arg) return;
    const fn = call.child('function')?.text ?? 'Dropout';
    const given = arg.parent?.type === 'keyword_argument' ? arg.parent.text : arg.text;
    const shown = found.layer ? `${fn}(${given})` : `${fn}(..., ${given})`;
    const what = found.keyword === 'p' ? 'p is the probability to drop, not to keep' : 'rate is the fraction to drop, not to keep';
    const node = arg.parent?.type === 'keyword_argument' ? arg.parent : arg;
    // The literal the argument holds: written in place, or followed to a default, the call sites, `self.p = p`.
    const known = numberValue(ctx.analysis, arg);
    const p = known?.value;
    // p > 1 raises in PyTorch and Keras: not this rule's business.
    const tooHigh = p !== undefined && p >= THRESHOLD && p <= 1;
    if (!tooHigh && keepProbabilityName(arg, ctx.analysis, known)) {
      ctx.report({ node, message: `${shown} passes a keep probability where ${what}: use 1 - ${arg.text}.` });
      return;
    }
    // Above one half and written as a keep probability: dropping it keeps too little (0.75 kept is 0.25 dropped).
    const keep = !tooHigh && p !== undefined && p > 0.5 && p < 1 ? literalSaysKeep(known!.node) : undefined;
    if (keep) {
      ctx.report({ node, message: `${shown} drops ${Number((p! * 100).toFixed(6))} % of the units, but the value is a keep probability (${keep}); ${what}: use ${complement(p!)}.` });
      return;
    }
    if (!tooHigh) return;
    const why = known!.origin ? `${known!.origin}; ${what}` : what;
    ctx.report({
      node,
      message:
        p === 1
          ? `${shown} drops every unit (${why}): did you mean ${found.keyword}=0 (no dropout)?`
          : `${shown} drops ${Number((p * 100).toFixed(6))} % of the units (${why}): did you mean ${complement(p)}?`,
    });
  },
};
