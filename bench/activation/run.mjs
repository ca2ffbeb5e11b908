// bench/activation: Descent's activation time in the real VS Code host, and its host bundle size, side by side with
// a bare extension that registers one command (bench/activation/bare-extension), measured in the same run.
//
//   npm run bench:activation                      # 7 fresh hosts
//   node bench/activation/run.mjs --runs 15 --json /tmp/activation.json
//
// What it does:
//   1. Builds the production (minified) host bundle with the repository's own esbuild.mjs, run in a temporary copy of
//      the extension folder (src/, webview/, media/, python/, node_modules/ linked, dist/ its own), so the working
//      tree's dist/ (the dev build other tiers use) is never touched.
//   2. N times: starts a fresh code-server 4.139.1 (VS Code 1.139.1) with a fresh user-data folder, an extensions
//      folder holding BOTH extensions as installed folders (descent-dev.descent-<version> -> the staging copy,
//      descent-bench.bare-0.0.1 -> bare-extension/), and an empty workspace (no *.py: Descent's
//      workspaceContains:**/*.py event must not fire). Headless Chromium opens the workbench with bench/activation/probe
//      as extensionDevelopmentPath + extensionTestsPath (the workbench keeps only one extensionDevelopmentPath: its
//      payload is read into a Map, so a second entry replaces the first). The probe times
//      `await getExtension(id).activate()` for each (first activation in that host, checked with isActive === false
//      before) and writes JSON to $DESCENT_TEST_RESULTS. Runs alternate which extension is activated first.
//   3. Prints per-run figures, median / p90 (nearest rank) of each, the ratios descent/bare, and the bundle sizes.
//
// Figures beyond the budget in /work/shared/DESIGN.md ("Performance budgets": activation <= 20 ms, host bundle
// <= 1 MB without wasm/native files) are marked OVER BUDGET, but the exit code is non-zero only when the harness
// itself fails (no result, an extension already active, code-server dying): machines are noisy.
//
// Options: --runs N (default 7), --settle-ms MS (default 3000: the probe waits this long after the extension host is
// up before measuring; 0 measures in the middle of the workbench's start-up), --quiet-pct P (default 25) and
// --quiet-max-s S (default 30): before each activation the probe waits for a 500 ms window in which the whole machine
// is at most P % busy, at most S seconds (the table shows how busy it was and marks runs that never got quiet),
// --timeout-s S (per host, default 120), --json FILE (also write every figure as JSON).
// Environment: DESCENT_SKIP_TOOLS=1 (do not run install-host.sh), DESCENT_KEEP_TMP=1 (keep the temporary folders).
import {
  existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync, cpSync,
} from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CODE_SERVER_VERSION, REPO_ROOT, ensureTools, extensionFolder, launchChromium, remoteUri, run, startCodeServer, tail,
} from '../../test/tools/codeserver.mjs';

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
const BARE_DIR = join(BENCH_DIR, 'bare-extension');
const PROBE_DIR = join(BENCH_DIR, 'probe');
const BUDGET = { activationMs: 20, hostBundleBytes: 1024 * 1024 };
// Not counted against the host bundle budget: WebAssembly, native addons, fonts, source maps.
const NOT_COUNTED = /\.(wasm|node|ttf|map)$/;

