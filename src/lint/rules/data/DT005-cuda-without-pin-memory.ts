import { callsWithin, hasKeywordSplat, keywordArg, positionalArgs, type Analysis } from '../../analysis';
import { assignedTarget, deviceMove, isDataLoaderCall, isTrainLoader, lastArgument, mayBeCuda, sameScope } from '../../analysis/runtime';
import type { PyNode } from '../../parser';
import type { Rule, RuleContext } from '../../types';

/** `for ... in loader`, `enumerate(loader)`, `tqdm(loader, ...)`: the iterated expression. */
function iterated(loop: PyNode): PyNode | undefined {
  let it = loop.child('right');
  while (it?.type === 'call' && /^(enumerate|tqdm|iter|progress|track)$/.test(it.child('function')?.text.split('.').pop() ?? '')) it = positionalArgs(it)[0];
  return it;
}

/** A loop over the loader (same scope, or a method of the same class for `self.loader`) that moves its batches to a GPU. */
function movesBatchesToCuda(loader: PyNode, target: PyNode, ctx: RuleContext): boolean {
  const cls = target.type === 'attribute' ? loader.ancestor('class_definition') : undefined;
  for (const loop of ctx.nodesOfType('for_statement')) {
    if (iterated(loop)?.text !== target.text) continue;
    if (target.type === 'identifier' ? !sameScope(loop, loader) || loop.start < loader.end : loop.ancestor('class_definition') !== cls) continue;
    const vars = new Set<string>();
    loop.child('left')?.walk((n) => void (n.type === 'identifier' && vars.add(n.text)));
    for (const c of callsWithin(loop.child('body') ?? loop)) {
      const m = deviceMove(c);
      if (!m) continue;
      let root: PyNode | undefined = m.target;
      while (root && (root.type === 'subscript' || root.type === 'attribute')) root = root.child(root.type === 'subscript' ? 'value' : 'object');
      if (root?.type !== 'identifier' || !vars.has(root.text)) continue;
      if (!m.device || mayBeCuda(m.device, ctx.analysis)) return true;
    }
  }
  return false;
}

/** The name or attribute a training DataLoader without `pin_memory` (nor `**kwargs`, nor pinning positionally) is assigned to. */
function unpinnedTrainLoader(call: PyNode, a: Analysis): PyNode | undefined {
  if (!isDataLoaderCall(call, a) || keywordArg(call, 'pin_memory') || hasKeywordSplat(call) || positionalArgs(call).length > 7) return undefined;
  return isTrainLoader(call) ? assignedTarget(call) : undefined;
}

export const DT005: Rule = {
  meta: {
    id: 'DT005',
    name: 'cuda-without-pin-memory',
    group: 'data',
    defaultSeverity: 'info',
    summary: 'Batches of the training DataLoader are copied to the GPU from pageable memory (no pin_memory=True).',
    why:
      'Copying a tensor from ordinary (pageable) host memory to the GPU goes through an extra staging buffer and blocks. ' +
      'With `pin_memory=True` the DataLoader returns batches in page-locked memory: the host-to-device copy is faster and, ' +
      'with `.to(device, non_blocking=True)`, overlaps with computation. It is a free speed-up for GPU training and harmless ' +
      'on CPU. Reported only for training loaders whose batches this file visibly moves to CUDA (`.cuda()`, or `.to(device)` ' +
      'with a CUDA device) in a loop over the loader.',
    wrong:
      'device = torch.device("cuda" if torch.cuda.is_available() else "cpu")\ntrain_loader = DataLoader(train_ds, batch_size=64, shuffle=True)\nfor x, y in train_loader:\n    x, y = x.to(device), y.to(device)',
    right:
      'device = torch.device("cuda" if torch.cuda.is_available() else "cpu")\ntrain_loader = DataLoader(train_ds, batch_size=64, shuffle=True, pin_memory=True)\nfor x, y in train_loader:\n    x, y = x.to(device), y.to(device)',
    concept: 'Data loading: pinned memory for fast host-to-GPU copies',
    fixable: true,
  },
  nodeTypes: ['call'],
  // Assigned training DataLoaders that do not pin memory; the loops over them are found in the whole file.
  candidate: { reads: ['imports'], test: (call, ctx) => unpinnedTrainLoader(call, ctx.analysis) !== undefined },
  visit(call, ctx) {
    const target = unpinnedTrainLoader(call, ctx.analysis);
    if (!target || !movesBatchesToCuda(call, target, ctx)) return;
    const last = lastArgument(call);
    ctx.report({
      node: call,
      message: 'Training batches are moved to the GPU but the DataLoader does not pin memory: add pin_memory=True for faster (and non_blocking) copies.',
      fixes: last ? [{ title: 'Add pin_memory=True', edits: [{ start: last.end, end: last.end, newText: ', pin_memory=True' }] }] : undefined,
    });
  },
};
