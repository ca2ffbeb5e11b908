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

/** torch.distributed collectives and point-to-point calls: with NCCL they take CUDA tensors only. */
const COLLECTIVE = /^torch\.distributed\.(broadcast|broadcast_object_list|all_gather\w*|all_reduce|reduce|reduce_scatter\w*|gather|scatter|all_to_all\w*|send|recv|isend|irecv)$/;

/** Inside a function that calls a collective (`randperm(n).cuda()` then `dist.broadcast(...)`): multi-GPU only. */
function feedsCollective(n: PyNode, ctx: RuleContext): boolean {
  const fn = n.ancestor('function_definition');
  if (!fn) return false;
  return ctx.nodesOfType('call').some((c) => c.start > fn.start && c.end <= fn.end && COLLECTIVE.test(ctx.analysis.callee(c) ?? ''));
}

/** Modules that compile or run GPU kernels: a file using them needs CUDA by design. */
const KERNEL_MODULES = /^(torch\.utils\.cpp_extension|cupy|triton|pycuda|numba\.cuda)(\.|$)/;
/** Modules a custom autograd Function may call that are not a compiled extension. */
const PYTHON_LIBRARIES = /^(torch|numpy|scipy|math|builtins)(\.|$)/;

/**
 * The file builds or tests GPU kernels: it imports a kernel toolkit (`torch.utils.cpp_extension`, cupy, triton), builds
 * a `CUDAExtension`, or defines a `torch.autograd.Function` whose methods call into an imported extension module
 * (`import my_kernels` ... `my_kernels.forward(x)`, compiled by a setup.py next to it).
 */
function needsCudaByDesign(ctx: RuleContext): boolean {
  const a = ctx.analysis;
  if ([...a.imports.aliases.values()].some((q) => KERNEL_MODULES.test(q))) return true;
  if (a.callsNamed('CUDAExtension').length > 0) return true;
  return ctx.nodesOfType('class_definition').some((cls) => {
    const bases = cls.child('superclasses')?.namedChildren ?? [];
    if (!bases.some((b) => a.qname(b) === 'torch.autograd.Function')) return false;
    return ctx.nodesOfType('call').some((c) => {
      if (c.start < cls.start || c.end > cls.end) return false;
      const q = a.callee(c);
      // `my_kernels.forward(x)`: a module imported by name (not a method of a local value, not a library).
      return q !== undefined && c.child('function')?.type === 'attribute' && !PYTHON_LIBRARIES.test(q) && a.imports.aliases.get(q.split('.')[0]!) === q.split('.')[0];
    });
  });
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
      'a `"cpu"` device, use a flag (`if args.cuda:`) or set up distributed training (GPU-only by design) are not reported, nor a function that feeds a ' +
      '`torch.distributed` collective (NCCL takes CUDA tensors) or a file that builds or tests GPU kernels ' +
      '(`torch.utils.cpp_extension`, cupy, triton, a `CUDAExtension`, an autograd Function calling a compiled extension).',
    wrong: 'model = Net().cuda()',
    right: 'device = torch.device("cuda" if torch.cuda.is_available() else "cpu")\nmodel = Net().to(device)',
    concept: 'Devices: select the device once, move model and data to it',
    fixable: true,
  },
  check(ctx) {
    const facts = runtimeFacts(ctx.analysis);
    if (facts.cpuFallback || facts.distributed || needsCudaByDesign(ctx)) return;
    const candidates = [...ctx.nodesOfType('call'), ...ctx.nodesOfType('assignment')].sort((a, b) => a.start - b.start);
    for (const n of candidates) {
      const hit = hardCoded(n, ctx);
      if (!hit || guardedByFlag(n) || feedsCollective(n, ctx)) continue;
      ctx.report({
        node: hit.node,
        message: 'CUDA is hard-coded and the file never checks torch.cuda.is_available(): this crashes on machines without a GPU. Select the device with a CPU fallback.',
        fixes: fixFor(hit.literal, ctx),
      });
      return;
    }
  },
};
