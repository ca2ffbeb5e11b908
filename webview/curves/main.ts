// Live curves panel: one chart per metric with every split (train / val / test) of every run in the panel, x by
// step, epoch or wall time, log scale, TensorBoard-style smoothing, zoom and pan, hover values, progress and ETA.
// Fed by src/runs/view/curvesPanel.ts: a snapshot, then deltas of new points (src/protocol/curves.ts).
import '../common/base.css';
import './curves.css';
import {
  Chart,
  Decimation,
  Legend,
  LineController,
  LineElement,
  LinearScale,
  LogarithmicScale,
  PointElement,
  Tooltip,
  type ChartDataset,
} from 'chart.js';
import zoomPlugin from 'chartjs-plugin-zoom';
import type { CurvePoints, CurveRun, CurveSeries, CurvesState, CurvesToHost, CurvesToWebview, WireValue } from '../../src/protocol/curves';
import { formatDuration, formatProgress, formatValue } from '../../src/runs/view/progress';
import { emaSmooth } from '../../src/runs/view/smoothing';
import { h } from '../common/dom';
import { connectToHost } from '../common/host';
import { cssVar, onThemeChange, seriesColors } from '../common/theme';

Chart.register(LineController, LineElement, PointElement, LinearScale, LogarithmicScale, Tooltip, Legend, Decimation, zoomPlugin);

type XAxis = CurvesState['xAxis'];

interface SeriesData {
  run: string;
  metric: string;
  split: string | null;
  count: number;
  step: number[];
  t: (number | null)[];
  epoch: (number | null)[];
  value: number[];
  tail: { step: number[]; t: (number | null)[]; epoch: (number | null)[]; value: number[] };
}

interface ChartView {
  metric: string;
  card: HTMLElement;
  canvas: HTMLCanvasElement;
  chart: Chart<'line', { x: number; y: number | null }[]> | undefined;
}

const app = document.getElementById('app')!;
let title = '';
let runs: CurveRun[] = [];
let missing: string[] = [];
const series = new Map<string, SeriesData>();
const charts = new Map<string, ChartView>();
const dirtyMetrics = new Set<string>();
let state: CurvesState = { runs: [], xAxis: 'step', logScale: false, smoothing: 0.6 };
let frame = 0;
/** Draw time of the last redraw of each chart, ms (read by the browser test and the bench). */
const drawMs: number[] = [];

const host = connectToHost<CurvesToWebview, CurvesToHost, CurvesState>((m) => {
  if (m.type === 'snapshot') {
    title = m.title;
    runs = m.runs;
    missing = m.missing;
    series.clear();
    for (const s of m.series) apply(s);
    state = { ...state, runs: [...runs.map((r) => r.key), ...missing] };
    host.saveState(state);
    renderAll();
  } else {
    for (const r of m.runs) {
      const i = runs.findIndex((x) => x.key === r.key);
      if (i >= 0) runs[i] = r;
      else runs.push(r);
    }
    for (const s of m.series) apply(s);
    renderRuns();
    scheduleDraw();
  }
});
if (host.savedState) state = { ...state, ...host.savedState };

function num(v: WireValue): number {
  if (typeof v === 'number') return v;
  return v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : NaN;
}

function decode(p: CurvePoints) {
  return { step: p.step, t: p.t, epoch: p.epoch, value: p.value.map(num) };
}

function apply(s: CurveSeries): void {
  let d = series.get(s.id);
  if (d === undefined || s.from === 0) {
    d = { run: s.run, metric: s.metric, split: s.split, count: 0, step: [], t: [], epoch: [], value: [], tail: decode(s.tail) };
    series.set(s.id, d);
  }
  const c = decode(s.committed);
  d.step.length = d.t.length = d.epoch.length = d.value.length = s.from;
  // A loop, not push(...c.step): spreading a long array as arguments overflows the call stack.
  for (let i = 0; i < c.step.length; i++) {
    d.step.push(c.step[i]!);
    d.t.push(c.t[i]!);
    d.epoch.push(c.epoch[i]!);
    d.value.push(c.value[i]!);
  }
  d.tail = decode(s.tail);
  d.count = s.count;
  dirtyMetrics.add(s.metric);
}

// ---- layout ----

