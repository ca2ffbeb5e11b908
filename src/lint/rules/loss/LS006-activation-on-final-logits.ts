import { calleeName, positionalArgs, unparen, type Analysis, type ModuleClass } from '../../analysis';
import { losses } from '../../analysis/losses';
import { returnValues } from '../../analysis/modules';
import { MODEL_NAME } from '../../analysis/outputs';
import { parameterArguments } from '../../analysis/parameters';
import { valueBefore } from '../../analysis/values';
import type { PyNode } from '../../parser';
import type { RawFix, Rule, RuleContext } from '../../types';

const RELU_FNS = new Set(['torch.relu', 'torch.nn.functional.relu', 'torch.nn.functional.relu6']);
const RELU_LAYERS = new Set(['torch.nn.ReLU', 'torch.nn.ReLU6']);
const LINEAR = new Set(['torch.nn.Linear', 'torch.nn.LazyLinear', 'torch.nn.Bilinear', 'torch.nn.Conv1d', 'torch.nn.Conv2d', 'torch.nn.Conv3d', 'torch.nn.LazyConv2d']);
const SHAPE = new Set(['view', 'reshape', 'squeeze', 'flatten', 'contiguous', 'float', 'to']);
const CHAIN = new Set(['to', 'cuda', 'cpu', 'train', 'eval', 'float', 'double']);

interface Relu {
  site: PyNode;
  fix?: RawFix;
}

/** The activations a search looks for: functions, layer classes and tensor methods. */
interface Activations {
  fns: ReadonlySet<string>;
  layers: ReadonlySet<string>;
  methods: ReadonlySet<string>;
}

const RELU: Activations = { fns: RELU_FNS, layers: RELU_LAYERS, methods: new Set(['relu']) };

/** Activations that never return a negative value: a sigmoid after one of them is at least 0.5. */
const NON_NEGATIVE: Activations = {
  fns: new Set([...RELU_FNS, 'torch.nn.functional.softplus', 'torch.abs']),
  layers: new Set([...RELU_LAYERS, 'torch.nn.Softplus']),
  methods: new Set(['relu', 'abs']),
};

const LOG_SOFTMAX_FNS = new Set(['torch.nn.functional.log_softmax', 'torch.log_softmax']);

interface FinderOptions {
  /** For NLLLoss, a log_softmax applied last is the loss's own half of cross-entropy. */
  throughLogSoftmax?: boolean;
  acts?: Activations;
  /**
   * `model(x)` with `model` never bound in the file, or a parameter no call site shows: the file's top-level model
   * classes, when they all agree (a post's snippet, a `train(model, ...)` nobody calls here).
   */
  unseenModels?: boolean;
}

class Finder {
  /** Set when a search went through a log_softmax (`throughLogSoftmax`). */
  passedLogSoftmax = false;
  private readonly throughLogSoftmax: boolean;
  private readonly acts: Activations;
  private readonly unseenModels: boolean;

  constructor(
    private readonly a: Analysis,
    options: FinderOptions = {},
  ) {
    this.throughLogSoftmax = options.throughLogSoftmax ?? false;
    this.acts = options.acts ?? RELU;
    this.unseenModels = options.unseenModels ?? false;
  }

