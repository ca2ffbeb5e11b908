import { positionalArgs, unparen, type Analysis, type ModuleClass } from '../../analysis';
import { losses } from '../../analysis/losses';
import { returnValues } from '../../analysis/modules';
import { parameterArguments } from '../../analysis/parameters';
import { valueBefore } from '../../analysis/values';
import type { PyNode } from '../../parser';
import type { RawFix, Rule } from '../../types';

const RELU_FNS = new Set(['torch.relu', 'torch.nn.functional.relu', 'torch.nn.functional.relu6']);
const RELU_LAYERS = new Set(['torch.nn.ReLU', 'torch.nn.ReLU6']);
const LINEAR = new Set(['torch.nn.Linear', 'torch.nn.LazyLinear', 'torch.nn.Bilinear', 'torch.nn.Conv1d', 'torch.nn.Conv2d', 'torch.nn.Conv3d', 'torch.nn.LazyConv2d']);
const SHAPE = new Set(['view', 'reshape', 'squeeze', 'flatten', 'contiguous', 'float', 'to']);
const CHAIN = new Set(['to', 'cuda', 'cpu', 'train', 'eval', 'float', 'double']);

interface Relu {
  site: PyNode;
  fix?: RawFix;
}

const LOG_SOFTMAX_FNS = new Set(['torch.nn.functional.log_softmax', 'torch.log_softmax']);

class Finder {
  /** Set when a search went through a log_softmax (`throughLogSoftmax`). */
  passedLogSoftmax = false;

  /** `throughLogSoftmax`: for NLLLoss, a log_softmax applied last is the loss's own half of cross-entropy. */
  constructor(
    private readonly a: Analysis,
    private readonly throughLogSoftmax = false,
  ) {}

  /** A ReLU applied last to a linear layer's output, reaching `expr`. */
  ofExpr(expr: PyNode | undefined, depth: number, cls?: ModuleClass): Relu | undefined {
    const e = unparen(expr);
    if (!e || depth > 8) return undefined;
    if (e.type === 'identifier') {
      const v = this.a.scopes.valueAt(e.text, e);
      // `def step(out, y): crit(out, y)`: the output every call site passes (the ReLU is in the caller: no fix here).
      if (v === null && !cls) return this.parameterOutput(e, depth);
      if (!v) return undefined;
      const r = this.ofExpr(v, depth + 1, cls);
      // Fixing through a name is only local inside forward.
      return r ? { site: r.site, fix: cls ? r.fix : undefined } : undefined;
    }
    if (e.type !== 'call') return undefined;
    const fn = e.child('function');
    const q = this.a.qname(fn);
    if (q && RELU_FNS.has(q)) {
      const inner = positionalArgs(e)[0];
      return inner && this.isLinearOut(inner, cls, depth) ? { site: e, fix: replace(e, inner) } : undefined;
    }
    if (q && LOG_SOFTMAX_FNS.has(q) && this.throughLogSoftmax) return this.afterLogSoftmax(positionalArgs(e)[0], depth, cls);
    if (q) return undefined;
    if (fn?.type === 'attribute') {
      const m = fn.child('attribute')?.text ?? '';
      const obj = fn.child('object');
      if (m === 'relu' && obj && obj.text !== 'self' && this.isLinearOut(obj, cls, depth)) return { site: e, fix: replace(e, obj) };
      if (m === 'log_softmax' && this.throughLogSoftmax && obj?.text !== 'self') return this.afterLogSoftmax(obj, depth, cls);
      if (SHAPE.has(m)) {
        const r = this.ofExpr(obj, depth + 1, cls);
        return r ? { site: r.site } : undefined;
      }
      // `self.model(x)` outside forward (a Trainer, a training_step): what `self.model` was assigned.
      if (obj?.text === 'self' && !cls) return this.selfAttrModule(e, m, depth);
      if (obj?.text === 'self' && cls) {
        const layer = cls.layers.get(m);
        if (!layer) return undefined;
        const lq = this.a.callee(layer);
        if (lq && RELU_LAYERS.has(lq)) {
          const inner = positionalArgs(e)[0];
          return inner && this.isLinearOut(inner, cls, depth) ? { site: e, fix: replace(e, inner) } : undefined;
        }
        if (lq === 'torch.nn.LogSoftmax' && this.throughLogSoftmax) return this.afterLogSoftmax(positionalArgs(e)[0], depth, cls);
        return this.module(layer, depth + 1);
      }
    }
    if (fn?.type === 'identifier') {
      if (this.a.moduleClass(fn.text) || this.a.functions.has(fn.text)) return undefined;
      const v = this.a.scopes.valueAt(fn.text, fn);
      if (v === null) return this.parameterModule(fn, depth);
      return v ? this.module(v, depth + 1) : undefined;
    }
    return undefined;
  }

