// Directions over an ONNX model's weights, with the same rules as the torch engine (python/descent/landscape/
// directions.py, after tomgoldstein/loss-landscape net_plotter.py): a Gaussian per tensor; 'filter' normalisation
// rescales each filter (slice along the output axis) to the norm of the weight's filter; 'layer' the whole tensor;
// one-dimensional tensors (biases, batch-norm scale and shift) get a zero direction with ignore=biasbn and a copy of
// the weight otherwise. Also the directions.bin file (a JSON header line, then float32 little-endian data). Pure.

export interface WeightTensor {
  name: string;
  dims: number[];
  values: Float32Array;
  /**
   * The axis whose slices are filters: 0 for Conv ([out, in, k, k]) and Gemm weights (torch's Linear exports
   * [out, in] with transB=1); the last axis for a MatMul's B, which holds [in, out].
   */
  filterAxis: number;
}

export type Normalization = 'filter' | 'layer' | 'none';

/** A seeded standard normal generator (mulberry32 + Box-Muller): reproducible directions from a seed. */
export function gaussian(seed: number): () => number {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const v = spare;
      spare = undefined;
      return v;
    }
    const u = Math.max(uniform(), 1e-300);
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

const norm = (v: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
};

/** Rescales direction d of weight w in place (net_plotter.normalize_direction). */
export function normalizeDirection(d: Float32Array, w: WeightTensor, how: Normalization): void {
  if (how === 'filter') {
    // Element i belongs to filter floor(i / inner) % count (row-major layout).
    const count = w.dims[w.filterAxis] ?? 1;
    const inner = w.dims.slice(w.filterAxis + 1).reduce((a, b) => a * b, 1);
    const wn = new Float64Array(count);
    const dn = new Float64Array(count);
    for (let i = 0; i < d.length; i++) {
      const k = Math.floor(i / inner) % count;
      wn[k] = wn[k]! + w.values[i]! * w.values[i]!;
      dn[k] = dn[k]! + d[i]! * d[i]!;
    }
    for (let i = 0; i < d.length; i++) {
      const k = Math.floor(i / inner) % count;
      d[i] = d[i]! * (Math.sqrt(wn[k]!) / (Math.sqrt(dn[k]!) + 1e-10));
    }
  } else if (how === 'layer') {
    const scale = norm(w.values) / norm(d);
    for (let i = 0; i < d.length; i++) d[i] = d[i]! * scale;
  }
}

/** One normalised random direction over all weights (net_plotter.normalize_directions_for_weights). */
export function randomDirection(weights: readonly WeightTensor[], next: () => number, how: Normalization, ignore: 'biasbn' | 'none'): Float32Array[] {
  return weights.map((w) => {
    const d = new Float32Array(w.values.length);
    for (let i = 0; i < d.length; i++) d[i] = next();
    if (w.dims.length <= 1) {
      if (ignore === 'biasbn') d.fill(0);
      else d.set(w.values);
    } else {
      normalizeDirection(d, w, how);
    }
    return d;
  });
}

/** w + a d1 + b d2 for every tensor, into `out` (reused between grid points). */
export function perturb(weights: readonly WeightTensor[], d1: readonly Float32Array[], d2: readonly Float32Array[] | null, a: number, b: number, out: Float32Array[]): void {
  weights.forEach((w, t) => {
    const o = out[t]!;
    const x = d1[t]!;
    const y = d2?.[t];
    for (let i = 0; i < o.length; i++) o[i] = w.values[i]! + a * x[i]! + (y ? b * y[i]! : 0);
  });
}

// ---- directions.bin ----

interface BinHeader {
  format: 'descent-directions';
  version: 1;
  tensors: { name: string; dims: number[]; direction: number; offset: number; length: number }[];
}

/** Encodes directions (one Map name -> values per direction). */
export function encodeDirections(directions: readonly Map<string, { dims: number[]; values: Float32Array }>[]): Uint8Array {
  const tensors: BinHeader['tensors'] = [];
  let offset = 0;
  directions.forEach((d, k) => {
    for (const [name, t] of d) {
      tensors.push({ name, dims: t.dims, direction: k, offset, length: t.values.length });
      offset += t.values.length * 4;
    }
  });
  const header = new TextEncoder().encode(`${JSON.stringify({ format: 'descent-directions', version: 1, tensors } satisfies BinHeader)}\n`);
  const out = new Uint8Array(header.length + offset);
  out.set(header, 0);
  const view = new DataView(out.buffer, header.length);
  let at = 0;
  for (const d of directions) for (const t of d.values()) for (let i = 0; i < t.values.length; i++, at += 4) view.setFloat32(at, t.values[i]!, true);
  return out;
}

/** Decodes directions.bin; throws with a message when the file is not one. */
export function decodeDirections(bytes: Uint8Array): Map<string, { dims: number[]; values: Float32Array }>[] {
  const nl = bytes.indexOf(10);
  if (nl < 0) throw new Error('directions file: no header line');
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(0, nl))) as BinHeader;
  if (header.format !== 'descent-directions' || header.version !== 1 || !Array.isArray(header.tensors)) throw new Error('directions file: not a Descent directions file (version 1)');
  const data = new DataView(bytes.buffer, bytes.byteOffset + nl + 1, bytes.length - nl - 1);
  const out: Map<string, { dims: number[]; values: Float32Array }>[] = [];
  for (const t of header.tensors) {
    if (t.offset + t.length * 4 > data.byteLength) throw new Error(`directions file: ${t.name} runs past the end`);
    const values = new Float32Array(t.length);
    for (let i = 0; i < t.length; i++) values[i] = data.getFloat32(t.offset + i * 4, true);
    (out[t.direction] ??= new Map()).set(t.name, { dims: t.dims, values });
  }
  return out;
}
