import { calleeName, positionalArgs, receiver } from '../../analysis';
import { runtimeFacts, stringValue } from '../../analysis/runtime';
import type { PyNode } from '../../parser';
import type { RawFix, Rule, RuleContext } from '../../types';

const CUDA = /^cuda(:\d+)?$/;

/** Under an `if` / conditional whose condition is about the device (`if args.cuda:`, `if use_gpu:`). */
function guardedByFlag(n: PyNode): boolean {
  for (let p = n.parent; p; p = p.parent) {
    if (p.type === 'if_statement' || p.type === 'elif_clause' || p.type === 'while_statement') {
      if (/cuda|gpu|device/i.test(p.child('condition')?.text ?? '')) return true;
    }
    if (p.type === 'conditional_expression' && /cuda|gpu|device/i.test(p.namedChildren[1]?.text ?? '')) return true;
  }
  return false;
}

/** A hard-coded GPU use: the node to report and the string literal a fix can replace (if any). */
function hardCoded(n: PyNode, ctx: RuleContext): { node: PyNode; literal?: PyNode } | undefined {
  if (n.type === 'call') {
    const name = calleeName(n);
    if (name === 'cuda' && receiver(n) && ctx.analysis.qname(receiver(n)) !== 'torch') {
      // `.cuda(rank)` / `.cuda(args.gpu)`: a device index chosen at run time (multi-GPU code)
      const idx = positionalArgs(n)[0];
      return idx && idx.type !== 'integer' ? undefined : { node: n };
    }
    const first = positionalArgs(n)[0];
    const isDevice = ctx.analysis.callee(n) === 'torch.device' || (name === 'to' && receiver(n));
    if (isDevice && CUDA.test(stringValue(first) ?? '')) return { node: n, literal: first };
    return undefined;
  }
  // device = "cuda" (not an annotated default such as a config field `device: str = "cuda"`)
  if (n.child('type')) return undefined;
  const right = n.child('right');
  if (n.child('left')?.type === 'identifier' && /device/i.test(n.child('left')!.text) && CUDA.test(stringValue(right) ?? '')) return { node: n, literal: right };
  return undefined;
}

function fixFor(literal: PyNode | undefined, ctx: RuleContext): RawFix[] | undefined {
  if (!literal) return undefined;
  const torch = ctx.analysis.imports.localName('torch');
  if (!torch) return undefined;
  const q = literal.text.endsWith("'") ? "'" : '"';
  return [
    {
      title: 'Fall back to the CPU when CUDA is not available',
      edits: [{ start: literal.start, end: literal.end, newText: `${literal.text} if ${torch}.cuda.is_available() else ${q}cpu${q}` }],
    },
  ];
}

export const DV003: Rule = {
  meta: {
    id: 'DV003',
    name: 'hard-coded-cuda',
    group: 'device',
    defaultSeverity: 'info',
    summary: 'CUDA is hard-coded (`.cuda()`, `"cuda"`) and the file never checks `torch.cuda.is_available()`.',
    why:
      'A script that calls `.cuda()` or builds `torch.device("cuda")` unconditionally crashes with "Torch not compiled with ' +
      'CUDA enabled" or "no CUDA GPUs are available" on a laptop, a CPU-only CI runner or a Mac. Choosing the device once, ' +
      '`device = torch.device("cuda" if torch.cuda.is_available() else "cpu")`, and moving with `.to(device)` makes the same ' +
      'code run everywhere. Reported once per file, at the first hard-coded use; files that check availability, mention ' +
      'a `"cpu"` device, use a flag (`if args.cuda:`) or set up distributed training (GPU-only by design) are not reported.',
    wrong: 'model = Net().cuda()',
    right: 'device = torch.device("cuda" if torch.cuda.is_available() else "cpu")\nmodel = Net().to(device)',
    concept: 'Devices: select the device once, move model and data to it',
    fixable: true,
  },
  check(ctx) {
    const facts = runtimeFacts(ctx.analysis);
    if (facts.cpuFallback || facts.distributed) return;
    const candidates = [...ctx.nodesOfType('call'), ...ctx.nodesOfType('assignment')].sort((a, b) => a.start - b.start);
    for (const n of candidates) {
      const hit = hardCoded(n, ctx);
      if (!hit || guardedByFlag(n)) continue;
      ctx.report({
        node: hit.node,
        message: 'CUDA is hard-coded and the file never checks torch.cuda.is_available(): this crashes on machines without a GPU. Select the device with a CPU fallback.',
        fixes: fixFor(hit.literal, ctx),
      });
      return;
    }
  },
};
