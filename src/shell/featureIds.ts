// What the features bundle (src/features.ts -> dist/features.js) registers, known to activation without loading it.
// test/unit/shell-feature-ids.test.ts checks these lists against the sources, so a new command cannot be forgotten.
export const FEATURE_COMMANDS = [
  // environment
  'descent.checkEnvironment',
  'descent.showEnvironmentReport',
  'descent.refreshEnvironment',
  'descent.showProblem',
  'descent.selectInterpreter',
  'descent.installTorch',
  // training
  'descent.train',
  'descent.stopRun',
  'descent.resumeRun',
  // runs
  'descent.runs.watchRun',
  'descent.showTrainingCurves',
  'descent.compareRuns',
  'descent.refreshRuns',
  'descent.revealRun',
  'descent.showRunOutput',
  'descent.deleteRun',
  'descent.renameRun',
  'descent.runs.stop',
] as const;

export const FEATURE_WEBVIEW_TYPES = ['descent.environmentReport', 'descent.curves'] as const;

export const FEATURE_TASK_TYPES = ['descent'] as const;

/** The folders whose registrations go through the registry (src/shell/registry.ts). */
export const FEATURE_FOLDERS = ['environment', 'train', 'runs'] as const;
