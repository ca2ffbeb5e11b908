// The same integration suite as run-host-tests.mjs, in desktop VS Code through @vscode/test-electron, for machines
// that have VS Code or can download it (this project's CI cannot: its download host is unreachable offline).
//
//   npm run build && node test/tools/run-electron-tests.mjs
//
// VSCODE_EXECUTABLE=/path/to/code uses an installed VS Code; without it test-electron downloads the stable build.
import { runTests } from '@vscode/test-electron';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, prepareWorkspace, testPython } from './codeserver.mjs';

const testsPath = join(REPO_ROOT, 'dist', 'test', 'integration', 'index.js');
if (!existsSync(testsPath)) {
  console.error(`${testsPath} is missing: run \`npm run build\` first`);
  process.exit(1);
}
const workspace = prepareWorkspace({ python: await testPython() });
const results = join(mkdtempSync(join(tmpdir(), 'descent-electron-')), 'results.json');
try {
  await runTests({
    vscodeExecutablePath: process.env.VSCODE_EXECUTABLE || undefined,
    extensionDevelopmentPath: REPO_ROOT,
    extensionTestsPath: testsPath,
    extensionTestsEnv: { DESCENT_TEST_RESULTS: results },
    launchArgs: [workspace, '--disable-extensions'],
  });
} catch (e) {
  console.error(`[electron-tests] ${e instanceof Error ? e.message : e}`);
}
if (!existsSync(results)) {
  console.error('[electron-tests] FAILED: the suite wrote no results');
  process.exit(1);
}
const r = JSON.parse(readFileSync(results, 'utf8'));
console.log(`[electron-tests] ${r.passed} passed, ${r.failed} failed`);
for (const f of r.failures) console.log(`  FAILED: ${f.title}\n    ${f.message}`);
process.exit(r.failed === 0 && r.passed > 0 ? 0 : 1);
