// A minimal protobuf wire-format cursor: just what reading ONNX needs. It never copies payloads: length-delimited
// fields come back as [start, end) offsets into the caller's bytes, so a model's weights are never touched.

export class OnnxFormatError extends Error {
  constructor(
    message: string,
    /** Byte offset in the file where reading failed, when known. */
    readonly offset?: number,
  ) {
    super(message);
    this.name = 'OnnxFormatError';
  }
}

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

const utf8 = new TextDecoder('utf-8', { fatal: false });
const TWO_32 = 4294967296;

export class Cursor {
  pos: number;

  constructor(
    readonly bytes: Uint8Array,
    start: number,
    readonly end: number,
    /** What is being read, for error messages ("GraphProto", ...). */
    readonly what: string,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  fail(message: string): never {
    throw new OnnxFormatError(`${message} in ${this.what} at byte ${this.pos}`, this.pos);
  }

  /** Reads a tag; returns [fieldNumber, wireType]. */
  tag(): [number, number] {
    const key = this.varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field === 0) this.fail('field number 0 (not a protobuf message)');
    if (wire !== WIRE_VARINT && wire !== WIRE_I64 && wire !== WIRE_LEN && wire !== WIRE_I32) {
      this.fail(`unsupported wire type ${wire} for field ${field}`);
    }
    return [field, wire];
  }

  /** An unsigned varint as a number (exact up to 2^53; ONNX sizes and counts stay far below). */
  varint(): number {
    const b = this.bytes;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const byte = b[this.pos++]!;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
    }
    return this.fail('varint longer than 10 bytes');
  }

  /** A signed int64 varint (two's complement): -1 is 10 bytes of 0xff... and must come back as -1. */
  int64(): number {
    const b = this.bytes;
    let lo = 0;
    let hi = 0;
    let i = 0;
    for (; i < 10; i++) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const byte = b[this.pos++]!;
      if (i < 4) lo |= (byte & 0x7f) << (i * 7);
      else if (i === 4) {
        lo |= (byte & 0x0f) << 28;
        hi |= (byte & 0x7f) >> 4;
      } else hi |= (byte & 0x7f) << (i * 7 - 32);
      if (byte < 0x80) break;
    }
    if (i === 10) this.fail('varint longer than 10 bytes');
    lo >>>= 0;
    if (hi & 0x80000000) {
      // Negative: -(~value + 1).
      const nlo = ~lo >>> 0;
      const nhi = ~hi >>> 0;
      return -(nhi * TWO_32 + nlo + 1);
    }
    return (hi >>> 0) * TWO_32 + lo;
  }

  /** A length-delimited payload: returns its [start, end) and moves past it. */
  span(): [number, number] {
    const len = this.varint();
    const start = this.pos;
    if (len > this.end - start) this.fail(`length ${len} runs past the end (${this.end - start} bytes left)`);
    this.pos = start + len;
    return [start, start + len];
  }

  string(): string {
    const [s, e] = this.span();
    return utf8.decode(this.bytes.subarray(s, e));
  }

  float32(): number {
    if (this.end - this.pos < 4) this.fail('truncated float');
    const v = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }

  /** Skips a field of the given wire type. */
  skip(wire: number): void {
    if (wire === WIRE_VARINT) this.varint();
    else if (wire === WIRE_LEN) this.span();
    else {
      const n = wire === WIRE_I64 ? 8 : 4;
      if (this.end - this.pos < n) this.fail('truncated fixed-size field');
      this.pos += n;
    }
  }

  /** A sub-message cursor for a length-delimited field. */
  sub(what: string): Cursor {
    const [s, e] = this.span();
    return new Cursor(this.bytes, s, e, what);
  }

  /** Repeated int64 field, packed (wire 2) or not (wire 0): appends to out. */
  int64s(wire: number, out: number[]): void {
    if (wire === WIRE_VARINT) {
      out.push(this.int64());
      return;
    }
    if (wire !== WIRE_LEN) this.fail(`repeated int64 with wire type ${wire}`);
    const inner = this.sub(this.what);
    while (!inner.done) out.push(inner.int64());
  }
}

