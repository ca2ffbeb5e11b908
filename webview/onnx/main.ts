// The ONNX model view (custom editor for .onnx): inputs, outputs, opsets, producer, parameter count, an operator
// histogram, metadata, and a Try it box (draw a digit or choose an image; top-5 classes as bars). Fed by
// src/onnx/vscode/editor.ts (messages in src/protocol/onnx.ts). Every string from the file is set as text.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '../common/base.css';
import './onnx.css';
import { BarController, BarElement, CategoryScale, Chart, LinearScale, Tooltip } from 'chart.js';
import type { OnnxModelSummary, OnnxTensorSummary, OnnxToHost, OnnxToWebview, TryItState } from '../../src/protocol/onnx';
import type { OnnxDim } from '../../src/onnx/read';
import type { InputScale } from '../../src/onnx/tryIt';
import { h } from '../common/dom';
import { connectToHost } from '../common/host';
import { cssVar, onThemeChange } from '../common/theme';
import { DrawingPad, drawPixels } from './drawing';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);

const app = document.getElementById('app')!;
const charts: Chart<'bar'>[] = [];
let predictionChart: Chart<'bar'> | undefined;
let requestId = 0;
let pad: DrawingPad | undefined;

const host = connectToHost<OnnxToWebview, OnnxToHost>((m) => {
  switch (m.type) {
    case 'loading':
      app.replaceChildren(h('h1', {}, m.fileName), h('p', { class: 'muted' }, 'Reading the model…'));
      break;
    case 'invalid':
      renderInvalid(m.fileName, m.message);
      break;
    case 'model':
      renderModel(m.model, m.tryIt);
      break;
    case 'busy':
      if (m.id === requestId) setStatus(m.what);
      break;
    case 'prediction':
      if (m.id !== requestId && m.id !== 0) return;
      renderPrediction(m);
      markBusy(false);
      break;
    case 'predictionError':
      if (m.id !== requestId && m.id !== 0) return;
      setStatus(m.message, true);
      markBusy(false);
      break;
  }
});

function renderInvalid(fileName: string, message: string): void {
  destroyCharts();
  app.dataset.state = 'invalid';
  app.removeAttribute('aria-busy');
  app.replaceChildren(
    h('h1', {}, fileName),
    h('div', { class: 'error-box', role: 'alert' }, h('span', { class: 'codicon codicon-error' }), h('p', {}, message)),
    h('p', { class: 'muted' }, 'Open it as text instead: right-click the file, Open With…, Text Editor.'),
  );
  host.post({ type: 'rendered', what: 'invalid', detail: message });
}

// --- Model facts ------------------------------------------------------------------------------------------------

const fmtDim = (d: OnnxDim) => (d === null ? '?' : String(d));
const fmtShape = (s: OnnxDim[] | null) => (s === null ? 'unknown' : s.length === 0 ? 'scalar' : s.map(fmtDim).join(' × '));

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)} k`;
  return n.toLocaleString('en-US');
}

export function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(2)} GB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(2)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${n} B`;
}

function tensorTable(rows: OnnxTensorSummary[], empty: string): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'muted' }, empty);
  return h(
    'table',
    { class: 'tensors' },
    h('thead', {}, h('tr', {}, h('th', {}, 'name'), h('th', {}, 'type'), h('th', {}, 'shape'))),
    h('tbody', {}, ...rows.map((r) => h('tr', {}, h('td', { class: 'mono' }, r.name), h('td', { class: 'mono' }, r.elemType || '?'), h('td', { class: 'mono shape' }, fmtShape(r.shape))))),
  );
}

