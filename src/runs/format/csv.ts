// CSV metric logs written by other tools, mapped to MetricRecord:
// - Lightning's CSVLogger (lightning.pytorch.loggers.CSVLogger, metrics.csv): a header that is the union of all keys
//   logged so far (the file is rewritten when a new key appears), columns `epoch` and `step`, and sparse rows: a
//   training step fills the train columns, a validation epoch the val ones. The split of a column comes from its name
//   ("val_loss", "train_acc_step", "loss/val"); a column without one ("lr-Adam") has no split.
// - Keras's CSVLogger (keras.callbacks.CSVLogger): one row per epoch, column `epoch` first, then metrics in sorted
//   order; "val_" columns are the validation split, the others training, except the learning rate (no split). Keras
//   has no step: step = epoch.
// Cells are RFC 4180 (quotes, doubled quotes, commas inside quotes). NaN and infinities are read as Python writes them
// (nan, inf, -inf). Never throws: a row with the wrong number of cells is reported and skipped.
import type { MetricRecord, ReadProblem } from '../../protocol/runFormat';
import { csvNumber } from './numbers';
import { inferSplit } from './split';

export type CsvFlavor = 'lightning' | 'keras';

export interface CsvResult {
  flavor: CsvFlavor | undefined;
  records: MetricRecord[];
  problems: ReadProblem[];
}

const LEARNING_RATE = new Set(['lr', 'learning_rate']);

/** Reads a whole metrics CSV. Re-read the file when it changes: Lightning rewrites it when a metric appears. */
export function parseMetricsCsv(text: string, complete = true): CsvResult {
  const problems: ReadProblem[] = [];
  const rows = csvRows(text, complete, problems);
  const head = rows.shift();
  if (head === undefined) return { flavor: undefined, records: [], problems };
  const header = head.cells.map((c, i) => (i === 0 ? c.replace(/^\uFEFF/, '') : c).trim());
  const stepCol = header.indexOf('step');
  const epochCol = header.indexOf('epoch');
  const flavor: CsvFlavor | undefined = stepCol >= 0 ? 'lightning' : epochCol >= 0 ? 'keras' : undefined;
  if (flavor === undefined) {
    problems.push({ line: head.line, reason: 'no "step" or "epoch" column: not a Lightning or Keras metrics log' });
    return { flavor, records: [], problems };
  }
  const columns = header.map((name, i) => {
    if (i === stepCol || i === epochCol) return undefined;
    if (flavor === 'keras') {
      if (name.startsWith('val_')) return { metric: name.slice(4), split: 'val' as string | undefined };
      return { metric: name, split: LEARNING_RATE.has(name) ? undefined : 'train' };
    }
    return inferSplit(name);
  });
  const records: MetricRecord[] = [];
  for (const row of rows) {
    if (row.cells.length === 1 && row.cells[0]!.trim() === '') continue;
    if (row.cells.length !== header.length) {
      problems.push({ line: row.line, reason: `expected ${header.length} cells, found ${row.cells.length}` });
      continue;
    }
    const epoch = epochCol >= 0 ? csvNumber(row.cells[epochCol]!) : undefined;
    const step = flavor === 'lightning' ? csvNumber(row.cells[stepCol]!) : epoch;
    if (step === undefined || !Number.isSafeInteger(step) || step < 0) {
      problems.push({ line: row.line, reason: `no integer ${flavor === 'lightning' ? 'step' : 'epoch'}` });
      continue;
    }
    // One record per split present in the row.
    const bySplit = new Map<string | undefined, MetricRecord>();
    row.cells.forEach((cell, i) => {
      const col = columns[i];
      if (col === undefined) return;
      const value = csvNumber(cell);
      if (value === undefined) return;
      let rec = bySplit.get(col.split);
      if (rec === undefined) {
        rec = { step, t: undefined, epoch, split: col.split, values: {} };
        bySplit.set(col.split, rec);
      }
      if (col.metric !== '__proto__') rec.values[col.metric] = value;
    });
    records.push(...bySplit.values());
  }
  return { flavor, records, problems };
}

interface CsvRow {
  line: number;
  cells: string[];
}

/**
 * RFC 4180 rows. When the file may still be written (`complete` false), a last row without its newline is left out.
 * An unterminated quote is reported and ends the file.
 */
export function csvRows(text: string, complete: boolean, problems: ReadProblem[]): CsvRow[] {
  const rows: CsvRow[] = [];
  const n = text.length;
  const firstLine = text.slice(0, text.indexOf('\n') >>> 0);
  const sep = !firstLine.includes(',') && firstLine.includes(';') ? ';' : !firstLine.includes(',') && firstLine.includes('\t') ? '\t' : ',';
  let i = 0;
  let line = 1;
  while (i < n) {
    const start = line;
    const cells: string[] = [];
    let cell = '';
    let ended = false;
    while (i < n) {
      const c = text[i]!;
      if (c === '"' && cell === '') {
        const close = quoted(text, i + 1);
        if (close === undefined) {
          problems.push({ line: start, reason: 'unterminated quoted cell' });
          return rows;
        }
        cell = text.slice(i + 1, close.end).replace(/""/g, '"');
        line += close.newlines;
        i = close.end + 1;
      } else if (c === sep) {
        cells.push(cell);
        cell = '';
        i++;
      } else if (c === '\n' || c === '\r') {
        i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
        line++;
        ended = true;
        break;
      } else {
        cell += c;
        i++;
      }
    }
    cells.push(cell);
    if (!ended && !complete) break;
    rows.push({ line: start, cells });
  }
  return rows;
}

/** Index of the quote closing a quoted cell that starts at `from`, and the newlines inside it. */
function quoted(text: string, from: number): { end: number; newlines: number } | undefined {
  let newlines = 0;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') newlines++;
    if (c === '"') {
      if (text[i + 1] === '"') i++;
      else return { end: i, newlines };
    }
  }
  return undefined;
}
