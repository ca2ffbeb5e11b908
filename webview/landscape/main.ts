// Loss landscape panel: 1D curves (loss and accuracy, train and val) with chart.js; 2D contour with labelled levels
// over a heat map, the training path and the minimum; a 3D surface to rotate; two landscapes side by side;
// sharpness with one sentence on what it means; export PNG / CSV / VTK. Fed by src/landscape/vscode/panel.ts: a
// snapshot whenever landscape.json changes (src/protocol/landscape.ts).
import '../common/base.css';
import './landscape.css';
import { CategoryScale, Chart, Legend, LineController, LineElement, LinearScale, LogarithmicScale, PointElement, Tooltip, type ChartDataset } from 'chart.js';
import { formatEta } from '../../src/landscape/options';
import { axisPoints, cellValue, type LandscapeEntry, type LandscapeGrid, type LandscapeResult, type LandscapeState, type LandscapeToHost, type LandscapeToWebview } from '../../src/protocol/landscape';
import { h } from '../common/dom';
import { connectToHost } from '../common/host';
import { cssVar, onThemeChange, seriesColors } from '../common/theme';
import { drawPlot2d, type Plot2dStats } from './plot2d';
import { DEFAULT_VIEW, attachOrbit, drawSurface, type SurfaceView } from './surface';

Chart.register(LineController, LineElement, PointElement, LinearScale, LogarithmicScale, CategoryScale, Tooltip, Legend);

const app = document.getElementById('app')!;
let primary: LandscapeEntry | undefined;
let compare: LandscapeEntry | null = null;
const charts: Chart[] = [];
const surfaceViews = new Map<string, SurfaceView>();
/** What the last draw produced, per pane (read by the browser test). */
let drawn: { dir: string; view: string; stats: Plot2dStats | { quads: number } | { curves: string[] } }[] = [];
let draws = 0;

const host = connectToHost<LandscapeToWebview, LandscapeToHost, LandscapeState>((m) => {
  if (m.type !== 'snapshot') return;
  primary = m.primary;
  compare = m.compare;
  state.dir = m.primary.dir;
  state.compareDir = m.compare?.dir ?? null;
  host.saveState(state);
  render();
});
const state: LandscapeState = { dir: '', compareDir: null, view: 'contour', metric: 'loss', logLevels: true, levels: 15, ...host.savedState };

onThemeChange(() => render());
let resizeFrame = 0;
window.addEventListener('resize', () => {
  cancelAnimationFrame(resizeFrame);
  resizeFrame = requestAnimationFrame(() => render());
});

function save(): void {
  host.saveState(state);
  render();
}

const fmt = (v: number | null | undefined, digits = 4) => (v === null || v === undefined ? '–' : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : Number(v.toPrecision(digits)).toString());

const KIND_TEXT: Record<LandscapeResult['directions']['kind'], string> = {
  random: 'random directions',
  interpolate: 'interpolation between two checkpoints',
  pca: 'PCA directions of the training path',
};

function facts(r: LandscapeResult): string {
  const grid = r.grid.y ? `${r.grid.x.num}×${r.grid.y.num} grid` : `${r.grid.x.num} points`;
  const norm = r.directions.kind === 'random' ? `, ${r.directions.normalization} normalisation${r.directions.ignore === 'biasbn' ? ', biases and BN fixed' : ''}` : '';
  const data = `${r.data.split} data${r.data.samples !== null ? `, ${r.data.samples} samples` : ''}`;
  const model = r.model.parameters !== null ? `${r.model.parameters.toLocaleString('en-US')} parameters` : '';
  return [`${r.grid.dims}D, ${KIND_TEXT[r.directions.kind]}${norm}`, grid, data, model, `${r.engine} on ${r.device} (${r.dtype})`].filter(Boolean).join(' · ');
}

