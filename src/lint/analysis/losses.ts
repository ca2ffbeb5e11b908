// Loss calls and what flows into them: `criterion(out, y)` with `criterion = nn.CrossEntropyLoss()`,
// `F.cross_entropy(out, y)`, `nn.NLLLoss()(out, y)`, `self.loss_fn(out, y)`, `loss_fn = F.nll_loss`.
import type { PyNode } from '../parser';
import { calleeName, keywordArg, positionalArgs, topStatementOf, unparen, type Analysis } from './index';
import { gatesKey, modeGates } from './modeGates';
import { OutputFlow } from './outputs';
import { signatureDefault, unpassed } from './parameterDefaults';
import { parameterArguments } from './parameters';
import { reachingBefore, statementOf } from './reaching';
import { valueBefore } from './values';

export type LossKind = 'cross_entropy' | 'nll' | 'bce_with_logits' | 'bce';

const LOSS_FUNCTIONS: Record<string, LossKind> = {
  'torch.nn.functional.cross_entropy': 'cross_entropy',
  'torch.nn.functional.nll_loss': 'nll',
  'torch.nn.functional.binary_cross_entropy_with_logits': 'bce_with_logits',
  'torch.nn.functional.binary_cross_entropy': 'bce',
};

const LOSS_CLASSES: Record<string, LossKind> = {
  'torch.nn.CrossEntropyLoss': 'cross_entropy',
  'torch.nn.NLLLoss': 'nll',
  'torch.nn.BCEWithLogitsLoss': 'bce_with_logits',
  'torch.nn.BCELoss': 'bce',
};

export interface LossCall {
  call: PyNode;
  kind: LossKind;
  /** The prediction argument (first positional or `input=`). */
  input: PyNode;
  /**
   * The call that sets the loss's options (`ignore_index=`, `reduction=`...): the loss module's constructor behind a
   * name or `self.attr`, or a functional loss call itself. Undefined where call sites pass different ones.
   */
  config: PyNode | undefined;
}

/**
 * A module and a loss handed together to a library that trains one with the other (`NeuralNetClassifier(Net,
 * criterion=nn.CrossEntropyLoss)`, `create_supervised_trainer(model, opt, nn.CrossEntropyLoss())`): the library computes
 * `loss(module(x), y)` where this file cannot see it.
 */
export interface HandedLoss {
  call: PyNode;
  kind: LossKind;
  /** The loss argument, or the call itself for the library's default loss. */
  loss: PyNode;
  /** The module argument: a module class of the file (skorch takes the class) or an instance. */
  module: PyNode;
}

/** Keywords that name the loss a trainer applies. */
const LOSS_KEYWORDS = new Set(['criterion', 'loss', 'loss_fn', 'loss_func', 'loss_function', 'loss_module', 'objective']);
/** Keywords that name the module it trains (else the first positional argument). */
const MODULE_KEYWORDS = new Set(['module', 'model', 'network', 'net']);
/** Losses a library applies when given none. */
const LIBRARY_DEFAULTS: Record<string, LossKind> = {
  'skorch.NeuralNetBinaryClassifier': 'bce_with_logits',
  'skorch.classifier.NeuralNetBinaryClassifier': 'bce_with_logits',
};

/** The last names of the `LIBRARY_DEFAULTS` callees. */
const DEFAULT_NAMES = [...new Set(Object.keys(LIBRARY_DEFAULTS).map((q) => q.slice(q.lastIndexOf('.') + 1)))];

/**
 * The loss and module arguments of a call, read from the syntax alone: a keyword that names a loss (`criterion=`) or
 * a positional argument after the first named or built like one (`criterion`, `nn.CrossEntropyLoss()`); the module is
 * `module=` / `model=` ... or the first positional argument.
 */
function handedArguments(call: PyNode): { loss?: PyNode; module?: PyNode } | undefined {
  const list = call.child('arguments');
  if (list?.type !== 'argument_list') return undefined;
  let loss: PyNode | undefined;
  let module: PyNode | undefined;
  let index = 0;
  for (const arg of list.namedChildren) {
    if (arg.type === 'keyword_argument') {
      const name = arg.child('name')?.text ?? '';
      if (LOSS_KEYWORDS.has(name)) loss = arg.child('value') ?? undefined;
      else if (MODULE_KEYWORDS.has(name)) module = arg.child('value') ?? undefined;
      continue;
    }
    if (arg.type === 'comment' || arg.type === 'list_splat' || arg.type === 'dictionary_splat') continue;
    if (index === 0) module ??= arg;
    else if (!loss && looksLikeLoss(arg)) loss = arg;
    index++;
  }
  return { loss, module };
}

