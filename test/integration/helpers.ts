// What every host suite needs: the extension's id and API, a sleep, and a poll for state that arrives asynchronously
// (file watchers, webviews, child processes).
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { DescentApi } from '../../src/extension';

export const EXTENSION_ID = 'descent-dev.descent';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Activates Descent (if needed) and returns the API it exports for tests. */
export async function api(): Promise<DescentApi> {
  const ext = vscode.extensions.getExtension<DescentApi>(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is not installed in this host`);
  return ext.activate();
}

/** The installed extension's folder (its python/ and test fixtures live there). */
export function extensionPath(): string {
  return vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath;
}

type Probe<T> = () => Promise<T | undefined | null | false> | T | undefined | null | false;

/**
 * Polls `probe` until it answers: undefined, null and false mean "not yet"; anything else (0 and '' included) is
 * the answer. Throws after `timeoutMs` with what was awaited.
 */
export async function until<T>(what: string, probe: Probe<T>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}
