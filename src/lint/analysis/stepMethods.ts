// One-batch step methods: a function or method, with no loop around its updates, that back-propagates and steps
// several optimizers (a GAN's `def step(self, batch)`), called once per batch by code this file may not hold. When
// it resets the gradients of some optimizers but never those of another, that one steps on the sum of every call's
// gradients.
import type { PyNode } from '../parser';
import { calleeName, callsWithin, enclosingFunction, keywordArg, methodClass, positionalArgs, receiver, unparen, type Analysis } from './index';
import { peelSameModule } from './moduleBuilds';
import { innermostLoop, isBackward, isOptimizerClass, isOptimizerStep, optimizerOf, trainingLoops } from './training';

export interface UnresetStep {
  /** The function or method doing one step. */
  fn: PyNode;
  /** The optimizer whose gradients it never resets (as text: `self.discriminator.optimizer`). */
  optimizer: string;
  /** Its steps in `fn`. */
  steps: PyNode[];
  /** The resets `fn` does, all of other parameters. */
  resets: PyNode[];
}

/** Framework hooks checked as such by the loop analysis (Lightning, Keras on torch). */
const HOOKS = new Set(['training_step', 'train_step']);

const cache = new WeakMap<Analysis, UnresetStep[]>();

export function unresetStepMethods(a: Analysis): UnresetStep[] {
  let out = cache.get(a);
  if (!out) cache.set(a, (out = compute(a)));
  return out;
}

function compute(a: Analysis): UnresetStep[] {
  const byFn = new Map<PyNode, PyNode[]>();
  for (const c of a.callsNamed('step')) {
    if (innermostLoop(c) || !isOptimizerStep(c, a)) continue;
    const fn = enclosingFunction(c);
    if (!fn || HOOKS.has(fn.child('name')?.text ?? '')) continue;
    byFn.set(fn, [...(byFn.get(fn) ?? []), c]);
  }
  const out: UnresetStep[] = [];
  for (const [fn, steps] of byFn) {
    const byOpt = new Map<string, PyNode[]>();
    for (const s of steps) byOpt.set(optimizerOf(s), [...(byOpt.get(optimizerOf(s)) ?? []), s]);
    if (byOpt.size < 2) continue;
    const calls = callsWithin(fn.child('body') ?? fn);
    if (!calls.some(isBackward)) continue;
    const resets = trainingLoops(a).resets;
    const own = calls.filter((c) => resets.isResetCall(c));
    if (own.length === 0 || resetElsewhere(a, fn)) continue;
    const owners = new Map([...byOpt.keys()].map((o) => [o, ownerOf(a, o, fn)]));
    for (const [opt, optSteps] of byOpt) {
      if (own.some((r) => resetsFor(r, opt, owners))) continue;
      out.push({ fn, optimizer: opt, steps: optSteps, resets: own });
    }
  }
  return out;
}

/**
 * Whether gradients may be reset outside `fn` for it: another method of its class resets (a hook the caller runs), or
 * a function of the file that calls it (by name) resets too.
 */
function resetElsewhere(a: Analysis, fn: PyNode): boolean {
  const resets = trainingLoops(a).resets;
  const cls = methodClass(fn);
  if (cls) {
    for (const m of cls.child('body')?.namedChildren ?? []) {
      const def = m.type === 'decorated_definition' ? m.child('definition') : m;
      if (def?.type === 'function_definition' && def !== fn && resets.containsReset(def)) return true;
    }
  }
  const name = fn.child('name')?.text ?? '';
  return a.callsNamed(name).some((c) => {
    if (c.start >= fn.start && c.end <= fn.end) return false;
    if (isOptimizerStep(c, a)) return false;
    const caller = enclosingFunction(c);
    return caller ? resets.containsReset(caller) : callsWithin(c.ancestor('module') ?? c).some((x) => resets.isResetCall(x));
  });
}

/** Whether the reset call `r` may reset the parameters of `opt` (unknown owners count as yes). */
function resetsFor(r: PyNode, opt: string, owners: Map<string, string | undefined>): boolean {
  if (calleeName(r) !== 'zero_grad') return true; // a helper of the file, `p.grad.zero_()`: not resolved
  const x = receiver(r)?.text;
  if (x === undefined || x === opt) return true;
  const mine = owners.get(opt);
  const other = owners.has(x) ? owners.get(x) : x;
  return mine === undefined || other === undefined || overlaps(mine, other);
}

function overlaps(x: string, y: string): boolean {
  return x === y || x.startsWith(`${y}.`) || y.startsWith(`${x}.`);
}

/**
 * The model whose parameters an optimizer holds, as text at `fn`: from its build (`optD = Adam(netD.parameters())`,
 * `self.opt_d = ...` in the class), or, for a model's own optimizer `self.discriminator.optimizer`, from the build in
 * that model's class (`self.optimizer = Adam(self.parameters())` -> `self.discriminator`). Undefined when unknown.
 */
function ownerOf(a: Analysis, opt: string, fn: PyNode): string | undefined {
  const direct = /^\w+$/.test(opt) ? a.scopes.valueAt(opt, fn.child('body') ?? fn) : undefined;
  if (direct) return paramsOwner(a, direct, undefined);
  const m = /^self\.(\w+)(?:\.(\w+))?$/.exec(opt);
  const cls = m ? methodClass(fn) : undefined;
  if (!m || !cls) return undefined;
  const values = a.scopes.selfAttr(cls, m[1]!);
  if (values.length !== 1) return undefined;
  if (!m[2]) return paramsOwner(a, values[0]!, undefined);
  // `self.discriminator.optimizer`: the optimizer a module class of the file builds on itself.
  const built = peelSameModule(values[0]);
  const ctor = built?.type === 'call' ? built.child('function') : undefined;
  if (ctor?.type !== 'identifier') return undefined;
  const inner = a.index.of('class_definition').filter((c) => c.child('name')?.text === ctor.text);
  const own = inner.length === 1 ? a.scopes.selfAttr(inner[0]!, m[2]) : [];
  return own.length === 1 ? paramsOwner(a, own[0]!, `self.${m[1]}`) : undefined;
}

/** The one model an optimizer build takes `.parameters()` of (`self` read as `self_is` when given). */
function paramsOwner(a: Analysis, build: PyNode, selfIs: string | undefined): string | undefined {
  const call = unparen(build);
  if (call?.type !== 'call' || !isOptimizerClass(a.callee(call) ?? '')) return undefined;
  const params = keywordArg(call, 'params') ?? positionalArgs(call)[0];
  const owners: string[] = [];
  params?.walk((n) => {
    if (n.type === 'call' && /^(named_)?parameters$/.test(calleeName(n) ?? '')) owners.push(receiver(n)?.text ?? '');
    return undefined;
  });
  const o = owners.length === 1 ? owners[0] : undefined;
  if (!o) return undefined;
  if (selfIs === undefined) return o;
  return o === 'self' ? selfIs : o.startsWith('self.') ? `${selfIs}${o.slice(4)}` : undefined;
}
