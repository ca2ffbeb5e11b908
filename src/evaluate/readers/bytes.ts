// Sequential byte readers over a file range (read by offset, one read per batch) or over an inflating stream
// (DEFLATED zip entries). Datasets are read batch by batch through these, so a 2 GB file is never in memory.
import { open, type FileHandle } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { createInflateRaw } from 'node:zlib';
import { EvaluationError } from '../types';

export interface ByteReader {
  /**
   * The next `n` bytes in a fresh, 8-byte aligned buffer (so typed-array views need no copy), or fewer at the end.
   */
  read(n: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** Bytes [start, end) of a file. */
export class FileRangeReader implements ByteReader {
  private pos: number;
  private constructor(
    private readonly fh: FileHandle,
    start: number,
    private readonly end: number,
  ) {
    this.pos = start;
  }

  static async open(path: string, start = 0, end?: number): Promise<FileRangeReader> {
    const fh = await open(path, 'r');
    const size = end ?? (await fh.stat()).size;
    return new FileRangeReader(fh, start, size);
  }

  async read(n: number): Promise<Uint8Array> {
    const want = Math.max(0, Math.min(n, this.end - this.pos));
    // A buffer of its own (not Node's shared pool): offset 0, so Float32Array/Float64Array views are aligned; not
    // zero-filled, since every byte is read over.
    const out = Buffer.allocUnsafeSlow(want);
    let got = 0;
    while (got < want) {
      const { bytesRead } = await this.fh.read(out, got, want - got, this.pos + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    this.pos += got;
    return got === want ? out : out.subarray(0, got);
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

/** The raw-DEFLATE data in bytes [start, end) of a file, inflated as it is read. */
export class InflateReader implements ByteReader {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private done = false;
  private readonly iterator: AsyncIterator<Buffer>;
  private readonly stream: NodeJS.ReadableStream & { destroy(): void };

  constructor(path: string, start: number, end: number) {
    const raw = createReadStream(path, { start, end: Math.max(start, end - 1), highWaterMark: 1 << 20 });
    const inflate = createInflateRaw({ chunkSize: 1 << 20 });
    raw.on('error', (e) => inflate.destroy(e));
    this.stream = raw.pipe(inflate);
    this.iterator = (this.stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  async read(n: number): Promise<Uint8Array> {
    while (this.buffered < n && !this.done) {
      let r: IteratorResult<Buffer>;
      try {
        r = await this.iterator.next();
      } catch (e) {
        throw new EvaluationError(`the compressed data is damaged (${(e as Error).message})`);
      }
      if (r.done) this.done = true;
      else {
        this.chunks.push(r.value);
        this.buffered += r.value.length;
      }
    }
    const want = Math.min(n, this.buffered);
    const out = new Uint8Array(want);
    let got = 0;
    while (got < want) {
      const c = this.chunks[0]!;
      const take = Math.min(c.length, want - got);
      out.set(c.subarray(0, take), got);
      got += take;
      if (take === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(take);
    }
    this.buffered -= want;
    return out;
  }

  async close(): Promise<void> {
    this.done = true;
    this.stream.destroy();
    await this.iterator.return?.();
  }
}

/** Reads exactly n bytes or fails with `what` in the message. */
export async function readExactly(r: ByteReader, n: number, what: string): Promise<Uint8Array> {
  const b = await r.read(n);
  if (b.length < n) throw new EvaluationError(`${what}: the file ends early (wanted ${n} bytes, found ${b.length})`);
  return b;
}
