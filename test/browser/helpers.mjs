// Shared steps for the browser tests: a real VS Code (code-server) with Descent loaded as a development extension,
// driven by headless Chromium through playwright-core. Run them with `node test/tools/run-browser-tests.mjs`.
/* global document */ // used inside page.waitForFunction callbacks, which run in the browser
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  REPO_ROOT, extensionFolder, forwardConsole, launchChromium, prepareWorkspace, startCodeServer, tail, testPython, workbenchUrl,
} from '../tools/codeserver.mjs';

export const THEMES = {
  dark: 'Default Dark Modern',
  light: 'Default Light Modern',
};

export const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');
export const EXTENSION_PATH = resolve(process.env.DESCENT_EXTENSION_PATH || REPO_ROOT);

/** Settings that keep first-run clutter (welcome page, chat side bar, tips) out of the screenshots. */
function baseSettings(themeName) {
  return {
    'workbench.colorTheme': themeName,
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'chat.disableAIFeatures': true,
    'extensions.ignoreRecommendations': true,
    'telemetry.telemetryLevel': 'off',
    'window.commandCenter': false,
  };
}

/**
 * Starts code-server on a fresh copy of test/fixtures/workspace (descent.pythonPath = the test Python) with Descent
 * installed the way a user has it (the repository linked into the extensions folder as publisher.name-version), opens
 * the workbench and waits for it to be usable. Not the extensionDevelopmentPath payload: that needs code-server's
 * smoke-test-driver mode, in which VS Code shows no notification toasts.
 * @returns {Promise<{page, cs, workspace, name, theme, close: () => Promise<void>}>}
 */
export async function openWorkbench({ name, theme = 'dark', trustWorkspace = true, settings = {}, workspaceSettings = {} }) {
  const python = await testPython();
  const scratch = mkdtempSync(join(tmpdir(), 'descent-browser-'));
  const workspace = prepareWorkspace({ python, tmpRoot: scratch, settings: workspaceSettings });
  const cs = await startCodeServer({
    workspace,
    trustWorkspace,
    userSettings: { ...baseSettings(THEMES[theme] ?? theme), ...settings },
    tmpRoot: scratch,
    extensions: [extensionFolder(EXTENSION_PATH)],
    smokeTestDriver: false,
  });
  let context;
  const logLines = [];
  try {
    context = await launchChromium(join(scratch, 'chromium'));
  } catch (err) {
    await cs.stop();
    throw err;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  const verbose = !!process.env.DESCENT_VERBOSE;
  const flush = forwardConsole(page, `[${name}-${theme}]`, {
    sink: (line) => {
      logLines.push(line);
      if (verbose) console.log(line);
    },
  });
  page.setDefaultTimeout(30_000);
  await page.goto(workbenchUrl({ port: cs.port, workspace }));
  await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  await page.locator('.statusbar').waitFor({ timeout: 60_000 });

  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await Promise.race([flush(), new Promise((r) => setTimeout(r, 2000))]);
    mkdirSync(join(ARTIFACTS, 'logs'), { recursive: true });
    writeFileSync(join(ARTIFACTS, 'logs', `browser-${name}-${theme}-console.log`), `${logLines.join('\n')}\n`);
    try {
      copyFileSync(cs.logFile, join(ARTIFACTS, 'logs', `browser-${name}-${theme}-code-server.log`));
    } catch {
      /* no log */
    }
    await context.close().catch(() => {});
    await cs.stop();
    if (!process.env.DESCENT_KEEP_TMP) rmSync(scratch, { recursive: true, force: true });
  };
  return { page, cs, workspace, name, theme, close, logLines, codeServerLogTail: () => tail(cs.logFile, 40) };
}

/** Saves test-artifacts/screenshots/<name>-<theme>.png and returns its path. */
export async function screenshot(page, name, theme) {
  const dir = join(ARTIFACTS, 'screenshots');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}-${theme}.png`);
  await page.mouse.move(900, 700); // no hover tooltip in the picture
  await page.screenshot({ path: file });
  return file;
}

/**
 * Runs a command through the command palette (F1), the way a person does: types its title slowly, waits for the
 * row, presses Enter. In a workbench that has just opened, the palette can miss commands whose extension is still
 * being registered (it then shows only "similar commands" and does not refresh), so it is reopened up to 3 times.
 */
export async function runCommand(page, title) {
  const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: title }).first();
  for (let attempt = 1; ; attempt++) {
    await closeQuickInput(page);
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible' });
    await input.pressSequentially(title, { delay: 30 });
    const found = await row.waitFor({ state: 'visible', timeout: 15_000 }).then(() => true, (e) => {
      if (attempt === 3) throw e;
      return false;
    });
    if (found) break;
  }
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => {});
}

/**
 * Clicks `button` in a webview frame, accepts code-server's save dialog (a quick input holding the suggested path,
 * waited for until it ends with `suffix`) with Enter, and waits for the file. Returns its path and bytes.
 */
export async function saveThroughDialog(page, frame, button, suffix) {
  await frame.locator(button).click();
  const input = page.locator('.quick-input-widget input');
  await page.waitForFunction((s) => document.querySelector('.quick-input-widget input')?.value?.endsWith(s), suffix, { timeout: 30_000 });
  const path = await input.inputValue();
  await input.press('Enter');
  const started = Date.now();
  while (!existsSync(path)) {
    if (Date.now() - started > 30_000) throw new Error(`${path} was not written`);
    await page.waitForTimeout(200);
  }
  await page.waitForTimeout(300); // written in one call, but give the host time to finish
  return { path, bytes: readFileSync(path) };
}

async function closeQuickInput(page) {
  if (await page.locator('.quick-input-widget').isVisible().catch(() => false)) await page.keyboard.press('Escape');
}

/** Opens the Descent view container: its activity-bar icon, else "View: Show Descent" from the palette. */
export async function openDescentContainer(page) {
  const icon = page.locator('.activitybar [aria-label^="Descent"]').first();
  try {
    await icon.waitFor({ state: 'visible', timeout: 20_000 });
    await icon.click();
  } catch {
    await runCommand(page, 'View: Show Descent');
  }
  const sidebar = page.locator('.part.sidebar');
  await sidebar.waitFor({ state: 'visible' });
  return sidebar;
}

/** The Environment view's body inside the side bar. */
export function environmentView(page) {
  return page.locator('.part.sidebar .pane', { has: page.locator('.pane-header', { hasText: /Environment/i }) });
}

/** The innermost frame of the active webview (code-server serves webviews from its own origin). */
export function activeWebview(page) {
  return page.frameLocator('iframe.webview').first().frameLocator('#active-frame');
}

/** A notification toast containing `text` (string or RegExp). */
export function notification(page, text) {
  return page.locator('.notification-toast', { hasText: text }).first();
}
