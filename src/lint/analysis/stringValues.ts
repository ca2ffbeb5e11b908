// The string literal a value holds where it is read: written in place, through names and `self.x = x`, to what
// every call site passes for a parameter, or to the parameter's default when nothing in the file can pass it
// (`def __init__(self, activation="sigmoid")` of an estimator class built elsewhere).
import type { PyNode } from '../parser';
import { unparen, type Analysis } from './index';
import { signatureDefault, unpassed } from './parameterDefaults';
import { parameterArguments } from './parameters';
import { stringValue } from './runtime';
import { valueBefore } from './values';

export interface HeldString {
  value: string;
  /** The literal itself (a fix may rewrite it). */
  node: PyNode;
}

export function heldString(a: Analysis, expr: PyNode | undefined, depth = 0): HeldString | undefined {
  const e = unparen(expr);
  if (!e || depth > 6) return undefined;
  const s = stringValue(e);
  if (s !== undefined) return { value: s, node: e };
  if (e.type === 'attribute' && e.child('object')?.text === 'self') {
    const cls = e.ancestor('class_definition');
    const values = cls ? a.scopes.selfAttr(cls, e.child('attribute')?.text ?? '') : [];
    return values.length === 1 ? heldString(a, values[0], depth + 1) : undefined;
  }
  if (e.type !== 'identifier') return undefined;
  const v = valueBefore(a, e);
  if (v) return heldString(a, v, depth + 1);
  if (v === undefined) return undefined;
  const args = parameterArguments(a, e);
  if (args) {
    const found = args.map((x) => heldString(a, x, depth + 1));
    const first = found[0];
    return first && found.every((f) => f?.value === first.value) ? first : undefined;
  }
  const fallback = signatureDefault(e);
  const held = fallback && heldString(a, fallback, depth + 1);
  return held && unpassed(a, e) ? held : undefined;
}
