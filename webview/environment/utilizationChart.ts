// GPU utilisation sparkline with chart.js: one line per GPU, x = seconds before now, y = percent.
import { Chart, Filler, Legend, LineController, LineElement, LinearScale, PointElement, Tooltip } from 'chart.js';
import type { GpuHistoryPoint } from '../../src/protocol/environment';
import { cssVar, onThemeChange, seriesColors } from '../common/theme';

Chart.register(LineController, LineElement, PointElement, LinearScale, Filler, Tooltip, Legend);

export class UtilizationChart {
  readonly canvas = document.createElement('canvas');
  private chart: Chart<'line', { x: number; y: number | null }[]> | undefined;
  private lastNames: string[] = [];
  private lastHistory: GpuHistoryPoint[] = [];

  constructor() {
    this.canvas.id = 'gpu-chart';
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', 'GPU utilisation over the last minutes');
    onThemeChange(() => {
      this.chart?.destroy();
      this.chart = undefined;
      this.update(this.lastHistory, this.lastNames);
    });
  }

  update(history: GpuHistoryPoint[], names: string[]): void {
    this.lastHistory = history;
    this.lastNames = names;
    if (names.length === 0) return;
    const now = history.length ? history[history.length - 1]!.at : Date.now();
    const colors = seriesColors();
    const datasets = names.map((name, i) => ({
      label: name,
      data: history.map((p) => ({ x: (p.at - now) / 1000, y: p.utilization[i] ?? null })),
      borderColor: colors[i % colors.length],
      backgroundColor: colors[i % colors.length] + '33',
      fill: names.length === 1,
      pointRadius: 0,
      borderWidth: 1.5,
      tension: 0.25,
      spanGaps: false,
    }));
    if (this.chart) {
      this.chart.data.datasets = datasets;
      this.chart.update('none');
      return;
    }
    const fg = cssVar('--vscode-descriptionForeground', '#888');
    const grid = cssVar('--vscode-editorWidget-border', '#8884');
    this.chart = new Chart(this.canvas, {
      type: 'line',
      data: { datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        parsing: false,
        normalized: true,
        interaction: { mode: 'nearest', intersect: false, axis: 'x' },
        scales: {
          x: { type: 'linear', min: -300, max: 0, ticks: { color: fg, stepSize: 60, callback: (v) => (Number(v) === 0 ? 'now' : `${Math.round(-Number(v) / 60)} min`) }, grid: { color: grid } },
          y: { min: 0, max: 100, ticks: { color: fg, callback: (v) => `${v}%` }, grid: { color: grid } },
        },
        plugins: {
          legend: { display: names.length > 1, labels: { color: fg, boxWidth: 12 } },
          tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${c.parsed.y ?? 'n/a'}%` } },
        },
      },
    });
  }
}
