// Runs the integration suite (dist/test/integration/index.js, built by `npm run build`) inside a real VS Code
// extension host: code-server 4.139.1 + headless Chromium opening the workbench with the extensionDevelopmentPath /
// extensionTestsPath payload. The suite writes a JSON results file which this script polls for.
//
//   npm run build && node test/tools/run-host-tests.mjs
//
// Environment: DESCENT_TEST_PYTHON (Python with torch for the fixture workspace), DESCENT_HOST_TIMEOUT_S (default 900; a loaded 2-core machine needed more than 600),
// DESCENT_EXTENSION_PATH (extension folder, default the repository), DESCENT_SKIP_TOOLS=1 (do not run install-host.sh),
// DESCENT_KEEP_TMP=1 (keep code-server's temporary folders).
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  REPO_ROOT, ensureTools, forwardConsole, launchChromium, prepareWorkspace, startCodeServer, tail, testPython, workbenchUrl,
} from './codeserver.mjs';

const TIMEOUT_MS = Number(process.env.DESCENT_HOST_TIMEOUT_S || 900) * 1000;
const extensionPath = resolve(process.env.DESCENT_EXTENSION_PATH || REPO_ROOT);
const testsPath = join(extensionPath, 'dist', 'test', 'integration', 'index.js');
const artifacts = join(REPO_ROOT, 'test-artifacts');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (msg) => console.log(`[host-tests] ${msg}`);

let cs = null;
let context = null;
let flushConsole = async () => {};
const scratch = [];

async function cleanup() {
  if (context) await context.close().catch(() => {});
  context = null;
  if (cs) await cs.stop();
  cs = null;
  if (!process.env.DESCENT_KEEP_TMP) for (const d of scratch) rmSync(d, { recursive: true, force: true });
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    log(`${sig}: stopping`);
    cleanup().finally(() => process.exit(130));
  });
}

function readResults(files) {
  for (const f of files) {
    if (!existsSync(f)) continue;
    try {
      return { file: f, results: JSON.parse(readFileSync(f, 'utf8')) };
    } catch {
      /* being written */
    }
  }
  return null;
}

async function main() {
  for (const f of [join(extensionPath, 'dist', 'extension.js'), testsPath]) {
    if (!existsSync(f)) throw new Error(`${f} is missing: run \`npm run build\` first`);
  }
  if (!process.env.DESCENT_SKIP_TOOLS) {
    log('checking tools (test/tools/install-host.sh)');
    await ensureTools();
  }
  const python = await testPython();
  const workspace = prepareWorkspace({ python });
  scratch.push(resolve(workspace, '..'));
  const runDir = mkdtempSync(join(tmpdir(), 'descent-host-'));
  scratch.push(runDir);
  const resultsFile = join(runDir, 'results.json');
  const fallbackResults = join(workspace, '.descent-test-results.json');
  log(`workspace ${workspace} (descent.pythonPath = ${python})`);

  const started = Date.now();
  cs = await startCodeServer({ workspace, env: { DESCENT_TEST_RESULTS: resultsFile } });
  log(`code-server ${cs.url} (pid ${cs.pid}, log ${cs.logFile})`);

  context = await launchChromium(join(runDir, 'chromium'));
  const page = context.pages()[0] ?? (await context.newPage());
  flushConsole = forwardConsole(page, '[host]');
  const url = workbenchUrl({ port: cs.port, workspace, extensionDevelopmentPath: extensionPath, extensionTestsPath: testsPath });
  await page.goto(url);

  let found = null;
  let hostExitedAt = 0;
  const deadline = Date.now() + TIMEOUT_MS;
  while (Date.now() < deadline) {
    found = readResults([resultsFile, fallbackResults]);
    if (found) break;
    if (cs.exited()) throw new Error('code-server exited before the suite reported');
    // VS Code ends the extension host when the tests module cannot even be loaded: do not wait for the timeout.
    if (!hostExitedAt && /Extension Host Process exited/.test(tail(cs.logFile, 200))) hostExitedAt = Date.now();
    if (hostExitedAt && Date.now() - hostExitedAt > 5000) {
      throw new Error('the extension host exited before the suite reported (did the tests module fail to load? see the [host] lines above)');
    }
    await sleep(500);
  }

  await Promise.race([flushConsole(), sleep(3000)]);
  mkdirSync(join(artifacts, 'screenshots'), { recursive: true });
  await page.screenshot({ path: join(artifacts, 'screenshots', 'host-tests.png') }).catch(() => {});

  if (!found) {
    throw new Error(`no results after ${TIMEOUT_MS / 1000} s (looked for ${resultsFile} and ${fallbackResults})`);
  }
  const r = found.results;
  if (found.file !== resultsFile) log(`note: the suite wrote the workspace fallback ${found.file} (DESCENT_TEST_RESULTS did not reach the extension host)`);
  log(`suite finished in ${r.durationMs} ms (${Math.round((Date.now() - started) / 1000)} s including start-up)`);
  for (const f of r.failures ?? []) {
    console.log(`\n[host-tests] FAILED: ${f.title}\n  ${f.message}\n${(f.stack || '').split('\n').slice(0, 8).map((l) => `    ${l}`).join('\n')}`);
  }
  const ok = r.failed === 0 && r.total > 0;
  if (r.total === 0) log('the suite ran no test');
  return { ok, r };
}

let exitCode = 1;
try {
  const { ok, r } = await main();
  console.log(`host: ${r.passed} passed, ${r.failed} failed${r.pending ? `, ${r.pending} skipped` : ''}`);
  exitCode = ok ? 0 : 1;
} catch (err) {
  console.error(`[host-tests] ERROR: ${err.message}`);
  if (cs) console.error(`[host-tests] code-server log tail (${cs.logFile}):\n${tail(cs.logFile, 60)}`);
  exitCode = 1;
} finally {
  if (cs) {
    mkdirSync(join(artifacts, 'logs'), { recursive: true });
    try {
      copyFileSync(cs.logFile, join(artifacts, 'logs', 'host-code-server.log'));
    } catch {
      /* no log */
    }
  }
  await cleanup();
}
if (exitCode !== 0) console.error('[host-tests] FAILED');
process.exit(exitCode);
