import { hasKeywordSplat, keywordArg, positionalArgs, unparen, type Analysis } from '../../analysis';
import { losses, where } from '../../analysis/losses';
import type { OutputFlow } from '../../analysis/outputs';
import type { PyNode } from '../../parser';
import type { RawFix, Rule } from '../../types';

// `F.kl_div(input, target)` / `nn.KLDivLoss()(input, target)` compute sum(target * (log(target) - input)): `input`
// must be log-probabilities, `target` probabilities (log-probabilities with log_target=True). Reports inputs the
// output flow proves are probabilities or raw logits, log-probability targets without log_target=True (and the
// reverse), and, at info level, the 'mean' reduction on a real distribution KL (PyTorch's own runtime warning).

const KL_FUNCTIONS = new Set(['torch.nn.functional.kl_div', 'torch.kl_div']);
const KL_CLASS = 'torch.nn.KLDivLoss';
/** Module methods that return the loss module itself: `nn.KLDivLoss().to(device)`. */
const CHAIN = new Set(['to', 'cuda', 'cpu']);

interface KlCall {
  call: PyNode;
  input: PyNode;
  target?: PyNode;
  /** Where reduction / log_target are set: the kl_div call itself, or the KLDivLoss(...) construction (none for torch.kl_div). */
  config?: PyNode;
  functional: boolean;
}

/** What a callee stands for: F.kl_div (config: the call) or a KLDivLoss instance (config: its construction). */
function klCallee(a: Analysis, callee: PyNode | undefined, depth: number): { construct?: PyNode; functional: boolean; torchKl?: boolean } | undefined {
  const c = unparen(callee);
  if (!c || depth > 6) return undefined;
  const q = a.qname(c);
  if (q && KL_FUNCTIONS.has(q)) return { functional: true, torchKl: q === 'torch.kl_div' };
  if (c.type === 'call') {
    if (a.callee(c) === KL_CLASS) return { construct: c, functional: false };
    const fn = c.child('function');
    if (fn?.type === 'attribute' && CHAIN.has(fn.child('attribute')?.text ?? '')) return klCallee(a, fn.child('object'), depth + 1);
    return undefined;
  }
  if (c.type === 'identifier') {
    const v = a.scopes.valueAt(c.text, c);
    return v ? klCallee(a, v, depth + 1) : undefined;
  }
  if (c.type === 'attribute' && c.child('object')?.text === 'self') {
    const cls = c.ancestor('class_definition');
    const attr = c.child('attribute')?.text;
    const values = cls && attr ? a.scopes.selfAttr(cls, attr) : [];
    // One assignment only: two (an if/else, a re-assignment) may build different losses.
    return values.length === 1 ? klCallee(a, values[0], depth + 1) : undefined;
  }
  return undefined;
}

/** The names a KLDivLoss construction is called by: `crit = nn.KLDivLoss()` -> 'crit', `self.kl = ...` -> 'kl'. */
function boundName(construct: PyNode): string | undefined {
  let n = construct;
  // `nn.KLDivLoss().to(device)`
  while (n.parent?.type === 'attribute' && n.parent.parent?.type === 'call' && CHAIN.has(n.parent.child('attribute')?.text ?? '')) n = n.parent.parent;
  const asg = n.parent;
  if (asg?.type !== 'assignment' || asg.child('right') !== n) return undefined;
  const left = asg.child('left');
  if (left?.type === 'identifier') return left.text;
  if (left?.type === 'attribute' && left.child('object')?.text === 'self') return left.child('attribute')?.text;
  return undefined;
}

function klCalls(a: Analysis): KlCall[] {
  const candidates = new Set<PyNode>(a.callsNamed('kl_div'));
  for (const construct of a.callsNamed('KLDivLoss')) {
    if (a.callee(construct) !== KL_CLASS) continue;
    // `nn.KLDivLoss()(x, y)`
    if (construct.parent?.type === 'call' && construct.parent.child('function') === construct) candidates.add(construct.parent);
    const name = boundName(construct);
    if (name) for (const c of a.callsNamed(name)) candidates.add(c);
  }
  const out: KlCall[] = [];
  for (const call of candidates) {
    const fn = call.child('function');
    const kl = klCallee(a, fn, 0);
    if (!kl) continue;
    const input = positionalArgs(call)[0] ?? keywordArg(call, 'input');
    if (!input) continue;
    const target = positionalArgs(call)[1] ?? keywordArg(call, 'target');
    // torch.kl_div takes its reduction as an enum int: only its input is checked.
    const config = kl.torchKl ? undefined : kl.functional ? call : kl.construct;
    out.push({ call, input, target, config, functional: kl.functional });
  }
  return out.sort((x, y) => x.call.start - y.call.start);
}

