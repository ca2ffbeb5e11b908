// Loss calls and what flows into them: `criterion(out, y)` with `criterion = nn.CrossEntropyLoss()`,
// `F.cross_entropy(out, y)`, `nn.NLLLoss()(out, y)`, `self.loss_fn(out, y)`, `loss_fn = F.nll_loss`.
import type { PyNode } from '../parser';
import { keywordArg, positionalArgs, unparen, type Analysis } from './index';
import { OutputFlow } from './outputs';
import { parameterArguments } from './parameters';

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
}

export class Losses {
  readonly flow: OutputFlow;
  private cached?: LossCall[];
  private readonly resolving = new Set<readonly PyNode[]>();
  private readonly byArguments = new Map<readonly PyNode[], LossKind | undefined>();

  constructor(private readonly a: Analysis) {
    this.flow = new OutputFlow(a);
  }

  get calls(): LossCall[] {
    if (!this.cached) {
      this.cached = [];
      for (const call of this.a.index.of('call')) {
        const kind = this.kindOf(call.child('function'), 0);
        if (!kind) continue; // most calls are not losses: skip reading their arguments
        const input = positionalArgs(call)[0] ?? keywordArg(call, 'input');
        if (input) this.cached.push({ call, kind, input });
      }
    }
    return this.cached;
  }

  /** The loss a callee stands for: a loss function, a loss module instance, or a name bound to either. */
  private kindOf(callee: PyNode | undefined, depth: number): LossKind | undefined {
    const c = unparen(callee);
    if (!c || depth > 8) return undefined;
    const q = this.a.qname(c);
    if (q && LOSS_FUNCTIONS[q]) return LOSS_FUNCTIONS[q];
    if (c.type === 'call') {
      const cq = this.a.callee(c);
      return cq ? LOSS_CLASSES[cq] : undefined;
    }
    if (c.type === 'identifier') {
      const v = this.a.scopes.valueAt(c.text, c);
      // null: a parameter, or a name bound by `def` / `class` (which are not worth the call-site lookup).
      if (v === null) return this.a.functions.has(c.text) ? undefined : this.parameterKind(c, depth);
      return v ? this.kindOf(v, depth + 1) : undefined;
    }
    if (c.type === 'attribute' && c.child('object')?.text === 'self') {
      const cls = c.ancestor('class_definition');
      const attr = c.child('attribute')?.text;
      if (!cls || !attr) return undefined;
      const kinds = this.a.scopes.selfAttr(cls, attr).map((v) => this.kindOf(v, depth + 1));
      return kinds.length && kinds.every((k) => k === kinds[0]) ? kinds[0] : undefined;
    }
    return undefined;
  }

  /** `def train(model, loader, criterion)`: the loss every call site passes for the parameter. */
  private parameterKind(id: PyNode, depth: number): LossKind | undefined {
    const args = parameterArguments(this.a, id);
    if (!args || this.resolving.has(args)) return undefined;
    // The same parameter is often called many times (`model(x)` in a train function): resolve it once.
    if (this.byArguments.has(args)) return this.byArguments.get(args);
    this.resolving.add(args); // a recursive function passes its own parameter on
    const kinds = args.map((arg) => this.kindOf(arg, depth + 1));
    this.resolving.delete(args);
    const kind = kinds.every((k) => k === kinds[0]) ? kinds[0] : undefined;
    this.byArguments.set(args, kind);
    return kind;
  }
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
