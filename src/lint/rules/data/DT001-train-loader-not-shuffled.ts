import { callsWithin, calleeName, hasKeywordSplat, keywordArg, positionalArgs, unparen, type Analysis } from '../../analysis';
import { drawsOwnSamples, isIterableDataset, loadedDatasetClass, servesRandomRows } from '../../analysis/datasets';
import { constructsDataLoader } from '../../analysis/loaderClasses';
import { dictKeyOf, trainedLoadersWithEntries } from '../../analysis/loaderValues';
import { loadersReachingTraining } from '../../analysis/reachingLoaders';
import { SAMPLING_LOADERS, TRAIN, assignedName, isTrainDataset } from '../../analysis/runtime';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';

interface Unshuffled {
  ds: PyNode | undefined;
  /** Named or built as a training loader (`train_loader = ...`, `DataLoader(train_ds)`, `{"train": DataLoader(...)}`). */
  named: boolean;
  /** The sampler shuffles on one branch of a condition and is None on the other. */
  maybeNone?: MaybeNoSampler;
  /** `shuffle=False` written out in the loader a Lightning `train_dataloader()` hook returns. */
  hookNoShuffle?: PyNode;
  /** `shuffle=False` written out in a loader named for training over a training dataset. */
  trainNoShuffle?: PyNode;
}

interface MaybeNoSampler {
  /** The `sampler=` value (a name or the conditional itself). */
  sampler: PyNode;
  condition: PyNode;
  /** Whether the sampler is None when the condition is false (`X if cond else None`). */
  noneWhenFalse: boolean;
}

/** Samplers that shuffle by default. */
const SHUFFLING_SAMPLER = /^(\w*DistributedSampler|RandomSampler|SubsetRandomSampler|WeightedRandomSampler)$/;

/**
 * `sampler=s` where `s = DistributedSampler(ds) if distributed else None` (or that expression inline): when the
 * condition picks None, the loader falls back to its own `shuffle`.
 */
function samplerMaybeNone(value: PyNode, a: Analysis): MaybeNoSampler | undefined {
  const v = unparen(value);
  const cond = unparen(v?.type === 'identifier' ? (a.scopes.valueAt(v.text, v) ?? undefined) : v);
  if (cond?.type !== 'conditional_expression') return undefined;
  const [then, condition, other] = cond.namedChildren.map((c) => unparen(c));
  if (!then || !condition || !other) return undefined;
  const shuffles = (n: PyNode) => n.type === 'call' && SHUFFLING_SAMPLER.test(calleeName(n) ?? '') && keywordArg(n, 'shuffle')?.text !== 'False';
  if (other.type === 'none' && shuffles(then)) return { sampler: value, condition, noneWhenFalse: true };
  if (then.type === 'none' && shuffles(other)) return { sampler: value, condition, noneWhenFalse: false };
  return undefined;
}

const HELD_OUT_NAME = /val|valid|test|eval|pred|infer|calib/i;

/**
 * A DataLoader (torch's or PyG's) without shuffle, sampler or batch_sampler, read from the call and its assignment
 * alone: its dataset, and whether its name or dataset says it is for training.
 */