/** Reduction / log_target keywords are readable: no positional legacy arguments, no **kwargs, no size_average/reduce. */
function plainConfig(c: PyNode, functional: boolean): boolean {
  if (hasKeywordSplat(c)) return false;
  if (positionalArgs(c).length > (functional ? 2 : 0)) return false;
  return !keywordArg(c, 'size_average') && !keywordArg(c, 'reduce');
}

/** true / false for a literal `log_target=` (absent: false), undefined when not a literal. */
function logTarget(config: PyNode): boolean | undefined {
  const v = unparen(keywordArg(config, 'log_target'));
  if (!v) return false;
  return v.text === 'True' ? true : v.text === 'False' ? false : undefined;
}

const isNonZeroInt = (n: PyNode | undefined): boolean => {
  const d = unparen(n);
  return !!d && (d.type === 'integer' || d.type === 'unary_operator') && /^-?\s*\d+$/.test(d.text) && Number(d.text.replace(/\s/g, '')) !== 0;
};

/**
 * Whether the (log_)softmax at `site` normalises over an explicit non-batch dimension (`dim=1`, `dim=-1`): then the
 * input is a distribution per row and 'batchmean' is the KL. `torch.log(F.softmax(x, 1))` is followed to the softmax.
 */
function overClasses(a: Analysis, flow: OutputFlow, site: PyNode | undefined, depth = 0): boolean {
  if (!site || site.type !== 'call' || depth > 2) return false;
  const fn = site.child('function');
  const q = a.qname(fn);
  const args = positionalArgs(site);
  if (q === 'torch.log') {
    const inner = flow.of(args[0]);
    return inner.kind === 'softmax' && overClasses(a, flow, inner.site, depth + 1);
  }
  const dim = keywordArg(site, 'dim');
  if (q === 'torch.nn.LogSoftmax' || q === 'torch.nn.Softmax') return isNonZeroInt(dim ?? args[0]);
  if (q && /^torch\.(nn\.functional\.|special\.)?(log_)?softmax$/.test(q)) return isNonZeroInt(dim ?? args[1]);
  const method = fn?.type === 'attribute' ? fn.child('attribute')?.text : undefined;
  if (!q && (method === 'log_softmax' || method === 'softmax')) return isNonZeroInt(dim ?? args[0]);
  return false;
}

/** `F.softmax(x, dim=1)` / `x.softmax(1)` / `torch.softmax(...)` given directly as the input: softmax -> log_softmax. */
function toLogSoftmax(input: PyNode, site: PyNode | undefined): RawFix | undefined {
  if (!site || site !== unparen(input) || site.type !== 'call') return undefined;
  const fn = site.child('function');
  // A bare `softmax(...)` (from-imported) would need log_softmax imported too; `self.softmax(x)` calls a layer.
  if (fn?.type === 'attribute' && fn.child('object')?.text === 'self') return undefined;
  const name = fn?.type === 'attribute' ? fn.child('attribute') : undefined;
  if (name?.text !== 'softmax') return undefined;
  return { title: 'Use log_softmax', edits: [{ start: name.start, end: name.end, newText: 'log_softmax' }] };
}

/** Adds `keyword=value` to a call's arguments. */
function addKeyword(call: PyNode, keyword: string, value: string): RawFix['edits'][number] | undefined {
  const args = call.child('arguments');
  if (args?.type !== 'argument_list') return undefined;
  const last = args.namedChildren.filter((c) => c.type !== 'comment').pop();
  return last ? { start: last.end, end: last.end, newText: `, ${keyword}=${value}` } : { start: args.start + 1, end: args.start + 1, newText: `${keyword}=${value}` };
}

