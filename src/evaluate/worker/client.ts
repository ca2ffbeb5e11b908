// The host side of the evaluation worker (no vscode: unit-testable). Starts one worker per evaluation, forwards
// progress, and cancels cooperatively (the worker stops between batches and releases its session), terminating
// the thread if it does not answer within a grace period. The worker is always terminated at the end.
import { Worker } from 'node:worker_threads';
import { NpzKeyError } from '../readers/arrays';
import { EvaluationCancelled, EvaluationError, type EvaluationProgress, type EvaluationRequest, type EvaluationResult } from '../types';
import type { FromEvaluationWorker, ToEvaluationWorker } from './protocol';

export interface WorkerRun {
  result: Promise<EvaluationResult>;
  /** Asks the worker to stop; the result then rejects with EvaluationCancelled. */
  cancel(): void;
}

export function evaluateInWorker(workerPath: string, request: EvaluationRequest, onProgress: (p: EvaluationProgress) => void, graceMs = 3000): WorkerRun {
  const worker = new Worker(workerPath);
  let settled = false;
  let cancelTimer: NodeJS.Timeout | undefined;
  let rejectCancelled = () => {};
  const result = new Promise<EvaluationResult>((resolve, reject) => {
    const finish = (f: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(cancelTimer);
      f();
      void worker.terminate();
    };
    rejectCancelled = () => finish(() => reject(new EvaluationCancelled()));
    worker.on('message', (m: FromEvaluationWorker) => {
      switch (m.type) {
        case 'progress':
          if (!settled) onProgress(m.progress);
          break;
        case 'done':
          finish(() => resolve(m.result));
          break;
        case 'cancelled':
          finish(() => reject(new EvaluationCancelled()));
          break;
        case 'error':
          finish(() => reject(m.npzKey ? new NpzKeyError(m.message, m.npzKey.role, m.npzKey.keys) : m.userError ? new EvaluationError(m.message) : new Error(m.message)));
          break;
      }
    });
    worker.on('error', (e) => finish(() => reject(e)));
    worker.on('exit', (code) => finish(() => reject(new Error(`the evaluation worker exited with code ${code}`))));
  });
  worker.postMessage({ type: 'start', request } satisfies ToEvaluationWorker);
  return {
    result,
    cancel() {
      if (settled) return;
      worker.postMessage({ type: 'cancel' } satisfies ToEvaluationWorker);
      // A batch still running in onnxruntime finishes first; a worker that does not answer is terminated.
      cancelTimer = setTimeout(rejectCancelled, graceMs);
    },
  };
}