function unshuffledLoader(call: PyNode, a: Analysis): Unshuffled | false {
  const q = a.callee(call);
  const sampling = q !== undefined && SAMPLING_LOADERS.has(q);
  if (!sampling && !constructsDataLoader(call, a)) return false;
  const shuffle = keywordArg(call, 'shuffle');
  const sampler = keywordArg(call, 'sampler');
  if (keywordArg(call, 'batch_sampler') || hasKeywordSplat(call)) return false;
  // An explicit shuffle=False is a choice, unless it counts on a sampler that is sometimes None.
  const maybeNone = sampler && (!shuffle || shuffle.text === 'False') ? samplerMaybeNone(sampler, a) : undefined;
  const hookNoShuffle = shuffle?.text === 'False' && !sampler && returnedByTrainHook(call) ? shuffle : undefined;
  const trainNoShuffle = shuffle?.text === 'False' && !sampler && !hookNoShuffle && TRAIN.test(assignedName(call) ?? '') ? shuffle : undefined;
  if ((shuffle || sampler) && !maybeNone && !hookNoShuffle && !trainNoShuffle) return false;
  const args = positionalArgs(call);
  if (!sampling && args.length > 2) return false; // shuffle or sampler passed positionally
  const ds = args[0] ?? keywordArg(call, 'dataset') ?? keywordArg(call, 'data');
  if (/iter|stream/i.test(ds?.text ?? '')) return false;
  const name = assignedName(call) ?? dictKeyOf(call);
  if ((name !== undefined && HELD_OUT_NAME.test(name)) || readInPlace(call)) return false;
  const seeds = sampling ? keywordArg(call, 'input_nodes') ?? keywordArg(call, 'edge_label_index') : undefined;
  const trainSeeds = seeds !== undefined && TRAIN.test(seeds.text) && !HELD_OUT_NAME.test(seeds.text);
  if (hookNoShuffle) return { ds, named: true, hookNoShuffle };
  if (trainNoShuffle) return isTrainDataset(ds) && !HELD_OUT_NAME.test(ds?.text ?? '') ? { ds, named: true, trainNoShuffle } : false;
  return { ds, named: (name !== undefined && TRAIN.test(name)) || isTrainDataset(ds) || trainSeeds, maybeNone };
}

/**
 * The loader is what a `train_dataloader(self)` method returns (PyTorch Lightning's hook for the training batches):
 * `return DataLoader(...)`, or a name bound to it and returned.
 */
function returnedByTrainHook(call: PyNode): boolean {
  const fn = call.ancestor('function_definition');
  if (fn?.child('name')?.text !== 'train_dataloader' || !fn.ancestor('class_definition')) return false;
  if (call.parent?.type === 'return_statement') return true;
  const name = assignedName(call);
  let returned = false;
  fn.child('body')?.walk((n) => {
    if (n.type === 'function_definition' || n.type === 'class_definition') return false;
    if (n.type === 'return_statement' && n.namedChildren[0]?.text === name) returned = true;
  });
  return name !== undefined && returned;
}

/**
 * The loader is read up in place, not trained on: the iterable of a comprehension (`[x for x, _ in DataLoader(ds)]`,
 * gathering the data, e.g. for statistics) or the one batch of `next(iter(DataLoader(ds)))`.
 */
function readInPlace(call: PyNode): boolean {
  const p = call.parent;
  if (p?.type === 'for_in_clause' && p.child('right') === call) return true;
  const outer = p?.type === 'argument_list' ? p.parent : undefined;
  if (outer?.type !== 'call' || calleeName(outer) !== 'iter' || outer.child('function')?.type !== 'identifier') return false;
  const next = outer.parent?.type === 'argument_list' ? outer.parent.parent : undefined;
  return next?.type === 'call' && calleeName(next) === 'next' && next.child('function')?.type === 'identifier';
}

/** Calls that put rows in a random order: the file may shuffle its data itself before an unshuffled loader. */
const SHUFFLING_CALLS = ['shuffle', 'permutation', 'randperm', 'sample', 'permute_rows'];

function shufflesItself(a: Analysis): boolean {
  return SHUFFLING_CALLS.some((n) => a.callsNamed(n).some((c) => n !== 'sample' || keywordArg(c, 'frac') !== undefined));
}

