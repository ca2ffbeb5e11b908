// Runs the integration suites under mocha inside the extension host and reports the result where the driver
// (test/tools/run-host-tests.mjs) can read it: a JSON file at $DESCENT_TEST_RESULTS (code-server's environment
// reaches the extension host), else <first workspace folder>/.descent-test-results.json. Every result is also
// printed with console.log, which code-server forwards to the browser console.
import { renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

export interface TestResults {
  passed: number;
  failed: number;
  pending: number;
  total: number;
  failures: { title: string; message: string; stack: string }[];
  durationMs: number;
}

type MochaCtor = typeof import('mocha');

/** mocha 12 is an ES module; required from a CommonJS bundle its default export may arrive one level deeper. */
function mochaConstructor(m: unknown): MochaCtor {
  let candidate = m;
  for (let i = 0; i < 3 && typeof candidate !== 'function' && candidate; i++) {
    candidate = (candidate as { default?: unknown }).default;
  }
  if (typeof candidate !== 'function') throw new Error('could not load mocha');
  return candidate as MochaCtor;
}

export function resultsPath(): string {
  const fromEnv = process.env.DESCENT_TEST_RESULTS;
  if (fromEnv) return fromEnv;
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? process.cwd();
  return path.join(folder, '.descent-test-results.json');
}

function writeResults(results: TestResults): void {
  const file = resultsPath();
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(results, null, 2));
  renameSync(tmp, file); // the driver polls for this file: never let it see half of it
  console.log(`[descent-test] results written to ${file}`);
}

export async function runSuites(mochaModule: unknown, suites: (() => Promise<unknown>)[]): Promise<void> {
  const started = Date.now();
  const results: TestResults = { passed: 0, failed: 0, pending: 0, total: 0, failures: [], durationMs: 0 };
  try {
    const Mocha = mochaConstructor(mochaModule);
    // DESCENT_TEST_GREP (a regular expression over "suite test" titles) runs part of the suite while debugging.
    const grep = process.env.DESCENT_TEST_GREP;
    const mocha = new Mocha({ ui: 'tdd', timeout: 60_000, color: false, reporter: 'spec', ...(grep ? { grep } : {}) });
    // Defines suite()/test()/setup()... on globalThis, as mocha does before it requires each test file.
    mocha.suite.emit('pre-require', globalThis, 'bundle', mocha);
    for (const load of suites) await load();

    await new Promise<void>((resolve) => {
      const runner = mocha.run(() => resolve());
      runner.on('pass', (t) => {
        results.passed++;
        console.log(`[descent-test] PASS ${t.fullTitle()} (${t.duration ?? 0} ms)`);
      });
      runner.on('pending', (t) => {
        results.pending++;
        console.log(`[descent-test] SKIP ${t.fullTitle()}`);
      });
      runner.on('fail', (t, err: Error) => {
        results.failed++;
        results.failures.push({ title: t.fullTitle(), message: String(err?.message ?? err), stack: String(err?.stack ?? '') });
        console.log(`[descent-test] FAIL ${t.fullTitle()}: ${err?.message ?? err}`);
      });
    });
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    results.failed++;
    results.failures.push({ title: 'loading the integration suites', message: e.message, stack: e.stack ?? '' });
    console.log(`[descent-test] FAIL loading the integration suites: ${e.stack ?? e.message}`);
  }
  results.total = results.passed + results.failed + results.pending;
  results.durationMs = Date.now() - started;
  console.log(`[descent-test] ${results.passed} passed, ${results.failed} failed, ${results.pending} skipped`);
  writeResults(results);
  if (results.failed > 0) throw new Error(`${results.failed} integration test(s) failed`);
}