const log = (msg) => console.log(`[bench:activation] ${msg}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function parseArgs(argv) {
  const opts = { runs: 7, settleMs: 3000, quietPct: 25, quietMaxS: 30, timeoutS: 120, json: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = (name) => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v < 0) throw new Error(`${name} needs a non-negative number`);
      return v;
    };
    if (a === '--runs') opts.runs = Math.max(1, Math.floor(num(a)));
    else if (a === '--settle-ms') opts.settleMs = num(a);
    else if (a === '--quiet-pct') opts.quietPct = num(a);
    else if (a === '--quiet-max-s') opts.quietMaxS = num(a);
    else if (a === '--timeout-s') opts.timeoutS = num(a);
    else if (a === '--json') opts.json = resolve(argv[++i] ?? '');
    else if (a === '--help' || a === '-h') {
      console.log('usage: node bench/activation/run.mjs [--runs N] [--settle-ms MS] [--quiet-pct P] [--quiet-max-s S] [--timeout-s S] [--json FILE]');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return opts;
}

// ---------------------------------------------------------------------------------------------------------------
// Temporary state, removed on every exit path.
const scratch = [];
// The host being measured: { starting, cs, launching, context }. A signal can arrive while code-server or Chromium is
// still starting, so the pending promises are kept too and awaited before stopping.
let current = null;

// Process groups of the code-servers started and not stopped yet.
const liveServers = new Set();

async function stopCurrent() {
  const c = current;
  current = null;
  if (!c) return;
  const context = c.context ?? (await c.launching?.catch(() => null));
  if (context) await context.close().catch(() => {});
  const cs = c.cs ?? (await c.starting?.catch(() => null));
  if (cs) {
    await cs.stop();
    liveServers.delete(cs.pid);
  }
}

let cleaning = null;
/** Stops the current host and removes the temporary folders; every caller shares the one run of it. */
function cleanup() {
  cleaning ??= (async () => {
    await stopCurrent();
    if (!process.env.DESCENT_KEEP_TMP) for (const d of scratch.splice(0)) rmSync(d, { recursive: true, force: true });
  })();
  return cleaning;
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    log(`${sig}: stopping`);
    cleanup().finally(() => process.exit(130));
  });
}
// Last resort when the process exits before cleanup() is done: Playwright's own SIGINT handler calls process.exit()
// once it has closed Chromium. Nothing can be awaited here, so code-server's process group gets SIGKILL.
process.on('exit', () => {
  for (const pid of liveServers) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  if (!process.env.DESCENT_KEEP_TMP) for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------------------------
// Build: the production bundle, in a staging copy of the extension folder.
async function buildProduction(stageRoot) {
  const ext = join(stageRoot, 'descent');
  mkdirSync(ext);
  for (const entry of ['src', 'webview', 'test', 'media', 'python', 'node_modules', 'tsconfig.json']) {
    if (existsSync(join(REPO_ROOT, entry))) symlinkSync(join(REPO_ROOT, entry), join(ext, entry));
  }
  for (const file of ['package.json', 'LICENSE', 'README.md']) {
    if (existsSync(join(REPO_ROOT, file))) cpSync(join(REPO_ROOT, file), join(ext, file));
  }
  const started = Date.now();
  const { code, output } = await run(process.execPath, [join(REPO_ROOT, 'esbuild.mjs'), '--production'], { cwd: ext });
  if (code !== 0) throw new Error(`node esbuild.mjs --production failed (exit ${code}):\n${output.slice(-4000)}`);
  log(`production build in ${Date.now() - started} ms (${output.trim().split('\n').pop()})`);
  return ext;
}

function filesUnder(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push({ path: relative(dir, p), bytes: statSync(p).size });
    }
  };
  walk(dir);
  return out;
}

/** Sizes of the production dist/: the host bundle (every bundle the extension host may load: extension.js at
 *  activation, the lazily required feature bundles and the lint worker thread) and everything that ships. */
function bundleSizes(extDir) {
  const dist = join(extDir, 'dist');
  // dist/test/ is the integration suite, built by the same script but never shipped.
  const files = filesUnder(dist).filter((f) => !f.path.startsWith('test/') && !NOT_COUNTED.test(f.path));
  const sum = (list) => list.reduce((s, f) => s + f.bytes, 0);
  // dist/cli/ holds command-line programs (descent-lint, ...) run from a terminal, never loaded by the extension host.
  const host = files.filter((f) => !f.path.startsWith('webview/') && !f.path.startsWith('cli/'));
  return {
    extensionJs: statSync(join(dist, 'extension.js')).size,
    hostFiles: host.map((f) => f.path),
    hostBytes: sum(host),
    distBytes: sum(files),
    distFiles: files.length,
    bareExtensionJs: statSync(join(BARE_DIR, 'extension.js')).size,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// One measurement: a fresh code-server, a fresh page load, one activation of each extension.
function workbenchUrlFor(port, workspace) {
  const payload = [
    ['extensionDevelopmentPath', remoteUri(port, PROBE_DIR)],
    ['extensionTestsPath', remoteUri(port, join(PROBE_DIR, 'index.js'))],
  ];
  const folder = encodeURIComponent(resolve(workspace)).replaceAll('%2F', '/');
  return `http://127.0.0.1:${port}/?folder=${folder}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

async function measureOnce({ index, order, descentDir, workspace, runRoot, opts }) {
  const dir = join(runRoot, `host-${index}`);
  mkdirSync(dir);
  const resultsFile = join(dir, 'results.json');
  const load = loadavg()[0];
  const started = Date.now();
  const host = {};
  current = host;
  host.starting = startCodeServer({
    workspace,
    tmpRoot: dir,
    extensions: [extensionFolder(descentDir), extensionFolder(BARE_DIR)],
    env: {
      DESCENT_TEST_RESULTS: resultsFile,
      DESCENT_BENCH_ORDER: order.join(','),
      DESCENT_BENCH_SETTLE_MS: String(opts.settleMs),
      DESCENT_BENCH_QUIET_PCT: String(opts.quietPct),
      DESCENT_BENCH_QUIET_MAX_MS: String(opts.quietMaxS * 1000),
    },
  });
  const cs = (host.cs = await host.starting);
  liveServers.add(cs.pid);
  host.launching = launchChromium(join(dir, 'chromium'));
  const context = (host.context = await host.launching);
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await page.goto(workbenchUrlFor(cs.port, workspace));

  let result = null;
  const deadline = Date.now() + (opts.timeoutS + 2 * opts.quietMaxS) * 1000;
  while (Date.now() < deadline) {
    if (existsSync(resultsFile)) {
      result = JSON.parse(readFileSync(resultsFile, 'utf8'));
      break;
    }
    if (cs.exited()) throw new Error(`code-server exited before the probe reported; log tail:\n${tail(cs.logFile, 40)}`);
    await sleep(200);
  }
  const logTail = tail(cs.logFile, 40);
  await stopCurrent();
  if (!result) {
    throw new Error(`host ${index + 1}: no result after ${opts.timeoutS + 2 * opts.quietMaxS} s${pageErrors.length ? `; page errors: ${pageErrors.slice(0, 3).join(' | ')}` : ''}\ncode-server log tail:\n${logTail}`);
  }
  if (!result.ok) throw new Error(`host ${index + 1}: the probe failed: ${result.error}`);
  for (const key of ['descent', 'bare']) {
    if (result[`${key}ActiveBefore`]) {
      throw new Error(`host ${index + 1}: ${key} was already active before it was measured (an activation event fired), so its first activation was not timed`);
    }
    if (!Number.isFinite(result[`${key}Ms`]) || !result[`${key}ActiveAfter`]) throw new Error(`host ${index + 1}: ${key} did not activate`);
  }
  return { ...result, host: index + 1, loadAvg1m: load, wallS: (Date.now() - started) / 1000 };
}

// ---------------------------------------------------------------------------------------------------------------
// Statistics and report.
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
/** Nearest-rank percentile (with 7 runs p90 is the slowest run). */
const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
const ms = (x) => `${x.toFixed(2)} ms`;
const kb = (b) => `${(b / 1024).toFixed(1)} KiB (${b.toLocaleString('en-US')} B)`;
const over = (cond) => (cond ? '  OVER BUDGET' : '');

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  const line = (r) => `| ${r.map((v, c) => String(v).padEnd(widths[c])).join(' | ')} |`;
  return [line(rows[0]), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.slice(1).map(line)].join('\n');
}

