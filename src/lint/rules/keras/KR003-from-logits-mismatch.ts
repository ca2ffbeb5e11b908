import { keywordArg } from '../../analysis';
import { kerasModels, outputLayer } from '../../analysis/keras';
import { tfActivations, tfLogitsArgument } from '../../analysis/tfActivations';
import type { PyNode } from '../../parser';
import type { RawFix, Rule, RuleContext } from '../../types';
import { CROSSENTROPY, LOSS_CLASS, lossesModule } from './shared';

export const KR003: Rule = {
  meta: {
    id: 'KR003',
    name: 'from-logits-mismatch',
    group: 'keras',
    defaultSeverity: 'error',
    summary: 'from_logits does not match the output layer: raw logits scored as probabilities, or probabilities as logits.',
    why:
      'Keras crossentropy losses assume probabilities (`from_logits=False`, the default, also for string losses like ' +
      '`"sparse_categorical_crossentropy"`). When the last Dense layer has no activation its outputs are logits: treated as ' +
      'probabilities they are clipped into [1e-7, 1 - 1e-7], gradients vanish for most samples and training stalls at a poor ' +
      'accuracy. The reverse, softmax/sigmoid outputs with `from_logits=True`, applies the activation twice and also learns ' +
      'badly. Either give the output layer its activation or tell the loss it receives logits. The same holds for ' +
      'TensorFlow\'s `tf.nn.softmax_cross_entropy_with_logits(logits=...)` family (and `tf.losses.*_cross_entropy`): ' +
      'their `logits` must be the values before the softmax/sigmoid, not a `tf.nn.softmax(...)` output or a Dense ' +
      'layer built with `activation=tf.nn.softmax`, and for a Keras loss told `from_logits=True` that is called on such ' +
      'a tensor. A custom training loop counts like `compile`: the model\'s output reaches the loss through names, loss ' +
      'helpers\' parameters and `self.` attributes (a GAN class holding its discriminator and loss), into methods of the ' +
      'file\'s classes (`self.generator(x)` returning `tf.nn.sigmoid(out)`) and into the `call` of a subclassed model, also ' +
      'when a never-called training function receives it as its `model` parameter and the file defines that one model. ' +
      'In a graph-era file (`tf.placeholder`, `tf.Session`) the first of two positional arguments is read as logits too, ' +
      'as TensorFlow before 1.0 took them: `(logits, labels)`.',
    wrong:
      'from tensorflow import keras\nmodel = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(128, activation="relu"), keras.layers.Dense(10)])\nmodel.compile(optimizer="adam", loss="sparse_categorical_crossentropy")',
    right:
      'from tensorflow import keras\nmodel = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(128, activation="relu"), keras.layers.Dense(10)])\nmodel.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))',
    concept: 'Logits vs probabilities: a loss must know which one it receives',
    fixable: true,
  },
  nodeTypes: ['call'],
  candidate: { reads: ['imports'], test: (call, ctx) => tfLogitsArgument(ctx.analysis, call, false) !== undefined },
  visit(call, ctx) {
    const arg = tfLogitsArgument(ctx.analysis, call);
    if (!arg) return;
    const t = tfActivations(ctx.analysis);
    // TensorFlow before 1.0 took (logits, labels): in a graph-era file the first argument may be the logits.
    const fromLegacy = arg.legacy && t.of(arg.legacy);
    const logits = fromLegacy ? arg.legacy! : arg.logits;
    const act = fromLegacy || t.of(arg.logits);
    if (!act) return;
    const line = ctx.source.slice(0, act.site.start).split('\n').length;
    // A softmax loss fed a sigmoid's output (or the reverse) squashes twice too, with two different functions.
    const own = /sigmoid|weighted/.test(arg.loss) ? 'sigmoid' : 'softmax';
    const twice = own === act.kind ? `the ${act.kind} is applied twice` : `a ${own} is applied on top of the ${act.kind}`;
    ctx.report({
      node: logits,
      message: `tf.${arg.loss} expects raw logits but receives the output of a ${act.kind} (line ${line}), so ${twice}. Pass the values before the ${act.kind}.`,
    });
  },
  check(ctx) {
    const a = ctx.analysis;
    for (const m of kerasModels(a).models) {
      const out = outputLayer(m);
      if (!out || out.activation === undefined) continue;
      for (const { loss } of m.compiles) {
        if (!loss || !CROSSENTROPY.has(loss.name) || loss.fromLogits === undefined) continue;
        if (out.activation === null && !loss.fromLogits) {
          let fix: RawFix | undefined;
          if (loss.form === 'object') {
            const fl = keywordArg(loss.node, 'from_logits');
            const args = loss.node.child('arguments');
            const last = args?.namedChildren.filter((c) => c.type !== 'comment').pop();
            if (fl) fix = { title: 'Set from_logits=True', edits: [{ start: fl.start, end: fl.end, newText: 'True' }] };
            else if (args) fix = { title: 'Set from_logits=True', edits: [{ start: last ? last.end : args.start + 1, end: last ? last.end : args.start + 1, newText: last ? ', from_logits=True' : 'from_logits=True' }] };
          } else if (loss.form === 'string') {
            const mod = lossesModule(a);
            if (mod) fix = { title: `Use ${LOSS_CLASS[loss.name]}(from_logits=True)`, edits: [{ start: loss.node.start, end: loss.node.end, newText: `${mod}.${LOSS_CLASS[loss.name]}(from_logits=True)` }] };
          }
          ctx.report({
            node: loss.node,
            message: `The output layer has no activation (logits) but ${loss.name} expects probabilities (from_logits=False). Pass from_logits=True, or add a ${loss.name === 'binary_crossentropy' ? 'sigmoid' : 'softmax'} activation to the last layer.`,
            fixes: fix ? [fix] : undefined,
          });
        } else if ((out.activation === 'softmax' || out.activation === 'sigmoid') && loss.fromLogits && loss.form === 'object') {
          const fl = keywordArg(loss.node, 'from_logits');
          ctx.report({
            node: fl?.parent ?? loss.node,
            message: `The output layer already applies ${out.activation} but the loss is told from_logits=True, so the activation is applied twice. Set from_logits=False or drop the activation.`,
            fixes: fl ? [{ title: 'Set from_logits=False', edits: [{ start: fl.start, end: fl.end, newText: 'False' }] }] : undefined,
          });
        }
      }
    }
    activatedTensorsAsLogits(ctx);
  },
};