function looksLikeLoss(arg: PyNode): boolean {
  const named = arg.type === 'call' ? arg.child('function') : arg;
  return (named?.type === 'identifier' || named?.type === 'attribute') && /loss|criterion/i.test(named.text);
}

/** A loss and the call that configures it. */
interface Resolved {
  kind: LossKind;
  config: PyNode | undefined;
}

export class Losses {
  readonly flow: OutputFlow;
  private cached?: LossCall[];
  private readonly resolving = new Set<readonly PyNode[]>();
  private readonly byArguments = new Map<readonly PyNode[], Resolved | undefined>();
  /**
   * While set, `resolve` answers for `candidates`: it reads no call site and no other statement's class, and notes
   * (`escaped`) where the answer would need them.
   */
  private local: { top: PyNode; escaped: boolean } | undefined;

  constructor(private readonly a: Analysis) {
    this.flow = new OutputFlow(a);
  }

  private readonly gatedFlows = new Map<string, OutputFlow>();
  /**
   * The output flow as seen from a loss call: under `if self.method == 'multiclass':` a helper of the class returns
   * only what its 'multiclass' arm returns (see modeGates.ts). The plain flow where no such test holds.
   */
  flowAt(call: PyNode): OutputFlow {
    const gates = modeGates(call);
    if (!gates.length) return this.flow;
    const key = gatesKey(gates);
    let flow = this.gatedFlows.get(key);
    if (!flow) this.gatedFlows.set(key, (flow = new OutputFlow(this.a, gates)));
    return flow;
  }

  private handed?: HandedLoss[];
  /** Modules and losses handed to a library together (see `HandedLoss`), in document order. */
  get handedOver(): HandedLoss[] {
    if (!this.handed) {
      const found: HandedLoss[] = [];
      for (const call of this.lossArgumentCalls()) {
        const args = handedArguments(call);
        const h = args ? this.handedLoss(call, args.loss, args.module) : undefined;
        if (h) found.push(h);
      }
      this.handed = found;
    }
    return this.handed;
  }

  /**
   * The calls that may hand a loss over, by statement: a loss-like argument (`handedArguments`, syntax alone) or a
   * library with a default loss by its callee's name. Kept between lints by statement (`perStatement`).
   */
  private lossArgumentCalls(): PyNode[] {
    const calls = this.a.index.of('call');
    const out: PyNode[] = [];
    for (const top of this.a.root.children) {
      const found = this.a.perStatement(top, 'handedCandidates', () => callsOfStatement(calls, top).filter((c) => handedArguments(c)?.loss || DEFAULT_NAMES.includes(calleeName(c) ?? '')));
      for (const c of found) out.push(c);
    }
    return out;
  }

  private handedLoss(call: PyNode, loss: PyNode | undefined, module: PyNode | undefined): HandedLoss | undefined {
    if (!module || module === loss) return undefined;
    const q = this.a.callee(call);
    // Only a library's callee: the flow follows the file's own functions and classes through their parameters.
    if (!q || /^(torch|keras|tensorflow)\./.test(q)) return undefined;
    const fn = call.child('function');
    const last = fn?.type === 'attribute' ? fn.child('attribute')?.text : fn?.text;
    if (!last || this.a.functions.has(last) || this.a.definesClass(last)) return undefined;
    const kind = loss ? this.handedKind(loss) : LIBRARY_DEFAULTS[q];
    return kind && { call, kind, loss: loss ?? call, module };
  }

  /** The loss an argument hands over: a loss class itself (`criterion=nn.CrossEntropyLoss`), an instance or a function. */
  private handedKind(arg: PyNode): LossKind | undefined {
    const q = this.a.qname(unparen(arg));
    if (q && LOSS_CLASSES[q]) return LOSS_CLASSES[q];
    return this.resolve(arg, 0)?.kind;
  }

  get calls(): LossCall[] {
    if (!this.cached) {
      this.cached = [];
      for (const call of this.candidates()) {
        const loss = this.resolve(calledObject(call.child('function')), 0);
        if (!loss) continue; // most calls are not losses: skip reading their arguments
        const input = positionalArgs(call)[0] ?? keywordArg(call, 'input');
        if (input) this.cached.push({ call, kind: loss.kind, input, config: loss.config === FUNCTIONAL ? call : loss.config });
      }
    }
    return this.cached;
  }