const xSelect = h('select', { id: 'x-axis', 'aria-label': 'X axis' }, h('option', { value: 'step' }, 'Step'), h('option', { value: 'epoch' }, 'Epoch'), h('option', { value: 'time' }, 'Wall time'));
const logBox = h('input', { type: 'checkbox', id: 'log-scale' });
const smoothRange = h('input', { type: 'range', id: 'smoothing', min: 0, max: 0.99, step: 0.01, 'aria-label': 'Smoothing' });
const smoothValue = h('span', { id: 'smoothing-value', class: 'mono' });
const resetButton = h('button', { id: 'reset-zoom', title: 'Reset zoom and pan' }, 'Reset zoom');
const pngButton = h('button', { id: 'export-png', title: 'Save the charts as PNG images' }, 'PNG');
const csvButton = h('button', { id: 'export-csv', title: 'Save the points shown as CSV' }, 'CSV');
const landscapeButton = h('button', { id: 'plot-landscape', title: 'Descent: Plot Loss Landscape of this run (needs its checkpoints)' }, 'Loss landscape');
const confusionButton = h('button', { id: 'show-confusion', title: 'Descent: Show Confusion Matrix of this run' }, 'Confusion matrix');
confusionButton.hidden = true;
const titleEl = h('h1', { id: 'title' });
const runsEl = h('div', { class: 'runs', id: 'runs' });
const chartsEl = h('div', { class: 'charts', id: 'charts' });
const toolbar = h(
  'div',
  { class: 'toolbar' },
  h('label', {}, 'X axis', xSelect),
  h('label', {}, logBox, 'Log scale'),
  h('label', {}, 'Smoothing', smoothRange, smoothValue),
  resetButton,
  pngButton,
  csvButton,
  landscapeButton,
  confusionButton,
);
confusionButton.addEventListener('click', () => {
  const run = runs.find((r) => (r.confusions ?? 0) > 0);
  if (run) host.post({ type: 'showConfusion', run: run.key });
});
landscapeButton.addEventListener('click', () => {
  if (runs[0]) host.post({ type: 'plotLandscape', run: runs[0].key });
});

xSelect.addEventListener('change', () => {
  state.xAxis = xSelect.value as XAxis;
  saveAndRedraw();
});
logBox.addEventListener('change', () => {
  state.logScale = logBox.checked;
  saveAndRedraw();
});
smoothRange.addEventListener('input', () => {
  state.smoothing = Number(smoothRange.value);
  smoothValue.textContent = state.smoothing.toFixed(2);
  saveAndRedraw();
});
resetButton.addEventListener('click', () => {
  for (const v of charts.values()) v.chart?.resetZoom();
});
pngButton.addEventListener('click', () => {
  // Webviews cannot download: the charts are stacked into one image, on the theme's background, and the host saves it.
  const canvases = [...charts.values()].map((v) => v.canvas).filter((c) => c.width > 0 && c.height > 0);
  if (canvases.length === 0) return;
  const out = document.createElement('canvas');
  out.width = Math.max(...canvases.map((c) => c.width));
  out.height = canvases.reduce((sum, c) => sum + c.height, 0);
  const ctx = out.getContext('2d')!;
  ctx.fillStyle = getComputedStyle(document.body).getPropertyValue('--vscode-editor-background').trim() || '#ffffff';
  ctx.fillRect(0, 0, out.width, out.height);
  let y = 0;
  for (const c of canvases) {
    ctx.drawImage(c, 0, y);
    y += c.height;
  }
  host.post({ type: 'exportPng', dataUrl: out.toDataURL('image/png'), suggestedName: `${title.replace(/[^\w.-]+/g, '_') || 'curves'}.png` });
});
csvButton.addEventListener('click', () => {
  const lines = ['run,split,metric,step,epoch,time,value'];
  const q = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  for (const d of series.values()) {
    const name = runs.find((r) => r.key === d.run)?.name ?? d.run;
    for (let i = 0; i < d.step.length; i++) {
      lines.push([q(name), q(d.split ?? ''), q(d.metric), d.step[i], d.epoch[i] ?? '', d.t[i] ?? '', d.value[i]].join(','));
    }
  }
  host.post({ type: 'exportCsv', csv: lines.join('\n') + '\n', suggestedName: `${title.replace(/[^\w.-]+/g, '_') || 'curves'}.csv` });
});

function saveAndRedraw(): void {
  host.saveState(state);
  for (const m of charts.keys()) dirtyMetrics.add(m);
  for (const v of charts.values()) {
    v.chart?.destroy();
    v.chart = undefined;
  }
  scheduleDraw();
}

