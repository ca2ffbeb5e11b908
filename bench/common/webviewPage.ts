// Opens one of Descent's webview apps (dist/webview/<app>.js + .css) in headless Chromium (the same browser the
// browser tests use) outside VS Code, with a stand-in for acquireVsCodeApi, so a bench can feed it host messages and
// time what it draws. Needs `npm run build` and the browser from test/tools/install-host.sh.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
// eslint-disable-next-line @typescript-eslint/ban-ts-comment
// @ts-ignore -- an untyped .mjs test tool
import { REPO_ROOT, launchChromium } from '../../test/tools/codeserver.mjs';

export interface WebviewPage {
  /** Runs `fn(arg)` in the page and returns its result. */
  evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
  /** Posts a message as the extension host would. */
  post(message: unknown): Promise<void>;
  /** Messages the app posted to the host. */
  sent(): Promise<unknown[]>;
  waitFor(selector: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

interface PlaywrightPage {
  evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
  setContent(html: string): Promise<void>;
  addStyleTag(o: { content: string }): Promise<unknown>;
  addScriptTag(o: { content: string }): Promise<unknown>;
  waitForSelector(s: string, o: { timeout: number }): Promise<unknown>;
  on(event: 'pageerror', fn: (e: Error) => void): void;
}

export async function openWebviewApp(app: string, viewport = { width: 1400, height: 900 }): Promise<WebviewPage> {
  const dir = join(REPO_ROOT as string, 'dist', 'webview');
  const js = join(dir, `${app}.js`);
  if (!existsSync(js)) throw new Error(`${js} is missing: run \`npm run build\` first`);
  const context = (await launchChromium(undefined, { viewport })) as { newPage(): Promise<PlaywrightPage>; close(): Promise<void> };
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.setContent('<!doctype html><html><head><meta charset="utf-8"></head><body><div id="app"></div></body></html>');
  // tsx compiles the functions passed to evaluate() with esbuild's keepNames, which calls a __name helper the page
  // does not have: define it (as a string, so it is not compiled itself).
  await page.evaluate('window.__name = (f) => f' as unknown as () => void, undefined);
  await page.evaluate(() => {
    const w = globalThis as unknown as { __sent: unknown[]; acquireVsCodeApi: () => unknown };
    w.__sent = [];
    let state: unknown;
    w.acquireVsCodeApi = () => ({
      postMessage: (m: unknown) => w.__sent.push(m),
      getState: () => state,
      setState: (s: unknown) => (state = s),
    });
  }, undefined);
  const css = join(dir, `${app}.css`);
  if (existsSync(css)) await page.addStyleTag({ content: readFileSync(css, 'utf8') });
  await page.addScriptTag({ content: readFileSync(js, 'utf8') });
  return {
    evaluate: (fn, arg) => page.evaluate(fn, arg),
    post: (message) => page.evaluate((m) => (globalThis as unknown as { postMessage(m: unknown, o: string): void }).postMessage(m, '*'), message),
    sent: () => page.evaluate(() => (globalThis as unknown as { __sent: unknown[] }).__sent, undefined),
    waitFor: async (selector, timeoutMs = 60_000) => {
      try {
        await page.waitForSelector(selector, { timeout: timeoutMs });
      } catch (e) {
        throw new Error(`${selector} did not appear in ${app}${errors.length ? `; page errors: ${errors.join(' | ')}` : ''}: ${(e as Error).message}`);
      }
    },
    close: () => context.close(),
  };
}
