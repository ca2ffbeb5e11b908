import { hasKeywordSplat, keywordArg, receiver, unparen, type Analysis } from '../../analysis';
import { numberValue } from '../../analysis/numbers';
import { datasetClasses, loadedDatasetClass, type DatasetClass } from '../../analysis/datasets';
import { assignedName, intValue, isDataLoaderCall, loaderDataset, stringValue } from '../../analysis/runtime';
import type { PyNode } from '../../parser';
import type { Rule, RuleContext } from '../../types';

const RNG_OBJECT = /^(numpy\.random\.(default_rng|RandomState|Generator)|random\.Random)$/;
const NP_GLOBAL = /^numpy\.random\.(?!default_rng$|RandomState$|Generator$|seed$|get_state$|set_state$|SeedSequence$|PCG64|MT19937|BitGenerator)\w+$/;

/** A random generator object stored on the dataset (`self.rng = np.random.default_rng(0)`) and drawn from in __getitem__. */
function instanceRng(ds: DatasetClass, ctx: RuleContext): PyNode | undefined {
  for (const c of ds.calls) {
    const r = receiver(c);
    if (r?.type !== 'attribute' || r.child('object')?.text !== 'self') continue;
    const attr = r.child('attribute')?.text ?? '';
    const values = ctx.analysis.scopes.selfAttr(ds.node, attr);
    if (values.length === 0 || !values.every((v) => v.type === 'call' && RNG_OBJECT.test(ctx.analysis.callee(v) ?? ''))) continue;
    // reseeded per item or per worker inside the dataset: fine
    if (values.some((v) => v.start > ds.getitem.start && v.end < ds.getitem.end)) continue;
    return c;
  }
  return undefined;
}

/** APIs that only code written for PyTorch < 1.0 uses (so certainly older than 1.9). */
const OLD_APIS = /^(torch\.autograd\.Variable|torch\.nn\.functional\.upsample|torch\.nn\.init\.(xavier_uniform|xavier_normal|kaiming_uniform|kaiming_normal|normal|uniform|constant|orthogonal)|scipy\.misc\.(imread|imresize))$/;

/** The file targets an old PyTorch: `Variable`, `volatile=`, `size_average=`, `loss.data[0]`, pre-0.4 init names. */
function oldPyTorch(ctx: RuleContext): boolean {
  const calls = ctx.nodesOfType('call');
  if (calls.some((c) => OLD_APIS.test(ctx.analysis.callee(c) ?? '') || keywordArg(c, 'volatile') !== undefined || keywordArg(c, 'size_average') !== undefined)) return true;
  if (ctx.nodesOfType('subscript').some((s) => /\.data$/.test(s.child('value')?.text ?? '') && s.namedChildren[1]?.text === '0')) return true;
  // `from __future__ import print_function`: written to run on Python 2 too, which PyTorch left at 1.4
  return ctx.nodesOfType('future_import_statement').some((f) => /\b(absolute_import|print_function|division|unicode_literals)\b/.test(f.text));
}

/**
 * The Dataset class of the file a loader builds through a factory: `Dataset = get_dataset(...)` then
 * `DataLoader(Dataset(opt, 'train'))`, where the file defines one map-style Dataset class (the one the factory
 * assembles). Undefined when the file defines none or several, or the dataset is anything else.
 */
function factoryDatasetClass(call: PyNode, a: Analysis): DatasetClass | undefined {
  const ds = unparen(loaderDataset(call));
  const fn = ds?.type === 'call' ? ds.child('function') : undefined;
  if (fn?.type !== 'identifier') return undefined;
  const made = a.scopes.valueAt(fn.text, fn);
  const classes = datasetClasses(a);
  if (made?.type !== 'call' || classes.length !== 1) return undefined;
  // a factory of the project (not a library class such as torchvision's)
  const q = a.callee(made);
  if (q !== undefined && !/(^|\.)get_\w*dataset\w*$|dataset_factory/i.test(q)) return undefined;
  return classes[0];
}

/**
 * The worker count of a DataLoader call with more than one process and no `worker_init_fn`, read from the call (and
 * the value of a `num_workers=` name); undefined otherwise.
 */
function workerCount(call: PyNode, a: Analysis): number | 'several' | undefined {
  if (!isDataLoaderCall(call, a) || hasKeywordSplat(call) || keywordArg(call, 'worker_init_fn')) return undefined;
  const arg = keywordArg(call, 'num_workers');
  const workers = intValue(arg, a) ?? numberValue(a, arg)?.value;
  // `num_workers=opt.num_workers` set outside the file: a worker count, rarely 0
  if (workers === undefined) return arg && /worker/i.test(arg.text) && /^[\w.]+$/.test(arg.text) ? 'several' : undefined;
  return workers > 0 ? workers : undefined;
}

/** The statement-local part of workerCount: a DataLoader whose num_workers is not a literal 0 (a config read may be anything). */
function mayHaveWorkers(call: PyNode, a: Analysis): boolean {
  if (!isDataLoaderCall(call, a) || hasKeywordSplat(call) || keywordArg(call, 'worker_init_fn')) return false;
  const arg = keywordArg(call, 'num_workers');
  return arg !== undefined && intValue(arg, a) !== 0;
}

