import { calleeName, keywordArg, positionalArgs, receiver } from '../../analysis';
import { assignedTarget, lastArgument, optimizedModel, sameScope } from '../../analysis/runtime';
import type { PyNode } from '../../parser';
import type { RawFix, Rule, RuleContext } from '../../types';

/** Adam-family optimizers: default eps=1e-8, added to sqrt(v) in the update. */
const ADAM = /^torch\.optim\.(Adam|AdamW|Adamax|NAdam|RAdam)$/;
/** Smallest positive float16 (subnormal): anything below rounds to zero. */
const FP16_MIN = 5.96e-8;
const HALF = /^(torch\.)?(float16|half)$/;

/** `x.half()`, `x.to(torch.float16)`, `x.to(dtype=torch.half)`, `x.to(device, torch.float16)`: the converted expression(s). */
function halfTargets(call: PyNode, ctx: RuleContext): PyNode[] {
  const name = calleeName(call);
  const recv = receiver(call);
  if (!recv) return [];
  let isHalf = name === 'half' && positionalArgs(call).length === 0;
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
      'so on parameters converted with `model.half()` (or under `torch.set_default_dtype(torch.float16)`) eps rounds to ' +
      'zero: wherever the second moment is tiny or underflows the update divides by zero and the weights become inf/NaN, ' +
      'often after a few hundred steps. Either keep float32 master weights with automatic mixed precision ' +
      '(`torch.autocast` + `GradScaler`, the usual way to train in half precision) or raise eps to a value float16 can hold, ' +
      'e.g. `eps=1e-4`.',
    wrong: 'model = nn.Linear(10, 2).half()\noptimizer = optim.Adam(model.parameters(), lr=1e-3)',
    right: 'model = nn.Linear(10, 2).half()\noptimizer = optim.Adam(model.parameters(), lr=1e-3, eps=1e-4)',
    concept: 'Numerics: float16 range and optimizer epsilon',
    fixable: true,
  },
  check(ctx) {
    const a = ctx.analysis;
    const calls = ctx.nodesOfType('call');
    const globalHalf = calls.some((c) => a.callee(c) === 'torch.set_default_dtype' && HALF.test(positionalArgs(c)[0]?.text ?? ''));
    // Only `.half()` / `.to(...)` method calls convert (looked up by name, not by reading every call).
    const conversions = [...a.callsNamed('half'), ...a.callsNamed('to')].flatMap((c) => halfTargets(c, ctx).map((t) => ({ call: c, target: t.text })));
    if (!globalHalf && conversions.length === 0) return;
    const loops = [...ctx.nodesOfType('for_statement'), ...ctx.nodesOfType('while_statement')];
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
      const model = optimizedModel(opt);
      const converted =
        globalHalf ||
        (model !== undefined &&
          conversions.some(
            (c) =>
              c.target === model.text &&
              sameScope(c.call, opt) &&
              // a conversion after training (for export) does not count
              !loops.some((l) => sameScope(l, opt) && l.start > Math.min(opt.end, c.call.end) && l.start < Math.max(opt.start, c.call.start)),
          ));
      if (!converted) continue;
      const name = q.split('.').pop()!;
      ctx.report({
        node: opt,
        message: `${name} on float16 parameters with eps=${e ? e.text : '1e-8 (default)'}: eps is zero in float16 and updates can become inf/NaN. Use eps=1e-4 or train with AMP (float32 weights).`,
        fixes,
      });
    }
  },
};