function facts(rows: [string, string | Node][]): HTMLElement {
  return h('dl', { class: 'facts' }, ...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function card(title: string, cls: string, ...children: (Node | string | null | false)[]): HTMLElement {
  return h('section', { class: `card ${cls}` }, h('h2', {}, title), ...children);
}

function renderModel(m: OnnxModelSummary, tryIt: TryItState): void {
  destroyCharts();
  pad = undefined;
  app.dataset.state = 'model';
  app.removeAttribute('aria-busy');
  const opset = m.opsets.map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ') || 'none';
  const params = `${formatCount(m.parameterCount)} (${formatBytes(m.parameterBytes)})`;
  const modelFacts: [string, string][] = [
    ['Parameters', params],
    ['Producer', m.producer || 'unknown'],
    ['IR version', String(m.irVersion)],
    ['Opsets', opset],
    ['Nodes', `${m.nodeCount.toLocaleString('en-US')} (${m.operators.length} operator types)`],
    ['Initializers', `${m.initializerCount.toLocaleString('en-US')}${m.initializerInputs ? ` (${m.initializerInputs} also graph inputs)` : ''}`],
    ['File size', formatBytes(m.fileBytes)],
  ];
  if (m.graphName) modelFacts.push(['Graph', m.graphName]);
  if (m.domain) modelFacts.push(['Domain', m.domain]);
  if (m.modelVersion) modelFacts.push(['Model version', String(m.modelVersion)]);
  if (m.functions.length) modelFacts.push(['Local functions', m.functions.join(', ')]);
  const header = h(
    'header',
    {},
    h('h1', {}, m.fileName),
    h('p', { class: 'muted subtitle' }, `${params} parameters · ${m.producer || 'unknown producer'} · IR ${m.irVersion} · opset ${opset}`),
  );
  const external = m.externalData.length
    ? h('p', { class: 'note' }, `Weights are stored outside this file (${m.externalData.join(', ')}): they are counted, not read. Keep those files next to the model.`)
    : null;
  // Heights through CSSOM: the CSP forbids style attributes.
  const opsBox = h('div', { class: 'chart-box' });
  opsBox.style.height = `${Math.max(60, m.operators.length * 20 + 30)}px`;
  const opsCanvas = h('canvas', { 'aria-label': 'operator histogram', role: 'img' });
  opsBox.append(opsCanvas);
  const metadata = m.metadata.length
    ? h('table', { class: 'metadata' }, h('tbody', {}, ...m.metadata.map(([k, v]) => h('tr', {}, h('td', { class: 'mono' }, k), h('td', { class: 'mono value', title: v }, v.length > 400 ? `${v.slice(0, 400)}…` : v)))))
    : h('p', { class: 'muted' }, 'No metadata_props. Class names for Try it can be stored under "labels" (a JSON array or comma-separated).');
  app.replaceChildren(
    header,
    external ?? '',
    h(
      'div',
      { class: 'grid' },
      card('Inputs', 'inputs', tensorTable(m.inputs, 'No inputs to feed.')),
      card('Outputs', 'outputs', tensorTable(m.outputs, 'No outputs.')),
      card('Model', 'facts-card', facts(modelFacts), m.docString ? h('p', { class: 'doc' }, m.docString) : null),
      card('Try it', 'try-it', ...renderTryIt(tryIt)),
      card('Operators', 'operators', m.operators.length ? opsBox : h('p', { class: 'muted' }, 'The graph has no nodes.')),
      card('Metadata', 'metadata-card', metadata),
    ),
  );
  if (m.operators.length) {
    const labels = m.operators.map((o) => (o.domain ? `${o.domain}.${o.opType}` : o.opType));
    charts.push(barChart(opsCanvas, labels, m.operators.map((o) => o.count), 'count'));
  }
  host.post({ type: 'rendered', what: 'model', detail: JSON.stringify({ inputs: m.inputs.map((i) => i.name), outputs: m.outputs.map((o) => o.name), parameterCount: m.parameterCount, operators: m.operators.length, tryIt: tryIt.kind }) });
}

// --- Charts -----------------------------------------------------------------------------------------------------

function barChart(canvas: HTMLCanvasElement, labels: string[], values: number[], kind: 'count' | 'probability'): Chart<'bar'> {
  const fg = cssVar('--vscode-foreground', '#ccc');
  const grid = cssVar('--vscode-editorWidget-border', '#8884');
  return new Chart(canvas, {
    type: 'bar',
    data: { labels, datasets: [{ data: values, backgroundColor: cssVar('--vscode-charts-blue', '#3794ff'), borderRadius: 2, barPercentage: 0.85, categoryPercentage: 0.9 }] },
    options: {
      indexAxis: 'y',
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: {
        tooltip: { callbacks: { label: (c) => (kind === 'probability' ? `${((c.parsed.x ?? 0) * 100).toFixed(1)}%` : `${c.parsed.x ?? 0} nodes`) } },
      },
      scales: {
        x: {
          min: 0,
          max: kind === 'probability' ? 1 : undefined,
          ticks: { color: fg, precision: 0, callback: (v) => (kind === 'probability' ? `${Math.round(Number(v) * 100)}%` : String(v)) },
          grid: { color: grid },
        },
        y: { ticks: { color: fg, autoSkip: false }, grid: { display: false } },
      },
    },
  });
}

function destroyCharts(): void {
  for (const c of charts.splice(0)) c.destroy();
  predictionChart?.destroy();
  predictionChart = undefined;
}

onThemeChange(() => {
  const fg = cssVar('--vscode-foreground', '#ccc');
  for (const c of [...charts, ...(predictionChart ? [predictionChart] : [])]) {
    c.data.datasets[0]!.backgroundColor = cssVar('--vscode-charts-blue', '#3794ff');
    for (const axis of ['x', 'y'] as const) {
      const ticks = c.options.scales?.[axis]?.ticks;
      if (ticks) ticks.color = fg;
    }
    c.update('none');
  }
});

// --- Try it -----------------------------------------------------------------------------------------------------

const SCALE_LABELS: Record<InputScale, string> = { '0-1': '[0, 1]', '0-16': '0..16 (scikit-learn digits)', '0-255': '0..255' };

function renderTryIt(t: TryItState): Node[] {
  if (t.kind === 'untrusted') {
    const trust = h('vscode-button', { secondary: true }, 'Manage Workspace Trust');
    trust.addEventListener('click', () => host.post({ type: 'manageTrust' }));
    return [h('p', { class: 'muted', 'data-tryit': 'untrusted' }, 'Try it runs the model, and this workspace is not trusted: Descent runs nothing from it. Trust the workspace to try the model; viewing works either way.'), trust];
  }
  if (t.kind === 'unsupported') return [h('p', { class: 'muted', 'data-tryit': 'unsupported' }, t.reason || 'Try it is not available for this model.')];
  const { spec } = t;
  const select = h('select', { 'aria-label': 'pixel scale', class: 'scale' });
  for (const s of Object.keys(SCALE_LABELS) as InputScale[]) {
    const o = h('option', { value: s }, SCALE_LABELS[s]);
    if (s === t.scale) o.selected = true;
    select.append(o);
  }
  select.addEventListener('change', () => {
    host.post({ type: 'setScale', scale: select.value as InputScale });
    pad?.submitIfDrawn();
  });
  const choose = h('vscode-button', { secondary: true, icon: 'file-media' }, 'Choose image…');
  choose.addEventListener('click', () => {
    // The dialog may be cancelled and answer nothing, so this request does not mark the box busy.
    host.post({ type: 'chooseImage', id: nextRequest(false) });
  });
  const shape = `${spec.width}×${spec.height}${spec.channels === 3 ? ' RGB' : ' grayscale'}`;
  const intro = spec.drawable
    ? `Draw a digit with the mouse (white on black, like MNIST), or choose an image. It is scaled to ${shape}.`
    : `Choose an image: it is resized to ${shape}.`;
  const controls = h('div', { class: 'toolbar' }, h('label', {}, 'Pixel values ', select), choose);
  const status = h('p', { class: 'status muted', role: 'status', 'aria-live': 'polite' });
  const result = h('div', { class: 'prediction', 'data-bars': '0' });
  const seen = h('canvas', { class: 'model-input', width: spec.width, height: spec.height, title: 'what the model sees', 'aria-label': 'input the model sees' });
  const nodes: Node[] = [h('p', { 'data-tryit': 'ready' }, intro), controls];
  if (spec.drawable) {
    pad = new DrawingPad(spec.width, spec.height, (pixels) => {
      drawPixels(seen, pixels);
      host.post({ type: 'predictDrawing', id: nextRequest(), pixels });
    });
    const clear = h('vscode-button', { secondary: true, icon: 'clear-all' }, 'Clear');
    clear.addEventListener('click', () => {
      pad?.clear();
      seen.getContext('2d')?.clearRect(0, 0, seen.width, seen.height);
      result.replaceChildren();
      result.dataset.bars = '0';
      setStatus('');
    });
    controls.append(clear);
    nodes.push(h('div', { class: 'pads' }, pad.canvas, h('figure', {}, seen, h('figcaption', { class: 'muted' }, 'model input'))));
  } else {
    nodes.push(h('div', { class: 'pads' }, h('figure', {}, seen, h('figcaption', { class: 'muted' }, 'model input'))));
  }
  nodes.push(status, result);
  return nodes;
}

/** A new request supersedes older ones; the result box says it is busy until that request's answer comes. */
function nextRequest(busy = true): number {
  markBusy(busy);
  return ++requestId;
}

function markBusy(busy: boolean): void {
  const box = app.querySelector<HTMLElement>('.try-it .prediction');
  if (busy) box?.setAttribute('aria-busy', 'true');
  else box?.removeAttribute('aria-busy');
}

function setStatus(text: string, error = false): void {
  const el = app.querySelector<HTMLElement>('.try-it .status');
  if (!el) return;
  el.textContent = text;
  el.classList.toggle('error', error);
}

function renderPrediction(m: Extract<OnnxToWebview, { type: 'prediction' }>): void {
  const box = app.querySelector<HTMLElement>('.try-it .prediction');
  if (!box) return;
  const seen = app.querySelector<HTMLCanvasElement>('.try-it .model-input');
  if (m.preview && seen) drawPixels(seen, m.preview);
  const p = m.prediction;
  predictionChart?.destroy();
  const top = p.top[0];
  const headline = top ? h('p', { class: 'headline' }, h('strong', {}, `${(top.probability * 100).toFixed(1)}% ${top.label}`), ...p.top.slice(1, 3).map((c) => `, ${(c.probability * 100).toFixed(1)}% ${c.label}`)) : '';
  const chartBox = h('div', { class: 'chart-box' });
  chartBox.style.height = `${p.top.length * 26 + 30}px`;
  const canvas = h('canvas', { 'aria-label': 'top classes', role: 'img' });
  chartBox.append(canvas);
  const how = `${m.source === 'image' && m.imageName ? `${m.imageName} · ` : ''}output "${m.outputName}" · ${p.classCount} classes · ${p.softmaxApplied ? 'softmax applied to the scores' : 'already probabilities'} · ${m.milliseconds.toFixed(1)} ms`;
  box.replaceChildren(headline, chartBox, h('p', { class: 'muted small' }, how));
  predictionChart = barChart(canvas, p.top.map((c) => c.label), p.top.map((c) => c.probability), 'probability');
  box.dataset.bars = String(predictionChart.data.datasets[0]!.data.length);
  setStatus('');
  host.post({ type: 'rendered', what: 'prediction', detail: JSON.stringify(p.top.map((c) => [c.label, Number(c.probability.toFixed(4))])) });
}