/** A loader of held-out data (`val_loader`, `Dataset(opt, 'val')`): augmentations are usually off there. */
function heldOutLoader(call: PyNode): boolean {
  if (/val|test|eval/i.test(assignedName(call) ?? '')) return true;
  const ds = unparen(loaderDataset(call));
  const args = ds?.type === 'call' ? (ds.child('arguments')?.namedChildren ?? []) : [];
  return args.some((arg) => /^(val|valid|validation|test|eval)$/i.test(stringValue(arg.type === 'keyword_argument' ? arg.child('value') : arg) ?? ''));
}

export const DT002: Rule = {
  meta: {
    id: 'DT002',
    name: 'dataset-rng-duplicated-across-workers',
    group: 'data',
    defaultSeverity: 'warning',
    summary: 'The Dataset draws random numbers from an RNG that every DataLoader worker copies in the same state.',
    why:
      'With `num_workers > 0` each worker process starts with a copy of the dataset object. PyTorch reseeds the global ' +
      '`torch` and Python `random` generators in every worker (`base_seed + worker_id`, redrawn each epoch), and since ' +
      'PyTorch 1.9 it reseeds the global NumPy generator too. It cannot reseed a generator object the dataset holds ' +
      '(`self.rng = np.random.default_rng(0)`, `np.random.RandomState`, `random.Random`): all workers then produce the same ' +
      '"random" augmentations, and with non-persistent workers the same ones again every epoch, so the model sees far less ' +
      'variety than intended. Before PyTorch 1.9 the same happened with the global `np.random` functions; that case is ' +
      'reported only in code that shows it targets an old PyTorch (`Variable`, `volatile=`, `size_average=`, `loss.data[0]`, ' +
      'pre-0.4 `nn.init` names, `from __future__` imports of Python 2 code), since on current versions it is fine. A loader ' +
      'that builds its dataset through a project factory (`Dataset = get_dataset(...)`) counts as loading the one Dataset ' +
      'class the file defines, and a worker count read from the options (`num_workers=opt.num_workers`) counts as workers there. Seed per worker in a `worker_init_fn` (e.g. from `torch.utils.data.get_worker_info().seed`), or draw from `torch`.',
    wrong:
      'import numpy as np\nfrom torch.utils.data import Dataset\n\nclass Noisy(Dataset):\n    def __init__(self, x):\n        self.x = x\n' +
      '        self.rng = np.random.default_rng(0)\n\n    def __len__(self):\n        return len(self.x)\n\n    def __getitem__(self, i):\n' +
      '        return self.x[i] + self.rng.normal()\n\nloader = DataLoader(Noisy(data), batch_size=32, shuffle=True, num_workers=4)',
    right:
      'import numpy as np\nfrom torch.utils.data import Dataset\n\nclass Noisy(Dataset):\n    def __init__(self, x):\n        self.x = x\n\n' +
      '    def __len__(self):\n        return len(self.x)\n\n    def __getitem__(self, i):\n' +
      '        return self.x[i] + torch.randn(())\n\nloader = DataLoader(Noisy(data), batch_size=32, shuffle=True, num_workers=4)',
    concept: 'Data loading: randomness in multi-process DataLoader workers',
    fixable: false,
  },
  nodeTypes: ['call'],
  // DataLoaders with workers and no worker_init_fn; the dataset class they load is found in the whole file.
  candidate: { reads: ['imports', 'scopes'], test: (call, ctx) => mayHaveWorkers(call, ctx.analysis) },
  visit(call, ctx) {
    const a = ctx.analysis;
    // cheapest first: the statement-local test, then the file's Dataset class (cached), the worker count last
    if (!mayHaveWorkers(call, a)) return;
    const ds = loadedDatasetClass(call, a) ?? factoryDatasetClass(call, a);
    if (!ds) return;
    if (ds.calls.some((c) => a.callee(c) === 'torch.utils.data.get_worker_info')) return;
    const rng = instanceRng(ds, ctx);
    const global = rng ? undefined : ds.calls.find((c) => NP_GLOBAL.test(a.callee(c) ?? ''));
    if (!rng && !global) return;
    const count = workerCount(call, a);
    if (count === undefined) return;
    // a worker count from outside the file counts only for old-PyTorch code below (num_workers=0 is possible)
    if (rng && count !== 'several') {
      ctx.report({
        node: call,
        message: `${ds.name}.__getitem__ draws from ${receiver(rng)!.text}, an RNG object every one of the ${count} workers copies in the same state: augmentations repeat across workers. Reseed it per worker in a worker_init_fn.`,
      });
      return;
    }
    if (global && oldPyTorch(ctx) && !heldOutLoader(call)) {
      ctx.report({
        node: call,
        message: `${ds.name}.__getitem__ uses ${global.child('function')!.text} with ${count} workers and no worker_init_fn: before PyTorch 1.9 every worker shares one NumPy seed, so augmentations repeat. Seed NumPy in a worker_init_fn.`,
      });
    }
  },
};
