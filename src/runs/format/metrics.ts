// metrics.jsonl records (run format v1, src/protocol/runFormat.ts): one JSON object per line, validated field by
// field into a MetricRecord.
import type { MetricRecord } from '../../protocol/runFormat';
import { JsonlReader, excerpt, parseJsonLine, type LineResult } from './jsonl';
import { metricNumber } from './numbers';

/** One metrics line as a record, or why it is not one. Never throws. */
export function parseMetricLine(text: string): LineResult<MetricRecord> {
  let value: unknown;
  try {
    // The common case inline: V8's JSON.parse beat a hand-written scanner for flat records (bench/ingest).
    value = JSON.parse(text);
  } catch {
    const parsed = parseJsonLine(text);
    if ('error' in parsed) return `${parsed.error}: ${excerpt(text)}`;
    value = parsed.value;
  }
  return metricRecordFrom(value, text);
}

export function metricRecordFrom(value: unknown, text = ''): LineResult<MetricRecord> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return `not a JSON object: ${excerpt(text)}`;
  }
  const doc = value as Record<string, unknown>;
  const step = doc.step;
  if (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0) {
    return step === undefined ? 'no "step"' : `"step" is not an integer >= 0: ${excerpt(JSON.stringify(step) ?? '')}`;
  }
  let t: number | undefined;
  let epoch: number | undefined;
  let split: string | undefined;
  const values: Record<string, number> = {};
  for (const key in doc) {
    const v = doc[key];
    switch (key) {
      case 'step':
        break;
      case 't':
        if (typeof v === 'number') t = v;
        break;
      case 'epoch':
        if (typeof v === 'number') epoch = v;
        break;
      case 'split':
        if (typeof v === 'string') split = v;
        break;
      case '__proto__': // a metric by that name would set the prototype of values
        break;
      default: {
        if (typeof v === 'number') values[key] = v;
        else {
          const n = metricNumber(v);
          if (n !== undefined) values[key] = n;
        }
      }
    }
  }
  return { step, t, epoch, split, values };
}

/** Reader of a growing metrics.jsonl. */
export function createMetricsReader(maxLineBytes?: number): JsonlReader<MetricRecord> {
  return new JsonlReader(parseMetricLine, maxLineBytes, (v) => metricRecordFrom(v));
}
