// Entry of dist/lintEngine.js: the linter's engine (rules, analysis, parser) as its own bundle, used two ways.
// In the extension host it is required only when needed (explanation pages, the in-process fallback), so its ~300 KB
// stay out of activation. Started as a worker thread by LintClient (workerData.role = 'descent-lint'), it runs the
// worker loop: one bundle instead of two copies of the engine.
import { isLintWorkerThread, startLintWorker } from './worker/main';

export * from './index';
export { LintCore } from './worker/core';

if (isLintWorkerThread()) startLintWorker();
