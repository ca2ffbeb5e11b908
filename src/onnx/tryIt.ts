// The "Try it" box's logic, without vscode or onnxruntime: which model inputs can take an image or a drawing, how
// pixels become the input tensor, and how outputs become the top-k class probabilities.
import type { OnnxModelInfo, OnnxValueInfo } from './read';

/** Pixel value range the model was trained on: [0,1] (ToTensor), 0..16 (scikit-learn digits), 0..255 (raw bytes). */
export type InputScale = '0-1' | '0-16' | '0-255';
export const INPUT_SCALES: readonly InputScale[] = ['0-1', '0-16', '0-255'];
const SCALE_MAX: Record<InputScale, number> = { '0-1': 1, '0-16': 16, '0-255': 255 };

export interface TryItSpec {
  inputName: string;
  elemType: 'float32' | 'float64';
  /** The tensor shape fed, batch (and other symbolic leading dims) set to 1. */
  dims: number[];
  channels: number;
  height: number;
  width: number;
  /** How the sample's elements are laid out: channels first, channels last, or one flat axis (grayscale). */
  layout: 'chw' | 'hwc' | 'hw' | 'flat';
  /** Small grayscale inputs (digits): a canvas to draw on is offered. */
  drawable: boolean;
  defaultScale: InputScale;
}

export type TryItPlan = { ok: true; spec: TryItSpec } | { ok: false; reason: string };

const isSize = (d: unknown): d is number => typeof d === 'number' && d > 0;
const fmtShape = (v: OnnxValueInfo) => (v.shape ? v.shape.map((d) => (d === null ? '?' : String(d))).join('×') : 'unknown rank');

/** Decides whether (and how) the model takes an image: NCHW, NHWC, NHW, CHW, HW or N×(H·W) with H = W. */
export function planTryIt(model: OnnxModelInfo): TryItPlan {
  const inputs = model.graph.inputs;
  if (inputs.length !== 1) {
    return { ok: false, reason: `Try it needs a model with one input; this one has ${inputs.length} (${inputs.map((i) => i.name).join(', ') || 'none'}).` };
  }
  const input = inputs[0]!;
  if (input.elemType !== 'float32' && input.elemType !== 'float64') {
    return { ok: false, reason: `Try it feeds float32 pixels; input "${input.name}" takes ${input.elemType || 'an unknown type'}.` };
  }
  const unsupported = {
    ok: false as const,
    reason: `Try it works with image inputs (N×C×H×W, N×H×W×C, N×H×W or N×(H·W) for square images); input "${input.name}" is ${fmtShape(input)}.`,
  };
  const shape = input.shape;
  if (!shape || shape.length < 1) return unsupported;
  // Rank 4 (NCHW/NHWC) and rank 2 (N×features) lead with the batch; rank 3 does when its first dim is symbolic or
  // too large for channels (N×H×W), else it is one C×H×W / H×W×C sample.
  const [d0, d1, d2] = shape;
  const batched =
    shape.length === 4 || shape.length === 2 ? 1 : shape.length === 3 && (!isSize(d0) || (d0 > 4 && isSize(d1) && d1 > 4 && isSize(d2) && d2 > 4)) ? 1 : 0;
  const sample = shape.slice(batched);
  if (!sample.every(isSize)) return unsupported;
  const s = sample as number[];
  let geometry: Pick<TryItSpec, 'channels' | 'height' | 'width' | 'layout'> | undefined;
  if (s.length === 3 && s[0]! <= 4 && s[2]! > 4) geometry = { channels: s[0]!, height: s[1]!, width: s[2]!, layout: 'chw' };
  else if (s.length === 3 && s[2]! <= 4) geometry = { channels: s[2]!, height: s[0]!, width: s[1]!, layout: 'hwc' };
  else if (s.length === 2 && s[0]! > 4 && s[1]! > 4) geometry = { channels: 1, height: s[0]!, width: s[1]!, layout: 'hw' };
  else if (s.length === 1) {
    const side = Math.round(Math.sqrt(s[0]!));
    if (side * side === s[0] && side >= 4) geometry = { channels: 1, height: side, width: side, layout: 'flat' };
  }
  if (!geometry || (geometry.channels !== 1 && geometry.channels !== 3)) return unsupported;
  const dims = shape.map((d) => (isSize(d) ? d : 1));
  const small = Math.max(geometry.height, geometry.width) <= 64;
  return {
    ok: true,
    spec: {
      inputName: input.name,
      elemType: input.elemType,
      dims,
      ...geometry,
      drawable: geometry.channels === 1 && small,
      defaultScale: geometry.height === 8 && geometry.width === 8 ? '0-16' : '0-1',
    },
  };
}

/**
 * Builds the input tensor from pixels in [0, 1], row-major, `channels` values per pixel (1 or 3; a 1-channel
 * image fed to a 3-channel model is repeated, a 3-channel one fed to a 1-channel model is turned into luma).
 */
