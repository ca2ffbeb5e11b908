// The lint worker thread's loop: loads the parser (wasm from dist/), then handles the host's messages in order.
// Messages that arrive while the parser loads are queued. Started by dist/lintEngine.js (../engineBundle.ts) when that
// bundle is loaded as a worker thread, so the engine ships once for both uses.
import { parentPort, workerData } from 'node:worker_threads';
import { initParser } from '..';
import { collectYoungGarbage } from '../idleGc';
import { LintCore } from './core';
import type { FromWorker, LintWorkerData, ToWorker } from './protocol';

/** True when this code runs as the lint worker thread (LintClient passes `role` in workerData). */
export function isLintWorkerThread(): boolean {
  return parentPort !== null && (workerData as LintWorkerData | undefined)?.role === 'descent-lint';
}

/** How long the worker waits after an answer before it collects (messages arriving sooner go first). */
const IDLE_GC_DELAY_MS = 20;

export function startLintWorker(): void {
  const port = parentPort;
  if (!port) throw new Error('the lint worker must run in a worker thread');
  const post = (m: FromWorker) => port.postMessage(m);
  const core = new LintCore(post);
  const queue: ToWorker[] = [];
  let ready = false;

  // A moment after each answer, unless another message came first: the lint's garbage is collected while the user
  // has paused typing (the host debounces lints), not inside the next lint (../idleGc.ts).
  let idle: ReturnType<typeof setTimeout> | undefined;
  const handle = (m: ToWorker) => {
    clearTimeout(idle);
    core.handle(m);
    if (m.type === 'lint' || m.type === 'lintNotebook') idle = setTimeout(collectYoungGarbage, IDLE_GC_DELAY_MS).unref();
  };

  port.on('message', (m: ToWorker) => {
    if (ready) handle(m);
    else queue.push(m);
  });

  const data = (workerData ?? {}) as LintWorkerData;
  initParser({ wasmDir: data.wasmDir ?? __dirname }).then(
    () => {
      ready = true;
      post({ type: 'ready' });
      for (const m of queue.splice(0)) handle(m);
    },
    (e: unknown) => post({ type: 'initFailed', message: (e as Error)?.message ?? String(e) }),
  );
}
