// Environment Report panel: the same facts as the Environment view (shared wording from
// src/environment/format.ts), problems with their buttons, GPUs, and a sparkline of GPU utilisation.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-icon/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import '@vscode-elements/elements/dist/vscode-table/index.js';
import '@vscode-elements/elements/dist/vscode-table-body/index.js';
import '@vscode-elements/elements/dist/vscode-table-cell/index.js';
import '@vscode-elements/elements/dist/vscode-table-header/index.js';
import '@vscode-elements/elements/dist/vscode-table-header-cell/index.js';
import '@vscode-elements/elements/dist/vscode-table-row/index.js';
import '../common/base.css';
import './environment.css';
import { environmentFacts, problemsHeading, type Fact } from '../../src/environment/format';
import type {
  EnvironmentReportToHost,
  EnvironmentReportToWebview,
  EnvironmentSnapshot,
  GpuHistoryPoint,
  Problem,
} from '../../src/protocol/environment';
import { h } from '../common/dom';
import { connectToHost } from '../common/host';
import { UtilizationChart } from './utilizationChart';

interface SavedState {
  snapshot: EnvironmentSnapshot;
  history: GpuHistoryPoint[];
}

const app = document.getElementById('app')!;
let snapshot: EnvironmentSnapshot | undefined;
let history: GpuHistoryPoint[] = [];
const chart = new UtilizationChart();

const host = connectToHost<EnvironmentReportToWebview, EnvironmentReportToHost, SavedState>((m) => {
  if (m.type === 'snapshot') {
    snapshot = m.snapshot;
    history = m.history;
    render();
  } else if (m.type === 'gpuReading' && snapshot) {
    snapshot = { ...snapshot, gpus: m.reading };
    history = [...history, m.point].filter((p) => p.at >= m.point.at - 5 * 60_000);
    // Only the GPU section and the chart change between full snapshots.
    renderGpus();
    chart.update(history, snapshot.gpus.gpus.map((g) => `${g.index}: ${g.name}`));
  }
  host.saveState({ snapshot: snapshot!, history });
});

// Draw the last known state at once after a reload, until the host's fresh snapshot arrives.
if (host.savedState) {
  snapshot = host.savedState.snapshot;
  history = host.savedState.history;
  render();
}

const severityIcon: Record<Problem['severity'], string> = { error: 'error', warning: 'warning', info: 'info' };
const stateIcon: Record<Fact['state'], string> = { ok: 'pass', error: 'error', off: 'circle-slash', pending: 'loading' };

function icon(name: string, label: string, extraClass = ''): HTMLElement {
  const el = h('vscode-icon', { name, label, class: `state-icon ${extraClass}`.trim() });
  if (name === 'loading') el.setAttribute('spin', '');
  return el;
}

function problemList(problems: Problem[]): HTMLElement {
  return h(
    'ul',
    { class: 'problems', 'aria-label': 'Problems' },
    ...problems.map((p) =>
      h(
        'li',
        { class: `problem ${p.severity}`, 'data-code': p.code },
        icon(severityIcon[p.severity], p.severity, p.severity),
        h('span', { class: 'message' }, p.message),
        h(
          'span',
          { class: 'actions' },
          ...p.actions.map((a, i) => {
            const b = h('vscode-button', { secondary: i > 0 }, a.title);
            b.addEventListener('click', () => host.post({ type: 'runAction', problemCode: p.code, actionIndex: i }));
            return b;
          }),
        ),
      ),
    ),
  );
}

function factRows(facts: Fact[], depth = 0): HTMLElement[] {
  return facts.flatMap((f) => [
    h(
      'vscode-table-row',
      { 'data-fact': f.id },
      h('vscode-table-cell', { class: `fact-label depth-${depth}` }, icon(stateIcon[f.state], f.state, f.state), f.label),
      h('vscode-table-cell', {}, h('span', { class: 'value' }, f.value), f.detail ? h('div', { class: 'muted detail' }, f.detail) : null),
    ),
    ...factRows(f.children ?? [], depth + 1),
  ]);
}

/** The facts without per-GPU rows: the GPU section below shows those, updated live. */
function componentFacts(s: EnvironmentSnapshot): Fact[] {
  return environmentFacts(s).map((f) => (f.id === 'gpus' ? { ...f, children: [] } : f));
}

