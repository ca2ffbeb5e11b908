import { calleeName, hasParameter, keywordArg, methodClass, parameterNames, positionalArgs, receiver, unparen, type Analysis } from '../../analysis';
import { argumentOrDefault, callSitesOf } from '../../analysis/calls';
import { assignedTarget, lastArgument, optimizedModel, sameScope } from '../../analysis/runtime';
import { scopeOf } from '../../analysis/scopes';
import type { PyNode } from '../../parser';
import type { RawFix, Rule, RuleContext } from '../../types';

/** Adam-family optimizers: default eps=1e-8, added to sqrt(v) in the update. */
const ADAM = /^torch\.optim\.(Adam|AdamW|Adamax|NAdam|RAdam)$/;
/** Smallest positive float16 (subnormal): anything below rounds to zero. */
const FP16_MIN = 5.96e-8;
const HALF = /^(torch\.)?(float16|half)$/;

// A project's own conversion method on the model (`model.convert_to_fp16()`, `net.to_half()`), not one that undoes it.
const HALF_METHOD = /(^|_)(half|fp16)(_|$)/i;
const NOT_TO_HALF = /fp32|float32|disable|undo|revert|restore|from_(half|fp16)|is_|enabled|supported|available/i;

/**
 * `x.half()`, `x.to(torch.float16)`, `x.to(dtype=torch.half)`, `x.to(device, torch.float16)`, `x.convert_to_fp16()`:
 * the converted expression(s).
 */
function halfTargets(call: PyNode, ctx: RuleContext): PyNode[] {
  const name = calleeName(call);
  const recv = receiver(call);
  if (!recv) return [];
  let isHalf = (name === 'half' && positionalArgs(call).length === 0) || (!!name && name !== 'half' && HALF_METHOD.test(name) && !NOT_TO_HALF.test(name));
  if (name === 'to') {
    const dtypes = [keywordArg(call, 'dtype'), ...positionalArgs(call)];
    isHalf = dtypes.some((d) => d !== undefined && (HALF.test(d.text) || ctx.analysis.qname(d) === 'torch.float16' || ctx.analysis.qname(d) === 'torch.half'));
  }
  if (!isHalf) return [];
  const out = [recv];
  const target = assignedTarget(call);
  if (target) out.push(target);
  return out;
}

function eps(call: PyNode): PyNode | undefined {
  return keywordArg(call, 'eps') ?? positionalArgs(call)[4];
}

