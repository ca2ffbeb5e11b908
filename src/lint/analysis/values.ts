// `valueAt` for a name read on the right-hand side of its own re-assignment (`x = layer(x)`,
// `model = model.to(device)`): the value is the binding *before* that statement, not the statement itself.
import type { PyNode } from '../parser';
import type { Analysis } from './index';
import type { Element } from './scopes';

export function valueBefore(a: Analysis, id: PyNode): PyNode | null | undefined {
  return a.scopes.valueAt(id.text, anchorOf(id));
}

/** The same for a name bound by tuple unpacking: `enc, dec = nn.Linear(4, 2), Decoder()`. */
export function elementBefore(a: Analysis, id: PyNode): Element | undefined {
  return a.scopes.elementAt(id.text, anchorOf(id));
}

/** Where a read's binding is looked up: before the assignment whose right-hand side holds it. */
export function anchorOf(id: PyNode): PyNode {
  for (let p = id.parent; p; p = p.parent) {
    if (p.type === 'assignment' || p.type === 'augmented_assignment') {
      const right = p.child('right');
      return right && right.start <= id.start && id.end <= right.end ? p : id;
    }
    if (p.type === 'expression_statement' || p.type === 'block' || p.type === 'function_definition') break;
  }
  return id;
}
