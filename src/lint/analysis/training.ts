// Training-loop facts: which calls are optimizer steps, backward passes and gradient resets, and, per loop,
// whether some path through one iteration steps without resetting gradients (path-sensitive over if/else,
// try, nested loops, continue/break/return).
import type { PyNode } from '../parser';
import { callsWithin, calleeName, keywordArg, positionalArgs, receiver, unparen, type Analysis } from './index';
import { conditionKey, conditionKeysIn, conditionNamed, mayChange } from './sameConditions';

const OPTIMIZER_NAME = /opt/i;
/** What a loop over mini-batches iterates: a loader or its batches (`train_loader`, `batches`, `dl`). */
export const BATCH_ITERABLE = /loader|batch|\bdl\b|_dl\b/i;
const SCHEDULER_NAME = /sched|lr_/i;

/**
 * Whether a `for` iterates mini-batches: its iterable names a loader or batches (`BATCH_ITERABLE`), directly or, with
 * the analysis, through the name it is bound to (`pbar = tqdm(enumerate(train_loader))`; `for i, b in pbar:`).
 */
export function iteratesBatches(loop: PyNode, a?: Analysis): boolean {
  const right = loop.child('right');
  if (BATCH_ITERABLE.test(right?.text ?? '')) return true;
  let e = unparen(right);
  while (e?.type === 'call' && /^(enumerate|tqdm|trange|iter|track)$/.test(calleeName(e) ?? '')) e = unparen(positionalArgs(e)[0]);
  if (!a || e?.type !== 'identifier') return false;
  const v = a.scopes.valueAt(e.text, e);
  // Names only: `desc="batch"` in a progress bar over epochs says nothing.
  let hit = false;
  v?.walk((n) => void (n.type === 'identifier' && BATCH_ITERABLE.test(n.text) && (hit = true)));
  return hit;
}

export function isBackward(call: PyNode): boolean {
  const name = calleeName(call);
  return name === 'backward' || name === 'manual_backward';
}

/** Objects whose `.backward(loss)` back-propagates its argument: Accelerate, Lightning Fabric, DeepSpeed engines. */
const BACKWARD_RUNNER = /accelerator|fabric|engine|trainer$/i;

/**
 * The tensor a backward call back-propagates: `loss` in `loss.backward()`, `scaler.scale(loss).backward()`,
 * `accelerator.backward(loss)`, `self.manual_backward(loss)`, `model_engine.backward(loss)`.
 */
export function backwardTensor(call: PyNode): PyNode | undefined {
  const first = positionalArgs(call)[0];
  if (calleeName(call) === 'manual_backward') return unparen(first);
  const recv = unparen(receiver(call));
  if (!recv) return undefined;
  const name = recv.type === 'attribute' ? recv.child('attribute')?.text : recv.type === 'identifier' ? recv.text : undefined;
  if (first && name && BACKWARD_RUNNER.test(name)) return unparen(first);
  if (recv.type === 'call' && /\.scale$/.test(recv.child('function')?.text ?? '')) return unparen(positionalArgs(recv)[0]);
  return recv;
}

/** `optimizer.step()` (not a scheduler, not `env.step(action)`, not LBFGS's `step(closure)`); `scaler.step(opt)`. */
export function isOptimizerStep(call: PyNode, a: Analysis): boolean {
  if (calleeName(call) !== 'step') return false;
  const recv = receiver(call);
  if (!recv) return false;
  const args = positionalArgs(call);
  const recvName = lastName(recv);
  if (/scaler/i.test(recvName)) return args.length === 1;
  if (args.length > 0) return false;
  const value = recv.type === 'identifier' ? a.scopes.valueAt(recv.text, recv) : undefined;
  const q = value ? a.callee(value) : undefined;
  if (q) return isOptimizerModule(q) || isOtherOptimizerBuild(q);
  return OPTIMIZER_NAME.test(recvName) && !SCHEDULER_NAME.test(recvName);
}

// Optimizers from outside torch.optim, by module: Hugging Face's AdamW / Adafactor (the default of 2019-2022 fine-tuning
// scripts), apex and DeepSpeed fused optimizers, bitsandbytes 8-bit ones, timm's and torch_optimizer's classes and
// factories, and a few single-optimizer packages.
const OTHER_OPTIMIZERS: RegExp[] = [
  /^(transformers|pytorch_transformers|pytorch_pretrained_bert)(\.optimization)?\.(AdamW|Adafactor|BertAdam|OpenAIAdam)$/,
  /^apex\.optimizers\.Fused\w+$/,
  /^apex\.fp16_utils\.FP16_Optimizer$/,
  /^deepspeed\.ops\.(adam|lamb|adagrad|lion)\.[A-Z]\w*$/,
  /^bitsandbytes\.optim\.(\w+\.)?[A-Z]\w*(?<!Manager)$/,
  /^timm\.optim\.((\w+\.)?[A-Z]\w*|(optim_factory\.)?create_optimizer(_v2)?)$/,
  /^torch_optimizer\.[A-Z]\w*$/,
  /^torch\.distributed\.optim\.ZeroRedundancyOptimizer$/,
  /^torchcontrib\.optim\.SWA$/,
  /^(lion_pytorch|adabelief_pytorch|ranger|ranger21|madgrad|dadaptation|prodigyopt|schedulefree)\.[A-Z]\w*$/,
];

// A class or factory of another package (or of the project's own modules) named as an optimizer: `AdamW`, `FusedLAMB`,
// `RAdam`, `DistributedOptimizer`, `create_optimizer`. Anything else it builds (a simulator, an environment) is unknown.
const OPTIMIZER_CLASS = /Adam|SGD|LAMB|Lamb|Lion|Adafactor|Adagrad|RMSprop|NovoGrad|Ranger|Optimizer/;
const OPTIMIZER_FACTORY = /^(create|build|get|make|init|setup)_optim(izer)?(_v\d)?$/;

/** An optimizer class of a known package outside torch.optim (`transformers.AdamW`, `apex.optimizers.FusedAdam`). */
export function isOtherOptimizerClass(q: string): boolean {
  return /\.[A-Z]\w*$/.test(q) && OTHER_OPTIMIZERS.some((r) => r.test(q));
}

