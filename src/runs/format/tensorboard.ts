// TensorBoard event files (events.out.tfevents.*): scalars, read without TensorFlow or a protobuf library.
//
// Framing (TFRecord): uint64 length (little-endian), uint32 masked CRC32C of those 8 bytes, `length` bytes of data,
// uint32 masked CRC32C of the data. Both checksums are verified. A record cut short at the end of the file is a
// record still being written: kept until the rest arrives. A bad length checksum means the framing is lost: it is
// reported and the reader looks for the next position where a length and its checksum agree. A bad data checksum
// skips that record only.
//
// Data: a tensorflow.Event message. Fields read (proto numbers in brackets):
//   Event: wall_time [1] double, step [2] int64, summary [5] Summary
//   Summary: value [1] repeated Value
//   Value: tag [1], simple_value [2] float, tensor [8] TensorProto, metadata [9] SummaryMetadata
//   SummaryMetadata: plugin_data [1] { plugin_name [1] }
//   TensorProto: dtype [1], tensor_shape [2] { dim [2] { size [1] } }, tensor_content [4] bytes,
//                float_val [5], double_val [6], half_val [13]
// A scalar is a simple_value (TF1, torch's add_scalar), or a one-element float/double/half tensor whose tag's plugin
// is "scalars" (TF2 tf.summary.scalar, torch's add_scalar(new_style=True)). Plugin metadata is often written only
// with a tag's first value, so the plugin of each tag is remembered per file; a one-element float tensor of a tag
// never described by any plugin is taken as a scalar too. Everything else (histograms, images, text, graphs) is
// skipped without complaint.
import type { MetricRecord, ReadProblem } from '../../protocol/runFormat';
import { maskedCrc32c } from './crc32c';
import { ProtoReader, WIRE_FIXED32, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from './protobuf';
import { inferSplit } from './split';

const HEADER = 12;
const FOOTER = 4;
/** Larger records are reported, not buffered: no scalar event comes close. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

const DT_FLOAT = 1;
const DT_DOUBLE = 2;
const DT_HALF = 19;
const TWO_POW_63 = 2 ** 63;
const TWO_POW_64 = 2 ** 64;

export interface TbScalar {
  tag: string;
  step: number;
  /** Unix seconds. */
  wallTime: number;
  value: number;
}

export interface TbBatch {
  scalars: TbScalar[];
  /** `line` is the index of the record in the file, from 1. */
  problems: ReadProblem[];
}

/** Cuts a growing byte stream into verified TFRecord payloads. */
export class TfRecordReader {
  private buf: Uint8Array = new Uint8Array(0);
  private offset = 0;
  private index = 0;
  /** Byte offset in the file of buf[0]. */
  private fileOffset = 0;

  /** Records read so far (including those skipped). */
  get records(): number {
    return this.index;
  }

  /** Bytes waiting for the rest of their record. */
  get partialBytes(): number {
    return this.buf.length - this.offset;
  }

  push(chunk: Uint8Array, onRecord: (bytes: Uint8Array, from: number, to: number) => void, onProblem: (p: ReadProblem) => void): void {
    this.append(chunk);
    const b = this.buf;
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    let o = this.offset;
    while (b.length - o >= HEADER) {
      const lo = view.getUint32(o, true);
      const hi = view.getUint32(o + 4, true);
      const length = hi * 2 ** 32 + lo;
      if (view.getUint32(o + 8, true) !== maskedCrc32c(b, o, o + 8)) {
        const at = this.fileOffset + o;
        const next = this.resync(b, view, o + 1);
        onProblem({ line: this.index + 1, reason: `corrupt record header at byte ${at} (length checksum mismatch); skipped ${next - o} bytes` });
        o = next;
        continue;
      }
      if (length > MAX_RECORD_BYTES) {
        this.index++;
        onProblem({ line: this.index, reason: `record of ${length} bytes at byte ${this.fileOffset + o} is too large; stopped reading` });
        o = b.length;
        break;
      }
      const end = o + HEADER + length + FOOTER;
      if (end > b.length) break; // still being written
      this.index++;
      if (view.getUint32(o + HEADER + length, true) !== maskedCrc32c(b, o + HEADER, o + HEADER + length)) {
        onProblem({ line: this.index, reason: `corrupt record at byte ${this.fileOffset + o} (data checksum mismatch); skipped` });
      } else {
        onRecord(b, o + HEADER, o + HEADER + length);
      }
      o = end;
    }
    this.offset = o;
  }

