// Where the batch is in a tensor made by `torch.stack(parts, dim)`: the parts' batch axis (`w.view(bs, c, 1, 1)`, as
// ranks.ts `namedBatchAxis` reads it), shifted by the new axis the stack inserts. The parts are a list literal, a
// comprehension, or a list built by `append` (listBuilds.ts); every part must name the batch at the same axis.
import type { PyNode } from '../parser';
import { keywordArg, positionalArgs, unparen, type Analysis } from './index';
import { listItems } from './listBuilds';
import { signedInt } from './numbers';
import { namedBatchAxis } from './ranks';
import { valueBefore } from './values';

export interface NamedBatch {
  axis: number;
  rank: number;
  size: string;
}

/** The batch axis of a tensor stacked from parts that name it (through names bound to the stack). */
export function stackedBatchAxis(a: Analysis, expr: PyNode | undefined, depth = 0): NamedBatch | undefined {
  const e = unparen(expr);
  if (!e || depth > 4) return undefined;
  if (e.type === 'identifier') {
    const v = valueBefore(a, e);
    return v ? stackedBatchAxis(a, v, depth + 1) : undefined;
  }
  if (e.type !== 'call' || a.callee(e) !== 'torch.stack') return undefined;
  const args = positionalArgs(e);
  const dimArg = keywordArg(e, 'dim') ?? args[1];
  const dim = dimArg ? signedInt(dimArg) : 0;
  const parts = partsOf(a, args[0] ?? keywordArg(e, 'tensors'));
  if (dim === undefined || !parts?.length) return undefined;
  const named = parts.map((p) => namedBatchAxis(a, p));
  const first = named[0];
  if (!first || named.some((n) => n?.axis !== first.axis || n.rank !== first.rank)) return undefined;
  const rank = first.rank + 1;
  const inserted = dim < 0 ? dim + rank : dim;
  if (inserted < 0 || inserted >= rank) return undefined;
  return { axis: first.axis >= inserted ? first.axis + 1 : first.axis, rank, size: first.size };
}

/** The tensors a stack takes: a list or tuple literal, a comprehension's element, or a list built up by name. */
function partsOf(a: Analysis, list: PyNode | undefined): PyNode[] | undefined {
  const l = unparen(list);
  if (l?.type === 'list' || l?.type === 'tuple') return l.namedChildren.filter((c) => c.type !== 'comment');
  if (l?.type === 'list_comprehension' || l?.type === 'generator_expression') {
    const body = l.child('body');
    return body ? [body] : undefined;
  }
  if (l?.type !== 'identifier') return undefined;
  return listItems(a, l)?.map((i) => i.item);
}
