import { positionalArgs, type Analysis } from '../../analysis';
import type { PyNode } from '../../parser';
import type { Rule, RuleContext } from '../../types';

const INTENT = /seed|determinis|reproduc/i;

/** `cudnn.deterministic = True` or `torch.use_deterministic_algorithms(True)` somewhere in the file. */
function asksForDeterminism(ctx: RuleContext): boolean {
  const a = ctx.analysis;
  if (ctx.nodesOfType('assignment').some((s) => s.child('right')?.text === 'True' && a.qname(s.child('left')) === 'torch.backends.cudnn.deterministic')) return true;
  return a.callsTo('torch.use_deterministic_algorithms').some((c) => positionalArgs(c)[0]?.text === 'True');
}

/** The enclosing function is a seeding / reproducibility helper (`set_seed`, `make_deterministic`). */
function inReproducibilityHelper(n: PyNode): string | undefined {
  const name = n.ancestor('function_definition')?.child('name')?.text;
  return name && INTENT.test(name) ? name : undefined;
}

/** `torch.backends.cudnn.benchmark = True`: the assignment's value node, else undefined. */
function benchmarkOn(asg: PyNode, a: Analysis): PyNode | undefined {
  const left = asg.child('left');
  const right = asg.child('right');
  if (left?.type !== 'attribute' || right?.text !== 'True') return undefined;
  return a.qname(left) === 'torch.backends.cudnn.benchmark' ? right : undefined;
}

export const RP002: Rule = {
  meta: {
    id: 'RP002',
    name: 'cudnn-benchmark-nondeterministic',
    group: 'reproducibility',
    defaultSeverity: 'info',
    summary: '`cudnn.benchmark = True` in code that asks for reproducible runs: algorithm choice still varies per run.',
    why:
      'With `torch.backends.cudnn.benchmark = True`, cuDNN times several convolution algorithms on the first batches and keeps ' +
      'the fastest; the winner can change from run to run (timing noise, other load on the GPU). The PyTorch reproducibility ' +
      'notes ask for both `benchmark = False` (the same algorithm every run) and `cudnn.deterministic = True` or ' +
      '`torch.use_deterministic_algorithms(True)` (a deterministic algorithm). Setting `deterministic = True` and ' +
      '`benchmark = True` together - a common line pair in copied seeding helpers - therefore still gives runs that differ. ' +
      'Reported when the file also asks for determinism, or when the assignment sits in a seeding / reproducibility helper ' +
      '(`set_seed`, `make_deterministic`); benchmark mode in a script that only seeds its initialisation is a legitimate ' +
      'speed choice and is not reported.',
    wrong: 'def set_seed(seed):\n    torch.manual_seed(seed)\n    torch.backends.cudnn.deterministic = True\n    torch.backends.cudnn.benchmark = True',
    right: 'def set_seed(seed):\n    torch.manual_seed(seed)\n    torch.backends.cudnn.deterministic = True\n    torch.backends.cudnn.benchmark = False',
    concept: 'Reproducibility: seeded random number generators and deterministic kernels',
    fixable: true,
  },
  nodeTypes: ['assignment'],
  // The benchmark = True assignments; whether the file asks for determinism reads the whole file.
  candidate: { reads: ['imports'], test: (asg, ctx) => benchmarkOn(asg, ctx.analysis) !== undefined },
  visit(asg, ctx) {
    const right = benchmarkOn(asg, ctx.analysis);
    if (!right) return;
    const helper = inReproducibilityHelper(asg);
    if (!helper && !asksForDeterminism(ctx)) return;
    ctx.report({
      node: asg,
      message: `cudnn.benchmark = True ${helper ? `in ${helper}()` : 'next to deterministic settings'} still lets cuDNN pick a different algorithm each run: set it to False for reproducible runs.`,
      fixes: [{ title: 'Set cudnn.benchmark = False', edits: [{ start: right.start, end: right.end, newText: 'False' }] }],
    });
  },
};