onThemeChange(() => saveAndRedraw());

function renderAll(): void {
  xSelect.value = state.xAxis;
  logBox.checked = state.logScale;
  smoothRange.value = String(state.smoothing);
  smoothValue.textContent = state.smoothing.toFixed(2);
  titleEl.textContent = title;
  if (!app.contains(toolbar)) {
    app.replaceChildren(titleEl, toolbar, runsEl, chartsEl);
  }
  for (const v of charts.values()) v.chart?.destroy();
  charts.clear();
  chartsEl.replaceChildren();
  for (const d of series.values()) dirtyMetrics.add(d.metric);
  renderRuns();
  if (series.size === 0) {
    chartsEl.append(h('p', { class: 'muted empty', id: 'no-metrics' }, missing.length && !runs.length ? 'This run is no longer in the workspace.' : 'No metrics recorded yet. Curves appear as soon as the run logs its first record.'));
  }
  scheduleDraw();
  app.dataset.state = 'ready';
  app.setAttribute('aria-busy', 'false');
}

const STATUS_TEXT: Record<CurveRun['status'], string> = { running: 'running', finished: 'finished', failed: 'failed', stopped: 'stopped', interrupted: 'interrupted' };

function renderRuns(): void {
  const colors = seriesColors();
  confusionButton.hidden = !runs.some((r) => (r.confusions ?? 0) > 0);
  runsEl.replaceChildren(
    ...runs.map((r) => {
      const bits = [STATUS_TEXT[r.status]];
      if (r.progress) bits.push(formatProgress(r.progress));
      return h(
        'div',
        { class: 'run-line', 'data-run': r.key },
        runs.length > 1 ? swatch(colors[r.index % colors.length]!) : null,
        h('strong', {}, r.name),
        h('span', { class: 'muted status' }, bits.join(' · ')),
      );
    }),
    ...missing.map((k) => h('div', { class: 'run-line muted' }, `${k}: no longer in the workspace`)),
  );
}

/** A colour square; the colour is set through the CSSOM (the CSP forbids style attributes). */
function swatch(color: string): HTMLElement {
  const el = h('span', { class: 'swatch' });
  el.style.backgroundColor = withAlpha(color, 1);
  return el;
}

// ---- charts ----

function scheduleDraw(): void {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    draw();
  });
}

const DASH: Record<string, number[]> = { train: [], val: [6, 3], test: [2, 3] };

function splitLabel(split: string | null): string {
  return split ?? 'value';
}

function xOf(d: SeriesData, i: number, fromTail: boolean, startT: number | null): number | null {
  const src = fromTail ? d.tail : d;
  if (state.xAxis === 'step') return src.step[i]!;
  if (state.xAxis === 'epoch') return src.epoch[i] ?? null;
  const t = src.t[i];
  return t === null || t === undefined || startT === null ? null : t - startT;
}

function datasetsFor(metric: string): ChartDataset<'line', { x: number; y: number | null }[]>[] {
  const colors = seriesColors();
  const compare = runs.length > 1;
  const list = [...series.values()].filter((d) => d.metric === metric);
  const splitOrder = (s: string | null) => (s === 'train' ? 0 : s === 'val' ? 1 : s === 'test' ? 2 : 3);
  list.sort((a, b) => runIndex(a.run) - runIndex(b.run) || splitOrder(a.split) - splitOrder(b.split));
  const out: ChartDataset<'line', { x: number; y: number | null }[]>[] = [];
  for (const [k, d] of list.entries()) {
    const run = runs.find((r) => r.key === d.run);
    const startT = run?.startT ?? firstTime(d);
    const color = withAlpha(compare ? colors[runIndex(d.run) % colors.length]! : colors[k % colors.length]!, 1);
    const faint = withAlpha(color, 0.25);
    const xs: (number | null)[] = [];
    const ys: number[] = [];
    for (let i = 0; i < d.step.length; i++) {
      xs.push(xOf(d, i, false, startT));
      ys.push(d.value[i]!);
    }
    for (let i = 0; i < d.tail.step.length; i++) {
      xs.push(xOf(d, i, true, startT));
      ys.push(d.tail.value[i]!);
    }
    const toPoint = (y: number, i: number) => {
      const x = xs[i];
      const ok = Number.isFinite(y) && (!state.logScale || y > 0);
      return x === null || x === undefined ? null : { x, y: ok ? y : null };
    };
    const raw = ys.map(toPoint).filter((p): p is { x: number; y: number | null } => p !== null);
    const label = compare ? `${run?.name ?? d.run} · ${splitLabel(d.split)}` : splitLabel(d.split);
    const dash = DASH[d.split ?? ''] ?? [4, 2, 1, 2];
    const smoothing = state.smoothing;
    if (smoothing > 0) {
      out.push({ label: `${label} (raw)`, data: raw, borderColor: faint, backgroundColor: faint, borderWidth: 1, pointRadius: 0, borderDash: dash, spanGaps: false });
      const smooth = emaSmooth(ys, smoothing).map(toPoint).filter((p): p is { x: number; y: number | null } => p !== null);
      out.push({ label, data: smooth, borderColor: color, backgroundColor: color, borderWidth: 1.75, pointRadius: 0, borderDash: dash, spanGaps: false });
    } else {
      out.push({ label, data: raw, borderColor: color, backgroundColor: color, borderWidth: 1.5, pointRadius: raw.length < 40 ? 2 : 0, borderDash: dash, spanGaps: false });
    }
  }
  return out;
}

