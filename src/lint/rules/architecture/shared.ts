// Helpers shared by the architecture rules: every layer step of the file, once per site.
import { receiver, unparen, type Analysis, type ModuleClass } from '../../analysis';
import { torchLayers, type LayerStep } from '../../analysis/layers';
import { MODEL_NAME } from '../../analysis/outputs';
import type { PyNode } from '../../parser';
import type { RawFix } from '../../types';
import { valueBefore } from '../../analysis/values';

const stepsCache = new WeakMap<Analysis, readonly LayerStep[]>();

/**
 * Steps of every top-level nn.Sequential and every forward, deduplicated by the pair (site, prev site). Once per lint
 * (several rules read them).
 */
export function allSteps(a: Analysis): readonly LayerStep[] {
  let out = stepsCache.get(a);
  if (!out) stepsCache.set(a, (out = collectSteps(a)));
  return out;
}

function collectSteps(a: Analysis): LayerStep[] {
  const t = torchLayers(a);
  // site start -> site end -> prev site starts (-1: none): numbers, no key string per step.
  const seen = new Map<number, Map<number, Set<number>>>();
  const out: LayerStep[] = [];
  const add = (s: LayerStep) => {
    let byEnd = seen.get(s.site.start);
    if (!byEnd) seen.set(s.site.start, (byEnd = new Map()));
    let prevs = byEnd.get(s.site.end);
    if (!prevs) byEnd.set(s.site.end, (prevs = new Set()));
    const prev = s.prev?.site.start ?? -1;
    if (prevs.has(prev)) return;
    prevs.add(prev);
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

