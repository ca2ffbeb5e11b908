import { calleeName, keywordArg, positionalArgs, type Analysis } from '../../analysis';
import { parameterArguments } from '../../analysis/parameters';
import { assignedName, sameScope } from '../../analysis/runtime';
import type { PyNode } from '../../parser';
import type { Rule, RuleContext } from '../../types';
import { pipelineAugmentations, valueOf } from './augmentation';

/** A name that says validation or test: `valid_loader`, `val_sampler`, `test_subset`, `validloader`. */
const HELD_OUT_WORD = /(?:^|_)(val|valid|validation|test|testing|holdout|dev)(?:_|$|\d|(loader|dataloader|dl|sampler|subset|set|ds)$)/i;
const SUBSET_SAMPLERS = new Set(['SubsetRandomSampler', 'SubsetSequentialSampler']);

/**
 * A sampler over given indices: torch's Subset samplers, or a Sampler subclass of the file built from an index list
 * (`class SubsetSampler(Sampler)` holding the indices it is given, `SubsetSampler(valid_idx)`).
 */
function indexSampler(a: Analysis, built: PyNode, candidate: boolean): boolean {
  const name = calleeName(built) ?? '';
  if (SUBSET_SAMPLERS.has(name)) return true;
  const fn = built.child('function');
  if (fn?.type !== 'identifier' || !a.definesClass(fn.text) || positionalArgs(built).length !== 1) return false;
  // the candidate test reads the class names only; its bases are read in visit
  return candidate || a.index.of('class_definition').some((c) => c.child('name')?.text === fn.text && /(^|[(.,\s])Sampler\s*[),]/.test(c.child('superclasses')?.text ?? ''));
}

/** The transform's augmentations of the dataset an expression names (through its bindings, `valueOf`). */
function datasetAugmentations(a: Analysis, ds: PyNode | undefined): string[] {
  const built = valueOf(a, ds);
  return built?.type === 'call' ? pipelineAugmentations(a, valueOf(a, keywordArg(built, 'transform'))) : [];
}

/**
 * The same, for a function's parameter (`def train(model, train_set, ...)`): what every call site in this file
 * passes must be built with augmentations.
 */
function receivedAugmentations(a: Analysis, ds: PyNode): string[] {
  const own = datasetAugmentations(a, ds);
  if (own.length > 0 || ds.type !== 'identifier') return own;
  const sites = parameterArguments(a, ds) ?? [];
  const each = sites.map((arg) => datasetAugmentations(a, arg));
  return each.length > 0 && each.every((r) => r.length > 0) ? each[0]! : [];
}

/**
 * The dataset a held-out part is drawn from by indices: `valid_loader = DataLoader(train_set,
 * sampler=SubsetRandomSampler(valid_idx))` or `val_ds = Subset(train_set, val_idx)`. Undefined for any other call.
 */
function heldOutSample(call: PyNode, a: Analysis, candidate = false): PyNode | undefined {
  const name = calleeName(call);
  const target = assignedName(call) ?? '';
  if (name === 'Subset' && !HELD_OUT_WORD.test(target)) return undefined;
  if (name === 'DataLoader') {
    const sampler = keywordArg(call, 'sampler');
    const built = valueOf(a, sampler);
    if (built?.type !== 'call' || !indexSampler(a, built, candidate)) return undefined;
    if (!HELD_OUT_WORD.test(target) && !(sampler?.type === 'identifier' && HELD_OUT_WORD.test(sampler.text))) return undefined;
  } else if (name !== 'Subset') return undefined;
  const dataset = positionalArgs(call)[0] ?? keywordArg(call, 'dataset');
  return dataset?.type === 'identifier' || dataset?.type === 'attribute' ? dataset : undefined;
}

/**
 * The same dataset also feeds another loader or Subset (the training part), and nobody swaps a transform later:
 * one augmented dataset split by indices into training and held-out parts.
 */
function sharedWithTraining(call: PyNode, dataset: PyNode, ctx: RuleContext): boolean {
  const others = ctx.nodesOfType('call').filter((c) => {
    if (c === call || !sameScope(c, call) || !['DataLoader', 'Subset'].includes(calleeName(c) ?? '')) return false;
    return (positionalArgs(c)[0] ?? keywordArg(c, 'dataset'))?.text === dataset.text;
  });
  const swapped = ctx.nodesOfType('assignment').some((as) => /\.transforms?$/.test(as.child('left')?.text ?? ''));
  return others.length > 0 && !swapped;
}

/**
 * The random augmentations in the transform of the dataset a `random_split(...)` splits (through the names they are
 * bound to, one step each); empty when there are none or the call is another.
 */
function splitAugmentations(call: PyNode, a: Analysis): string[] {
  return calleeName(call) === 'random_split' ? datasetAugmentations(a, positionalArgs(call)[0] ?? keywordArg(call, 'dataset')) : [];
}