/** An optimizer built by a callee outside torch.optim: the table of known packages, else the callee's name. */
export function isOtherOptimizerBuild(q: string): boolean {
  if (q.startsWith('torch.optim.')) return false;
  if (OTHER_OPTIMIZERS.some((r) => r.test(q))) return true;
  const name = q.slice(q.lastIndexOf('.') + 1);
  if (/sched|LR$/i.test(name)) return false;
  return (/^[A-Z]/.test(name) && OPTIMIZER_CLASS.test(name)) || OPTIMIZER_FACTORY.test(name);
}

/**
 * Under `torch.optim.` but not an optimizer: the LR schedulers, and `torch.optim.swa_utils` (`SWALR` is a scheduler,
 * `AveragedModel` a model wrapper, `update_bn` a function).
 */
function isOptimizerModule(q: string): boolean {
  return q.startsWith('torch.optim.') && !q.startsWith('torch.optim.lr_scheduler.') && !q.startsWith('torch.optim.swa_utils.');
}

/** `torch.optim.Adam`, `torch.optim.SGD`, ...: an optimizer class (not a scheduler, not a module of torch.optim). */
export function isOptimizerClass(q: string): boolean {
  return isOptimizerModule(q) && /\.[A-Z]\w*$/.test(q);
}

/** `model` in `torch.optim.Adam(model.parameters(), ...)` (also `filter(..., model.parameters())`), else undefined. */
export function optimizedModel(call: PyNode): string | undefined {
  const params = keywordArg(call, 'params') ?? positionalArgs(call)[0];
  let model: string | undefined;
  params?.walk((n) => {
    if (model !== undefined) return false;
    if (n.type === 'call' && (calleeName(n) === 'parameters' || calleeName(n) === 'named_parameters')) model = receiver(n)?.text;
    return undefined;
  });
  return model;
}

export interface OptimizerBuild {
  call: PyNode;
  /** What `.parameters()` was called on: `model`, `self.net`. */
  model: string;
  /** The enclosing function, or null at module level. */
  scope: PyNode | null;
}

const builds = new WeakMap<Analysis, OptimizerBuild[]>();

/** Optimizers built from `X.parameters()` in the file, in document order (found from the indexed `.parameters()` calls). */
export function optimizerBuilds(a: Analysis): readonly OptimizerBuild[] {
  let list = builds.get(a);
  if (list) return list;
  list = [];
  const seen = new Set<PyNode>();
  for (const p of [...a.callsNamed('parameters'), ...a.callsNamed('named_parameters')]) {
    for (let n = p.parent; n && n.type !== 'block' && n.type !== 'module'; n = n.parent) {
      if (n.type !== 'call') continue;
      const q = a.callee(n);
      if (!q || !isOptimizerClass(q)) continue;
      const model = optimizedModel(n);
      if (model && !seen.has(n)) {
        seen.add(n);
        list.push({ call: n, model, scope: n.ancestor('function_definition') ?? null });
      }
      break;
    }
  }
  list.sort((x, y) => x.call.start - y.call.start);
  builds.set(a, list);
  return list;
}

/** The optimizer an update belongs to, as text (`optimizer`, `self.opt`). */
export function optimizerOf(step: PyNode): string {
  const recv = receiver(step);
  if (recv && /scaler/i.test(lastName(recv))) return positionalArgs(step)[0]?.text ?? 'optimizer';
  return recv?.text ?? 'optimizer';
}

function lastName(n: PyNode): string {
  return n.type === 'attribute' ? (n.child('attribute')?.text ?? '') : n.text;
}

export class GradResets {
  private readonly helpers = new Map<string, boolean>();
  constructor(private readonly a: Analysis) {}

  /** `x.zero_grad(...)`, `p.grad.zero_()`, or a call of a function of this file that does one of those. */
  isResetCall(call: PyNode, depth = 0): boolean {
    const name = calleeName(call);
    if (name === 'zero_grad') return true;
    if (name === 'zero_' && /\.grad(\.data)?\.zero_$/.test(call.child('function')?.text ?? '')) return true;
    if (!name || depth > 2) return false;
    const fn = call.child('function');
    if (fn?.type !== 'identifier' && !(fn?.type === 'attribute' && fn.child('object')?.text === 'self')) return false;
    const cached = this.helpers.get(name);
    if (cached !== undefined) return cached;
    this.helpers.set(name, false);
    const defs = this.a.functions.get(name) ?? [];
    const result = defs.length > 0 && defs.every((d) => this.containsReset(d, depth + 1));
    this.helpers.set(name, result);
    return result;
  }

  containsReset(node: PyNode, depth = 0): boolean {
    if (callsWithin(node.type === 'function_definition' ? (node.child('body') ?? node) : node).some((c) => this.isResetCall(c, depth))) return true;
    let found = false;
    node.walk((n) => {
      if (found || n.type === 'function_definition' || n.type === 'lambda') return n === node;
      if (isGradNoneAssignment(n)) found = true;
    });
    return found;
  }
}

/** `p.grad = None` */
function isGradNoneAssignment(n: PyNode): boolean {
  return n.type === 'assignment' && n.child('right')?.text === 'None' && /\.grad$/.test(n.child('left')?.text ?? '');
}

// Path states: bit 0 = stepped, bit 1 = gradients reset. A set of states is a 4-bit mask.
const STEP = 1;
const RESET = 2;

function applyEffect(set: number, effect: number): number {
  let out = 0;
  for (let s = 0; s < 4; s++) if (set & (1 << s)) out |= 1 << (s | effect);
  return out;
}

interface LoopCtx {
  /** states that reach the end of an iteration through `continue` */
  continued: number;
  /** states leaving the loop through `break` */
  broke: number;
  /** states leaving the function through `return` (what a step function hands back to its caller) */
  returned: number;
}

const newCtx = (): LoopCtx => ({ continued: 0, broke: 0, returned: 0 });