/** Names of recurrent state carried from one batch to the next. */
const HIDDEN = /hid|state|mem|carry|^[hc][0-9nt]?$|^hc$|^h_|_h$/i;
/** Callees that combine values without being a model (`best = max(best, acc)`). */
const PLAIN_CALLS = new Set(['max', 'min', 'sum', 'abs', 'round', 'len', 'float', 'int', 'str', 'print', 'list', 'tuple', 'dict', 'sorted', 'zip', 'range', 'isinstance', 'getattr', 'hasattr', 'append', 'extend', 'update', 'add', 'add_scalar', 'log', 'format', 'item', 'step']);
/** Module-held recurrent state (`model.init_hidden(bs)`, `repackage_hidden(h)`). */
const STATE_CALLS = ['init_hidden', 'reset_hidden', 'reset_states', 'reset_state', 'repackage_hidden', 'detach_hidden', 'init_state', 'begin_state'];
/** Data whose order may matter: sequences, time series, streams of text. */
const ORDERED = /seq|series|time|temporal|window|bptt|chunk|lag|forecast|stock|price|sensor|signal|traject|episode|corpus|token|text|sentence|lang|\blm\b|_lm|lm_/i;

/**
 * The loop carries a value from one batch to the next through a call: `out, hidden = model(x, hidden)` (a name read as
 * a call's argument before the iteration assigns it). Stateful sequence training keeps batches in order on purpose.
 */
function carriesState(loop: PyNode, a: Analysis): boolean {
  if (STATE_CALLS.some((n) => a.callsNamed(n).length > 0)) return true;
  const body = loop.child('body');
  if (!body) return false;
  const firstAssigned = new Map<string, number>();
  body.walk((n) => {
    if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.type === 'assignment' || n.type === 'augmented_assignment') {
      n.child('left')?.walk((t) => {
        if (t.type === 'identifier' && !firstAssigned.has(t.text)) firstAssigned.set(t.text, n.end);
        return t.type === 'attribute' || t.type === 'subscript' ? false : undefined;
      });
    }
    return undefined;
  });
  if (firstAssigned.size === 0) return false;
  for (const c of callsWithin(body)) {
    const name = calleeName(c) ?? '';
    if (PLAIN_CALLS.has(name)) continue;
    for (const arg of c.child('arguments')?.namedChildren ?? []) {
      let carried = false;
      arg.walk((t) => {
        if (carried || t.type === 'call' || t.type === 'lambda') return false;
        if (t.type !== 'identifier' || (t.parent?.type === 'keyword_argument' && t.parent.child('name') === t)) return undefined;
        const at = firstAssigned.get(t.text);
        if (at !== undefined && t.start < at && (HIDDEN.test(t.text) || !loopTargetName(loop, t.text))) carried = true;
        return undefined;
      });
      if (carried) return true;
    }
  }
  return false;
}

function loopTargetName(loop: PyNode, name: string): boolean {
  let bound = false;
  loop.child('left')?.walk((n) => void (n.type === 'identifier' && n.text === name && (bound = true)));
  return bound;
}

/** Data that may be in a meaningful order: the dataset's text (and its binding), the loader's name, its Dataset class. */
function orderedData(call: PyNode, ds: PyNode | undefined, a: Analysis): boolean {
  const texts = [ds?.text ?? '', assignedName(call) ?? ''];
  const d = unparen(ds);
  if (d?.type === 'identifier') texts.push(a.scopes.valueAt(d.text, d)?.text ?? '');
  texts.push(loadedDatasetClass(call, a)?.name ?? '');
  return texts.some((t) => ORDERED.test(t));
}