  /**
   * The calls that may be losses, in document order: per top-level statement, those whose callee resolves to a loss
   * from the statement alone, or would need what a call site passes (a parameter). Kept between lints by statement
   * (`perStatement`), so an edit re-resolves only the calls of the statement it changed; the others are resolved
   * on each lint, since a call site elsewhere may have changed.
   */
  private candidates(): PyNode[] {
    const calls = this.a.index.of('call');
    const out: PyNode[] = [];
    for (const top of this.a.root.children) {
      const found = this.a.perStatement(top, 'lossCandidates', () => this.localCandidates(top, callsOfStatement(calls, top)));
      for (const c of found) out.push(c);
    }
    return out;
  }

  private localCandidates(top: PyNode, calls: readonly PyNode[]): PyNode[] {
    const out: PyNode[] = [];
    for (const call of calls) {
      this.local = { top, escaped: false };
      try {
        if (this.resolve(calledObject(call.child('function')), 0) || this.local.escaped) out.push(call);
      } finally {
        this.local = undefined;
      }
    }
    return out;
  }

  /** The loss a callee stands for: a loss function, a loss module instance, or a name bound to either. */
  private resolve(callee: PyNode | undefined, depth: number): Resolved | undefined {
    const c = unparen(callee);
    if (!c || depth > 8) return undefined;
    const q = this.a.qname(c);
    // A loss function bound to a name (`loss_fn = F.nll_loss`) is configured where it is called.
    if (q && LOSS_FUNCTIONS[q]) return { kind: LOSS_FUNCTIONS[q], config: FUNCTIONAL };
    if (c.type === 'call') {
      // `nn.NLLLoss().cuda()`, `criterion = criterion.to(device)`: the same loss module.
      const chained = moduleChainObject(c);
      if (chained) return this.resolve(chained, depth + 1);
      const cq = this.a.callee(c);
      const kind = cq ? LOSS_CLASSES[cq] : undefined;
      return kind && { kind, config: c };
    }
    if (c.type === 'identifier') {
      // valueBefore: `criterion = criterion.cuda()` reads the binding before its own statement.
      const v = valueBefore(this.a, c);
      // null: a parameter, or a name bound by `def` / `class` (which are not worth the call-site lookup).
      if (v === null) {
        if (this.local) return void (this.local.escaped = true);
        return this.a.functions.has(c.text) ? undefined : this.parameterLoss(c, depth);
      }
      const loss = v ? this.resolve(v, depth + 1) : undefined;
      return loss && this.everyBranch(c, v!, loss, depth);
    }
    if (c.type === 'attribute' && c.child('object')?.text === 'self') {
      const cls = c.ancestor('class_definition');
      const attr = c.child('attribute')?.text;
      if (!cls || !attr) return undefined;
      // Another statement's class may have changed around the binding that led here.
      if (this.local && topStatementOf(cls) !== this.local.top) return void (this.local.escaped = true);
      return agree(this.a.scopes.selfAttr(cls, attr).map((v) => this.resolve(v, depth + 1)));
    }
    return undefined;
  }

  /**
   * A loss the nearest binding gives, checked against every binding that can reach the read: `if ctc: criterion =
   * nn.CTCLoss() else: criterion = nn.CrossEntropyLoss()` is not known to be either.
   */
  private everyBranch(id: PyNode, nearest: PyNode, loss: Resolved, depth: number): Resolved | undefined {
    if (this.local) return loss; // a candidate: the other branches may read other statements
    const stmt = statementOf(id);
    const defs = stmt && reachingBefore(id.text, stmt);
    if (!defs) return this.everyArm(id.text, nearest, loss, depth);
    if (defs.length < 2 || defs.some((d) => !d.value || d.index !== undefined)) return loss;
    return agree(defs.map((d) => (d.value === nearest ? loss : this.resolve(d.value, depth + 1))));
  }

  /**
   * Where the paths to the read are not followed (a `try` or `with` between): a binding in one arm of an `if` / `elif`
   * chain holds only when its arm runs, so the loss is known only when every arm that binds the name agrees.
   */
  private everyArm(name: string, nearest: PyNode, loss: Resolved, depth: number): Resolved | undefined {
    const chain = conditionalOf(nearest);
    if (!chain) return loss;
    const bound = armBindings(chain, name);
    return agree(bound.map((v) => (v === nearest ? loss : this.resolve(v, depth + 1))));
  }

