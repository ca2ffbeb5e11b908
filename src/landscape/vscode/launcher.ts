// Runs the landscape engine (`python -m descent.landscape`) for one landscape folder: the resolved interpreter, the
// extension's python/ on PYTHONPATH, an argument array (no shell). Progress JSON Lines on stdout drive a
// notification with percentage, ETA and Cancel; Cancel sends SIGINT (the engine saves and marks the landscape
// "cancelled", so it can be resumed). The stderr tail is kept for the failure message.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as vscode from 'vscode';
import { tailLines } from '../../common/process';
import { formatEta, parseEngineLine } from '../options';
import { readLandscape } from '../read';

export type JobOutcome = { status: 'done' | 'cancelled' | 'failed'; dir: string; message: string };

/** A running engine process. */
export class LandscapeJob {
  private child: ReturnType<typeof spawn> | undefined;
  private worker: Worker | undefined;
  private ended = false;
  private cancelled = false;
  private readonly events = new vscode.EventEmitter<void>();
  /** Fires on every progress record (the panel re-reads the file). */
  readonly onProgress = this.events.event;
  done = 0;
  total = 0;
  eta: number | null = null;
  readonly finished: Promise<JobOutcome>;
  private resolveFinished!: (o: JobOutcome) => void;

  constructor(
    readonly dir: string,
    readonly title: string,
    /** The extension's "Descent" output channel (passed in: this bundle must not create a second one). */
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.finished = new Promise((r) => (this.resolveFinished = r));
  }

  /** Starts the process; resolves `finished` when it exits. */
  start(python: string, args: string[], cwd: string, helpersDir: string): void {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== 'DESCENT_RUN_DIR') env[k] = v;
    env.PYTHONPATH = env.PYTHONPATH ? `${helpersDir}${path.delimiter}${env.PYTHONPATH}` : helpersDir;
    env.PYTHONUNBUFFERED = '1';
    const fullArgs = ['-m', 'descent.landscape', ...args];
    this.log.info(`Descent: landscape: ${python} ${fullArgs.join(' ')} (in ${cwd})`);
    let stderr = '';
    let errorMessage: string | undefined;
    let buffer = '';
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(python, fullArgs, { cwd, env, shell: false, windowsHide: true, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      this.resolveFinished({ status: 'failed', dir: this.dir, message: `could not start ${python}: ${(e as Error).message}` });
      return;
    }
    this.child = child;
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      buffer += d;
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        const m = parseEngineLine(line);
        if (!m) continue;
        if (m.type === 'progress') {
          this.done = m.done;
          this.total = m.total;
          this.eta = m.eta;
          this.events.fire();
        } else if (m.type === 'error') {
          errorMessage = m.message;
        }
      }
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-20_000);
    });
    child.on('error', (e) => {
      this.finish({ status: 'failed', dir: this.dir, message: `could not run ${python}: ${e.message}` });
    });
    child.on('close', (code, signal) => {
      if (stderr.trim()) this.log.info(`Descent: landscape engine stderr (exit ${code ?? signal}):\n${tailLines(stderr, 40)}`);
      const status = readLandscape(this.dir).result?.status;
      if (code === 0 && status !== 'cancelled') {
        this.finish({ status: 'done', dir: this.dir, message: 'done' });
      } else if (this.cancelled || status === 'cancelled') {
        this.finish({ status: 'cancelled', dir: this.dir, message: 'cancelled' });
      } else {
        const why = errorMessage ?? (tailLines(stderr, 6) || `the engine exited with ${code ?? signal}`);
        this.finish({ status: 'failed', dir: this.dir, message: why });
      }
    });
  }

  /** Runs the ONNX engine in a worker thread (dist/landscapeOnnxWorker.js); its records are the CLI's JSON lines. */
  startWorker(workerFile: string, request: unknown): void {
    this.log.info(`Descent: landscape (ONNX engine): ${JSON.stringify(request)}`);
    let errorMessage: string | undefined;
    const worker = new Worker(workerFile, { workerData: request });
    this.worker = worker;
    worker.on('message', (line: unknown) => {
      const m = typeof line === 'string' ? parseEngineLine(line) : undefined;
      if (m?.type === 'progress') {
        this.done = m.done;
        this.total = m.total;
        this.eta = m.eta;
        this.events.fire();
      } else if (m?.type === 'error') {
        errorMessage = m.message;
      }
    });
    worker.on('error', (e) => (errorMessage = e.message));
    worker.on('exit', () => {
      this.worker = undefined;
      const status = readLandscape(this.dir).result?.status;
      if (status === 'done' && !errorMessage) this.finish({ status: 'done', dir: this.dir, message: 'done' });
      else if (status === 'cancelled') this.finish({ status: 'cancelled', dir: this.dir, message: 'cancelled' });
      else this.finish({ status: 'failed', dir: this.dir, message: errorMessage ?? 'the ONNX engine stopped' });
    });
  }

  get running(): boolean {
    if (this.worker) return true;
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGINT: the engine saves what it computed and marks the landscape cancelled. A second call kills it. */
  cancel(): void {
    if (!this.running) return;
    const force = this.cancelled;
    this.cancelled = true;
    if (this.worker) {
      // The engine checks between grid points, saves and marks the landscape cancelled; a second Cancel stops it.
      if (force) void this.worker.terminate();
      else this.worker.postMessage({ type: 'cancel' });
      return;
    }
    try {
      this.child!.kill(force ? 'SIGKILL' : 'SIGINT');
    } catch {
      // Already gone.
    }
  }

  private finish(o: JobOutcome): void {
    // A process that cannot start reports 'error' and then 'close': the first one counts.
    if (this.ended) return;
    this.ended = true;
    this.events.fire();
    this.events.dispose();
    this.resolveFinished(o);
  }
}

/** Shows a job's progress in a notification (percentage, points, ETA) with Cancel; resolves when the job ends. */
export function showJobProgress(job: LandscapeJob): Thenable<JobOutcome> {
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Descent: ${job.title}`, cancellable: true },
    async (progress, token) => {
      progress.report({ message: 'starting Python and loading the model…' });
      let reported = 0;
      const sub = job.onProgress(() => {
        if (job.total <= 0) return;
        const pct = (100 * job.done) / job.total;
        const eta = job.eta !== null ? ` · ETA ${formatEta(job.eta)}` : '';
        progress.report({ increment: Math.max(0, pct - reported), message: `${job.done}/${job.total} points${eta}` });
        reported = Math.max(reported, pct);
      });
      const cancel = token.onCancellationRequested(() => {
        progress.report({ message: 'cancelling: saving the points computed so far…' });
        job.cancel();
      });
      try {
        return await job.finished;
      } finally {
        sub.dispose();
        cancel.dispose();
      }
    },
  );
}