/** At most this many conditions are assumed at once: each doubles the walk of the rest of its block. */
const MAX_ASSUMED = 4;

/** A Keras model class: `keras.Model`, `keras.models.Model`, `keras.Sequential` (tf.keras spelled alike). */
const KERAS_MODEL = /^(tensorflow\.)?keras\.(models\.)?(Model|Sequential)$/;

/** `self.optimizer.apply(grads, weights)` / `optimizer.apply_gradients(...)`: a Keras optimizer's update. */
function isOptimizerApply(call: PyNode): boolean {
  const name = calleeName(call);
  const recv = receiver(call);
  return (name === 'apply' || name === 'apply_gradients') && recv !== undefined && /optimi[sz]er|^opt$/i.test(lastName(recv));
}

export interface LoopUpdate {
  loop: PyNode;
  /** The optimizer steps of one iteration (inside a step function when the loop only calls one). */
  steps: PyNode[];
  /** Some path through one iteration steps without resetting gradients. */
  missingReset: boolean;
  /** A reset somewhere in the loop body or its step functions (any path, any optimizer). */
  anyReset: boolean;
  /** Set when the loop steps several optimizers: this update is the one of `optimizer` alone. */
  optimizer?: string;
  /** With `optimizer`: some reset in the loop counts for that optimizer. */
  ownReset?: boolean;
  /** Functions of the file called from the loop that do backward + step (`def train_step(x, y): ...`). */
  stepFunctions: PyNode[];
  /** The framework that calls `loop` (a method) once per batch: Lightning's training_step, Keras's train_step. */
  hook?: 'lightning' | 'keras';
}

/** What a path walk counts: the STEP / RESET bits of one call. */
type Classify = (call: PyNode) => number;

/**
 * Walks the statements of one iteration (or of a step function's body) and returns the set of path states at its end.
 * `transfer` maps a call into a step function to the states after it (undefined: an ordinary call).
 */
class PathWalker {
  /** Conditions taken as true or false on the paths being walked (see `forkAt`). */
  private assumed = new Map<string, boolean>();

  constructor(
    private readonly classify: Classify,
    private readonly transfer?: (call: PyNode, set: number) => number | undefined,
  ) {}

  /** The states after a node's calls (and `p.grad = None` assignments) run. */
  private apply(set: number, node: PyNode | undefined): number {
    if (!node) return set;
    let e = 0;
    for (const c of callsWithin(node)) {
      const after = this.transfer?.(c, set);
      if (after !== undefined) set = after;
      else e |= this.classify(c);
    }
    node.walk((n) => {
      if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
      if (isGradNoneAssignment(n)) e |= RESET;
    });
    return applyEffect(set, e);
  }

  block(stmts: PyNode[], set: number, ctx: LoopCtx): number {
    for (let i = 0; i < stmts.length; i++) {
      if (set === 0) return 0;
      const fork = this.forkAt(stmts, i);
      if (fork !== undefined) return this.bothWays(fork, stmts.slice(i), set, ctx);
      set = this.stmt(stmts[i]!, set, ctx);
    }
    return set;
  }

  /**
   * A condition statement `i` tests that a later statement of the block tests again (`if optimizer is not None:` around
   * the reset and again around the step), with nothing in between changing what it reads: walked once per value.
   */
  private forkAt(stmts: PyNode[], i: number): string | undefined {
    if (this.assumed.size >= MAX_ASSUMED) return undefined;
    const keys = conditionKeysIn(stmts[i]!);
    if (keys.length === 0) return undefined;
    for (const key of keys) {
      if (this.assumed.has(key)) continue;
      if (!stmts.some((s, j) => j > i && conditionKeysIn(s).includes(key))) continue;
      const cond = conditionNamed(stmts[i]!, key);
      if (cond && !mayChange(cond, stmts.slice(i))) return key;
    }
    return undefined;
  }

  /** The rest of a block walked with the condition `key` true, then false. */
  private bothWays(key: string, rest: PyNode[], set: number, ctx: LoopCtx): number {
    let out = 0;
    for (const value of [true, false]) {
      this.assumed.set(key, value);
      out |= this.block(rest, set, ctx);
    }
    this.assumed.delete(key);
    return out;
  }

  /** The value an assumed condition has here (its polarity applied), else undefined. */
  private known(cond: PyNode | undefined): boolean | undefined {
    if (this.assumed.size === 0) return undefined;
    const k = conditionKey(cond);
    const v = k ? this.assumed.get(k.key) : undefined;
    return v === undefined ? undefined : v !== k!.negated;
  }

  /** Walks `f` with no assumption: a step function's body has its own names. */
  isolated<T>(f: () => T): T {
    const saved = this.assumed;
    this.assumed = new Map();
    try {
      return f();
    } finally {
      this.assumed = saved;
    }
  }

  private body(n: PyNode | undefined, set: number, ctx: LoopCtx): number {
    if (!n) return set;
    return n.type === 'block' ? this.block(n.namedChildren, set, ctx) : this.stmt(n, set, ctx);
  }

