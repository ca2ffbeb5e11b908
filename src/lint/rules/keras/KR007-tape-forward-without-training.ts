import { callsWithin, enclosingFunction, hasKeywordSplat, hasParameter, keywordArg, parameterNames, positionalArgs, unparen, type Analysis } from '../../analysis';
import { isFunctionalModelClass, kerasCallee, kerasModels, type KerasModel, type KLayer } from '../../analysis/keras';
import { methodsOf } from '../../analysis/modules';
import { parameterArguments } from '../../analysis/parameters';
import { instanceOf } from '../../analysis/tfModels';
import { elementBefore, valueBefore } from '../../analysis/values';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

// In a custom training loop, `model(x)` inside `tf.GradientTape()` without `training=True` runs Dropout and
// BatchNormalization in inference mode: the model trains without its regularisation and BN never learns statistics.

/** Dropout, noise and BatchNormalization behave differently in training (LayerNormalization does not). */
const trainingLayer = (l: KLayer) => l.kind === 'dropout' || (l.kind === 'batchnorm' && l.cls !== 'LayerNormalization');

/** Whether a Sequential or functional model holds such a layer (undefined when its layers are not all known). */
function hasTrainingLayers(m: KerasModel): boolean | undefined {
  if (m.layers.some(trainingLayer)) return true;
  return m.complete ? false : undefined;
}

/** Keras layers that behave differently in training. */
const TRAINING_LAYER = /^keras\.layers\.(BatchNormalization|Dropout|SpatialDropout[123]D|AlphaDropout|GaussianDropout|GaussianNoise)$/;

/**
 * Whether a model holds Dropout/BatchNormalization: among its known layers, or, for a functional model whose layers
 * are not all known (`keras.Model(inputs, outputs)` over blocks built by helper functions), in the function that builds
 * it and the functions of the file it calls (`x = inverted_res_block(x, ...)`, each adding a BatchNormalization).
 */
function trains(a: Analysis, m: KerasModel): boolean {
  const known = hasTrainingLayers(m);
  if (known !== undefined) return known;
  const builder = m.node.type === 'call' ? enclosingFunction(m.node) : undefined;
  return builder !== undefined && buildsTrainingLayer(a, builder, new Set(), 0);
}

function buildsTrainingLayer(a: Analysis, fn: PyNode, seen: Set<PyNode>, depth: number): boolean {
  if (seen.has(fn) || depth > 4) return false;
  seen.add(fn);
  const body = fn.child('body');
  for (const call of body ? callsWithin(body) : []) {
    if (TRAINING_LAYER.test(kerasCallee(a, call) ?? '')) return true;
    const name = call.child('function')?.type === 'identifier' ? call.child('function')!.text : undefined;
    const defs = name ? a.functions.get(name) : undefined;
    if (defs?.length === 1 && buildsTrainingLayer(a, defs[0]!, seen, depth + 1)) return true;
  }
  return false;
}

/**
 * The `keras.Model(inputs=..., outputs=...)` call an expression holds (through names, every call site of a parameter
 * and the one return of a builder function of the file), when the function building it creates Dropout or
 * BatchNormalization layers (itself or through the helpers it calls).
 */
