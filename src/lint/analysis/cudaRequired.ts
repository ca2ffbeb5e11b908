// Code that refuses to run without a GPU: `assert torch.cuda.is_available()`, or `if not torch.cuda.is_available():`
// whose body only raises or exits (after a message). Past such a statement the code runs on a CUDA machine, so what
// matters only for a CPU-only run (a `map_location` for GPU-saved checkpoints) does not apply there.
import { calleeName, unparen, type Analysis } from './index';
import type { PyNode } from '../parser';

/** Calls that end the program. */
const EXITS = /^(exit|quit|_exit|abort)$/;
/** Calls that only report, allowed before the raise or exit. */
const REPORTS = /^(print|warn|warning|error|critical|info|fatal|echo)$/;

/** `torch.cuda.is_available()` (any spelling that ends in `cuda.is_available()`), resolved or not. */
function isCudaAvailable(e: PyNode | undefined, a: Analysis): boolean {
  const x = unparen(e);
  if (x?.type !== 'call' || calleeName(x) !== 'is_available') return false;
  const q = a.callee(x);
  return q === 'torch.cuda.is_available' || (q === undefined && /\bcuda\.is_available$/.test(x.child('function')?.text ?? ''));
}

/** `not torch.cuda.is_available()`. */
function isCudaMissing(e: PyNode | undefined, a: Analysis): boolean {
  const x = unparen(e);
  return x?.type === 'not_operator' && isCudaAvailable(x.child('argument') ?? undefined, a);
}

/** A block that stops the program: reports, then `raise` or `sys.exit(...)`. */
function stops(block: PyNode[]): boolean {
  const last = block[block.length - 1];
  if (!last) return false;
  const callOf = (s: PyNode) => (s.type === 'expression_statement' && unparen(s.namedChildren[0])?.type === 'call' ? unparen(s.namedChildren[0]) : undefined);
  const exit = callOf(last);
  if (last.type !== 'raise_statement' && !(exit && EXITS.test(calleeName(exit) ?? ''))) return false;
  return block.slice(0, -1).every((s) => {
    const c = callOf(s);
    return c !== undefined && REPORTS.test(calleeName(c) ?? '');
  });
}

/** Whether a statement makes the rest of its block run only with CUDA. */
function requiresCuda(statement: PyNode, a: Analysis): boolean {
  if (statement.type === 'assert_statement') return isCudaAvailable(statement.namedChildren[0], a);
  if (statement.type !== 'if_statement' || statement.namedChildren.some((c) => c.type === 'elif_clause' || c.type === 'else_clause')) return false;
  const block = (statement.child('consequence')?.namedChildren ?? []).filter((c) => c.type !== 'comment');
  return isCudaMissing(statement.child('condition') ?? undefined, a) && stops(block);
}

const moduleCache = new WeakMap<Analysis, PyNode | null>();

/** The first statement that requires CUDA at module level or at the top of the `if __name__ == "__main__":` block. */
function moduleRequirement(a: Analysis, root: PyNode): PyNode | null {
  let out = moduleCache.get(a);
  if (out !== undefined) return out;
  out = null;
  for (const s of root.namedChildren) {
    if (requiresCuda(s, a)) out = s;
    else if (s.type === 'if_statement' && /^__name__\s*==\s*['"]__main__['"]$/.test(s.child('condition')?.text ?? '')) {
      out = s.child('consequence')?.namedChildren.find((c) => requiresCuda(c, a)) ?? null;
    }
    if (out) break;
  }
  moduleCache.set(a, out);
  return out;
}

/**
 * Whether `node` runs only on a CUDA machine: a statement of an enclosing function's own body before it requires CUDA,
 * or the script does at module level before it (or anywhere, for code in a function: it runs when called, later).
 */
export function runsOnlyWithCuda(node: PyNode, a: Analysis, root: PyNode): boolean {
  if (!a.callsNamed('is_available').length) return false;
  for (let fn = node.ancestor('function_definition'); fn; fn = fn.ancestor('function_definition')) {
    const body = fn.child('body');
    for (const s of body?.namedChildren ?? []) {
      if (s.start >= node.start) break;
      if (requiresCuda(s, a)) return true;
    }
  }
  // module-level code runs in order; functions run when called, after the module's code has run
  const req = moduleRequirement(a, root);
  return req !== null && (node.ancestor('function_definition') !== undefined || req.start < node.start);
}