function statusLine(e: LandscapeEntry, r: LandscapeResult): HTMLElement {
  const p = r.progress;
  const pct = p.total > 0 ? (100 * p.done) / p.total : 0;
  const parts: (Node | string)[] = [];
  if (r.status === 'running') {
    const eta = p.pointsPerSecond && p.pointsPerSecond > 0 ? ` · ETA ${formatEta((p.total - p.done) / p.pointsPerSecond)}` : '';
    parts.push(`Computing: ${p.done}/${p.total} points (${pct.toFixed(0)}%)${p.pointsPerSecond ? ` · ${fmt(p.pointsPerSecond, 3)} points/s` : ''}${eta}`);
    const bar = h('div', { class: 'bar' }, h('div', { class: 'bar-fill' }));
    (bar.firstChild as HTMLElement).style.width = `${pct}%`;
    parts.push(bar);
    if (e.computing) parts.push(button('Cancel', 'cancel', () => host.post({ type: 'cancel' })));
  } else if (r.status === 'done') {
    parts.push(`Done: ${p.total} points${p.elapsedSeconds !== null ? ` in ${formatEta(p.elapsedSeconds)}` : ''}.`);
  } else if (r.status === 'cancelled') {
    parts.push(`Cancelled after ${p.done}/${p.total} points; the rest can be computed later.`, button('Resume', 'resume', () => host.post({ type: 'resume' })));
  } else {
    parts.push(`Failed: ${r.error ?? 'the engine stopped'} (${p.done}/${p.total} points kept).`, button('Resume', 'resume', () => host.post({ type: 'resume' })));
  }
  return h('div', { class: `status status-${r.status}`, 'data-status': r.status }, ...parts);
}

function button(label: string, id: string, onClick: () => void, disabled = false): HTMLButtonElement {
  const b = h('button', { id, type: 'button', disabled }, label);
  b.addEventListener('click', onClick);
  return b;
}

function sharpness(r: LandscapeResult): HTMLElement | null {
  const s = r.sharpness;
  if (!s || (s.topEigenvalue === null && s.trace === null)) return null;
  return h(
    'div',
    { class: 'card sharpness', 'data-sharpness': '' },
    h('h2', {}, 'Sharpness at the model'),
    h('div', { class: 'kv' }, h('span', { class: 'muted' }, 'Top Hessian eigenvalue λmax'), h('strong', {}, fmt(s.topEigenvalue))),
    h('div', { class: 'kv' }, h('span', { class: 'muted' }, 'Hessian trace'), h('strong', {}, fmt(s.trace))),
    h(
      'p',
      { class: 'muted' },
      'Flat minima (small λmax and trace: the loss barely rises when the weights move) tend to generalise better than sharp ones, where a small change of the weights costs a lot of loss (Keskar et al. 2017); compare these numbers between runs of the same network, not across networks.',
      s.iterations !== null ? ` Power iteration: ${s.iterations} steps` : '',
      s.samples !== null ? `, ${s.samples} samples.` : '',
    ),
  );
}