/**
 * Outside a model: a Keras crossentropy told from_logits=True called on a tensor that already went through a softmax
 * or sigmoid (`probs = tf.nn.softmax(z)` ... `loss_fn(y, probs)`), reported once per `from_logits` argument.
 */
function activatedTensorsAsLogits(ctx: RuleContext): void {
  const a = ctx.analysis;
  const k = kerasModels(a);
  const reported = new Set<PyNode>();
  for (const { call, loss, pred } of k.lossCalls) {
    if (!loss.fromLogits || !CROSSENTROPY.has(loss.name) || k.modelOfOutput(pred)) continue;
    const fl = keywordArg(loss.form === 'function' ? call : loss.node, 'from_logits');
    const act = fl && !reported.has(fl) ? tfActivations(a).of(pred) : undefined;
    if (!fl || !act) continue;
    reported.add(fl);
    const line = ctx.source.slice(0, act.site.start).split('\n').length;
    ctx.report({
      node: fl.parent ?? fl,
      message: `${loss.name} is told from_logits=True but ${pred.text.length > 30 ? 'its prediction' : pred.text} already went through a ${act.kind} (line ${line}), so the ${act.kind} is applied twice. Set from_logits=False or pass the values before the ${act.kind}.`,
      fixes: [{ title: 'Set from_logits=False', edits: [{ start: fl.start, end: fl.end, newText: 'False' }] }],
    });
  }
}
