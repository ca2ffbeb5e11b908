import { callsWithin, calleeName, enclosingFunction, hasKeywordSplat, keywordArg, methodClass, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import type { PyNode } from '../../parser';
import type { RawFinding, Rule } from '../../types';

// TensorFlow 1's functional layers take their mode at graph-building time: `tf.layers.dropout` and
// `tf.layers.batch_normalization` default to inference (training=False), `tf.contrib.layers.batch_norm` to training
// (is_training=True), and batch norm's moving statistics only update through the UPDATE_OPS collection. Each slip
// below trains or predicts silently in the wrong mode.

const DROPOUT = /^tensorflow\.((compat\.v1\.)?layers|python\.layers\.core)\.dropout$/;
const LAYERS_BN = /^tensorflow\.((compat\.v1\.)?layers|python\.layers\.normalization)\.batch_normalization$/;
const CONTRIB_BN = /^(tensorflow\.contrib\.(layers|slim)|tf_slim(\.layers)?|tensorflow\.contrib\.layers\.python\.layers\.layers)\.batch_norm$/;
const TF1_OPTIMIZER = /^tensorflow\.(compat\.v1\.)?train\.\w+Optimizer$/;

interface ModeLayer {
  call: PyNode;
  kind: 'dropout' | 'bn' | 'contrib-bn';
  /** The mode argument (`training=` / `is_training=`, or its positional place), when given. */
  mode: PyNode | undefined;
}

/** Where each function takes its mode: keyword and positional index. */
const MODE_ARG = { dropout: ['training', 4], bn: ['training', 14], 'contrib-bn': ['is_training', 9] } as const;

function layerKind(a: Analysis, call: PyNode): ModeLayer['kind'] | undefined {
  const q = a.callee(call);
  if (q === undefined) return undefined;
  if (DROPOUT.test(q)) return 'dropout';
  if (LAYERS_BN.test(q)) return 'bn';
  if (CONTRIB_BN.test(q)) return 'contrib-bn';
  return undefined;
}

const layersCache = new WeakMap<Analysis, ModeLayer[]>();

/** The file's TF1 dropout / batch-norm layer calls, in document order (calls with `**kwargs` left out). */
function modeLayers(a: Analysis): ModeLayer[] {
  let out = layersCache.get(a);
  if (out) return out;
  out = [];
  for (const name of ['dropout', 'batch_normalization', 'batch_norm']) {
    for (const call of a.callsNamed(name)) {
      const kind = layerKind(a, call);
      if (!kind || hasKeywordSplat(call)) continue;
      const [kw, index] = MODE_ARG[kind];
      out.push({ call, kind, mode: keywordArg(call, kw) ?? positionalArgs(call)[index] });
    }
  }
  out.sort((x, y) => x.call.start - y.call.start);
  layersCache.set(a, out);
  return out;
}

/** The TF1 optimizer steps of the file: `opt.minimize(...)` / `opt.apply_gradients(...)` on a `tf.train.*Optimizer`. */
function tf1Steps(a: Analysis): PyNode[] {
  const out: PyNode[] = [];
  for (const name of ['minimize', 'apply_gradients']) {
    for (const call of a.callsNamed(name)) {
      let r = unparen(receiver(call));
      if (r?.type === 'identifier') r = unparen(a.scopes.valueAt(r.text, r) ?? undefined);
      if (r?.type === 'call' && TF1_OPTIMIZER.test(a.callee(r) ?? '')) out.push(call);
    }
  }
  return out;
}

/**
 * The file handles batch norm's update ops itself (`tf.GraphKeys.UPDATE_OPS`, the collection by its string name, a
 * layer's `.updates`), or through a helper that does (slim's create_train_op and learning.train, optimize_loss).
 */
const HANDLER_NAMES = ['UPDATE_OPS', 'updates', 'create_train_op', 'optimize_loss', 'learning'];
function handlesUpdates(a: Analysis, source: string): boolean {
  return HANDLER_NAMES.some((n) => a.identifiersNamed(n).length > 0) || /['"]update_ops['"]/i.test(source);
}

function lineOf(n: PyNode): number {
  const src = n.src.text;
  let line = 1;
  for (let i = src.indexOf('\n'); i >= 0 && i < n.start; i = src.indexOf('\n', i + 1)) line++;
  return line;
}

/** A dropout without `training=` never drops; a batch norm without it never uses batch statistics (in a file that trains). */
function missingMode(layers: ModeLayer[], trains: boolean, report: (f: RawFinding) => void): void {
  for (const l of layers) {
    if (l.mode || l.kind === 'contrib-bn') continue;
    if (l.kind === 'dropout') {
      report({
        node: l.call,
        message:
          'tf.layers.dropout without training= never drops: training defaults to False. Pass training=is_training (a bool placeholder or the mode flag).',
      });
    } else if (trains) {
      report({
        node: l.call,
        message:
          'tf.layers.batch_normalization without training= always runs in inference mode: it never normalises with batch statistics and its moving averages never update. Pass training=is_training.',
      });
    }
  }
}

/** `tf.contrib.layers.batch_norm(x)` without is_training (outside any arg_scope): training mode at inference too. */
function contribAlwaysTraining(a: Analysis, layers: ModeLayer[], report: (f: RawFinding) => void): void {
  if (a.callsNamed('arg_scope').length) return;
  for (const l of layers) {
    if (l.kind !== 'contrib-bn' || l.mode || keywordArg(l.call, 'updates_collections')) continue;
    report({
      node: l.call,
      message:
        'batch_norm without is_training stays in training mode (is_training defaults to True): at inference it normalises with the statistics of the test batch, not the learned moving averages. Pass is_training=is_training.',
    });
  }
}

/**
 * The mode is a flag (a name or expression, not a literal): the layer trains and is also meant to run in inference
 * mode, where it reads the moving statistics. A batch norm always in training mode (pix2pix's `training=True`) never
 * reads them, so not updating them is harmless.
 */
function switchesMode(l: ModeLayer): boolean {
  if (l.kind === 'dropout') return false;
  // updates_collections=None updates the moving statistics in place.
  if (l.kind === 'contrib-bn' && unparen(keywordArg(l.call, 'updates_collections'))?.text === 'None') return false;
  const m = unparen(l.mode);
  return m !== undefined && m.text !== 'True' && m.text !== 'False';
}

/** A TF1 optimizer step in a file whose batch norms train but whose update ops nobody runs. */
function stepWithoutUpdates(a: Analysis, source: string, layers: ModeLayer[], report: (f: RawFinding) => void): void {
  const bn = layers.find(switchesMode);
  if (!bn || handlesUpdates(a, source)) return;
  for (const step of tf1Steps(a)) {
    report({
      node: step,
      message: `${calleeName(step)}() without the UPDATE_OPS control dependency: the batch norm moving mean/variance (line ${lineOf(bn.call)}) never update, so inference with training=False uses their initial values. Wrap it in tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)).`,
    });
  }
}

/** Methods of `cls` by name. */
function methodsByName(cls: PyNode): Map<string, PyNode> {
  const out = new Map<string, PyNode>();
  for (const s of cls.child('body')?.namedChildren ?? []) {
    const fn = s.type === 'decorated_definition' ? s.child('definition') : s;
    if (fn?.type === 'function_definition') out.set(fn.child('name')?.text ?? '', fn);
  }
  return out;
}

/** The methods that run `target`, directly or through `self.m()` calls of other methods. */
function buildersOf(methods: Map<string, PyNode>, target: PyNode): Set<PyNode> {
  const out = new Set([target]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const fn of methods.values()) {
      if (out.has(fn)) continue;
      const body = fn.child('body');
      const calls = body ? callsWithin(body) : [];
      if (calls.some((c) => receiver(c)?.text === 'self' && out.has(methods.get(calleeName(c) ?? '')!))) {
        out.add(fn);
        grew = true;
      }
    }
  }
  return out;
}

const runsSession = (fn: PyNode) => {
  const body = fn.child('body');
  return body !== null && body !== undefined && callsWithin(body).some((c) => calleeName(c) === 'run');
};

/**
 * `training=self.training` where `self.training` is a Python bool: the graph keeps the value it had when it was built
 * (from `__init__`); a method that flips it and runs the session without rebuilding changes nothing.
 */
function pythonBoolFlag(a: Analysis, layers: ModeLayer[], report: (f: RawFinding) => void): void {
  for (const l of layers) {
    const mode = unparen(l.mode);
    if (mode?.type !== 'attribute' || mode.child('object')?.text !== 'self') continue;
    const fn = enclosingFunction(l.call);
    const cls = methodClass(fn);
    if (!fn || !cls) continue;
    const attr = mode.child('attribute')?.text ?? '';
    const values = a.scopes.selfAttr(cls, attr);
    if (!values.length || !values.every((v) => v.text === 'True' || v.text === 'False')) continue;
    const methods = methodsByName(cls);
    const init = methods.get('__init__');
    const built = values.find((v) => enclosingFunction(v) === init);
    if (!init || !built) continue;
    const builders = buildersOf(methods, fn);
    const flip = values.find((v) => {
      const m = enclosingFunction(v);
      return v.text !== built.text && m !== undefined && m !== init && !builders.has(m) && runsSession(m);
    });
    if (!flip) continue;
    const where = enclosingFunction(flip)?.child('name')?.text ?? '';
    report({
      node: mode,
      message: `${mode.text} is a Python bool read once when the graph is built (${built.text} from __init__); setting it to ${flip.text} in ${where}() (line ${lineOf(flip)}) does not change the graph. Feed a tf.placeholder_with_default(False, shape=()) instead.`,
    });
  }
}

const GRAPH = /^tensorflow\.(compat\.v1\.)?Graph$/;
const GET_COLLECTION = /^tensorflow\.(compat\.v1\.)?get_collection$/;

/** Whether `expr` (a name or `self.x`) holds `tf.Graph()`. */
function holdsGraph(a: Analysis, expr: PyNode | undefined, at: PyNode): boolean {
  const e = unparen(expr);
  if (!e) return false;
  let values: PyNode[] = [];
  if (e.type === 'identifier') values = [a.scopes.valueAt(e.text, at) ?? undefined].filter((v): v is PyNode => !!v);
  else if (e.type === 'attribute' && e.child('object')?.text === 'self') {
    const cls = methodClass(enclosingFunction(at));
    values = cls ? a.scopes.selfAttr(cls, e.child('attribute')?.text ?? '') : [];
  }
  return values.length > 0 && values.every((v) => v.type === 'call' && GRAPH.test(a.callee(v) ?? ''));
}

/** The graph object of a `with G.as_default():` statement. */
function defaultGraphOf(stmt: PyNode): PyNode | undefined {
  if (stmt.type !== 'with_statement') return undefined;
  const clause = stmt.namedChildren.find((c) => c.type === 'with_clause');
  const call = clause ? callsWithin(clause).find((c) => calleeName(c) === 'as_default') : undefined;
  return call ? receiver(call) : undefined;
}

/** `tf.get_collection(UPDATE_OPS)` outside the `with graph.as_default():` block that built the model: an empty list. */
function updatesOutsideGraph(a: Analysis, report: (f: RawFinding) => void): void {
  for (const call of a.callsNamed('get_collection')) {
    if (!GET_COLLECTION.test(a.callee(call) ?? '') || !/UPDATE_OPS/.test(positionalArgs(call)[0]?.text ?? '')) continue;
    let inside = false;
    for (let p = call.parent; p && p.type !== 'function_definition'; p = p.parent) if (defaultGraphOf(p)) inside = true;
    const fn = enclosingFunction(call);
    if (inside || !fn) continue;
    const block = fn.child('body')?.namedChildren.find((s) => s.end < call.start && holdsGraph(a, defaultGraphOf(s), s));
    if (!block) continue;
    report({
      node: call,
      message: `get_collection(UPDATE_OPS) runs outside "with ${defaultGraphOf(block)!.text}.as_default()" (line ${lineOf(block)}), so it reads the default graph's empty collection and the batch norm moving statistics never update. Collect the update ops inside that block.`,
    });
  }
}

export const KR009: Rule = {
  meta: {
    id: 'KR009',
    name: 'tf1-training-mode-flag',
    group: 'keras',
    defaultSeverity: 'warning',
    summary:
      'TensorFlow 1 dropout / batch norm left in the wrong mode: no `training=`, a Python bool flag, or moving statistics whose UPDATE_OPS never run.',
    why:
      "TensorFlow 1's functional layers fix their mode when the graph is built. `tf.layers.dropout` and " +
      '`tf.layers.batch_normalization` default to `training=False`, so without the argument dropout never drops and batch ' +
      'norm never uses batch statistics; `tf.contrib.layers.batch_norm` defaults to `is_training=True`, so without it the ' +
      'model normalises test batches with their own statistics. A Python bool (`training=self.training`) is read once, when ' +
      'the graph is built: flipping it before `sess.run` changes nothing. And batch norm\'s moving mean/variance only update ' +
      'when the ops in `tf.GraphKeys.UPDATE_OPS` run: `optimizer.minimize(loss)` without ' +
      '`tf.control_dependencies(update_ops)`, or update ops collected outside the model\'s graph, leaves them at their ' +
      'initial values, and inference with `training=False` then fails silently. Feed the mode through a ' +
      '`tf.placeholder_with_default(False, shape=())` and run the update ops with the train op.',
    wrong:
      'import tensorflow as tf\nis_training = tf.placeholder_with_default(False, shape=())\nh = tf.layers.dense(x, 256, activation=tf.nn.relu)\nh = tf.layers.dropout(h, rate=0.5)\nh = tf.layers.batch_normalization(h, training=is_training)\nlogits = tf.layers.dense(h, 10)\nloss = tf.losses.sparse_softmax_cross_entropy(labels=y, logits=logits)\ntrain_op = tf.train.AdamOptimizer(1e-3).minimize(loss)',
    right:
      'import tensorflow as tf\nis_training = tf.placeholder_with_default(False, shape=())\nh = tf.layers.dense(x, 256, activation=tf.nn.relu)\nh = tf.layers.dropout(h, rate=0.5, training=is_training)\nh = tf.layers.batch_normalization(h, training=is_training)\nlogits = tf.layers.dense(h, 10)\nloss = tf.losses.sparse_softmax_cross_entropy(labels=y, logits=logits)\nwith tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):\n    train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)',
    concept: 'Training and inference modes: dropout and batch norm behave differently in each',
    fixable: false,
  },
  check(ctx) {
    const a = ctx.analysis;
    const report = (f: RawFinding) => ctx.report(f);
    updatesOutsideGraph(a, report);
    const layers = modeLayers(a);
    if (!layers.length) return;
    const steps = tf1Steps(a);
    missingMode(layers, steps.length > 0, report);
    contribAlwaysTraining(a, layers, report);
    pythonBoolFlag(a, layers, report);
    stepWithoutUpdates(a, ctx.source, layers, report);
  },
};
