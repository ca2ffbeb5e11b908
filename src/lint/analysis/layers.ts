// The order in which PyTorch layers are applied: the elements of `nn.Sequential(...)` and, in a module's
// `forward`, the chain of layer / functional calls each variable went through (`x = self.fc1(x)`,
// `x = F.relu(self.bn(self.conv(x)))`). Each step links to the step that produced its input (`prev`), so rules
// can ask "what came right before this BatchNorm?". Only straight-line code of `forward` is followed: a name
// assigned inside `if`/`for`/`with` has an unknown history, and anything not recognised ends the chain.
import type { PyNode } from '../parser';
import { keywordArg, positionalArgs, receiver, topStatementOf, unparen, type Analysis } from './index';
import type { ModuleClass } from './modules';
import { reachingDefs } from './reaching';
import { valueBefore } from './values';

export type StepKind = 'linear' | 'conv' | 'dropout' | 'batchnorm' | 'activation' | 'sigmoid' | 'softmax' | 'shape' | 'pool' | 'other';

export interface LayerStep {
  kind: StepKind;
  /** Qualified name of the layer class or function (`torch.nn.Linear`, `torch.nn.functional.relu`). */
  q?: string;
  /** The constructor call of the layer (`nn.Linear(4, 2)`), when the step is a layer. */
  layer?: PyNode;
  /** Where the step is applied: the element of the Sequential, or the call in forward. */
  site: PyNode;
  /** The step whose output this one consumes; undefined when it is the input or not known. */
  prev?: LayerStep;
  /** The literal `nn.Sequential(...)` call holding `site` as a positional element. */
  container?: PyNode;
  /** The `self.<attr>` name the layer is stored under, in forward. */
  attr?: string;
}

export interface SequentialLayers {
  call: PyNode;
  steps: LayerStep[];
}

export interface ForwardLayers {
  cls: ModuleClass;
  /** Every step created while reading forward (each applied call once). */
  steps: LayerStep[];
  /** The step each `return` hands back; undefined for a return whose history is unknown. */
  outputs: (LayerStep | undefined)[];
}

const LAYER_KINDS: [RegExp, StepKind][] = [
  [/^torch\.nn\.(Linear|LazyLinear)$/, 'linear'],
  [/^torch_geometric\.nn\.(dense\.(linear\.)?)?Linear$/, 'linear'],
  [/^torch\.nn\.(Lazy)?Conv(Transpose)?[123]d$/, 'conv'],
  [/^torch\.nn\.(Dropout[123]?d?|AlphaDropout|FeatureAlphaDropout)$/, 'dropout'],
  [/^torch\.nn\.(BatchNorm[123]d|SyncBatchNorm|LazyBatchNorm[123]d)$/, 'batchnorm'],
  [/^torch\.nn\.(Sigmoid)$/, 'sigmoid'],
  [/^torch\.nn\.(Softmax|LogSoftmax|Softmin|Softmax2d)$/, 'softmax'],
  [/^torch\.nn\.(ReLU6?|LeakyReLU|PReLU|RReLU|ELU|SELU|CELU|GELU|SiLU|Mish|Tanh|Hardtanh|Hardswish|Hardsigmoid|Softplus|Softsign|Tanhshrink|Threshold|LogSigmoid|GLU)$/, 'activation'],
  [/^torch\.nn\.(Flatten|Unflatten|Identity)$/, 'shape'],
  [/^torch\.nn\.(Max|Avg|AdaptiveAvg|AdaptiveMax|LP)Pool[123]d$/, 'pool'],
];

const FUNCTION_KINDS: [RegExp, StepKind][] = [
  [/^torch\.nn\.functional\.(dropout[123]?d?|alpha_dropout|feature_alpha_dropout)$/, 'dropout'],
  [/^torch\.(nn\.functional\.)?sigmoid$/, 'sigmoid'],
  [/^torch\.(nn\.functional\.)?(softmax|log_softmax|softmin)$/, 'softmax'],
  [/^torch\.nn\.functional\.(relu6?|leaky_relu|prelu|rrelu|elu|selu|celu|gelu|silu|mish|hardtanh|hardswish|hardsigmoid|softplus|softsign|tanhshrink|threshold|logsigmoid|glu|tanh)$/, 'activation'],
  [/^torch\.(relu|tanh|selu|celu|rrelu|prelu)$/, 'activation'],
  [/^torch\.flatten$/, 'shape'],
  [/^torch\.nn\.functional\.(max|avg|adaptive_avg|adaptive_max|lp)_pool[123]d$/, 'pool'],
];

