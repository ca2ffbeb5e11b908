// The smallest protobuf wire-format reader that the TensorBoard event reader needs: varints, fixed 32/64-bit and
// length-delimited fields. Bounds are checked on every read; a malformed message makes next() return false and sets
// `error`, it never throws.

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

export class ProtoReader {
  pos: number;
  field = 0;
  wire = 0;
  error: string | undefined;
  /** The current field's value: a number for varint and fixed fields, [start, end) for length-delimited ones. */
  num = 0;
  start = 0;
  end = 0;
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    from = 0,
    private readonly limit = bytes.length,
  ) {
    this.pos = from;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Moves to the next field; false at the end of the message or on malformed input (then `error` says why). */
  next(): boolean {
    if (this.pos >= this.limit || this.error !== undefined) return false;
    const key = this.varint();
    if (key === undefined) return false;
    this.field = Math.floor(key / 8);
    this.wire = key % 8;
    switch (this.wire) {
      case WIRE_VARINT: {
        const v = this.varint();
        if (v === undefined) return false;
        this.num = v;
        return true;
      }
      case WIRE_FIXED64:
        if (this.pos + 8 > this.limit) return this.fail('truncated fixed64');
        this.num = this.view.getFloat64(this.pos, true);
        this.start = this.pos;
        this.pos += 8;
        return true;
      case WIRE_FIXED32:
        if (this.pos + 4 > this.limit) return this.fail('truncated fixed32');
        this.num = this.view.getFloat32(this.pos, true);
        this.start = this.pos;
        this.pos += 4;
        return true;
      case WIRE_LEN: {
        const len = this.varint();
        if (len === undefined) return false;
        if (this.pos + len > this.limit) return this.fail('length-delimited field past the end of the message');
        this.start = this.pos;
        this.end = this.pos + len;
        this.pos = this.end;
        return true;
      }
      default:
        return this.fail(`unsupported wire type ${this.wire}`);
    }
  }

  /** A sub-message reader over the current length-delimited field. */
  sub(): ProtoReader {
    return new ProtoReader(this.bytes, this.start, this.end);
  }

  text(): string {
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.start, this.end - this.start).toString('utf8');
  }

  /** Little-endian float32 / float64 at a byte offset (packed repeated fields). */
  float32At(at: number): number {
    return this.view.getFloat32(at, true);
  }

  float64At(at: number): number {
    return this.view.getFloat64(at, true);
  }

  /** Unsigned varint as a number; exact up to 2^53, which covers every step a run will reach. */
  varint(): number | undefined {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.limit) {
        this.fail('truncated varint');
        return undefined;
      }
      const b = this.bytes[this.pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    this.fail('varint longer than 10 bytes');
    return undefined;
  }

  private fail(reason: string): false {
    this.error = reason;
    return false;
  }
}
