// A model's own methods: `class Seq2Seq(nn.Module): def predict_step(self, batch): ... self.decoder(y, state)`, also
// a function bound to a model class by d2l's `@d2l.add_to_class(EncoderDecoder)`. Such a method runs in whatever mode
// its caller set: switching it there is the caller's job.
import type { PyNode } from '../parser';
import { decoratorsOf, methodClass, positionalArgs, type Analysis } from './index';
import { methodsOf } from './modules';

/**
 * Class names that read as a model, for classes the file does not define (`d2l.EncoderDecoder`, `nn.Module`): by the
 * last word, so that a `ModelTrainer` or a `DataModule` is not one.
 */
const MODEL_CLASS_NAME = /(Module|Model|Net|Network|Encoder|Decoder|Classifier|Regressor|Regression|Backbone|Transformer)$/;
const NOT_MODEL_CLASS_NAME = /DataModule$/;

/** The last part of a dotted name: `d2l.EncoderDecoder` -> `EncoderDecoder`. */
function lastName(expr: PyNode): string {
  return expr.text.split('.').pop()?.trim() ?? '';
}

/** The file's classes of that name. */
function classesNamed(a: Analysis, name: string): PyNode[] {
  return a.definesClass(name) ? a.index.of('class_definition').filter((c) => c.child('name')?.text === name) : [];
}

/**
 * A class that is a model: a module class of the file, one with a `forward`, or one whose bases are (followed through
 * the file's classes; an outside base by its name: `d2l.Classifier`, `d2l.Module`).
 */
export function modelLikeClass(a: Analysis, cls: PyNode, seen = new Set<PyNode>()): boolean {
  if (seen.has(cls)) return false;
  seen.add(cls);
  const name = cls.child('name')?.text ?? '';
  if (a.modules.some((m) => m.node === cls) || methodsOf(cls).some((m) => m.child('name')?.text === 'forward')) return true;
  return (cls.child('superclasses')?.namedChildren ?? []).some((b) => (b.type === 'identifier' || b.type === 'attribute') && modelLikeName(a, lastName(b), name, seen));
}

function modelLikeName(a: Analysis, name: string, self: string, seen: Set<PyNode>): boolean {
  const defs = name === self ? [] : classesNamed(a, name);
  return defs.length ? defs.some((c) => modelLikeClass(a, c, seen)) : MODEL_CLASS_NAME.test(name) && !NOT_MODEL_CLASS_NAME.test(name);
}

/** The method's class: the class whose body defines it, or `C` of `@add_to_class(C)` on a function taking `self`. */
function ownerClass(fn: PyNode): { node?: PyNode; name?: string } | undefined {
  const cls = methodClass(fn);
  if (cls) return { node: cls };
  for (const d of decoratorsOf(fn)) {
    const call = d.namedChildren[0];
    const f = call?.type === 'call' ? call.child('function') : undefined;
    const target = call && f && /(^|\.)add_to_class$/.test(f.text) ? positionalArgs(call)[0] : undefined;
    if (target && (target.type === 'identifier' || target.type === 'attribute')) return { name: lastName(target) };
  }
  return undefined;
}

/** A method (first parameter `self`) of a model class. */
export function isModelMethod(a: Analysis, fn: PyNode | undefined): boolean {
  if (!fn || fn.child('parameters')?.namedChildren[0]?.text !== 'self') return false;
  const owner = ownerClass(fn);
  if (owner?.node) return modelLikeClass(a, owner.node);
  return !!owner?.name && modelLikeName(a, owner.name, '', new Set());
}

/** `self(x)`, `self.decoder(y, state)`, `self.encoder.forward(x)`: the model running itself or one of its parts. */
export function isSelfForward(call: PyNode): boolean {
  let f = call.child('function');
  if (f?.type === 'attribute' && f.child('attribute')?.text === 'forward') f = f.child('object');
  if (f?.type === 'identifier') return f.text === 'self';
  return f?.type === 'attribute' && f.child('object')?.text === 'self';
}