function builtFunctional(a: Analysis, expr: PyNode | undefined, depth = 0): PyNode | undefined {
  const e = unparen(expr);
  if (!e || depth > 8) return undefined;
  if (e.type === 'identifier') {
    const v = valueBefore(a, e);
    if (v) return builtFunctional(a, v, depth + 1);
    if (v !== null || elementBefore(a, e)) return undefined;
    const args = parameterArguments(a, e);
    if (!args?.length) return undefined;
    const found = args.map((x) => builtFunctional(a, x, depth + 1));
    return found.every((f) => f !== undefined && f === found[0]) ? found[0] : undefined;
  }
  if (e.type !== 'call') return undefined;
  if (isFunctionalModelClass(kerasCallee(a, e))) {
    const builder = enclosingFunction(e);
    return builder && buildsTrainingLayer(a, builder, new Set(), 0) ? e : undefined;
  }
  const fn = e.child('function');
  const defs = fn?.type === 'identifier' ? a.functions.get(fn.text) : undefined;
  if (defs?.length !== 1) return undefined;
  const rets: PyNode[] = [];
  defs[0]!.walk((n) => {
    if (n !== defs[0] && (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition')) return false;
    if (n.type === 'return_statement' && n.namedChildren[0]) rets.push(n.namedChildren[0]);
  });
  return rets.length === 1 ? builtFunctional(a, rets[0], depth + 1) : undefined;
}

/**
 * The model a parameter holds through several levels of calls (`train(model)` calls `train_step(model, ...)`): what
 * every call site passes, followed up while each is itself a parameter, when all of them reach the same model.
 */
function passedThrough(a: Analysis, e: PyNode, depth = 0): KerasModel | undefined {
  if (e.type !== 'identifier' || depth > 4 || valueBefore(a, e) !== null) return undefined;
  const args = parameterArguments(a, e);
  if (!args?.length) return undefined;
  const k = kerasModels(a);
  let found: KerasModel | undefined;
  for (const arg of args) {
    const x = unparen(arg);
    const m = x && (k.modelAt(x, 0, true) ?? passedThrough(a, x, depth + 1));
    if (!m || (found && found !== m)) return undefined;
    found = m;
  }
  return found;
}

/**
 * How a subclassed model's Dropout/BatchNormalization layer gets its mode, at one application in the class:
 * `inherit` (no `training=`, or `training=training`: Keras's flag), `param` (`training=is_training`: a parameter of
 * `call` of the model's own), `other` (a literal, an attribute, an expression: not read).
 */
type LayerMode = { kind: 'inherit' } | { kind: 'param'; name: string } | { kind: 'other' };

/** The self attributes holding a training-dependent layer. */
function trainingAttrs(a: Analysis, cls: PyNode): Set<string> {
  const k = kerasModels(a);
  const out = new Set<string>();
  for (const attr of a.scopes.selfAttrNames(cls)) {
    if (a.scopes.selfAttr(cls, attr).some((v) => trainingLayer(k.layerOf(v, v, 'functional')))) out.add(attr);
  }
  return out;
}

function layerMode(application: PyNode): LayerMode {
  if (hasKeywordSplat(application)) return { kind: 'other' };
  const t = unparen(keywordArg(application, 'training'));
  if (!t) return { kind: 'inherit' };
  const method = enclosingFunction(application);
  if (t.type !== 'identifier' || !hasParameter(method, t.text)) return { kind: 'other' };
  if (t.text === 'training') return { kind: 'inherit' };
  return method?.child('name')?.text === 'call' ? { kind: 'param', name: t.text } : { kind: 'other' };
}

/** The modes of the class's training-dependent layers: one per application (`inherit` for a layer applied unseen). */
function layerModes(a: Analysis, cls: PyNode): LayerMode[] {
  const attrs = trainingAttrs(a, cls);
  const modes: LayerMode[] = [];
  const applied = new Set<string>();
  cls.walk((n) => {
    if (n.type !== 'call') return;
    const fn = n.child('function');
    const attr = fn?.type === 'attribute' && fn.child('object')?.text === 'self' ? fn.child('attribute')?.text : undefined;
    if (!attr || !attrs.has(attr)) return;
    applied.add(attr);
    modes.push(layerMode(n));
  });
  for (const attr of attrs) if (!applied.has(attr)) modes.push({ kind: 'inherit' });
  return modes;
}

/** The default value of a parameter of `fn`, as text ('' when it has none). */
function defaultOf(fn: PyNode | undefined, name: string): string {
  const p = fn?.child('parameters')?.namedChildren.find((c) => c.child('name')?.text === name);
  return p?.child('value')?.text ?? '';
}

/** The `call` parameters a call site gives a value (keywords, and positional arguments by position). */
function passedParameters(site: PyNode, call: PyNode | undefined): Set<string> {
  const out = new Set<string>();
  for (const c of site.child('arguments')?.namedChildren ?? []) if (c.type === 'keyword_argument') out.add(c.child('name')?.text ?? '');
  const params = call ? parameterNames(call).slice(1) : [];
  const plain = call?.child('parameters')?.namedChildren.slice(1) ?? [];
  positionalArgs(site).forEach((_, i) => {
    const p = plain[i];
    if (p && (p.type === 'identifier' || p.type === 'default_parameter' || p.type === 'typed_parameter' || p.type === 'typed_default_parameter')) out.add(params[i]!);
  });
  return out;
}

/**
 * What a call of a subclassed model inside the tape leaves in inference mode: `training` (Keras's flag: pass
 * training=True), a parameter of its own (`is_training`, False by default: pass it True), or undefined when the call
 * trains, says what it means (passes the switch, any argument named like a training flag), or is not read.
 */
function missingSwitch(a: Analysis, cls: PyNode, site: PyNode): string | undefined {
  const call = methodsOf(cls).find((m) => m.child('name')?.text === 'call');
  const passed = passedParameters(site, call);
  if ([...passed].some((p) => /train/i.test(p))) return undefined;
  const modes = layerModes(a, cls);
  if (!modes.length || modes.some((m) => m.kind === 'other')) return undefined;
  const switches = new Set(modes.map((m) => (m.kind === 'param' ? m.name : 'training')));
  if (switches.size !== 1) return undefined;
  const name = [...switches][0]!;
  if (passed.has(name)) return undefined;
  // Keras uses `call`'s own default for `training` when the caller gives none; `is_training` is plain Python.
  const d = defaultOf(call, name);
  const off = d === 'False' || d === 'None' || (d === '' && name === 'training');
  return off ? name : undefined;
}

/** A name that holds a model (`model`, `self.model`, `net`, `classifier`). */
const MODEL_NAME = /model|net|clf|classifier/i;

/** The function a parameter `name` read at `at` belongs to (an enclosing function for a closure's free name). */
function ownerOf(at: PyNode, name: string): PyNode | undefined {
  let fn = enclosingFunction(at);
  while (fn && !hasParameter(fn, name)) fn = enclosingFunction(fn);
  return fn;
}

/** A parameter of a function (or of a class's `__init__`) that the file never calls: its value comes from outside. */
function outsideParameter(a: Analysis, id: PyNode): boolean {
  if (id.type !== 'identifier' || valueBefore(a, id) !== null || elementBefore(a, id) || parameterArguments(a, id)) return false;
  const fn = ownerOf(id, id.text);
  const name = fn?.child('name')?.text;
  const owner = name === '__init__' ? fn!.ancestor('class_definition')?.child('name')?.text : name;
  return owner !== undefined && a.callsNamed(owner).length === 0;
}

/**
 * A model the file cannot see, trained in this tape's function: `model` (or `self.model = model`) a parameter of a
 * function or class the file never calls (a library's generic training step), whose `trainable_variables` the function
 * takes gradients for. Whatever model a user hands it, its Dropout/BatchNormalization train in inference mode.
 */
function unseenTrainedModel(a: Analysis, fn: PyNode, tape: PyNode): boolean {
  if (!MODEL_NAME.test(fn.text)) return false;
  const scope = enclosingFunction(tape);
  const text = scope?.text ?? '';
  if (!text.includes(`${fn.text}.trainable_variables`) && !text.includes(`${fn.text}.trainable_weights`)) return false;
  if (fn.type === 'identifier') return outsideParameter(a, fn);
  const cls = fn.ancestor('class_definition');
  const values = cls ? a.scopes.selfAttr(cls, fn.child('attribute')?.text ?? '') : [];
  return values.length > 0 && values.every((v) => outsideParameter(a, v));
}

function isTape(a: Analysis, w: PyNode): boolean {
  const clause = w.children.find((c) => c.type === 'with_clause');
  return (
    clause?.namedChildren.some((item) => {
      let e = item.namedChildren[0];
      if (e?.type === 'as_pattern') e = e.namedChildren[0];
      const q = e?.type === 'call' ? a.callee(e) : undefined;
      return q === 'tensorflow.GradientTape' || q === 'tensorflow.autodiff.GradientTape';
    }) ?? false
  );
}

/** A parameter that carries the training flag into a forward helper (`def predict(self, x, training=False)`). */
const TRAINING_PARAM = /^(training|is_training|train)$/;
/** Evidence that the stacks the file builds may hold a layer that trains differently (a config key, an import, a doc). */
const DROPOUT_TEXT = /dropout|gaussiannoise|gaussian_noise/i;

/** Whether some call of the function passes its flag as a literal True (the forward runs for training somewhere). */
function calledForTraining(a: Analysis, fn: PyNode, flag: string): boolean {
  const name = fn.child('name')?.text;
  if (!name) return false;
  if (defaultOf(fn, flag) === 'True') return true;
  return a.callsNamed(name).some((c) => keywordArg(c, flag)?.text === 'True');
}

/**
 * A forward helper that loops over its layers and hands its training flag to only some of them:
 * `for layer in self.layers: y = layer(y, training=training) if isinstance(layer, BatchNormalization) else layer(y)`.
 * The calls of the loop's layer without `training=`, when the helper is called with its flag True somewhere and the file
 * mentions dropout: every other layer (a Dropout among them) runs in inference mode while the model trains.
 */
function partialTrainingCalls(a: Analysis, source: string): { call: PyNode; flag: string }[] {
  const tf = [...a.imports.aliases.values()].some((q) => q.startsWith('tensorflow') || q.startsWith('keras'));
  if (!tf || !DROPOUT_TEXT.test(source)) return [];
  const out: { call: PyNode; flag: string }[] = [];
  for (const loop of a.loops) {
    const target = loop.child('left');
    const fn = target?.type === 'identifier' ? enclosingFunction(loop) : undefined;
    const flag = fn ? parameterNames(fn).find((p) => TRAINING_PARAM.test(p)) : undefined;
    if (!fn || !flag) continue;
    let given = false;
    const without: PyNode[] = [];
    loop.child('body')?.walk((n) => {
      if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
      if (n.type !== 'call' || n.child('function')?.text !== target!.text) return;
      const t = keywordArg(n, 'training');
      if (t?.text === flag) given = true;
      else if (!t && !hasKeywordSplat(n) && positionalArgs(n).length < 2) without.push(n);
    });
    if (given && without.length && calledForTraining(a, fn, flag)) for (const call of without) out.push({ call, flag });
  }
  return out;
}

export const KR007: Rule = {
  meta: {
    id: 'KR007',
    name: 'tape-forward-without-training',
    group: 'keras',
    defaultSeverity: 'warning',
    summary: 'A model with Dropout or BatchNormalization is called in a GradientTape without `training=True`: it trains in inference mode.',
    why:
      '`model.fit` sets the training flag for you; a custom loop does not. Called as `model(x)` inside `tf.GradientTape()`, ' +
      'Keras layers get `training=None`, which means inference: Dropout drops nothing and BatchNormalization normalises with ' +
      'its moving statistics and never updates them. The model trains without its regularisation and evaluates with ' +
      'statistics it never learned, so it overfits or behaves differently at test time. Pass `training=True` in the ' +
      'training step (and `training=False` when evaluating). A subclassed model whose `call` forwards a switch of its own ' +
      '(`call(self, x, is_training=False)` ... `training=is_training`) is in training mode when the call passes that switch; ' +
      'omitted with a False default, it is reported with the switch to pass. `training=` literals in `call` are not second-guessed. ' +
      'A generic training step whose model comes from outside the file (a parameter of a function or class the file never ' +
      'calls, whose `trainable_variables` the step updates) is reported too: any model with Dropout or BatchNormalization ' +
      'handed to it trains in inference mode. A forward helper that loops over its layers and passes its `training` flag ' +
      'to some of them only (`layer(y, training=training) if isinstance(layer, BatchNormalization) else layer(y)`) is ' +
      'reported too when it is called with the flag True and the file mentions dropout: the other layers run in inference mode. ' +
      'The model is followed through several functions it is passed to (`train(model)` calling `train_step(model, ...)`), and ' +
      'a functional `keras.Model(inputs, outputs)` counts as holding such layers when the function building it, or a helper ' +
      'of the file it calls (`x = conv_bn(x, 64)`), creates a Dropout or BatchNormalization layer.',
    wrong:
      'import tensorflow as tf\nmodel = tf.keras.Sequential([tf.keras.layers.Dense(64, activation="relu"), tf.keras.layers.Dropout(0.5), tf.keras.layers.Dense(10)])\nwith tf.GradientTape() as tape:\n    loss = loss_fn(y, model(x))',
    right:
      'import tensorflow as tf\nmodel = tf.keras.Sequential([tf.keras.layers.Dense(64, activation="relu"), tf.keras.layers.Dropout(0.5), tf.keras.layers.Dense(10)])\nwith tf.GradientTape() as tape:\n    loss = loss_fn(y, model(x, training=True))',
    concept: 'Training vs inference mode: Dropout and batch normalisation',
    fixable: true,
  },
  check(ctx) {
    const a = ctx.analysis;
    for (const { call, flag } of partialTrainingCalls(a, ctx.source)) {
      const args = call.child('arguments');
      const last = args?.namedChildren.filter((c) => c.type !== 'comment').pop();
      ctx.report({
        node: call,
        message: `${call.text} is called without training=${flag}, which this loop passes to some layers only: a Dropout among the others runs in inference mode when the model trains. Pass training=${flag} to every layer.`,
        fixes: last ? [{ title: `Pass training=${flag}`, edits: [{ start: last.end, end: last.end, newText: `, training=${flag}` }] }] : undefined,
      });
    }
    const k = kerasModels(a);
    const known = k.hasModels();
    for (const w of a.index.of('with_statement')) {
      if (!isTape(a, w)) continue;
      w.child('body')?.walk((n) => {
        if (n.type === 'function_definition' || n.type === 'lambda') return false;
        if (n.type !== 'call' || keywordArg(n, 'training') || hasKeywordSplat(n)) return;
        const fn = unparen(n.child('function'));
        const self = fn?.type === 'attribute' && fn.child('object')?.text === 'self';
        if (fn?.type !== 'identifier' && !self) return;
        // a model class of the file, also through `self.x` and a model parameter standing for the file's one model
        const cls = known ? ((!self ? k.modelClassAt(fn) : undefined) ?? instanceOf(a, fn)?.cls) : undefined;
        const m = cls || !known || self ? undefined : (k.modelAt(fn) ?? passedThrough(a, fn));
        // A `keras.Model(inputs, outputs)` the model analysis does not read (several outputs), built with such layers.
        const built = !cls && !m && !self && positionalArgs(n).length < 2 ? builtFunctional(a, fn) : undefined;
        // `model(x, True)`: the second positional argument of a Keras model's call is `training`.
        let flag = cls ? missingSwitch(a, cls, n) : (m && trains(a, m)) || built ? (positionalArgs(n).length < 2 ? 'training' : undefined) : undefined;
        const unseen = !flag && !cls && !m && positionalArgs(n).length < 2 && !instanceOf(a, fn) && unseenTrainedModel(a, fn, w);
        if (unseen) flag = 'training';
        if (!flag) return;
        const args = n.child('arguments');
        const last = args?.namedChildren.filter((c) => c.type !== 'comment').pop();
        const message = unseen
          ? `${fn.text}(...) is trained in this GradientTape but called without training=True: whatever model is passed in, its Dropout/BatchNormalization run in inference mode. Pass training=True.`
          : flag === 'training'
            ? `${fn.text}(...) has Dropout/BatchNormalization but is called without training=True inside the GradientTape: it trains in inference mode. Pass training=True.`
            : `${fn.text}(...) passes \`${flag}\` to its Dropout/BatchNormalization as training=, but is called without it inside the GradientTape: it trains in inference mode. Pass ${flag}=True.`;
        ctx.report({
          node: n,
          message,
          fixes: last ? [{ title: `Pass ${flag}=True`, edits: [{ start: last.end, end: last.end, newText: `, ${flag}=True` }] }] : undefined,
        });
      });
    }
  },
};
