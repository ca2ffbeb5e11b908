// Keras functional code: whether a tensor can still be a 2-D feature map (batch, h, w, c) where it is read, on some
// path. Follows every reaching binding of a name (an optional `if pooling == "avg": x = GlobalAveragePooling2D()(x)`
// with no `else` lets the conv output through), applied layers (`Conv2D(...)(x)`; BatchNormalization, Activation and
// Dropout pass their input's shape on), `concatenate` / `add` of maps, and helper functions of the file (`x =
// conv_block(x)`, `x, n = dense_block(x, n)`). A parameter or anything not recognised is unknown.
import type { PyNode } from '../parser';
import { positionalArgs, unparen, type Analysis } from './index';
import { kerasCallee, kerasModels, type KLayer } from './keras';
import { reachingDefs } from './reaching';
import { returnValues } from './modules';
import { valueBefore } from './values';

export interface MapShapes {
  /** A layer whose 4-D output reaches the read on some path (the first one found). */
  map?: KLayer;
  flat: boolean;
  unknown: boolean;
}

/** Functional merge layers and their function forms: the output has the rank of the inputs. */
const MERGE = /^(Concatenate|Add|Average|Maximum|Minimum|Multiply|Subtract|concatenate|add|average|maximum|minimum|multiply|subtract)$/;
const PASS_THROUGH = new Set(['dropout', 'batchnorm', 'activation']);
const MAX_DEPTH = 24;

export class FeatureMaps {
  /** Values being evaluated: a loop's `x = concatenate([x, cb])` reads itself. */
  private readonly active = new Set<PyNode>();
  /** Shapes per expression already read (a DenseNet reaches the same blocks along many paths). */
  private readonly memo = new Map<PyNode, MapShapes>();
  constructor(private readonly a: Analysis) {}

  shapes(expr: PyNode | undefined, depth = 0): MapShapes {
    const out: MapShapes = { flat: false, unknown: false };
    this.add(out, expr, depth);
    if (!out.map && !out.flat) out.unknown = true;
    return out;
  }

  private add(out: MapShapes, expr: PyNode | undefined, depth: number, element?: number): void {
    const e = unparen(expr);
    if (!e || depth > MAX_DEPTH) return void (out.unknown = true);
    if (this.active.has(e)) return; // a cycle adds nothing new
    if (element !== undefined) {
      this.active.add(e);
      this.addElement(out, e, element, depth);
      this.active.delete(e);
      return;
    }
    let own = this.memo.get(e);
    if (!own) {
      own = { flat: false, unknown: false };
      this.active.add(e);
      if (e.type === 'identifier') this.addName(own, e, depth);
      else if (e.type === 'call') this.addCall(own, e, depth);
      else own.unknown = true;
      this.active.delete(e);
      this.memo.set(e, own);
    }
    out.map ??= own.map;
    out.flat ||= own.flat;
    out.unknown ||= own.unknown;
  }

  private addName(out: MapShapes, id: PyNode, depth: number): void {
    const defs = reachingDefs(id);
    if (!defs?.length) return void (out.unknown = true);
    for (const d of defs) {
      if (!d.value) out.unknown = true;
      else this.add(out, d.value, depth + 1, d.index);
    }
  }

  /** Element `index` of a tuple, or of what a helper of the file returns. */
  private addElement(out: MapShapes, e: PyNode, index: number, depth: number): void {
    if (e.type === 'tuple' || e.type === 'expression_list') return this.add(out, e.namedChildren.filter((c) => c.type !== 'comment')[index], depth + 1);
    const fn = this.helper(e);
    if (!fn) return void (out.unknown = true);
    for (const r of returnValues(fn)) this.add(out, r, depth + 1, index);
  }

  private addCall(out: MapShapes, call: PyNode, depth: number): void {
    const fn = call.child('function');
    const input = positionalArgs(call)[0];
    const q = kerasCallee(this.a, call);
    if (q?.startsWith('keras.') && MERGE.test(q.slice(q.lastIndexOf('.') + 1))) return this.addMerged(out, input, depth);
    const ctor = fn?.type === 'call' ? fn : fn?.type === 'identifier' ? unparen(valueBefore(this.a, fn) ?? undefined) : undefined;
    if (ctor?.type === 'call') {
      const layer = kerasModels(this.a).layerOf(ctor, call, 'functional');
      if (layer.kind === 'conv2d' || layer.kind === 'pool2d') out.map ??= layer;
      else if (layer.kind === 'flatten' || layer.kind === 'globalpool') out.flat = true;
      else if (PASS_THROUGH.has(layer.kind)) this.add(out, input, depth + 1);
      else if (layer.cls && MERGE.test(layer.cls)) this.addMerged(out, input, depth);
      else out.unknown = true;
      return;
    }
    const helper = this.helper(call);
    if (!helper) return void (out.unknown = true);
    const rets = returnValues(helper);
    if (!rets.length) out.unknown = true;
    for (const r of rets) this.add(out, r, depth + 1);
  }

  /** `concatenate([x, cb])`: a map when any input is one (inputs share their rank). */
  private addMerged(out: MapShapes, list: PyNode | undefined, depth: number): void {
    const l = unparen(list);
    if (l?.type !== 'list' && l?.type !== 'tuple') return void (out.unknown = true);
    const inner: MapShapes = { flat: false, unknown: false };
    for (const item of l.namedChildren) if (item.type !== 'comment') this.add(inner, item, depth + 1);
    if (inner.map) out.map ??= inner.map;
    else {
      out.flat ||= inner.flat;
      out.unknown ||= inner.unknown || !inner.flat;
    }
  }

  /** A module-level (or nested) function of the file called by name, not a method. */
  private helper(call: PyNode): PyNode | undefined {
    const fn = call.type === 'call' ? call.child('function') : undefined;
    const defs = fn?.type === 'identifier' ? this.a.functions.get(fn.text) : undefined;
    return defs?.length === 1 && !defs[0]!.ancestor('class_definition') ? defs[0] : undefined;
  }
}

const cache = new WeakMap<Analysis, FeatureMaps>();
export function featureMaps(a: Analysis): FeatureMaps {
  let f = cache.get(a);
  if (!f) cache.set(a, (f = new FeatureMaps(a)));
  return f;
}
