// Confusion matrix panel: a canvas grid (grid.ts) of counts, recall shares or precision shares, or the difference
// with another run; class order by index / name / clusters of confused classes; search; an epoch slider with play;
// split tabs or side by side; per-class metrics (table.ts); most-confused pairs and the samples behind a cell
// (details.ts); PNG / CSV export through the host. Fed by src/confusion/vscode/panel.ts (src/protocol/confusion.ts).
import '../common/base.css';
import './confusion.css';
import {
  classOrder, differenceMatrix, mostConfusedPairs, normalize, permute, summarizeConfusion, type ConfusedPair,
} from '../../src/confusion/metrics';
import type {
  ConfusionMatrixEntry, ConfusionOrder, ConfusionSamples, ConfusionSource, ConfusionState, ConfusionToHost,
  ConfusionToWebview, ConfusionView,
} from '../../src/protocol/confusion';
import { h } from '../common/dom';
import { connectToHost } from '../common/host';
import { onThemeChange } from '../common/theme';
import { readPalette, type Palette } from './colors';
import { applyThumbnails, renderPairs, renderSamples, showTooltip } from './details';
import { Grid, Viewport, type Cell, type GridData } from './grid';
import { makeScale } from './scale';
import { MetricsTable, pct } from './table';

const app = document.getElementById('app')!;
let source: ConfusionSource | undefined;
let palette: Palette = readPalette();
let state: ConfusionState = { origin: undefined, view: 'counts', order: 'index', split: '', position: -1, compare: true, sideBySide: false };
let thumbRequest = 0;
let playing: ReturnType<typeof setInterval> | undefined;
/** Orders by split and kind, computed once (clustered costs ~70 ms at 1000 classes). */
const orders = new Map<string, { order: Int32Array; inverse: Int32Array }>();
/** Per grid: what it shows (for the tooltip). */
const shown = new Map<Grid, { split: string; matrix: ConfusionMatrixEntry; compared: ConfusionMatrixEntry | undefined; values: Float64Array }>();
/** Timings read by the browser test and the bench: last full render (compute + draw) and last grid draw, ms. */
const stats = { renderMs: 0, drawMs: 0, renders: 0 };
(window as unknown as { __descentConfusion: unknown }).__descentConfusion = {
  stats,
  /** Moves the epoch slider; returns the render time (compute + draw), ms. */
  setPosition: (p: number) => {
    setPosition(p);
    return stats.renderMs;
  },
  /** Redraws the grids as they are (no recompute); returns ms. */
  redraw: () => {
    const t = performance.now();
    view.redraw();
    return performance.now() - t;
  },
  /** Runs the pending metrics table / pairs update now; returns ms. */
  flushLists: () => {
    const t = performance.now();
    runSideLists();
    return performance.now() - t;
  },
  zoom: (factor: number) => zoomBy(factor),
  fit: () => view.fit(),
  viewport: () => ({ cell: view.cell, x: view.x, y: view.y }),
};

const host = connectToHost<ConfusionToWebview, ConfusionToHost, ConfusionState>((m) => {
  switch (m.type) {
    case 'snapshot':
      source = m.source;
      orders.clear();
      if (m.source.runDir) state.origin = { kind: 'run', dir: m.source.runDir };
      else if (m.storedId) state.origin = { kind: 'stored', id: m.storedId };
      build();
      break;
    case 'comparison':
      if (!source) return;
      source = m.comparison ? { ...source, comparison: m.comparison } : { ...source, comparison: undefined };
      state.compare = m.comparison !== undefined;
      updateToolbar();
      render();
      break;
    case 'stored':
      state.origin = { kind: 'stored', id: m.id };
      host.saveState(state);
      break;
    case 'thumbnails':
      if (m.requestId === thumbRequest) applyThumbnails(samplesBox, m.items);
      break;
  }
});
if (host.savedState) state = { ...state, ...host.savedState };

// ---- layout ----

const titleEl = h('h1', { id: 'title' });
const subtitle = h('div', { class: 'muted', id: 'subtitle' });
const viewSelect = h('select', { id: 'view', 'aria-label': 'Values' },
  h('option', { value: 'counts' }, 'Counts'),
  h('option', { value: 'row' }, 'Row-normalised (recall)'),
  h('option', { value: 'column' }, 'Column-normalised (precision)'));
