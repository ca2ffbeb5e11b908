import { keywordArg, positionalArgs, unparen } from '../../analysis';
import { HELD_OUT_DATA } from '../../analysis/order';
import { reachingDefs } from '../../analysis/reaching';
import type { PyNode } from '../../parser';
import { isDataLoaderQname, loaderNamed } from '../../analysis/runtime';
import type { Rule } from '../../types';

/** A split name in a string literal: `'test'`, `"val"`. */
const SPLIT_LITERAL = /^[rbuRBU]*['"](val|valid|validation|test|testing|dev|holdout|eval|train|training)['"]$/;
const HELD_OUT_SPLIT = /^(val|valid|validation|test|testing|dev|holdout|eval)$/;

/** The split a condition selects: `flag == 'test'`, `split in ('val', 'test')`, `'test' == mode`; undefined otherwise. */
function splitTested(cond: PyNode | undefined): { heldOut: boolean } | undefined {
  const c = unparen(cond);
  if (c?.type !== 'comparison_operator') return undefined;
  const ops = c.children.filter((x) => !x.named).map((x) => x.text);
  if (ops.length !== 1 || (ops[0] !== '==' && ops[0] !== 'in')) return undefined;
  const literals: string[] = [];
  for (const side of c.namedChildren) {
    const v = unparen(side);
    const items = v?.type === 'tuple' || v?.type === 'list' || v?.type === 'set' ? v.namedChildren : v ? [v] : [];
    for (const it of items) if (it.type === 'string' && SPLIT_LITERAL.test(it.text)) literals.push(it.text.replace(/^[rbuRBU]*['"]|['"]$/g, '').toLowerCase());
  }
  if (!literals.length) return undefined;
  const held = literals.map((l) => HELD_OUT_SPLIT.test(l));
  return held.every((h) => h) ? { heldOut: true } : held.every((h) => !h) ? { heldOut: false } : undefined;
}

/**
 * `drop_last = True` set in the branch of a split test that selects held-out data (`if flag == 'test':`, or the
 * `else` of `if flag == 'train':`): the loader built from `drop_last=drop_last` in that function drops evaluation
 * samples. The condition, for the message.
 */
function heldOutBranchTrue(id: PyNode): string | undefined {
  for (const def of reachingDefs(id) ?? []) {
    if (unparen(def.value)?.text !== 'True' || def.index !== undefined) continue;
    for (let n: PyNode | null = def.value!; n && n.type !== 'function_definition'; n = n.parent) {
      const p: PyNode | null = n.parent;
      if ((p?.type === 'if_statement' || p?.type === 'elif_clause') && p.child('consequence') === n) {
        if (splitTested(p.child('condition'))?.heldOut) return p.child('condition')!.text;
        break;
      }
      if (p?.type === 'else_clause') {
        const owner = p.parent;
        const tests = owner ? [owner.child('condition'), ...owner.childrenOf('alternative').filter((x) => x.type === 'elif_clause').map((x) => x.child('condition'))] : [];
        // Every earlier branch picks the training split: the else is the held-out one.
        if (tests.length && tests.every((t) => splitTested(t)?.heldOut === false)) return `not (${tests.map((t) => t!.text).join(' or ')})`;
        break;
      }
    }
  }
  return undefined;
}

/**
 * `batch_size=1` (every batch is complete) or `batch_size=None` (no batching): drop_last has nothing to drop. Read from a
 * literal, or a name of the function every assignment of which reaching the call is that literal.
 */
function dropsNothing(call: PyNode): boolean {
  const size = unparen(keywordArg(call, 'batch_size') ?? positionalArgs(call)[1]);
  if (!size) return false;
  if (size.type === 'identifier' && size.ancestor('function_definition')) {
    const defs = reachingDefs(size);
    return !!defs?.length && defs.every((d) => d.index === undefined && /^(1|None)$/.test(unparen(d.value)?.text ?? ''));
  }
  return /^(1|None)$/.test(size.text);
}

export const DT009: Rule = {
  meta: {
    id: 'DT009',
    name: 'held-out-loader-drop-last',
    group: 'data',
    defaultSeverity: 'warning',
    summary: 'A validation or test DataLoader with `drop_last=True` leaves the last samples out of every evaluation.',
    why:
      '`drop_last=True` discards the final incomplete batch. That is sometimes wanted in training (batch norm on a ' +
      'batch of one), but in a validation or test loader it means some samples are never evaluated: the reported ' +
      'metrics are computed on part of the set, and which samples are missing depends on the batch size. Keep ' +
      '`drop_last=False` (the default) for evaluation. Also reported when `drop_last=` receives a name set to True in the ' +
      'branch of a split test that picks held-out data (`if flag == \'test\': drop_last = True`). Not reported with ' +
      '`batch_size=1` or `batch_size=None`: every batch is complete, nothing is dropped.',
    wrong: 'from torch.utils.data import DataLoader\ntest_loader = DataLoader(test_ds, batch_size=256, drop_last=True)',
    right: 'from torch.utils.data import DataLoader\ntest_loader = DataLoader(test_ds, batch_size=256)',
    concept: 'Evaluation: every held-out sample counts once',
    fixable: true,
  },
  nodeTypes: ['call'],
  local: ['imports'],
  visit(call, ctx) {
    if (!isDataLoaderQname(ctx.analysis.callee(call))) return;
    const drop = keywordArg(call, 'drop_last');
    if (drop && dropsNothing(call)) return;
    // Inside a function only: its bindings are in the visited top-level statement (the rule is statement-local).
    if (drop?.type === 'identifier') {
      if (!drop.ancestor('function_definition')) return;
      const cond = heldOutBranchTrue(drop);
      if (cond) ctx.report({ node: drop.parent ?? drop, message: `drop_last is True when ${cond}: that loader is evaluation data and its last samples are left out of every evaluation. Set drop_last=False for held-out splits.` });
      return;
    }
    if (drop?.text !== 'True') return;
    const held = loaderNamed(call, HELD_OUT_DATA);
    if (!held) return;
    ctx.report({
      node: drop.parent ?? drop,
      message: `${held} is evaluation data: drop_last=True leaves its last samples out of every evaluation. Use drop_last=False.`,
      fixes: [{ title: 'Use drop_last=False', edits: [{ start: drop.start, end: drop.end, newText: 'False' }] }],
    });
  },
};
