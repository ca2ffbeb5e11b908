// How busy the whole machine is, from /proc/stat (Linux; elsewhere it reports null and never waits).
// Used by the probe right before each activation it times: on a small shared machine another process's burst
// (a test run, a build) would otherwise land inside a measurement of a few milliseconds.
/* eslint-disable @typescript-eslint/no-require-imports */
'use strict';
const { readFileSync } = require('node:fs');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function cpuTimes() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] || 0); // idle + iowait
    return { total: f.reduce((a, b) => a + b, 0), idle };
  } catch {
    return null;
  }
}

/** Percentage of all cores' time that was busy during the next `windowMs` (null where /proc/stat is missing). */
async function busyPct(windowMs = 500) {
  const a = cpuTimes();
  await sleep(windowMs);
  const b = cpuTimes();
  if (!a || !b || b.total === a.total) return null;
  return (100 * (b.total - a.total - (b.idle - a.idle))) / (b.total - a.total);
}

/**
 * Waits until one window of `windowMs` shows the machine at most `thresholdPct` busy, or `maxWaitMs` has passed.
 * Resolves with { busyPct (of the last window), waitedMs, quiet }.
 */
async function waitForQuiet({ thresholdPct = 25, windowMs = 500, maxWaitMs = 30000 } = {}) {
  const started = Date.now();
  for (;;) {
    const pct = await busyPct(windowMs);
    const waitedMs = Date.now() - started;
    if (pct === null || pct <= thresholdPct) return { busyPct: pct, waitedMs, quiet: true };
    if (waitedMs >= maxWaitMs) return { busyPct: pct, waitedMs, quiet: false };
  }
}

module.exports = { busyPct, waitForQuiet };
