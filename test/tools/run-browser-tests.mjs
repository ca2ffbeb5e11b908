// Browser tests: node's test runner over test/browser/*.test.mjs, each driving a real VS Code (code-server) with
// headless Chromium. Assumes `npm run build` has run. Screenshots: test-artifacts/screenshots/<name>-<theme>.png;
// browser console and code-server logs: test-artifacts/logs/.
//
//   node test/tools/run-browser-tests.mjs [test/browser/some.test.mjs ...]
//
// Environment: DESCENT_SKIP_TOOLS=1 (do not run install-host.sh), DESCENT_VERBOSE=1 (echo the browser console),
// DESCENT_TEST_PYTHON, DESCENT_EXTENSION_PATH, DESCENT_KEEP_TMP=1 (see codeserver.mjs).
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { REPO_ROOT, ensureTools } from './codeserver.mjs';

const extensionPath = resolve(process.env.DESCENT_EXTENSION_PATH || REPO_ROOT);
const built = join(extensionPath, 'dist', 'extension.js');
if (!existsSync(built)) {
  console.error(`[browser-tests] ${built} is missing: run \`npm run build\` first`);
  process.exit(1);
}
if (!process.env.DESCENT_SKIP_TOOLS) {
  console.log('[browser-tests] checking tools (test/tools/install-host.sh)');
  try {
    await ensureTools();
  } catch (err) {
    console.error(`[browser-tests] ${err.message}`);
    process.exit(1);
  }
}

const browserDir = join(REPO_ROOT, 'test', 'browser');
const files = process.argv.length > 2
  ? process.argv.slice(2).map((f) => resolve(f))
  : readdirSync(browserDir).filter((f) => f.endsWith('.test.mjs')).sort().map((f) => join(browserDir, f));
if (files.length === 0) {
  console.error('[browser-tests] no test/browser/*.test.mjs files');
  process.exit(1);
}

// One file at a time: each starts its own code-server + Chromium, and the machine has 2 cores.
const child = spawn(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files], {
  cwd: REPO_ROOT,
  stdio: 'inherit',
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => {
  const rc = code ?? 1;
  if (rc !== 0) console.error(`[browser-tests] FAILED (${signal ?? `exit ${rc}`}); screenshots and logs in test-artifacts/`);
  process.exit(rc);
});
