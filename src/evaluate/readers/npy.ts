// NumPy .npy files: the header (format versions 1-3) and conversion of raw little-endian data to the typed arrays the
// evaluation needs. Only the header is parsed up front; the data is converted batch by batch.
import { EvaluationError } from '../types';
import { readExactly, type ByteReader } from './bytes';

export type NpyDType = 'float32' | 'float64' | 'uint8' | 'int8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'bool' | 'unicode';

export interface NpyHeader {
  dtype: NpyDType;
  /** Bytes per element (per character x 4 for unicode). */
  itemSize: number;
  shape: number[];
  /** Bytes from the start of the .npy data to the first element. */
  dataOffset: number;
}

const DTYPES: Record<string, [NpyDType, number]> = {
  f4: ['float32', 4],
  f8: ['float64', 8],
  u1: ['uint8', 1],
  i1: ['int8', 1],
  i2: ['int16', 2],
  u2: ['uint16', 2],
  i4: ['int32', 4],
  u4: ['uint32', 4],
  i8: ['int64', 8],
  u8: ['uint64', 8],
  b1: ['bool', 1],
};

/** Parses the header dictionary, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (100, 8, 8), }. */
export function parseNpyHeaderText(text: string, dataOffset: number, where: string): NpyHeader {
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined) {
    if (/'descr'\s*:\s*\[/.test(text)) throw new EvaluationError(`${where}: structured (record) arrays are not supported; save a plain numeric array`);
    throw new EvaluationError(`${where}: not a NumPy .npy header (no 'descr')`);
  }
  if (fortran === undefined || shapeText === undefined) throw new EvaluationError(`${where}: not a NumPy .npy header (no shape or fortran_order)`);
  if (fortran === 'True') throw new EvaluationError(`${where}: the array is stored in Fortran order; save it with np.save(path, np.ascontiguousarray(a))`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new EvaluationError(`${where}: bad shape (${shapeText})`);
  const order = descr[0];
  const code = descr.slice(1);
  if (descr.includes('O')) throw new EvaluationError(`${where}: the array holds Python objects (dtype=object); save numbers (e.g. a.astype(np.float32)) or, for class names, strings (dtype 'U')`);
  if (code.startsWith('U')) {
    const chars = Number(code.slice(1));
    if (order === '>') throw new EvaluationError(`${where}: big-endian strings are not supported`);
    return { dtype: 'unicode', itemSize: chars * 4, shape, dataOffset };
  }
  const known = DTYPES[code];
  if (!known) throw new EvaluationError(`${where}: dtype '${descr}' is not supported (use float32, float64, uint8 or integers)`);
  if (order === '>' && known[1] > 1) throw new EvaluationError(`${where}: big-endian data ('${descr}') is not supported; save with a.astype('<${code}')`);
  return { dtype: known[0], itemSize: known[1], shape, dataOffset };
}

/** Reads and parses the header at the reader's position, leaving it at the first element. */
export async function readNpyHeader(r: ByteReader, where: string): Promise<NpyHeader> {
  const pre = await readExactly(r, 10, where);
  const magic = String.fromCharCode(...pre.subarray(1, 6));
  if (pre[0] !== 0x93 || magic !== 'NUMPY') throw new EvaluationError(`${where}: not a NumPy .npy file (no \\x93NUMPY magic)`);
  const major = pre[6]!;
  const view = new DataView(pre.buffer, pre.byteOffset, pre.byteLength);
  let headerLen: number;
  let start = 10;
  if (major === 1) headerLen = view.getUint16(8, true);
  else if (major === 2 || major === 3) {
    const more = await readExactly(r, 2, where);
    headerLen = view.getUint16(8, true) + ((more[0]! | (more[1]! << 8)) << 16);
    start = 12;
  } else throw new EvaluationError(`${where}: .npy format version ${major} is not supported`);
  const header = await readExactly(r, headerLen, where);
  return parseNpyHeaderText(Buffer.from(header).toString(major === 3 ? 'utf8' : 'latin1'), start + headerLen, where);
}

/** Elements per sample (product of the shape after the first axis). */
export function sampleSize(h: NpyHeader): number {
  return h.shape.slice(1).reduce((a, b) => a * b, 1);
}

/** Little-endian raw elements -> Float32Array. float32 data that is aligned is returned as a view (no copy). */
export function toFloat32(bytes: Uint8Array, dtype: NpyDType): Float32Array {
  const { buffer, byteOffset, byteLength } = bytes;
  switch (dtype) {
    case 'float32':
      return byteOffset % 4 === 0 ? new Float32Array(buffer, byteOffset, byteLength / 4) : new Float32Array(bytes.slice().buffer);
    case 'uint8':
    case 'bool':
      return new Float32Array(bytes); // the typed-array constructor converts natively (from() iterates)
    default: {
      const src = typedView(bytes, dtype);
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = Number(src[i]);
      return out;
    }
  }
}

/** Integer class labels; non-integral or unsafe values fail with the index of the first one. */
export function toInt32Labels(bytes: Uint8Array, dtype: NpyDType, where: string): Int32Array {
  if (dtype === 'unicode') throw new EvaluationError(`${where}: labels are strings; save integer class ids (and the names as a 'class_names' array)`);
  if (dtype === 'int64') {
    // NumPy's default integer: read as 32-bit halves (no BigInt per label); a high half that is not the sign
    // extension of the low half is a value out of the int32 range.
    const b = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
    const halves = new Int32Array(b.buffer, b.byteOffset, Math.floor(b.byteLength / 4));
    const out = new Int32Array(halves.length >> 1);
    for (let i = 0; i < out.length; i++) {
      const lo = halves[2 * i]!;
      if (halves[2 * i + 1] !== (lo < 0 ? -1 : 0)) throw new EvaluationError(`${where}: label of sample ${i} is out of the int32 range, not a class id`);
      out[i] = lo;
    }
    return out;
  }
  const src = typedView(bytes, dtype);
  const out = new Int32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = Number(src[i]);
    if (!Number.isInteger(v) || Math.abs(v) > 2 ** 31 - 1) throw new EvaluationError(`${where}: label of sample ${i} is ${v}, not an integer class id`);
    out[i] = v;
  }
  return out;
}

