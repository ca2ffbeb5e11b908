// Evaluation contexts: loops over a validation/test loader, or loops in a function named evaluate/validate/test,
// that run the model forward and never update it. Used by EV001 (eval mode) and EV003 (no_grad).
import type { PyNode } from '../parser';
import { callsWithin, decoratorsOf, enclosingFunction, type Analysis, type ModuleClass } from './index';
import { isBackward, isOptimizerStep } from './training';

const EVAL_DATA = /^(val|valid|validation|test|testing|eval|evaluation|dev|holdout)(_?(loader|dataloader|dl|iter|iterator|data|dataset|set|batches|ds|gen|generator|loaders))?$/i;
const EVAL_FUNCTION = /^(evaluate|evaluation|eval|validate|validation|valid|val|test|predict|inference|infer)(_(one_)?(epoch|model|loop|net|network|step|batch|all|fn|on_\w+))?$|^(evaluate|validate|run_validation|run_eval|run_test)\w*$/i;
const MODEL_NAME = /model|net|encoder|decoder|classifier|clf|backbone/i;
const NO_GRAD = new Set(['torch.no_grad', 'torch.inference_mode', 'torch.autograd.no_grad', 'torch.autograd.grad_mode.no_grad', 'torch.autograd.grad_mode.inference_mode']);

export interface EvalLoop {
  loop: PyNode;
  /** Calls that run a model forward. */
  forwards: PyNode[];
  fn: PyNode | undefined;
}

export class Evaluation {
  private cached?: EvalLoop[];
  private readonly callersNoGrad = new Map<PyNode, boolean>();
  constructor(private readonly a: Analysis) {}

  get loops(): EvalLoop[] {
    this.cached ??= this.compute();
    return this.cached;
  }

  private compute(): EvalLoop[] {
    const out: EvalLoop[] = [];
    for (const loop of this.a.index.of('for_statement')) {
      const fn = enclosingFunction(loop);
      const fnName = fn?.child('name')?.text ?? '';
      if (!iteratesEvalData(loop) && !EVAL_FUNCTION.test(fnName)) continue;
      // An outer evaluation loop already covers this one.
      if (out.some((o) => o.loop.start < loop.start && o.loop.end >= loop.end)) continue;
      const body = loop.child('body');
      if (!body) continue;
      const calls = callsWithin(body);
      if (calls.some((c) => isBackward(c) || isOptimizerStep(c, this.a))) continue;
      const forwards = calls.filter((c) => this.isForward(c));
      if (forwards.length) out.push({ loop, forwards, fn });
    }
    return out;
  }

  /** `model(x)`, `self.model(x)`, `net.forward(x)`, `self(x)` with a module-like callee. */
  isForward(call: PyNode): boolean {
    let f = call.child('function');
    if (f?.type === 'attribute' && f.child('attribute')?.text === 'forward') f = f.child('object');
    if (!f) return false;
    if (f.type === 'identifier' && f.text === 'self') return true;
    const name = f.type === 'identifier' ? f.text : f.type === 'attribute' && f.child('object')?.text === 'self' ? (f.child('attribute')?.text ?? '') : '';
    if (!name) return false;
    if (f.type === 'identifier') {
      const v = this.a.scopes.valueAt(name, f);
      if (v && this.modelClassOf(v)) return true;
      if (this.a.functions.has(name) || this.a.moduleClass(name)) return false;
    }
    return MODEL_NAME.test(name);
  }

  /** The module class a value builds (`Net()`, `Net().to(dev)`), if it is one of this file's. */
  modelClassOf(value: PyNode): ModuleClass | undefined {
    let v: PyNode | undefined = value;
    while (v?.type === 'call') {
      const fn = v.child('function');
      if (fn?.type === 'identifier') return this.a.moduleClass(fn.text);
      v = fn?.type === 'attribute' ? fn.child('object') : undefined;
    }
    return undefined;
  }

  /** Under `with torch.no_grad()` / `inference_mode()`, a decorated function, or `set_grad_enabled(False)` before. */
  isNoGrad(node: PyNode): boolean {
    for (let p = node.parent; p; p = p.parent) {
      if (p.type === 'with_statement' && this.withDisablesGrad(p)) return true;
      if (p.type === 'function_definition') {
        if (decoratorsOf(p).some((d) => this.disablesGrad(d.namedChildren[0]))) return true;
        if (this.setGradFalseBefore(p, node)) return true;
      }
    }
    return false;
  }

  /** Every call site of `fn` in this file is under no_grad (and there is at least one). */
  allCallersNoGrad(fn: PyNode | undefined): boolean {
    if (!fn) return false;
    let r = this.callersNoGrad.get(fn);
    if (r === undefined) {
      const name = fn.child('name')?.text;
      const sites = name ? this.callSites(name) : [];
      this.callersNoGrad.set(fn, (r = sites.length > 0 && sites.every((s) => this.isNoGrad(s))));
    }
    return r;
  }

  callSites(name: string): PyNode[] {
    return this.a.callsNamed(name).filter((c) => {
      const f = c.child('function');
      return (f?.type === 'identifier' && f.text === name) || (f?.type === 'attribute' && f.child('object')?.text === 'self' && f.child('attribute')?.text === name);
    });
  }

  private withDisablesGrad(w: PyNode): boolean {
    const clause = w.children.find((c) => c.type === 'with_clause');
    return clause?.namedChildren.some((item) => this.disablesGrad(item.namedChildren[0])) ?? false;
  }

  private disablesGrad(expr: PyNode | undefined): boolean {
    if (!expr) return false;
    if (expr.type === 'as_pattern') return this.disablesGrad(expr.namedChildren[0]);
    const target = expr.type === 'call' ? expr.child('function') : expr;
    const q = this.a.qname(target) ?? '';
    if (NO_GRAD.has(q)) return true;
    if (q === 'torch.set_grad_enabled' && expr.type === 'call') return /^\s*\(\s*False\s*\)$/.test(expr.child('arguments')?.text ?? '');
    return false;
  }

  private setGradFalseBefore(fn: PyNode, node: PyNode): boolean {
    return callsWithin(fn.child('body') ?? fn).some(
      (c) => c.start < node.start && this.a.callee(c) === 'torch.set_grad_enabled' && /^\(\s*False\s*\)$/.test(c.child('arguments')?.text ?? ''),
    );
  }
}

function iteratesEvalData(loop: PyNode): boolean {
  const right = loop.child('right');
  let hit = false;
  right?.walk((n) => {
    if (hit) return false;
    if (n.type === 'identifier' && EVAL_DATA.test(n.text)) hit = true;
    if (n.type === 'string' && EVAL_DATA.test(n.text.replace(/^[rbuf]*['"]+|['"]+$/gi, ''))) hit = true;
    if (n.type === 'keyword_argument') return false; // desc="val" in tqdm
  });
  return hit;
}

const cache = new WeakMap<Analysis, Evaluation>();
export function evaluation(a: Analysis): Evaluation {
  let e = cache.get(a);
  if (!e) cache.set(a, (e = new Evaluation(a)));
  return e;
}
