import { callsWithin, calleeName, type Analysis, type ModuleClass } from '../../analysis';
import { evaluation, type EvalLoop } from '../../analysis/evaluation';
import type { PyNode } from '../../parser';
import type { Rule } from '../../types';
import { loopHeader } from './EV003-eval-without-no-grad';

const STATEFUL = /^torch\.nn\.(Dropout\w*|AlphaDropout|FeatureAlphaDropout|BatchNorm[123]d|SyncBatchNorm|LazyBatchNorm[123]d)$/;

type Has = 'yes' | 'no' | 'unknown';

/** Whether a module built by `value` contains Dropout/BatchNorm: known only when every piece is. */
export function hasStatefulLayers(a: Analysis, value: PyNode, seen = new Set<ModuleClass>()): Has {
  let result: Has = 'no';
  for (const call of [value, ...callsWithin(value)]) {
    if (call.type !== 'call') continue;
    const q = a.callee(call);
    const fn = call.child('function');
    if (q && STATEFUL.test(q)) return 'yes';
    if (q?.startsWith('torch.nn.')) continue;
    const cls = fn?.type === 'identifier' ? a.moduleClass(fn.text) : undefined;
    if (cls) {
      const r = classHas(a, cls, seen);
      if (r === 'yes') return 'yes';
      if (r === 'unknown') result = 'unknown';
    } else if (fn?.type === 'attribute' && ['to', 'cuda', 'cpu', 'float', 'double'].includes(fn.child('attribute')?.text ?? '')) {
      continue;
    } else {
      result = 'unknown';
    }
  }
  return result;
}

function classHas(a: Analysis, cls: ModuleClass, seen: Set<ModuleClass>): Has {
  if (seen.has(cls)) return 'no';
  seen.add(cls);
  if (callsWithin(cls.node).some((c) => /dropout/i.test(calleeName(c) ?? ''))) return 'yes';
  let result: Has = 'no';
  for (const v of cls.layers.values()) {
    if (v.type !== 'call') continue;
    const r = hasStatefulLayers(a, v, seen);
    if (r === 'yes') return 'yes';
    if (r === 'unknown') result = 'unknown';
  }
  return result;
}

function modelHas(a: Analysis, forward: PyNode): Has {
  let f = forward.child('function');
  if (f?.type === 'attribute' && f.child('attribute')?.text === 'forward') f = f.child('object');
  if (f?.type === 'identifier') {
    const v = a.scopes.valueAt(f.text, f);
    return v ? hasStatefulLayers(a, v) : 'unknown';
  }
  return 'unknown';
}

/** `x.eval()` / `x.train(False)` calls of the file, found once per lint. */
const modeCalls = new WeakMap<Analysis, PyNode[]>();
function evalCalls(a: Analysis): PyNode[] {
  let list = modeCalls.get(a);
  if (!list) {
    list = a.index.of('call').filter((c) => calleeName(c) === 'eval' || (calleeName(c) === 'train' && /\(\s*(False|mode\s*=\s*False)\s*\)/.test(c.child('arguments')?.text ?? '')));
    modeCalls.set(a, list);
  }
  return list;
}

/** An eval-mode call earlier in the same function (or at module level when `fn` is undefined). */
function evalCallBefore(a: Analysis, fn: PyNode | undefined, at: PyNode): boolean {
  return evalCalls(a).some((c) => c.start < at.start && c.ancestor('function_definition') === fn);
}

function hasEvalMode(a: Analysis, e: EvalLoop): boolean {
  if (evalCallBefore(a, e.fn, e.loop)) return true;
  const name = e.fn?.child('name')?.text;
  if (!name) return false;
  const sites = evaluation(a).callSites(name);
  return sites.length > 0 && sites.every((s) => evalCallBefore(a, s.ancestor('function_definition'), s));
}

export const EV001: Rule = {
  meta: {
    id: 'EV001',
    name: 'eval-without-eval-mode',
    group: 'evaluation',
    defaultSeverity: 'warning',
    summary: 'An evaluation loop runs the model without model.eval().',
    why:
      'In training mode, Dropout randomly zeroes activations and BatchNorm normalises with the statistics of the current batch ' +
      '(and keeps updating its running averages with validation data). Validation numbers become noisy and pessimistic, and ' +
      'the model drifts. `model.eval()` switches both to inference behaviour; `model.train()` switches back. When the model ' +
      'cannot be resolved in this file Descent still warns: most real models (and all torchvision backbones) hold such layers.',
    wrong: 'def evaluate(model, loader):\n    with torch.no_grad():\n        for x, y in loader:\n            out = model(x)',
    right: 'def evaluate(model, loader):\n    model.eval()\n    with torch.no_grad():\n        for x, y in loader:\n            out = model(x)',
    concept: 'Regularisation: Dropout and BatchNorm behave differently in training and inference',
    fixable: false,
  },
  check(ctx) {
    const a = ctx.analysis;
    for (const e of evaluation(a).loops) {
      if (hasEvalMode(a, e)) continue;
      if (e.forwards.every((f) => modelHas(a, f) === 'no')) continue;
      ctx.report({
        ...loopHeader(e.loop),
        message: 'Evaluation loop without model.eval(): Dropout and BatchNorm stay in training mode. Call model.eval() before it (and model.train() before training resumes).',
      });
    }
  },
};