  private afterLogSoftmax(inner: PyNode | undefined, depth: number, cls?: ModuleClass): Relu | undefined {
    this.passedLogSoftmax = true;
    return this.ofExpr(inner, depth + 1, cls);
  }

  private selfAttrModule(call: PyNode, attr: string, depth: number): Relu | undefined {
    const cls = call.ancestor('class_definition');
    return cls ? agree(this.a.scopes.selfAttr(cls, attr).map((v) => this.module(v, depth + 1))) : undefined;
  }

  /** Data passed as a parameter: the ReLU every call site's argument comes from. */
  private parameterOutput(id: PyNode, depth: number): Relu | undefined {
    const args = depth < 8 ? parameterArguments(this.a, id) : undefined;
    const r = args ? agree(args.map((arg) => this.ofExpr(arg, depth + 1))) : undefined;
    return r && { site: r.site };
  }

  /** A model passed as a parameter: what every call site passes. */
  private parameterModule(id: PyNode, depth: number): Relu | undefined {
    const args = depth < 8 ? parameterArguments(this.a, id) : undefined;
    return args ? agree(args.map((arg) => this.module(arg, depth + 1))) : undefined;
  }

  /** Output of a module built by `value`. */
  module(value: PyNode, depth: number): Relu | undefined {
    const v = unparen(value);
    if (!v || depth > 8) return undefined;
    if (v.type === 'identifier') {
      const next = valueBefore(this.a, v);
      if (next === null) return this.parameterModule(v, depth);
      return next ? this.module(next, depth + 1) : undefined;
    }
    // `self._step(self.model, ...)` in a Trainer: what `self.model` was assigned.
    if (v.type === 'attribute' && v.child('object')?.text === 'self') {
      const owner = v.ancestor('class_definition');
      const attr = v.child('attribute')?.text;
      return owner && attr ? agree(this.a.scopes.selfAttr(owner, attr).map((x) => this.module(x, depth + 1))) : undefined;
    }
    if (v.type !== 'call') return undefined;
    const fn = v.child('function');
    const q = this.a.qname(fn);
    if (q === 'torch.nn.Sequential') {
      const args = positionalArgs(v);
      if (v.child('arguments')?.children.some((c) => c.type === 'list_splat')) return undefined;
      if (this.throughLogSoftmax && args.length > 2 && this.a.callee(args[args.length - 1]!) === 'torch.nn.LogSoftmax') {
        args.pop();
        this.passedLogSoftmax = true;
      }
      const last = args[args.length - 1];
      const prev = args[args.length - 2];
      if (!last || !prev) return undefined;
      const lq = this.a.callee(last);
      if (lq && RELU_LAYERS.has(lq) && LINEAR.has(this.a.callee(prev) ?? '')) {
        return { site: last, fix: { title: 'Remove the final ReLU', edits: [{ start: prev.end, end: last.end, newText: '' }] } };
      }
      return undefined;
    }
    if (fn?.type === 'identifier') {
      const cls = this.a.moduleClass(fn.text);
      const builder = cls ? undefined : this.a.functions.get(fn.text);
      // `build_model()`: a function of this file that returns the model.
      if (builder?.length === 1 && !builder[0]!.ancestor('class_definition')) return agree(returnValues(builder[0]!).map((r) => this.module(r, depth + 1)));
      if (!cls?.forward) return undefined;
      const rets = returnValues(cls.forward);
      if (rets.length !== 1) return undefined;
      return this.ofExpr(rets[0], depth + 1, cls);
    }
    if (fn?.type === 'attribute' && CHAIN.has(fn.child('attribute')?.text ?? '')) {
      const obj = fn.child('object');
      return obj ? this.module(obj, depth + 1) : undefined;
    }
    return undefined;
  }

