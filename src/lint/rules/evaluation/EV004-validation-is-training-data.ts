import { callsWithin, calleeName, enclosingFunction, keywordArg, parameterNames, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { calledDefinition, evaluation } from '../../analysis/evaluation';
import { reachableCalls } from '../../analysis/order';
import { splitPartOf } from '../../analysis/splitParts';
import { sameScope } from '../../analysis/runtime';
import { isBackward, isOptimizerStep } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { RawFinding, Rule, RuleContext } from '../../types';
import { loopHeader } from './EV003-eval-without-no-grad';

const TRAIN_NAME =
  /^(train|training|trn)(_?(set|data|dataset|ds|loader|dataloader|dl|images|imgs|x|y|inputs|labels|targets|gen|generator))?$|^(x|y|X|Y)_?(train|trn|tr)$|^(set|data|dataset|ds|loader|dataloader|data_loader|dl)_(train|training|trn)$/;
/** A held-out metric: `val_loss`, `test_acc`, `valid_f1`. */
const VAL_METRIC = /^(val|valid|validation|test|testing)_?(loss|acc|accuracy|score|f1|auc|metrics?|err|error|ppl)$/i;
/** A list of held-out metrics: `test_acc_hist`, `val_losses`, `valid_acc_list`. */
const VAL_METRIC_LIST = /^(val|valid|validation|test|testing)_?(loss|acc|accuracy|score|f1|auc|err|error|ppl)(e?s|_?(hist|history|list|log|curve)s?)$/i;
const TRAIN_LOADER = /^(train|training|trn)_?(loader|dataloader|dl|data_?loader|iter|iterator|ds|dataset|set|data)$|^(loader|dataloader|dl|data_loader|ds|dataset|set|data)_(train|training|trn)$/i;
const HELD_OUT = /^(val|valid|validation|test|testing|dev|holdout)_?(loader|dataloader|dl|data_?loader|iter|iterator|ds|dataset|set|data)$|^(loader|dataloader|dl|data_loader|ds|dataset|set|data)_(val|valid|validation|test|testing|dev|holdout)$/i;
/** Loaders only (not datasets or tensors): what an evaluation loop iterates. */
const TRAIN_ITER = /^(train|training|trn)_?(loader|dataloader|dl|data_?loader|iter|iterator)$/i;
const HELD_OUT_ITER = /^(val|valid|validation|test|testing|dev|holdout|eval)_?(loader|dataloader|dl|data_?loader|iter|iterator)$/i;
/** A held-out dataset or loader's name, either order: `val_loader`, `dataloader_val`. */
const VAL_TARGET = /^(val|valid|validation|test|testing|dev|eval)_?(set|data|dataset|ds|loader|dataloader|dl)$|^(set|data|dataset|ds|loader|dataloader|data_loader|dl)_(val|valid|validation|test|testing|dev|eval)$/i;

/** Last name of an expression: `self.train_loader` -> `train_loader`; `ds["train"]` -> `train`. */
function nameOf(n: PyNode | undefined): string | undefined {
  const e = unparen(n);
  if (!e) return undefined;
  if (e.type === 'identifier') return e.text;
  if (e.type === 'attribute') return e.child('attribute')?.text;
  if (e.type === 'subscript') {
    const s = e.child('subscript');
    if (s?.type === 'string') return s.text.replace(/^[rbuf]*['"]+|['"]+$/gi, '');
  }
  return undefined;
}

const isTrain = (n: PyNode | undefined) => TRAIN_NAME.test(nameOf(n) ?? '');

/** `TensorDataset(X_train, y_train)`: a dataset made of training arrays only. */
function trainTensors(n: PyNode | undefined, callee: string | undefined): boolean {
  const e = unparen(n);
  if (e?.type !== 'call' || !/(^|\.)TensorDataset$/.test(callee ?? e.child('function')?.text ?? '')) return false;
  const args = e.child('arguments')?.namedChildren.filter((x) => x.type !== 'comment') ?? [];
  return args.length > 0 && args.every((x) => x.type !== 'keyword_argument' && x.type !== 'list_splat' && isTrain(x));
}

export const EV004: Rule = {
  meta: {
    id: 'EV004',
    name: 'validation-is-training-data',
    group: 'evaluation',
    defaultSeverity: 'error',
    summary: 'The data passed as validation data is the training data.',
    why:
      'Validating on the training set (`validation_data=(X_train, y_train)`, `eval_dataset=train_ds`, `val_loader = ' +
      'train_loader`, the training loader passed twice to `trainer.fit`) measures how well the model memorises, not how it ' +
      'generalises: validation loss keeps falling while the model overfits, so early stopping, checkpoint selection and the ' +
      'reported score are all meaningless. Use a held-out split. A validation loader built from the training dataset with ' +
      'its own sampler (an index split) is not reported. Also reported (as a warning): an evaluation loop (under no_grad, or ' +
      'in an evaluation function) that iterates the training loader while the held-out loader is never iterated; and a ' +
      'validation dataset built with `train=True` / `split="train"` that is loaded whole (no Subset, sampler or split). Also: ' +
      '`fit(x, ...)` whose validation data is a slice of `x` itself (`x_val = x[cut:]`); validation data made by the same ' +
      'call as the training data of a function that seeds its generator with a fixed value; and a validation loader built ' +
      "on the training loader's dataset while the validation dataset the function builds is never used. Names are read in " +
      'either order (`dataloader_val`, `dataset_train`). The evaluation loop case also knows the training loader as the one ' +
      'a training loop of the same function iterates (`for x, y in data:` in a `fit`). Also: an iterator named as held-out ' +
      "over the training loader (`test_iter = iter(train_loader)`), and a split part's `.dataset` read as data " +
      '(`val_ds.dataset[:, :n]` after `random_split`): that is the whole dataset, training part included.',
    wrong: 'model.fit(X_train, y_train, epochs=10, validation_data=(X_train, y_train))',
    right: 'model.fit(X_train, y_train, epochs=10, validation_data=(X_val, y_val))',
    concept: 'Generalisation: validation data must be held out from training',
    fixable: false,
  },
  nodeTypes: ['call', 'assignment', 'for_statement', 'attribute'],
  // The loop case reads the file (other loops, the held-out loader's uses); the other cases read their statement.
  candidate: {
    reads: ['imports'],
    test: (n, ctx) => {
      if (n.type === 'for_statement') return trainLoaderIterated(n) !== undefined || sameNameLoops(n).length > 0;
      if (n.type === 'attribute') return wholeDatasetRead(n) !== undefined;
      return localFinding(n, ctx) !== undefined || trainFlag(n) !== undefined || fittedData(n) !== undefined || loaderOnOtherData(n) !== undefined || heldOutSampler(n) !== undefined;
    },
  },
  visit(n, ctx) {
    if (n.type === 'for_statement') {
      const f = evaluatesOnTrainLoader(n, ctx);
      if (f) ctx.report(f);
      return;
    }
    if (n.type === 'attribute') {
      const f = partDatasetRead(n, ctx);
      if (f) ctx.report(f);
      return;
    }
    const flag = trainFlag(n);
    if (flag && onlyLoaded(n, ctx)) {
      const left = n.child('left')!;
      ctx.report({ node: n, message: `${left.text} is built with ${flag}: it is the training split, so validation would measure memorisation. Build it from the held-out split (train=False), or split the training set by indices.` });
      return;
    }
    const whole = fitOnSplitSource(n, ctx) ?? fitOnSliceSource(n, ctx) ?? sameSeededDraw(n, ctx) ?? heldOutLeftUnused(n, ctx) ?? trainSamplerLoader(n, ctx);
    if (whole) {
      ctx.report(whole);
      return;
    }
    const f = localFinding(n, ctx);
    // A hand-written `def fit(self, model, images, labels)` is not Lightning's `trainer.fit(model, train, val)`.
    if (f && n.type === 'call' && keywordArg(n, 'validation_data') === undefined && userFit(n, ctx.analysis)) return;
    if (f) ctx.report(f);
  },
};

/** `model.fit(x, y, ...)`: the name of the data fitted (statement-local). */
function fittedData(n: PyNode): PyNode | undefined {
  if (n.type !== 'call' || calleeName(n) !== 'fit' || !receiver(n)) return undefined;
  const x = unparen(positionalArgs(n)[0] ?? keywordArg(n, 'x') ?? keywordArg(n, 'X'));
  return x?.type === 'identifier' ? x : undefined;
}

/**
 * The assignment around a split binds the name split (`X, X_val, y, y_val = train_test_split(X, y)`,
 * `x_train, x_val = x_train[:-n], x_train[-n:]`): that name now holds the training part.
 */
function rebinds(split: PyNode, name: string): boolean {
  const left = split.ancestor('assignment')?.child('left');
  let found = false;
  left?.walk((t) => void (t.type === 'identifier' && t.text === name && (found = true)));
  return found;
}

/** The same binding of a name at two places (not re-assigned in between). */
function sameBinding(a: Analysis, name: string, x: PyNode, y: PyNode): boolean {
  const v = a.scopes.valueAt(name, x);
  if (v === undefined || v !== a.scopes.valueAt(name, y)) return false;
  const ex = a.scopes.elementAt(name, x);
  const ey = a.scopes.elementAt(name, y);
  return ex?.source === ey?.source && ex?.index === ey?.index;
}

/**
 * `x_train, x_test, ... = train_test_split(x, y)` then `model.fit(x, y, validation_data=(x_test, y_test))` (or a later
 * `model.evaluate(x_test, ...)` / `score` / `predict`): the model is fitted on the whole array the split was taken from,
 * so its held-out part is training data.
 */
function fitOnSplitSource(n: PyNode, ctx: RuleContext): RawFinding | undefined {
  const x = fittedData(n);
  if (!x) return undefined;
  const a = ctx.analysis;
  for (const split of a.callsNamed('train_test_split')) {
    const q = a.callee(split);
    if ((q !== undefined && !/^sklearn\.(model_selection|cross_validation)\.train_test_split$/.test(q)) || split.end > n.start || !sameScope(split, n)) continue;
    if (unparen(positionalArgs(split)[0])?.text !== x.text || rebinds(split, x.text) || !sameBinding(a, x.text, split, n)) continue;
    const left = split.parent?.type === 'assignment' && split.parent.child('right') === split ? split.parent.child('left') : undefined;
    const parts = left?.type === 'pattern_list' || left?.type === 'tuple_pattern' ? left.namedChildren : [];
    const heldOut = parts[1];
    if (heldOut?.type !== 'identifier' || parts.length % 2 !== 0) continue;
    const line = ctx.lines.position(split.start).line + 1;
    const vd = unparen(keywordArg(n, 'validation_data'));
    const vx = vd?.type === 'tuple' || vd?.type === 'list' ? unparen(vd.namedChildren[0]) : undefined;
    if (vx?.text === heldOut.text && a.scopes.elementAt(heldOut.text, vx)?.source === split) {
      return { node: x, message: `${x.text} is the whole array split at line ${line}, so ${heldOut.text} (the validation data here) is also trained on: validation measures memorisation. Fit on ${parts[0]!.text}.` };
    }
    const scored = laterScore(a, n, heldOut.text, split);
    if (scored) {
      const at = ctx.lines.position(scored.start).line + 1;
      return { node: x, message: `${x.text} is the whole array split at line ${line}, so ${heldOut.text}, which ${scored.child('function')!.text}() scores at line ${at}, is also trained on: the score measures memorisation. Fit on ${parts[0]!.text}.` };
    }
  }
  return undefined;
}

/** `validation_data=(x_val, y_val)`: the inputs' name (statement-local). */
function validationInputs(fit: PyNode): PyNode | undefined {
  const vd = unparen(keywordArg(fit, 'validation_data'));
  const vx = vd?.type === 'tuple' || vd?.type === 'list' ? unparen(vd.namedChildren[0]) : undefined;
  return vx?.type === 'identifier' ? vx : undefined;
}

/**
 * What a name is bound to at `at`: its value, or its element of a tuple assignment (`(a, b) = (f(x), g(x))` -> `g(x)`),
 * or the whole right-hand side when it is unpacked from a call (`a, b = np.split(x, [n])`).
 */
function producer(a: Analysis, name: PyNode): PyNode | undefined {
  const value = a.scopes.valueAt(name.text, name);
  if (value) return unparen(value);
  const el = a.scopes.elementAt(name.text, name);
  const source = unparen(el?.source);
  if (source?.type === 'tuple' || source?.type === 'list' || source?.type === 'expression_list') return unparen(source.namedChildren[el!.index]);
  return source?.type === 'call' ? source : undefined;
}

/**
 * `x_tr, x_val = x[:cut], x[cut:]` (or `slice_rows(x, cut)`, `np.split(x, [cut])`) then
 * `model.fit(x, y, validation_data=(x_val, y_val))`: the validation rows are part of the array fitted.
 */
function fitOnSliceSource(n: PyNode, ctx: RuleContext): RawFinding | undefined {
  const x = fittedData(n);
  const vx = x && validationInputs(n);
  if (!x || !vx || vx.text === x.text) return undefined;
  const a = ctx.analysis;
  const made = producer(a, vx);
  let source: PyNode | undefined;
  if (made?.type === 'subscript') source = unparen(made.child('value'));
  else if (made?.type === 'call' && !/_like$/.test(calleeName(made) ?? '')) source = unparen(positionalArgs(made)[0]);
  // read where the split is bound: `x_train, x_val = x_train[:-n], x_train[-n:]` slices the old x_train
  if (source?.type !== 'identifier' || source.text !== x.text || rebinds(made!, x.text) || !sameBinding(a, x.text, source, n)) return undefined;
  const line = ctx.lines.position(made!.start).line + 1;
  return { node: x, message: `${vx.text}, the validation data here, is taken from ${x.text} at line ${line}, and ${x.text} is what is fitted: the validation rows are trained on. Fit on the training part only.` };
}

/** Calls that seed a random generator: `np.random.seed(s)`, `torch.manual_seed(s)`, `random.seed(s)`, `set_seed(s)`. */
const SEEDS = /^(seed|manual_seed|manual_seed_all|set_seed|set_random_seed)$/;

/**
 * `x, y = make_data()` and `x_val, y_val = make_data()` where `make_data` seeds the generator with a fixed value (a
 * literal, a parameter, a constant) before drawing: the same call draws the same numbers, the validation data is the
 * training data. Reported at `model.fit(x, y, validation_data=(x_val, y_val))`.
 */
function sameSeededDraw(n: PyNode, ctx: RuleContext): RawFinding | undefined {
  const x = fittedData(n);
  const vx = x && validationInputs(n);
  if (!x || !vx || vx.text === x.text) return undefined;
  const a = ctx.analysis;
  const drawn = producer(a, x);
  const again = producer(a, vx);
  if (drawn?.type !== 'call' || again?.type !== 'call' || drawn === again || drawn.text !== again.text) return undefined;
  const def = calledDefinition(a, drawn);
  if (!def || !seedsFixed(def)) return undefined;
  const line = ctx.lines.position(again.start).line + 1;
  return { node: vd(n) ?? vx, message: `${vx.text} comes from ${again.text} at line ${line}, the same call that made ${x.text}, and ${def.child('name')?.text} seeds the generator with a fixed value: the validation data is the training data. Draw it with another seed.` };
}

const vd = (fit: PyNode) => keywordArg(fit, 'validation_data');

/** The function seeds a generator with a fixed value before it draws: a number, a parameter of it, a CONSTANT. */
function seedsFixed(def: PyNode): boolean {
  const params = new Set(parameterNames(def));
  return callsWithin(def.child('body') ?? def).some((c) => {
    if (!SEEDS.test(calleeName(c) ?? '')) return false;
    const arg = unparen(positionalArgs(c)[0]);
    return arg?.type === 'integer' || (arg?.type === 'identifier' && (params.has(arg.text) || /^[A-Z][A-Z0-9_]*$/.test(arg.text)));
  });
}

/** A held-out dataset name: `val_dataset`, `valid_set`, `val_ds`, `dataset_val`. */
const HELD_OUT_DATASET = /^(val|valid|validation|dev|eval)_?(set|data|dataset|ds)$|^(dataset|data|ds)_(val|valid|validation|dev|eval)$/i;

/**
 * `val_loader = DataLoader(data, ...)` without a sampler, over a dataset that is not named as held-out (statement-local).
 * Returns the dataset's name.
 */
function loaderOnOtherData(n: PyNode): PyNode | undefined {
  if (n.type !== 'assignment' || !VAL_TARGET.test(nameOf(n.child('left')) ?? '')) return undefined;
  const right = unparen(n.child('right'));
  if (right?.type !== 'call' || !/(^|\.)DataLoader$/.test(right.child('function')?.text ?? '')) return undefined;
  if (keywordArg(right, 'sampler') || keywordArg(right, 'batch_sampler')) return undefined;
  const ds = unparen(positionalArgs(right)[0] ?? keywordArg(right, 'dataset'));
  return ds?.type === 'identifier' && !HELD_OUT.test(ds.text) && !HELD_OUT_DATASET.test(ds.text) ? ds : undefined;
}

/**
 * `val_loader = DataLoader(data)` where `data` also feeds the training loader, while the function builds a validation
 * dataset (`val_dataset = ...`) that nothing reads: the loader was meant to be built on it.
 */
function heldOutLeftUnused(n: PyNode, ctx: RuleContext): RawFinding | undefined {
  const ds = loaderOnOtherData(n);
  if (!ds) return undefined;
  const a = ctx.analysis;
  const feedsTraining = a.identifiersNamed(ds.text).some((u) => {
    const call = u.parent?.type === 'argument_list' ? u.parent.parent : u.parent?.parent?.type === 'argument_list' ? u.parent.parent.parent : undefined;
    const asg = call?.parent;
    return call !== unparen(n.child('right')) && call?.type === 'call' && calleeName(call) === 'DataLoader' && asg?.type === 'assignment' && TRAIN_LOADER.test(nameOf(asg.child('left')) ?? '') && sameScope(call, n);
  });
  if (!feedsTraining) return undefined;
  const unused = findUnusedHeldOut(a, n);
  if (!unused) return undefined;
  return { node: ds, message: `${nameOf(n.child('left'))} is built on ${ds.text}, the training loader's dataset, while ${unused.text} is built and never used: validation measures the training data. Build the loader on ${unused.text}.` };
}

/** A sampler or index set of the training part by its name: `train_sampler`, `sampler_train`, `train_idx`, `trn_indices`. */
const TRAIN_PART = /^(train|training|trn)_?(sampler|batch_sampler|idx|idxs|index|indices|inds|ids|mask)$|^(sampler|batch_sampler|idx|indices|ids|mask)_(train|training|trn)$/i;

/** `val_loader = DataLoader(data, sampler=s)`: the loader's name, dataset and sampler (statement-local). */
function heldOutSampler(n: PyNode): { left: PyNode; ds: PyNode | undefined; sampler: PyNode } | undefined {
  if (n.type !== 'assignment' || !VAL_TARGET.test(nameOf(n.child('left')) ?? '')) return undefined;
  const right = unparen(n.child('right'));
  if (right?.type !== 'call' || !/(^|\.)DataLoader$/.test(right.child('function')?.text ?? '')) return undefined;
  const sampler = unparen(keywordArg(right, 'sampler') ?? keywordArg(right, 'batch_sampler'));
  if (!sampler) return undefined;
  return { left: n.child('left')!, ds: unparen(positionalArgs(right)[0] ?? keywordArg(right, 'dataset')), sampler };
}

/**
 * `val_loader = DataLoader(data, sampler=train_sampler)` (or `sampler=SubsetRandomSampler(train_idx)`), or the same
 * sampler binding and dataset as a training loader of the same scope: the held-out loader draws the training samples.
 */
function trainSamplerLoader(n: PyNode, ctx: RuleContext): RawFinding | undefined {
  const hs = heldOutSampler(n);
  if (!hs) return undefined;
  const { left, ds, sampler } = hs;
  const indices = sampler.type === 'call' ? unparen(positionalArgs(sampler)[0] ?? keywordArg(sampler, 'indices')) : undefined;
  const named = [sampler, indices].find((x) => TRAIN_PART.test(nameOf(x) ?? ''));
  if (named) return { node: sampler, message: `${left.text} draws its samples with ${named.text}, the training part: validation measures the training data. Use the held-out sampler or indices.` };
  if (sampler.type !== 'identifier' || ds?.type !== 'identifier') return undefined;
  const a = ctx.analysis;
  const shared = a.identifiersNamed(sampler.text).some((u) => {
    if (u === sampler || u.parent?.type !== 'keyword_argument' || u.parent.child('value') !== u) return false;
    const call = u.parent.parent?.parent;
    if (call?.type !== 'call' || !/(^|\.)DataLoader$/.test(call.child('function')?.text ?? '') || !sameScope(call, n)) return false;
    const asg = call.parent;
    const otherDs = unparen(positionalArgs(call)[0] ?? keywordArg(call, 'dataset'));
    return asg?.type === 'assignment' && TRAIN_LOADER.test(nameOf(asg.child('left')) ?? '') && otherDs?.text === ds.text && sameBinding(a, sampler.text, call, n) && sameBinding(a, ds.text, call, n);
  });
  if (!shared) return undefined;
  return { node: sampler, message: `${left.text} is built on ${ds.text} with ${sampler.text}, the same dataset and sampler as the training loader: validation measures the training data. Use the held-out sampler.` };
}

/** A held-out dataset bound in the loader's scope that no other place reads. */
function findUnusedHeldOut(a: Analysis, loader: PyNode): PyNode | undefined {
  const scope = enclosingFunction(loader);
  for (const name of ['val_dataset', 'valid_dataset', 'validation_dataset', 'val_set', 'valid_set', 'val_ds', 'valid_ds', 'val_data', 'valid_data', 'dataset_val', 'dataset_valid', 'dev_dataset', 'dev_set', 'eval_dataset']) {
    const uses = a.identifiersNamed(name).filter((u) => enclosingFunction(u) === scope);
    if (uses.length !== 1) continue;
    const asg = uses[0]!.parent;
    if (asg?.type === 'assignment' && asg.child('left') === uses[0] && asg.start < loader.start) return uses[0];
  }
  return undefined;
}

/**
 * `model.evaluate(x_test, ...)` (or `score` / `predict`) after `fit`, same receiver and scope, no other fit of it in
 * between, on the held-out part as the split bound it.
 */
function laterScore(a: Analysis, fit: PyNode, heldOut: string, split: PyNode): PyNode | undefined {
  const recv = receiver(fit)!.text;
  let refit = Infinity;
  for (const other of a.callsNamed('fit')) if (other.start > fit.end && receiver(other)?.text === recv && sameScope(other, fit)) refit = Math.min(refit, other.start);
  for (const name of ['evaluate', 'score', 'predict', 'predict_proba', 'predict_classes']) {
    for (const c of a.callsNamed(name)) {
      if (c.start < fit.end || c.start > refit || receiver(c)?.text !== recv || !sameScope(c, fit)) continue;
      const arg = unparen(positionalArgs(c)[0] ?? keywordArg(c, 'x') ?? keywordArg(c, 'X'));
      if (arg?.text === heldOut && a.scopes.elementAt(heldOut, arg)?.source === split) return c;
    }
  }
  return undefined;
}

/**
 * `val_set = CIFAR10(root, train=True, ...)` / `self.val_dataset = constructor(split="train")`: a held-out name bound
 * to a dataset call whose split flag says train. Returns the flag's text.
 */
function trainFlag(n: PyNode): string | undefined {
  if (n.type !== 'assignment') return undefined;
  const left = n.child('left');
  const right = unparen(n.child('right'));
  if ((left?.type !== 'identifier' && left?.type !== 'attribute') || right?.type !== 'call' || !VAL_TARGET.test(nameOf(left) ?? '')) return undefined;
  if (keywordArg(right, 'train')?.text === 'True') return 'train=True';
  const split = keywordArg(right, 'split');
  return split && /^['"]train['"]$/.test(split.text) ? `split=${split.text}` : undefined;
}

/**
 * Every other use of the dataset bound by `assignment` is a DataLoader over all of it (without a sampler) or `len()`:
 * nothing takes a held-out part of it later (`Subset`, `random_split`, a `SubsetRandomSampler` over validation indices).
 */
function onlyLoaded(assignment: PyNode, ctx: RuleContext): boolean {
  const left = assignment.child('left')!;
  const uses = ctx.nodesOfType(left.type).filter((u) => u !== left && u.text === left.text && (left.type === 'attribute' || sameScope(u, left)));
  let loaded = false;
  for (const u of uses) {
    if (u.parent?.type === 'attribute' && u.parent.child('object') === u) return false; // val_set.data = ..., .targets
    const arg = u.parent?.type === 'keyword_argument' ? u.parent : u;
    const call = arg.parent?.type === 'argument_list' ? arg.parent.parent : undefined;
    if (call?.type !== 'call') return false;
    const callee = calleeName(call);
    if (callee === 'len') continue;
    const isDataset = arg === u ? positionalArgs(call)[0] === u : u.parent?.child('name')?.text === 'dataset';
    if (callee !== 'DataLoader' || !isDataset || keywordArg(call, 'sampler') || keywordArg(call, 'batch_sampler')) return false;
    loaded = true;
  }
  return loaded;
}

/** `self.fit(...)` where the file defines a function named fit. */
function userFit(call: PyNode, a: Analysis): boolean {
  return calleeName(call) === 'fit' && receiver(call)?.text === 'self' && a.functions.has('fit');
}

/** An iterator over held-out batches by its name: `test_loader_iter`, `val_iter`, `valid_data_iterator`. */
const HELD_OUT_ITERATOR = /^(val|valid|validation|test|testing|dev|eval)_?((data_?)?loader_?|dl_?|data_?)?(iter|iterator|it|gen|generator|batches)$/i;

/**
 * `test_iter = iter(train_loader)`, `val_it = self.train_loader.__iter__()`, `val_batches = cycle(train_loader)`: an
 * iterator named as held-out over the training loader (statement-local). Returns the loader.
 */
function trainIterator(left: PyNode, right: PyNode): PyNode | undefined {
  if (right.type !== 'call' || !HELD_OUT_ITERATOR.test(nameOf(left) ?? '')) return undefined;
  const name = calleeName(right);
  let loader: PyNode | undefined;
  if (name === '__iter__') loader = receiver(right);
  else if (name === 'iter' || name === 'cycle') loader = right.child('function')?.type === 'identifier' || name === 'cycle' ? positionalArgs(right)[0] : undefined;
  loader = unparen(loader);
  return loader && (loader.type === 'identifier' || loader.type === 'attribute') && TRAIN_LOADER.test(nameOf(loader) ?? '') ? loader : undefined;
}

/**
 * `val_ds.dataset[:, :n]`, `DataLoader(val_ds.dataset)`: the data read through a part's `.dataset` (statement-local).
 * Returns the part's name; `len(part.dataset)`, `part.dataset.transform = ...` and `.classes` read no data.
 */
function wholeDatasetRead(n: PyNode): PyNode | undefined {
  const part = n.child('object');
  if (n.child('attribute')?.text !== 'dataset' || part?.type !== 'identifier') return undefined;
  const p = n.parent;
  if (p?.type === 'subscript' && p.child('value') === n) return p.childrenOf('subscript').some((i) => i.type === 'slice') ? part : undefined;
  const arg = p?.type === 'keyword_argument' && p.child('name')?.text === 'dataset' ? p : n;
  const call = arg.parent?.type === 'argument_list' ? arg.parent.parent : undefined;
  if (call?.type !== 'call' || !/^(DataLoader|TensorDataset)$/.test(calleeName(call) ?? '')) return undefined;
  // `DataLoader(part.dataset, sampler=SubsetRandomSampler(part.indices))` reads the part only.
  if (keywordArg(call, 'sampler') || keywordArg(call, 'batch_sampler')) return undefined;
  return arg !== n || positionalArgs(call)[0] === n ? part : undefined;
}

/**
 * `train_ds, val_ds = random_split(data, sizes)` then `val_ds.dataset[:, :k]`: a part's `.dataset` is the whole data the
 * split divided, so what is read from it is both the training and the validation part.
 */
function partDatasetRead(n: PyNode, ctx: RuleContext): RawFinding | undefined {
  const part = wholeDatasetRead(n);
  const a = ctx.analysis;
  const made = part && splitPartOf(a, part);
  if (!made) return undefined;
  // Once per part: the first such read.
  const earlier = a.identifiersNamed(part!.text).some((u) => u.start < part!.start && u.parent?.type === 'attribute' && wholeDatasetRead(u.parent) === u && splitPartOf(a, u)?.split === made.split);
  if (earlier) return undefined;
  const line = ctx.lines.position(made.split.start).line + 1;
  const what = calleeName(made.split) === 'Subset' ? 'Subset' : 'random_split';
  return { node: n, message: `${n.text} is the whole dataset the ${what} at line ${line} divided, not the ${part!.text} part: training and validation both read all the data. Use ${part!.text} itself (or its .indices).` };
}

/** The findings of one statement's node (assignments, `fit` and `Trainer` calls): they read nothing else. */
function localFinding(n: PyNode, ctx: RuleContext): RawFinding | undefined {
  if (n.type === 'assignment') {
      const left = n.child('left');
      const right = unparen(n.child('right'));
      if (!left || !right || left.type === 'subscript') return undefined;
      if (!VAL_TARGET.test(nameOf(left) ?? '') && !HELD_OUT_ITERATOR.test(nameOf(left) ?? '') && !(right.type === 'call' && (left.type === 'pattern_list' || VAL_METRIC.test(nameOf(left) ?? '')))) return undefined;
      if (right.type === 'identifier' || right.type === 'attribute') {
        if (isTrain(right)) return { node: n, message: `${left.text} is the training data (${right.text}): validation would measure memorisation. Use a held-out split.` };
        return undefined;
      }
      const iterated = trainIterator(left, right);
      if (iterated) return { node: n, message: `${left.text} iterates ${iterated.text}, the training loader: what it feeds measures the training data. Iterate the held-out loader.` };
      // val_loss = evaluate(model, train_loader): a validation metric computed on the training loader
      const target = left.type === 'pattern_list' || left.type === 'tuple_pattern' ? left.namedChildren : [left];
      if (right.type === 'call' && target.every((t) => VAL_METRIC.test(nameOf(t) ?? '')) && target.length > 0) {
        const trainArg = onlyTrainLoaderArg(right);
        if (trainArg) return { node: n, message: `${left.text} is computed on ${trainArg.text}: the held-out metric measures the training data. Pass the validation or test loader.` };
        return undefined;
      }
      if (right.type === 'call' && /(^|\.)DataLoader$/.test(ctx.analysis.callee(right) ?? right.child('function')?.text ?? '')) {
        const ds = positionalArgs(right)[0] ?? keywordArg(right, 'dataset');
        if (keywordArg(right, 'sampler') || keywordArg(right, 'batch_sampler')) return undefined;
        if (isTrain(ds) || trainTensors(ds, ds?.type === 'call' ? ctx.analysis.callee(ds) : undefined)) return { node: n, message: `${left.text} loads the training dataset (${ds!.text}): validation would measure memorisation. Build it from a held-out split.` };
      }
      return undefined;
    }
    if (n.type !== 'call') return undefined;
    const name = calleeName(n);
    // test_acc_hist.append(accuracy(train_loader, net)): a held-out metric's history fed the training loader's score
    if (name === 'append' && VAL_METRIC_LIST.test(nameOf(receiver(n)) ?? '')) {
      const value = unparen(positionalArgs(n)[0]);
      const trainArg = value?.type === 'call' ? onlyTrainLoaderArg(value) : undefined;
      if (trainArg) return { node: n, message: `${receiver(n)!.text} records a score computed on ${trainArg.text}: the held-out metric measures the training data. Pass the validation or test loader.` };
      return undefined;
    }
    if (name === 'fit') {
      const vd = unparen(keywordArg(n, 'validation_data'));
      if (vd && (vd.type === 'tuple' || vd.type === 'list')) {
        const x = positionalArgs(n)[0] ?? keywordArg(n, 'x');
        const vx = vd.namedChildren[0];
        if (vx && ((x && vx.text === x.text) || isTrain(vx))) {
          return { node: vd, message: `validation_data is the training data (${vd.text}): validation metrics will track memorisation. Pass a held-out split.` };
        }
      }
      // Lightning: trainer.fit(model, train_loader, train_loader) / val_dataloaders=train_loader. A bare
      // `fit(model, images, labels)` is a function of the user's.
      if (!receiver(n)) return undefined;
      const args = positionalArgs(n);
      const train = args[1] ?? keywordArg(n, 'train_dataloaders');
      const val = args[2] ?? keywordArg(n, 'val_dataloaders');
      if (train && val && (val.text === train.text || isTrain(val)) && unparen(val)?.type !== 'tuple') {
        return { node: val, message: `The validation loader is the training loader (${val.text}): validation would measure memorisation. Pass a held-out loader.` };
      }
      return undefined;
    }
    // Hugging Face Trainer(...train_dataset=ds, eval_dataset=ds)
    const evalDs = keywordArg(n, 'eval_dataset');
    const trainDs = keywordArg(n, 'train_dataset');
    if (evalDs && trainDs && (evalDs.text === trainDs.text || isTrain(evalDs))) {
      return { node: evalDs, message: `eval_dataset is the training dataset (${evalDs.text}): evaluation would measure memorisation. Pass a held-out split.` };
    }
    return undefined;
}

/** `evaluate(model, train_loader)`: the training loader argument, when no held-out loader is also passed. */
function onlyTrainLoaderArg(call: PyNode): PyNode | undefined {
  const args = call.child('arguments')?.namedChildren.map((x) => (x.type === 'keyword_argument' ? x.child('value') : x)) ?? [];
  const trainArg = args.find((x) => x && TRAIN_LOADER.test(nameOf(x) ?? ''));
  return trainArg && !args.some((x) => x && HELD_OUT.test(nameOf(x) ?? '')) ? trainArg : undefined;
}

/** `for x, y in loader:` (also through enumerate / tqdm): the name iterated. */
function loopOverName(loop: PyNode): PyNode | undefined {
  let it = unparen(loop.child('right'));
  while (it?.type === 'call' && /^(enumerate|tqdm)$/.test(it.child('function')?.text ?? '')) it = unparen(positionalArgs(it)[0]);
  return it?.type === 'identifier' ? it : undefined;
}

/** `for x, y in train_loader:` (also through enumerate / tqdm): the training loader's name. */
function trainLoaderIterated(loop: PyNode): PyNode | undefined {
  const it = loopOverName(loop);
  return it && TRAIN_ITER.test(it.text) ? it : undefined;
}

/** The other loops of the loop's function over the same name (statement-local: the function is in the statement). */
function sameNameLoops(loop: PyNode): PyNode[] {
  const it = loopOverName(loop);
  const fn = it && enclosingFunction(loop);
  const out: PyNode[] = [];
  fn?.child('body')?.walk((n) => {
    if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.type === 'for_statement' && n !== loop && loopOverName(n)?.text === it!.text) out.push(n);
  });
  return out;
}

/**
 * Another loop of the same function over the same binding of `it` that trains (backward or an optimizer step): the
 * loader is the training loader whatever its name (`for images, targets in dataset:` in a `fit`).
 */
function trainedOnInFunction(a: Analysis, loop: PyNode, it: PyNode): PyNode | undefined {
  for (const other of sameNameLoops(loop)) {
    const name = loopOverName(other)!;
    if (!sameBinding(a, it.text, name, it)) continue;
    const body = other.child('body');
    if (body && reachableCalls(a, body).some((c) => isBackward(c) || isOptimizerStep(c, a))) return other;
  }
  return undefined;
}

/**
 * An evaluation loop over the training loader while a held-out loader in reach is never iterated: the loop that
 * should read `test_loader` reads `train_loader` (`for data in trainloader:` under `net.eval()` / `no_grad`). A loop
 * that measures training accuracy next to a real evaluation is left alone: the held-out loader is used there. The
 * training loader is known by its name, or as the loader a training loop of the same function iterates.
 */
function evaluatesOnTrainLoader(loop: PyNode, ctx: RuleContext): RawFinding | undefined {
  const a = ctx.analysis;
  const it = loopOverName(loop);
  const body = loop.child('body');
  if (!it || !body) return undefined;
  const named = TRAIN_ITER.test(it.text);
  const fn = enclosingFunction(loop);
  if (!named && !sameNameLoops(loop).length) return undefined;
  const ev = evaluation(a);
  const forwards = callsWithin(body).filter((c) => ev.isForward(c));
  if (!forwards.length) return undefined;
  // It evaluates: under no_grad (the loop or its forwards), or in a function named like an evaluation.
  if (!ev.isNoGrad(loop) && !forwards.every((f) => ev.isNoGrad(f)) && !EVAL_NAME.test(fn?.child('name')?.text ?? '')) return undefined;
  if (reachableCalls(a, body).some((c) => isBackward(c) || isOptimizerStep(c, a))) return undefined;
  const trained = named ? undefined : trainedOnInFunction(a, loop, it);
  if (!named && !trained) return undefined;
  const heldOut = unusedHeldOutLoader(a, loop, fn, named ? HELD_OUT_ITER : HELD_OUT);
  if (!heldOut) return undefined;
  const what = named ? it.text : `${it.text} (the loader the training loop at line ${ctx.lines.position(trained!.start).line + 1} iterates)`;
  return {
    ...loopHeader(loop),
    severity: 'warning',
    message: `This evaluation loop iterates ${what}, while ${heldOut} is never iterated: the reported metric measures the training data. Iterate ${heldOut}.`,
  };
}

const EVAL_NAME = /^(evaluate|evaluation|eval|validate|validation|valid|val|test|testing)(_\w+)?$|^(evaluate|validate|run_validation|run_eval|run_test)\w*$/i;

/**
 * A held-out loader visible from the loop (a parameter of its function, or a name of the file) whose every use is
 * `len(test_loader)` / `len(test_loader.dataset)`: built (or received) and never iterated.
 */
function unusedHeldOutLoader(a: Analysis, loop: PyNode, fn: PyNode | undefined, names: RegExp): string | undefined {
  const params = new Set((fn?.child('parameters')?.namedChildren ?? []).map((p) => (p.type === 'identifier' ? p.text : (p.child('name')?.text ?? p.namedChildren[0]?.text ?? ''))));
  for (const name of a.scopes.boundNames()) {
    if (!names.test(name)) continue;
    const v = a.scopes.valueAt(name, loop);
    if (v === undefined) continue; // not bound where the loop runs
    // A parameter: its uses are in the function. A global (or a local): anywhere in the file, to be safe.
    const region = fn && params.has(name) ? fn : undefined;
    const uses = a.identifiersNamed(name).filter((id) => !region || (id.start >= region.start && id.end <= region.end));
    if (uses.every((id) => !iterationUse(id))) return name;
  }
  return undefined;
}

/**
 * Whether a reference may iterate the loader: anything but its binding, `len(x)`, `len(x.dataset)`, keyword names,
 * a test (`x is not None`, `if x:`, `isinstance(x, DataLoader)`) and `x = DataLoader(x)`, which rebinds it.
 */
function iterationUse(id: PyNode): boolean {
  const p = id.parent;
  if (!p) return true;
  if (p.type === 'comparison_operator' && /^None$/.test(p.namedChildren.find((c) => c !== id)?.text ?? '')) return false;
  if ((p.type === 'if_statement' && p.child('condition') === id) || p.type === 'not_operator' || p.type === 'boolean_operator') return false;
  const given = p.type === 'argument_list' ? p.parent : undefined;
  if (given?.type === 'call' && positionalArgs(given)[0] === id) {
    const callee = calleeName(given);
    if (callee === 'isinstance') return false;
    const asg = given.parent;
    if (callee === 'DataLoader' && asg?.type === 'assignment' && asg.child('right') === given && asg.child('left')?.text === id.text) return false;
  }
  if (p.type === 'keyword_argument' && p.child('name') === id) return false;
  if ((p.type === 'assignment' && p.child('left') === id) || p.type === 'parameters' || (p.type === 'default_parameter' && p.child('name') === id) || (p.type === 'typed_parameter')) return false;
  let e: PyNode = id;
  if (p.type === 'attribute' && p.child('object') === id && /^(dataset|batch_size|sampler)$/.test(p.child('attribute')?.text ?? '')) e = p;
  const args = e.parent;
  const call = args?.type === 'argument_list' ? args.parent : undefined;
  if (call?.type === 'call' && call.child('function')?.text === 'len') return false;
  return true;
}
