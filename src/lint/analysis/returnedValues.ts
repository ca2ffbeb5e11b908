// What a name bound from a call of a function of the file holds: `scheduler = make_scheduler(opt)` or
// `model, opt, scheduler = prepare(args)` -> the expression(s) the function returns (element `index` of a tuple).
import { unparen, type Analysis } from '.';
import { fileFunctionOf } from './calls';
import { returnValues } from './modules';
import type { PyNode } from '../parser';

/**
 * The values a call of a function of the file returns, element `index` of each returned tuple when given. Undefined
 * when the call runs no function of the file, a return is not a tuple of enough elements, or it returns nothing.
 */
export function returnedValues(a: Analysis, call: PyNode, index?: number): PyNode[] | undefined {
  const fn = call.type === 'call' ? fileFunctionOf(call, a) : undefined;
  if (!fn) return undefined;
  const out: PyNode[] = [];
  for (const r of returnValues(fn)) {
    if (index === undefined) {
      out.push(r);
      continue;
    }
    const e = unparen(r);
    const items = e?.type === 'expression_list' || e?.type === 'tuple' ? e.namedChildren.filter((c) => c.type !== 'comment') : [];
    const item = items[index];
    if (!item || items.some((c) => c.type === 'list_splat')) return undefined;
    out.push(item);
  }
  return out.length ? out : undefined;
}

/**
 * For a name bound from a call of a function of the file (whole, or one element of a tuple it returns), the values the
 * function returns for it; undefined otherwise.
 */
export function returnedValuesOfName(a: Analysis, id: PyNode): PyNode[] | undefined {
  const el = a.scopes.elementAt(id.text, id);
  if (el) return returnedValues(a, el.source, el.index);
  const v = unparen(a.scopes.valueAt(id.text, id) ?? undefined);
  return v?.type === 'call' ? returnedValues(a, v) : undefined;
}
