import { calleeName, keywordArg, positionalArgs, unparen, type Analysis } from '../../analysis';
import { datasetClasses } from '../../analysis/datasets';
import { onSomePaths } from '../../analysis/listBuilds';
import { HELD_OUT_DATA } from '../../analysis/order';
import { parameterArguments } from '../../analysis/parameters';
import { fileFunctionOf } from '../../analysis/calls';
import { reachingDefs } from '../../analysis/reaching';
import { assignedName, stringValue } from '../../analysis/runtime';
import { scopeOf } from '../../analysis/scopes';
import type { PyNode } from '../../parser';
import type { RawFix, Rule, RuleContext } from '../../types';
import { builderAugmentations, pipelineAugmentations, saysTraining } from './augmentation';

/** Dataset names that say validation / test / evaluation: DT009's, `eval_set`, and `<prefix>_test` (`cifar_test`, `ds_val`). */
function heldOutName(full: string): boolean {
  // test_ds2, val_dataset_1: numbered copies
  const name = full.replace(/_?\d+$/, '');
  return (
    HELD_OUT_DATA.test(name) ||
    /^eval(uation)?_?(data|dataset|set|ds)?$/i.test(name) ||
    /^[a-z]\w*_(val|valid|validation|test|testing|eval)(_?(data|dataset|set|ds))?$/i.test(name) ||
    // camelCase: datasetVal, cifarTestSet (not trainVal, isTest)
    (/^[a-z][a-zA-Z0-9]*(Val|Valid|Validation|Test|Testing|Eval)(Data|Dataset|Set|Ds)?$/.test(name) && !/train|^(is|do|use|run|with)[A-Z]/i.test(name))
  );
}
/** `split=` / `image_set=` values of held-out and of training splits. */
const HELD_OUT_SPLIT = /^(val|valid|validation|test|testing|dev|eval|holdout)$/i;
const TRAIN_SPLIT = /^(train|training|trainval)$/i;
/** Transform names that say evaluation: `test_transform`, `val_tf`, `eval_transforms`, `transform_test`, `valTransform`. */
const EVAL_NAME = /(?:^|_)(val|valid|validation|test|testing|eval|evaluation)(?:_|$)|^(val|valid|test|eval)[A-Z0-9]|[a-z](Val|Valid|Test|Eval)(?:[A-Z0-9]|$)/;
/** Explicit test-time augmentation: `tta_transform`, `test_set_tta`, `TTA`. */
const TTA = /(?:^|[^a-zA-Z])tta(?![a-z])|TTA/;
const SPLIT_KEYWORDS = ['split', 'image_set'];

/**
 * The transform pipeline an expression holds: through names bound by assignment (a few steps) and
 * `transforms_dict["train"]` of a dict literal. Undefined when unknown (a parameter, a branch-dependent binding,
 * `aug if train else plain`).
 */
function resolve(a: Analysis, expr: PyNode | undefined, at: PyNode, depth = 0): PyNode | undefined {
  const e = unparen(expr);
  if (!e || depth > 4) return undefined;
  if (e.type === 'identifier') {
    const v = a.scopes.valueAt(e.text, e);
    if (v === null) return resolveParameter(a, e, depth);
    if (!v) return undefined;
    const as = v.ancestor('assignment');
    if (as && onSomePaths(as, at)) return undefined;
    return resolve(a, v, at, depth + 1);
  }
  if (e.type === 'subscript') {
    const key = stringValue(unparen(e.child('subscript')));
    const dict = key === undefined ? undefined : resolve(a, e.child('value'), at, depth + 1);
    if (dict?.type !== 'dictionary') return undefined;
    const pair = dict.namedChildren.find((p) => p.type === 'pair' && stringValue(unparen(p.child('key'))) === key);
    return resolve(a, pair?.child('value'), at, depth + 1);
  }
  if (e.type === 'conditional_expression' || e.type === 'boolean_operator') return undefined;
  return e;
}

/**
 * The random augmentations of the pipeline an argument resolves to; for an instance of a transform class or the
 * result of a builder function of the file, those its code sets up, when it is the training variant (`saysTraining`).
 */
function transformAugmentations(a: Analysis, passed: PyNode, pipeline: PyNode | undefined): string[] {
  const found = pipelineAugmentations(a, pipeline);
  if (found.length > 0 || pipeline?.type !== 'call' || (a.callee(pipeline) ?? '').startsWith('torchvision.')) return found;
  return saysTraining(passed, pipeline) ? builderAugmentations(a, pipeline) : [];
}

