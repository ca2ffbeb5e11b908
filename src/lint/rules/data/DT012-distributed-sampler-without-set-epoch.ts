import { bodyOf, calleeName, hasKeywordSplat, keywordArg, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { fileFunctionOf } from '../../analysis/calls';
import { returnValues } from '../../analysis/modules';
import { reachingDefs } from '../../analysis/reaching';
import { buildsAnyDataLoader } from '../../analysis/loaderClasses';
import { dictKeyOf, heldValue } from '../../analysis/loaderValues';
import { assignedTarget, isDataLoaderQname } from '../../analysis/runtime';
import { indentOf, lineStartIfAlone } from '../../analysis/training';
import type { PyNode } from '../../parser';
import type { RawFix, Rule, RuleContext } from '../../types';

/** Names that say validation / test / evaluation data: their sampler's order does not matter. */
const HELD_OUT = /val|test|eval/i;
/** Calls that iterate their first argument(s): `enumerate(loader)`, `tqdm(loader)`, `zip(a_loader, b_loader)`. */
const ITERATING = new Set(['enumerate', 'tqdm', 'zip', 'iter', 'islice', 'track']);
/** An epoch loop's target or counter name. */
const EPOCH_NAME = /epoch|^ep$|^e$/i;

const isSamplerQname = (q: string | undefined): boolean =>
  q === 'torch.utils.data.distributed.DistributedSampler' || q === 'torch.utils.data.DistributedSampler';
const isLoaderQname = isDataLoaderQname;

/** The calls of the file that resolve to `test`, looked up by their plain name and by each import alias. */
function callsTo(a: Analysis, plain: string, test: (q: string | undefined) => boolean): PyNode[] {
  const names = new Set([plain]);
  for (const [local, q] of a.imports.aliases) if (test(q)) names.add(local);
  const out: PyNode[] = [];
  for (const n of names) for (const c of a.callsNamed(n)) if (test(a.callee(c))) out.push(c);
  return out;
}

/**
 * Follows names, parameters, `self.x` and literal-key dict entries (a few steps) to the expression they hold: the call
 * node, a conditional expression... Undefined when a name's value is unknown.
 */
function resolve(a: Analysis, expr: PyNode | undefined): PyNode | undefined {
  let e = unparen(expr);
  for (let i = 0; e && i < 6 && (e.type === 'identifier' || e.type === 'attribute' || e.type === 'subscript'); i++) {
    const v = heldValue(a, e);
    if (!v) return e.type === 'attribute' && e.child('object')?.text !== 'self' ? e : undefined;
    e = v;
  }
  return e;
}

/** Whether `expr` holds the object `call` builds (also `x if distributed else None`). */
function holds(a: Analysis, expr: PyNode | undefined, call: PyNode): boolean {
  const v = resolve(a, expr);
  if (v === call) return true;
  return v?.type === 'conditional_expression' && v.namedChildren.some((c) => unparen(c) === call);
}

/** The sampler as the training loop can name it: `train_sampler`, `self.sampler`, or `<loader>.sampler` when inline. */
interface Sampler {
  call: PyNode;
  /** The target the sampler is assigned to (identifier or `self.x`), undefined when built inline in the DataLoader. */
  target: PyNode | undefined;
  /** Whether the binding is exactly the call (not `... if distributed else None`, not an if/else with None). */
  plain: boolean;
}

/** The sampler's construction, when it shuffles (shuffle=True is the default) and is not held-out data's. */
function shufflingSampler(a: Analysis, call: PyNode): Sampler | undefined {
  if (hasKeywordSplat(call)) return undefined;
  const args = positionalArgs(call);
  const shuffle = keywordArg(call, 'shuffle') ?? args[3];
  if (shuffle && shuffle.text !== 'True' && !parameterTrueByDefault(a, shuffle)) return undefined;
  const ds = args[0] ?? keywordArg(call, 'dataset');
  if (!ds || HELD_OUT.test(ds.text)) return undefined;
  return samplerBinding(call);
}

/**
 * `shuffle=shuffle` read from a parameter of the enclosing function whose default is True (`def __init__(self, ds,
 * shuffle=True)`), and no call of that function in the file passes it something else.
 */
function parameterTrueByDefault(a: Analysis, arg: PyNode): boolean {
  const e = unparen(arg);
  if (e?.type !== 'identifier' || a.scopes.valueAt(e.text, e) !== null || a.scopes.elementAt(e.text, e)) return false;
  const fn = e.ancestor('function_definition');
  const param = fn ? parameterIndex(fn, e.text) : undefined;
  if (!fn || !param || parameterDefault(fn, param.index)?.type !== 'true') return false;
  // the function's callers: by its name, or by its class's name for __init__
  let name = fn.child('name')?.text;
  if (name === '__init__') name = fn.ancestor('class_definition')?.child('name')?.text;
  return !a.callsNamed(name ?? '').some((site) => {
    const passed = unparen(keywordArg(site, e.text));
    return passed !== undefined && passed.type !== 'true';
  });
}

/**
 * A file function that returns the sampler (`def data_sampler(dataset, shuffle, distributed): if distributed: return
 * DistributedSampler(dataset, shuffle=shuffle)`): one sampler per call site of the function whose arguments make it
 * shuffle and are not held-out data, judged with the site's arguments for the function's parameters. Undefined when
 * the sampler is not what its function returns.
 */
function returnedSamplers(a: Analysis, call: PyNode): Sampler[] | undefined {
  const fn = call.ancestor('function_definition');
  const name = fn?.child('name')?.text;
  if (!fn || !name || hasKeywordSplat(call) || !returnValues(fn).some((r) => holds(a, r, call))) return undefined;
  const args = positionalArgs(call);
  const shuffle = unparen(keywordArg(call, 'shuffle') ?? args[3]);
  const ds = unparen(args[0] ?? keywordArg(call, 'dataset'));
  if (!ds) return [];
  const out: Sampler[] = [];
  for (const site of a.callsNamed(name)) {
    if (hasKeywordSplat(site) || fileFunctionOf(site, a) !== fn || contains(fn, site)) continue;
    const shuffleAt = shuffle && argumentAt(fn, site, shuffle);
    const dsAt = argumentAt(fn, site, ds);
    if (shuffleAt === null || (shuffleAt && shuffleAt.text !== 'True')) continue;
    if (!dsAt || HELD_OUT.test(dsAt.text)) continue;
    const s = samplerBinding(site);
    if (s) out.push(s);
  }
  return out;
}

/**
 * What `expr`, read in `fn`, is at a call site of `fn`: the site's argument (or the default) for a parameter, the
 * expression itself for a literal; null when it depends on something else (another local, an unknown argument).
 */
function argumentAt(fn: PyNode, site: PyNode, expr: PyNode): PyNode | null {
  if (expr.type === 'true' || expr.type === 'false') return expr;
  if (expr.type !== 'identifier') return null;
  const param = parameterIndex(fn, expr.text);
  if (!param) return null;
  const isMethod = site.child('function')?.type === 'attribute';
  const index = param.index - (param.bound && isMethod ? 1 : 0);
  const arg = keywordArg(site, expr.text) ?? (index >= 0 ? positionalArgs(site)[index] : undefined) ?? parameterDefault(fn, param.index);
  return unparen(arg) ?? null;
}

/** The default value of the parameter at `index` of `fn`'s list. */
function parameterDefault(fn: PyNode, index: number): PyNode | undefined {
  const p = (fn.child('parameters')?.namedChildren ?? []).filter((c) => c.type !== 'comment')[index];
  return p?.type === 'default_parameter' || p?.type === 'typed_default_parameter' ? (p.child('value') ?? undefined) : undefined;
}

/** How the code names the sampler `call` builds (the sampler call itself, or a call of a function returning it). */
function samplerBinding(call: PyNode): Sampler | undefined {
  let outer = call.parent;
  while (outer?.type === 'parenthesized_expression') outer = outer.parent;
  const conditional = outer?.type === 'conditional_expression';
  const value = conditional ? outer! : call;
  const target = value.parent?.type === 'assignment' && value.parent.child('right') === value ? (value.parent.child('left') ?? undefined) : undefined;
  if (target && target.type !== 'identifier' && !(target.type === 'attribute' && target.child('object')?.text === 'self')) return undefined;
  if (target && HELD_OUT.test(target.text)) return undefined;
  if (!target && conditional) return undefined;
  return { call, target, plain: !conditional };
}

/**
 * Whether a DataLoader's `sampler=` is this sampler: it holds the call, is the call itself, or names the sampler's
 * variable bound to None in the other branch of the same if (`if distributed: s = DistributedSampler(ds) else: s = None`).
 */
function usesSampler(a: Analysis, loader: PyNode, s: Sampler): 'plain' | 'maybe' | undefined {
  const arg = unparen(keywordArg(loader, 'sampler'));
  if (!arg) return undefined;
  if (arg === s.call) return 'plain';
  if (!s.target || arg.type !== s.target.type || arg.text !== s.target.text) return undefined;
  if (holds(a, arg, s.call)) return s.plain ? 'plain' : 'maybe';
  if (arg.type === 'identifier' && samplerOrNone(a, arg, s.call)) return 'maybe';
  // if/else: the other branch binds None
  const v = resolve(a, arg);
  if (v?.type !== 'none') return undefined;
  const ifOf = (n: PyNode) => n.ancestor('if_statement');
  const samplerIf = ifOf(s.call);
  return samplerIf && samplerIf === ifOf(v) ? 'maybe' : undefined;
}

/**
 * Every definition reaching the name is a DistributedSampler (this one among them) or None: `if horovod: s =
 * DistributedSampler(ds, ...) elif ddp: s = DistributedSampler(ds) else: s = None`.
 */
function samplerOrNone(a: Analysis, id: PyNode, call: PyNode): boolean {
  const defs = reachingDefs(id);
  if (!defs?.length || !defs.some((d) => unparen(d.value) === call)) return false;
  return defs.every((d) => {
    const v = unparen(d.value);
    return d.index === undefined && (v?.type === 'none' || (v?.type === 'call' && isSamplerQname(a.callee(v))));
  });
}

/** The expression a for loop iterates, through `enumerate(...)`, `tqdm(...)`, `zip(...)`. */
function iterated(loop: PyNode): PyNode[] {
  const out: PyNode[] = [];
  const visit = (e: PyNode | undefined, depth: number): void => {
    e = unparen(e);
    if (!e) return;
    if (e.type === 'call' && depth < 3 && ITERATING.has(calleeName(e) ?? '')) {
      const args = positionalArgs(e);
      for (const x of calleeName(e) === 'zip' ? args : args.slice(0, 1)) visit(x, depth + 1);
      return;
    }
    out.push(e);
  };
  visit(loop.child('right') ?? undefined, 0);
  return out;
}

/** A loop that runs the loader's pass again and again: `while`, `for ... in range(...)`, `for epoch in ...`. */
function isEpochLoop(loop: PyNode): boolean {
  if (loop.type === 'while_statement') return true;
  if (loop.type !== 'for_statement') return false;
  const left = loop.child('left');
  if (left?.type === 'identifier' && EPOCH_NAME.test(left.text)) return true;
  let right = unparen(loop.child('right') ?? undefined);
  for (let i = 0; right?.type === 'call' && i < 3; i++) {
    const name = calleeName(right);
    if (name === 'range' || name === 'trange') return true;
    if (!ITERATING.has(name ?? '')) return false;
    right = unparen(positionalArgs(right)[0]);
  }
  return false;
}

const contains = (outer: PyNode, inner: PyNode) => outer.start <= inner.start && inner.end <= outer.end;

/** The nearest enclosing epoch loop of `node` in its function, unless a loop on the way rebuilds the sampler. */
function epochLoopOf(node: PyNode, sampler: PyNode): PyNode | undefined {
  for (let p = node.parent; p && p.type !== 'function_definition' && p.type !== 'class_definition' && p.type !== 'lambda'; p = p.parent) {
    if (p.type !== 'for_statement' && p.type !== 'while_statement') continue;
    const body = p.child('body');
    if (!body || !contains(body, node)) continue;
    if (contains(p, sampler)) return undefined;
    if (isEpochLoop(p)) return p;
  }
  return undefined;
}

/** The index of a parameter in a function's list, and whether the first parameter is `self`/`cls`. */
function parameterIndex(fn: PyNode, name: string): { index: number; bound: boolean } | undefined {
  const params = (fn.child('parameters')?.namedChildren ?? []).filter((p) => p.type !== 'comment');
  const ids = params.map((p) => (p.type === 'identifier' ? p : p.type === 'typed_parameter' || p.type === 'default_parameter' || p.type === 'typed_default_parameter' ? p.namedChildren.find((c) => c.type === 'identifier') : undefined));
  const index = ids.findIndex((id) => id?.text === name);
  if (index < 0 || params.slice(0, index).some((p) => p.type === 'list_splat_pattern' || p.type === 'keyword_separator' || p.type === 'positional_separator')) return undefined;
  return { index, bound: ids[0]?.text === 'self' || ids[0]?.text === 'cls' };
}

/** The epoch loop in which `loader` is iterated: directly, or through a file function that iterates its parameter. */
function epochLoopIterating(a: Analysis, ctx: RuleContext, loader: PyNode, sampler: PyNode): PyNode | undefined {
  for (const loop of ctx.nodesOfType('for_statement')) {
    for (const e of iterated(loop)) {
      if (holds(a, e, loader) || passedIn(a, e, loader, 3) || attributeOfUnknownHolder(a, e, loader)) {
        const epoch = epochLoopOf(loop, sampler) ?? epochLoopOfCallers(a, loop, sampler, 2);
        if (epoch) return epoch;
        continue;
      }
      // `def train_one_epoch(model, loader, ...): for x, y in loader:` called inside the epoch loop with our loader
      if (e.type !== 'identifier' || a.scopes.valueAt(e.text, e) !== null) continue;
      const fn = loop.ancestor('function_definition');
      const name = fn?.child('name')?.text;
      const param = fn && name ? parameterIndex(fn, e.text) : undefined;
      if (!param || !name) continue;
      for (const call of a.callsNamed(name)) {
        if (hasKeywordSplat(call)) continue;
        const isMethod = call.child('function')?.type === 'attribute';
        const index = param.index - (param.bound && isMethod ? 1 : 0);
        const arg = keywordArg(call, e.text) ?? (index >= 0 ? positionalArgs(call)[index] : undefined);
        if (!arg || !holds(a, arg, loader)) continue;
        const epoch = epochLoopOf(call, sampler);
        if (epoch) return epoch;
      }
    }
  }
  return undefined;
}

/**
 * `data.train_loader` where `data` holds an object the file does not show (`data = self.elements["data"]`), and the
 * loader is `self.train_loader` of a class of the file: every assignment of an attribute of that name in the file is
 * a DataLoader (this one among them) or None, so the object can only be that class's.
 */
function attributeOfUnknownHolder(a: Analysis, e: PyNode, loader: PyNode): boolean {
  const target = assignedTarget(loader);
  const attr = target?.type === 'attribute' && target.child('object')?.text === 'self' ? target.child('attribute')?.text : undefined;
  if (!attr || e.type !== 'attribute' || e.child('attribute')?.text !== attr) return false;
  const holder = unparen(e.child('object') ?? undefined);
  if (!holder || holder.text === 'self' || (holder.type !== 'identifier' && holder.type !== 'attribute' && holder.type !== 'subscript')) return false;
  // the holder's object is unknown here: not a call of a known class, not a literal
  const held = resolve(a, holder);
  if (held && held.type !== 'identifier' && held.type !== 'attribute' && held.type !== 'subscript') return false;
  return a.identifiersNamed(attr).every((id) => {
    const at = id.parent;
    if (at?.type !== 'attribute' || at.child('attribute') !== id || at.parent?.type !== 'assignment' || at.parent.child('left') !== at) return true;
    const value = unparen(at.parent.child('right') ?? undefined);
    return value === loader || value?.type === 'none' || (value?.type === 'call' && buildsAnyDataLoader(value, a));
  });
}

/**
 * A parameter that some call site of its function passes `loader` to, through `depth` levels of parameters. Also
 * where the caller rebinds the name from the call (`loader = sample_data(loader)`): the argument is read before.
 */
function passedIn(a: Analysis, e: PyNode, loader: PyNode, depth: number): boolean {
  if (e.type !== 'identifier' || depth <= 0) return false;
  let v = a.scopes.valueAt(e.text, e);
  const asg = v?.parent;
  if (v && contains(v, e) && asg?.type === 'assignment') v = a.scopes.valueAt(e.text, asg);
  if (v !== null || a.scopes.elementAt(e.text, e)) return false;
  const fn = e.ancestor('function_definition');
  const name = fn?.child('name')?.text;
  const param = fn && name ? parameterIndex(fn, e.text) : undefined;
  if (!fn || !name || !param) return false;
  return a.callsNamed(name).some((site) => {
    if (hasKeywordSplat(site) || fileFunctionOf(site, a) !== fn || contains(fn, site)) return false;
    const arg = argumentAt(fn, site, e);
    return arg !== null && (holds(a, arg, loader) || passedIn(a, arg, loader, depth - 1));
  });
}

/**
 * The epoch loop around a call of the function that runs `node` (`while True: self._train_epoch()` for the loop in
 * `_train_epoch`), through `depth` levels of calls of the file's functions.
 */
function epochLoopOfCallers(a: Analysis, node: PyNode, sampler: PyNode, depth: number): PyNode | undefined {
  const fn = node.ancestor('function_definition');
  const name = fn?.child('name')?.text;
  if (!fn || !name || depth <= 0) return undefined;
  for (const call of a.callsNamed(name)) {
    if (fileFunctionOf(call, a) !== fn || contains(fn, call)) continue;
    const epoch = epochLoopOf(call, sampler) ?? epochLoopOfCallers(a, call, sampler, depth - 1);
    if (epoch) return epoch;
  }
  return undefined;
}

/** Whether some `set_epoch(...)` of the file may reach this sampler (generously: anything not surely another object). */
function setEpochCalled(a: Analysis, ctx: RuleContext, s: Sampler, loader: PyNode, loaderTarget: PyNode | undefined): boolean {
  if (!ctx.source.includes('set_epoch')) return false;
  const names = [s.target, loaderTarget].flatMap((t) => (t ? [t.type === 'attribute' ? (t.child('attribute')?.text ?? t.text) : t.text] : []));
  const mentions = (text: string) => names.some((n) => new RegExp(`(^|[^\\w])${n}($|[^\\w])`).test(text));
  for (const call of a.callsNamed('set_epoch')) {
    const recv = receiver(call);
    if (!recv || mentions(recv.text)) return true;
    // `loader.sampler.set_epoch`: judge the loader
    let base = recv;
    while (base.type === 'attribute' && /^(sampler|batch_sampler)$/.test(base.child('attribute')?.text ?? '')) base = base.child('object')!;
    const v = resolve(a, base);
    if (!v || v === s.call || v === loader) return true;
    // another object the file builds with a known class (another sampler or loader, a dataset...): not ours
    if (v.type !== 'call' || a.callee(v) === undefined) return true;
  }
  // `getattr(sampler, "set_epoch")`, `partial(...)`: any other mention in code counts
  return ctx.nodesOfType('string').some((n) => /^[rbuf]*['"]set_epoch['"]$/i.test(n.text));
}

export const DT012: Rule = {
  meta: {
    id: 'DT012',
    name: 'distributed-sampler-without-set-epoch',
    group: 'data',
    defaultSeverity: 'warning',
    summary: 'A shuffling DistributedSampler is never given set_epoch(epoch): every epoch sees the same order.',
    why:
      '`DistributedSampler` shuffles with a generator seeded by `seed + epoch`, and its epoch only changes when you call ' +
      '`sampler.set_epoch(epoch)`. The PyTorch docs: "calling the set_epoch() method at the beginning of each epoch ' +
      'before creating the DataLoader iterator is necessary to make shuffling work properly across multiple epochs. ' +
      'Otherwise, the same ordering will be always used." Training then sees identical batches in the same order every ' +
      'epoch, as if shuffling were off. Call `sampler.set_epoch(epoch)` as the first statement of the epoch loop.',
    wrong:
      'from torch.utils.data import DataLoader\nfrom torch.utils.data.distributed import DistributedSampler\n' +
      'sampler = DistributedSampler(train_ds)\ntrain_loader = DataLoader(train_ds, batch_size=64, sampler=sampler)\n' +
      'for epoch in range(10):\n    for x, y in train_loader:\n        train_step(x, y)',
    right:
      'from torch.utils.data import DataLoader\nfrom torch.utils.data.distributed import DistributedSampler\n' +
      'sampler = DistributedSampler(train_ds)\ntrain_loader = DataLoader(train_ds, batch_size=64, sampler=sampler)\n' +
      'for epoch in range(10):\n    sampler.set_epoch(epoch)\n    for x, y in train_loader:\n        train_step(x, y)',
    concept: 'Stochastic gradient descent: mini-batches should be random samples',
    fixable: true,
  },
  check(ctx) {
    const a = ctx.analysis;
    const samplerCalls = callsTo(a, 'DistributedSampler', isSamplerQname);
    if (samplerCalls.length === 0) return;
    const loaders = callsTo(a, 'DataLoader', isLoaderQname);
    const samplers = samplerCalls.flatMap((call) => {
      const returned = returnedSamplers(a, call);
      if (returned) return returned;
      const s = shufflingSampler(a, call);
      return s ? [s] : [];
    });
    // one finding per loader, when the samplers of several branches (horovod / DDP) feed it
    const reported = new Set<PyNode>();
    for (const s of samplers) {
      const call = s.call;
      for (const loader of loaders) {
        const use = usesSampler(a, loader, s);
        if (!use || reported.has(loader)) continue;
        const loaderTarget = assignedTarget(loader);
        if (loaderTarget && HELD_OUT.test(loaderTarget.text)) continue;
        if (HELD_OUT.test(dictKeyOf(loader) ?? '')) continue;
        if (setEpochCalled(a, ctx, s, loader, loaderTarget)) continue;
        const epoch = epochLoopIterating(a, ctx, loader, call);
        if (!epoch) continue;
        const name = s.target?.text ?? (loaderTarget ? `${loaderTarget.text}.sampler` : 'the sampler');
        ctx.report({
          node: call,
          message: `${name} is a DistributedSampler but set_epoch() is never called: it reshuffles with the same seed, so every epoch sees the same order. Call ${name === 'the sampler' ? 'sampler' : name}.set_epoch(epoch) at the start of each epoch.`,
          fixes: use === 'plain' ? fixFor(a, epoch, s, loader, loaderTarget) : undefined,
        });
        reported.add(loader);
        break;
      }
    }
  },
};

/** Inserts `<sampler>.set_epoch(<epoch>)` as the first statement of a `for <name> in ...:` epoch loop. */
function fixFor(a: Analysis, loop: PyNode, s: Sampler, loader: PyNode, loaderTarget: PyNode | undefined): RawFix[] | undefined {
  const left = loop.child('left');
  if (loop.type !== 'for_statement' || left?.type !== 'identifier' || left.text === '_') return undefined;
  const first = bodyOf(loop)[0];
  if (!first || loop.child('body')?.type !== 'block' || lineStartIfAlone(first) === undefined) return undefined;
  // the name must hold the sampler (or its loader) where the loop runs
  let expr: string | undefined;
  if (s.target && holdsAt(a, s.target, first, s.call)) expr = s.target.text;
  else if (!s.target && loaderTarget && holdsAt(a, loaderTarget, first, loader)) expr = `${loaderTarget.text}.sampler`;
  if (!expr) return undefined;
  return [{ title: `Call ${expr}.set_epoch(${left.text}) at the start of each epoch`, edits: [{ start: first.start, end: first.start, newText: `${expr}.set_epoch(${left.text})\n${indentOf(first)}` }] }];
}

/** Whether the name or `self.x` that `target` spells holds `call` where `at` runs. */
function holdsAt(a: Analysis, target: PyNode, at: PyNode, call: PyNode): boolean {
  if (target.type === 'identifier') return holds(a, a.scopes.valueAt(target.text, at) ?? undefined, call);
  const cls = at.ancestor('class_definition');
  const attr = target.child('attribute')?.text;
  const values = cls && attr ? a.scopes.selfAttr(cls, attr) : [];
  return values.length === 1 && holds(a, values[0], call);
}
