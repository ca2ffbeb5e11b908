import { calleeName, enclosingFunction, hasKeywordSplat, keywordArg, methodClass, positionalArgs, unparen } from '../../analysis';
import { numberValue } from '../../analysis/numbers';
import { applyMethod } from '../../analysis/tfModels';
import type { PyNode } from '../../parser';
import type { Rule, RuleContext } from '../../types';

// torch.nn.functional's dropouts default to training=True (unlike nn.Dropout, which follows model.train()/eval()).
const DROPOUTS = new Set(['dropout', 'dropout1d', 'dropout2d', 'dropout3d', 'alpha_dropout', 'feature_alpha_dropout'].map((n) => `torch.nn.functional.${n}`));

// TensorFlow 1 dropouts given a keep probability: a number there stays in the graph, so evaluation and prediction
// through the same graph drop units too (the TF1 idiom feeds it from a placeholder: 1.0 at test time).
const TF1_PREFIXES = ['tensorflow.', 'tensorflow.compat.v1.'];
const TF1_KEEP_PROBS: Record<string, readonly string[]> = {
  'nn.dropout': ['keep_prob'],
  'nn.rnn_cell.DropoutWrapper': ['input_keep_prob', 'output_keep_prob', 'state_keep_prob'],
  'contrib.rnn.DropoutWrapper': ['input_keep_prob', 'output_keep_prob', 'state_keep_prob'],
  'contrib.rnn.core_rnn_cell.DropoutWrapper': ['input_keep_prob', 'output_keep_prob', 'state_keep_prob'],
};

function tf1KeepProbs(q: string): readonly string[] | undefined {
  for (const p of TF1_PREFIXES) if (q.startsWith(p) && TF1_KEEP_PROBS[q.slice(p.length)]) return TF1_KEEP_PROBS[q.slice(p.length)];
  return undefined;
}

