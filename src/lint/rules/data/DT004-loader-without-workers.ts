import { hasKeywordSplat, keywordArg, positionalArgs, calleeName, type Analysis } from '../../analysis';
import { loadedDatasetClass } from '../../analysis/datasets';
import { isDataLoaderCall, isTrainLoader, lastArgument, loaderDataset, runtimeFacts } from '../../analysis/runtime';
import type { PyNode } from '../../parser';
import type { Rule, RuleContext } from '../../types';

/** Calls that read or decode a file. */
const IO_QNAMES = /^(PIL\.Image\.open|cv2\.imread|imageio\.(v\d\.)?imread|skimage\.io\.imread|torchvision\.io\.(read_image|decode_image|read_video|read_file)|numpy\.load|torch\.load|librosa\.load|torchaudio\.load|soundfile\.read|pandas\.read_\w+|nibabel\.load|pydicom\.dcmread|h5py\.File)$/;
const FOLDER_DATASETS = /^torchvision\.datasets\.(ImageFolder|DatasetFolder)$/;

function readsFiles(calls: PyNode[], ctx: RuleContext): PyNode | undefined {
  return calls.find((c) => {
    const q = ctx.analysis.callee(c);
    if (q && IO_QNAMES.test(q)) return true;
    const fn = c.child('function');
    return (fn?.type === 'identifier' && fn.text === 'open' && !ctx.analysis.scopes.isBoundAnywhere('open')) || calleeName(c) === 'imread';
  });
}

/** Why this loader's dataset is expensive per item, or undefined when we cannot tell. */
function heavyDataset(loader: PyNode, ctx: RuleContext): string | undefined {
  const cls = loadedDatasetClass(loader, ctx.analysis);
  if (cls) return readsFiles(cls.calls, ctx) ? `${cls.name}.__getitem__ reads files` : undefined;
  let ds: PyNode | null | undefined = loaderDataset(loader);
  if (ds?.type === 'identifier') ds = ctx.analysis.scopes.valueAt(ds.text, ds);
  if (ds?.type === 'call') {
    const q = ctx.analysis.callee(ds);
    if (q && FOLDER_DATASETS.test(q)) return `${q.split('.').pop()} decodes an image file per item`;
  }
  return undefined;
}

/** A training DataLoader call without `num_workers` (nor `**kwargs`, nor workers given positionally). */
function trainLoaderWithoutWorkers(call: PyNode, a: Analysis): boolean {
  if (!isDataLoaderCall(call, a) || keywordArg(call, 'num_workers') || hasKeywordSplat(call) || positionalArgs(call).length > 5) return false;
  return isTrainLoader(call);
}

export const DT004: Rule = {
  meta: {
    id: 'DT004',
    name: 'loader-without-workers',
    group: 'data',
    defaultSeverity: 'info',
    summary: 'The training DataLoader reads and decodes files in the main process (no num_workers).',
    why:
      'With the default `num_workers=0` the training loop itself opens, decodes and augments every sample, one after the ' +
      'other, while the GPU waits; for image or audio files this often dominates the epoch time. `num_workers=4` (or about ' +
      'the number of CPU cores) loads the next batches in parallel worker processes. Reported only for training loaders ' +
      'whose dataset reads files per item (a Dataset of this file whose `__getitem__` opens or decodes files, `ImageFolder`); ' +
      'in-memory tensors load fast enough in the main process. With workers on Windows and macOS the script needs an ' +
      '`if __name__ == "__main__":` guard, and datasets defined in a notebook may not pickle; the quick fix is offered only ' +
      'when the guard exists.',
    wrong: 'from torchvision import datasets\ntrain_ds = datasets.ImageFolder("data/train", transform=tf)\ntrain_loader = DataLoader(train_ds, batch_size=64, shuffle=True)',
    right: 'from torchvision import datasets\ntrain_ds = datasets.ImageFolder("data/train", transform=tf)\ntrain_loader = DataLoader(train_ds, batch_size=64, shuffle=True, num_workers=4)',
    concept: 'Data loading: keep the GPU fed with parallel workers',
    fixable: true,
  },
  nodeTypes: ['call'],
  // Training DataLoaders without workers; whether their dataset reads files is found in the whole file.
  candidate: { reads: ['imports'], test: (call, ctx) => trainLoaderWithoutWorkers(call, ctx.analysis) },
  visit(call, ctx) {
    if (!trainLoaderWithoutWorkers(call, ctx.analysis)) return;
    const why = heavyDataset(call, ctx);
    if (!why) return;
    const last = lastArgument(call);
    const fixes =
      last && runtimeFacts(ctx.analysis).mainGuard ? [{ title: 'Add num_workers=4', edits: [{ start: last.end, end: last.end, newText: ', num_workers=4' }] }] : undefined;
    ctx.report({
      node: call,
      message: `Training DataLoader without num_workers while ${why}: loading runs in the training loop and stalls the GPU. Set num_workers (e.g. 4).`,
      fixes,
    });
  },
};
