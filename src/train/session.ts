// One launched run. The process is `python -m descent.supervise <run dir> -- <command> <args…>` (argument arrays,
// no shell, its own process group), with stdout and stderr on <run dir>/output.log, a file: the run goes on when the
// window reloads, and the supervisor (python/descent/supervise.py), not the window, completes run.json and keeps the
// tail of stderr in stderr.log. This class shows output.log in the terminal as it grows, stops the whole process tree,
// and completes run.json itself when the supervisor could not (it was killed, or could not start).
// No vscode here: the terminal (terminal.ts) and the commands sit on top.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileFollower } from '../common/fileFollower';
import { RUN_FILES, type RunStatus } from '../protocol/runFormat';
import { descendants, listProcesses, signalTree } from './processTree';
import { completeRunInfo, type LaunchedRunInfo, type RunOutcome } from './runRecord';
import { readRunJson, updateRunJson, writeStderrLog } from './runDirectory';
import { TailBuffer } from './tail';

/** The combined stdout and stderr of the run, shown in its terminal. */
export const OUTPUT_FILE = RUN_FILES.output;

export interface PreparedRun {
  dir: string;
  info: LaunchedRunInfo;
  env: Record<string, string>;
}

export interface RunResult {
  status: RunStatus;
  exitCode: number | null;
  signal: string | null;
  stderrTail: string;
  spawnError?: string;
}

export interface SessionOutput {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** Milliseconds between SIGTERM and SIGKILL when stopping. */
export const STOP_GRACE_MS = 4000;
const POLL_MS = 200;

/** The supervisor's argument array around the run's own command. Pure. */
export function supervisedArgs(runDir: string, command: string, args: readonly string[]): string[] {
  return ['-m', 'descent.supervise', runDir, '--', command, ...args];
}

export class RunSession {
  readonly done: Promise<RunResult>;
  private resolveDone!: (r: RunResult) => void;
  private child: ChildProcess | undefined;
  private stopRequested = false;
  private stopping: Promise<void> | undefined;
  private ended = false;
  private poller: NodeJS.Timeout | undefined;
  private output: FileFollower | undefined;
  private out: SessionOutput | undefined;

  constructor(readonly run: PreparedRun) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  get dir(): string {
    return this.run.dir;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && !this.ended;
  }

  start(out: SessionOutput): void {
    this.out = out;
    const { info, env } = this.run;
    const outputPath = path.join(this.dir, OUTPUT_FILE);
    let child: ChildProcess;
    let writeFd: number | undefined;
    try {
      writeFd = fs.openSync(outputPath, 'a');
      const python = info.interpreter ?? info.command;
      child = spawn(python, supervisedArgs(this.dir, info.command, info.args), {
        cwd: info.cwd,
        env,
        shell: false,
        windowsHide: true,
        // Its own process group, so Stop reaches the children (data loader workers, torchrun's processes).
        detached: process.platform !== 'win32',
        stdio: ['ignore', writeFd, writeFd],
      });
    } catch (e) {
      this.finish({ exitCode: null, signal: null, spawnError: (e as Error).message });
      return;
    } finally {
      if (writeFd !== undefined) fs.closeSync(writeFd);
    }
    this.child = child;
    // Not tied to the window: the run outlives a reload.
    child.unref();
    this.output = new FileFollower(outputPath);
    this.poller = setInterval(() => this.drain(), POLL_MS);
    child.on('error', (err: NodeJS.ErrnoException) => {
      // Spawn failures (ENOENT, EACCES) arrive here; an error after a successful spawn is followed by 'exit'.
      if (child.pid === undefined) this.finish({ exitCode: null, signal: null, spawnError: describeSpawnError(info.interpreter ?? info.command, err) });
    });
    child.on('exit', (code, sig) => this.finish({ exitCode: code, signal: sig }));
    if (child.pid !== undefined) {
      const pid = child.pid;
      try {
        updateRunJson(this.dir, (doc) => ({ ...doc, pid }), { ...info });
      } catch {
        // The run directory went away or became read-only: the run goes on, its end is reported in the terminal.
      }
    }
  }

  /**
   * Stops the whole process tree: SIGTERM to all of it (the supervisor passes it on and records "stopped"), then
   * SIGKILL to what is left of the command's processes after the grace period, and to the supervisor last.
   */
  stop(graceMs = STOP_GRACE_MS): Promise<void> {
    this.stopRequested = true;
    const pid = this.child?.pid;
    if (!this.running || pid === undefined) return this.done.then(() => undefined);
    this.stopping ??= (async () => {
      const known = await signalTree(pid, 'SIGTERM');
      const wait = (ms: number) => Promise.race([this.done.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
      if (await wait(graceMs)) return this.killLeftovers(known);
      // The command ignored SIGTERM: kill its processes but spare the supervisor, which then records the end.
      const tree = [...new Set([...descendants(await listProcesses(), pid), ...known])];
      for (const p of tree) {
        for (const target of [p, -p]) {
          try {
            process.kill(target, 'SIGKILL');
          } catch {
            // Gone already.
          }
        }
      }
      if (!(await wait(3000))) await signalTree(pid, 'SIGKILL', tree);
      await this.done;
    })();
    return this.stopping;
  }

  /** Workers in sessions of their own (torchrun) can outlive the leader: SIGKILL whatever is left. */
  private async killLeftovers(known: number[]): Promise<void> {
    for (const p of known) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // Gone.
      }
    }
  }

  private drain(): void {
    const text = this.out ? this.output?.read() : '';
    if (text) this.out!.stdout(text);
  }

  private finish(r: { exitCode: number | null; signal: string | null; spawnError?: string }): void {
    if (this.ended) return;
    this.ended = true;
    if (this.poller) clearInterval(this.poller);
    this.drain();
    this.output?.close();
    let doc = readRunJson(this.dir);
    let stderrTail = '';
    try {
      stderrTail = fs.readFileSync(path.join(this.dir, RUN_FILES.stderr), 'utf8');
    } catch {
      stderrTail = '';
    }
    if (!doc || doc.status === 'running' || r.spawnError) {
      // The supervisor did not complete the run (it could not start, or was killed): complete it here.
      const outcome: RunOutcome = {
        exitCode: r.exitCode,
        signal: r.signal,
        stopRequested: this.stopRequested,
        end: new Date(),
        spawnError: r.spawnError,
      };
      if (r.spawnError) {
        const tail = new TailBuffer();
        tail.push(stderrTail + r.spawnError + '\n');
        stderrTail = tail.value();
        try {
          writeStderrLog(this.dir, stderrTail, false);
        } catch {
          // The directory is gone.
        }
      }
      try {
        doc = completeRunInfo(doc ?? { ...this.run.info }, outcome);
        updateRunJson(this.dir, () => doc!);
      } catch {
        // Nothing more to do: the terminal still says how it ended.
      }
    }
    const status = (doc?.status as RunStatus | undefined) ?? 'failed';
    const exitCode = typeof doc?.exitCode === 'number' ? doc.exitCode : null;
    const signal = typeof doc?.signal === 'string' ? doc.signal : r.signal;
    this.resolveDone({ status, exitCode, signal, stderrTail, spawnError: r.spawnError });
  }
}

export function describeSpawnError(command: string, err: NodeJS.ErrnoException): string {
  if (err.code === 'ENOENT') return `Could not start ${command}: no such file. Check the interpreter (Descent: Check Environment).`;
  if (err.code === 'EACCES') return `Could not start ${command}: permission denied (not executable).`;
  return `Could not start ${command}: ${err.message}`;
}