const orderSelect = h('select', { id: 'order', 'aria-label': 'Class order' },
  h('option', { value: 'index' }, 'Order: index'),
  h('option', { value: 'name' }, 'Order: name'),
  h('option', { value: 'clustered' }, 'Order: clustered'));
const search = h('input', { id: 'search', type: 'search', placeholder: 'Find a class…', list: 'class-names', 'aria-label': 'Find a class', spellcheck: 'false' });
const classNames = h('datalist', { id: 'class-names' });
const searchStatus = h('span', { id: 'search-status', class: 'muted', 'aria-live': 'polite' });
const zoomIn = h('button', { id: 'zoom-in', title: 'Zoom in (or scroll on the matrix)' }, '+');
const zoomOut = h('button', { id: 'zoom-out', title: 'Zoom out' }, '−');
const zoomFit = h('button', { id: 'zoom-fit', title: 'Fit the whole matrix' }, 'Fit');
const compareButton = h('button', { id: 'compare', title: 'Compare with another run: the difference of row-normalised matrices' }, 'Compare with run…');
const compareToggle = h('input', { type: 'checkbox', id: 'show-diff' });
const compareLabel = h('label', { id: 'show-diff-label', title: 'Show this run minus the other run' }, compareToggle, 'Difference');
const clearCompare = h('button', { id: 'clear-compare', title: 'Stop comparing' }, 'Clear');
const pngButton = h('button', { id: 'export-png', title: 'Save the matrix as it is drawn as a PNG image' }, 'PNG');
const csvButton = h('button', { id: 'export-csv', title: 'Save the matrix (current values) as CSV' }, 'CSV');
const metricsCsvButton = h('button', { id: 'export-metrics', title: 'Save the per-class metrics as CSV' }, 'Metrics CSV');
const splitTabs = h('div', { class: 'tabs', id: 'splits', role: 'tablist', 'aria-label': 'Split' });
const sideBox = h('input', { type: 'checkbox', id: 'side-by-side' });
const sideLabel = h('label', { id: 'side-by-side-label' }, sideBox, 'Side by side');
const playButton = h('button', { id: 'play', title: 'Play through the epochs' }, '▶');
const epochRange = h('input', { type: 'range', id: 'epoch', min: 0, max: 0, step: 1, 'aria-label': 'Matrix (epoch)' });
const epochLabel = h('span', { id: 'epoch-label', class: 'mono' });
const epochRow = h('div', { class: 'toolbar', id: 'epochs' }, playButton, epochRange, epochLabel);
const compareInfo = h('div', { id: 'compare-info', class: 'muted' });
const gridsEl = h('div', { class: 'grids', id: 'grids' });
const tooltip = h('div', { class: 'tooltip', id: 'tooltip', role: 'tooltip' });
tooltip.hidden = true;
const table = new MetricsTable((index) => jumpToClass(index));
const pairsList = h('ol', { class: 'pairs', id: 'pairs' });
const samplesBox = h('div', { id: 'samples' }, h('p', { class: 'muted' }, 'Click a cell to see what is behind it.'));
const emptyEl = h('p', { class: 'empty muted', id: 'empty' });
const view = new Viewport();

app.replaceChildren(
  titleEl, subtitle,
  h('div', { class: 'toolbar' }, viewSelect, orderSelect, splitTabs, sideLabel),
  h('div', { class: 'toolbar' }, search, classNames, searchStatus, zoomOut, zoomIn, zoomFit, compareButton, compareLabel, clearCompare, pngButton, csvButton, metricsCsvButton),
  epochRow, compareInfo, emptyEl, gridsEl,
  h('div', { class: 'below' },
    h('section', { class: 'card' }, h('h2', {}, 'Per-class metrics'), table.element),
    h('section', { class: 'card' }, h('h2', {}, 'Most confused pairs'), pairsList),
    h('section', { class: 'card' }, h('h2', {}, 'Selected cell'), samplesBox)),
  tooltip,
);
app.dataset.state = 'loading';

