// descent-lint's worker pool: files are handed out one at a time to worker threads (each with its own parser), so a
// folder of many files uses every core; findings come back in the order of the files, the same as on one thread.
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { LintOptions } from './config';
import type { Finding } from './types';

export interface FileJob {
  path: string;
  options: LintOptions;
  /** Lint with the definitions the file imports from its project (project/context.ts). */
  project: boolean;
}

/** One file's result: its findings, or why it could not be linted. */
export type FileResult<F extends Finding = Finding> = { findings: F[]; error?: undefined } | { findings?: undefined; error: string };

type ToWorker = { index: number; job: FileJob } | { stop: true };
type FromWorker<F extends Finding> = { ready: true } | { index: number; result: FileResult<F> };

/** Marks the worker side, so the CLI bundle knows to serve instead of running main(). */
export const POOL_WORKER_FLAG = 'descent-lint-pool-worker';

/**
 * How many threads are worth starting: one per core (at most `requested`), and none beyond one per few files, since
 * each thread pays for its own parser (about 30 ms) before its first file.
 */
export function threadsFor(files: number, requested: number | undefined, cores = availableParallelism()): number {
  const wanted = requested ?? cores;
  return Math.max(1, Math.min(wanted, Math.floor(files / 4) || 1));
}

/** One file's findings, or the message of what went wrong with it (the other files go on). */
export function lintOrError<F extends Finding>(lint: (job: FileJob) => F[], job: FileJob): FileResult<F> {
  try {
    return { findings: lint(job) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0; // unreadable: its worker reports why
  }
}

/** Lints jobs on `threads` worker threads running `script` (the CLI itself); results in the jobs' order. */
export function lintOnThreads<F extends Finding>(script: string, jobs: readonly FileJob[], threads: number): Promise<FileResult<F>[]> {
  const results: FileResult<F>[] = new Array(jobs.length);
  // Largest files first, so no thread is left with a big one at the end.
  const sizes = jobs.map((j) => sizeOf(j.path));
  const order = jobs.map((_, i) => i).sort((a, b) => sizes[b]! - sizes[a]!);
  let next = 0;
  let finished = 0;
  return new Promise((resolve, reject) => {
    const workers: Worker[] = [];
    const stopAll = () => {
      for (const w of workers) w.postMessage({ stop: true } satisfies ToWorker);
    };
    const feed = (w: Worker) => {
      if (next < jobs.length) {
        const index = order[next++]!;
        w.postMessage({ index, job: jobs[index]! } satisfies ToWorker);
      }
    };
    for (let t = 0; t < threads; t++) {
      const w = new Worker(script, { workerData: { [POOL_WORKER_FLAG]: true } });
      workers.push(w);
      w.on('message', (m: FromWorker<F>) => {
        if ('ready' in m) {
          feed(w);
          return;
        }
        results[m.index] = m.result;
        finished++;
        if (finished === jobs.length) {
          stopAll();
          resolve(results);
        } else feed(w);
      });
      w.on('error', (e) => {
        stopAll();
        reject(e);
      });
    }
  });
}

/** True in a thread started by lintOnThreads. */
export function isPoolWorker(): boolean {
  return !isMainThread && Boolean((workerData as Record<string, unknown> | null)?.[POOL_WORKER_FLAG]);
}

/** The worker side: answers each job with `lint(job)` until told to stop. */
export async function servePool<F extends Finding>(prepare: () => Promise<void>, lint: (job: FileJob) => F[]): Promise<void> {
  await prepare();
  const port = parentPort!;
  port.on('message', (m: ToWorker) => {
    if ('stop' in m) {
      port.close();
      return;
    }
    port.postMessage({ index: m.index, result: lintOrError(lint, m.job) } satisfies FromWorker<F>);
  });
  port.postMessage({ ready: true } satisfies FromWorker<F>);
}