/** `batch_size=len(ds)` / `X.shape[0]` / `X.size(0)`: one batch per epoch, where the order does not matter. */
function fullBatch(call: PyNode): boolean {
  const bs = keywordArg(call, 'batch_size') ?? positionalArgs(call)[1];
  return bs !== undefined && /\blen\(|\.shape\[0\]|\.size\(0\)|\.num_nodes\b/.test(bs.text);
}

/**
 * The loader is what a data-loader factory of the file returns (`return loader` / `return loader, dataset`): a
 * function not named for held-out data whose callers, often in other files, train on what it builds. Its calls in
 * this file, when there are some, must not all build held-out loaders (`val_loader = build_loader(val_ds)`).
 */
function returnedByFactory(call: PyNode, ds: PyNode | undefined, a: Analysis): boolean {
  const fn = call.ancestor('function_definition');
  const fnName = fn?.child('name')?.text ?? '';
  if (!fn || HELD_OUT_NAME.test(fnName) || HELD_OUT_NAME.test(ds?.text ?? '')) return false;
  const callers = a.callsNamed(fnName).filter((c) => c.start < fn.start || c.start >= fn.end);
  if (callers.length > 0 && callers.every((c) => HELD_OUT_NAME.test(c.parent?.type === 'assignment' ? c.parent.child('left')?.text ?? '' : '') || HELD_OUT_NAME.test(c.child('arguments')?.text ?? ''))) return false;
  if (call.parent?.type === 'return_statement') return true;
  const name = assignedName(call);
  if (name === undefined || call.parent?.type !== 'assignment') return false;
  let returned = false;
  fn.child('body')?.walk((n) => {
    if (returned || n.type === 'function_definition' || n.type === 'class_definition') return false;
    if (n.type !== 'return_statement') return undefined;
    const v = unparen(n.namedChildren[0]);
    const items = v?.type === 'expression_list' || v?.type === 'tuple' ? v.namedChildren : v ? [v] : [];
    if (items.some((i) => i.type === 'identifier' && i.text === name)) returned = true;
    return false;
  });
  return returned;
}

/** The finding for a loader whose sampler may be None; the fix shuffles exactly when there is no sampler. */
function samplerFinding(call: PyNode, m: MaybeNoSampler, what = 'this training DataLoader') {
  const name = m.sampler.type === 'identifier' ? m.sampler.text : 'the sampler';
  const when = `\`${m.condition.text}\` is ${m.noneWhenFalse ? 'false' : 'true'}`;
  const message = `When ${when}, ${name} is None and ${what} does not shuffle. Pass shuffle=(${name} is None).`;
  if (m.sampler.type !== 'identifier') return { node: call, message };
  const newText = `(${m.sampler.text} is None)`;
  const shuffle = keywordArg(call, 'shuffle');
  const edit = shuffle ? { start: shuffle.start, end: shuffle.end, newText } : { start: m.sampler.end, end: m.sampler.end, newText: `, shuffle=${newText}` };
  return { node: call, message, fixes: [{ title: `Shuffle when ${m.sampler.text} is None`, edits: [edit] }] };
}

export const DT001: Rule = {
  meta: {
    id: 'DT001',
    name: 'train-loader-not-shuffled',
    group: 'data',
    defaultSeverity: 'warning',
    summary: 'The training DataLoader does not shuffle (no shuffle=True, no sampler).',
    why:
      '`DataLoader` defaults to `shuffle=False`: every epoch sees the samples in the same order, often sorted by class or by ' +
      'source. Batches are then correlated, gradients are biased toward whatever came last, and the model converges slower ' +
      'or to a worse solution. Training data should be reshuffled every epoch. (An explicit `shuffle=False` is taken as a ' +
      'deliberate choice, e.g. for time series, and is not reported, unless its `sampler=` is a shuffling sampler on one ' +
      'branch of a condition and None on the other: `DistributedSampler(ds) if distributed else None` leaves the ' +
      'single-process run unshuffled, or it is the loader a PyTorch Lightning `train_dataloader()` hook returns, whose ' +
      'data does not look ordered.) A loader counts as a training loader when its name or ' +
      'dataset says so, or when a loop that steps an optimizer iterates it; a loader factory of the file (a function not ' +
      'named for held-out data that returns the loader) counts too when its sampler shuffles on one branch only. ' +
      'DataLoader subclasses of the file that keep torch\'s arguments are loaders, and so is a name bound to a choice ' +
      'between such classes. PyTorch Geometric loaders are included (PyG ' +
      'datasets such as TUDataset are stored sorted by class). A loop that carries a hidden state from one batch to the ' +
      'next (stateful sequence training) is left alone, and so is a Dataset of the file whose `__getitem__` picks its own ' +
      'sample (it ignores the index, or re-draws it at random) or whose rows are all random draws made in `__init__` ' +
      '(`self.data = torch.randn(n, d)`, read as `self.data[index]`): the loader\'s order changes nothing there.',
    wrong: 'train_loader = DataLoader(train_ds, batch_size=64)',
    right: 'train_loader = DataLoader(train_ds, batch_size=64, shuffle=True)',
    concept: 'Stochastic gradient descent: mini-batches should be random samples',
    fixable: true,
  },
  nodeTypes: ['call'],
  // The loader from its call alone; whether it is a training loader (a training loop iterates it) and whether its
  // dataset is iterable-style (shuffle=True raises) read the loops, the bindings and the file's classes.
  candidate: { reads: ['imports'], test: (call, ctx) => unshuffledLoader(call, ctx.analysis) !== false },
  visit(call, ctx) {
    const a = ctx.analysis;
    const u = unshuffledLoader(call, a);
    if (u === false || isIterableDataset(u.ds, a)) return;
    // a Dataset that picks its own sample whatever index it is asked for, or whose rows are all random draws: the
    // loader's order does not matter
    const dsClass = loadedDatasetClass(call, a);
    if (dsClass && (drawsOwnSamples(dsClass, a) || servesRandomRows(dsClass, a))) return;
    let message = 'Training DataLoader without shuffle=True: every epoch sees the same order. Add shuffle=True (or a sampler).';
    const loaders = trainedLoadersWithEntries(a);
    // Named for training, but the training loops this file shows iterate other loaders (`train_loader` only feeds an
    // evaluation of the training split, next to a `loader` that trains).
    if (u.named && loaders.size > 0 && !loaders.has(call)) return;
    if (!u.named) {
      const trained = loaders.get(call);
      // A factory's loader that shuffles through its sampler on one branch only: the branch without trains in order.
      if (!trained && u.maybeNone && !keywordArg(call, 'shuffle') && returnedByFactory(call, u.ds, a) && !fullBatch(call) && !orderedData(call, u.ds, a)) {
        ctx.report(samplerFinding(call, u.maybeNone, 'the DataLoader this function returns'));
        return;
      }
      if (!trained || fullBatch(call) || carriesState(trained.loop, a) || orderedData(call, u.ds, a)) return;
      const line = ctx.lines.position(trained.loop.start).line + 1;
      message = `This DataLoader feeds the training loop (line ${line}) without shuffle=True: every epoch sees the same order. Add shuffle=True (or a sampler).`;
    }
    if (u.maybeNone) {
      ctx.report(samplerFinding(call, u.maybeNone));
      return;
    }
    if (u.trainNoShuffle) {
      const trained = loaders.get(call) ?? loadersReachingTraining(a).get(call);
      if (!trained || fullBatch(call) || carriesState(trained.loop, a) || orderedData(call, u.ds, a) || shufflesItself(a)) return;
      const line = ctx.lines.position(trained.loop.start).line + 1;
      ctx.report({
        node: u.trainNoShuffle.parent ?? call,
        message: `The training DataLoader sets shuffle=False and feeds the training loop (line ${line}): every epoch sees the same order. Use shuffle=True.`,
        fixes: [{ title: 'Shuffle the training data', edits: [{ start: u.trainNoShuffle.start, end: u.trainNoShuffle.end, newText: 'True' }] }],
      });
      return;
    }
    if (u.hookNoShuffle) {
      // time series and other ordered data keep their order on purpose
      if (orderedData(call, u.ds, a)) return;
      ctx.report({
        node: u.hookNoShuffle.parent ?? call,
        message: 'train_dataloader() returns its DataLoader with shuffle=False: every epoch sees the training data in the same order. Use shuffle=True.',
        fixes: [{ title: 'Shuffle the training data', edits: [{ start: u.hookNoShuffle.start, end: u.hookNoShuffle.end, newText: 'True' }] }],
      });
      return;
    }
    const last = call.child('arguments')?.namedChildren.filter((c) => c.type !== 'comment').pop();
    const fixes = last ? [{ title: 'Add shuffle=True', edits: [{ start: last.end, end: last.end, newText: ', shuffle=True' }] }] : undefined;
    ctx.report({ node: call, message, fixes });
  },
};