function render(): void {
  for (const c of charts.splice(0)) c.destroy();
  drawn = [];
  if (!primary) return;
  const r = primary.result;
  const header = h('header', {}, h('h1', {}, r ? `Loss landscape: ${r.name}` : 'Loss landscape'), h('div', { class: 'muted' }, primary.runName, r ? ` · ${facts(r)}` : ''));
  if (!r) {
    app.replaceChildren(
      header,
      h('div', { class: 'problems' }, h('p', {}, primary.computing ? 'Waiting for the engine to write its first points…' : 'This landscape cannot be shown:'), ...primary.problems.map((p) => h('p', { class: 'muted mono' }, p))),
      primary.computing ? button('Cancel', 'cancel', () => host.post({ type: 'cancel' })) : h('span'),
    );
    app.dataset.state = primary.computing ? 'waiting' : 'invalid';
    app.removeAttribute('aria-busy');
    return;
  }
  const twoD = r.grid.dims === 2;
  const hasAcc = r.metrics.accuracy !== null;
  const toolbar = h('div', { class: 'toolbar' });
  if (twoD) {
    const view = h('select', { id: 'view', title: 'View' }, h('option', { value: 'contour' }, 'Contour'), h('option', { value: 'surface' }, '3D surface'));
    view.value = state.view;
    view.addEventListener('change', () => {
      state.view = view.value === 'surface' ? 'surface' : 'contour';
      save();
    });
    const metric = h('select', { id: 'metric', title: 'Metric', disabled: !hasAcc }, h('option', { value: 'loss' }, 'Loss'), h('option', { value: 'accuracy' }, 'Accuracy'));
    metric.value = hasAcc ? state.metric : 'loss';
    metric.addEventListener('change', () => {
      state.metric = metric.value === 'accuracy' ? 'accuracy' : 'loss';
      save();
    });
    const levels = h('select', { id: 'levels', title: 'Contour levels' }, ...[8, 10, 15, 20, 30].map((n) => h('option', { value: String(n) }, `${n} levels`)));
    levels.value = String(state.levels);
    levels.addEventListener('change', () => {
      state.levels = Number(levels.value);
      save();
    });
    const log = h('input', { id: 'log-levels', type: 'checkbox', checked: state.logLevels });
    log.addEventListener('change', () => {
      state.logLevels = log.checked;
      save();
    });
    toolbar.append(view, metric, levels, h('label', {}, log, 'log-spaced levels'));
  } else {
    const log = h('input', { id: 'log-y', type: 'checkbox', checked: state.logLevels });
    log.addEventListener('change', () => {
      state.logLevels = log.checked;
      save();
    });
    toolbar.append(h('label', {}, log, 'log scale for the loss'));
  }
  toolbar.append(
    button('Compare with…', 'compare', () => host.post({ type: 'pickCompare' })),
    compare ? button('Close comparison', 'clear-compare', () => host.post({ type: 'clearCompare' })) : '',
    button('Export PNG', 'export-png', () => exportPng()),
    button('Export CSV', 'export-csv', () => host.post({ type: 'export', format: 'csv', which: 'primary' })),
    twoD ? button('Export VTK', 'export-vtk', () => host.post({ type: 'export', format: 'vtk', which: 'primary' })) : '',
    button('Open folder', 'open-folder', () => host.post({ type: 'openFolder' })),
  );
  const entries = compare ? [primary, compare] : [primary];
  const panes = h('div', { class: `panes${compare ? ' two' : ''}` });
  app.replaceChildren(header, statusLine(primary, r), toolbar, panes, sharpness(r) ?? '');
  const toDraw: (() => void)[] = [];
  for (const e of entries) {
    const pane = h('section', { class: 'pane', 'data-dir': e.dir });
    panes.append(pane);
    const er = e.result;
    pane.append(h('h2', {}, `${e.runName} / ${er?.name ?? e.dir}`), er ? h('div', { class: 'muted small' }, originText(er)) : '');
    if (!er) {
      pane.append(...e.problems.map((p) => h('p', { class: 'muted mono' }, p)));
      continue;
    }
    if (er.grid.dims === 1) toDraw.push(...plot1d(pane, e, er));
    else if (state.view === 'surface') toDraw.push(surface(pane, e, er));
    else toDraw.push(contour(pane, e, er));
    // The second landscape's sharpness under its plot, so the two plots stay level.
    const sh = e !== primary ? sharpness(er) : null;
    if (sh) pane.append(sh);
  }
  // Canvases measure their size once in the document.
  for (const d of toDraw) d();
  draws++;
  app.dataset.state = 'ready';
  app.dataset.draws = String(draws);
  app.removeAttribute('aria-busy');
}

function originText(r: LandscapeResult): string {
  const bits: string[] = [];
  if (r.origin?.loss !== null && r.origin?.loss !== undefined) bits.push(`model: loss ${fmt(r.origin.loss)}${r.origin.accuracy !== null ? `, accuracy ${fmt(r.origin.accuracy, 3)}` : ''}`);
  if (r.minimum) bits.push(`lowest point: loss ${fmt(r.minimum.loss)} at (${fmt(r.minimum.x, 3)}${r.grid.dims === 2 ? `, ${fmt(r.minimum.y, 3)}` : ''})`);
  if (r.directions.explainedVariance) bits.push(`explained variance ${r.directions.explainedVariance.map((v) => `${(v * 100).toFixed(1)}%`).join(' + ')}`);
  return bits.join(' · ');
}

function contour(pane: HTMLElement, e: LandscapeEntry, r: LandscapeResult): () => void {
  const canvas = h('canvas', { class: 'plot', 'data-view': 'contour', 'data-dir': e.dir, role: 'img', 'aria-label': `Contour plot of ${r.name}` });
  pane.append(h('div', { class: 'plot-box' }, canvas));
  return () => {
    const stats = drawPlot2d(canvas, r, { metric: state.metric === 'accuracy' && r.metrics.accuracy ? 'accuracy' : 'loss', levels: state.levels, log: state.logLevels });
    drawn.push({ dir: e.dir, view: 'contour', stats });
  };
}