  /** `self.fc(x)` with a Linear/Conv layer, directly or through a name bound in forward. */
  private isLinearOut(expr: PyNode, cls: ModuleClass | undefined, depth: number): boolean {
    let e = unparen(expr);
    if (e?.type === 'identifier' && cls) e = unparen(this.a.scopes.valueAt(e.text, e) ?? undefined);
    if (e?.type !== 'call' || depth > 10) return false;
    const fn = e.child('function');
    if (fn?.type === 'attribute' && fn.child('object')?.text === 'self' && cls) {
      const layer = cls.layers.get(fn.child('attribute')?.text ?? '');
      return layer ? LINEAR.has(this.a.callee(layer) ?? '') : false;
    }
    return false;
  }
}

const OTHER_LOSS = /^torch\.nn\.(?!CrossEntropyLoss$)\w+Loss$|^torch\.nn\.functional\.(?!cross_entropy$)\w*(loss|_entropy\w*|kl_div)$/;

const LOSS_WORD = /loss|_entropy|kl_div/i;

/** CrossEntropyLoss / F.cross_entropy is used and no other loss is. */
function onlyCrossEntropy(a: Analysis): boolean {
  let ce = false;
  for (const c of a.index.of('call')) {
    const q = a.callee(c) ?? '';
    if (q === 'torch.nn.CrossEntropyLoss' || q === 'torch.nn.functional.cross_entropy') ce = true;
    else if (OTHER_LOSS.test(q)) return false;
  }
  if (!ce) return false;
  // A reference to F.cross_entropy passed around (loss_fn=F.cross_entropy) counts too; other loss references do not.
  // A qualified name ends with the attribute's own name: test that text before resolving.
  return !a.index.of('attribute').some((n) => LOSS_WORD.test(n.child('attribute')?.text ?? '') && OTHER_LOSS.test(a.qname(n) ?? ''));
}

/** Module classes of the file that no other class of the file uses as a part. */
function topLevelModels(a: Analysis): ModuleClass[] {
  const byName = callFacts(a).byName;
  // A part: some `Cls(...)` call of it lies inside a module class (looked up by name, not by walking every class).
  const inside = (c: PyNode) => a.modules.some((m) => m.node.start <= c.start && c.end <= m.node.end);
  const isPart = (m: ModuleClass) => (byName.get(m.name) ?? []).some(inside);
  const subclassed = new Set(a.modules.flatMap((m) => (m.node.child('superclasses')?.namedChildren ?? []).map((b) => b.text)));
  return a.modules.filter((m) => !subclassed.has(m.name) && !isPart(m) && usedWhole(a, m.name));
}

/** Calls by the name they call (`Cls(...)`) and identifiers passed as arguments: built once per file for usedWhole. */
interface CallFacts {
  byName: Map<string, PyNode[]>;
  /** Built on first use (only a model bound to a name needs it). */
  passed?: Set<string>;
}
const callFactsCache = new WeakMap<Analysis, CallFacts>();
function callFacts(a: Analysis): CallFacts {
  let f = callFactsCache.get(a);
  if (f) return f;
  f = { byName: new Map() };
  for (const c of a.index.of('call')) {
    const fn = c.child('function');
    if (fn?.type !== 'identifier') continue;
    const list = f.byName.get(fn.text);
    if (list) list.push(c);
    else f.byName.set(fn.text, [c]);
  }
  callFactsCache.set(a, f);
  return f;
}

/** Identifiers handed to some call as an argument (positional or keyword value). */
function passedNames(a: Analysis): Set<string> {
  const f = callFacts(a);
  if (!f.passed) {
    f.passed = new Set();
    for (const n of a.index.of('argument_list')) {
      for (const arg of n.children) {
        if (!arg.named) continue;
        const v = arg.type === 'keyword_argument' ? arg.child('value') : arg;
        if (v?.type === 'identifier') f.passed.add(v.text);
      }
    }
  }
  return f.passed;
}

/** Every `Cls(...)` of the file is bound to a name (`model = Cls().to(dev)`) that is never handed to another call. */
function usedWhole(a: Analysis, name: string): boolean {
  const facts = callFacts(a);
  const bound: string[] = [];
  for (const c of facts.byName.get(name) ?? []) {
    let top: PyNode = c;
    while (top.parent?.type === 'attribute' && top.parent.parent?.type === 'call' && CHAIN.has(top.parent.child('attribute')?.text ?? '')) top = top.parent.parent;
    const asg = top.parent;
    if (asg?.type !== 'assignment' || asg.child('right') !== top || asg.child('left')?.type !== 'identifier') return false;
    bound.push(asg.child('left')!.text);
  }
  return !bound.some((b) => passedNames(a).has(b));
}