export const LS012: Rule = {
  meta: {
    id: 'LS012',
    name: 'kl-div-input-not-log-probabilities',
    group: 'loss',
    defaultSeverity: 'error',
    summary: 'kl_div / KLDivLoss receives probabilities or raw logits as input instead of log-probabilities.',
    why:
      '`F.kl_div(input, target)` and `nn.KLDivLoss` compute `sum(target * (log(target) - input))`: `input` must be ' +
      '**log**-probabilities (`F.log_softmax`) and `target` probabilities (or log-probabilities with `log_target=True`). ' +
      'The classic knowledge-distillation slip passes `F.softmax(student_logits / T, dim=1)`: the loss is then meaningless ' +
      '(often negative) and distillation silently does nothing useful. Also use `reduction=\'batchmean\'`: the default ' +
      '`\'mean\'` divides by batch × classes, so the KL term is num_classes times too small.',
    wrong:
      'T = 4.0\nsoft_student = F.softmax(student_logits / T, dim=1)\nsoft_teacher = F.softmax(teacher_logits / T, dim=1)\nkd = F.kl_div(soft_student, soft_teacher) * T * T',
    right:
      'T = 4.0\nlog_student = F.log_softmax(student_logits / T, dim=1)\nsoft_teacher = F.softmax(teacher_logits / T, dim=1)\nkd = F.kl_div(log_student, soft_teacher, reduction="batchmean") * T * T',
    concept: 'Loss functions: KL divergence and knowledge distillation (log-probabilities vs probabilities)',
    fixable: true,
  },
  check(ctx) {
    const a = ctx.analysis;
    // Most files never mention KL divergence: no output flow, no scope lookups.
    if (a.callsNamed('kl_div').length === 0 && a.callsNamed('KLDivLoss').length === 0) return;
    const flow = losses(a).flow;
    const reported = new Set<PyNode>();
    for (const k of klCalls(a)) {
      const out = flow.of(k.input);
      const loss = k.functional || !k.config ? 'kl_div' : 'KLDivLoss';
      const at = where(out.site, k.input);
      if (out.kind === 'softmax') {
        const fix = toLogSoftmax(k.input, out.site);
        ctx.report({
          node: k.input,
          message: `${loss} receives softmax probabilities${at} as input; it expects log-probabilities, so the loss is meaningless. Use log_softmax.`,
          fixes: fix ? [fix] : undefined,
        });
        continue;
      }
      if (out.kind === 'sigmoid') {
        ctx.report({ node: k.input, message: `${loss} receives sigmoid probabilities${at} as input; it expects log-probabilities. Pass their log (F.logsigmoid, or F.log_softmax over classes).` });
        continue;
      }
      if (out.kind === 'logits') {
        ctx.report({ node: k.input, message: `${loss} receives raw logits${at} as input; it expects log-probabilities. Apply F.log_softmax(..., dim=1) first.` });
        continue;
      }
      const config = k.config;
      if (out.kind !== 'log_softmax' || !config || !plainConfig(config, k.functional)) continue;
      // The input is a log-distribution: check the target against log_target, then the reduction.
      const logT = logTarget(config);
      const t = k.target ? flow.of(k.target) : undefined;
      if (logT === false && t?.kind === 'log_softmax') {
        const edit = reported.has(config) ? undefined : addKeyword(config, 'log_target', 'True');
        ctx.report({
          node: k.target!,
          message: `${loss}'s target holds log-probabilities${where(t.site, k.target!)} but log_target is False, so they are read as probabilities. Pass log_target=True (or a softmax target).`,
          fixes: edit ? [{ title: 'Add log_target=True', edits: [edit] }] : undefined,
        });
        continue;
      }
      if (logT === true && t?.kind === 'softmax') {
        ctx.report({
          node: k.target!,
          message: `${loss}'s target holds softmax probabilities${where(t.site, k.target!)} but log_target=True reads them as log-probabilities. Drop log_target=True or pass log_softmax.`,
        });
        continue;
      }
      if (reported.has(config) || !overClasses(a, flow, out.site)) continue;
      const red = unparen(keywordArg(config, 'reduction'));
      if (red && !(red.type === 'string' && /^(['"])mean\1$/.test(red.text))) continue;
      reported.add(config);
      const q = red ? red.text[0] : "'";
      const edit = red ? { start: red.start, end: red.end, newText: `${q}batchmean${q}` } : addKeyword(config, 'reduction', "'batchmean'");
      ctx.report({
        node: red ?? config,
        severity: 'info',
        message: `${loss} uses reduction='mean'${red ? '' : ' (the default)'}, which averages over batch × classes: the KL is num_classes times too small. Use reduction='batchmean'.`,
        fixes: edit ? [{ title: "Use reduction='batchmean'", edits: [edit] }] : undefined,
      });
    }
  },
};
