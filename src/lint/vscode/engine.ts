// Loads dist/lintEngine.js on first use (see ../engineBundle.ts): activation does not pay for the engine.
import * as path from 'node:path';

export type LintEngine = typeof import('../engineBundle');

let engine: LintEngine | undefined;

export function lintEngine(): LintEngine {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  engine ??= require(path.join(__dirname, 'lintEngine.js')) as LintEngine;
  return engine;
}