function surface(pane: HTMLElement, e: LandscapeEntry, r: LandscapeResult): () => void {
  const canvas = h('canvas', { class: 'plot grab', 'data-view': 'surface', 'data-dir': e.dir, role: 'img', 'aria-label': `3D surface of ${r.name}; drag to rotate, wheel to zoom` });
  pane.append(h('div', { class: 'plot-box' }, canvas), h('div', { class: 'muted small' }, 'Drag to rotate, wheel to zoom.'));
  // The same rotation for both panes of a comparison, so the two surfaces are seen from the same side.
  let view = surfaceViews.get('shared');
  if (!view) surfaceViews.set('shared', (view = { ...DEFAULT_VIEW }));
  const metric = state.metric === 'accuracy' && r.metrics.accuracy ? 'accuracy' : 'loss';
  const draw = () => {
    const quads = drawSurface(canvas, r, metric, state.logLevels, view);
    return quads;
  };
  attachOrbit(canvas, view, () => {
    for (const c of document.querySelectorAll<HTMLCanvasElement>('canvas[data-view="surface"]')) c.dispatchEvent(new CustomEvent('redraw'));
  });
  canvas.addEventListener('redraw', () => draw());
  return () => drawn.push({ dir: e.dir, view: 'surface', stats: { quads: draw() } });
}

function row(g: LandscapeGrid | null | undefined): (number | null)[] {
  return (g?.[0] ?? []).map((c) => {
    const v = cellValue(c);
    return Number.isFinite(v) ? v : null;
  });
}

function plot1d(pane: HTMLElement, e: LandscapeEntry, r: LandscapeResult): (() => void)[] {
  const xs = axisPoints(r.grid.x);
  const colors = seriesColors();
  const grid = cssVar('--vscode-editorWidget-border', '#8884');
  const fg = cssVar('--vscode-foreground', '#ccc');
  const xLabel = r.directions.kind === 'interpolate' ? 'α (0: first checkpoint, 1: last)' : 'step along the direction';
  const make = (metric: 'loss' | 'accuracy'): (() => void) | null => {
    const train = row(r.metrics[metric]);
    const val = r.valMetrics ? row(r.valMetrics[metric]) : [];
    if (train.length === 0 && val.length === 0) return null;
    const canvas = h('canvas', { 'data-view': `1d-${metric}`, 'data-dir': e.dir, role: 'img', 'aria-label': `${metric} along the line` });
    pane.append(h('div', { class: 'chart-box' }, canvas));
    return () => {
      const sets: ChartDataset<'line', { x: number; y: number | null }[]>[] = [];
      const trainLabel = r.data.split === 'val' ? 'val' : 'train';
      if (train.length) sets.push({ label: trainLabel, data: xs.map((x, i) => ({ x, y: train[i] ?? null })), borderColor: colors[0], backgroundColor: colors[0], pointRadius: 0, borderWidth: 2, spanGaps: false });
      if (val.length) sets.push({ label: 'val', data: xs.map((x, i) => ({ x, y: val[i] ?? null })), borderColor: colors[1], backgroundColor: colors[1], pointRadius: 0, borderWidth: 2, borderDash: [6, 3] });
      const chart = new Chart(canvas, {
        type: 'line',
        data: { datasets: sets },
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          parsing: false,
          normalized: true,
          scales: {
            x: { type: 'linear', title: { display: true, text: xLabel, color: fg }, ticks: { color: fg }, grid: { color: grid } },
            y: { type: metric === 'loss' && state.logLevels ? 'logarithmic' : 'linear', title: { display: true, text: metric, color: fg }, ticks: { color: fg }, grid: { color: grid } },
          },
          plugins: { legend: { labels: { color: fg } }, tooltip: { intersect: false, mode: 'index' } },
        },
      });
      charts.push(chart);
      drawn.push({ dir: e.dir, view: `1d-${metric}`, stats: { curves: sets.map((s) => s.label ?? '') } });
    };
  };
  return [make('loss'), make('accuracy')].filter((f): f is () => void => f !== null);
}

function exportPng(): void {
  const canvases = [...document.querySelectorAll<HTMLCanvasElement>('.panes canvas')];
  if (canvases.length === 0) return;
  // Everything drawn, side by side, on the editor's background.
  const w = canvases.reduce((s, c) => s + c.width, 0);
  const hgt = Math.max(...canvases.map((c) => c.height));
  const out = document.createElement('canvas');
  out.width = w;
  out.height = hgt;
  const ctx = out.getContext('2d')!;
  ctx.fillStyle = cssVar('--vscode-editor-background', '#1e1e1e');
  ctx.fillRect(0, 0, w, hgt);
  let x = 0;
  for (const c of canvases) {
    ctx.drawImage(c, x, 0);
    x += c.width;
  }
  host.post({ type: 'export', format: 'png', which: 'primary', dataUrl: out.toDataURL('image/png') });
}

// For the browser test: what the panel drew.
(window as unknown as { descentLandscape: unknown }).descentLandscape = {
  drawn: () => drawn,
  state: () => ({ ...state }),
  status: () => primary?.result?.status ?? null,
};