const METHOD_KINDS: Record<string, StepKind> = {
  relu: 'activation',
  tanh: 'activation',
  sigmoid: 'sigmoid',
  softmax: 'softmax',
  log_softmax: 'softmax',
  view: 'shape',
  reshape: 'shape',
  flatten: 'shape',
  squeeze: 'shape',
  unsqueeze: 'shape',
  contiguous: 'shape',
};

function kindOf(q: string | undefined, table: [RegExp, StepKind][]): StepKind | undefined {
  if (!q) return undefined;
  for (const [re, k] of table) if (re.test(q)) return k;
  return undefined;
}

/** Expressions whose insides run elsewhere or later: not part of forward's straight-line chains. */
const NO_ENTRY = new Set(['lambda', 'list_comprehension', 'generator_expression', 'set_comprehension', 'dictionary_comprehension', 'conditional_expression', 'boolean_operator']);

export class TorchLayers {
  private _sequentials?: SequentialLayers[];
  private readonly forwards = new Map<ModuleClass, ForwardLayers>();

  constructor(private readonly a: Analysis) {}

  /** The layer kind a module expression builds (`nn.ReLU()`, a name bound to one); 'other' when unknown. */
  layerKind(expr: PyNode | undefined, depth = 0): { kind: StepKind; q?: string; layer?: PyNode } {
    const e = unparen(expr);
    if (!e || depth > 4) return { kind: 'other' };
    if (e.type === 'identifier') {
      const v = valueBefore(this.a, e);
      return v ? this.layerKind(v, depth + 1) : { kind: 'other' };
    }
    if (e.type !== 'call') return { kind: 'other' };
    const q = layerClass(this.a, e);
    return { kind: kindOf(q, LAYER_KINDS) ?? 'other', q, layer: e };
  }

  /** Top-level `nn.Sequential(...)` calls (those nested as an element of another are expanded in place). */
  get sequentials(): SequentialLayers[] {
    if (!this._sequentials) {
      this._sequentials = [];
      // Per top-level statement, kept between lints like `forward` (a nested Sequential is in its parent's statement).
      const byStatement = new Map<PyNode, PyNode[]>();
      for (const call of this.a.index.of('call')) {
        if (this.a.callee(call) !== 'torch.nn.Sequential') continue;
        const top = topStatementOf(call);
        const list = byStatement.get(top);
        if (list) list.push(call);
        else byStatement.set(top, [call]);
      }
      for (const [top, calls] of byStatement) this._sequentials.push(...this.a.perStatement(top, 'sequentials', () => this.sequentialsIn(calls)));
    }
    return this._sequentials;
  }

  private sequentialsIn(calls: readonly PyNode[]): SequentialLayers[] {
    const out: SequentialLayers[] = [];
    for (const call of calls) {
      const parentCall = call.parent?.type === 'argument_list' ? call.parent.parent : undefined;
      if (parentCall && this.a.callee(parentCall) === 'torch.nn.Sequential' && call.field !== 'function') continue;
      const steps: LayerStep[] = [];
      this.expand(call, steps, undefined, 0);
      out.push({ call, steps });
    }
    return out;
  }

  /** Appends the elements of a Sequential call to `steps`, chained after `prev`; returns the last step. */
  private expand(seq: PyNode, steps: LayerStep[], prev: LayerStep | undefined, depth: number): LayerStep | undefined {
    const args = seq.child('arguments');
    for (const el of args?.namedChildren ?? []) {
      if (el.type === 'comment') continue;
      if (el.type === 'keyword_argument') continue;
      const inner = unparen(el);
      if (inner?.type === 'call' && this.a.callee(inner) === 'torch.nn.Sequential' && depth < 4) {
        prev = this.expand(inner, steps, prev, depth + 1);
        continue;
      }
      const k = el.type === 'list_splat' || el.type === 'dictionary_splat' ? { kind: 'other' as const } : this.layerKind(el);
      const step: LayerStep = { ...k, site: el, prev, container: seq };
      steps.push(step);
      prev = step;
    }
    return prev;
  }