export function pixelsToTensor(pixels: ArrayLike<number>, pixelChannels: number, spec: TryItSpec, scale: InputScale): Float32Array | Float64Array {
  const { channels: c, height: h, width: w } = spec;
  const hw = h * w;
  if (pixels.length !== hw * pixelChannels) {
    throw new Error(`expected ${hw * pixelChannels} pixel values (${h}×${w}×${pixelChannels}), got ${pixels.length}`);
  }
  const total = spec.dims.reduce((a, b) => a * b, 1);
  const out = spec.elemType === 'float64' ? new Float64Array(total) : new Float32Array(total);
  const max = SCALE_MAX[scale];
  const value = (p: number, ch: number): number => {
    if (pixelChannels === c || (pixelChannels === 1 && c === 3)) return pixels[p * pixelChannels + (pixelChannels === 1 ? 0 : ch)]!;
    // 3 -> 1: ITU-R BT.601 luma, what PIL's convert('L') uses.
    return 0.299 * pixels[p * 3]! + 0.587 * pixels[p * 3 + 1]! + 0.114 * pixels[p * 3 + 2]!;
  };
  const sampleSize = c * hw;
  for (let p = 0; p < hw; p++) {
    for (let ch = 0; ch < c; ch++) {
      const v = Math.min(1, Math.max(0, value(p, ch))) * max;
      out[spec.layout === 'hwc' ? p * c + ch : ch * hw + p] = v;
    }
  }
  // A fixed batch larger than 1: the same sample in every slot.
  for (let start = sampleSize; start + sampleSize <= total; start += sampleSize) out.copyWithin(start, 0, sampleSize);
  return out;
}

/**
 * Resizes RGBA bytes to width x height by area averaging (every source pixel counts, so thin strokes survive
 * downsampling) and returns values in [0, 1], `channels` per pixel (1: luma, 3: RGB). Transparent pixels count as black.
 */
export function resizeRgba(rgba: ArrayLike<number>, srcW: number, srcH: number, width: number, height: number, channels: 1 | 3): Float32Array {
  const out = new Float32Array(width * height * channels);
  const weight = new Float32Array(width * height);
  const sx = width / srcW;
  const sy = height / srcH;
  for (let y = 0; y < srcH; y++) {
    // Each source pixel covers [y*sy, (y+1)*sy) in the target; it may straddle two target rows.
    const y0 = y * sy;
    const y1 = (y + 1) * sy;
    for (let x = 0; x < srcW; x++) {
      const i = (y * srcW + x) * 4;
      const a = rgba[i + 3]! / 255;
      const r = (rgba[i]! / 255) * a;
      const g = (rgba[i + 1]! / 255) * a;
      const b = (rgba[i + 2]! / 255) * a;
      const x0 = x * sx;
      const x1 = (x + 1) * sx;
      for (let ty = Math.floor(y0); ty < Math.min(height, Math.ceil(y1)); ty++) {
        const wy = Math.min(y1, ty + 1) - Math.max(y0, ty);
        if (wy <= 0) continue;
        for (let tx = Math.floor(x0); tx < Math.min(width, Math.ceil(x1)); tx++) {
          const wx = Math.min(x1, tx + 1) - Math.max(x0, tx);
          if (wx <= 0) continue;
          const wgt = wx * wy;
          const t = ty * width + tx;
          weight[t] = weight[t]! + wgt;
          if (channels === 1) out[t] = out[t]! + wgt * (0.299 * r + 0.587 * g + 0.114 * b);
          else {
            out[t * 3] = out[t * 3]! + wgt * r;
            out[t * 3 + 1] = out[t * 3 + 1]! + wgt * g;
            out[t * 3 + 2] = out[t * 3 + 2]! + wgt * b;
          }
        }
      }
    }
  }
  for (let t = 0; t < width * height; t++) {
    const wgt = weight[t]! || 1;
    for (let ch = 0; ch < channels; ch++) out[t * channels + ch] = out[t * channels + ch]! / wgt;
  }
  return out;
}

export interface ClassProbability {
  index: number;
  label: string;
  probability: number;
}

export interface Prediction {
  top: ClassProbability[];
  /** True when the outputs were scores (logits) and softmax was applied here. */
  softmaxApplied: boolean;
  classCount: number;
}

/** Outputs that are already probabilities: all in [0, 1] and summing to 1 (within float error). */
export function looksLikeProbabilities(values: ArrayLike<number>): boolean {
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(v >= -1e-6 && v <= 1 + 1e-6)) return false;
    sum += v;
  }
  return Math.abs(sum - 1) < 1e-3;
}

export function softmax(values: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) max = Math.max(max, values[i]!);
  const out = new Float64Array(values.length);
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    out[i] = Math.exp(values[i]! - max);
    sum += out[i]!;
  }
  for (let i = 0; i < out.length; i++) out[i] = out[i]! / sum;
  return out;
}

/** Top-k classes of one sample's scores (softmax applied unless they are probabilities already). */
export function topK(scores: ArrayLike<number>, k: number, labels: readonly string[] | undefined): Prediction {
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i]!)) throw new Error(`the model's output has a non-finite value (${scores[i]}) at class ${i}`);
  }
  const already = looksLikeProbabilities(scores);
  const probs = already ? Float64Array.from(scores as ArrayLike<number>) : softmax(scores);
  const order = Array.from(probs.keys()).sort((a, b) => probs[b]! - probs[a]! || a - b);
  return {
    top: order.slice(0, k).map((index) => ({ index, label: labels?.[index] ?? String(index), probability: probs[index]! })),
    softmaxApplied: !already,
    classCount: scores.length,
  };
}
