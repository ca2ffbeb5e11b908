// Entry of the ONNX landscape worker thread (dist/landscapeOnnxWorker.js): onnxruntime-node is required here, never
// in the extension host's thread; the request comes as workerData, progress goes back as the torch engine's JSON
// Lines records ({"type":"progress"...}, then done or error), so the launcher reads both engines the same way.
import { parentPort, workerData } from 'node:worker_threads';
import { computeOnnxLandscape, type OnnxLandscapeRequest } from './engine';

const port = parentPort;
if (!port) throw new Error('landscapeOnnxWorker.js must run in a worker thread');
let cancelled = false;
port.on('message', (m: unknown) => {
  if ((m as { type?: string } | null)?.type === 'cancel') cancelled = true;
});

void (async () => {
  const request = workerData as OnnxLandscapeRequest;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ort = require('onnxruntime-node') as typeof import('onnxruntime-node');
    const doc = await computeOnnxLandscape(ort, request, {
      cancelled: () => cancelled,
      onProgress: (p) => port.postMessage(JSON.stringify({ type: 'progress', ...p })),
    });
    port.postMessage(JSON.stringify(doc.status === 'done' ? { type: 'done', dir: request.dir } : { type: 'cancelled' }));
  } catch (e) {
    port.postMessage(JSON.stringify({ type: 'error', message: (e as Error).message }));
  } finally {
    port.close();
  }
})();
