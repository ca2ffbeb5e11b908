// Helpers shared by the architecture rules: every layer step of the file, once per site.
import { receiver, unparen, type Analysis, type ModuleClass } from '../../analysis';
import { torchLayers, type LayerStep, type StepKind } from '../../analysis/layers';
import { MODEL_NAME } from '../../analysis/outputs';
import type { PyNode } from '../../parser';
import type { RawFix } from '../../types';
import { valueBefore } from '../../analysis/values';


/**
 * Steps of the given kinds in every top-level nn.Sequential and every forward, deduplicated by the pair (site, prev
 * site). Filtered before the deduplication: steps with one site have one kind, and rules ask for few kinds of many.
 */
export function stepsOfKind(a: Analysis, kinds: readonly StepKind[]): LayerStep[] {
  const t = torchLayers(a);
  const seen = new Set<string>();
  const out: LayerStep[] = [];
  const add = (s: LayerStep) => {
    if (!kinds.includes(s.kind)) return;
    const key = `${s.site.start}:${s.site.end}:${s.prev?.site.start ?? -1}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(s);
  };
  for (const s of t.sequentials) s.steps.forEach(add);
  for (const f of t.forwardLayers) f.steps.forEach(add);
  return out;
}

/** The local spelling of `torch.nn` for inserted code (`nn`, `torch.nn`). */
export function nnName(a: Analysis): string {
  const nn = a.imports.localName('torch.nn');
  if (nn) return nn;
  const torch = a.imports.localName('torch');
  if (torch) return `${torch}.nn`;
  return 'nn';
}

/** Removes a positional element of a call's argument list together with its separating comma. */
export function removeElement(el: PyNode): RawFix['edits'] {
  const list = el.parent;
  const items = (list?.namedChildren ?? []).filter((c) => c.type !== 'comment');
  const i = items.indexOf(el);
  if (i < 0) return [];
  if (i > 0) return [{ start: items[i - 1]!.end, end: el.end, newText: '' }];
  const next = items[i + 1];
  return [{ start: el.start, end: next ? next.start : el.end, newText: '' }];
}

const MODULE_CHAIN = new Set(['to', 'cuda', 'cpu', 'train', 'eval', 'float', 'double', 'half']);
const SHAPE = new Set(['squeeze', 'view', 'reshape', 'flatten', 'float', 'contiguous']);

export type Source = { cls: ModuleClass } | { seq: PyNode };

/** The module class or literal Sequential whose output an expression is (`model(x)`, `out` bound to it). */
export function sourceOf(a: Analysis, expr: PyNode | undefined, depth = 0): Source | undefined {
  const e = unparen(expr);
  if (!e || depth > 8) return undefined;
  if (e.type === 'identifier') {
    const v = valueBefore(a, e);
    return v ? sourceOf(a, v, depth + 1) : undefined;
  }
  if (e.type !== 'call') return undefined;
  let fn = e.child('function');
  if (fn?.type === 'attribute') {
    const method = fn.child('attribute')?.text ?? '';
    if (SHAPE.has(method)) return sourceOf(a, receiver(e), depth + 1);
    if (method === 'forward') fn = fn.child('object');
  }
  if (fn?.type !== 'identifier') return undefined;
  const v = valueBefore(a, fn);
  if (v) return moduleOf(a, v, depth + 1);
  if (v === null && MODEL_NAME.test(fn.text)) return onlyModel(a);
  return undefined;
}

function moduleOf(a: Analysis, value: PyNode, depth: number): Source | undefined {
  const v = unparen(value);
  if (!v || depth > 8) return undefined;
  if (v.type === 'identifier') {
    const next = valueBefore(a, v);
    return next ? moduleOf(a, next, depth + 1) : undefined;
  }
  if (v.type !== 'call') return undefined;
  const fn = v.child('function');
  if (a.callee(v) === 'torch.nn.Sequential') return { seq: v };
  if (fn?.type === 'identifier') {
    const cls = a.moduleClass(fn.text);
    return cls ? { cls } : undefined;
  }
  if (fn?.type === 'attribute' && MODULE_CHAIN.has(fn.child('attribute')?.text ?? '')) {
    const obj = fn.child('object');
    return obj ? moduleOf(a, obj, depth + 1) : undefined;
  }
  return undefined;
}

/** A model passed as a parameter: the one module class this file builds, if there is exactly one. */
const onlyModelCache = new WeakMap<Analysis, { v: Source | undefined }>();
function onlyModel(a: Analysis): Source | undefined {
  let c = onlyModelCache.get(a);
  if (!c) onlyModelCache.set(a, (c = { v: computeOnlyModel(a) }));
  return c.v;
}

function computeOnlyModel(a: Analysis): Source | undefined {
  const built = new Set<ModuleClass>();
  for (const call of a.index.of('call')) {
    const fn = call.child('function');
    if (fn?.type !== 'identifier') continue;
    const cls = a.moduleClass(fn.text);
    if (cls && !call.ancestor('class_definition')) built.add(cls);
  }
  return built.size === 1 ? { cls: [...built][0]! } : undefined;
}

