// Descent: Show Run Output. A run launched by Descent: Train writes its stdout and stderr to <run dir>/output.log
// and goes on when the window reloads, but its terminal does not survive the reload. This terminal shows the end of
// output.log and follows it while the run is running, so a reloaded window (or another window) can watch the run
// again; Ctrl-C stops the run, as in the launch terminal. Reading only: it launches nothing.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { FileFollower } from '../../common/fileFollower';
import { RUN_FILES } from '../../protocol/runFormat';
import { toTerminal } from '../../train/tail';
import type { RunStore } from '../store/runStore';

/** How much of a long output.log is shown first (the whole file is one click away: the header's path). */
export const OUTPUT_TAIL_BYTES = 256 * 1024;
const POLL_MS = 250;
const DIM = '\x1b[2m';
const RESET = '\x1b[0m';
/** What a test can read of an output terminal: its run, whether it still follows, and what it has shown. */
export interface OutputTerminalState {
  key: string;
  name: string;
  following: boolean;
  text: string;
}

class RunOutputTerminal implements vscode.Pseudoterminal {
  private readonly writeEmitter = new vscode.EventEmitter<string>();
  readonly onDidWrite = this.writeEmitter.event;
  private follower: FileFollower | undefined;
  private timer: NodeJS.Timeout | undefined;
  private shown = '';
  following = false;

  constructor(
    private readonly store: RunStore,
    readonly key: string,
    readonly name: string,
    private readonly file: string,
  ) {}

  get text(): string {
    return this.shown;
  }

  open(): void {
    const { offset, skipped } = FileFollower.tailStart(this.file, OUTPUT_TAIL_BYTES);
    const before = skipped > 0 ? ` (the last ${Math.round(OUTPUT_TAIL_BYTES / 1024)} KiB; ${Math.round(skipped / 1024)} KiB before it are in the file)` : '';
    this.write(`${DIM}Descent: output of run ${this.name} → ${this.file}${before}${RESET}\n`);
    this.follower = new FileFollower(this.file, offset);
    this.following = true;
    this.poll();
    if (this.following) this.timer = setInterval(() => this.poll(), POLL_MS);
  }

  handleInput(data: string): void {
    if (data.includes('\x03') && this.following) {
      this.write(`\n${DIM}Stopping the run…${RESET}\n`);
      void vscode.commands.executeCommand('descent.runs.stop', this.key);
    }
  }

  close(): void {
    this.stop();
  }

  private poll(): void {
    const text = this.follower?.read();
    if (text) this.write(text);
    const status = this.store.get(this.key)?.summary().status;
    if (status === 'running') return;
    const rest = this.follower?.read();
    if (rest) this.write(rest);
    this.write(`\n${DIM}Descent: the run is ${status ?? 'gone (its folder was removed)'}; output.log ends here.${RESET}\n`);
    this.stop();
  }

  private stop(): void {
    this.following = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.follower?.close();
  }

  private write(text: string): void {
    this.shown = (this.shown + text).slice(-OUTPUT_TAIL_BYTES * 2);
    this.writeEmitter.fire(toTerminal(text));
  }
}

/** The output terminals of this window, by run key (one per run: showing it again reveals the same terminal). */
export class RunOutputTerminals implements vscode.Disposable {
  private readonly open = new Map<string, { terminal: vscode.Terminal; pty: RunOutputTerminal }>();
  private readonly closed: vscode.Disposable;

  constructor(private readonly store: RunStore) {
    this.closed = vscode.window.onDidCloseTerminal((t) => {
      for (const [key, entry] of this.open) if (entry.terminal === t) this.open.delete(key);
    });
  }

  /** Shows the run's output; returns why not when it has none. */
  show(key: string): { ok: true; name: string } | { ok: false; message: string } {
    const run = this.store.get(key);
    if (!run) return { ok: false, message: 'no such run' };
    const name = run.summary().name;
    if (run.found.kind !== 'descent') return { ok: false, message: `${name} was written by ${run.found.kind}, not launched by Descent: Train, so it has no output.log.` };
    const file = path.join(run.found.dir, RUN_FILES.output);
    if (!fs.existsSync(file)) {
      return { ok: false, message: `${name} has no output.log: it was not launched by Descent: Train (a script run by hand shows its output in its own terminal).` };
    }
    const known = this.open.get(key);
    if (known) {
      known.terminal.show();
      return { ok: true, name: known.terminal.name };
    }
    const pty = new RunOutputTerminal(this.store, key, name, file);
    const terminal = vscode.window.createTerminal({ name: `Descent output: ${name}`, pty, iconPath: new vscode.ThemeIcon('output') });
    this.open.set(key, { terminal, pty });
    terminal.show();
    return { ok: true, name: terminal.name };
  }

  states(): OutputTerminalState[] {
    return [...this.open.values()].map(({ pty, terminal }) => ({ key: pty.key, name: terminal.name, following: pty.following, text: pty.text }));
  }

  dispose(): void {
    this.closed.dispose();
    for (const { terminal } of this.open.values()) terminal.dispose();
    this.open.clear();
  }
}