  /**
   * `def train(model, loader, criterion)`: the loss every call site passes for the parameter; with no call site in the
   * file, the parameter's default (`def __init__(self, loss=nn.CrossEntropyLoss())` of a class built elsewhere).
   */
  private parameterLoss(id: PyNode, depth: number): Resolved | undefined {
    const args = parameterArguments(this.a, id);
    if (!args) {
      const fallback = signatureDefault(id);
      const loss = fallback && this.resolve(fallback, depth + 1);
      return loss && unpassed(this.a, id) ? loss : undefined;
    }
    if (this.resolving.has(args)) return undefined;
    // The same parameter is often called many times (`model(x)` in a train function): resolve it once.
    if (this.byArguments.has(args)) return this.byArguments.get(args);
    this.resolving.add(args); // a recursive function passes its own parameter on
    const loss = agree(args.map((arg) => this.resolve(arg, depth + 1)));
    this.resolving.delete(args);
    this.byArguments.set(args, loss);
    return loss;
  }
}

/** The `if` statement whose arm (body, `elif` or `else`) holds the assignment of `value` directly. */
function conditionalOf(value: PyNode): PyNode | undefined {
  const asg = value.parent;
  const block = asg?.type === 'assignment' && asg.child('right') === value ? asg.parent?.parent : undefined;
  if (block?.type !== 'block') return undefined;
  const arm = block.parent;
  if (arm?.type === 'if_statement') return arm;
  return arm?.type === 'elif_clause' || arm?.type === 'else_clause' ? (arm.parent ?? undefined) : undefined;
}

/** The values `name = value` statements directly in the arms of an `if` chain assign. */
function armBindings(chain: PyNode, name: string): PyNode[] {
  const blocks = [chain.child('consequence'), ...chain.children.filter((c) => c.type === 'elif_clause' || c.type === 'else_clause').map((c) => c.child('consequence') ?? c.child('body'))];
  const out: PyNode[] = [];
  for (const block of blocks) {
    for (const stmt of block?.namedChildren ?? []) {
      const asg = stmt.type === 'expression_statement' ? stmt.namedChildren[0] : undefined;
      const left = asg?.type === 'assignment' ? asg.child('left') : undefined;
      const right = asg?.child('right');
      if (left?.type === 'identifier' && left.text === name && right) out.push(right);
    }
  }
  return out;
}

/** The run of the calls of `top` in the file's calls (in document order: a statement's calls are contiguous). */
function callsOfStatement(calls: readonly PyNode[], top: PyNode): readonly PyNode[] {
  let lo = 0;
  let hi = calls.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (calls[mid]!.start < top.start) lo = mid + 1;
    else hi = mid;
  }
  let end = lo;
  while (end < calls.length && calls[end]!.start < top.end) end++;
  return calls.slice(lo, end);
}

/** `criterion.forward(out, y)` and `criterion.__call__(out, y)` call the loss as `criterion(out, y)` does. */
function calledObject(fn: PyNode | undefined): PyNode | undefined {
  const method = fn?.type === 'attribute' ? fn.child('attribute')?.text : undefined;
  return method === 'forward' || method === '__call__' ? fn!.child('object') : fn;
}

/** Module methods that return the module itself. */
const MODULE_CHAIN = new Set(['to', 'cuda', 'cpu', 'train', 'eval', 'float', 'double', 'half', 'requires_grad_', 'type']);

/** The module `m` of `m.to(device)` / `m.cuda()`. */
function moduleChainObject(call: PyNode): PyNode | undefined {
  const fn = call.child('function');
  return fn?.type === 'attribute' && MODULE_CHAIN.has(fn.child('attribute')?.text ?? '') ? fn.child('object') : undefined;
}

/** Stands for "the loss call itself" while resolving a callee (a functional loss takes its options at the call). */
const FUNCTIONAL = {} as PyNode;

/** One loss for several values: their common kind, and their config when it is the same call (else undefined). */
function agree(losses: readonly (Resolved | undefined)[]): Resolved | undefined {
  const first = losses[0];
  if (!first || losses.some((l) => l?.kind !== first.kind)) return undefined;
  return { kind: first.kind, config: losses.every((l) => l!.config === first.config) ? first.config : undefined };
}

const cache = new WeakMap<Analysis, Losses>();
export function losses(a: Analysis): Losses {
  let l = cache.get(a);
  if (!l) cache.set(a, (l = new Losses(a)));
  return l;
}

/** "line 12" when the site is on another line than the finding, for messages. */
export function where(site: PyNode | undefined, from: PyNode): string {
  if (!site) return '';
  const src = site.src.text;
  const line = (i: number) => {
    let n = 1;
    for (let k = src.indexOf('\n'); k !== -1 && k < i; k = src.indexOf('\n', k + 1)) n++;
    return n;
  };
  const a = line(site.start);
  return a === line(from.start) ? '' : ` (line ${a})`;
}
