// The one place Descent starts short-lived helper processes: argument arrays only (never a shell), bounded
// output, a timeout that kills the whole process group, and a result instead of an exception.
import { spawn } from 'node:child_process';

export interface ProcessResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Set when the process could not start: ENOENT (not found), EACCES (not executable), ... */
  spawnError: { code: string; message: string } | null;
  ms: number;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Output beyond this many characters per stream is dropped (the tail of stderr is kept). */
  maxOutput?: number;
  signal?: AbortSignal;
}

export function runProcess(file: string, args: readonly string[], options: RunOptions = {}): Promise<ProcessResult> {
  const started = Date.now();
  const max = options.maxOutput ?? 1_000_000;
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let settled = false;
    const finish = (r: Omit<ProcessResult, 'stdout' | 'stderr' | 'timedOut' | 'ms'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve({ ...r, stdout, stderr, timedOut, ms: Date.now() - started });
    };
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(file, [...args], {
        cwd: options.cwd,
        env: options.env ?? process.env,
        shell: false,
        windowsHide: true,
        // Own process group, so a timeout can stop the children too (torch may spawn helpers).
        detached: process.platform !== 'win32',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      resolve({ exitCode: null, signal: null, stdout, stderr, timedOut, spawnError: { code: err.code ?? 'EUNKNOWN', message: err.message }, ms: 0 });
      return;
    }
    const kill = () => {
      try {
        if (process.platform !== 'win32' && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        else child.kill('SIGKILL');
      } catch {
        // Already gone.
      }
    };
    const onAbort = () => kill();
    options.signal?.addEventListener('abort', onAbort);
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, options.timeoutMs ?? 60_000);
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      if (stdout.length < max) stdout += d.slice(0, max - stdout.length);
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-max);
    });
    child.on('error', (err: NodeJS.ErrnoException) =>
      finish({ exitCode: null, signal: null, spawnError: { code: err.code ?? 'EUNKNOWN', message: err.message } }),
    );
    child.on('close', (code, sig) => finish({ exitCode: code, signal: sig, spawnError: null }));
  });
}

/** The last few lines of a stream, for error messages. */
export function tailLines(text: string, lines = 8): string {
  return text.trimEnd().split(/\r?\n/).slice(-lines).join('\n');
}