viewSelect.addEventListener('change', () => {
  state.view = viewSelect.value as ConfusionView;
  render();
});
orderSelect.addEventListener('change', () => {
  state.order = orderSelect.value as ConfusionOrder;
  clearMarks();
  render();
});
sideBox.addEventListener('change', () => {
  state.sideBySide = sideBox.checked;
  updateToolbar();
  render();
});
epochRange.addEventListener('input', () => setPosition(Number(epochRange.value)));
playButton.addEventListener('click', () => togglePlay());
zoomIn.addEventListener('click', () => zoomBy(1.6));
zoomOut.addEventListener('click', () => zoomBy(1 / 1.6));
zoomFit.addEventListener('click', () => view.fit());
compareButton.addEventListener('click', () => host.post({ type: 'pickComparison' }));
compareToggle.addEventListener('change', () => {
  state.compare = compareToggle.checked;
  render();
});
clearCompare.addEventListener('click', () => host.post({ type: 'clearComparison' }));
search.addEventListener('change', () => find(search.value));
search.addEventListener('keydown', (e) => {
  if (e.key === 'Enter') find(search.value);
});
pngButton.addEventListener('click', () => exportPng());
csvButton.addEventListener('click', () => exportCsv('matrix'));
metricsCsvButton.addEventListener('click', () => exportCsv('metrics'));
onThemeChange(() => {
  palette = readPalette();
  render();
});

// ---- data ----

const splits = (): string[] => [...new Set((source?.matrices ?? []).map((m) => m.split))];
const matricesOf = (split: string): ConfusionMatrixEntry[] => (source?.matrices ?? []).filter((m) => m.split === split);
const n = (): number => source?.labels.length ?? 0;

function matrixName(m: ConfusionMatrixEntry): string {
  const parts = [];
  if (m.epoch !== undefined) parts.push(`epoch ${m.epoch}`);
  if (m.step !== undefined) parts.push(`step ${m.step}`);
  return parts.join(', ') || 'final';
}

/** The matrix of `split` matching the current one's epoch / step (side by side, comparison), else its last. */
function counterpart(list: ConfusionMatrixEntry[], like: ConfusionMatrixEntry): ConfusionMatrixEntry | undefined {
  return list.find((m) => like.epoch !== undefined && m.epoch === like.epoch)
    ?? list.find((m) => like.step !== undefined && m.step === like.step)
    ?? list[list.length - 1];
}

/** Matrices as typed arrays, converted once (the slider revisits them; 1M-element conversions are not free). */
const dense = new WeakMap<ConfusionMatrixEntry, Float64Array>();
function countsOf(m: ConfusionMatrixEntry): Float64Array {
  let d = dense.get(m);
  if (!d) {
    d = Float64Array.from(m.counts);
    dense.set(m, d);
  }
  return d;
}

function isIdentity(order: Int32Array): boolean {
  for (let i = 0; i < order.length; i++) if (order[i] !== i) return false;
  return true;
}

function orderFor(split: string): { order: Int32Array; inverse: Int32Array } {
  const key = `${split}\u0000${state.order}`;
  let o = orders.get(key);
  if (!o) {
    // Clusters come from the split's last matrix, so the order stays put while the epoch slider moves.
    const list = matricesOf(split);
    const last = list[list.length - 1];
    const order = classOrder(state.order, last?.counts ?? [], n(), source?.labels ?? []);
    const inverse = new Int32Array(order.length);
    order.forEach((c, pos) => (inverse[c] = pos));
    o = { order, inverse };
    orders.set(key, o);
  }
  return o;
}

function compactCount(v: number): string {
  const a = Math.abs(v);
  if (a < 1000) return String(Math.round(v));
  if (a < 1e6) return `${(v / 1000).toFixed(a < 1e4 ? 1 : 0)}k`;
  return `${(v / 1e6).toFixed(a < 1e7 ? 1 : 0)}M`;
}
const share = (v: number): string => `${(v * 100).toFixed(v > 0 && v < 0.1 ? 1 : 0)}%`;
const signedPoints = (v: number): string => `${v > 0 ? '+' : v < 0 ? '−' : ''}${(Math.abs(v) * 100).toFixed(Math.abs(v) < 0.1 ? 1 : 0)}`;

// ---- rendering ----

