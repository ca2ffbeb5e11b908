// The terminal a run is shown in: a Pseudoterminal (run by a Task with CustomExecution) that starts the run when it
// opens, prints its output, and ends with the run's exit code. Ctrl-C stops the run; closing the terminal does not.
import * as vscode from 'vscode';
import { displayCommand } from './launchPlan';
import type { RunResult, RunSession } from './session';
import { toTerminal } from './tail';

const DIM = '\x1b[2m';
const RED = '\x1b[31m';
const RESET = '\x1b[0m';

export class TrainingTerminal implements vscode.Pseudoterminal {
  private readonly writeEmitter = new vscode.EventEmitter<string>();
  private readonly closeEmitter = new vscode.EventEmitter<number>();
  readonly onDidWrite = this.writeEmitter.event;
  readonly onDidClose = this.closeEmitter.event;
  private closed = false;

  constructor(
    private readonly session: RunSession,
    private readonly onStarted: (session: RunSession) => void,
  ) {}

  open(): void {
    const info = this.session.run.info;
    this.writeEmitter.fire(toTerminal(`${DIM}Descent run ${info.name} → ${this.session.dir}\n$ ${displayCommand(info.command, info.args)}${RESET}\n`));
    this.session.start({
      stdout: (t) => this.writeEmitter.fire(toTerminal(t)),
      stderr: (t) => this.writeEmitter.fire(toTerminal(t)),
    });
    this.onStarted(this.session);
    void this.session.done.then((r) => this.ended(r));
  }

  handleInput(data: string): void {
    // Ctrl-C: stop the run (the process reads no input; its stdin is closed).
    if (data.includes('\x03') && this.session.running) {
      this.writeEmitter.fire(toTerminal(`\n${DIM}Stopping the run…${RESET}\n`));
      void this.session.stop();
    }
  }

  close(): void {
    // The terminal went away (closed by the user, or the window is reloading): the run goes on, as it does after a
    // reload; Descent: Stop Run or the Runs view stops it.
  }

  private ended(r: RunResult): void {
    if (this.closed) return;
    this.closed = true;
    const how = r.spawnError
      ? `${RED}${r.spawnError}${RESET}`
      : r.signal
        ? `ended by ${r.signal}`
        : `exited with code ${r.exitCode ?? 'unknown'}`;
    const colour = r.status === 'failed' ? RED : DIM;
    this.writeEmitter.fire(toTerminal(`\n${colour}Descent: run ${r.status} (${how}).${RESET}\n`));
    this.closeEmitter.fire(r.exitCode ?? (r.status === 'finished' ? 0 : 1));
    this.writeEmitter.dispose();
    this.closeEmitter.dispose();
  }
}