/** The same ReLU from every value (all call sites, all assignments), else nothing. */
function agree(rs: (Relu | undefined)[]): Relu | undefined {
  const first = rs[0];
  return first && rs.every((r) => r?.site === first.site) ? first : undefined;
}

function replace(call: PyNode, inner: PyNode): RawFix {
  return { title: 'Return the logits without ReLU', edits: [{ start: call.start, end: call.end, newText: inner.text }] };
}

export const LS006: Rule = {
  meta: {
    id: 'LS006',
    name: 'activation-on-final-logits',
    group: 'loss',
    defaultSeverity: 'warning',
    summary: 'A ReLU is applied to the final layer\'s output that goes to CrossEntropyLoss (or log_softmax and NLLLoss).',
    why:
      'Cross-entropy needs logits that can be any real number: a class is made unlikely by giving it a **negative** score. ' +
      'A ReLU after the last Linear layer clips every negative logit to 0, so the model can only raise scores, units that ' +
      'go negative stop receiving gradient, and training plateaus (often at a loss near log(num_classes)). The last layer of ' +
      'a classifier should be a plain Linear (or Conv) layer. Descent follows the model\'s `forward`, `nn.Sequential` and ' +
      '`self.<layer>` to the criterion (also through a helper\'s parameters when every call site agrees) and reports only ' +
      'a ReLU applied directly to a Linear/Conv output; for NLLLoss, ' +
      'through the `log_softmax` that makes it a cross-entropy.',
    wrong: 'model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10), nn.ReLU())\ncriterion = nn.CrossEntropyLoss()\nloss = criterion(model(x), y)',
    right: 'model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))\ncriterion = nn.CrossEntropyLoss()\nloss = criterion(model(x), y)',
    concept: 'Output layers: logits are unbounded; the loss applies the normalisation',
    fixable: true,
  },
  check(ctx) {
    const a = ctx.analysis;
    const finder = new Finder(a);
    const seen = new Set<PyNode>();
    const calls = losses(a).calls;
    // The criterion is built here but the model reaches it elsewhere (a helper, a Trainer): when CrossEntropyLoss is the
    // file's only loss, the top-level model classes of the file are what it trains.
    // Classes whose forward ends in a ReLU are rare: find them before the file-wide scans.
    const endInRelu = a.modules.filter((cls) => {
      const rets = cls.forward ? returnValues(cls.forward) : [];
      return rets.length === 1 && finder.ofExpr(rets[0], 0, cls);
    });
    if (endInRelu.length && onlyCrossEntropy(a)) {
      for (const cls of topLevelModels(a)) {
        if (!endInRelu.includes(cls)) continue;
        const r = finder.ofExpr(returnValues(cls.forward!)[0], 0, cls);
        if (!r || seen.has(r.site)) continue;
        seen.add(r.site);
        ctx.report({
          node: r.site,
          message: `${cls.name}'s output goes through a final ReLU (${r.site.text}) while the file trains with CrossEntropyLoss: negative logits are clipped to 0. Remove the activation after the last layer.`,
          fixes: r.fix ? [r.fix] : undefined,
        });
      }
    }
    const nllFinder = new Finder(a, true);
    for (const c of calls) {
      if (c.kind !== 'cross_entropy' && c.kind !== 'nll') continue;
      nllFinder.passedLogSoftmax = false;
      let r = (c.kind === 'nll' ? nllFinder : finder).ofExpr(c.input, 0);
      // NLLLoss on a ReLU output without log_softmax is LS003's finding (no log-probabilities at all).
      if (c.kind === 'nll' && !nllFinder.passedLogSoftmax) r = undefined;
      if (!r || seen.has(r.site)) continue;
      seen.add(r.site);
      const loss = c.kind === 'nll' ? 'log_softmax and NLLLoss' : 'CrossEntropyLoss';
      ctx.report({
        node: c.input,
        message: `The logits reaching ${loss} go through a final ReLU (${r.site.text}), which clips negative scores to 0. Remove the activation after the last layer.`,
        fixes: r.fix ? [r.fix] : undefined,
      });
    }
  },
};