  /** The file is complete: bytes left over are a record that was cut short. */
  end(onProblem: (p: ReadProblem) => void): void {
    const left = this.buf.length - this.offset;
    if (left > 0) {
      onProblem({ line: this.index + 1, reason: `truncated record at the end of the file (${left} bytes)` });
      this.fileOffset += this.buf.length;
      this.buf = new Uint8Array(0);
      this.offset = 0;
    }
  }

  /** The next offset from `from` where a header's checksum holds, or where too few bytes are left to tell. */
  private resync(b: Uint8Array, view: DataView, from: number): number {
    for (let o = from; o + HEADER <= b.length; o++) {
      if (view.getUint32(o + 8, true) === maskedCrc32c(b, o, o + 8)) return o;
    }
    return Math.max(from, b.length - HEADER + 1);
  }

  private append(chunk: Uint8Array): void {
    if (this.offset === this.buf.length) {
      this.fileOffset += this.buf.length;
      // Copy: the caller may reuse its read buffer.
      this.buf = chunk.slice();
      this.offset = 0;
      return;
    }
    const rest = this.buf.subarray(this.offset);
    const next = new Uint8Array(rest.length + chunk.length);
    next.set(rest, 0);
    next.set(chunk, rest.length);
    this.fileOffset += this.offset;
    this.buf = next;
    this.offset = 0;
  }
}

/** Reads the scalars of one event file as it grows. */
export class TensorBoardFileReader {
  private readonly records = new TfRecordReader();
  /** Plugin name of each tag, from the first value that carried metadata. */
  private readonly plugins = new Map<string, string>();

  get partialBytes(): number {
    return this.records.partialBytes;
  }

  push(chunk: Uint8Array): TbBatch {
    const batch: TbBatch = { scalars: [], problems: [] };
    this.records.push(
      chunk,
      (bytes, from, to) => {
        const reason = this.decodeEvent(bytes, from, to, batch.scalars);
        if (reason !== undefined) batch.problems.push({ line: this.records.records, reason });
      },
      (p) => batch.problems.push(p),
    );
    return batch;
  }

  end(): TbBatch {
    const batch: TbBatch = { scalars: [], problems: [] };
    this.records.end((p) => batch.problems.push(p));
    return batch;
  }

  /** Appends the event's scalars; returns why the event is malformed, if it is. */
  private decodeEvent(bytes: Uint8Array, from: number, to: number, out: TbScalar[]): string | undefined {
    const r = new ProtoReader(bytes, from, to);
    let wallTime = NaN;
    let step = 0;
    let summary: [number, number] | undefined;
    while (r.next()) {
      if (r.field === 1 && r.wire === WIRE_FIXED64) wallTime = r.num;
      else if (r.field === 2 && r.wire === WIRE_VARINT) step = r.num >= TWO_POW_63 ? r.num - TWO_POW_64 : r.num;
      else if (r.field === 5 && r.wire === WIRE_LEN) summary = [r.start, r.end];
    }
    if (r.error !== undefined) return `malformed event: ${r.error}`;
    if (summary === undefined) return undefined;
    const s = new ProtoReader(bytes, summary[0], summary[1]);
    while (s.next()) {
      if (s.field !== 1 || s.wire !== WIRE_LEN) continue;
      const reason = this.decodeValue(s.sub(), step, wallTime, out);
      if (reason !== undefined) return reason;
    }
    return s.error === undefined ? undefined : `malformed summary: ${s.error}`;
  }

  private decodeValue(v: ProtoReader, step: number, wallTime: number, out: TbScalar[]): string | undefined {
    let tag: string | undefined;
    let simple: number | undefined;
    let tensor: [number, number] | undefined;
    let plugin: string | undefined;
    while (v.next()) {
      if (v.field === 1 && v.wire === WIRE_LEN) tag = v.text();
      else if (v.field === 2 && v.wire === WIRE_FIXED32) simple = v.num;
      else if (v.field === 8 && v.wire === WIRE_LEN) tensor = [v.start, v.end];
      else if (v.field === 9 && v.wire === WIRE_LEN) plugin = pluginName(v.sub()) ?? plugin;
    }
    if (v.error !== undefined) return `malformed summary value: ${v.error}`;
    if (tag === undefined) return undefined;
    if (plugin !== undefined && !this.plugins.has(tag)) this.plugins.set(tag, plugin);
    if (simple !== undefined) {
      out.push({ tag, step, wallTime, value: simple });
      return undefined;
    }
    if (tensor === undefined) return undefined;
    const known = this.plugins.get(tag);
    if (known !== undefined && known !== 'scalars') return undefined;
    const value = scalarOfTensor(new ProtoReader(v.bytes, tensor[0], tensor[1]));
    if (value !== undefined) out.push({ tag, step, wallTime, value });
    return undefined;
  }
}

