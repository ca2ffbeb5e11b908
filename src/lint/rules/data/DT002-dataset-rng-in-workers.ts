import { hasKeywordSplat, keywordArg, receiver, type Analysis } from '../../analysis';
import { loadedDatasetClass, type DatasetClass } from '../../analysis/datasets';
import { intValue, isDataLoaderCall } from '../../analysis/runtime';
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
  return ctx.nodesOfType('subscript').some((s) => /\.data$/.test(s.child('value')?.text ?? '') && s.namedChildren[1]?.text === '0');
}

/**
 * The worker count of a DataLoader call with more than one process and no `worker_init_fn`, read from the call (and
 * the value of a `num_workers=` name); undefined otherwise.
 */
function workerCount(call: PyNode, a: Analysis): number | undefined {
  if (!isDataLoaderCall(call, a) || hasKeywordSplat(call) || keywordArg(call, 'worker_init_fn')) return undefined;
  const workers = intValue(keywordArg(call, 'num_workers'), a);
  return workers !== undefined && workers > 0 ? workers : undefined;
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
      'pre-0.4 `nn.init` names), since on current versions it is fine. Seed per worker in a `worker_init_fn` (e.g. from `torch.utils.data.get_worker_info().seed`), or draw from `torch`.',
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
  candidate: { reads: ['imports', 'scopes'], test: (call, ctx) => workerCount(call, ctx.analysis) !== undefined },
  visit(call, ctx) {
    const a = ctx.analysis;
    const workers = workerCount(call, a);
    if (workers === undefined) return;
    const ds = loadedDatasetClass(call, a);
    if (!ds) return;
    if (ds.calls.some((c) => a.callee(c) === 'torch.utils.data.get_worker_info')) return;
    const rng = instanceRng(ds, ctx);
    if (rng) {
      ctx.report({
        node: call,
        message: `${ds.name}.__getitem__ draws from ${receiver(rng)!.text}, an RNG object every one of the ${workers} workers copies in the same state: augmentations repeat across workers. Reseed it per worker in a worker_init_fn.`,
      });
      return;
    }
    const global = ds.calls.find((c) => NP_GLOBAL.test(a.callee(c) ?? ''));
    if (global && oldPyTorch(ctx)) {
      ctx.report({
        node: call,
        message: `${ds.name}.__getitem__ uses ${global.child('function')!.text} with ${workers} workers and no worker_init_fn: before PyTorch 1.9 every worker shares one NumPy seed, so augmentations repeat. Seed NumPy in a worker_init_fn.`,
      });
    }
  },
};