  /** The chains of forward, for one module class. */
  forward(cls: ModuleClass): ForwardLayers {
    let f = this.forwards.get(cls);
    if (!f) {
      // Kept between lints per class node: it reads the class, the imports and the bindings it looks up.
      const { steps, outputs } = this.a.perStatement(cls.node, 'forwardLayers', () => this.readForward(cls));
      this.forwards.set(cls, (f = { cls, steps, outputs }));
    }
    return f;
  }

  private readForward(cls: ModuleClass): ForwardLayers {
    const out: ForwardLayers = { cls, steps: [], outputs: [] };
    const fwd = cls.forward;
    if (!fwd) return out;
    // name -> the last step applied to it (null: the raw input, no step yet). Absent: unknown.
    const chain = new Map<string, LayerStep | null>();
    for (const p of fwd.child('parameters')?.namedChildren ?? []) if (p.type === 'identifier' && p.text !== 'self') chain.set(p.text, null);

    // The layer chains nested in an expression whose own value is not a layer's output: `self.fc2(self.fc1(x)) + x`
    // (a residual), `self.attn(self.q(x), self.k(x), ...)[0]`, `torch.cat([self.b(self.a(x)), y], 1)`.
    const inside = (e: PyNode, depth: number): undefined => {
      for (const c of e.children) {
        if (!c.named || NO_ENTRY.has(c.type)) continue;
        if (c.type === 'call') evalExpr(c, depth + 1);
        else if (depth < 12) inside(c, depth + 1);
      }
      return undefined;
    };

    const evalExpr = (expr: PyNode | undefined, depth: number): LayerStep | null | undefined => {
      const e = unparen(expr);
      if (!e || depth > 12) return undefined;
      if (e.type === 'identifier') return chain.has(e.text) ? chain.get(e.text) : undefined;
      if (e.type !== 'call') return inside(e, depth);
      const fn = e.child('function');
      const pos = positionalArgs(e);
      // self.layer(x)
      if (fn?.type === 'attribute' && fn.child('object')?.text === 'self') {
        const attr = fn.child('attribute')?.text ?? '';
        const layer = cls.layers.get(attr);
        if (!layer || pos.length !== 1 || e.child('arguments')?.children.some((c) => c.type === 'keyword_argument')) return inside(e, depth);
        const inner = evalExpr(pos[0], depth + 1) ?? undefined;
        const lv = unparen(layer);
        if (lv?.type === 'call' && this.a.callee(lv) === 'torch.nn.Sequential') {
          const before = out.steps.length;
          const last = this.expand(lv, out.steps, inner, 0);
          // The expanded steps are the Sequential's elements; they are reported there, not in forward.
          return out.steps.length > before ? last : inner;
        }
        const step: LayerStep = { ...this.layerKind(layer), site: e, prev: inner, attr };
        out.steps.push(step);
        return step;
      }
      const q = this.a.qname(fn);
      const fk = kindOf(q, FUNCTION_KINDS);
      if (fk && pos[0]) {
        const inner = evalExpr(pos[0], depth + 1) ?? undefined;
        const step: LayerStep = { kind: fk, q, site: e, prev: inner };
        out.steps.push(step);
        return step;
      }
      if (!q && fn?.type === 'attribute') {
        const mk = METHOD_KINDS[fn.child('attribute')?.text ?? ''];
        const obj = receiver(e);
        if (mk && obj) {
          const inner = evalExpr(obj, depth + 1);
          if (inner === undefined) return undefined;
          const step: LayerStep = { kind: mk, site: e, prev: inner ?? undefined };
          out.steps.push(step);
          return step;
        }
      }
      return inside(e, depth);
    };

    const forget = (n: PyNode) =>
      n.walk((c) => {
        if (c.type === 'assignment' || c.type === 'augmented_assignment' || c.type === 'for_statement' || c.type === 'as_pattern') {
          const left = c.child('left') ?? c.child('alias');
          left?.walk((id) => void (id.type === 'identifier' && chain.delete(id.text)));
        }
        if (c.type === 'named_expression') {
          const name = c.child('name');
          if (name) chain.delete(name.text);
        }
      });

    for (const stmt of fwd.child('body')?.namedChildren ?? []) {
      if (stmt.type === 'comment') continue;
      if (stmt.type === 'return_statement') {
        const v = stmt.namedChildren.find((c) => c.type !== 'comment');
        if (v) out.outputs.push(evalExpr(v, 0) ?? undefined);
        break;
      }
      const inner = stmt.type === 'expression_statement' ? stmt.namedChildren[0] : undefined;
      if (inner?.type === 'assignment' && inner.child('left')?.type === 'identifier' && !inner.child('type')) {
        const name = inner.child('left')!.text;
        const right = inner.child('right');
        const v = right?.type === 'assignment' ? undefined : evalExpr(right, 0);
        if (v === undefined) chain.delete(name);
        else chain.set(name, v);
        continue;
      }
      if (inner?.type === 'augmented_assignment') evalExpr(inner.child('right'), 0);
      forget(stmt);
      // A return inside a branch: its value is not followed.
      stmt.walk((c) => {
        if (c.type === 'function_definition' || c.type === 'lambda') return false;
        if (c.type === 'return_statement') out.outputs.push(undefined);
      });
    }
    return out;
  }

