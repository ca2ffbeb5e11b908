// The evaluation's result as the CLI prints it (JSON or text) and as the run record stores it.
import { confusionFromPredictions, summarizeConfusion, type ConfusionSummary } from '../confusion/metrics';
import { EvaluationError } from './types';

export interface EvaluationReport {
  labels: string[];
  /** matrix[true][predicted]. */
  matrix: number[][];
  summary: ConfusionSummary;
}

/** Matrix + metrics; labels out of 0..n-1 are reported with the first bad sample. */
export function buildReport(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, labels: string[]): EvaluationReport {
  const n = labels.length;
  let counts: Float64Array;
  try {
    counts = confusionFromPredictions(yTrue, yPred, n);
  } catch (e) {
    throw new EvaluationError((e as Error).message);
  }
  const matrix = Array.from({ length: n }, (_, i) => Array.from(counts.subarray(i * n, (i + 1) * n)));
  return { labels, matrix, summary: summarizeConfusion(counts, n, labels) };
}

/** A plain-text report: accuracy, averages, and a per-class table (the matrix too when it is small). */
export function formatText(r: EvaluationReport, header: string[]): string {
  const s = r.summary;
  const pct = (v: number) => (v * 100).toFixed(2).padStart(6);
  const lines = [...header, `accuracy ${pct(s.accuracy)} %  (${s.total} samples, ${s.n} classes)`, `macro    P ${pct(s.macro.precision)}  R ${pct(s.macro.recall)}  F1 ${pct(s.macro.f1)}`, `weighted P ${pct(s.weighted.precision)}  R ${pct(s.weighted.recall)}  F1 ${pct(s.weighted.f1)}`, ''];
  const w = Math.min(24, Math.max(5, ...r.labels.map((l) => l.length)));
  lines.push(`${'class'.padEnd(w)}  precision  recall     f1  support`);
  for (const c of s.classes) lines.push(`${c.label.slice(0, w).padEnd(w)}  ${pct(c.precision)}  ${pct(c.recall)} ${pct(c.f1)}  ${String(c.support).padStart(7)}`);
  if (s.n <= 20) {
    lines.push('', 'confusion matrix (row = true, column = predicted):');
    const cw = Math.max(3, ...r.matrix.flat().map((v) => String(v).length));
    for (const [i, row] of r.matrix.entries()) lines.push(`${r.labels[i]!.slice(0, w).padEnd(w)}  ${row.map((v) => String(v).padStart(cw)).join(' ')}`);
  }
  return lines.join('\n');
}
