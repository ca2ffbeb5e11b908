// One reader per kind of run: tails the run's files by byte offset and feeds the pure readers
// (src/runs/format/) into a SeriesSet. refresh() reads only what was written since the last call; a truncated or
// replaced file starts the run's series again (`resets` rises, so views resend everything).
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { RUN_FILES, type CheckpointEvent, type MetricRecord, type RunInfo } from '../../protocol/runFormat';
import { parseMetricsCsv } from '../format/csv';
import { createEventsReader } from '../format/events';
import type { JsonlReader } from '../format/jsonl';
import { createMetricsReader } from '../format/metrics';
import { parseRunInfo } from '../format/runInfo';
import { SeriesSet } from '../format/series';
import { LossMonitor } from '../alerts/detect';
import { TensorBoardFileReader, TB_SCALAR_SORT, scalarToRecord, type TbScalar } from './tbCompat';
import { FileTail, readHead } from './fileTail';
import type { FoundRun, RunKind } from './discover';
import { TB_PREFIX } from './discover';

export interface RunReader {
  readonly kind: RunKind;
  readonly found: FoundRun;
  series: SeriesSet;
  /** Rises each time the series were started again. */
  resets: number;
  /** run.json (Descent runs). */
  info: RunInfo | undefined;
  /** Last modification time of the run's files, ms (0 before the first refresh). */
  lastWriteMs: number;
  /** Unix seconds of the earliest record seen, when records carry times. */
  firstT: number | undefined;
  /** Unix seconds of the latest record seen. */
  lastT: number | undefined;
  records: number;
  problems: number;
  checkpoints: CheckpointEvent[];
  /** Confusion matrices seen in events.jsonl (the matrices themselves are read by the confusion panel). */
  confusions: number;
  /** Loss values that went NaN / infinite or exploded (alerts), from every record read. */
  readonly monitor: LossMonitor;
  /** Reads what is new; true when something changed. */
  refresh(): Promise<boolean>;
  /** A read stopped short of the end of a file (large files are read in slices): refresh again. */
  readonly behind: boolean;
}

abstract class BaseReader implements RunReader {
  series: SeriesSet;
  resets = 0;
  info: RunInfo | undefined;
  lastWriteMs = 0;
  firstT: number | undefined;
  lastT: number | undefined;
  records = 0;
  problems = 0;
  checkpoints: CheckpointEvent[] = [];
  confusions = 0;
  readonly monitor = new LossMonitor();

  constructor(
    readonly found: FoundRun,
    protected readonly seriesCap?: number,
  ) {
    this.series = new SeriesSet(seriesCap);
  }

  abstract get kind(): RunKind;
  abstract refresh(): Promise<boolean>;
  abstract get behind(): boolean;

  protected restart(): void {
    this.series = new SeriesSet(this.seriesCap);
    this.resets++;
    this.records = 0;
    this.firstT = undefined;
    this.lastT = undefined;
  }

  protected add(r: MetricRecord): void {
    this.series.addRecord(r);
    this.monitor.push(r);
    this.records++;
    if (r.t !== undefined && Number.isFinite(r.t)) {
      if (this.firstT === undefined || r.t < this.firstT) this.firstT = r.t;
      if (this.lastT === undefined || r.t > this.lastT) this.lastT = r.t;
    }
  }

  protected touched(mtimeMs: number): void {
    if (mtimeMs > this.lastWriteMs) this.lastWriteMs = mtimeMs;
  }
}

/** A Descent run directory: run.json (re-read when it changes), metrics.jsonl and events.jsonl tailed. */
export class DescentRunReader extends BaseReader {
  readonly kind = 'descent' as const;
  private readonly metricsTail: FileTail;
  private readonly eventsTail: FileTail;
  private metrics: JsonlReader<MetricRecord> = createMetricsReader();
  private events = createEventsReader();
  private infoStamp = '';

  constructor(found: FoundRun, seriesCap?: number) {
    super(found, seriesCap);
    this.metricsTail = new FileTail(path.join(found.dir, RUN_FILES.metrics));
    this.eventsTail = new FileTail(path.join(found.dir, RUN_FILES.events));
  }

  get behind(): boolean {
    return this.metricsTail.behind || this.eventsTail.behind;
  }

  async refresh(): Promise<boolean> {
    let changed = await this.readInfo();
    const m = await this.metricsTail.read();
    if (!m.missing) this.touched(m.mtimeMs);
    if (m.reset) {
      this.metrics = createMetricsReader();
      this.restart();
      changed = true;
    }
    for (const chunk of m.chunks) {
      const batch = this.metrics.push(chunk);
      for (const r of batch.records) this.add(r);
      this.problems += batch.problems.length;
      changed = true;
    }
    const e = await this.eventsTail.read();
    if (e.reset) {
      this.events = createEventsReader();
      this.checkpoints = [];
      this.confusions = 0;
    }
    for (const chunk of e.chunks) {
      const batch = this.events.push(chunk);
      for (const ev of batch.records) {
        if (ev.event === 'checkpoint') this.checkpoints.push(ev);
        else if (ev.event === 'confusion') this.confusions++;
      }
      if (this.checkpoints.length > 100) this.checkpoints.splice(0, this.checkpoints.length - 100);
      changed = true;
    }
    if (!e.missing) this.touched(e.mtimeMs);
    return changed;
  }