function pluginName(meta: ProtoReader): string | undefined {
  while (meta.next()) {
    if (meta.field === 1 && meta.wire === WIRE_LEN) {
      const data = meta.sub();
      while (data.next()) if (data.field === 1 && data.wire === WIRE_LEN) return data.text();
    }
  }
  return undefined;
}

/** The value of a one-element float, double or half tensor; undefined for anything else. */
function scalarOfTensor(t: ProtoReader): number | undefined {
  let dtype = 0;
  let elements = 1;
  let content: [number, number] | undefined;
  const floats: number[] = [];
  const halves: number[] = [];
  while (t.next()) {
    switch (t.field) {
      case 1:
        if (t.wire === WIRE_VARINT) dtype = t.num;
        break;
      case 2:
        if (t.wire === WIRE_LEN) elements = shapeElements(t.sub());
        break;
      case 4:
        if (t.wire === WIRE_LEN) content = [t.start, t.end];
        break;
      case 5: // float_val: packed, or one fixed32 per element
        if (t.wire === WIRE_LEN) for (let o = t.start; o + 4 <= t.end; o += 4) floats.push(t.float32At(o));
        else if (t.wire === WIRE_FIXED32) floats.push(t.num);
        break;
      case 6: // double_val
        if (t.wire === WIRE_LEN) for (let o = t.start; o + 8 <= t.end; o += 8) floats.push(t.float64At(o));
        else if (t.wire === WIRE_FIXED64) floats.push(t.num);
        break;
      case 13: // half_val: the 16 bits of each half in an int32 varint
        if (t.wire === WIRE_VARINT) halves.push(t.num);
        else if (t.wire === WIRE_LEN) {
          const packed = t.sub();
          for (let h = packed.varint(); h !== undefined; h = packed.pos < t.end ? packed.varint() : undefined) halves.push(h);
        }
        break;
    }
  }
  if (t.error !== undefined || elements !== 1) return undefined;
  if (dtype === DT_FLOAT) {
    if (content && content[1] - content[0] === 4) return t.float32At(content[0]);
    return floats.length === 1 ? floats[0] : undefined;
  }
  if (dtype === DT_DOUBLE) {
    if (content && content[1] - content[0] === 8) return t.float64At(content[0]);
    return floats.length === 1 ? floats[0] : undefined;
  }
  if (dtype === DT_HALF) {
    if (content && content[1] - content[0] === 2) return halfToNumber(t.bytes[content[0]]! | (t.bytes[content[0] + 1]! << 8));
    return halves.length === 1 ? halfToNumber(halves[0]!) : undefined;
  }
  return undefined;
}

function shapeElements(shape: ProtoReader): number {
  let n = 1;
  while (shape.next()) {
    if (shape.field === 2 && shape.wire === WIRE_LEN) {
      const dim = shape.sub();
      let size = 0;
      while (dim.next()) if (dim.field === 1 && dim.wire === WIRE_VARINT) size = dim.num;
      n *= size;
    } else if (shape.field === 3 && shape.wire === WIRE_VARINT && shape.num !== 0) {
      return -1; // unknown rank
    }
  }
  return n;
}

function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** A scalar as a record: the split comes from the tag ("Loss/train" -> loss in train). */
export function scalarToRecord(s: TbScalar): MetricRecord {
  const { metric, split } = inferSplit(s.tag);
  return { step: s.step, t: s.wallTime, epoch: undefined, split, values: { [metric]: s.value } };
}

export interface TbFile {
  /** File name, for problems and for the order of files with equal steps. */
  name: string;
  bytes: Uint8Array;
}

/**
 * Reads whole event files of one run (complete or still growing) and merges their scalars by step, then wall time,
 * then file name order. Problems name their file.
 */
export function readTensorBoardFiles(files: TbFile[], complete = true): { scalars: TbScalar[]; problems: (ReadProblem & { file: string })[] } {
  const all: { s: TbScalar; file: number; i: number }[] = [];
  const problems: (ReadProblem & { file: string })[] = [];
  const ordered = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  ordered.forEach((f, file) => {
    const reader = new TensorBoardFileReader();
    const a = reader.push(f.bytes);
    const b = complete ? reader.end() : { scalars: [], problems: [] };
    for (const batch of [a, b]) {
      for (const s of batch.scalars) all.push({ s, file, i: all.length });
      for (const p of batch.problems) problems.push({ ...p, file: f.name });
    }
  });
  all.sort((x, y) => x.s.step - y.s.step || x.s.wallTime - y.s.wallTime || x.file - y.file || x.i - y.i);
  return { scalars: all.map((x) => x.s), problems };
}