export const HP002: Rule = {
  meta: {
    id: 'HP002',
    name: 'fp16-adam-default-eps',
    group: 'hyperparameters',
    defaultSeverity: 'warning',
    summary: 'Adam runs on float16 parameters with its default eps=1e-8, which is zero in float16.',
    why:
      'Adam divides each step by `sqrt(v) + eps`. Its default `eps=1e-8` is below the smallest positive float16 (about 6e-8), ' +
      'so on parameters converted with `model.half()` (also by a function of the file that returns or receives the model, or by ' +
      'a project method such as `model.convert_to_fp16()`, or under `torch.set_default_dtype(torch.float16)`) eps rounds to ' +
      'zero: wherever the second moment is tiny or underflows the update divides by zero and the weights become inf/NaN, ' +
      'often after a few hundred steps. Either keep float32 master weights with automatic mixed precision ' +
      '(`torch.autocast` + `GradScaler`, the usual way to train in half precision) or raise eps to a value float16 can hold, ' +
      'e.g. `eps=1e-4`. A model loaded with `from_pretrained(..., torch_dtype=torch.float16)` (not quantized) counts as ' +
      'converted, also through `get_peft_model` / `DataParallel`, and so does the Hugging Face `Trainer` that trains it: ' +
      'its AdamW uses `adam_epsilon=1e-8` unless `TrainingArguments` sets it (or mixed precision, or another optimizer).',
    wrong: 'model = nn.Linear(10, 2).half()\noptimizer = optim.Adam(model.parameters(), lr=1e-3)',
    right: 'model = nn.Linear(10, 2).half()\noptimizer = optim.Adam(model.parameters(), lr=1e-3, eps=1e-4)',
    concept: 'Numerics: float16 range and optimizer epsilon',
    fixable: true,
  },
  check(ctx) {
    const a = ctx.analysis;
    const calls = ctx.nodesOfType('call');
    const globalHalf = calls.some((c) => a.callee(c) === 'torch.set_default_dtype' && HALF.test(positionalArgs(c)[0]?.text ?? ''));
    // `.half()` / `.to(...)` are looked up by name; a project's conversion method by the memoised callee name.
    const named = [...a.callsNamed('half'), ...a.callsNamed('to'), ...calls.filter((c) => HALF_METHOD.test(calleeName(c) ?? '') && calleeName(c) !== 'half')];
    const conversions = named.flatMap((c) => halfTargets(c, ctx).map((t) => ({ call: c, target: t.text })));
    conversions.push(...halfLoads(a));
    if (!globalHalf && conversions.length === 0) return;
    addWrappers(a, conversions);
    const flow = new HalfFlow(a, conversions, [...ctx.nodesOfType('for_statement'), ...ctx.nodesOfType('while_statement')]);
    for (const opt of calls) {
      const q = a.callee(opt);
      if (!q || !ADAM.test(q)) continue;
      const e = eps(opt);
      let fixes: RawFix[] | undefined;
      if (e) {
        const v = e.type === 'float' || e.type === 'integer' ? Number(e.text.replace(/_/g, '')) : NaN;
        if (!(v >= 0 && v < FP16_MIN)) continue;
        fixes = [{ title: 'Use eps=1e-4', edits: [{ start: e.start, end: e.end, newText: '1e-4' }] }];
      } else {
        const last = lastArgument(opt);
        if (!last) continue;
        fixes = [{ title: 'Add eps=1e-4', edits: [{ start: last.end, end: last.end, newText: ', eps=1e-4' }] }];
      }
      if (wrappedForMasterWeights(opt)) continue;
      const model = adamModel(opt);
      if (!globalHalf && !(model && flow.converted(model, opt, 1))) continue;
      const name = q.split('.').pop()!;
      ctx.report({
        node: opt,
        message: `${name} on float16 parameters with eps=${e ? e.text : '1e-8 (default)'}: eps is zero in float16 and updates can become inf/NaN. Use eps=1e-4 or train with AMP (float32 weights).`,
        fixes,
      });
    }
    if (!globalHalf) checkTrainers(ctx, flow);
  },
};

// ---- Models loaded in float16, and the Hugging Face Trainer's AdamW ----

