// The calls that run one model instance of the file, also where it is handed to the file's own functions:
// `net = nn.Sequential(...)`, `train(net, loader)`, and in `def train(model, loader)` (or a helper it passes `model`
// on to) `out = model(x)`. Each call site of a helper is one real run of the model: a helper called with several
// models applies each of them, so no agreement between call sites is needed here (unlike parameters.ts, which asks
// what a parameter holds everywhere).
import type { PyNode } from '../parser';
import { calleeName, methodClass, parameterNames, positionalArgs, receiver, unparen, type Analysis } from './index';
import { fileFunctionOf } from './calls';
import { scopeOf } from './scopes';
import { valueBefore } from './values';

/** Module methods that return the module itself. */
const MODULE_CHAIN = /^(to|cuda|cpu|train|eval|float|double|half)$/;
const MAX_ROUNDS = 4;

const cache = new WeakMap<Analysis, Map<PyNode, PyNode[]>>();

/**
 * The calls `m(x)` / `m.forward(x)` that run the module built by `ctor` (`nn.Sequential(...)`, `Net()`), read through
 * names, `.to(device)`-style chains and the parameters of the file's functions it is passed to (any call site).
 */
export function modelApplications(a: Analysis, ctor: PyNode): PyNode[] {
  let m = cache.get(a);
  if (!m) cache.set(a, (m = new Map()));
  let out = m.get(ctor);
  if (!out) m.set(ctor, (out = new Tracker(a, ctor).applications()));
  return out;
}

class Tracker {
  /** Parameters that receive the model at some call site: function node -> parameter names. */
  private readonly params = new Map<PyNode, Set<string>>();

  constructor(
    private readonly a: Analysis,
    private readonly ctor: PyNode,
  ) {}

  applications(): PyNode[] {
    const calls = this.a.index.of('call');
    // Parameters first: a helper may hand the model on to another helper (`train` -> `train_epoch`).
    for (let round = 0; round < MAX_ROUNDS; round++) {
      let grew = false;
      for (const call of calls) if (this.passes(call)) grew = true;
      if (!grew) break;
    }
    const out: PyNode[] = [];
    for (const call of calls) {
      let fn = call.child('function');
      if (fn?.type === 'attribute' && fn.child('attribute')?.text === 'forward') fn = fn.child('object');
      if (fn?.type === 'identifier' && this.holds(fn, 0)) out.push(call);
    }
    return out;
  }

  /** Records the parameters `call` fills with the model; whether any was new. */
  private passes(call: PyNode): boolean {
    const args = call.child('arguments')?.namedChildren ?? [];
    if (!args.some((x) => this.mayHold(x.type === 'keyword_argument' ? x.child('value') : x))) return false;
    const fn = fileFunctionOf(call, this.a);
    if (!fn) return false;
    const names = parameterNames(fn);
    const skip = methodClass(fn) && call.child('function')?.type === 'attribute' ? 1 : 0;
    let grew = false;
    const add = (name: string | undefined) => {
      if (!name) return;
      let set = this.params.get(fn);
      if (!set) this.params.set(fn, (set = new Set()));
      if (set.has(name)) return;
      set.add(name);
      grew = true;
    };
    positionalArgs(call).forEach((x, i) => {
      if (this.holds(x, 0)) add(names[i + skip]);
    });
    for (const x of args) {
      if (x.type === 'keyword_argument' && this.holds(x.child('value'), 0)) add(x.child('name')?.text);
    }
    return grew;
  }

  /** A cheap first test: an identifier, or the constructor itself. */
  private mayHold(x: PyNode | undefined): boolean {
    const e = unparen(x);
    return e?.type === 'identifier' || e === this.ctor || (e?.type === 'call' && e.child('function')?.type === 'attribute');
  }

  /** Whether `expr` holds the model where it is read. */
  private holds(expr: PyNode | undefined | null, depth: number): boolean {
    let e = unparen(expr ?? undefined);
    if (!e || depth > 8) return false;
    for (let i = 0; i < 4 && e?.type === 'call' && MODULE_CHAIN.test(calleeName(e) ?? '') && e.child('function')?.type === 'attribute'; i++) e = unparen(receiver(e));
    if (!e) return false;
    if (e === this.ctor) return true;
    if (e.type !== 'identifier') return false;
    const v = valueBefore(this.a, e);
    if (v) return this.holds(v, depth + 1);
    if (v !== null) return false;
    const fn = scopeOf(e);
    return fn !== null && (this.params.get(fn)?.has(e.text) ?? false);
  }
}
