// Follows a file that another process appends to (a run's output.log): each read() returns the text added since
// the last one, decoded as UTF-8 without splitting a character. No vscode here; callers poll it.
import * as fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

export class FileFollower {
  private fd: number | undefined;
  private readonly decoder = new StringDecoder('utf8');
  private readonly buffer = Buffer.alloc(64 * 1024);

  /** Starts at `offset` (default: the beginning). A file that cannot be opened yet is retried on each read. */
  constructor(
    readonly path: string,
    private offset = 0,
  ) {}

  /**
   * Where to start so that about the last `maxBytes` of the file are shown: 0 for a smaller file, else just after
   * a line break near size - maxBytes. `skipped` is how many bytes come before that.
   */
  static tailStart(path: string, maxBytes: number): { offset: number; skipped: number } {
    let size = 0;
    try {
      size = fs.statSync(path).size;
    } catch {
      return { offset: 0, skipped: 0 };
    }
    if (size <= maxBytes) return { offset: 0, skipped: 0 };
    let start = size - maxBytes;
    const probe = Buffer.alloc(Math.min(4096, maxBytes));
    try {
      const fd = fs.openSync(path, 'r');
      try {
        const n = fs.readSync(fd, probe, 0, probe.length, start);
        const newline = probe.subarray(0, n).indexOf(0x0a);
        if (newline >= 0) start += newline + 1;
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      // Read from the computed offset then.
    }
    return { offset: start, skipped: start };
  }

  /** The text appended since the last read ('' when none). */
  read(): string {
    if (this.fd === undefined) {
      try {
        this.fd = fs.openSync(this.path, 'r');
      } catch {
        return '';
      }
    }
    let text = '';
    for (;;) {
      let n = 0;
      try {
        n = fs.readSync(this.fd, this.buffer, 0, this.buffer.length, this.offset);
      } catch {
        return text;
      }
      if (n <= 0) return text;
      this.offset += n;
      text += this.decoder.write(this.buffer.subarray(0, n));
    }
  }

  close(): void {
    if (this.fd === undefined) return;
    try {
      fs.closeSync(this.fd);
    } catch {
      // Closed already.
    }
    this.fd = undefined;
  }
}
