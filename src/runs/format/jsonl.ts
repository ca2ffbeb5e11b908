// Incremental JSON Lines reading for files that grow while a process writes them. Fed byte chunks as they are read;
// never throws on bad input: a bad line is reported ({line, reason}) and skipped, the rest is read.
import type { ReadProblem } from '../../protocol/runFormat';

const NEWLINE = 0x0a;
/** A line longer than this is skipped (reported once its newline arrives); its bytes are not kept. */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024;

/**
 * Cuts bytes into complete lines. Only bytes up to the last "\n" are decoded, and a "\n" byte never occurs inside a
 * multi-byte UTF-8 sequence, so characters split across chunks are decoded whole. The text after the last "\n" is a
 * record still being written: kept until its newline arrives, or returned by end() when the file is complete.
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes of an over-long line being dropped until its newline. */
  private dropping = 0;
  private lineNo = 0;

  constructor(private readonly maxLineBytes = DEFAULT_MAX_LINE_BYTES) {}

  /** Number of lines completed so far (the next line's number is this + 1). */
  get lines(): number {
    return this.lineNo;
  }

  /** Bytes of the unfinished last line. */
  get partialBytes(): number {
    return this.pendingBytes;
  }

  /**
   * `onBlock`, when given, is offered each run of whole lines decoded together (text without its final newline,
   * the number of its first line, and how many lines it holds); when it returns true the lines are taken care of,
   * otherwise they go to `onLine` one by one.
   */
  push(
    chunk: Uint8Array,
    onLine: (text: string, line: number) => void,
    onProblem: (p: ReadProblem) => void,
    onBlock?: (text: string, firstLine: number, lines: number) => boolean,
  ): void {
    let buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (buf.length === 0) return;
    const last = buf.lastIndexOf(NEWLINE);
    if (last < 0) {
      this.keep(buf);
      return;
    }
    let start = 0;
    if (this.dropping > 0 || this.pendingBytes > 0) {
      // Finish the pending line with the bytes up to the first newline; the rest is decoded in one go below.
      const first = buf.indexOf(NEWLINE);
      if (this.dropping > 0) {
        this.lineNo++;
        onProblem({ line: this.lineNo, reason: `line longer than ${this.maxLineBytes} bytes; skipped` });
        this.dropping = 0;
      } else {
        this.pending.push(buf.subarray(0, first));
        const whole = Buffer.concat(this.pending, this.pendingBytes + first);
        this.pending = [];
        this.pendingBytes = 0;
        this.emit(whole.toString('utf8'), onLine);
      }
      start = first + 1;
    }
    if (start <= last) {
      if (last - start > this.maxLineBytes) {
        // Rare: a chunk holding over-long lines. Go line by line so only the long ones are dropped.
        this.pushLines(buf.subarray(start, last + 1), onLine, onProblem);
      } else {
        const text = buf.toString('utf8', start, last);
        if (onBlock) {
          let lines = 1;
          for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lines++;
          if (onBlock(text, this.lineNo + 1, lines)) {
            this.lineNo += lines;
            if (last + 1 < buf.length) this.keep(buf.subarray(last + 1));
            return;
          }
        }
        let from = 0;
        for (;;) {
          const nl = text.indexOf('\n', from);
          if (nl < 0) {
            this.emit(text.substring(from), onLine);
            break;
          }
          this.emit(text.substring(from, nl), onLine);
          from = nl + 1;
        }
      }
    }
    if (last + 1 < buf.length) {
      buf = buf.subarray(last + 1);
      this.keep(buf);
    }
  }

  /** The file is complete: its unfinished last line, if any, is a line after all. */
  end(onLine: (text: string, line: number) => void, onProblem: (p: ReadProblem) => void): void {
    if (this.dropping > 0) {
      this.lineNo++;
      onProblem({ line: this.lineNo, reason: `line longer than ${this.maxLineBytes} bytes; skipped` });
      this.dropping = 0;
    } else if (this.pendingBytes > 0) {
      const whole = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
      this.emit(whole.toString('utf8'), onLine);
    }
  }

  private pushLines(buf: Buffer, onLine: (text: string, line: number) => void, onProblem: (p: ReadProblem) => void) {
    let from = 0;
    while (from < buf.length) {
      const nl = buf.indexOf(NEWLINE, from);
      if (nl - from > this.maxLineBytes) {
        this.lineNo++;
        onProblem({ line: this.lineNo, reason: `line longer than ${this.maxLineBytes} bytes; skipped` });
      } else {
        this.emit(buf.toString('utf8', from, nl), onLine);
      }
      from = nl + 1;
    }
  }

  private keep(buf: Buffer): void {
    if (this.dropping > 0) {
      this.dropping += buf.length;
      return;
    }
    if (this.pendingBytes + buf.length > this.maxLineBytes) {
      this.dropping = this.pendingBytes + buf.length;
      this.pending = [];
      this.pendingBytes = 0;
      return;
    }
    // Copy: the caller may reuse its read buffer.
    this.pending.push(Buffer.from(buf));
    this.pendingBytes += buf.length;
  }

  private emit(text: string, onLine: (text: string, line: number) => void): void {
    this.lineNo++;
    let end = text.length;
    if (end > 0 && text.charCodeAt(end - 1) === 13) end--; // CRLF
    let start = 0;
    if (this.lineNo === 1 && text.charCodeAt(0) === 0xfeff) start = 1; // a BOM some editors add
    if (start !== 0 || end !== text.length) text = text.substring(start, end);
    onLine(text, this.lineNo);
  }
}