/** A '<U' array -> strings (UTF-32LE, NUL-padded). */
export function toStrings(bytes: Uint8Array, itemSize: number): string[] {
  const out: string[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let off = 0; off + itemSize <= bytes.length; off += itemSize) {
    let s = '';
    for (let c = off; c < off + itemSize; c += 4) {
      const cp = view.getUint32(c, true);
      if (cp === 0) break;
      s += String.fromCodePoint(cp);
    }
    out.push(s);
  }
  return out;
}

type NumericView = Float32Array | Float64Array | Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

function typedView(bytes: Uint8Array, dtype: NpyDType): NumericView {
  // Copy into an aligned buffer when the slice is not aligned to the element size (data inside a zip entry).
  const size = dtype === 'float64' || dtype === 'int64' || dtype === 'uint64' ? 8 : dtype === 'float32' || dtype === 'int32' || dtype === 'uint32' ? 4 : dtype === 'int16' || dtype === 'uint16' ? 2 : 1;
  const b = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  const n = Math.floor(b.byteLength / size);
  switch (dtype) {
    case 'float32':
      return new Float32Array(b.buffer, b.byteOffset, n);
    case 'float64':
      return new Float64Array(b.buffer, b.byteOffset, n);
    case 'uint8':
    case 'bool':
      return b;
    case 'int8':
      return new Int8Array(b.buffer, b.byteOffset, n);
    case 'int16':
      return new Int16Array(b.buffer, b.byteOffset, n);
    case 'uint16':
      return new Uint16Array(b.buffer, b.byteOffset, n);
    case 'int32':
      return new Int32Array(b.buffer, b.byteOffset, n);
    case 'uint32':
      return new Uint32Array(b.buffer, b.byteOffset, n);
    case 'int64':
      return new BigInt64Array(b.buffer, b.byteOffset, n);
    case 'uint64':
      return new BigUint64Array(b.buffer, b.byteOffset, n);
    case 'unicode':
      throw new EvaluationError('strings are not numbers');
  }
}
