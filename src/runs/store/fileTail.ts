// Reads a growing file by byte offset: each read returns only the bytes written since the last one, never the file
// from the start again. A file that shrank (truncated) or was replaced (another inode: rotated, or rewritten through
// a rename) is reported as `reset` and read again from byte 0.
import { promises as fsp } from 'node:fs';

export interface TailRead {
  /** The file is gone (or never existed). */
  missing: boolean;
  /** The file was truncated or replaced since the last read: forget what was read, `chunks` start at byte 0. */
  reset: boolean;
  /** New bytes, in order. Empty when nothing was written. */
  chunks: Uint8Array[];
  /** Size and modification time (ms) at this read. */
  size: number;
  mtimeMs: number;
}

/** Bytes read per read() call at most; the rest comes with the next call (keeps one refresh short). */
export const DEFAULT_MAX_READ_BYTES = 64 * 1024 * 1024;
const CHUNK = 4 * 1024 * 1024;

export class FileTail {
  private offset = 0;
  private ino: number | undefined;
  private lastSize = -1;
  private lastMtime = -1;

  constructor(
    readonly file: string,
    private readonly maxReadBytes = DEFAULT_MAX_READ_BYTES,
  ) {}

  /** Bytes consumed so far. */
  get position(): number {
    return this.offset;
  }

  /** Forget everything: the next read starts at byte 0. */
  rewind(): void {
    this.offset = 0;
    this.ino = undefined;
    this.lastSize = -1;
    this.lastMtime = -1;
  }

  async read(): Promise<TailRead> {
    let st;
    try {
      st = await fsp.stat(this.file);
    } catch {
      const reset = this.offset > 0 || this.ino !== undefined;
      this.rewind();
      return { missing: true, reset, chunks: [], size: 0, mtimeMs: 0 };
    }
    let reset = false;
    if ((this.ino !== undefined && st.ino !== this.ino) || st.size < this.offset) {
      reset = this.offset > 0 || this.ino !== undefined;
      this.offset = 0;
    } else if (st.size === this.lastSize && st.mtimeMs !== this.lastMtime && st.size === this.offset && st.size > 0) {
      // Same size, newer time: rewritten in place with other bytes of the same length. Rare; read it again.
      reset = true;
      this.offset = 0;
    }
    this.ino = st.ino;
    this.lastSize = st.size;
    this.lastMtime = st.mtimeMs;
    const chunks: Uint8Array[] = [];
    const end = Math.min(st.size, this.offset + this.maxReadBytes);
    if (end > this.offset) {
      const fh = await fsp.open(this.file, 'r');
      try {
        while (this.offset < end) {
          const want = Math.min(CHUNK, end - this.offset);
          const buf = Buffer.allocUnsafe(want);
          const { bytesRead } = await fh.read(buf, 0, want, this.offset);
          if (bytesRead <= 0) break;
          chunks.push(bytesRead === want ? buf : buf.subarray(0, bytesRead));
          this.offset += bytesRead;
        }
      } finally {
        await fh.close();
      }
    }
    return { missing: false, reset, chunks, size: st.size, mtimeMs: st.mtimeMs };
  }

  /** True when read() stopped short of the end (maxReadBytes): call it again. */
  get behind(): boolean {
    return this.lastSize > this.offset;
  }
}

/** The first `max` bytes of a file as text ("" when unreadable). */
export async function readHead(file: string, max = 4096): Promise<string> {
  try {
    const fh = await fsp.open(file, 'r');
    try {
      const buf = Buffer.alloc(max);
      const { bytesRead } = await fh.read(buf, 0, max, 0);
      return buf.toString('utf8', 0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch {
    return '';
  }
}