async function machine() {
  let model = cpus()[0]?.model?.trim() || 'unknown';
  try {
    const m = (await run('lscpu', [])).output.match(/^Model name:\s*(.+)$/m);
    if (m) model = m[1].trim();
  } catch {
    /* no lscpu */
  }
  return { cores: cpus().length, model };
}

const stats = (xs) => ({ median: median(xs), p90: percentile(xs, 90), min: Math.min(...xs), max: Math.max(...xs) });
const pct = (x) => (x === null || x === undefined ? 'n/a' : `${Math.round(x)} %`);
/** How busy the machine was right before the two activations (the larger of the two windows). */
const busy = (r) => {
  const xs = [r.descentBusyBeforePct, r.bareBusyBeforePct].filter((x) => typeof x === 'number');
  return pct(xs.length ? Math.max(...xs) : null);
};
const quietNote = (r) => (r.descentQuiet && r.bareQuiet ? '' : ', NOT QUIET');
const codeLoad = (x) => (x === undefined ? 'n/a' : `${x} ms`);

function report({ runs, sizes, opts, mach }) {
  const summary = {
    descent: stats(runs.map((r) => r.descentMs)),
    bare: stats(runs.map((r) => r.bareMs)),
    descentCpu: stats(runs.map((r) => r.descentCpuMs)),
    bareCpu: stats(runs.map((r) => r.bareCpuMs)),
    medianOfRatios: median(runs.map((r) => r.descentMs / r.bareMs)),
    notQuiet: runs.filter((r) => quietNote(r)).length,
  };
  summary.ratioOfMedians = summary.descent.median / summary.bare.median;
  summary.ratioOfP90 = summary.descent.p90 / summary.bare.p90;
  summary.cpuRatioOfMedians = summary.descentCpu.median / summary.bareCpu.median;
  const loads = runs.filter((r) => r.descentCodeLoadMs !== undefined && r.bareCodeLoadMs !== undefined);
  if (loads.length) {
    summary.descentCodeLoadMedianMs = median(loads.map((r) => r.descentCodeLoadMs));
    summary.bareCodeLoadMedianMs = median(loads.map((r) => r.bareCodeLoadMs));
  }

  console.log('');
  console.log(`Activation in the real VS Code host: VS Code ${runs[0].vscodeVersion} (code-server ${CODE_SERVER_VERSION}), extension host Node ${runs[0].nodeVersion}, ${runs[0].appHost}`);
  console.log(`Machine: ${mach.cores} cores, ${mach.model}. ${runs.length} fresh hosts, probe settle ${opts.settleMs} ms, quiet <= ${opts.quietPct} % busy (waited at most ${opts.quietMaxS} s).`);
  console.log('wall = `await getExtension(id).activate()` timed with performance.now(); cpu = extension host process CPU time over the same interval;');
  console.log('code load = VS Code\'s own willLoad/didLoadExtensionCode marks (whole ms) around require() of the main module.');
  console.log('');
  console.log(table([
    ['host', 'first', 'descent wall', 'descent cpu', 'descent code load', 'bare wall', 'bare cpu', 'bare code load', 'descent/bare (wall)', 'machine busy before'],
    ...runs.map((r) => [
      r.host, r.order[0], ms(r.descentMs), ms(r.descentCpuMs), codeLoad(r.descentCodeLoadMs), ms(r.bareMs), ms(r.bareCpuMs), codeLoad(r.bareCodeLoadMs),
      `${(r.descentMs / r.bareMs).toFixed(2)}x`, `${busy(r)}${quietNote(r)}`,
    ]),
  ]));
  console.log('');
  const row = (label, d, b) => [label, ms(d), ms(b), `${(d / b).toFixed(2)}x`, `<= ${BUDGET.activationMs} ms${over(d > BUDGET.activationMs)}`];
  console.log(table([
    ['activation', 'descent', 'bare', 'descent/bare', 'budget (descent)'],
    row('median wall', summary.descent.median, summary.bare.median),
    row('p90 wall', summary.descent.p90, summary.bare.p90),
    row('median cpu', summary.descentCpu.median, summary.bareCpu.median),
    ['min .. max wall', `${summary.descent.min.toFixed(2)} .. ${summary.descent.max.toFixed(2)} ms`, `${summary.bare.min.toFixed(2)} .. ${summary.bare.max.toFixed(2)} ms`, `per-host median ${summary.medianOfRatios.toFixed(2)}x`, ''],
    ...(loads.length ? [['median code load', `${summary.descentCodeLoadMedianMs} ms`, `${summary.bareCodeLoadMedianMs} ms`, '', '']] : []),
  ]));
  if (summary.notQuiet) console.log(`\n${summary.notQuiet} of ${runs.length} hosts never saw a quiet machine before measuring: their figures are likely disturbed; rerun when the machine is idle.`);
  console.log('');
  console.log(table([
    ['bundle (production)', 'descent', 'bare', 'descent/bare', 'budget'],
    ['extension.js', kb(sizes.extensionJs), kb(sizes.bareExtensionJs), `${(sizes.extensionJs / sizes.bareExtensionJs).toFixed(0)}x`, ''],
    [`host bundle (${sizes.hostFiles.join(', ')})`, kb(sizes.hostBytes), kb(sizes.bareExtensionJs), `${(sizes.hostBytes / sizes.bareExtensionJs).toFixed(0)}x`, `<= 1 MiB${over(sizes.hostBytes > BUDGET.hostBundleBytes)}`],
    [`dist/ shipped, ${sizes.distFiles} files, no .wasm/.node/.ttf/.map`, kb(sizes.distBytes), '', '', ''],
  ]));
  return summary;
}