  private async readInfo(): Promise<boolean> {
    const file = path.join(this.found.dir, RUN_FILES.info);
    let st;
    try {
      st = await fsp.stat(file);
    } catch {
      const had = this.info !== undefined;
      this.info = undefined;
      this.infoStamp = '';
      return had;
    }
    this.touched(st.mtimeMs);
    const stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    if (stamp === this.infoStamp) return false;
    let text: string;
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch {
      return false;
    }
    const { info } = parseRunInfo(text, path.basename(this.found.dir));
    // A half-written file cannot happen (the writers rename), but a foreign run.json can: keep the last good one.
    if (info !== undefined) this.info = info;
    this.infoStamp = stamp;
    return true;
  }
}

/** A folder of TensorBoard event files: every file tailed; files that appear later are picked up. */
export class TensorBoardRunReader extends BaseReader {
  readonly kind = 'tensorboard' as const;
  private files = new Map<string, { tail: FileTail; reader: TensorBoardFileReader }>();
  private started = false;

  get behind(): boolean {
    return [...this.files.values()].some((f) => f.tail.behind);
  }

  async refresh(): Promise<boolean> {
    let names: string[];
    try {
      names = (await fsp.readdir(this.found.dir)).filter((n) => n.startsWith(TB_PREFIX)).sort();
    } catch {
      names = [];
    }
    const scalars: { s: TbScalar; file: number }[] = [];
    let reset = false;
    for (const [i, name] of names.entries()) {
      let f = this.files.get(name);
      if (f === undefined) {
        f = { tail: new FileTail(path.join(this.found.dir, name)), reader: new TensorBoardFileReader() };
        this.files.set(name, f);
      }
      const r = await f.tail.read();
      if (!r.missing) this.touched(r.mtimeMs);
      if (r.reset) reset = true;
      for (const chunk of r.chunks) {
        const batch = f.reader.push(chunk);
        for (const s of batch.scalars) scalars.push({ s, file: i });
        this.problems += batch.problems.length;
      }
    }
    for (const name of [...this.files.keys()]) if (!names.includes(name)) { this.files.delete(name); reset = true; }
    if (reset) {
      // Start over from byte 0 of every file, so the merged order stays right.
      for (const f of this.files.values()) {
        f.tail.rewind();
        f.reader = new TensorBoardFileReader();
      }
      this.restart();
      await this.refresh();
      return true;
    }
    if (scalars.length === 0) {
      const first = !this.started;
      this.started = true;
      return first;
    }
    // First read of several files (a resumed run): merge by step, as TensorBoard shows them.
    if (!this.started || scalars.length > 1) scalars.sort(TB_SCALAR_SORT);
    this.started = true;
    for (const { s } of scalars) this.add(scalarToRecord(s));
    return true;
  }
}

/**
 * A CSV log (Lightning, Keras). Appended rows are read by offset; Lightning rewrites the whole file when a metric
 * appears, which shows as another header line: then the file is read again from the start.
 */
export class CsvRunReader extends BaseReader {
  private readonly tail: FileTail;
  private text = '';
  private header = '';
  private used = 0;

  constructor(
    found: FoundRun,
    seriesCap?: number,
  ) {
    super(found, seriesCap);
    this.tail = new FileTail(found.file!);
  }

  get kind(): RunKind {
    return this.found.kind;
  }

  get behind(): boolean {
    return this.tail.behind;
  }

  async refresh(): Promise<boolean> {
    let r = await this.tail.read();
    if (!r.missing) this.touched(r.mtimeMs);
    let reset = r.reset;
    if (!reset && r.chunks.length > 0 && this.header !== '') {
      // Rewritten with a new header (Lightning): compare the first line on disk with the one read before.
      const head = await readHead(this.found.file!, this.header.length + 2);
      if (!head.startsWith(this.header)) reset = true;
    }
    if (reset) {
      this.tail.rewind();
      this.text = '';
      this.header = '';
      this.used = 0;
      this.restart();
      r = await this.tail.read();
    }
    if (r.chunks.length === 0) return reset;
    this.text += Buffer.concat(r.chunks).toString('utf8');
    const nl = this.text.indexOf('\n');
    if (nl >= 0) this.header = this.text.slice(0, nl + 1);
    const parsed = parseMetricsCsv(this.text, false);
    // Rows are only appended (a rewrite resets above): records past those already used are new.
    for (let i = this.used; i < parsed.records.length; i++) this.add(parsed.records[i]!);
    this.used = parsed.records.length;
    this.problems = parsed.problems.length;
    return true;
  }
}

export function createRunReader(found: FoundRun, seriesCap?: number): RunReader {
  switch (found.kind) {
    case 'descent':
      return new DescentRunReader(found, seriesCap);
    case 'tensorboard':
      return new TensorBoardRunReader(found, seriesCap);
    default:
      return new CsvRunReader(found, seriesCap);
  }
}