/**
 * A parameter of a function of the file (a loader factory: `def loaders(train_tf, val_tf)`): what every call site
 * passes for it, resolved where it stands, when all of them resolve and agree on having random augmentations or not.
 */
function resolveParameter(a: Analysis, id: PyNode, depth: number): PyNode | undefined {
  const args = parameterArguments(a, id);
  if (!args?.length) return undefined;
  const values = args.map((arg) => resolve(a, arg, arg, depth + 1));
  if (values.some((v) => v === undefined)) return undefined;
  const augmented = values.map((v, i) => transformAugmentations(a, args[i]!, v).length > 0);
  return augmented.every((x) => x === augmented[0]) ? values[0] : undefined;
}

/** A transform pipeline: `Compose([...])` (any library), or a torchvision transform. */
function isPipeline(a: Analysis, n: PyNode | undefined): boolean {
  return n?.type === 'call' && (calleeName(n) === 'Compose' || (a.callee(n) ?? '').startsWith('torchvision.transforms.'));
}

/**
 * The one evaluation transform the file binds, to use instead: the only name that says val/test/eval, is bound to a
 * pipeline without random augmentation (and never to one with), and holds that pipeline at `call`.
 */
function evaluationTransform(a: Analysis, assignments: readonly PyNode[], call: PyNode, exclude: string): string | undefined {
  const clean = new Set<string>();
  const augmented = new Set<string>();
  for (const as of assignments) {
    const left = as.child('left');
    const right = unparen(as.child('right'));
    if (left?.type !== 'identifier' || !isPipeline(a, right)) continue;
    (pipelineAugmentations(a, right).length > 0 ? augmented : clean).add(left.text);
  }
  const names = [...clean].filter((n) => !augmented.has(n) && n !== exclude && EVAL_NAME.test(n) && !TTA.test(n));
  if (names.length !== 1) return undefined;
  const name = names[0]!;
  const v = unparen(a.scopes.valueAt(name, call) ?? undefined);
  if (!v || !isPipeline(a, v) || pipelineAugmentations(a, v).length > 0) return undefined;
  // bound before the call, or at module level for a call inside a function
  if (v.start > call.start && scopeOf(v) === scopeOf(call)) return undefined;
  return name;
}

/** A branch condition that chooses the augmentation itself (`if args.val_aug:`, `if tta:`): an option, not a slip. */
const AUGMENT_OPTION = /aug|tta|train|random|same|jitter|crop|flip|noise/i;

/** The conditions of the `if` statements (every clause) around `n`, inside its function. */
function branchConditions(n: PyNode): string[] {
  const out: string[] = [];
  for (let p = n.parent; p && p.type !== 'function_definition' && p.type !== 'module'; p = p.parent) {
    if (p.type !== 'if_statement') continue;
    out.push(p.child('condition')?.text ?? '');
    for (const c of p.namedChildren) if (c.type === 'elif_clause') out.push(c.child('condition')?.text ?? '');
  }
  return out;
}

interface BranchSlip {
  /** The training-named value the held-out transform gets in one branch. */
  value: PyNode;
  random: string[];
}

/**
 * An evaluation-named transform bound in the branches of an `if` that chooses something else (the model family, the
 * dataset): one branch gives it a training-named pipeline with random augmentations (`val_tf = get_train_transforms()`,
 * `val_tf = train_tf`) while another gives it a clean one. The branches show the intent, the slip breaks it.
 */
function branchSlip(a: Analysis, tf: PyNode): BranchSlip | undefined {
  const id = unparen(tf);
  if (id?.type !== 'identifier' || !EVAL_NAME.test(id.text) || TTA.test(id.text)) return undefined;
  const defs = reachingDefs(id);
  if (!defs || defs.length < 2 || defs.some((d) => !d.value || d.index !== undefined)) return undefined;
  let slip: BranchSlip | undefined;
  let clean = false;
  for (const d of defs) {
    const value = unparen(d.value)!;
    // resolved where the branch binds it: `eval_tf = train_tf` reads the same branch's train_tf
    const pipeline = resolve(a, value, value);
    if (!pipeline) return undefined;
    const random = transformAugmentations(a, value, pipeline);
    if (random.length === 0) {
      // clean as far as the code shows: a pipeline, or a builder of the file without random transforms
      const fileBuilt = pipeline.type === 'call' && (fileFunctionOf(pipeline, a) !== undefined || a.definesClass(calleeName(pipeline) ?? ''));
      if (isPipeline(a, pipeline) || (fileBuilt && builderAugmentations(a, pipeline).length === 0)) clean = true;
      continue;
    }
    const named = value.type === 'identifier' ? value.text : value.type === 'call' ? calleeName(value) : undefined;
    if (!named || !/train/i.test(named)) return undefined;
    if (branchConditions(value).some((c) => AUGMENT_OPTION.test(c))) return undefined;
    slip ??= { value, random };
  }
  return clean ? slip : undefined;
}

