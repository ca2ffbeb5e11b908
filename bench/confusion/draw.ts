// Draw time of the confusion matrix panel (webview/confusion) in real Chromium: a 1000 x 1000 matrix drawn whole
// (fit to the panel), drawn zoomed in (cell values shown), and one epoch-slider step (normalise, reorder, colour and
// draw the next epoch's matrix), each repeated; median and p95 printed. Budget (DESIGN.md): 1000 x 1000 in <= 50 ms.
//
//   node --import tsx bench/confusion/draw.ts [--classes 1000] [--epochs 5] [--reps 31] [--json FILE]
//
// Needs `npm run build` and the browser from test/tools/install-host.sh. The data is generated (deterministic).
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { ConfusionSource, ConfusionToWebview } from '../../src/protocol/confusion';
import { openWebviewApp } from '../common/webviewPage';

const BUDGET_MS = 50;
const { values: opts } = parseArgs({
  options: {
    classes: { type: 'string', default: '1000' },
    epochs: { type: 'string', default: '5' },
    reps: { type: 'string', default: '31' },
    json: { type: 'string' },
  },
});
const n = Number(opts.classes);
const epochs = Number(opts.epochs);
const reps = Number(opts.reps);

/** 50 samples per class; accuracy rising with the epoch; mistakes mostly inside groups of 10 look-alike classes. */
function makeSource(): ConfusionSource {
  let seed = 12345;
  const rand = () => (seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  const labels = Array.from({ length: n }, (_, i) => `class-${String(i).padStart(4, '0')}`);
  const matrices = Array.from({ length: epochs }, (_, e) => {
    const counts = new Array<number>(n * n).fill(0);
    const acc = 0.5 + (0.4 * e) / Math.max(1, epochs - 1);
    for (let t = 0; t < n; t++) {
      for (let k = 0; k < 50; k++) {
        let p = t;
        if (rand() > acc) p = rand() < 0.7 ? Math.floor(t / 10) * 10 + Math.floor(rand() * 10) : Math.floor(rand() * n);
        counts[t * n + Math.min(n - 1, p)]!++;
      }
    }
    return { split: 'val', epoch: e, step: (e + 1) * 100, counts };
  });
  return { title: `bench ${n} classes`, labels, matrices };
}

const stat = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
  return { median: q(0.5), p95: q(0.95), min: s[0]!, max: s[s.length - 1]! };
};

interface Hooks {
  stats: { renderMs: number; drawMs: number };
  setPosition(p: number): number;
  redraw(): number;
  flushLists(): number;
  zoom(f: number): void;
  fit(): void;
  viewport(): { cell: number };
}

async function main(): Promise<void> {
const source = makeSource();
const page = await openWebviewApp('confusion', { width: 1400, height: 1000 });
try {
  await page.post({ type: 'snapshot', source } satisfies ConfusionToWebview);
  await page.waitFor('#app[data-state="ready"]');
  const firstRenderMs = await page.evaluate(() => (globalThis as unknown as { __descentConfusion: Hooks }).__descentConfusion.stats.renderMs, undefined);
  const figures = await page.evaluate(({ reps, epochs }) => {
    const api = (globalThis as unknown as { __descentConfusion: Hooks }).__descentConfusion;
    api.flushLists();
    const fitDraw: number[] = [];
    for (let i = 0; i < reps; i++) fitDraw.push(api.redraw());
    const fitCell = api.viewport().cell;
    const step: number[] = [];
    const lists: number[] = [];
    for (let i = 0; i < reps; i++) {
      step.push(api.setPosition(i % epochs));
      lists.push(api.flushLists());
    }
    api.zoom(28 / fitCell);
    const zoomCell = api.viewport().cell;
    const zoomDraw: number[] = [];
    for (let i = 0; i < reps; i++) zoomDraw.push(api.redraw());
    api.fit();
    return { fitDraw, step, lists, zoomDraw, fitCell, zoomCell };
  }, { reps, epochs });
  const rows: [string, number[]][] = [
    [`draw ${n}x${n}, whole matrix (cell ${figures.fitCell.toFixed(2)} px)`, figures.fitDraw],
    [`draw zoomed in (cell ${figures.zoomCell.toFixed(0)} px, values shown)`, figures.zoomDraw],
    ['epoch-slider step (recompute + draw)', figures.step],
    ['  then metrics table + pairs (after the frame)', figures.lists],
  ];
  console.log(`confusion draw bench: ${n} classes, ${epochs} epochs, ${reps} reps; first render (compute + draw) ${firstRenderMs.toFixed(1)} ms`);
  const out: Record<string, ReturnType<typeof stat>> = {};
  for (const [name, xs] of rows) {
    const s = stat(xs);
    out[name] = s;
    const over = !name.startsWith('  ') && s.median > BUDGET_MS ? '  OVER BUDGET' : '';
    console.log(`${name.padEnd(58)} median ${s.median.toFixed(2).padStart(7)} ms  p95 ${s.p95.toFixed(2).padStart(7)} ms  (min ${s.min.toFixed(2)}, max ${s.max.toFixed(2)})${over}`);
  }
  console.log(`budget: ${BUDGET_MS} ms`);
  if (opts.json) writeFileSync(opts.json, `${JSON.stringify({ classes: n, epochs, reps, firstRenderMs, figures: out }, null, 2)}\n`);
} finally {
  await page.close();
}
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