function build(): void {
  const s = source!;
  titleEl.textContent = `Confusion matrix: ${s.title}`;
  classNames.replaceChildren(...s.labels.slice(0, 5000).map((l) => h('option', { value: l })));
  const all = splits();
  if (!all.includes(state.split)) {
    state.split = all.includes('val') ? 'val' : all.includes('test') ? 'test' : (all[0] ?? '');
    state.position = -1;
  }
  if (s.labels.length === 0 || s.matrices.length === 0) {
    emptyEl.textContent = s.labels.length === 0
      ? 'This confusion matrix is no longer available (its run folder or evaluation result is gone). Open it again from the Runs view or Descent: Evaluate Model.'
      : 'No matrix to show.';
    app.dataset.state = 'empty';
    gridsEl.hidden = true;
    return;
  }
  emptyEl.textContent = '';
  gridsEl.hidden = false;
  updateToolbar();
  view.cell = 0;
  render();
}

function updateToolbar(): void {
  const s = source!;
  const all = splits();
  splitTabs.replaceChildren(...all.map((split) => {
    const b = h('button', { role: 'tab', 'data-split': split, 'aria-selected': String(split === state.split && !state.sideBySide) }, split || 'all');
    b.addEventListener('click', () => {
      state.split = split;
      state.sideBySide = false;
      state.position = -1;
      updateToolbar();
      clearMarks();
      render();
    });
    return b;
  }));
  splitTabs.hidden = all.length < 2;
  sideLabel.hidden = all.length < 2;
  sideBox.checked = state.sideBySide;
  viewSelect.value = state.view;
  orderSelect.value = state.order;
  const comparing = s.comparison !== undefined;
  compareLabel.hidden = !comparing;
  clearCompare.hidden = !comparing;
  compareToggle.checked = comparing && state.compare;
  compareButton.textContent = comparing ? 'Compare with another run…' : 'Compare with run…';
  const list = matricesOf(state.split);
  epochRow.hidden = list.length < 2;
  epochRange.max = String(Math.max(0, list.length - 1));
  subtitle.textContent = `${s.labels.length} classes · ${all.length > 1 ? `${all.length} splits · ` : ''}${s.matrices.length} matri${s.matrices.length === 1 ? 'x' : 'ces'}${s.samples ? ' · per-sample predictions' : ''}`;
}

function gridFor(i: number): Grid {
  while (view.grids.length <= i) {
    const box = h('div', { class: 'grid-box' });
    gridsEl.append(box);
    new Grid(box, view, {
      hover: (g, cell, x, y) => hover(g, cell, x, y),
      click: (g, cell) => select(g, cell),
    });
  }
  return view.grids[i]!;
}

function render(): void {
  if (!source || source.matrices.length === 0) return;
  const t0 = performance.now();
  const list = matricesOf(state.split);
  if (state.position < 0 || state.position >= list.length) state.position = list.length - 1;
  epochRange.value = String(state.position);
  const current = list[state.position]!;
  epochLabel.textContent = `${state.position + 1}/${list.length} · ${matrixName(current)}`;
  const comparing = state.compare && source.comparison !== undefined;
  const panes = state.sideBySide ? splits() : [state.split];
  while (view.grids.length > panes.length) {
    const extra = view.grids[view.grids.length - 1]!;
    extra.detach();
    extra.container.remove();
  }
  gridsEl.classList.toggle('side', panes.length > 1);
  const { order } = orderFor(state.split);
  const identity = isIdentity(order);
  const labels = labelsInOrder(order);
  shown.clear();
  let firstCompared: ConfusionMatrixEntry | undefined;
  panes.forEach((split, i) => {
    const m = split === state.split ? current : counterpart(matricesOf(split), current)!;
    const compared = comparing ? counterpart(source!.comparison!.matrices.filter((c) => c.split === split), m) ?? source!.comparison!.matrices.at(-1) : undefined;
    firstCompared ??= compared;
    const N = n();
    const counts = countsOf(m);
    const raw = compared ? differenceMatrix(counts, countsOf(compared), N) : state.view === 'counts' ? counts : normalize(counts, N, state.view);
    const values = identity ? raw : permute(raw, N, order);
    const data: GridData = {
      n: N,
      values,
      labels,
      scale: makeScale(compared ? 'diverging' : state.view === 'counts' ? 'log' : 'sqrt', values),
      format: compared ? signedPoints : state.view === 'counts' ? compactCount : share,
      caption: panes.length > 1 ? `${split || 'all'} · ${matrixName(m)}` : '',
    };
    const grid = gridFor(i);
    grid.setData(data, palette, compared !== undefined);
    shown.set(grid, { split, matrix: m, compared, values });
  });
  compareInfo.textContent = comparing && firstCompared
    ? `Difference: this run − ${source.comparison!.title} (${matrixName(firstCompared)}), in percentage points of each true class. Green: more often here.`
    : source.comparison ? `Comparing with ${source.comparison.title} is paused: tick Difference.` : '';
  if (view.cell === 0) view.fit();
  else {
    view.clamp();
    view.redraw();
  }
  stats.drawMs = Math.max(...view.grids.map((g) => g.lastDrawMs));
  stats.renderMs = performance.now() - t0;
  stats.renders++;
  app.dataset.state = 'ready';
  app.removeAttribute('aria-busy');
  host.saveState(state);
  host.post({ type: 'rendered', n: n(), split: state.split, position: state.position, view: state.view, compare: comparing, drawMs: stats.drawMs });
  // The table and pairs are not needed for the frame: done after it, so the epoch slider stays smooth.
  scheduleSideLists(current);
}