interface HeldOutTransform {
  call: PyNode;
  /** The `transform=` value, or the positional argument that is the transform. */
  tf: PyNode;
  /** the transform is passed positionally (`ImageFolder(root, tf)`, `MyDataset(df, tf)`) */
  positional: boolean;
  /** The name the dataset is assigned to. */
  name: string | undefined;
  /** `train=False` or the held-out `split=` keyword, when the call says it builds held-out data. */
  flag: string | undefined;
}

/**
 * The `transform=` keyword of a call that builds held-out data (`train=False`, a held-out `split=`, or assigned to a
 * held-out name), not test-time augmentation: read from the call and its assignment alone.
 */
function heldOutTransform(kw: PyNode): HeldOutTransform | undefined {
  const key = kw.child('name');
  if (!key || key.end - key.start !== 9 || key.text !== 'transform') return undefined;
  const call = kw.parent?.parent;
  if (call?.type !== 'call') return undefined;
  const tf = keywordArg(call, 'transform');
  if (!tf) return undefined;
  return heldOut(call, tf, keywordArg(call, 'train')?.text, false);
}

/** torchvision datasets whose transform comes positionally: its index, and the index of `train` before it. */
const TV_POSITIONS: Record<string, { transform: number; train?: number }> = {
  ImageFolder: { transform: 1 },
  CIFAR10: { transform: 2, train: 1 },
  CIFAR100: { transform: 2, train: 1 },
  MNIST: { transform: 2, train: 1 },
  FashionMNIST: { transform: 2, train: 1 },
  KMNIST: { transform: 2, train: 1 },
};

/** `__init__` parameters that take the transform of a Dataset class of the file. */
const TRANSFORM_PARAM = /^(transforms?|tfms?|tf|trans|augs?|augment\w*|augmentations?|\w+_(transforms?|tfms?|tf))$/;

function paramName(p: PyNode): string | undefined {
  if (p.type === 'identifier') return p.text;
  if (p.type === 'default_parameter' || p.type === 'typed_default_parameter') return p.child('name')?.text;
  if (p.type === 'typed_parameter') return p.namedChildren.find((c) => c.type === 'identifier')?.text;
  return undefined;
}

/** The positional index of the transform parameter of a file class's `__init__` (self excluded). */
function classTransformIndex(cls: PyNode): number | undefined {
  for (const s of cls.child('body')?.namedChildren ?? []) {
    const f = s.type === 'decorated_definition' ? s.child('definition') : s;
    if (f?.type !== 'function_definition' || f.child('name')?.text !== '__init__') continue;
    const params = (f.child('parameters')?.namedChildren ?? []).filter((p) => p.type !== 'comment');
    const names: string[] = [];
    for (const p of params.slice(1)) {
      const n = paramName(p);
      if (n === undefined) return undefined; // *args, keyword-only marker: positions beyond are unknown
      names.push(n);
    }
    const i = names.findIndex((n) => TRANSFORM_PARAM.test(n));
    return i < 0 ? undefined : i;
  }
  return undefined;
}

/**
 * A held-out dataset built with its transform passed positionally: `ImageFolder("val", tf)`, `CIFAR10(root, False, tf)`,
 * or a Dataset class of the file (`test_ds = MyDataset(df, tf)`). `cls`, given, maps the arguments of a file class;
 * without it, a file class is only a candidate (from the call alone).
 */