/** What parsing one line gives: a value, null for a line to ignore silently, or a string saying why it is bad. */
export type LineResult<T> = T | null | string;

export interface JsonlBatch<T> {
  records: T[];
  problems: ReadProblem[];
}

/**
 * A JSON Lines stream of one kind of record: bytes in, records and problems out. `parse` turns one line's text into a
 * record; blank lines are skipped before it is called.
 */
export class JsonlReader<T> {
  private readonly splitter: LineSplitter;

  /**
   * `fromValue`, when given, turns an already parsed line into a record (what `parse` does after JSON.parse): the
   * reader then parses each block of lines with one JSON.parse call (about twice as fast as one call per line) and
   * goes line by line only for a block that is not plain JSON objects one per line.
   */
  constructor(
    private readonly parse: (text: string) => LineResult<T>,
    maxLineBytes = DEFAULT_MAX_LINE_BYTES,
    private readonly fromValue?: (value: unknown) => LineResult<T>,
  ) {
    this.splitter = new LineSplitter(maxLineBytes);
  }

  get lines(): number {
    return this.splitter.lines;
  }

  get partialBytes(): number {
    return this.splitter.partialBytes;
  }

  push(chunk: Uint8Array): JsonlBatch<T> {
    const batch: JsonlBatch<T> = { records: [], problems: [] };
    const block = this.fromValue ? (text: string, first: number, lines: number) => this.parseBlock(text, first, lines, batch) : undefined;
    this.splitter.push(chunk, this.lineHandler(batch), (p) => batch.problems.push(p), block);
    return batch;
  }

  /** All lines of `text` at once, when each is one JSON object: `[` + lines joined by commas + `]`. */
  private parseBlock(text: string, firstLine: number, lines: number, batch: JsonlBatch<T>): boolean {
    if (!everyLineIsBraced(text)) return false;
    let values: unknown;
    try {
      values = JSON.parse(`[${text.replaceAll('\n', ',')}]`);
    } catch {
      return false; // a bad line, NaN tokens, blank lines...: line by line
    }
    // A line holding two objects and another holding none would still add up: lines that each start with `{` and
    // end with `}` make that need a string spanning lines, which JSON does not have; the count is checked as well.
    if (!Array.isArray(values) || values.length !== lines) return false;
    const fromValue = this.fromValue!;
    for (let i = 0; i < values.length; i++) {
      const r = fromValue(values[i]);
      if (typeof r === 'string') batch.problems.push({ line: firstLine + i, reason: r });
      else if (r !== null) batch.records.push(r);
    }
    return true;
  }

  /** Call when the file is complete (the writer finished): reads a last line that has no newline. */
  end(): JsonlBatch<T> {
    const batch: JsonlBatch<T> = { records: [], problems: [] };
    this.splitter.end(this.lineHandler(batch), (p) => batch.problems.push(p));
    return batch;
  }

  private lineHandler(batch: JsonlBatch<T>): (text: string, line: number) => void {
    const parse = this.parse;
    return (text, line) => {
      if (text.length === 0 || isBlank(text)) return;
      let result: LineResult<T>;
      try {
        result = parse(text);
      } catch (e) {
        // parse functions are written not to throw; this keeps the promise if one does.
        result = `unreadable: ${e instanceof Error ? e.message : String(e)}`;
      }
      if (typeof result === 'string') batch.problems.push({ line, reason: result });
      else if (result !== null) batch.records.push(result);
    };
  }
}

/** True when every line of `text` starts with `{` and ends with `}` (or `}\r`). */
function everyLineIsBraced(text: string): boolean {
  if (text.charCodeAt(0) !== 0x7b) return false;
  for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', nl + 1)) {
    const before = text.charCodeAt(nl - 1) === 13 ? nl - 2 : nl - 1;
    if (text.charCodeAt(before) !== 0x7d || text.charCodeAt(nl + 1) !== 0x7b) return false;
  }
  const end = text.charCodeAt(text.length - 1) === 13 ? text.length - 2 : text.length - 1;
  return text.charCodeAt(end) === 0x7d;
}

function isBlank(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}

/** Bare NaN / Infinity / -Infinity tokens (Python's json.dumps default) quoted, so JSON.parse accepts the line. */
const BARE_NON_FINITE = /([:,[]\s*)(NaN|-?Infinity)(?=\s*[,}\]])/g;

/**
 * JSON.parse that never throws: the value, or a short reason. Accepts the bare non-finite tokens as the run format's
 * strings. The retry costs only on lines that failed once.
 */
export function parseJsonLine(text: string): { value: unknown } | { error: string } {
  try {
    return { value: JSON.parse(text) };
  } catch (e) {
    if (text.includes('NaN') || text.includes('Infinity')) {
      try {
        return { value: JSON.parse(text.replace(BARE_NON_FINITE, '$1"$2"')) };
      } catch {
        // fall through to the first error
      }
    }
    return { error: `not JSON (${e instanceof Error ? e.message : String(e)})` };
  }
}

/** The text of a line for an error message: short, on one line. */
export function excerpt(text: string, max = 60): string {
  const one = text.replace(/\s+/g, ' ');
  return one.length > max ? `${one.slice(0, max)}…` : one;
}
