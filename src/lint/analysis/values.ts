// `valueAt` for a name read on the right-hand side of its own re-assignment (`x = layer(x)`,
// `model = model.to(device)`): the value is the binding *before* that statement, not the statement itself.
import type { PyNode } from '../parser';
import type { Analysis } from './index';

export function valueBefore(a: Analysis, id: PyNode): PyNode | null | undefined {
  let anchor: PyNode = id;
  for (let p = id.parent; p; p = p.parent) {
    if (p.type === 'assignment' || p.type === 'augmented_assignment') {
      const right = p.child('right');
      if (right && right.start <= id.start && id.end <= right.end) anchor = p;
      break;
    }
    if (p.type === 'expression_statement' || p.type === 'block' || p.type === 'function_definition') break;
  }
  return a.scopes.valueAt(id.text, anchor);
}