function positionalTransform(call: PyNode, a: Analysis, classes?: (name: string) => PyNode | undefined): HeldOutTransform | undefined {
  if (keywordArg(call, 'transform')) return undefined;
  const args = positionalArgs(call);
  if (args.length === 0) return undefined;
  const q = a.callee(call);
  const tv = q?.startsWith('torchvision.datasets.') ? TV_POSITIONS[q.split('.').pop()!] : undefined;
  if (tv) {
    const tf = args[tv.transform];
    return tf ? heldOut(call, tf, tv.train === undefined ? keywordArg(call, 'train')?.text : args[tv.train]?.text, true) : undefined;
  }
  const fn = call.child('function');
  if (fn?.type !== 'identifier' || !a.definesClass(fn.text)) return undefined;
  // the candidate test: which argument is the transform is read in visit
  if (!classes) return heldOut(call, undefined, keywordArg(call, 'train')?.text, true);
  const cls = classes(fn.text);
  const i = cls ? classTransformIndex(cls) : undefined;
  const tf = i === undefined ? undefined : args[i];
  return tf ? heldOut(call, tf, keywordArg(call, 'train')?.text, true) : undefined;
}

function heldOut(call: PyNode, tf: PyNode | undefined, train: string | undefined, positional: boolean): HeldOutTransform | undefined {
  // Held out: train=False / split="test", else a held-out name; train=True / split="train" say otherwise.
  const split = SPLIT_KEYWORDS.map((k) => keywordArg(call, k)).find((s) => s !== undefined);
  const splitName = stringValue(unparen(split)) ?? '';
  if (train === 'True' || TRAIN_SPLIT.test(splitName)) return undefined;
  const name = assignedName(call);
  const flag = train === 'False' ? 'train=False' : HELD_OUT_SPLIT.test(splitName) ? split!.parent!.text : undefined;
  if (!flag && !(name !== undefined && heldOutName(name))) return undefined;
  if (TTA.test(name ?? '') || (tf && TTA.test(tf.text))) return undefined;
  return { call, tf: tf ?? call, positional, name, flag };
}

/** Keras ImageDataGenerator keywords that augment at random, unless set to their no-op value. */
const KERAS_AUGMENT = new Set(['rotation_range', 'width_shift_range', 'height_shift_range', 'brightness_range', 'shear_range', 'zoom_range', 'channel_shift_range', 'horizontal_flip', 'vertical_flip', 'augment']);
const NO_OP = /^(0(\.0*)?|\.0+|None|False|[[(]\s*1(\.0*)?\s*,\s*1(\.0*)?\s*[\])])$/;
const KERAS_GENERATORS = new Set(['ImageDataGenerator', 'ImageDataAugmentor']);
const FLOW_METHODS = new Set(['flow', 'flow_from_directory', 'flow_from_dataframe']);

interface HeldOutFlow {
  call: PyNode;
  generator: PyNode;
  /** What the flow yields: its name, or the call as written with its subset. */
  subject: string;
  /** Where to report: the `subset=` argument, else the call. */
  at: PyNode;
}

/**
 * `gen.flow_from_directory(..., subset="validation")` (or `flow` / `flow_from_dataframe`), or one assigned to a held-out
 * name or passed as `validation_data=`: read from the call alone.
 */
function heldOutFlow(call: PyNode): HeldOutFlow | undefined {
  const method = calleeName(call);
  const generator = call.child('function')?.child('object');
  if (!method || !FLOW_METHODS.has(method) || !generator) return undefined;
  const subsetArg = keywordArg(call, 'subset');
  const subset = stringValue(unparen(subsetArg));
  if (subset !== undefined && subset !== 'validation') return undefined;
  const name = assignedName(call);
  if (TTA.test(name ?? '')) return undefined;
  const kw = call.parent?.type === 'keyword_argument' ? call.parent.child('name')?.text : undefined;
  if (subset === undefined && !(name !== undefined && heldOutName(name)) && kw !== 'validation_data') return undefined;
  const subject = name ?? (subsetArg ? `${generator.text}.${method}(${subsetArg.parent!.text})` : `validation_data=${generator.text}.${method}(...)`);
  return { call, generator, subject, at: subsetArg?.parent ?? call };
}

/** The ImageDataGenerator a flow's generator is bound to, and its random augmentation keywords. */
function kerasAugmentations(a: Analysis, flow: HeldOutFlow): { cls: string; random: string[] } | undefined {
  const ctor = resolve(a, flow.generator, flow.call);
  if (ctor?.type !== 'call') return undefined;
  const cls = calleeName(ctor);
  if (!cls || !KERAS_GENERATORS.has(cls)) return undefined;
  const random: string[] = [];
  for (const arg of ctor.child('arguments')?.namedChildren ?? []) {
    const key = arg.type === 'keyword_argument' ? arg.child('name')?.text : undefined;
    const value = arg.child('value')?.text ?? '';
    if (key && KERAS_AUGMENT.has(key) && !NO_OP.test(value.replace(/\s+/g, ''))) random.push(key);
  }
  return { cls, random };
}

