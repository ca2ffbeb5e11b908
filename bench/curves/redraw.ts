// bench/curves: redraw time of the live curves panel (webview/curves) for a 1,000,000-point series, in real headless
// Chromium, side by side with the same chart fed the raw 1M points (no decimation), in one run (issue 4; budget in
// shared/DESIGN.md: a redraw of a 1M-point series <= 16 ms, decimated).
//   npm run build && node --import tsx bench/curves/redraw.ts [--points 1000000] [--repeats 31] [--json FILE]
// The series goes through the store's real Series (src/runs/format/series.ts: min/max buckets capped at 8,192
// committed points) and the panel's wire format (src/runs/view/wire.ts), exactly what the host sends.
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import type { CurveRun, CurvesToWebview } from '../../src/protocol/curves';
import { SeriesSet } from '../../src/runs/format/series';
import { DeltaTracker } from '../../src/runs/view/wire';
import { openWebviewApp } from '../common/webviewPage';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}
const POINTS = Number(arg('points', '1000000'));
const REPEATS = Number(arg('repeats', '31'));
const JSON_OUT = arg('json', '');
const BUDGET_MS = 16;

function snapshot(cap: number): { message: CurvesToWebview; sentPoints: number; buildMs: number } {
  const started = performance.now();
  const set = new SeriesSet(cap);
  for (let i = 0; i < POINTS; i++) {
    // A training curve: decaying loss with noise-like wiggles, epochs of 100,000 steps.
    set.addRecord({ step: i, t: undefined, epoch: Math.floor(i / 100_000), split: 'train', values: { loss: 1 / (1 + i / 1000) + 0.05 * Math.sin(i / 50) } });
  }
  const run: CurveRun = { key: 'bench', name: 'bench-1m', kind: 'descent', status: 'finished', startT: null, progress: null, index: 0 };
  const series = new DeltaTracker().collect('bench', set, 0, true);
  const buildMs = performance.now() - started;
  const sentPoints = series.reduce((n, s) => n + s.committed.step.length + s.tail.step.length, 0);
  return { message: { type: 'snapshot', title: 'bench', runs: [run], series, missing: [] }, sentPoints, buildMs };
}

interface Timing {
  label: string;
  sentPoints: number;
  buildMs: number;
  median: number;
  p95: number;
  min: number;
  max: number;
}

async function measure(label: string, cap: number): Promise<Timing> {
  const { message, sentPoints, buildMs } = snapshot(cap);
  const page = await openWebviewApp('curves');
  try {
    await page.post(message);
    await page.waitFor('canvas[data-metric="loss"]');
    const times = await page.evaluate((n: number) => {
      const api = (globalThis as unknown as { descentCurves: { redraw(): number } }).descentCurves;
      for (let i = 0; i < 3; i++) api.redraw(); // warm-up: JIT and chart.js caches
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push(api.redraw());
      return out;
    }, REPEATS);
    times.sort((a, b) => a - b);
    const at = (q: number) => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)]!;
    return { label, sentPoints, buildMs, median: at(0.5), p95: at(0.95), min: times[0]!, max: times[times.length - 1]! };
  } finally {
    await page.close();
  }
}

const f = (ms: number) => `${ms.toFixed(2)} ms`;

async function main(): Promise<void> {
  console.log(`[bench:curves] ${POINTS.toLocaleString('en')} points, ${REPEATS} redraws each; ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(2)}`);
  const decimated = await measure('Descent (store decimation, min/max buckets)', 8192);
  const raw = await measure('same chart, raw points (no decimation)', POINTS + 1);
  const rows = [decimated, raw];
  console.log('');
  console.log('| series | points sent to the webview | host build | redraw median | p95 | min .. max |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const r of rows) console.log(`| ${r.label} | ${r.sentPoints.toLocaleString('en')} | ${f(r.buildMs)} | ${f(r.median)} | ${f(r.p95)} | ${f(r.min)} .. ${f(r.max)} |`);
  console.log('');
  console.log(`raw / decimated redraw (median): ${(raw.median / decimated.median).toFixed(1)}x`);
  console.log(`budget: decimated redraw median <= ${BUDGET_MS} ms: ${decimated.median <= BUDGET_MS ? 'within budget' : 'OVER BUDGET'}`);
  if (JSON_OUT) writeFileSync(JSON_OUT, `${JSON.stringify({ points: POINTS, repeats: REPEATS, loadavg: loadavg()[0], rows }, null, 2)}\n`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