/** A theme colour at the given opacity. Theme colours come as #rgb, #rrggbb(aa) or rgb(a)(); their own alpha is dropped. */
function withAlpha(color: string, alpha: number): string {
  const c = color.trim();
  let r: number, g: number, b: number;
  const hex = /^#([0-9a-f]{3,8})$/i.exec(c);
  const rgb = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)/i.exec(c);
  if (hex) {
    const x = hex[1]!;
    const full = x.length <= 4 ? [...x.slice(0, 3)].map((ch) => ch + ch).join('') : x.slice(0, 6);
    r = parseInt(full.slice(0, 2), 16);
    g = parseInt(full.slice(2, 4), 16);
    b = parseInt(full.slice(4, 6), 16);
  } else if (rgb) {
    [r, g, b] = [Number(rgb[1]), Number(rgb[2]), Number(rgb[3])];
  } else {
    return c;
  }
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}

function runIndex(key: string): number {
  return runs.find((r) => r.key === key)?.index ?? 0;
}

function firstTime(d: SeriesData): number | null {
  for (const t of d.t) if (t !== null) return t;
  return null;
}

function xTitle(): string {
  return state.xAxis === 'step' ? 'step' : state.xAxis === 'epoch' ? 'epoch' : 'wall time (from the start of the run)';
}

function draw(): void {
  const metrics = [...new Set([...series.values()].map((d) => d.metric))].sort(metricOrder);
  for (const metric of metrics) {
    if (!charts.has(metric)) {
      const canvas = h('canvas', { role: 'img', 'aria-label': `${metric} by ${state.xAxis}`, 'data-metric': metric });
      const card = h('section', { class: 'chart-card', 'data-metric': metric }, h('h2', {}, metric), h('div', { class: 'chart-box' }, canvas));
      chartsEl.querySelector('#no-metrics')?.remove();
      chartsEl.append(card);
      charts.set(metric, { metric, card, canvas, chart: undefined });
      dirtyMetrics.add(metric);
    }
  }
  // Cards in metric order.
  const ordered = metrics.map((m) => charts.get(m)!.card);
  if (ordered.some((c, i) => chartsEl.children[i] !== c)) chartsEl.replaceChildren(...ordered);
  for (const metric of [...dirtyMetrics]) {
    const v = charts.get(metric);
    if (!v) continue;
    const started = performance.now();
    const datasets = datasetsFor(metric);
    if (v.chart) {
      v.chart.data.datasets = datasets;
    } else {
      v.chart = createChart(v.canvas, datasets);
    }
    flatRange(v.chart, datasets);
    v.chart.update('none');
    const ms = performance.now() - started;
    v.canvas.dataset.drawMs = ms.toFixed(2);
    v.canvas.dataset.points = String(datasets.reduce((n, d) => n + d.data.length, 0));
    drawMs.push(ms);
  }
  dirtyMetrics.clear();
  app.dataset.draws = String(drawMs.length);
  app.dataset.lastDrawMs = drawMs.length ? Math.max(...drawMs.slice(-metrics.length)).toFixed(2) : '';
}

