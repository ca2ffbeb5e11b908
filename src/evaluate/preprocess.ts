// Turns raw batches (arrays in their own layout, decoded images) into the model's input tensor: colour, resize
// (bilinear), scale to [0, 1], per-channel mean/std, and layout (NCHW or NHWC, as the model input says).
// Data whose samples already have the model's shape (or the same elements in a trivially different shape such as
// (28, 28) vs (1, 28, 28) or (64,) vs (8, 8)) take a fast path with no copy beyond the element conversion.
import type { RawBatch } from './readers/dataset';
import { EvaluationError, type Preprocessing } from './types';

export type Dim = number | string;

export interface Geometry {
  c: number;
  h: number;
  w: number;
  /** 'hw': no channel axis (c = 1); 'flat': one axis of c*h*w elements in CHW order. */
  layout: 'chw' | 'hwc' | 'hw' | 'flat';
}

export interface InputPlan {
  /** Per-sample shape of the tensor fed to the model. */
  sampleShape: number[];
  sampleSize: number;
  /** What is done to the data, for messages and the run record. */
  steps: string[];
  toTensor(batch: RawBatch): Float32Array;
}

const fmt = (s: readonly Dim[]) => `(${s.map((d) => (typeof d === 'number' && d >= 0 ? d : '?')).join(', ')}${s.length === 1 ? ',' : ''})`;
const fixed = (d: Dim | undefined): d is number => typeof d === 'number' && d > 0;
const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** The image geometry of a model's per-sample input dims, when it has one. */
export function modelGeometry(m: readonly Dim[], prep: Preprocessing): Geometry | undefined {
  const [rh, rw] = prep.resize ?? [];
  if (m.length === 3) {
    // PyTorch's NCHW first: 1 or 3 leading channels; then NHWC (Keras/TF); then 4 leading channels.
    const chw = (c: number): Geometry => ({ c, h: fixed(m[1]) ? m[1] : (rh ?? 0), w: fixed(m[2]) ? m[2] : (rw ?? 0), layout: 'chw' });
    if (m[0] === 1 || m[0] === 3) return chw(m[0]);
    if (fixed(m[2]) && m[2] <= 4) return { c: m[2], h: fixed(m[0]) ? m[0] : (rh ?? 0), w: fixed(m[1]) ? m[1] : (rw ?? 0), layout: 'hwc' };
    if (m[0] === 4) return chw(4);
    return undefined;
  }
  if (m.length === 2) return { c: 1, h: fixed(m[0]) ? m[0] : (rh ?? 0), w: fixed(m[1]) ? m[1] : (rw ?? 0), layout: 'hw' };
  if (m.length === 1 && fixed(m[0]) && rh && rw && m[0] % (rh * rw) === 0) return { c: m[0] / (rh * rw), h: rh, w: rw, layout: 'flat' };
  if (m.length === 1 && fixed(m[0])) {
    const side = Math.round(Math.sqrt(m[0]));
    if (side * side === m[0]) return { c: 1, h: side, w: side, layout: 'flat' };
  }
  return undefined;
}

/** The image geometry of a raw array sample: (H, W), (H, W, C) or (C, H, W). */
export function dataGeometry(s: readonly number[]): Geometry | undefined {
  if (s.length === 2) return { c: 1, h: s[0]!, w: s[1]!, layout: 'hw' };
  if (s.length === 3 && s[2]! <= 4) return { c: s[2]!, h: s[0]!, w: s[1]!, layout: 'hwc' };
  if (s.length === 3 && s[0]! <= 4) return { c: s[0]!, h: s[1]!, w: s[2]!, layout: 'chw' };
  return undefined;
}

