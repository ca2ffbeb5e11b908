// Which model or object of the file a TensorFlow/Keras expression stands for, for flows that follow a call into the
// code that runs: `net = Net(); net(x)` runs `Net.call`, `self.generator(x)` runs a method of the class, a Sequential
// or functional model outputs its last layer. Follows names, `self.x` attributes with one agreed value, builder
// functions' returns and parameters whose call sites all agree (one level up, like keras.ts). A parameter named like a model in a function the file
// never calls (`def train(params, model, dataset)`) stands for the file's one Keras model, when it defines exactly one.
import type { PyNode } from '../parser';
import { hasParameter, unparen, type Analysis } from './index';
import { kerasModels, kerasQname, type KerasModel } from './keras';
import { methodsOf, returnValues } from './modules';
import { parameterArguments } from './parameters';
import { elementBefore, valueBefore } from './values';

/** A class of the file (its `call` or methods run), or a Sequential/functional model (its output layer). */
export type TfInstance = { cls: PyNode; model?: undefined } | { cls?: undefined; model: KerasModel };

const MAX_DEPTH = 12;
const MODEL_BASES = /^keras\.(Model|models\.Model)$/;
const LAYER_BASES = /^keras\.(layers\.Layer|Layer|engine\.base_layer\.Layer)$/;
/** A parameter that holds a model by its name (`model`, `unet`, `net`, `classifier`). */
const MODEL_PARAM = /model|net|clf|classifier/i;

interface FileClasses {
  /** Classes by name, a name defined twice left out. */
  byName: Map<string, PyNode>;
  /** `keras.Model` subclasses. */
  models: PyNode[];
}

const classCache = new WeakMap<Analysis, FileClasses>();
function fileClasses(a: Analysis): FileClasses {
  let c = classCache.get(a);
  if (c) return c;
  c = { byName: new Map(), models: [] };
  const twice = new Set<string>();
  for (const cls of a.index.of('class_definition')) {
    const name = cls.child('name')?.text;
    if (!name) continue;
    if (c.byName.has(name)) twice.add(name);
    c.byName.set(name, cls);
    if ((cls.child('superclasses')?.namedChildren ?? []).some((b) => MODEL_BASES.test(kerasQname(a, b) ?? ''))) c.models.push(cls);
  }
  for (const name of twice) c.byName.delete(name);
  classCache.set(a, c);
  return c;
}

/** What applying an instance of the class runs: `call` for a Keras Model or Layer subclass, else `__call__`. */
export function applyMethod(a: Analysis, cls: PyNode): PyNode | undefined {
  const keras = (cls.child('superclasses')?.namedChildren ?? []).some((b) => {
    const q = kerasQname(a, b) ?? '';
    return MODEL_BASES.test(q) || LAYER_BASES.test(q);
  });
  const name = keras ? 'call' : '__call__';
  return methodsOf(cls).find((m) => m.child('name')?.text === name);
}

/**
 * The model or class instance an expression stands for (a callee `net` in `net(x)`), when the file shows it.
 * `viaParameter`: already reached through a parameter's call sites (a second level is not followed).
 */
export function instanceOf(a: Analysis, expr: PyNode | undefined | null, depth = 0, viaParameter = false): TfInstance | undefined {
  const e = unparen(expr ?? undefined);
  if (!e || depth > MAX_DEPTH) return undefined;
  if (e.type === 'identifier') {
    const v = valueBefore(a, e);
    if (v) return instanceOf(a, v, depth + 1, viaParameter);
    if (v === undefined || viaParameter || elementBefore(a, e)) return undefined;
    const args = parameterArguments(a, e);
    return args ? agreed(a, args, depth, true) : soleModel(a, e);
  }
  if (e.type === 'attribute' && e.child('object')?.text === 'self') {
    const cls = e.ancestor('class_definition');
    const attr = e.child('attribute')?.text;
    return cls && attr ? agreed(a, a.scopes.selfAttr(cls, attr), depth, viaParameter) : undefined;
  }
  if (e.type !== 'call') return undefined;
  const k = kerasModels(a);
  void k.models; // the models are indexed by their call on first use
  const m = k.modelAt(e);
  if (m) return m.node.type === 'class_definition' ? { cls: m.node } : { model: m };
  const fn = e.child('function');
  if (fn?.type !== 'identifier') return undefined;
  const cls = fileClasses(a).byName.get(fn.text);
  if (cls) return { cls };
  // `model = build_model()`: what the builder returns
  const defs = a.functions.get(fn.text);
  if (defs?.length !== 1 || defs[0]!.ancestor('class_definition')) return undefined;
  return agreed(a, returnValues(defs[0]!), depth, viaParameter);
}

function agreed(a: Analysis, values: readonly PyNode[], depth: number, viaParameter: boolean): TfInstance | undefined {
  let found: TfInstance | undefined;
  for (const v of values) {
    const t = instanceOf(a, v, depth + 1, viaParameter);
    if (!t || (found && (found.cls ?? found.model) !== (t.cls ?? t.model))) return undefined;
    found ??= t;
  }
  return found;
}

/**
 * A model parameter of a function the file never calls (`def train(params, model, dataset)` of a training script whose
 * entry point lives elsewhere): the one Keras model the file defines or builds, when there is exactly one.
 */
function soleModel(a: Analysis, param: PyNode): TfInstance | undefined {
  if (!MODEL_PARAM.test(param.text)) return undefined;
  let fn = param.ancestor('function_definition');
  while (fn && !hasParameter(fn, param.text)) fn = fn.ancestor('function_definition');
  const name = fn?.child('name')?.text;
  if (!name || fn!.ancestor('class_definition') || a.callsNamed(name).length) return undefined;
  const classes = fileClasses(a).models;
  const built = kerasModels(a).models.filter((m) => m.node.type !== 'class_definition');
  if (classes.length + built.length !== 1) return undefined;
  return classes.length ? { cls: classes[0]! } : { model: built[0]! };
}

/** The method a call `self.generator(x)` / `gan.generator(x)` runs: one of the file's class, by name. */
export function methodNamed(a: Analysis, fn: PyNode, depth = 0): PyNode | undefined {
  const obj = fn.child('object');
  const name = fn.child('attribute')?.text;
  if (!obj || !name) return undefined;
  const cls = obj.type === 'identifier' && obj.text === 'self' ? fn.ancestor('class_definition') : instanceOf(a, obj, depth + 1)?.cls;
  return cls ? methodsOf(cls).find((m) => m.child('name')?.text === name) : undefined;
}