export const DT008: Rule = {
  meta: {
    id: 'DT008',
    name: 'augmented-validation-split',
    group: 'data',
    defaultSeverity: 'warning',
    summary: 'A validation split of a dataset built with training augmentations (`random_split`, index samplers): it is augmented too.',
    why:
      '`random_split` returns two views of the same dataset object, so both use the transform it was built with. When ' +
      'that transform has random augmentations (random crops, flips, colour jitter...), every validation image is ' +
      'randomly altered as well: validation metrics are noisier and lower than the model really scores, and model ' +
      'selection on them is less reliable. Build the dataset twice, once with the training transform and once with ' +
      'the evaluation transform, and split the same indices into both (`torch.utils.data.Subset`). The same holds for ' +
      'index splits of one augmented dataset: `DataLoader(train_set, sampler=SubsetRandomSampler(valid_idx))` or ' +
      '`Subset(train_set, val_idx)` for validation next to the training part of the same object.',
    wrong:
      'from torchvision import datasets, transforms\ntrain_tf = transforms.Compose([transforms.RandomHorizontalFlip(), transforms.ToTensor()])\nfull = datasets.ImageFolder("data", transform=train_tf)\ntrain_ds, val_ds = torch.utils.data.random_split(full, [0.8, 0.2])',
    right:
      'from torchvision import datasets, transforms\ntrain_tf = transforms.Compose([transforms.RandomHorizontalFlip(), transforms.ToTensor()])\neval_tf = transforms.Compose([transforms.ToTensor()])\nidx = torch.randperm(len(datasets.ImageFolder("data")))\ncut = int(0.8 * len(idx))\ntrain_ds = torch.utils.data.Subset(datasets.ImageFolder("data", transform=train_tf), idx[:cut])\nval_ds = torch.utils.data.Subset(datasets.ImageFolder("data", transform=eval_tf), idx[cut:])',
    concept: 'Data augmentation: training only',
    fixable: false,
  },
  nodeTypes: ['call'],
  // random_split of a dataset built with augmentations, or a held-out index sample of a dataset; the dataset's
  // transform (through a parameter's call sites), its training part and later transform swaps read the whole file.
  candidate: {
    reads: ['scopes', 'classes'],
    // (a random_split by its name: its transform may be a list built by other statements)
    test: (call, ctx) => calleeName(call) === 'random_split' || heldOutSample(call, ctx.analysis, true) !== undefined,
  },
  visit(call, ctx) {
    const dataset = heldOutSample(call, ctx.analysis);
    if (dataset) {
      const random = receivedAugmentations(ctx.analysis, dataset);
      if (random.length === 0 || !sharedWithTraining(call, dataset, ctx)) return;
      const what = assignedName(call) ?? 'This held-out part';
      ctx.report({
        node: call,
        message: `${what} draws its indices from ${dataset.text}, which is built with training augmentations (${random.join(', ')}): validation images are augmented too. Build a second dataset with an evaluation transform and take these indices from it.`,
      });
      return;
    }
    const random = splitAugmentations(call, ctx.analysis);
    if (random.length === 0) return;
    // The splits: `train_ds, val_ds = random_split(...)`.
    const left = call.parent?.type === 'assignment' ? call.parent.child('left') : undefined;
    const splits = left?.type === 'pattern_list' || left?.type === 'tuple_pattern' ? left.namedChildren.filter((c) => c.type === 'identifier').map((c) => c.text) : [];
    // Someone swaps the transform afterwards. `val_ds.dataset.transform = ...` swaps it on the dataset both splits
    // share, so training loses its augmentations: report that. Another dataset object: leave it to the reader.
    const swaps = ctx.nodesOfType('assignment').filter((as) => as.start > call.end && /\.transforms?$/.test(as.child('left')?.text ?? ''));
    if (swaps.length) {
      const shared = swaps.find((as) => splits.includes(/^(\w+)\.dataset\.transforms?$/.exec(as.child('left')!.text)?.[1] ?? ''));
      const other = shared && splits.find((s) => s !== /^\w+/.exec(shared.child('left')!.text)![0]);
      // val_ds.dataset = copy.deepcopy(full) first: a dataset of its own
      const copied = (name: string) => ctx.nodesOfType('assignment').some((as) => as.start > call.end && as.child('left')?.text === `${name}.dataset`);
      if (shared && other && !copied(/^\w+/.exec(shared.child('left')!.text)![0])) {
        const target = shared.child('left')!;
        const split = /^\w+/.exec(target.text)![0];
        ctx.report({
          node: target,
          message: `${split}.dataset is the same object as ${other}.dataset: this also removes the training augmentations (${random.join(', ')}) from ${other}. Build a second dataset with the evaluation transform and use Subset with the same indices.`,
        });
      }
      return;
    }
    ctx.report({
      node: call,
      message: `random_split shares the dataset's transform, so the validation split gets the training augmentations (${random.join(', ')}). Build a second dataset with an evaluation transform and split the same indices (Subset).`,
    });
  },
};