function factTable(facts: Fact[]): HTMLElement {
  return h(
    'vscode-table',
    { 'zebra-odd': true, 'bordered-rows': true, columns: JSON.stringify(['28%', '72%']), 'aria-label': 'Environment' },
    h('vscode-table-header', { slot: 'header' }, h('vscode-table-header-cell', {}, 'Component'), h('vscode-table-header-cell', {}, 'Status')),
    h('vscode-table-body', { slot: 'body' }, ...factRows(facts)),
  );
}

function gpuSection(s: EnvironmentSnapshot): HTMLElement {
  const gpuFact = environmentFacts(s).find((f) => f.id === 'gpus');
  const gpus = s.gpus.gpus;
  return h(
    'section',
    { id: 'gpus', 'aria-labelledby': 'gpus-title' },
    h('h2', { id: 'gpus-title' }, 'GPUs ', h('vscode-badge', { variant: 'counter' }, String(gpus.length))),
    gpus.length === 0
      ? h('p', { class: 'muted', id: 'no-gpu' }, `${gpuFact?.value ?? ''}${s.gpus.message ? ` — ${s.gpus.message}` : ''}. Training runs on the CPU.`)
      : h(
          'vscode-table',
          { 'zebra-odd': true, 'bordered-rows': true, columns: JSON.stringify(['6%', '34%', '24%', '12%', '12%', '12%']) },
          h(
            'vscode-table-header',
            { slot: 'header' },
            ...['#', 'Name', 'Memory used / total', 'Utilisation', 'Temp.', 'MIG'].map((c) => h('vscode-table-header-cell', {}, c)),
          ),
          h(
            'vscode-table-body',
            { slot: 'body' },
            ...gpus.map((g) =>
              h(
                'vscode-table-row',
                { 'data-gpu': g.index },
                h('vscode-table-cell', {}, String(g.index)),
                h('vscode-table-cell', {}, g.name),
                h(
                  'vscode-table-cell',
                  {},
                  g.memoryTotalMiB === null ? '?' : `${(g.memoryUsedMiB ?? 0).toLocaleString()} / ${g.memoryTotalMiB.toLocaleString()} MiB`,
                ),
                h('vscode-table-cell', {}, g.utilizationPercent === null ? 'n/a' : `${g.utilizationPercent}%`),
                h('vscode-table-cell', {}, g.temperatureC === null ? 'n/a' : `${g.temperatureC} °C`),
                h('vscode-table-cell', {}, g.migMode === 'Enabled' ? g.migDevices.map((m) => m.profile).join(', ') || 'on' : (g.migMode ?? 'n/a')),
              ),
            ),
          ),
        ),
    h(
      'div',
      { class: 'chart-box', hidden: gpus.length === 0 },
      h('h2', {}, 'GPU utilisation, last 5 minutes'),
      h('div', { class: 'chart-wrap' }, chart.canvas),
    ),
  );
}

function renderGpus(): void {
  if (!snapshot) return;
  const old = document.getElementById('gpus');
  const fresh = gpuSection(snapshot);
  if (old) old.replaceWith(fresh);
}

function render(): void {
  const s = snapshot;
  if (!s) return;
  const refresh = h('vscode-button', { icon: 'refresh', id: 'refresh', disabled: !s.trusted }, 'Refresh');
  refresh.addEventListener('click', () => host.post({ type: 'refresh' }));
  const pending = s.probe.status === 'pending';
  const parts: (HTMLElement | null)[] = [
    h('h1', {}, 'Descent environment'),
    h('p', { class: 'muted' }, 'Can this machine train? The interpreter Descent runs, PyTorch, CUDA and your GPUs.'),
    h('div', { class: 'toolbar' }, refresh, pending ? h('vscode-progress-ring', { 'aria-label': 'Checking' }) : null),
    !s.trusted
      ? h(
          'p',
          { class: 'notice', id: 'untrusted' },
          'This workspace is not trusted, so Descent runs nothing here: no Python, no nvidia-smi, no training. Trust the workspace to check the environment.',
        )
      : null,
    s.problems.length ? h('section', {}, h('h2', {}, problemsHeading(s.problems)), problemList(s.problems)) : null,
    s.trusted ? h('section', {}, h('h2', {}, 'Components'), factTable(componentFacts(s))) : null,
    s.trusted ? gpuSection(s) : null,
  ];
  app.replaceChildren(...parts.filter((p): p is HTMLElement => p !== null));
  chart.update(history, s.gpus.gpus.map((g) => `${g.index}: ${g.name}`));
  app.dataset.state = pending ? 'loading' : 'ready';
  app.setAttribute('aria-busy', String(pending));
}
