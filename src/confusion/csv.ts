// CSV export of a confusion matrix (counts or shares) and of its per-class metrics. RFC 4180 quoting; labels that
// start with = + - @ are prefixed with ' so a spreadsheet does not run them as formulas.
import { normalize, summarizeConfusion, type Normalization } from './metrics';

export function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

const num = (v: number): string => (Number.isInteger(v) ? String(v) : v.toPrecision(6).replace(/\.?0+$/, ''));

/** Header row of predicted labels; one row per true label. */
export function matrixCsv(counts: ArrayLike<number>, labels: readonly string[], view: Normalization): string {
  const n = labels.length;
  const m = normalize(counts, n, view);
  const lines = [['true \\ predicted', ...labels].map(csvField).join(',')];
  for (let i = 0; i < n; i++) {
    const row = [csvField(labels[i]!)];
    for (let j = 0; j < n; j++) row.push(num(m[i * n + j]!));
    lines.push(row.join(','));
  }
  return lines.join('\r\n') + '\r\n';
}

/** sklearn classification_report's columns, then the averages and accuracy. */
export function metricsCsv(counts: ArrayLike<number>, labels: readonly string[]): string {
  const s = summarizeConfusion(counts, labels.length, labels);
  const lines = ['class,precision,recall,f1,support,predicted'];
  for (const c of s.classes) lines.push([csvField(c.label), num(c.precision), num(c.recall), num(c.f1), num(c.support), num(c.predicted)].join(','));
  lines.push(['macro avg', num(s.macro.precision), num(s.macro.recall), num(s.macro.f1), num(s.total), ''].join(','));
  lines.push(['weighted avg', num(s.weighted.precision), num(s.weighted.recall), num(s.weighted.f1), num(s.total), ''].join(','));
  lines.push(['accuracy', '', '', num(s.accuracy), num(s.total), ''].join(','));
  return lines.join('\r\n') + '\r\n';
}
