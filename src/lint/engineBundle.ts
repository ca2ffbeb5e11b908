// Entry of dist/lintEngine.js: the linter's engine (rules, analysis, parser) as its own bundle. The extension
// host requires it only when needed (explanation pages, the in-process fallback), so its ~300 KB stay out of
// activation; the worker bundles the engine itself.
export * from './index';
export { LintCore } from './worker/core';