// ---------------------------------------------------------------------------------------------------------------
async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const mach = await machine();
  if (!process.env.DESCENT_SKIP_TOOLS) await ensureTools();
  const root = mkdtempSync(join(tmpdir(), 'descent-bench-activation-'));
  scratch.push(root);

  const descentDir = await buildProduction(root);
  const sizes = bundleSizes(descentDir);
  // An empty workspace: a *.py file would fire Descent's workspaceContains activation event before the probe runs.
  const workspace = join(root, 'workspace');
  mkdirSync(workspace);
  writeFileSync(join(workspace, 'README.txt'), 'bench/activation workspace: deliberately no Python files.\n');
  const runRoot = join(root, 'hosts');
  mkdirSync(runRoot);

  log(`${opts.runs} fresh hosts (code-server ${CODE_SERVER_VERSION}), alternating which extension activates first`);
  const runs = [];
  for (let i = 0; i < opts.runs; i++) {
    const order = i % 2 === 0 ? ['descent', 'bare'] : ['bare', 'descent'];
    const r = await measureOnce({ index: i, order, descentDir, workspace, runRoot, opts });
    log(`host ${i + 1}/${opts.runs} (${order[0]} first): descent ${ms(r.descentMs)} (cpu ${ms(r.descentCpuMs)}), bare ${ms(r.bareMs)} (cpu ${ms(r.bareCpuMs)}) [${r.wallS.toFixed(1)} s, machine ${busy(r)} busy before${quietNote(r)}]`);
    runs.push(r);
  }
  const summary = report({ runs, sizes, opts, mach });
  if (opts.json) {
    writeFileSync(opts.json, JSON.stringify({
      date: new Date().toISOString(), machine: mach, codeServer: CODE_SERVER_VERSION, options: opts, budget: BUDGET, sizes, summary, runs,
    }, null, 2));
    log(`wrote ${opts.json}`);
  }
}

let exitCode = 0;
try {
  await main();
} catch (err) {
  console.error(`[bench:activation] ERROR: ${err.stack || err}`);
  exitCode = 1;
} finally {
  await cleanup();
}
process.exit(exitCode);