  private stmt(s: PyNode, set: number, ctx: LoopCtx): number {
    switch (s.type) {
      case 'comment':
      case 'function_definition':
      case 'class_definition':
      case 'decorated_definition':
      case 'pass_statement':
        return set;
      case 'return_statement':
        ctx.returned |= this.apply(set, s);
        return 0;
      case 'raise_statement':
        return 0;
      case 'break_statement':
        ctx.broke |= set;
        return 0;
      case 'continue_statement':
        ctx.continued |= set;
        return 0;
      case 'if_statement': {
        // A condition assumed true takes its branch and no later one; assumed false skips its branch.
        const branches: { cond?: PyNode; body?: PyNode }[] = [{ cond: s.child('condition'), body: s.child('consequence') }];
        for (const alt of s.childrenOf('alternative')) branches.push(alt.type === 'else_clause' ? { body: alt.child('body') } : { cond: alt.child('condition'), body: alt.child('consequence') });
        let out = 0;
        for (const b of branches) {
          if (!b.cond) return out | this.body(b.body, set, ctx);
          set = this.apply(set, b.cond);
          const value = this.known(b.cond);
          if (value === true) return out | this.body(b.body, set, ctx);
          if (value === undefined) out |= this.body(b.body, set, ctx);
        }
        return out | set;
      }
      case 'for_statement':
      case 'while_statement': {
        set = this.apply(set, s.child(s.type === 'for_statement' ? 'right' : 'condition'));
        const inner = newCtx();
        // Loops over parameters or optimizers run at least once; any other loop may run zero times.
        const nonEmpty = s.type === 'for_statement' && /parameters\(|param_groups|optimizers/.test(s.child('right')?.text ?? '');
        let acc = nonEmpty ? this.body(s.child('body'), set, inner) | inner.continued : set;
        for (let i = 0; i < 3; i++) acc |= this.body(s.child('body'), acc, inner) | inner.continued;
        ctx.returned |= inner.returned;
        const elseClause = s.child('alternative');
        const after = elseClause ? this.body(elseClause.child('body'), acc, ctx) : acc;
        return after | inner.broke;
      }
      case 'with_statement':
        set = this.apply(set, s.children.find((c) => c.type === 'with_clause'));
        return this.body(s.child('body'), set, ctx);
      case 'try_statement': {
        const afterBody = this.body(s.child('body'), set, ctx);
        let out = afterBody;
        let fin: PyNode | undefined;
        for (const c of s.namedChildren) {
          if (c.type === 'except_clause' || c.type === 'except_group_clause') out |= this.body(bodyBlock(c), set | afterBody, ctx);
          else if (c.type === 'else_clause') out = (out & ~afterBody) | this.body(c.child('body'), afterBody, ctx);
          else if (c.type === 'finally_clause') fin = c;
        }
        return fin ? this.body(bodyBlock(fin), out, ctx) : out;
      }
      case 'match_statement': {
        let out = set;
        for (const c of s.child('body')?.namedChildren ?? []) if (c.type === 'case_clause') out |= this.body(c.child('consequence'), set, ctx);
        return out;
      }
      default:
        return this.apply(set, s);
    }
  }
}

export class TrainingLoops {
  readonly resets: GradResets;
  private cached?: LoopUpdate[];
  private manualCached?: LoopUpdate[];
  /** step function -> states after one call, per entry state (0..3); null while being computed (recursion) */
  private readonly transfers = new Map<PyNode, number[] | null>();
  private readonly stepFns = new Map<PyNode, boolean>();
  private readonly walker: PathWalker;

  constructor(private readonly a: Analysis) {
    this.resets = new GradResets(a);
    this.walker = new PathWalker(
      (c) => (isOptimizerStep(c, a) ? STEP : this.resets.isResetCall(c) ? RESET : 0),
      (c, set) => this.callTransfer(c, set),
    );
  }

  /** Loops whose own body (not a nested loop's) calls optimizer.step() (or a step function) and which do a backward pass. */
  get updates(): LoopUpdate[] {
    this.cached ??= this.compute();
    return this.cached;
  }

  private compute(): LoopUpdate[] {
    const out: LoopUpdate[] = [];
    const candidates = this.candidateLoops();
    if (candidates.size === 0) return out;
    for (const loop of this.a.loops) {
      if (!candidates.has(loop)) continue;
      const body = loop.child('body');
      if (!body) continue;
      const calls = callsWithin(body);
      let steps = calls.filter((c) => isOptimizerStep(c, this.a) && innermostLoop(c) === loop);
      const stepFunctions = this.stepFunctionsCalled(calls, loop);
      if (steps.length === 0) steps = stepFunctions.flatMap((f) => ownSteps(f, this.a));
      if (steps.length === 0 || !(calls.some(isBackward) || stepFunctions.length > 0)) continue;
      const anyReset = this.resets.containsReset(body) || stepFunctions.some((f) => this.resets.containsReset(f));
      // Without any reset in the loop every optimizer misses it alike: one update, one finding.
      const perOptimizer = stepFunctions.length === 0 && anyReset ? this.perOptimizer(loop, body, steps, anyReset) : undefined;
      if (perOptimizer) {
        out.push(...perOptimizer);
        continue;
      }
      const end = this.iteration(this.walker, body);
      out.push({ loop, steps, missingReset: (end & (1 << STEP)) !== 0, anyReset, stepFunctions });
    }
    return out;
  }

  /**
   * The loops that may step: a `step` call's innermost loop, and the innermost loop of each call named like a
   * function whose own body (outside loops) calls `step` (a step function). Every loop `compute` keeps has a step, or
   * calls a step function, with that loop innermost: the others are not scanned call by call.
   */
  private candidateLoops(): Set<PyNode> {
    const out = new Set<PyNode>();
    const fnNames = new Set<string>();
    for (const c of this.a.callsNamed('step')) {
      const loop = innermostLoop(c);
      if (loop) {
        out.add(loop);
        continue;
      }
      let p = c.parent;
      while (p && p.type !== 'function_definition' && p.type !== 'lambda' && p.type !== 'class_definition') p = p.parent;
      const name = p?.type === 'function_definition' ? p.child('name')?.text : undefined;
      if (name) fnNames.add(name);
    }
    for (const name of fnNames) {
      for (const c of this.a.callsNamed(name)) {
        const loop = innermostLoop(c);
        if (loop) out.add(loop);
      }
    }
    return out;
  }

  /** Step functions called by the loop's own body (not a nested loop's); the cheap name test first. */
  private stepFunctionsCalled(calls: PyNode[], loop: PyNode): PyNode[] {
    const out = new Set<PyNode>();
    for (const c of calls) {
      const f = this.stepFunctionOf(c);
      if (f && innermostLoop(c) === loop) out.add(f);
    }
    return [...out];
  }

  /** The end states of one iteration of a loop body (of a function body, where `return` ends it, for `fn`). */
  private iteration(walker: PathWalker, body: PyNode, fn = false): number {
    const ctx = newCtx();
    return walker.block(body.namedChildren, 1, ctx) | ctx.continued | (fn ? ctx.returned : 0);
  }