  /** A ReLU applied last to a linear layer's output, reaching `expr`. */
  ofExpr(expr: PyNode | undefined, depth: number, cls?: ModuleClass): Relu | undefined {
    const e = unparen(expr);
    if (!e || depth > 8) return undefined;
    if (e.type === 'identifier') {
      // valueBefore: `x = F.relu(x)` reads the `x` bound before that statement.
      const v = valueBefore(this.a, e);
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
    if (q && this.acts.fns.has(q)) {
      const inner = positionalArgs(e)[0];
      return inner && this.isLinearOut(inner, cls, depth) ? { site: e, fix: replace(e, inner) } : undefined;
    }
    if (q && LOG_SOFTMAX_FNS.has(q) && this.throughLogSoftmax) return this.afterLogSoftmax(positionalArgs(e)[0], depth, cls);
    if (q) return undefined;
    if (fn?.type === 'attribute') {
      const m = fn.child('attribute')?.text ?? '';
      const obj = fn.child('object');
      if (this.acts.methods.has(m) && obj && obj.text !== 'self' && this.isLinearOut(obj, cls, depth)) return { site: e, fix: replace(e, obj) };
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
        if (lq && this.acts.layers.has(lq)) {
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
      if (v === null) return this.parameterModule(fn, depth) ?? this.unseenModel(fn, depth);
      return v ? this.module(v, depth + 1) : this.unseenModel(fn, depth);
    }
    return undefined;
  }

  /** A model name whose value the file does not show: the file's top-level models, when they all end the same way. */
  private unseenModel(fn: PyNode, depth: number): Relu | undefined {
    if (!this.unseenModels || !MODEL_NAME.test(fn.text) || depth > 8) return undefined;
    // A parameter whose call sites the file shows is parameterModule's to answer.
    if (this.a.scopes.valueAt(fn.text, fn) === null && parameterArguments(this.a, fn)?.length) return undefined;
    const models = topLevelModels(this.a);
    const outs = models.map((cls) => {
      const rets = cls.forward ? returnValues(cls.forward) : [];
      const r = rets.length === 1 ? this.ofExpr(rets[0], depth + 1, cls) : undefined;
      return r && { site: r.site };
    });
    return agree(outs);
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
      if (lq && this.acts.layers.has(lq) && LINEAR.has(this.a.callee(prev) ?? '')) {
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
    if (e?.type === 'identifier' && cls) e = unparen(valueBefore(this.a, e) ?? undefined);
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

const SIGMOID_FNS = new Set(['torch.sigmoid', 'torch.nn.functional.sigmoid', 'torch.special.expit']);

/** A criterion whose loss the file may not show: `criterion(p, y)`, `self.loss_fn(p, y)`, `bce(p, y)`. */
const LOSS_NAME = /criterion|^crit$|loss_?f(n|unc\w*)$|^bce/i;

/**
 * Expressions used as probabilities: the input of BCELoss or of a criterion the file does not define, and values
 * thresholded (`p > 0.5`) or rounded into predictions.
 */
function probabilityUses(a: Analysis): PyNode[] {
  const uses: PyNode[] = [];
  // Other known losses have their own rules for a sigmoid input (LS002) or a ReLU (the CrossEntropyLoss path).
  const known = new Set<PyNode>();
  for (const c of losses(a).calls) {
    known.add(c.call);
    if (c.kind === 'bce') uses.push(c.input);
  }
  for (const call of a.index.of('call')) {
    const name = calleeName(call) ?? '';
    const args = positionalArgs(call);
    if (LOSS_NAME.test(name) && args.length >= 2 && !known.has(call) && isCriterionCall(a, call)) uses.push(args[0]!);
    if (name !== 'round') continue;
    const fn = call.child('function');
    const q = a.qname(fn);
    // `torch.round(p)`, `p.round()`
    if (q === 'torch.round' && args[0]) uses.push(args[0]);
    else if (!q && fn?.type === 'attribute' && !args.length) uses.push(fn.child('object')!);
  }
  for (const cmp of a.index.of('comparison_operator')) {
    const [left, right] = cmp.namedChildren;
    const op = cmp.children.find((c) => !c.named)?.text;
    if (!left || !right || cmp.namedChildren.length !== 2) continue;
    if ((op === '>' || op === '>=') && isProbabilityLiteral(right)) uses.push(left);
    else if ((op === '<' || op === '<=') && isProbabilityLiteral(left)) uses.push(right);
  }
  return uses;
}

/** `criterion(...)` / `self.criterion(...)` where the name is not a function of the file or another known loss. */
function isCriterionCall(a: Analysis, call: PyNode): boolean {
  const fn = call.child('function');
  if (fn?.type === 'identifier') return !a.functions.has(fn.text) && !a.moduleClass(fn.text);
  // `self.criterion(...)` and `criterion.forward(...)` are losses; `F.some_loss_fn(...)` is a library's function.
  return fn?.type === 'attribute' && fn.child('object')?.text === 'self' && !a.qname(fn);
}

/** A threshold between 0 and 1 (`0.5`). */
function isProbabilityLiteral(n: PyNode): boolean {
  const v = Number(unparen(n)?.text);
  return unparen(n)?.type === 'float' && v > 0 && v < 1;
}

/** What a sigmoid (an `Output` site) is applied to, and the module class whose layers that expression reads. */
function sigmoidInput(a: Analysis, site: PyNode): { input: PyNode; cls?: ModuleClass } | undefined {
  if (site.type !== 'call') return undefined;
  const fn = site.child('function');
  const q = a.qname(fn);
  const clsNode = site.ancestor('class_definition');
  const cls = clsNode ? a.modules.find((m) => m.node === clsNode) : undefined;
  let input: PyNode | undefined;
  if (q && SIGMOID_FNS.has(q)) input = positionalArgs(site)[0];
  else if (q) return undefined;
  else if (fn?.type === 'attribute' && fn.child('object')?.text === 'self') input = positionalArgs(site)[0]; // `self.sigmoid(x)`
  else if (fn?.type === 'attribute' && fn.child('attribute')?.text === 'sigmoid') input = fn.child('object'); // `x.sigmoid()`
  return input ? { input, cls } : undefined;
}

/** `nn.Sequential(..., nn.Linear(64, 1), nn.ReLU(), nn.Sigmoid())`: the non-negative layer before the sigmoid element. */
function sequentialRelu(a: Analysis, element: PyNode): Relu | undefined {
  const list = element.parent;
  const seq = list?.type === 'argument_list' ? list.parent : undefined;
  if (!seq || a.callee(seq) !== 'torch.nn.Sequential' || a.callee(element) !== 'torch.nn.Sigmoid') return undefined;
  const args = positionalArgs(seq);
  const i = args.indexOf(element);
  const relu = args[i - 1];
  const linear = args[i - 2];
  if (!relu || !linear || !NON_NEGATIVE.layers.has(a.callee(relu) ?? '') || !LINEAR.has(a.callee(linear) ?? '')) return undefined;
  return { site: relu, fix: { title: 'Remove the ReLU before the sigmoid', edits: [{ start: linear.end, end: relu.end, newText: '' }] } };
}

/**
 * Binary classifiers: a non-negative activation on the last layer's output, then a sigmoid, used as a probability.
 * Reported at the sigmoid (once per ReLU); BCEWithLogitsLoss on the ReLU itself is AR003's finding.
 */
function reportSigmoidOfRelu(ctx: RuleContext, seen: Set<PyNode>): void {
  const a = ctx.analysis;
  const flow = losses(a).flow;
  const finder = new Finder(a, { acts: NON_NEGATIVE, unseenModels: true });
  const sigmoids = new Set<PyNode>();
  for (const use of probabilityUses(a)) {
    const out = flow.of(use);
    if (out.kind !== 'sigmoid' || !out.site || sigmoids.has(out.site)) continue;
    sigmoids.add(out.site);
    const inner = sigmoidInput(a, out.site);
    const r = inner ? finder.ofExpr(inner.input, 0, inner.cls) : sequentialRelu(a, out.site);
    if (!r || seen.has(r.site)) continue;
    seen.add(r.site);
    ctx.report({
      node: out.site,
      message: `The sigmoid is applied to a final ${r.site.text} output: the sigmoid of a non-negative value is at least 0.5, so the negative class is never predicted. Remove the activation after the last layer.`,
      fixes: r.fix ? [r.fix] : undefined,
    });
  }
}

function replace(call: PyNode, inner: PyNode): RawFix {
  // `x = F.relu(x)` on a line of its own: drop the line (replacing the call would leave `x = x`).
  const assign = call.parent?.type === 'assignment' && call.parent.child('right') === call ? call.parent : undefined;
  const statement = assign?.parent?.type === 'expression_statement' ? assign.parent : undefined;
  if (statement && assign!.child('left')?.text === inner.text) {
    const text = call.src.text;
    const lineStart = text.lastIndexOf('\n', statement.start - 1) + 1;
    const lineEnd = text.indexOf('\n', statement.end);
    if (text.slice(lineStart, statement.start).trim() === '' && lineEnd !== -1 && text.slice(statement.end, lineEnd).trim() === '') {
      return { title: 'Remove the ReLU on the logits', edits: [{ start: lineStart, end: lineEnd + 1, newText: '' }] };
    }
  }
  return { title: 'Return the logits without ReLU', edits: [{ start: call.start, end: call.end, newText: inner.text }] };
}

export const LS006: Rule = {
  meta: {
    id: 'LS006',
    name: 'activation-on-final-logits',
    group: 'loss',
    defaultSeverity: 'warning',
    summary: 'A ReLU is applied to the final layer\'s output that goes to CrossEntropyLoss (or log_softmax and NLLLoss), or before the sigmoid of a binary classifier.',
    why:
      'Cross-entropy needs logits that can be any real number: a class is made unlikely by giving it a **negative** score. ' +
      'A ReLU after the last Linear layer clips every negative logit to 0, so the model can only raise scores, units that ' +
      'go negative stop receiving gradient, and training plateaus (often at a loss near log(num_classes)). The last layer of ' +
      'a classifier should be a plain Linear (or Conv) layer. Descent follows the model\'s `forward`, `nn.Sequential` and ' +
      '`self.<layer>` to the criterion (also through a helper\'s parameters when every call site agrees) and reports only ' +
      'a ReLU applied directly to a Linear/Conv output; for NLLLoss, ' +
      'through the `log_softmax` that makes it a cross-entropy. ' +
      'For a binary classifier, a ReLU (ReLU6, Softplus, abs) on the last layer\'s output followed by a sigmoid is worse: ' +
      'the sigmoid of a non-negative value is at least 0.5, so the negative class is never predicted. Descent reports it ' +
      'when that sigmoid is used as a probability: in BCELoss, in a criterion the file does not show, or thresholded or ' +
      'rounded into predictions (a model name the file never binds stands for its top-level model classes when they ' +
      'all end the same way). BCEWithLogitsLoss on the ReLU itself is AR003\'s finding.',
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
    const nllFinder = new Finder(a, { throughLogSoftmax: true });
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
    // Most files have no sigmoid at all: skip the scan of probability uses.
    if (/sigmoid|expit/i.test(ctx.source)) reportSigmoidOfRelu(ctx, seen);
  },
};
