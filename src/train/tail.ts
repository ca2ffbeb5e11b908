// The tail of a stream (stderr), bounded in characters, for stderr.log and error messages. Pure.

export class TailBuffer {
  private text = '';
  private dropped = false;

  constructor(private readonly maxChars = 64 * 1024) {}

  push(chunk: string): void {
    this.text += chunk;
    if (this.text.length > this.maxChars * 2) this.trim();
  }

  /** The last maxChars characters, starting at a line boundary when something was dropped. */
  value(): string {
    this.trim();
    return this.text;
  }

  get truncated(): boolean {
    this.trim();
    return this.dropped;
  }

  private trim(): void {
    if (this.text.length <= this.maxChars) return;
    let cut = this.text.length - this.maxChars;
    const nl = this.text.indexOf('\n', cut);
    if (nl !== -1 && nl - cut < 1024) cut = nl + 1;
    this.text = this.text.slice(cut);
    this.dropped = true;
  }
}

/** The last `lines` non-empty lines of a text, for a notification. */
export function lastLines(text: string, lines: number): string {
  return text
    .replace(/\r\n/g, '\n')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-lines)
    .join('\n');
}

/** Text for a terminal: bare "\n" becomes "\r\n" (a pseudoterminal does not translate line ends). */
export function toTerminal(text: string): string {
  return text.replace(/\r?\n/g, '\r\n');
}
