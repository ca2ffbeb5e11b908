import { keywordArg } from '../../analysis';
import type { PyNode } from '../../parser';
import type { RawEdit, Rule } from '../../types';

const LOSS = /^torch\.nn\.(\w+Loss|functional\.(\w+_loss|cross_entropy|binary_cross_entropy(_with_logits)?|kl_div|nll_loss|mse_loss|l1_loss|smooth_l1_loss|margin_ranking_loss|hinge_embedding_loss|multilabel_margin_loss|soft_margin_loss|multilabel_soft_margin_loss|cosine_embedding_loss|multi_margin_loss|poisson_nll_loss|triplet_margin_loss))$/;

/** The `reduction=` equivalent of literal size_average / reduce values (PyTorch's legacy mapping). */
function reduction(sizeAverage: PyNode | undefined, reduce: PyNode | undefined): string | undefined {
  const lit = (n: PyNode | undefined) => (n === undefined ? true : n.text === 'True' ? true : n.text === 'False' ? false : undefined);
  const sa = lit(sizeAverage);
  const r = lit(reduce);
  if (sa === undefined || r === undefined) return undefined;
  if (!r) return 'none';
  return sa ? 'mean' : 'sum';
}

/** Deletes a keyword argument with the comma that separates it from its neighbour. */
function removeArg(kw: PyNode): RawEdit {
  const items = (kw.parent?.namedChildren ?? []).filter((c) => c.type !== 'comment');
  const i = items.indexOf(kw);
  if (i > 0) return { start: items[i - 1]!.end, end: kw.end, newText: '' };
  const next = items[i + 1];
  return { start: kw.start, end: next ? next.start : kw.end, newText: '' };
}

export const API002: Rule = {
  meta: {
    id: 'API002',
    name: 'legacy-loss-reduction-args',
    group: 'deprecated-api',
    defaultSeverity: 'info',
    summary: 'A loss uses the deprecated `size_average` / `reduce` arguments instead of `reduction=`.',
    why:
      '`size_average` and `reduce` were replaced by a single `reduction` argument (`"mean"`, `"sum"` or `"none"`) in ' +
      'PyTorch 0.4.1. They still work but emit warnings, interact in confusing ways (`reduce=False` overrides ' +
      '`size_average`) and are scheduled for removal. `size_average=False` is `reduction="sum"`, `reduce=False` is ' +
      '`reduction="none"`.',
    wrong: 'criterion = nn.MSELoss(size_average=False)',
    right: 'criterion = nn.MSELoss(reduction="sum")',
    concept: 'Loss reduction: mean vs sum over the batch',
    fixable: true,
  },
  nodeTypes: ['call'],
  local: ['imports'],
  visit(call, ctx) {
    const q = ctx.analysis.callee(call) ?? '';
    if (!LOSS.test(q)) return;
    const sa = keywordArg(call, 'size_average');
    const r = keywordArg(call, 'reduce');
    if (!sa && !r) return;
    if (keywordArg(call, 'reduction')) return;
    const red = reduction(sa, r);
    const first = (sa ?? r)!.parent!;
    const fixes =
      red === undefined
        ? undefined
        : [
            {
              title: `Use reduction="${red}"`,
              edits: [{ start: first.start, end: first.end, newText: `reduction="${red}"` }, ...(sa && r ? [removeArg(r.parent!)] : [])],
            },
          ];
    ctx.report({
      node: first,
      message: `\`size_average\` / \`reduce\` are deprecated; use ${red ? `\`reduction="${red}"\`` : '`reduction=` ("mean", "sum" or "none")'}.`,
      fixes,
    });
  },
};