let listsTimer: ReturnType<typeof setTimeout> | undefined;
let listsFor: ConfusionMatrixEntry | undefined;
function scheduleSideLists(m: ConfusionMatrixEntry): void {
  listsFor = m;
  if (listsTimer !== undefined) clearTimeout(listsTimer);
  listsTimer = setTimeout(runSideLists, 0);
}

function runSideLists(): void {
  if (listsTimer !== undefined) clearTimeout(listsTimer);
  listsTimer = undefined;
  const m = listsFor;
  if (!m || !source) return;
  listsFor = undefined;
  const labels = source.labels;
  table.setSummary(summarizeConfusion(countsOf(m), n(), labels));
  renderPairs(pairsList, mostConfusedPairs(countsOf(m), n(), 20), labels, (p) => jumpToPair(p));
}

let labelsCache: { order: Int32Array; labels: string[] } | undefined;
function labelsInOrder(order: Int32Array): string[] {
  if (labelsCache?.order !== order) labelsCache = { order, labels: Array.from(order, (c) => source!.labels[c] ?? String(c)) };
  return labelsCache.labels;
}

function setPosition(p: number): void {
  const list = matricesOf(state.split);
  state.position = Math.max(0, Math.min(list.length - 1, Math.round(p)));
  render();
}

function togglePlay(): void {
  if (playing !== undefined) {
    clearInterval(playing);
    playing = undefined;
    playButton.textContent = '▶';
    return;
  }
  const list = matricesOf(state.split);
  if (state.position >= list.length - 1) setPosition(0);
  playButton.textContent = '⏸';
  playing = setInterval(() => {
    if (state.position >= matricesOf(state.split).length - 1) togglePlay();
    else setPosition(state.position + 1);
  }, 700);
}

function zoomBy(factor: number): void {
  const { w, h: hgt } = view.plotSize();
  view.zoomAt(factor, w / 2, hgt / 2);
}

// ---- interaction ----

/** The class at a display position (every pane uses the current split's order). */
function classAt(pos: number): number {
  return orderFor(state.split).order[pos]!;
}

function hover(g: Grid, cell: Cell | undefined, x: number, y: number): void {
  const info = shown.get(g);
  if (!cell || !info || !source) {
    tooltip.hidden = true;
    return;
  }
  const N = n();
  const t = classAt(cell.r);
  const p = classAt(cell.c);
  const count = info.matrix.counts[t * N + p]!;
  let rowSum = 0;
  let colSum = 0;
  for (let k = 0; k < N; k++) {
    rowSum += info.matrix.counts[t * N + k]!;
    colSum += info.matrix.counts[k * N + p]!;
  }
  const lines: [string, string][] = [
    ['True', source.labels[t]!],
    ['Predicted', source.labels[p]!],
    ['Count', `${count}`],
    ['Share', `${rowSum ? pct(count / rowSum) : '–'} of true ${source.labels[t]} · ${colSum ? pct(count / colSum) : '–'} of predicted ${source.labels[p]}`],
  ];
  if (info.compared) {
    let otherRow = 0;
    for (let k = 0; k < N; k++) otherRow += info.compared.counts[t * N + k]!;
    const other = info.compared.counts[t * N + p]!;
    lines.push(['Other run', `${other} (${otherRow ? pct(other / otherRow) : '–'} of true ${source.labels[t]})`]);
    lines.push(['Difference', `${signedPoints(info.values[cell.r * N + cell.c]!)} points`]);
  }
  if (info.split) lines.unshift(['Split', info.split]);
  showTooltip(tooltip, lines, x, y);
}