  /**
   * Lightning manual optimization: the `training_step` of a LightningModule that sets `self.automatic_optimization =
   * False` is one training iteration (the Trainer calls it per batch), with `opt.step()` and `self.manual_backward()`
   * in its own body. `loop` is the method. Silent when the class resets gradients anywhere outside training_step (a
   * hook may do it).
   */
  get manualOptimization(): LoopUpdate[] {
    this.manualCached ??= this.computeManualOptimization();
    return this.manualCached;
  }

  private computeManualOptimization(): LoopUpdate[] {
    const out: LoopUpdate[] = [];
    for (const def of this.a.functions.get('training_step') ?? []) {
      const cls = def.parent?.parent;
      if (cls?.type !== 'class_definition' || !/LightningModule/.test(cls.child('superclasses')?.text ?? '')) continue;
      if (!this.a.scopes.selfAttr(cls, 'automatic_optimization').some((v) => v.text === 'False')) continue;
      const body = def.child('body');
      if (!body) continue;
      const calls = callsWithin(body);
      const steps = calls.filter((c) => isOptimizerStep(c, this.a) && innermostLoop(c) === undefined);
      if (steps.length === 0 || !calls.some(isBackward)) continue;
      const methods = (cls.child('body')?.namedChildren ?? []).map((m) => (m.type === 'decorated_definition' ? m.child('definition') : m));
      const otherReset = methods.some((m) => m?.type === 'function_definition' && m !== def && this.resets.containsReset(m));
      if (otherReset) continue;
      const anyReset = this.resets.containsReset(body);
      const perOptimizer = anyReset ? this.perOptimizer(def, body, steps, anyReset, true) : undefined;
      if (perOptimizer) {
        out.push(...perOptimizer);
        continue;
      }
      const end = this.iteration(this.walker, body, true);
      out.push({ loop: def, steps, missingReset: (end & (1 << STEP)) !== 0, anyReset, stepFunctions: [], hook: 'lightning' });
    }
    for (const def of this.a.functions.get('train_step') ?? []) {
      const update = this.kerasTorchStep(def);
      if (update) out.push(update);
    }
    return out;
  }

  /**
   * Keras 3 on the torch backend: a `keras.Model` subclass's `train_step` is one iteration (fit() calls it per batch).
   * Written with `loss.backward()` and `self.optimizer.apply(grads, weights)` (or `.step()`), it must reset the
   * weights' `.grad` itself (`self.zero_grad()`): fit() does not. A TensorFlow-backend train_step (GradientTape, no
   * backward) is not concerned.
   */
  private kerasTorchStep(def: PyNode): LoopUpdate | undefined {
    const cls = def.parent?.parent;
    if (cls?.type !== 'class_definition') return undefined;
    const bases = cls.child('superclasses')?.namedChildren ?? [];
    if (!bases.some((b) => KERAS_MODEL.test(this.a.qname(b) ?? ''))) return undefined;
    const body = def.child('body');
    if (!body) return undefined;
    const calls = callsWithin(body);
    const isStep = (c: PyNode) => (isOptimizerStep(c, this.a) || isOptimizerApply(c)) && innermostLoop(c) === undefined;
    const steps = calls.filter(isStep);
    if (steps.length === 0 || !calls.some((c) => calleeName(c) === 'backward')) return undefined;
    const methods = (cls.child('body')?.namedChildren ?? []).map((m) => (m.type === 'decorated_definition' ? m.child('definition') : m));
    if (methods.some((m) => m?.type === 'function_definition' && m !== def && this.resets.containsReset(m))) return undefined;
    const walker = new PathWalker((c) => (isStep(c) ? STEP : this.resets.isResetCall(c) ? RESET : 0));
    const end = this.iteration(walker, body, true);
    return { loop: def, steps, missingReset: (end & (1 << STEP)) !== 0, anyReset: this.resets.containsReset(body), stepFunctions: [], hook: 'keras' };
  }

  /**
   * A loop that steps two optimizers (a GAN's optD and optG) is checked once per optimizer: `optD.zero_grad()` does
   * not reset optG's parameters. Undefined when the loop steps a single optimizer.
   */
  private perOptimizer(loop: PyNode, body: PyNode, steps: PyNode[], anyReset: boolean, fn = false): LoopUpdate[] | undefined {
    const byOptimizer = new Map<string, PyNode[]>();
    for (const s of steps) byOptimizer.set(optimizerOf(s), [...(byOptimizer.get(optimizerOf(s)) ?? []), s]);
    if (byOptimizer.size < 2) return undefined;
    // In a function body the optimizers are bound inside it (`opt_g, opt_d = self.optimizers()`): resolve at a step.
    const owners = new ParamOwners(this.a, fn ? steps[steps.length - 1]! : loop, [...byOptimizer.keys()]);
    const updates: LoopUpdate[] = [];
    for (const [opt, own] of byOptimizer) {
      const classify: Classify = (c) => {
        if (isOptimizerStep(c, this.a)) return optimizerOf(c) === opt ? STEP : 0;
        return this.resets.isResetCall(c) && owners.resets(c, opt) ? RESET : 0;
      };
      const end = this.iteration(new PathWalker(classify), body, fn);
      const ownReset = callsWithin(body).some((c) => (classify(c) & RESET) !== 0);
      updates.push({ loop, steps: own, missingReset: (end & (1 << STEP)) !== 0, anyReset, optimizer: opt, ownReset, stepFunctions: [] });
    }
    return updates;
  }

  /**
   * `train_step(x, y)` where `train_step` is the file's only function of that name (not a method) and its own body,
   * outside loops, backpropagates and steps an optimizer: one call is one training step.
   */
  stepFunctionOf(call: PyNode): PyNode | undefined {
    if (call.child('function')?.type !== 'identifier') return undefined;
    // The memoised name: no new string per call of every loop on each lint.
    const defs = this.a.functions.get(calleeName(call)!);
    if (defs?.length !== 1) return undefined;
    const def = defs[0]!;
    if (def.parent?.parent?.type === 'class_definition') return undefined;
    let is = this.stepFns.get(def);
    if (is === undefined) {
      const body = def.child('body');
      is = body !== undefined && ownSteps(def, this.a).length > 0 && callsWithin(body).some(isBackward);
      this.stepFns.set(def, is);
    }
    return is ? def : undefined;
  }