/** A constant series (a fixed learning rate) gets a visible range instead of one spanning rounding noise. */
function flatRange(chart: Chart<'line', { x: number; y: number | null }[]>, datasets: ChartDataset<'line', { x: number; y: number | null }[]>[]): void {
  let lo = Infinity;
  let hi = -Infinity;
  for (const d of datasets) {
    for (const p of d.data) {
      if (p.y === null) continue;
      if (p.y < lo) lo = p.y;
      if (p.y > hi) hi = p.y;
    }
  }
  const y = chart.options.scales!.y!;
  const flat = Number.isFinite(lo) && hi - lo <= Math.abs(hi) * 1e-9;
  const pad = Math.abs(hi) * 0.1 || 1;
  y.min = flat ? (state.logScale ? hi / 2 : hi - pad) : undefined;
  y.max = flat ? (state.logScale ? hi * 2 : hi + pad) : undefined;
}

function metricOrder(a: string, b: string): number {
  const rank = (m: string) => (/loss/i.test(m) ? 0 : /acc|f1|auc|precision|recall|iou|map/i.test(m) ? 1 : /^lr|learning.?rate/i.test(m) ? 3 : 2);
  return rank(a) - rank(b) || a.localeCompare(b);
}

function formatX(v: number): string {
  if (state.xAxis !== 'time') return Number.isInteger(v) ? String(v) : String(Number(v.toFixed(2)));
  return formatDuration(v);
}

function createChart(canvas: HTMLCanvasElement, datasets: ChartDataset<'line', { x: number; y: number | null }[]>[]): Chart<'line', { x: number; y: number | null }[]> {
  const fg = cssVar('--vscode-descriptionForeground', '#888');
  const grid = cssVar('--vscode-editorWidget-border', '#8884');
  return new Chart<'line', { x: number; y: number | null }[]>(canvas, {
    type: 'line',
    data: { datasets },
    options: {
      animation: false,
      maintainAspectRatio: false,
      parsing: false,
      normalized: true,
      interaction: { mode: 'nearest', intersect: false, axis: 'x' },
      scales: {
        x: { type: 'linear', title: { display: true, text: xTitle(), color: fg }, ticks: { color: fg, maxTicksLimit: 8, callback: (v) => formatX(Number(v)) }, grid: { color: grid } },
        y: { type: state.logScale ? 'logarithmic' : 'linear', ticks: { color: fg, maxTicksLimit: 8, callback: (v) => formatValue(Number(v)) }, grid: { color: grid } },
      },
      plugins: {
        legend: { labels: { color: fg, boxWidth: 12, filter: (item) => !String(item.text).endsWith('(raw)') } },
        tooltip: {
          filter: (item) => !String(item.dataset.label).endsWith('(raw)'),
          callbacks: {
            title: (items) => (items[0] ? `${xTitle().split(' ')[0]} ${formatX(items[0].parsed.x ?? 0)}` : ''),
            label: (c) => `${c.dataset.label}: ${c.parsed.y === null ? 'n/a' : formatValue(c.parsed.y)}`,
          },
        },
        // Min/max per pixel column: a decimated series of thousands of points costs what the canvas can show.
        decimation: { enabled: true, algorithm: 'min-max' },
        zoom: {
          pan: { enabled: true, mode: 'xy', modifierKey: 'shift' },
          zoom: { wheel: { enabled: true }, pinch: { enabled: true }, drag: { enabled: true, backgroundColor: grid }, mode: 'x' },
        },
      },
    },
  });
}

// Draw the last known state at once after a reload, until the host's snapshot arrives.
app.replaceChildren(h('p', { class: 'muted' }, 'Loading runs…'));

/** For the browser test and the bench: redraw every chart now and return the slowest draw, ms. */
(window as unknown as { descentCurves: unknown }).descentCurves = {
  redraw(): number {
    for (const m of charts.keys()) dirtyMetrics.add(m);
    const before = drawMs.length;
    draw();
    return Math.max(0, ...drawMs.slice(before));
  },
  /** The datasets of a metric's chart: label, colour, point count, first and last point. */
  datasets(metric: string) {
    return (charts.get(metric)?.chart?.data.datasets ?? []).map((d) => ({
      label: d.label,
      color: d.borderColor,
      n: d.data.length,
      first: d.data[0],
      last: d.data[d.data.length - 1],
    }));
  },
  /** Points added to the largest series (before decimation). */
  count(): number {
    let n = 0;
    for (const d of series.values()) n = Math.max(n, d.count);
    return n;
  },
  points(): number {
    let n = 0;
    for (const d of series.values()) n += d.step.length + d.tail.step.length;
    return n;
  },
};
