import { calleeName, keywordArg, unparen, type Analysis } from '../../analysis';
import { HELD_OUT_DATA } from '../../analysis/order';
import { assignedName, stringValue } from '../../analysis/runtime';
import { scopeOf } from '../../analysis/scopes';
import type { PyNode } from '../../parser';
import type { RawFix, Rule } from '../../types';
import { augmentations } from './augmentation';

/** Dataset names that say validation / test / evaluation: DT009's, `eval_set`, and `<prefix>_test` (`cifar_test`, `ds_val`). */
function heldOutName(name: string): boolean {
  return (
    HELD_OUT_DATA.test(name) ||
    /^eval(uation)?_?(data|dataset|set|ds)?$/i.test(name) ||
    /^[a-z]\w*_(val|valid|validation|test|testing|eval)(_?(data|dataset|set|ds))?$/i.test(name)
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
 * Whether an assignment runs only on some paths to `at`: it sits in a branch, loop or try block that does not hold
 * `at` (`if train: tf = aug` / `else: tf = plain`). `if __name__ == "__main__":` counts as always run.
 */
function conditional(assignment: PyNode, at: PyNode): boolean {
  for (let p = assignment.parent; p && p.type !== 'function_definition'; p = p.parent) {
    if (p.type !== 'block' || (p.start <= at.start && at.end <= p.end)) continue;
    const owner = p.parent;
    if (!owner || owner.type === 'class_definition' || owner.type === 'with_statement') continue;
    if (owner.type === 'if_statement' && /__name__/.test(owner.child('condition')?.text ?? '')) continue;
    return true;
  }
  return false;
}

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
    if (!v) return undefined;
    const as = v.ancestor('assignment');
    if (as && conditional(as, at)) return undefined;
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
    (augmentations(right).length > 0 ? augmented : clean).add(left.text);
  }
  const names = [...clean].filter((n) => !augmented.has(n) && n !== exclude && EVAL_NAME.test(n) && !TTA.test(n));
  if (names.length !== 1) return undefined;
  const name = names[0]!;
  const v = unparen(a.scopes.valueAt(name, call) ?? undefined);
  if (!v || !isPipeline(a, v) || augmentations(v).length > 0) return undefined;
  // bound before the call, or at module level for a call inside a function
  if (v.start > call.start && scopeOf(v) === scopeOf(call)) return undefined;
  return name;
}

interface HeldOutTransform {
  call: PyNode;
  /** The `transform=` value. */
  tf: PyNode;
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
  // Held out: train=False / split="test", else a held-out name; train=True / split="train" say otherwise.
  const train = keywordArg(call, 'train')?.text;
  const split = SPLIT_KEYWORDS.map((k) => keywordArg(call, k)).find((s) => s !== undefined);
  const splitName = stringValue(unparen(split)) ?? '';
  if (train === 'True' || TRAIN_SPLIT.test(splitName)) return undefined;
  const name = assignedName(call);
  const flag = train === 'False' ? 'train=False' : HELD_OUT_SPLIT.test(splitName) ? split!.parent!.text : undefined;
  if (!flag && !(name !== undefined && heldOutName(name))) return undefined;
  if (TTA.test(name ?? '') || TTA.test(tf.text)) return undefined;
  return { call, tf, name, flag };
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
      'Build held-out datasets with a deterministic transform (Resize, CenterCrop, ToTensor, Normalize). Deliberate ' +
      'test-time augmentation is recognised by a name containing `tta`.',
    wrong:
      'from torchvision import datasets, transforms\ntrain_tf = transforms.Compose([transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip(), transforms.ToTensor()])\ntest_set = datasets.CIFAR10("data", train=False, transform=train_tf)',
    right:
      'from torchvision import datasets, transforms\ntrain_tf = transforms.Compose([transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip(), transforms.ToTensor()])\ntest_tf = transforms.Compose([transforms.ToTensor()])\ntest_set = datasets.CIFAR10("data", train=False, transform=test_tf)',
    concept: 'Data augmentation: training only',
    fixable: true,
  },
  // Visited from the `transform=` keyword (far fewer than the file's calls), then the call that holds it.
  nodeTypes: ['keyword_argument'],
  // The transform of held-out data, from the call alone; what pipeline it holds reads the bindings and branches.
  candidate: { reads: [], test: (kw) => heldOutTransform(kw) !== undefined },
  visit(kw, ctx) {
    const h = heldOutTransform(kw);
    if (!h) return;
    const { call, tf, name, flag } = h;
    const a = ctx.analysis;
    const pipeline = resolve(a, tf, call);
    const random = augmentations(pipeline);
    if (random.length === 0) return;
    const subject = name ?? `${calleeName(call) ?? 'the dataset'}(${flag})`;
    const built = pipeline === unparen(tf) ? 'a transform' : unparen(tf)!.text;
    const use = evaluationTransform(a, ctx.nodesOfType('assignment'), call, unparen(tf)!.text);
    const fixes: RawFix[] | undefined = use ? [{ title: `Use ${use}`, edits: [{ start: tf.start, end: tf.end, newText: use }] }] : undefined;
    ctx.report({
      node: tf.parent ?? tf,
      message: `${subject} is built with ${built}, which holds random augmentations (${random.slice(0, 3).join(', ')}): its scores change from run to run and understate the model. Use a transform without them.`,
      fixes,
    });
  },
};