function reportKerasFlow(a: Analysis, flow: HeldOutFlow, report: (node: PyNode, message: string) => void): void {
  const gen = kerasAugmentations(a, flow);
  if (!gen?.random.length) return;
  report(
    flow.at,
    `${flow.subject} comes from ${flow.generator.text}, an ${gen.cls} with random augmentation (${gen.random.slice(0, 3).join(', ')}): its scores change from run to run and understate the model. Use a second ${gen.cls} with only rescale for it (same validation_split and seed).`,
  );
}

/** `val_transform = train_transform`: an evaluation-named transform bound to another name (read from the assignment). */
function evaluationAlias(asg: PyNode): { alias: PyNode; source: PyNode } | undefined {
  const left = asg.child('left');
  const right = unparen(asg.child('right'));
  if (left?.type !== 'identifier' || right?.type !== 'identifier' || !EVAL_NAME.test(left.text) || TTA.test(left.text)) return undefined;
  return /transform|tfm|tf$|aug/i.test(left.text) ? { alias: left, source: right } : undefined;
}

/**
 * Where an alias is handed, holding this binding, to a call DT010's other checks do not follow: an imported loader
 * factory (`load_loaders(..., train_tf, val_tf)`), not a `transform=` keyword, a torchvision dataset or a function or
 * class of the file (those are followed to the dataset they build).
 */
function aliasHandedOn(asg: PyNode, name: string, ctx: RuleContext): PyNode | undefined {
  const a = ctx.analysis;
  const value = asg.child('right');
  for (const call of ctx.nodesOfType('call')) {
    if (call.start < asg.end || scopeOf(call) !== scopeOf(asg)) continue;
    const arg = call.child('arguments')?.namedChildren.find((x) => (x.type === 'keyword_argument' ? unparen(x.child('value')) : x)?.text === name);
    if (!arg || (arg.type === 'keyword_argument' && arg.child('name')?.text === 'transform')) continue;
    const fn = call.child('function');
    if ((fn?.type === 'identifier' && a.definesClass(fn.text)) || fileFunctionOf(call, a) || (a.callee(call) ?? '').startsWith('torchvision.')) continue;
    if (a.scopes.valueAt(name, call) !== value) continue;
    return call;
  }
  return undefined;
}

/** How a message names the transform: its text, and for a parameter, what the call site passes (`val_tf, given aug at line 12`). */
function describeTransform(tf: PyNode, ctx: RuleContext): string {
  const args = tf.type === 'identifier' && ctx.analysis.scopes.valueAt(tf.text, tf) === null ? parameterArguments(ctx.analysis, tf) : undefined;
  const first = args?.[0];
  if (!first || first.text === tf.text) return tf.text;
  return `${tf.text} (given ${first.text} at line ${ctx.source.slice(0, first.start).split('\n').length})`;
}

function reportEvaluationAlias(asg: PyNode, ctx: RuleContext): void {
  const alias = evaluationAlias(asg);
  if (!alias) return;
  const a = ctx.analysis;
  const pipeline = resolve(a, alias.source, asg);
  const random = transformAugmentations(a, alias.source, pipeline);
  if (random.length === 0) return;
  const call = aliasHandedOn(asg, alias.alias.text, ctx);
  // `if args.same_aug: val_tf = train_tf`: an option, not a mistake
  if (!call || onSomePaths(asg, call)) return;
  const line = ctx.source.slice(0, call.start).split('\n').length;
  ctx.report({
    node: asg,
    message: `${alias.alias.text} is ${alias.source.text}, which holds random augmentations (${random.slice(0, 3).join(', ')}), and goes to ${calleeName(call) ?? 'a call'}() (line ${line}) for held-out data: its scores change from run to run. Build an evaluation transform without them.`,
  });
}

