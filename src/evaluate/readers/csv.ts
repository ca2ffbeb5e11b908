// CSV datasets: a header row, numeric feature columns and one target column (by name; default the last). Numeric
// integer targets are class ids; any other targets are class names, mapped to ids in sorted order. Streamed twice:
// once to count rows and collect targets, once for the samples.
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { EvaluationError } from '../types';
import type { Dataset, RawBatch } from './dataset';

/** Splits one CSV line (RFC 4180 quotes; no newlines inside quotes). */
export function splitCsvLine(line: string, delimiter = ','): string[] {
  if (!line.includes('"')) return line.split(delimiter);
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === delimiter) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

async function* lines(path: string): AsyncGenerator<string> {
  const rl = createInterface({ input: createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 }), crlfDelay: Infinity });
  try {
    for await (const line of rl) if (line.trim() !== '') yield line;
  } finally {
    rl.close();
  }
}

export async function openCsv(path: string, target?: string): Promise<Dataset> {
  const file = basename(path);
  try {
    await access(path);
  } catch {
    throw new EvaluationError(`${path} does not exist`);
  }
  let header: string[] | undefined;
  let targetCol = -1;
  let rows = 0;
  const targets: string[] = [];
  for await (const line of lines(path)) {
    const cells = splitCsvLine(line);
    if (!header) {
      header = cells.map((c) => c.trim());
      targetCol = target === undefined ? header.length - 1 : header.indexOf(target);
      if (targetCol < 0) throw new EvaluationError(`${file} has no column '${target}' (columns: ${header.join(', ')})`);
      if (header.length < 2) throw new EvaluationError(`${file} needs at least one feature column and a target column`);
      continue;
    }
    if (cells.length !== header.length) throw new EvaluationError(`${file} line ${rows + 2}: ${cells.length} values, the header has ${header.length}`);
    targets.push(cells[targetCol]!.trim());
    rows++;
  }
  if (!header || rows === 0) throw new EvaluationError(`${file} has no data rows`);
  const numeric = targets.every((t) => /^-?\d+$/.test(t));
  const classNames = numeric ? undefined : [...new Set(targets)].sort();
  const index = new Map(classNames?.map((n, i) => [n, i]));
  const labels = Int32Array.from(targets, (t) => (numeric ? Number(t) : index.get(t)!));
  const features = header.length - 1;
  const cols = header;
  return {
    description: `${file} (target column '${cols[targetCol]}')`,
    count: rows,
    sampleShape: [features],
    dtype: 'float32',
    classNames,
    labels: () => Promise.resolve(labels),
    async *batches(batchSize: number): AsyncGenerator<RawBatch> {
      let buf = new Float32Array(Math.min(batchSize, rows) * features);
      let n = 0;
      let row = 0;
      let first = true;
      for await (const line of lines(path)) {
        if (first) {
          first = false;
          continue;
        }
        const cells = splitCsvLine(line);
        let k = n * features;
        for (let c = 0; c < cells.length; c++) {
          if (c === targetCol) continue;
          const v = Number(cells[c]);
          if (cells[c]!.trim() === '' || Number.isNaN(v)) throw new EvaluationError(`${file} line ${row + 2}, column '${cols[c]}': '${cells[c]}' is not a number`);
          buf[k++] = v;
        }
        n++;
        row++;
        if (n === batchSize) {
          yield { kind: 'array', count: n, data: buf };
          buf = new Float32Array(Math.min(batchSize, rows - row) * features);
          n = 0;
        }
      }
      if (n > 0) yield { kind: 'array', count: n, data: buf.subarray(0, n * features) };
    },
  };
}
