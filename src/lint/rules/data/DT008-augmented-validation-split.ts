import { calleeName, keywordArg, positionalArgs, type Analysis } from '../../analysis';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';
import { augmentations, valueOf } from './augmentation';

/**
 * The random augmentations in the transform of the dataset a `random_split(...)` splits (through the names they are
 * bound to, one step each); empty when there are none or the call is another.
 */
function splitAugmentations(call: PyNode, a: Analysis): string[] {
  if (calleeName(call) !== 'random_split') return [];
  const dataset = valueOf(a, positionalArgs(call)[0] ?? keywordArg(call, 'dataset'));
  if (dataset?.type !== 'call') return [];
  return augmentations(valueOf(a, keywordArg(dataset, 'transform')));
}

export const DT008: Rule = {
  meta: {
    id: 'DT008',
    name: 'augmented-validation-split',
    group: 'data',
    defaultSeverity: 'warning',
    summary: '`random_split` of a dataset built with training augmentations: the validation split is augmented too.',
    why:
      '`random_split` returns two views of the same dataset object, so both use the transform it was built with. When ' +
      'that transform has random augmentations (random crops, flips, colour jitter...), every validation image is ' +
      'randomly altered as well: validation metrics are noisier and lower than the model really scores, and model ' +
      'selection on them is less reliable. Build the dataset twice, once with the training transform and once with ' +
      'the evaluation transform, and split the same indices into both (`torch.utils.data.Subset`).',
    wrong:
      'from torchvision import datasets, transforms\ntrain_tf = transforms.Compose([transforms.RandomHorizontalFlip(), transforms.ToTensor()])\nfull = datasets.ImageFolder("data", transform=train_tf)\ntrain_ds, val_ds = torch.utils.data.random_split(full, [0.8, 0.2])',
    right:
      'from torchvision import datasets, transforms\ntrain_tf = transforms.Compose([transforms.RandomHorizontalFlip(), transforms.ToTensor()])\neval_tf = transforms.Compose([transforms.ToTensor()])\nidx = torch.randperm(len(datasets.ImageFolder("data")))\ncut = int(0.8 * len(idx))\ntrain_ds = torch.utils.data.Subset(datasets.ImageFolder("data", transform=train_tf), idx[:cut])\nval_ds = torch.utils.data.Subset(datasets.ImageFolder("data", transform=eval_tf), idx[cut:])',
    concept: 'Data augmentation: training only',
    fixable: false,
  },
  nodeTypes: ['call'],
  // random_split of a dataset built with augmentations; whether its transform is swapped later reads the whole file.
  candidate: { reads: ['scopes'], test: (call, ctx) => splitAugmentations(call, ctx.analysis).length > 0 },
  visit(call, ctx) {
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