  /** The states after a call into a step function, or undefined for any other call (or a recursive one). */
  private callTransfer(call: PyNode, set: number): number | undefined {
    const def = this.stepFunctionOf(call);
    if (!def) return undefined;
    let t = this.transfers.get(def);
    if (t === null) return undefined;
    if (t === undefined) {
      this.transfers.set(def, null);
      t = [0, 1, 2, 3].map((s) => {
        const ctx = newCtx();
        return this.walker.isolated(() => this.walker.block(def.child('body')?.namedChildren ?? [], 1 << s, ctx)) | ctx.returned;
      });
      this.transfers.set(def, t);
    }
    let out = 0;
    for (let s = 0; s < 4; s++) if (set & (1 << s)) out |= t[s]!;
    return out;
  }
}

/** Optimizer steps of a function's own body that are not inside one of its loops. */
function ownSteps(def: PyNode, a: Analysis): PyNode[] {
  const body = def.child('body');
  return body ? callsWithin(body).filter((c) => isOptimizerStep(c, a) && innermostLoop(c) === undefined) : [];
}

/**
 * Whose parameters a `zero_grad()` resets, for a loop stepping several optimizers. An optimizer's owner is the one
 * model it was built from (`Adam(netD.parameters())` -> `netD`). A reset is ruled out for optimizer O only when it
 * names another optimizer of the loop, or the model another one was built from, and both owners are known and
 * disjoint; anything unresolved counts as a reset of every optimizer (silence over a guess).
 */
class ParamOwners {
  private readonly owners = new Map<string, string | undefined>();

  constructor(
    private readonly a: Analysis,
    private readonly at: PyNode,
    private readonly optimizers: string[],
  ) {
    for (const o of optimizers) this.owners.set(o, this.ownerOf(o));
  }

  resets(call: PyNode, opt: string): boolean {
    if (calleeName(call) !== 'zero_grad') return true; // a helper, `p.grad.zero_()`: not resolved
    const x = receiver(call)?.text;
    if (x === undefined || x === opt) return true;
    const mine = this.owners.get(opt);
    const other = this.optimizers.includes(x) ? this.owners.get(x) : this.optimizers.some((o) => o !== opt && this.owners.get(o) === x) ? x : undefined;
    return mine === undefined || other === undefined || overlaps(mine, other);
  }

  /** The single model whose `.parameters()` an optimizer was built from, else undefined. */
  private ownerOf(opt: string): string | undefined {
    const build = this.buildOf(opt);
    if (build?.type !== 'call') return undefined;
    const q = this.a.callee(build);
    if (!q || !isOptimizerClass(q)) return undefined;
    const params = keywordArg(build, 'params') ?? positionalArgs(build)[0];
    const owners: string[] = [];
    params?.walk((n) => {
      if (n.type === 'call' && (calleeName(n) === 'parameters' || calleeName(n) === 'named_parameters')) owners.push(receiver(n)?.text ?? '');
    });
    return owners.length === 1 && owners[0] ? owners[0] : undefined;
  }

  /**
   * `opt_g, opt_d = self.optimizers()` in a LightningModule: the element of `return opt_g, opt_d` (or a list) at the
   * same position in the class's configure_optimizers, followed to its build there.
   */
  private lightningOptimizer(opt: string): PyNode | undefined {
    const el = this.a.scopes.elementAt(opt, this.at);
    if (el?.source.type !== 'call' || el.source.child('function')?.text !== 'self.optimizers') return undefined;
    const cls = this.at.ancestor('class_definition');
    const defs = (this.a.functions.get('configure_optimizers') ?? []).filter((d) => d.parent?.parent === cls);
    const body = defs.length === 1 ? defs[0]!.child('body') : undefined;
    const rets = body?.namedChildren.filter((c) => c.type === 'return_statement') ?? [];
    const value = rets.length === 1 ? unparen(rets[0]!.namedChildren[0]) : undefined;
    if (value?.type !== 'expression_list' && value?.type !== 'tuple' && value?.type !== 'list') return undefined;
    const item = value.namedChildren.filter((c) => c.type !== 'comment')[el.index];
    if (item?.type === 'call') return item;
    return item?.type === 'identifier' ? (this.a.scopes.valueAt(item.text, item) ?? undefined) : undefined;
  }

