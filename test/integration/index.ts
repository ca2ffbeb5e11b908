// Mocha entry loaded by the extension host (extensionTestsPath = dist/test/integration/index.js).
// esbuild bundles this file and the suites into one file, so suites are listed here instead of globbed.
// Add a suite: write test/integration/<name>.test.ts (tdd UI: suite/test) and add one line to SUITES.
// Suites are imported after mocha has defined the suite()/test() globals, hence import() and not a static import.
import Mocha from 'mocha';
import { runSuites } from './harness';

const SUITES: (() => Promise<unknown>)[] = [
  () => import('./smoke.test'),
  () => import('./environment.test'),
  () => import('./lint.test'),
  () => import('./runs.test'),
  () => import('./train.test'),
  () => import('./scaffold.test'),
  () => import('./landscape.test'),
  () => import('./onnx.test'),
  () => import('./confusion.test'),
  () => import('./evaluate.test'),
];

export async function run(): Promise<void> {
  await runSuites(Mocha, SUITES);
}
