// Entry of the evaluation worker thread (dist/evaluateWorker.js): onnxruntime-node is required here, never in the
// extension host's thread, and the whole evaluation (reading, preprocessing, inference) runs off the UI thread.
import { parentPort } from 'node:worker_threads';
import { runEvaluation, type Ort } from '../engine';
import { NpzKeyError } from '../readers/arrays';
import { EvaluationCancelled, EvaluationError } from '../types';
import type { FromEvaluationWorker, ToEvaluationWorker } from './protocol';

const port = parentPort;
if (!port) throw new Error('evaluateWorker.js must run in a worker thread');
const post = (m: FromEvaluationWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
let cancelled = false;
/** Progress is posted at most every 100 ms (and at the end). */
let lastPost = 0;

port.on('message', (m: ToEvaluationWorker) => {
  if (m.type === 'cancel') {
    cancelled = true;
    return;
  }
  void (async () => {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const ort = require('onnxruntime-node') as Ort;
      const result = await runEvaluation(ort, m.request, {
        cancelled: () => cancelled,
        onProgress: (progress) => {
          const now = Date.now();
          if (now - lastPost < 100 && progress.done < progress.total) return;
          lastPost = now;
          post({ type: 'progress', progress });
        },
      });
      post({ type: 'done', result }, [result.yTrue.buffer as ArrayBuffer, result.yPred.buffer as ArrayBuffer, result.confidence.buffer as ArrayBuffer]);
    } catch (e) {
      if (e instanceof EvaluationCancelled) post({ type: 'cancelled' });
      else if (e instanceof NpzKeyError) post({ type: 'error', message: e.message, userError: true, npzKey: { role: e.role, keys: e.keys } });
      else post({ type: 'error', message: e instanceof EvaluationError ? e.message : ((e as Error).stack ?? String(e)), userError: e instanceof EvaluationError });
    }
  })();
});
