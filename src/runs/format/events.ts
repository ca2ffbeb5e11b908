// events.jsonl records (run format v1): checkpoints and confusion matrices. Unknown kinds are skipped silently
// (forward compatible); a known kind with bad fields is reported.
import type { CheckpointEvent, ConfusionEvent, RunEvent } from '../../protocol/runFormat';
import { JsonlReader, excerpt, parseJsonLine, type LineResult } from './jsonl';
import { metricNumber } from './numbers';

const MAX_CLASSES = 100_000;

export function parseEventLine(text: string): LineResult<RunEvent> {
  const parsed = parseJsonLine(text);
  if ('error' in parsed) return `${parsed.error}: ${excerpt(text)}`;
  const doc = parsed.value;
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return `not a JSON object: ${excerpt(text)}`;
  const d = doc as Record<string, unknown>;
  switch (d.event) {
    case 'checkpoint':
      return checkpoint(d);
    case 'confusion':
      return confusion(d);
    case undefined:
      return 'no "event"';
    default:
      return null;
  }
}

const isStep = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const optNumber = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

function checkpoint(d: Record<string, unknown>): LineResult<CheckpointEvent> {
  if (typeof d.path !== 'string' || d.path === '') return 'checkpoint without a "path"';
  if (!isStep(d.step)) return 'checkpoint without an integer "step"';
  const e: CheckpointEvent = { event: 'checkpoint', step: d.step, path: d.path };
  const t = optNumber(d.t);
  if (t !== undefined) e.t = t;
  if (typeof d.metric === 'string') e.metric = d.metric;
  const value = metricNumber(d.value);
  if (value !== undefined) e.value = value;
  return e;
}

function confusion(d: Record<string, unknown>): LineResult<ConfusionEvent> {
  const labels = d.labels;
  if (!Array.isArray(labels) || labels.length === 0 || labels.length > MAX_CLASSES) {
    return 'confusion without "labels"';
  }
  const n = labels.length;
  const matrix = d.matrix;
  if (!Array.isArray(matrix) || matrix.length !== n) return `confusion "matrix" is not ${n} rows (one per label)`;
  for (let i = 0; i < n; i++) {
    const row: unknown = matrix[i];
    if (!Array.isArray(row) || row.length !== n) return `confusion row ${i} does not have ${n} counts`;
    for (let j = 0; j < n; j++) {
      const c: unknown = row[j];
      if (typeof c !== 'number' || !(c >= 0)) return `confusion count [${i}][${j}] is not a number >= 0`;
    }
  }
  const e: ConfusionEvent = { event: 'confusion', labels: labels.map((l) => String(l)), matrix: matrix as number[][] };
  const t = optNumber(d.t);
  if (t !== undefined) e.t = t;
  if (isStep(d.step)) e.step = d.step;
  const epoch = optNumber(d.epoch);
  if (epoch !== undefined) e.epoch = epoch;
  if (typeof d.split === 'string') e.split = d.split;
  return e;
}

/** Reader of a growing events.jsonl. */
export function createEventsReader(maxLineBytes?: number): JsonlReader<RunEvent> {
  return new JsonlReader(parseEventLine, maxLineBytes);
}