function select(g: Grid, cell: Cell): void {
  for (const other of view.grids) other.selected = cell;
  view.redraw();
  const info = shown.get(g);
  if (!info || !source) return;
  const t = classAt(cell.r);
  const p = classAt(cell.c);
  const count = info.matrix.counts[t * n() + p]!;
  const heading = `${source.labels[t]} predicted as ${source.labels[p]} (${count} in ${info.split || 'the matrix'}, ${matrixName(info.matrix)})`;
  const samples = samplesFor(info.split);
  thumbRequest++;
  const request = thumbRequest;
  renderSamples(samplesBox, samples, t, p, heading, {
    requestThumbnails: (indices) => host.post({ type: 'thumbnails', requestId: request, split: samples!.split, indices }),
    open: (index) => host.post({ type: 'openSample', split: samples!.split, index }),
  });
  table.reveal(t);
}

function samplesFor(split: string): ConfusionSamples | undefined {
  const all = source?.samples ?? [];
  return all.find((s) => s.split === split) ?? (all.length === 1 ? all[0] : undefined);
}

function clearMarks(): void {
  for (const g of view.grids) {
    g.selected = undefined;
    g.marked = undefined;
  }
}

function jumpToClass(index: number): void {
  const pos = orderFor(state.split).inverse[index]!;
  for (const g of view.grids) g.marked = pos;
  view.centerOn({ r: pos, c: pos }, 18);
  searchStatus.textContent = source?.labels[index] ?? '';
  table.reveal(index);
}

function jumpToPair(p: ConfusedPair): void {
  const { inverse } = orderFor(state.split);
  const cell = { r: inverse[p.trueIndex]!, c: inverse[p.predIndex]! };
  view.centerOn(cell, 30);
  const g = view.grids.find((x) => shown.get(x)?.split === state.split) ?? view.grids[0]!;
  select(g, cell);
}

function find(text: string): void {
  const q = text.trim().toLowerCase();
  if (!q || !source) return;
  const labels = source.labels.map((l) => l.toLowerCase());
  let i = labels.indexOf(q);
  if (i < 0) i = labels.findIndex((l) => l.startsWith(q));
  if (i < 0) i = labels.findIndex((l) => l.includes(q));
  if (i < 0 && /^\d+$/.test(q) && Number(q) < labels.length) i = Number(q);
  if (i < 0) {
    searchStatus.textContent = `No class matches “${text.trim()}”.`;
    return;
  }
  jumpToClass(i);
}

// ---- export ----

function exportPng(): void {
  const grids = view.grids;
  if (grids.length === 0) return;
  const out = document.createElement('canvas');
  out.width = grids.reduce((a, g) => a + g.canvas.width, 0);
  out.height = Math.max(...grids.map((g) => g.canvas.height));
  const ctx = out.getContext('2d')!;
  let x = 0;
  for (const g of grids) {
    ctx.drawImage(g.canvas, x, 0);
    x += g.canvas.width;
  }
  host.post({ type: 'exportPng', dataUrl: out.toDataURL('image/png'), suggestedName: `${fileStem()}.png` });
}

function exportCsv(what: 'matrix' | 'metrics'): void {
  if (!source) return;
  const m = matricesOf(state.split)[state.position];
  const index = m ? source.matrices.indexOf(m) : -1;
  if (index < 0) return;
  host.post({ type: 'exportCsv', what, matrix: index, view: state.view, suggestedName: `${fileStem()}${what === 'metrics' ? '-metrics' : ''}.csv` });
}

function fileStem(): string {
  const m = matricesOf(state.split)[state.position];
  const bits = [source?.title ?? 'confusion', state.split, m?.epoch !== undefined ? `epoch${m.epoch}` : ''].filter(Boolean);
  return `confusion-${bits.join('-')}`.replace(/[^\w.-]+/g, '_');
}
