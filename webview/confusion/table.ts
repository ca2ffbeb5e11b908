// Per-class precision / recall / F1 / support, sortable by any column. Virtualised: only the rows in view are in
// the DOM (a 1000-class table is 1000 rows), inside a scroll box whose height stands for all of them.
import type { ClassMetrics, ConfusionSummary } from '../../src/confusion/metrics';
import { h } from '../common/dom';

type Key = 'label' | 'precision' | 'recall' | 'f1' | 'support' | 'index';
const ROW_H = 22;
const COLUMNS: { key: Key; title: string; numeric: boolean }[] = [
  { key: 'label', title: 'Class', numeric: false },
  { key: 'precision', title: 'Precision', numeric: true },
  { key: 'recall', title: 'Recall', numeric: true },
  { key: 'f1', title: 'F1', numeric: true },
  { key: 'support', title: 'Support', numeric: true },
];

export const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;

export class MetricsTable {
  readonly element: HTMLElement;
  private readonly head: HTMLElement;
  private readonly scroller: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly body: HTMLElement;
  private readonly totals: HTMLElement;
  private rows: ClassMetrics[] = [];
  private sortKey: Key = 'index';
  private descending = false;
  private summary: ConfusionSummary | undefined;

  constructor(private readonly onPick: (index: number) => void) {
    this.head = h('div', { class: 'mt-row mt-head', role: 'row' });
    for (const col of COLUMNS) {
      const b = h('button', { class: `mt-cell${col.numeric ? ' num' : ''}`, 'data-key': col.key, role: 'columnheader', title: `Sort by ${col.title.toLowerCase()}` }, col.title);
      b.addEventListener('click', () => this.sortBy(col.key));
      this.head.append(b);
    }
    this.spacer = h('div', { class: 'mt-spacer' });
    this.body = h('div', { class: 'mt-body' });
    this.scroller = h('div', { class: 'mt-scroll', id: 'metrics-rows' }, this.spacer, this.body);
    this.scroller.addEventListener('scroll', () => this.renderRows());
    this.totals = h('div', { class: 'mt-totals', id: 'metrics-totals' });
    this.element = h('div', { class: 'metrics-table', id: 'metrics', role: 'table', 'aria-label': 'Per-class metrics' }, this.head, this.scroller, this.totals);
  }

  setSummary(summary: ConfusionSummary): void {
    this.summary = summary;
    this.rows = summary.classes.slice();
    this.sort();
    this.renderTotals();
    this.renderRows();
  }

  /** Scrolls a class into view and marks it. */
  reveal(index: number): void {
    const pos = this.rows.findIndex((r) => r.index === index);
    if (pos < 0) return;
    this.picked = index;
    const top = pos * ROW_H;
    if (top < this.scroller.scrollTop || top > this.scroller.scrollTop + this.scroller.clientHeight - ROW_H) this.scroller.scrollTop = Math.max(0, top - 3 * ROW_H);
    this.renderRows();
  }

  private picked: number | undefined;

  private sortBy(key: Key): void {
    if (this.sortKey === key) this.descending = !this.descending;
    else {
      this.sortKey = key;
      // Numbers: worst first is the useful default (which classes need work); names: A to Z.
      this.descending = false;
    }
    this.sort();
    this.renderRows();
  }

  private sort(): void {
    const k = this.sortKey;
    const sign = this.descending ? -1 : 1;
    const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
    this.rows.sort((a, b) => sign * (k === 'label' ? collator.compare(a.label, b.label) : a[k] - b[k]) || a.index - b.index);
    for (const b of this.head.querySelectorAll<HTMLElement>('button')) {
      const on = b.dataset.key === k;
      b.setAttribute('aria-sort', on ? (this.descending ? 'descending' : 'ascending') : 'none');
      b.classList.toggle('sorted', on);
      b.dataset.arrow = on ? (this.descending ? '▼' : '▲') : '';
    }
  }

  private renderTotals(): void {
    const s = this.summary!;
    this.totals.replaceChildren(
      line('Accuracy', pct(s.accuracy), `${s.total} samples`),
      line('Macro avg', `P ${pct(s.macro.precision)}`, `R ${pct(s.macro.recall)}`, `F1 ${pct(s.macro.f1)}`),
      line('Weighted avg', `P ${pct(s.weighted.precision)}`, `R ${pct(s.weighted.recall)}`, `F1 ${pct(s.weighted.f1)}`),
    );
  }

  private renderRows(): void {
    this.spacer.style.height = `${this.rows.length * ROW_H}px`;
    const first = Math.max(0, Math.floor(this.scroller.scrollTop / ROW_H) - 5);
    const last = Math.min(this.rows.length, first + Math.ceil((this.scroller.clientHeight || 400) / ROW_H) + 10);
    this.body.style.transform = `translateY(${first * ROW_H}px)`;
    const out: HTMLElement[] = [];
    for (let i = first; i < last; i++) {
      const m = this.rows[i]!;
      const row = h('div', { class: `mt-row${m.index === this.picked ? ' picked' : ''}`, role: 'row', 'data-index': m.index, title: `${m.label}: ${m.predicted} predicted` },
        h('span', { class: 'mt-cell label' }, m.label),
        h('span', { class: 'mt-cell num' }, pct(m.precision)),
        h('span', { class: 'mt-cell num' }, pct(m.recall)),
        h('span', { class: 'mt-cell num' }, pct(m.f1)),
        h('span', { class: 'mt-cell num' }, String(m.support)),
      );
      row.addEventListener('click', () => this.onPick(m.index));
      out.push(row);
    }
    this.body.replaceChildren(...out);
  }
}

function line(title: string, ...parts: string[]): HTMLElement {
  return h('div', { class: 'mt-total' }, h('strong', {}, title), ...parts.map((p) => h('span', {}, p)));
}