/** Same elements in the same order: equal shapes once size-1 axes are dropped, or one side is flat. */
function sameElementOrder(s: readonly number[], m: readonly Dim[]): boolean {
  if (!m.every(fixed)) return s.length === m.length && m.every((d, i) => !fixed(d) || d === s[i]);
  if (prod(s) !== prod(m as number[])) return false;
  if (s.length === 1 || m.length === 1) return true;
  const a = s.filter((d) => d !== 1);
  const b = (m as number[]).filter((d) => d !== 1);
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function channelParams(prep: Preprocessing, channels: number, what: string): { mean: Float32Array; inv: Float32Array; scale: number } | undefined {
  const scale = prep.scale ? 1 / 255 : 1;
  if (!prep.mean && !prep.std && scale === 1) return undefined;
  const expand = (v: number[] | undefined, dflt: number, name: string) => {
    const src = v && v.length > 0 ? v : [dflt];
    if (src.length !== 1 && src.length !== channels) throw new EvaluationError(`${name} has ${src.length} values but the ${what} has ${channels} channels: give 1 or ${channels}`);
    return Float32Array.from({ length: channels }, (_, i) => src.length === 1 ? src[0]! : src[i]!);
  };
  const mean = expand(prep.mean, 0, 'mean');
  const std = expand(prep.std, 1, 'std');
  if (std.some((s) => s === 0)) throw new EvaluationError('std must not be 0');
  return { mean, inv: std.map((s) => 1 / s), scale };
}

export function planInput(data: { sampleShape: number[] | undefined; description: string }, inputName: string, inputShape: readonly Dim[], prep: Preprocessing): InputPlan {
  const m = inputShape.slice(1);
  const s = data.sampleShape;
  const mismatch = (hint: string) =>
    new EvaluationError(`The samples of ${data.description} have shape ${s ? fmt(s) : '(images)'} but the model input '${inputName}' expects ${fmt(inputShape)} (first axis: batch). ${hint}`);
  const steps: string[] = [];
  if (prep.scale) steps.push('scale /255');
  if (prep.mean || prep.std) steps.push(`normalise mean=${(prep.mean ?? [0]).join(',')} std=${(prep.std ?? [1]).join(',')}`);

  // Fast path: arrays already shaped like the input.
  if (s && !prep.resize && (prep.color ?? 'auto') === 'auto' && sameElementOrder(s, m)) {
    const shape = m.every(fixed) ? (m as number[]) : s;
    const geo = modelGeometry(m, prep);
    const channels = geo && geo.c > 1 && geo.layout !== 'flat' ? geo.c : m.length === 1 && prep.mean && prep.mean.length > 1 ? prod(shape) : 1;
    const inner = geo?.layout === 'chw' ? geo.h * geo.w : 1;
    const params = channelParams(prep, channels, 'model input');
    return {
      sampleShape: shape,
      sampleSize: prod(shape),
      steps,
      toTensor(batch) {
        if (batch.kind !== 'array') throw new Error('image batch on the array path');
        const x = batch.data;
        if (!params) return x;
        const { mean, inv, scale } = params;
        if (channels === 1) {
          const m0 = mean[0]!;
          const k = scale * inv[0]!;
          const b = m0 * inv[0]!;
          for (let i = 0; i < x.length; i++) x[i] = x[i]! * k - b;
        } else {
          for (let i = 0; i < x.length; i++) {
            const c = Math.floor(i / inner) % channels;
            x[i] = (x[i]! * scale - mean[c]!) * inv[c]!;
          }
        }
        return x;
      },
    };
  }

  // Image path: decoded images, or arrays whose samples are images in another size / layout / colour.
  const dst = modelGeometry(m, prep);
  if (!dst) throw mismatch(s ? 'Export the model with an image input (C, H, W) or (H, W, C), or reshape the data to the input shape.' : 'Image folders need a model with an image input: (C, H, W), (H, W, C) or (H, W); for a flat input set resize to H x W.');
  if (dst.h <= 0 || dst.w <= 0) throw mismatch('The model input has no fixed height and width: set resize to H x W.');
  const color = prep.color ?? 'auto';
  const wantC = color === 'grayscale' ? 1 : color === 'rgb' ? 3 : dst.c;
  if (wantC !== dst.c) throw mismatch(`The model takes ${dst.c} channel(s): set colour to ${dst.c === 1 ? 'grayscale' : dst.c === 3 ? 'RGB' : 'auto'}.`);
  let src: Geometry | undefined;
  if (s) {
    src = dataGeometry(s);
    if (!src) throw mismatch('The samples are not images ((H, W), (H, W, C) or (C, H, W)): reshape the data to the model input shape.');
    if (src.c !== dst.c && !(src.c === 1 && dst.c === 3) && !(src.c >= 3 && dst.c === 1)) throw mismatch(`The samples have ${src.c} channels and the model ${dst.c}.`);
    if ((src.h !== dst.h || src.w !== dst.w) && !prep.resize) throw mismatch(`Set resize to ${dst.h}x${dst.w}.`);
  }
  if (dst.c !== (src?.c ?? dst.c) || (!s && dst.c === 1)) steps.unshift(dst.c === 1 ? 'grayscale' : 'rgb');
  steps.unshift(`resize to ${dst.h}x${dst.w} (bilinear) if needed`);
  steps.push(`layout ${dst.layout === 'hw' || dst.layout === 'flat' ? fmt(m) : dst.layout.toUpperCase()}`);
  const params = channelParams(prep, dst.c, 'model input') ?? { mean: new Float32Array(dst.c), inv: new Float32Array(dst.c).fill(1), scale: 1 };
  const size = dst.c * dst.h * dst.w;
  const shape = m.every(fixed) ? (m as number[]) : dst.layout === 'chw' ? [dst.c, dst.h, dst.w] : dst.layout === 'hwc' ? [dst.h, dst.w, dst.c] : [dst.h, dst.w];
  return {
    sampleShape: shape,
    sampleSize: size,
    steps,
    toTensor(batch) {
      const out = new Float32Array(batch.count * size);
      for (let i = 0; i < batch.count; i++) {
        let hwc: Float32Array;
        let g: { h: number; w: number };
        if (batch.kind === 'images') {
          const img = batch.images[i]!;
          hwc = channelsFromRgba(img.rgba, img.width * img.height, dst.c);
          g = { h: img.height, w: img.width };
        } else {
          const per = prod(s!);
          hwc = channelsFromArray(batch.data.subarray(i * per, (i + 1) * per), src!, dst.c);
          g = src!;
        }
        const resized = g.h === dst.h && g.w === dst.w ? hwc : resizeBilinear(hwc, g.h, g.w, dst.c, dst.h, dst.w);
        writeLayout(resized, dst, params, out, i * size);
      }
      return out;
    },
  };
}

/** RGBA bytes -> HWC floats with c channels (1: ITU-R 601 luma, as PIL's "L"; 3: RGB). */
export function channelsFromRgba(rgba: Uint8Array, pixels: number, c: number): Float32Array {
  const out = new Float32Array(pixels * c);
  for (let p = 0; p < pixels; p++) {
    const r = rgba[p * 4]!;
    const g = rgba[p * 4 + 1]!;
    const b = rgba[p * 4 + 2]!;
    if (c === 1) out[p] = (r * 299 + g * 587 + b * 114) / 1000;
    else {
      out[p * 3] = r;
      out[p * 3 + 1] = g;
      out[p * 3 + 2] = b;
    }
  }
  return out;
}

function channelsFromArray(x: Float32Array, g: Geometry, c: number): Float32Array {
  const pixels = g.h * g.w;
  const out = new Float32Array(pixels * c);
  const at = (p: number, ch: number) => (g.layout === 'chw' ? x[ch * pixels + p]! : x[p * g.c + ch]!);
  for (let p = 0; p < pixels; p++) {
    if (c === g.c || (g.layout === 'hw' && c === 1)) for (let ch = 0; ch < c; ch++) out[p * c + ch] = at(p, ch);
    else if (c === 1) out[p] = 0.299 * at(p, 0) + 0.587 * at(p, 1) + 0.114 * at(p, 2);
    else for (let ch = 0; ch < c; ch++) out[p * c + ch] = at(p, g.c === 1 ? 0 : ch);
  }
  return out;
}

/** Bilinear resize of an HWC image, half-pixel centres (align_corners=False), edges clamped. */
export function resizeBilinear(src: Float32Array, sh: number, sw: number, c: number, dh: number, dw: number): Float32Array {
  const out = new Float32Array(dh * dw * c);
  const sy = sh / dh;
  const sx = sw / dw;
  for (let y = 0; y < dh; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), sh - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, sh - 1);
    const wy = fy - y0;
    for (let x = 0; x < dw; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), sw - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, sw - 1);
      const wx = fx - x0;
      for (let ch = 0; ch < c; ch++) {
        const a = src[(y0 * sw + x0) * c + ch]!;
        const b = src[(y0 * sw + x1) * c + ch]!;
        const d = src[(y1 * sw + x0) * c + ch]!;
        const e = src[(y1 * sw + x1) * c + ch]!;
        out[(y * dw + x) * c + ch] = (a * (1 - wx) + b * wx) * (1 - wy) + (d * (1 - wx) + e * wx) * wy;
      }
    }
  }
  return out;
}

function writeLayout(hwc: Float32Array, g: Geometry, p: { mean: Float32Array; inv: Float32Array; scale: number }, out: Float32Array, at: number): void {
  const pixels = g.h * g.w;
  for (let px = 0; px < pixels; px++) {
    for (let ch = 0; ch < g.c; ch++) {
      const v = (hwc[px * g.c + ch]! * p.scale - p.mean[ch]!) * p.inv[ch]!;
      if (g.layout === 'hwc') out[at + px * g.c + ch] = v;
      else out[at + ch * pixels + px] = v;
    }
  }
}