export const DT010: Rule = {
  meta: {
    id: 'DT010',
    name: 'held-out-data-augmented',
    group: 'data',
    defaultSeverity: 'warning',
    summary: 'A validation or test dataset built with the training transform: its images are randomly augmented.',
    why:
      'Random augmentations (random crops, flips, rotations, colour jitter...) belong to training. A validation or ' +
      'test dataset built with the same transform scores randomly altered images: its accuracy is lower than the ' +
      "model's real accuracy and changes from run to run, so model selection and the reported result are both off. " +
      'Build held-out datasets with a deterministic transform (Resize, CenterCrop, ToTensor, Normalize). The transform is ' +
      'followed through names, the parameters of a loader factory of the file, transform classes and builder functions of ' +
      'the file (their training variant: `train_tf`, `train=True`), and `val_tf = train_tf` handed to an imported factory. An evaluation transform that one branch of an `if` on something ' +
      'else (the model family) binds to a training builder while another binds a clean one is reported too. Deliberate ' +
      'test-time augmentation is recognised by a name containing `tta`. In Keras, one `ImageDataGenerator(rotation_range=..., ' +
      'horizontal_flip=True, validation_split=0.2)` that also yields `subset="validation"` augments the validation ' +
      'images: give validation its own generator with only `rescale`.',
    wrong:
      'from torchvision import datasets, transforms\ntrain_tf = transforms.Compose([transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip(), transforms.ToTensor()])\ntest_set = datasets.CIFAR10("data", train=False, transform=train_tf)',
    right:
      'from torchvision import datasets, transforms\ntrain_tf = transforms.Compose([transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip(), transforms.ToTensor()])\ntest_tf = transforms.Compose([transforms.ToTensor()])\ntest_set = datasets.CIFAR10("data", train=False, transform=test_tf)',
    concept: 'Data augmentation: training only',
    fixable: true,
  },
  // Visited from the `transform=` keyword, then the call that holds it; and from calls that pass it positionally.
  nodeTypes: ['keyword_argument', 'call', 'assignment'],
  // The transform of held-out data, from the call alone (a file class's own call is a candidate by its name); what
  // pipeline it holds reads the bindings, branches and the class's __init__.
  candidate: {
    reads: ['imports', 'classes'],
    test: (n, ctx) =>
      n.type === 'assignment'
        ? evaluationAlias(n) !== undefined
        : (n.type === 'call' ? (heldOutFlow(n) ?? positionalTransform(n, ctx.analysis)) : heldOutTransform(n)) !== undefined,
  },
  visit(n, ctx) {
    const a = ctx.analysis;
    if (n.type === 'assignment') return reportEvaluationAlias(n, ctx);
    const flow = n.type === 'call' ? heldOutFlow(n) : undefined;
    if (flow) return reportKerasFlow(a, flow, (node, message) => ctx.report({ node, message }));
    const h =
      n.type === 'call'
        ? positionalTransform(n, a, (name) => datasetClasses(a).find((d) => d.name === name)?.node)
        : heldOutTransform(n);
    if (!h) return;
    const { call, tf, name, flag } = h;
    const pipeline = resolve(a, tf, call);
    const random = transformAugmentations(a, tf, pipeline);
    const subject = name ?? `${calleeName(call) ?? 'the dataset'}(${flag})`;
    if (random.length === 0) {
      const slip = branchSlip(a, tf);
      if (!slip) return;
      const line = ctx.source.slice(0, slip.value.start).split('\n').length;
      ctx.report({
        node: h.positional ? tf : (tf.parent ?? tf),
        message: `${subject} is built with ${unparen(tf)!.text}, which one branch binds to ${slip.value.text} (line ${line}), holding random augmentations (${slip.random.slice(0, 3).join(', ')}), where the other branch uses a clean one: its scores change from run to run. Use the evaluation transform in that branch too.`,
      });
      return;
    }
    const built = pipeline === unparen(tf) ? 'a transform' : describeTransform(unparen(tf)!, ctx);
    // a factory's parameter: the fix belongs at its call sites, not here
    const viaParameter = unparen(tf)?.type === 'identifier' && a.scopes.valueAt(unparen(tf)!.text, tf) === null;
    const use = viaParameter ? undefined : evaluationTransform(a, ctx.nodesOfType('assignment'), call, unparen(tf)!.text);
    const fixes: RawFix[] | undefined = use ? [{ title: `Use ${use}`, edits: [{ start: tf.start, end: tf.end, newText: use }] }] : undefined;
    ctx.report({
      node: h.positional ? tf : (tf.parent ?? tf),
      message: `${subject} is built with ${built}, which holds random augmentations (${random.slice(0, 3).join(', ')}): its scores change from run to run and understate the model. Use a transform without them.`,
      fixes,
    });
  },
};