  /** The expression an optimizer name was assigned: `optD = ...` in scope, or the one `self.optD = ...` of the class. */
  private buildOf(opt: string): PyNode | undefined {
    if (/^\w+$/.test(opt)) return this.a.scopes.valueAt(opt, this.at) ?? this.lightningOptimizer(opt);
    const m = /^self\.(\w+)$/.exec(opt);
    const cls = m ? this.at.ancestor('class_definition') : undefined;
    const values = cls ? this.a.scopes.selfAttr(cls, m![1]!) : [];
    return values.length === 1 ? values[0] : undefined;
  }
}

/** Two models may share parameters: the same name, or one is an attribute path inside the other. */
function overlaps(x: string, y: string): boolean {
  return x === y || x.startsWith(`${y}.`) || y.startsWith(`${x}.`);
}

function bodyBlock(clause: PyNode): PyNode | undefined {
  return clause.children.find((c) => c.type === 'block');
}

/** `optimizer.zero_grad(...)`, `model.zero_grad()`: a zero_grad method call. */
export function isZeroGrad(call: PyNode): boolean {
  return calleeName(call) === 'zero_grad' && receiver(call) !== undefined;
}

/** The `N` of the first `... % N` in a condition (`(i + 1) % accum_steps == 0` -> `accum_steps`); lambdas skipped. */
export function moduloOperand(cond: PyNode | undefined): string | undefined {
  let operand: string | undefined;
  cond?.walk((n) => {
    if (operand !== undefined || n.type === 'lambda') return false;
    if (n.type === 'binary_operator' && n.children.some((c) => !c.named && c.text === '%')) operand = n.child('right')?.text ?? '';
    return undefined;
  });
  return operand;
}

/**
 * The backward call a statement runs on every path through it: an expression statement that calls backward(), a
 * `with` block holding one, or an `if` with an `else` whose every branch holds one (the optional-AMP shape
 * `if scaler: scaler.scale(loss).backward()` / `else: loss.backward()`). Undefined when some path skips it.
 */
export function alwaysBackward(s: PyNode): PyNode | undefined {
  if (s.type === 'expression_statement') return callsWithin(s).find(isBackward);
  if (s.type === 'with_statement') return firstAlwaysBackward(s.child('body'));
  if (s.type !== 'if_statement') return undefined;
  const branches: (PyNode | undefined)[] = [s.child('consequence')];
  let hasElse = false;
  for (const alt of s.childrenOf('alternative')) {
    hasElse ||= alt.type === 'else_clause';
    branches.push(alt.type === 'else_clause' ? alt.child('body') : alt.child('consequence'));
  }
  if (!hasElse) return undefined;
  const found = branches.map(firstAlwaysBackward);
  return found.every((b) => b !== undefined) ? found[0] : undefined;
}

/** The first backward a block's own statements run on every path (see `alwaysBackward`). */
function firstAlwaysBackward(block: PyNode | undefined): PyNode | undefined {
  for (const st of block?.namedChildren ?? []) {
    const b = alwaysBackward(st);
    if (b) return b;
  }
  return undefined;
}

/** The `if` / `with` statement a block belongs to (an `elif` / `else` block: its `if`), else undefined. */
function compoundOf(block: PyNode): PyNode | undefined {
  const p = block.parent;
  if (p?.type === 'if_statement' || p?.type === 'with_statement') return p;
  if ((p?.type === 'else_clause' || p?.type === 'elif_clause') && p.parent?.type === 'if_statement') return p.parent;
  return undefined;
}

/**
 * The blocks that hold a backward() statement: where the order of zero_grad(), step() and backward() matters. Also
 * the block around an `if`/`else` (or `with`) that back-propagates on every path: there it counts as one backward.
 */
export function backwardBlocks(calls: readonly PyNode[]): Set<PyNode> {
  const blocks = new Set<PyNode>();
  for (const c of calls) {
    if (!isBackward(c)) continue;
    let stmt = c.ancestor('expression_statement');
    while (stmt?.parent) {
      blocks.add(stmt.parent);
      const outer = compoundOf(stmt.parent);
      if (!outer || !alwaysBackward(outer)) break;
      stmt = outer;
    }
  }
  return blocks;
}

/** Innermost for/while containing a node, not crossing a function boundary. */
export function innermostLoop(n: PyNode): PyNode | undefined {
  for (let p = n.parent; p; p = p.parent) {
    if (p.type === 'for_statement' || p.type === 'while_statement') return p;
    if (p.type === 'function_definition' || p.type === 'lambda' || p.type === 'class_definition') return undefined;
  }
  return undefined;
}

// ---- Hand-written gradient descent: no optimizer object, `w -= lr * w.grad` under no_grad ----

/** Whether `expr` reads `<target>.grad` (also `<target>.grad.data`). */
export function usesGradOf(expr: PyNode, target: string): boolean {
  let hit = false;
  expr.walk((n) => {
    if (hit) return false;
    if (n.type === 'attribute' && n.child('attribute')?.text === 'grad' && n.child('object')?.text === target) hit = true;
  });
  return hit;
}

/** `w.data` -> `w`; a plain name or attribute -> itself; anything else -> undefined. */
function dataOwner(n: PyNode | undefined): PyNode | undefined {
  if (!n || (n.type !== 'identifier' && n.type !== 'attribute')) return undefined;
  if (n.type === 'attribute' && n.child('attribute')?.text === 'data') {
    const o = n.child('object');
    return o && (o.type === 'identifier' || o.type === 'attribute') ? o : undefined;
  }
  return n;
}

/**
 * A hand-written gradient step of a tensor by its own gradient: `w -= lr * w.grad`, `w.data -= lr * w.grad.data`,
 * `w.sub_(lr * w.grad)`, `p.data.add_(p.grad, alpha=-lr)`, `w.data = w.data - lr * w.grad`. The updated tensor's text
 * (`.data` dropped), else undefined. Syntax only.
 */
export function manualGradTarget(n: PyNode): string | undefined {
  let left: PyNode | undefined;
  let right: PyNode | undefined;
  if (n.type === 'call') {
    const name = calleeName(n);
    if (name !== 'sub_' && name !== 'add_') return undefined;
    if (n.parent?.type !== 'expression_statement') return undefined;
    left = dataOwner(receiver(n));
    right = n.child('arguments');
  } else if (n.type === 'augmented_assignment') {
    const op = n.children.find((c) => !c.named)?.text;
    if (op !== '-=' && op !== '+=') return undefined;
    left = dataOwner(n.child('left'));
    right = n.child('right');
  } else if (n.type === 'assignment') {
    const l = n.child('left');
    if (l?.type !== 'attribute' || l.child('attribute')?.text !== 'data') return undefined;
    left = dataOwner(l);
    right = n.child('right');
  } else return undefined;
  if (!left || !right || !usesGradOf(right, left.text)) return undefined;
  return left.text;
}

/** `w.grad.zero_()` / `w.grad.data.zero_()`: `w`, else undefined. */
export function gradZeroTarget(call: PyNode): string | undefined {
  if (calleeName(call) !== 'zero_') return undefined;
  const m = /^(.*)\.grad(\.data)?\.zero_$/s.exec(call.child('function')?.text ?? '');
  return m?.[1];
}

export interface ManualUpdateLoop {
  /** The loop one iteration of which runs backward() and the updates. */
  loop: PyNode;
  /** The update nodes (augmented assignment, `.data =` assignment, `sub_`/`add_` call) and the tensor each updates. */
  updates: { node: PyNode; target: string }[];
}

/** Helpers of other modules that reset gradients by name: `zero_gradients(x)`, `reset_grads(params)`. */
const RESET_HELPER = /zero_?grad|reset_?grad|clear_?grad|grads?_?(zero|reset|clear)/i;

/**
 * Loops that run backward() and update tensors by hand from their `.grad` (no optimizer step in the loop), where no
 * gradient is reset in any form anywhere in the loop: each update then applies the sum of all earlier gradients.
 * Silent when the file may not be PyTorch, defines its own `backward` method (an autograd engine of its own), or
 * when the updated tensor is rebound in the loop (a fresh leaf each iteration).
 */
export function manualUpdateLoops(a: Analysis): ManualUpdateLoop[] {
  let list = manualCache.get(a);
  if (list) return list;
  list = computeManual(a);
  manualCache.set(a, list);
  return list;
}

const manualCache = new WeakMap<Analysis, ManualUpdateLoop[]>();

function computeManual(a: Analysis): ManualUpdateLoop[] {
  const backs = a.callsNamed('backward');
  if (backs.length === 0) return [];
  if (![...a.imports.aliases.values()].some((q) => /^torch(\.|$)/.test(q))) return [];
  if ((a.functions.get('backward') ?? []).some((d) => d.ancestor('class_definition'))) return [];
  const hasBackward = new Map<PyNode, boolean>();
  const containsBackward = (loop: PyNode): boolean => {
    let v = hasBackward.get(loop);
    if (v === undefined) {
      const body = loop.child('body');
      v = body !== undefined && callsWithin(body).some(isBackward);
      hasBackward.set(loop, v);
    }
    return v;
  };
  const loops = new Set<PyNode>();
  for (const b of backs) for (let l = innermostLoop(b); l; l = innermostLoop(l)) loops.add(l);
  const out: ManualUpdateLoop[] = [];
  for (const loop of [...loops].sort((x, y) => x.start - y.start)) {
    const body = loop.child('body');
    if (!body) continue;
    if (loop.type === 'for_statement' && /^range\(\s*1\s*\)$/.test(loop.child('right')?.text ?? '')) continue;
    const updates: { node: PyNode; target: string }[] = [];
    body.walk((n) => {
      if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
      if (n.type !== 'call' && n.type !== 'augmented_assignment' && n.type !== 'assignment') return undefined;
      const target = manualGradTarget(n);
      if (target === undefined) return undefined;
      // The loop of the update's iteration: the innermost one around it that runs backward().
      let it = innermostLoop(n);
      while (it && !containsBackward(it)) it = innermostLoop(it);
      if (it === loop) updates.push({ node: n, target });
      return undefined;
    });
    if (updates.length === 0) continue;
    const calls = callsWithin(body);
    if (calls.some((c) => isOptimizerStep(c, a))) continue; // an optimizer's loop: TL001's ordinary check
    if (resetsGrads(a, body, calls)) continue;
    if (body.namedChildren.some((s) => s.type === 'break_statement' || s.type === 'return_statement')) continue;
    const rebound = reboundNames(body);
    const kept = updates.filter((u) => !rebound.has(u.target) && !rebound.has(iterableRoot(u.node, u.target, loop) ?? ''));
    if (kept.length > 0) out.push({ loop, updates: kept });
  }
  return out;
}

/** Any gradient reset in a loop body, in any form: silence over a guess. */
function resetsGrads(a: Analysis, body: PyNode, calls: PyNode[]): boolean {
  if (trainingLoops(a).resets.containsReset(body)) return true;
  for (const c of calls) {
    const name = calleeName(c) ?? '';
    if (RESET_HELPER.test(name)) return true;
    const f = c.child('function')?.text ?? '';
    if (/\.grad(\.data)?\.\w+_$/.test(f)) return true; // w.grad.fill_(0), w.grad.mul_(0)
    if (name.endsWith('_') && manualGradTarget(c) === undefined && /\.grad\b/.test(c.child('arguments')?.text ?? '')) return true; // nn.init.zeros_(w.grad)
  }
  let found = false;
  body.walk((n) => {
    if (found || n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if ((n.type === 'assignment' || n.type === 'augmented_assignment') && /\.grad\b/.test(n.child('left')?.text ?? '')) found = true;
    else if (n.type === 'delete_statement' && /\.grad\b/.test(n.text)) found = true;
    return undefined;
  });
  return found;
}

/** Names (and attribute paths) bound by plain assignments in a loop body: `w = w.detach().requires_grad_()`. */
function reboundNames(body: PyNode): Set<string> {
  const out = new Set<string>();
  body.walk((n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type === 'assignment') for (const part of (n.child('left')?.text ?? '').split(/[\s,()[\]*]+/)) if (part) out.add(part);
    return undefined;
  });
  return out;
}

/** For an update of `p` inside `for p in params:` (within `loop`), the root name of `params`; else undefined. */
function iterableRoot(n: PyNode, target: string, loop: PyNode): string | undefined {
  for (let p = n.parent; p && p !== loop; p = p.parent) {
    if (p.type === 'for_statement' && p.child('left')?.text === target) return /^\w+/.exec(p.child('right')?.text ?? '')?.[0];
  }
  return undefined;
}

const cache = new WeakMap<Analysis, TrainingLoops>();
export function trainingLoops(a: Analysis): TrainingLoops {
  let t = cache.get(a);
  if (!t) cache.set(a, (t = new TrainingLoops(a)));
  return t;
}

/** Leading whitespace of a statement's line (for inserted lines). */
export function indentOf(n: PyNode): string {
  const src = n.src.text;
  const lineStart = src.lastIndexOf('\n', n.start - 1) + 1;
  return /^[ \t]*/.exec(src.slice(lineStart, n.start))![0];
}

/** Start of the line holding a node, when only whitespace precedes it on that line. */
export function lineStartIfAlone(n: PyNode): number | undefined {
  const src = n.src.text;
  const lineStart = src.lastIndexOf('\n', n.start - 1) + 1;
  return src.slice(lineStart, n.start).trim() === '' ? lineStart : undefined;
}

export { unparen };