  /** Every forward of the file's module classes. */
  get forwardLayers(): ForwardLayers[] {
    return this.a.modules.map((m) => this.forward(m));
  }
}

const cache = new WeakMap<Analysis, TorchLayers>();
export function torchLayers(a: Analysis): TorchLayers {
  let t = cache.get(a);
  if (!t) cache.set(a, (t = new TorchLayers(a)));
  return t;
}

/** The first step before `s` that is not one of `skip` kinds. */
export function previousExcept(s: LayerStep, skip: readonly StepKind[]): LayerStep | undefined {
  let p = s.prev;
  for (let i = 0; p && skip.includes(p.kind) && i < 32; i++) p = p.prev;
  return p;
}

const classCache = new WeakMap<Analysis, Map<PyNode, string | undefined>>();

/**
 * The torch.nn class a call builds: its callee, or, for a local name bound to layer classes (`conv_nd = nn.Conv3d` in
 * one branch of `if dimension == 3:` and `nn.Conv2d` in the other, `conv = nn.Conv2d if two_d else nn.Conv1d`), the
 * class of the first binding when every binding that can reach the call is a class of the same kind (so a rule
 * reading its arguments reads the same signature). Undefined otherwise.
 */
export function layerClass(a: Analysis, call: PyNode): string | undefined {
  const q = a.callee(call);
  const fn = call.child('function');
  if (q?.startsWith('torch.') || fn?.type !== 'identifier') return q;
  // The file's own functions and classes (`conv_bn(...)`, `Block(...)`): built by a def, not an alias.
  if (a.functions.has(fn.text) || a.moduleClass(fn.text)) return q;
  let cache = classCache.get(a);
  if (!cache) classCache.set(a, (cache = new Map()));
  if (cache.has(call)) return cache.get(call) ?? q;
  let out: string | undefined;
  const defs = reachingDefs(fn);
  if (defs?.length && defs.every((d) => d.value && d.index === undefined)) {
    const classes = defs.flatMap((d) => classesOf(a, d.value!));
    const kind = kindOf(classes[0], LAYER_KINDS);
    if (kind && classes.every((c) => c && kindOf(c, LAYER_KINDS) === kind)) out = classes[0];
  }
  cache.set(call, out);
  return out ?? q;
}

/** The torch.nn classes an alias value names: `nn.Conv2d`, or both arms of a conditional expression. */
function classesOf(a: Analysis, value: PyNode): (string | undefined)[] {
  const v = unparen(value);
  if (v?.type === 'conditional_expression') {
    const [x, , y] = v.namedChildren.filter((c) => c.type !== 'comment');
    return x && y ? [...classesOf(a, x), ...classesOf(a, y)] : [undefined];
  }
  return [v?.type === 'attribute' || v?.type === 'identifier' ? a.qname(v) : undefined];
}

/** `bias=False` given on a layer constructor. */
export function biasOff(layer: PyNode | undefined): boolean {
  return layer?.type === 'call' && keywordArg(layer, 'bias')?.text === 'False';
}