/** TF1's `DropoutWrapper(cell, output_keep_prob=0.5)` / `tf.nn.dropout(x, keep_prob=0.8)` with a number the file fixes. */
function checkTf1(call: PyNode, keeps: readonly string[], ctx: RuleContext): void {
  // A graph that is never run in a session here (a model file built by another script) may get its keep prob elsewhere.
  if (!/\.run\(|\.eval\(/.test(ctx.source)) return;
  for (const name of keeps) {
    const arg = keywordArg(call, name);
    const n = arg && numberValue(ctx.analysis, arg);
    if (!arg || !n || !(n.value > 0 && n.value < 1)) continue;
    const via = n.origin ? ` (${n.origin})` : '';
    ctx.report({
      node: arg,
      message:
        `${name}=${arg.text}${via} is a fixed number in the graph, so evaluation and prediction run with dropout on too: ` +
        `feed it from a placeholder (tf.placeholder_with_default(1.0, [])) and pass ${n.value} only in the training step.`,
    });
    return;
  }
}

// A flag that tells training from inference (`training`, `is_training`, `self.training`, `mode == "train"`): a
// condition that names one may be what turns the dropout off.
const TRAINING_FLAG = /\b(training|is_training|is_train|train|train_mode|trainable|mode|phase|deterministic|inference|is_test|eval|evaluation)\b/i;
// Functions that pick a branch by a flag (`tf.cond(training, lambda: tf.nn.dropout(x, 0.5), lambda: x)`).
const BRANCH_FNS = new Set(['cond', 'smart_cond', 'in_train_phase', 'in_test_phase', 'where', 'switch']);
// Monte Carlo dropout keeps dropout on at prediction on purpose.
const MC_DROPOUT = /monte[\s_-]?carlo|mc[\s_-]?dropout|\bmcd\b|bayes|uncertaint/i;

/**
 * TF2's `tf.nn.dropout(x, rate)` in the `call` of a Keras Layer or Model: Keras passes `training` but the function
 * ignores it, so a rate the file fixes drops units in `predict()` and evaluation too. Silent when a condition in the
 * method names a training flag, or the call sits in a branch function (`tf.cond`).
 */
function checkTf2(call: PyNode, ctx: RuleContext): void {
  const a = ctx.analysis;
  if (keywordArg(call, 'keep_prob') || hasKeywordSplat(call)) return;
  const rate = keywordArg(call, 'rate') ?? positionalArgs(call)[1];
  const n = rate && numberValue(a, rate);
  // TF1's positional keep_prob reads the same way: any fixed number strictly between 0 and 1 keeps dropout on.
  if (!n || !(n.value > 0 && n.value < 1)) return;
  const fn = enclosingFunction(call);
  const cls = fn && fn.child('name')?.text === 'call' ? methodClass(fn) : undefined;
  if (!fn || !cls || applyMethod(a, cls) !== fn) return;
  if (gatedByTrainingFlag(call, fn) || MC_DROPOUT.test(ctx.source)) return;
  ctx.report({
    node: call,
    message:
      `${call.child('function')?.text ?? 'tf.nn.dropout'}(...) in call() ignores the training flag, so predict() and evaluation drop units too: ` +
      `use a layers.Dropout(${n.value}) layer called with training=training, or apply it only when training is true.`,
  });
}

/** Whether a condition of the method, or a branch function around the call, may turn dropout off outside training. */
function gatedByTrainingFlag(call: PyNode, fn: PyNode): boolean {
  for (let p = call.parent; p && p !== fn; p = p.parent) {
    if (p.type === 'call' && BRANCH_FNS.has(calleeName(p) ?? '')) return true;
  }
  let gated = false;
  fn.child('body')?.walk((n) => {
    if (gated || n.type === 'function_definition' || n.type === 'class_definition') return false;
    const cond = n.type === 'if_statement' || n.type === 'elif_clause' || n.type === 'while_statement' ? n.child('condition') : n.type === 'conditional_expression' ? n.namedChildren[1] : undefined;
    if (cond && TRAINING_FLAG.test(cond.text)) gated = true;
  });
  return gated;
}

/** `self.training`, `self.training and p > 0`, `(self.training)`: true only in training mode. */
function impliesTraining(cond: PyNode | undefined): boolean {
  const e = unparen(cond);
  if (e?.type === 'attribute') return e.text.replace(/\s/g, '') === 'self.training';
  if (e?.type !== 'boolean_operator' || !e.children.some((c) => c.type === 'and')) return false;
  return e.namedChildren.some(impliesTraining);
}

/** `not self.training`: true only in eval mode. */
function impliesEval(cond: PyNode | undefined): boolean {
  const e = unparen(cond);
  return e?.type === 'not_operator' && impliesTraining(e.child('argument') ?? e.namedChildren[0]);
}

/**
 * The call runs only in training mode, by a branch on `self.training` between it and its method:
 * `if self.training and p > 0: x = F.dropout(x, p)`, `F.dropout(x, p) if self.training else x`, the else of
 * `if not self.training:`.
 */
function trainingOnly(call: PyNode, fn: PyNode): boolean {
  for (let p: PyNode = call; p.parent && p !== fn; p = p.parent) {
    const parent = p.parent;
    if ((parent.type === 'if_statement' || parent.type === 'elif_clause') && p === parent.child('consequence') && impliesTraining(parent.child('condition'))) return true;
    if (parent.type === 'if_statement' && p.type === 'else_clause' && parent.children.every((c) => c.type !== 'elif_clause') && impliesEval(parent.child('condition'))) return true;
    if (parent.type === 'conditional_expression') {
      const [then, cond, otherwise] = parent.namedChildren;
      if ((p === then && impliesTraining(cond)) || (p === otherwise && impliesEval(cond))) return true;
    }
  }
  return false;
}

export const EV007: Rule = {
  meta: {
    id: 'EV007',
    name: 'functional-dropout-always-on',
    group: 'evaluation',
    defaultSeverity: 'warning',
    summary: '`F.dropout` in a model method without `training=self.training` (or TF1 dropout with a fixed `keep_prob`) drops units in evaluation too.',
    why:
      '`nn.Dropout` follows `model.train()` and `model.eval()`, but the function `F.dropout(x, p)` does not: its `training` ' +
      'argument defaults to True. Called in `forward` without it, dropout stays on when the model is evaluated, so ' +
      'validation accuracy is lower and noisier than the model really is, and predictions change from one call to the ' +
      'next. Pass `training=self.training`, or use an `nn.Dropout` layer. A call that runs only under a branch on ' +
      '`self.training` (`if self.training: x = F.dropout(x, p)`) is correct as it is. TensorFlow 1 has the same trap: ' +
      'a `DropoutWrapper(cell, output_keep_prob=0.5)` or `tf.nn.dropout(x, keep_prob=0.8)` given a number keeps dropping ' +
      'whenever the graph runs, in `sess.run` for the test set too; feed the keep probability from a placeholder instead. ' +
      'In TensorFlow 2, `tf.nn.dropout(x, rate)` in the `call` of a Keras Layer or Model ignores the `training` flag ' +
      'Keras passes, so `predict()` drops units too: use a `layers.Dropout` layer, or branch on `training`.',
    wrong: 'class Net(nn.Module):\n    def forward(self, x):\n        x = F.relu(self.fc1(x))\n        x = F.dropout(x, p=0.5)\n        return self.fc2(x)',
    right: 'class Net(nn.Module):\n    def forward(self, x):\n        x = F.relu(self.fc1(x))\n        x = F.dropout(x, p=0.5, training=self.training)\n        return self.fc2(x)',
    concept: 'Dropout: on in training, off in evaluation',
    fixable: true,
  },
  nodeTypes: ['call'],
  candidate: { reads: ['imports'], test: (call, ctx) => { const q = ctx.analysis.callee(call); return !!q && (DROPOUTS.has(q) || tf1KeepProbs(q) !== undefined); } },
  visit(call, ctx) {
    const q = ctx.analysis.callee(call);
    const keeps = q ? tf1KeepProbs(q) : undefined;
    if (keeps) {
      // TF2's `tf.nn.dropout(x, rate)` (no keep_prob keyword): the Keras-layer case.
      if (q!.endsWith('nn.dropout') && !keywordArg(call, 'keep_prob')) return checkTf2(call, ctx);
      return checkTf1(call, keeps, ctx);
    }
    if (!q || !DROPOUTS.has(q)) return;
    if (keywordArg(call, 'training') || hasKeywordSplat(call)) return;
    const pos = positionalArgs(call);
    if (pos.length >= 3 || pos.some((p) => p.type === 'list_splat')) return; // training given by position
    // Only in a method (a function defined in a class body) whose first parameter is `self`: a model's forward.
    const fn = enclosingFunction(call);
    if (!fn || !methodClass(fn)) return;
    if (fn.child('parameters')?.namedChildren[0]?.text !== 'self') return;
    if (trainingOnly(call, fn)) return;
    const args = call.child('arguments')!;
    const close = args.end - 1;
    const last = args.namedChildren[args.namedChildren.length - 1];
    const trailingComma = last ? /^\s*,/.test(ctx.source.slice(last.end, close)) : false;
    // After the last argument, or before the `)` when the arguments end with a comma.
    const edit = trailingComma ? { start: close, end: close, newText: ' training=self.training' } : { start: last!.end, end: last!.end, newText: ', training=self.training' };
    ctx.report({
      node: call,
      message: `${call.child('function')?.text ?? 'F.dropout'}() without training= keeps dropping units in eval mode: pass training=self.training.`,
      fixes: last ? [{ title: 'Pass training=self.training', edits: [edit] }] : undefined,
    });
  },
};