/** `torch.float16` / `torch.half` / `"float16"`, also behind a conditional, a name or a `self.x` (any value). */
function mayBeHalfDtype(n: PyNode | undefined, a: Analysis, depth = 0): boolean {
  const e = unparen(n);
  if (!e || depth > 3) return false;
  if (e.type === 'conditional_expression') return e.namedChildren.some((c, i) => i !== 1 && mayBeHalfDtype(c, a, depth + 1));
  if (e.type === 'string') return /^['"](float16|fp16|half)['"]$/.test(e.text);
  const q = a.qname(e);
  if (q === 'torch.float16' || q === 'torch.half') return true;
  if (e.type === 'identifier') return mayBeHalfDtype(a.scopes.valueAt(e.text, e) ?? undefined, a, depth + 1);
  if (e.type === 'attribute' && e.child('object')?.text === 'self') {
    const cls = e.ancestor('class_definition');
    return !!cls && a.scopes.selfAttr(cls, e.child('attribute')!.text).some((v) => mayBeHalfDtype(v, a, depth + 1));
  }
  return false;
}

/**
 * `model = X.from_pretrained(..., torch_dtype=torch.float16)` (or `dtype=`): weights loaded in float16. Not a quantized
 * load (`load_in_8bit=True`, `quantization_config=`), whose trainable parts are prepared separately.
 */
function halfLoads(a: Analysis): Conversion[] {
  const out: Conversion[] = [];
  // PEFT's k-bit preparation casts the trainable weights back to float32
  if (a.callsNamed('prepare_model_for_kbit_training').length || a.callsNamed('prepare_model_for_int8_training').length) return out;
  for (const call of a.callsNamed('from_pretrained')) {
    if (!mayBeHalfDtype(keywordArg(call, 'torch_dtype') ?? keywordArg(call, 'dtype'), a)) continue;
    if (keywordArg(call, 'quantization_config') || /^True$/.test(keywordArg(call, 'load_in_8bit')?.text ?? '') || /^True$/.test(keywordArg(call, 'load_in_4bit')?.text ?? '')) continue;
    const target = assignedTarget(call);
    if (target) out.push({ call, target: target.text });
  }
  return out;
}

// Wrappers that train the parameters of the model they are given (no dtype change).
const SAME_PARAMETERS = /^(get_peft_model|DataParallel|DistributedDataParallel)$/;

/** `peft = get_peft_model(model, cfg)` after `model` was converted (same function): the wrapper holds the same weights. */
function addWrappers(a: Analysis, conversions: Conversion[]): void {
  const wrappers = [...a.callsNamed('get_peft_model'), ...a.callsNamed('DataParallel'), ...a.callsNamed('DistributedDataParallel')].sort((x, y) => x.start - y.start);
  for (const w of wrappers) {
    const inner = unparen(positionalArgs(w)[0] ?? keywordArg(w, 'model'));
    const target = assignedTarget(w);
    if (!inner || !target || !SAME_PARAMETERS.test(calleeName(w) ?? '')) continue;
    if (conversions.some((c) => c.target === inner.text && sameScope(c.call, w) && c.call.start < w.start)) conversions.push({ call: w, target: target.text });
  }
}

const HF_TRAINER = /^(transformers\.(Trainer|Seq2SeqTrainer)|trl\.\w*Trainer)$/;

/** A Trainer construction: `Trainer(model=..., args=...)`, or `super().__init__(...)` in a subclass of one. */
function isTrainerCall(call: PyNode, a: Analysis): boolean {
  const q = a.callee(call);
  if (q && HF_TRAINER.test(q)) return true;
  if (calleeName(call) !== '__init__' || receiver(call)?.text !== 'super()') return false;
  const cls = call.ancestor('class_definition');
  return (cls?.child('superclasses')?.namedChildren ?? []).some((b) => HF_TRAINER.test(a.qname(b) ?? ''));
}

/**
 * The TrainingArguments call of a trainer (its `args`), when it is visible: a direct call, or a name / `self.args` bound
 * to one. `null` when the trainer takes none (the defaults); undefined when unknown.
 */
function trainingArguments(trainer: PyNode, a: Analysis): PyNode | null | undefined {
  let args = unparen(keywordArg(trainer, 'args') ?? positionalArgs(trainer)[1]);
  if (!args) return positionalArgs(trainer).length <= 1 ? null : undefined;
  if (args.type === 'identifier') args = unparen(a.scopes.valueAt(args.text, args) ?? undefined);
  else if (args.type === 'attribute' && args.child('object')?.text === 'self') {
    const cls = args.ancestor('class_definition');
    const values = cls ? a.scopes.selfAttr(cls, args.child('attribute')!.text) : [];
    args = values.length === 1 ? unparen(values[0]) : undefined;
  }
  return args?.type === 'call' && /TrainingArguments$/.test(a.callee(args) ?? '') ? args : undefined;
}

/** TrainingArguments that leave the Adam eps at 1e-8 on float16 weights: no eps, no mixed precision, an Adam optimizer. */
function leavesTinyEps(args: PyNode | null): boolean {
  if (!args) return true;
  if (args.child('arguments')?.namedChildren.some((c) => c.type === 'dictionary_splat' || c.type === 'list_splat')) return false;
  const e = keywordArg(args, 'adam_epsilon');
  if (e && !(Number(e.text) < FP16_MIN)) return false;
  if (['fp16', 'bf16', 'half_precision_backend'].some((k) => keywordArg(args, k)?.text === 'True')) return false;
  const optim = keywordArg(args, 'optim');
  return !optim || /^['"]adam/i.test(optim.text);
}

/** A Hugging Face Trainer given a float16 model and TrainingArguments that keep AdamW's default eps. */
function checkTrainers(ctx: RuleContext, flow: HalfFlow): void {
  const a = ctx.analysis;
  for (const call of ctx.nodesOfType('call')) {
    const name = calleeName(call) ?? '';
    if ((name !== '__init__' && !name.endsWith('Trainer')) || !isTrainerCall(call, a) || keywordArg(call, 'optimizers')) continue;
    const model = unparen(keywordArg(call, 'model') ?? positionalArgs(call)[0]);
    if (!model || (model.type !== 'identifier' && model.type !== 'attribute') || !flow.converted(model, call, 1)) continue;
    const args = trainingArguments(call, a);
    if (args === undefined || !leavesTinyEps(args)) continue;
    ctx.report({
      node: call,
      message: `The Trainer's AdamW updates float16 weights (${model.text}) with adam_epsilon=1e-8, which is zero in float16: updates can become inf/NaN. Set adam_epsilon=1e-4, or load the model in float32 and train with fp16=True.`,
    });
  }
}

/** The model whose parameters the optimizer takes, also through `[p for p in model.parameters() if p.requires_grad]`. */
function adamModel(opt: PyNode): PyNode | undefined {
  const params = unparen(positionalArgs(opt)[0] ?? keywordArg(opt, 'params'));
  if (params?.type === 'list_comprehension' || params?.type === 'generator_expression') {
    const source = unparen(params.namedChildren.find((c) => c.type === 'for_in_clause')?.child('right') ?? undefined);
    const m = source?.type === 'call' && calleeName(source) === 'parameters' && positionalArgs(source).length === 0 ? receiver(source) : undefined;
    return m && (m.type === 'identifier' || m.type === 'attribute') ? m : undefined;
  }
  return optimizedModel(opt);
}

/** `FP16_Optimizer(Adam(...))`, `MixedPrecisionOptimizer(...)`: a wrapper that keeps float32 master weights for Adam. */
function wrappedForMasterWeights(opt: PyNode): boolean {
  const outer = opt.parent?.type === 'argument_list' ? opt.parent.parent : opt.parent?.type === 'keyword_argument' ? opt.parent.parent?.parent : undefined;
  return outer?.type === 'call' && /fp16|master|mixed|^amp/i.test(calleeName(outer) ?? '');
}

interface Conversion {
  call: PyNode;
  target: string;
}

/**
 * Whether the model an optimizer takes was converted to float16: in the same function (not after a training loop, the
 * export case), in `__init__` for a `self.x`, by a function of the file that returns it converted
 * (`model, diffusion = load_model(use_fp16=True)`) or converts its parameter (`to_fp16(model)` before the optimizer),
 * or, for a parameter of the optimizer's function, at every call site.
 */
class HalfFlow {
  constructor(
    private readonly a: Analysis,
    private readonly conversions: Conversion[],
    private readonly loops: PyNode[],
  ) {}

  converted(model: PyNode, at: PyNode, depth: number): boolean {
    return this.inScope(model.text, at) || this.inInit(model, at) || this.returnedConverted(model, at) || this.convertedByCall(model, at) || this.atCallSites(model, at, depth);
  }

  private inScope(target: string, at: PyNode): boolean {
    return this.conversions.some(
      (c) =>
        c.target === target &&
        sameScope(c.call, at) &&
        // a conversion after training (for export) does not count
        !this.loops.some((l) => sameScope(l, at) && l.start > Math.min(at.end, c.call.end) && l.start < Math.max(at.start, c.call.start)),
    );
  }

  /**
   * Converted in a function before `before`: `model.half()`, also `if use_fp16: model.convert_to_fp16()` unless the
   * call `site` turns that flag off (`use_fp16=False`, or leaves its default False).
   */
  private convertsIn(fn: PyNode, target: string, before?: PyNode, site?: PyNode): boolean {
    return this.conversions.some((c) => c.target === target && scopeOf(c.call) === fn && (!before || c.call.start < before.start) && !(site && flagOff(fn, c.call, site)));
  }

  /** `self.model.half()` in the `__init__` of the class whose method builds the optimizer on `self.model`. */
  private inInit(model: PyNode, at: PyNode): boolean {
    if (model.type !== 'attribute' || model.child('object')?.text !== 'self') return false;
    const fn = scopeOf(at);
    const cls = fn && methodClass(fn);
    const init = cls?.child('body')?.namedChildren.find((m) => m.type === 'function_definition' && m.child('name')?.text === '__init__');
    return !!init && init !== fn && this.convertsIn(init, model.text);
  }

  /** `net = build(fp16)` / `net, opts = load_model(use_fp16=...)` where the file's function returns it converted. */
  private returnedConverted(model: PyNode, at: PyNode): boolean {
    if (model.type !== 'identifier') return false;
    const element = this.a.scopes.elementAt(model.text, at);
    const value = unparen(element?.source ?? this.a.scopes.valueAt(model.text, at) ?? undefined);
    const fn = value?.type === 'call' ? this.plainFunction(value) : undefined;
    if (!fn) return false;
    return returnsOf(fn).some((r) => {
      let e = unparen(r.namedChildren[0]);
      if (element) e = e?.type === 'expression_list' || e?.type === 'tuple' ? unparen(e.namedChildren.filter((c) => c.type !== 'comment')[element.index]) : undefined;
      if (e?.type === 'call') return this.conversions.some((c) => c.call === e);
      return e?.type === 'identifier' && this.convertsIn(fn, e.text, r, value);
    });
  }

  /** `to_fp16(model)` in the same function before the optimizer, where the file's `to_fp16` converts that parameter. */
  private convertedByCall(model: PyNode, at: PyNode): boolean {
    const fns = new Set(this.conversions.map((c) => scopeOf(c.call)).filter((f): f is PyNode => !!f && !methodClass(f)));
    for (const fn of fns) {
      for (const site of callSitesOf(this.a, fn)?.known ?? []) {
        if (!sameScope(site, at) || site.start > at.start) continue;
        if (parameterNames(fn).some((p) => unparen(argumentOrDefault(fn, site, p))?.text === model.text && this.convertsIn(fn, p, undefined, site))) return true;
      }
    }
    return false;
  }

  /** `def train(model): opt = Adam(model.parameters())` whose every call passes a converted model. */
  private atCallSites(model: PyNode, at: PyNode, depth: number): boolean {
    const fn = scopeOf(at);
    if (depth <= 0 || model.type !== 'identifier' || !fn || !hasParameter(fn, model.text)) return false;
    const sites = callSitesOf(this.a, fn);
    if (!sites?.known.length || sites.unknown.length) return false;
    return sites.known.every((site) => {
      const arg = unparen(argumentOrDefault(fn, site, model.text));
      return (arg?.type === 'identifier' || arg?.type === 'attribute') && this.converted(arg, site, depth - 1);
    });
  }

  /** The one plain function of the file a call runs (`load_model(...)`), not a method. */
  private plainFunction(call: PyNode): PyNode | undefined {
    const f = call.child('function');
    if (f?.type !== 'identifier') return undefined;
    const defs = (this.a.functions.get(f.text) ?? []).filter((d) => !methodClass(d));
    return defs.length === 1 && this.a.scopes.valueAt(f.text, f) === null ? defs[0] : undefined;
  }
}

/** `if use_fp16: m.half()` in `fn` where the call `site` passes (or defaults) that parameter to False / None / 0. */
function flagOff(fn: PyNode, conversion: PyNode, site: PyNode): boolean {
  for (let n = conversion.parent; n && n !== fn; n = n.parent) {
    if (n.type !== 'block' || n.parent?.type !== 'if_statement' || n.parent.child('consequence') !== n) continue;
    const cond = unparen(n.parent.child('condition') ?? undefined);
    const flag = cond?.type === 'identifier' && hasParameter(fn, cond.text) ? argumentOrDefault(fn, site, cond.text) : undefined;
    if (flag && /^(False|None|0)$/.test(flag.text)) return true;
  }
  return false;
}

/** The return statements of a function, not those of functions nested in it. */
function returnsOf(fn: PyNode): PyNode[] {
  const out: PyNode[] = [];
  fn.child('body')?.walk((n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type === 'return_statement') out.push(n);
    return undefined;
  });
  return out;
}
