// extensionTestsPath module for bench/activation (plain CommonJS, no build). The extension host loads it after its
// eager extensions are activated; run() times the first activation of Descent and of the bare extension in this host
// and writes the figures to $DESCENT_TEST_RESULTS as JSON.
//
// Environment (set on code-server by bench/activation/run.mjs; it reaches the extension host):
//   DESCENT_TEST_RESULTS      where to write the JSON (required)
//   DESCENT_BENCH_ORDER       "descent,bare" (default) or "bare,descent": which extension is activated first
//   DESCENT_BENCH_SETTLE_MS   wait this long before measuring, so the workbench's own start-up work is done (default 3000)
//   DESCENT_BENCH_QUIET_PCT   then, before each activation, wait for a 500 ms window with the whole machine at most
//                             this busy (default 25; all cores = 100) ...
//   DESCENT_BENCH_QUIET_MAX_MS  ... but no longer than this (default 30000); the figures say whether it was quiet
/* eslint-disable @typescript-eslint/no-require-imports */
'use strict';
const vscode = require('vscode');
const { renameSync, writeFileSync } = require('node:fs');
const { performance } = require('node:perf_hooks');
const { waitForQuiet } = require('./machine');

const IDS = { descent: 'descent-dev.descent', bare: 'descent-bench.bare' };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function write(file, result) {
  // Write then rename, so the runner never reads half a file.
  writeFileSync(`${file}.tmp`, JSON.stringify(result, null, 2));
  renameSync(`${file}.tmp`, file);
}

async function run() {
  const file = process.env.DESCENT_TEST_RESULTS;
  if (!file) throw new Error('DESCENT_TEST_RESULTS is not set');
  const order = (process.env.DESCENT_BENCH_ORDER || 'descent,bare').split(',').map((s) => s.trim());
  const settleMs = Number(process.env.DESCENT_BENCH_SETTLE_MS ?? 3000);
  const quiet = {
    thresholdPct: Number(process.env.DESCENT_BENCH_QUIET_PCT ?? 25),
    maxWaitMs: Number(process.env.DESCENT_BENCH_QUIET_MAX_MS ?? 30000),
  };
  const result = {
    ok: false,
    order,
    settleMs,
    vscodeVersion: vscode.version,
    appHost: vscode.env.appHost,
    nodeVersion: process.version,
  };
  try {
    if (order.length !== 2 || !order.includes('descent') || !order.includes('bare')) {
      throw new Error(`DESCENT_BENCH_ORDER must name descent and bare once each, got "${order.join(',')}"`);
    }
    const exts = {};
    for (const key of order) {
      const ext = vscode.extensions.getExtension(IDS[key]);
      if (!ext) {
        const loaded = vscode.extensions.all.filter((e) => !e.packageJSON.isBuiltin).map((e) => `${e.id} (${e.extensionPath})`);
        throw new Error(`extension ${IDS[key]} is not loaded in this extension host; loaded (not built in): ${loaded.join(', ') || 'none'}`);
      }
      exts[key] = ext;
      // Each is measured on its first activation only: neither may have been activated by an activation event.
      result[`${key}ActiveBefore`] = ext.isActive;
    }
    await sleep(settleMs);
    for (const key of order) {
      const before = await waitForQuiet(quiet);
      result[`${key}BusyBeforePct`] = before.busyPct;
      result[`${key}QuietWaitMs`] = before.waitedMs;
      result[`${key}Quiet`] = before.quiet;
      result[`${key}ActiveBefore`] = result[`${key}ActiveBefore`] || exts[key].isActive;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await exts[key].activate();
      result[`${key}Ms`] = performance.now() - t0;
      // CPU time of the whole extension host process over the same interval: close to the wall time unless the
      // host was descheduled (another process on the machine) or waited on something.
      const cpu = process.cpuUsage(cpu0);
      result[`${key}CpuMs`] = (cpu.user + cpu.system) / 1000;
      result[`${key}ActiveAfter`] = exts[key].isActive;
    }
    // VS Code's own marks around loading each extension's main module (extension host internals, millisecond
    // resolution there; absent if a later VS Code drops them): they split activation into code loading and the rest.
    const marks = globalThis.MonacoPerformanceMarks && globalThis.MonacoPerformanceMarks.getMarks ? globalThis.MonacoPerformanceMarks.getMarks() : [];
    for (const key of order) {
      const at = (what) => marks.find((m) => m.name === `code/extHost/${what}ExtensionCode/${IDS[key]}`);
      const will = at('willLoad');
      const did = at('didLoad');
      if (will && did) result[`${key}CodeLoadMs`] = did.startTime - will.startTime;
    }
    result.ok = true;
  } catch (err) {
    result.error = String((err && err.stack) || err);
  }
  write(file, result);
}

module.exports = { run };
