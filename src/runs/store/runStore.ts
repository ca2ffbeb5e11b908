// The run store: every run in the workspace, discovered from files, each tailed by a RunReader. File-watcher events
// arrive through invalidate(); work is coalesced (one refresh per run per tick, one rescan at a time) and done with
// async fs off the event path. Plain Node: the vscode wiring is in ./watch.ts.
import * as path from 'node:path';
import type { RunInfo } from '../../protocol/runFormat';
import type { SeriesSet } from '../format/series';
import { csvKindFromHeader, discoverRuns, isRunRelevantPath, type FoundRun, type RunKind } from './discover';
import { readHead } from './fileTail';
import { createRunReader, type RunReader } from './runReaders';
import { effectiveStatus, pidAlive, type RunState } from './status';

export interface LastValue {
  metric: string;
  split: string | undefined;
  step: number;
  value: number;
}

/** What a list of runs shows: plain data. */
export interface RunSummary {
  key: string;
  kind: RunKind;
  name: string;
  /** Run directory (the CSV file's folder for Keras). */
  dir: string;
  /** The file of a CSV run. */
  file: string | undefined;
  status: RunState;
  info: RunInfo | undefined;
  /** ms since the epoch; from run.json, else the first record's time, else the file time. */
  startMs: number | undefined;
  endMs: number | undefined;
  lastWriteMs: number;
  records: number;
  problems: number;
  series: { metric: string; split: string | undefined; count: number }[];
  last: LastValue[];
}

export interface RunStoreChange {
  /** Runs whose data changed. */
  changed: string[];
  /** Runs were added or removed. */
  structural: boolean;
}

export interface RunStoreOptions {
  /** Delay that coalesces bursts of watcher events, ms. */
  coalesceMs?: number;
  /** Interval at which running runs are polled (watchers can miss appends on some file systems), ms; 0: never. */
  pollMs?: number;
  seriesCap?: number;
  isAlive?: (pid: number, startedMs?: number) => boolean;
  now?: () => number;
}

export class RunEntry {
  status: RunState = 'running';
  /** When the store last saw the run's files grow (not counting the first read), ms. */
  grownMs = 0;
  refreshed = 0;
  constructor(
    readonly found: FoundRun,
    readonly reader: RunReader,
    readonly name: string,
  ) {}

  get key(): string {
    return this.found.key;
  }

  get series(): SeriesSet {
    return this.reader.series;
  }

  summary(): RunSummary {
    const r = this.reader;
    const info = r.info;
    const parse = (s: string | null | undefined) => {
      const ms = s ? Date.parse(s) : NaN;
      return Number.isFinite(ms) ? ms : undefined;
    };
    const entries = r.series.entries();
    const last: LastValue[] = [];
    for (const e of entries) {
      const p = e.series.stats.last;
      if (p) last.push({ metric: e.metric, split: e.split, step: p.step, value: p.value });
    }
    return {
      key: this.key,
      kind: this.found.kind,
      name: info?.name || this.name,
      dir: this.found.dir,
      file: this.found.file,
      status: this.status,
      info,
      startMs: parse(info?.startTime) ?? (r.firstT !== undefined ? r.firstT * 1000 : undefined),
      endMs: parse(info?.endTime) ?? (this.status !== 'running' && r.lastT !== undefined ? r.lastT * 1000 : undefined),
      lastWriteMs: r.lastWriteMs,
      records: r.records,
      problems: r.problems,
      series: entries.map((e) => ({ metric: e.metric, split: e.split, count: e.series.stats.count })),
      last,
    };
  }
}

type Listener = (change: RunStoreChange) => void;

/** Names of files whose appearance can make a new run. */
const CSV_FILE = /\.(?:csv|log)$/i;
const RUN_FILE = /(?:^|[\\/])(?:run\.json|metrics\.jsonl|events\.out\.tfevents\.[^\\/]*|[^\\/]+\.csv|[^\\/]+\.log)$/i;

export class RunStore {
  private readonly runs = new Map<string, RunEntry>();
  private readonly listeners = new Set<Listener>();
  private readonly dirty = new Set<string>();
  private waiters: (() => void)[] = [];
  /** CSV / log files outside known runs that changed: a rescan if their header says Lightning or Keras. */
  private readonly candidates = new Set<string>();
  private readonly notRuns = new Map<string, number>();
  private rescanWanted = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private poller: ReturnType<typeof setInterval> | undefined;
  private work: Promise<void> = Promise.resolve();
  private disposed = false;
  private scanned = false;
  private readonly opts: Required<RunStoreOptions>;

  constructor(
    private roots: string[],
    options: RunStoreOptions = {},
  ) {
    this.opts = {
      coalesceMs: options.coalesceMs ?? 100,
      pollMs: options.pollMs ?? 2000,
      seriesCap: options.seriesCap ?? 8192,
      isAlive: options.isAlive ?? pidAlive,
      now: options.now ?? Date.now,
    };
    if (this.opts.pollMs > 0) {
      this.poller = setInterval(() => this.poll(), this.opts.pollMs);
      this.poller.unref?.();
    }
  }

  onDidChange(listener: Listener): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  setRoots(roots: string[]): void {
    this.roots = roots;
    this.rescan();
  }

  /** Runs, newest first. */
  list(): RunEntry[] {
    // A run appears once its files were read: before that its status and values are unknown.
    return [...this.runs.values()].filter((r) => r.refreshed > 0).sort((a, b) => startOf(b) - startOf(a) || a.name.localeCompare(b.name));
  }

  get(key: string): RunEntry | undefined {
    return this.runs.get(key);
  }

  /** The run a file or folder belongs to. */
  runOf(file: string): RunEntry | undefined {
    for (const run of this.runs.values()) {
      if (run.found.kind === 'keras' ? file === run.found.file : file === run.found.dir || file.startsWith(run.found.dir + path.sep)) return run;
    }
    return undefined;
  }

  /** Searches the roots again for runs (coalesced). Resolves when done. */
  rescan(): Promise<void> {
    this.rescanWanted = true;
    return this.schedule(0);
  }

  /** A file changed, appeared or disappeared (from the file watcher). */
  invalidate(file: string, kind: 'change' | 'create' | 'delete' = 'change'): void {
    if (!isRunRelevantPath(file)) return;
    const run = this.runOf(file);
    if (kind === 'delete') {
      // The run itself, or a folder holding runs, went away: rescan. A file inside a run: read the run again.
      if ([...this.runs.values()].some((r) => r.found.dir === file || r.found.file === file || r.found.dir.startsWith(file + path.sep))) {
        this.rescanWanted = true;
      } else if (run) {
        this.dirty.add(run.key);
      } else {
        return;
      }
    } else {
      if (run) this.dirty.add(run.key);
      // A file that can make a folder a run (a new run, or a second kind of run in a folder): look for runs again.
      // A CSV or log file outside runs is only a candidate: its header is read first (a script's own train.log
      // growing must not make the store walk the workspace at every write).
      const maybeNew = RUN_FILE.test(file) && (run === undefined || (kind === 'create' && run.found.kind !== 'descent'));
      if (maybeNew && CSV_FILE.test(file) && run === undefined) this.candidates.add(file);
      else if (maybeNew) this.rescanWanted = true;
      if (!run && !maybeNew) return;
    }
    void this.schedule(this.opts.coalesceMs);
  }

  /** Waits for all pending work. */
  async flush(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.startWork();
    }
    await this.work;
  }

  /** Reads every run again now (only what is new). */
  async refreshAll(): Promise<void> {
    for (const k of this.runs.keys()) this.dirty.add(k);
    this.rescanWanted = true;
    await this.schedule(0);
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.waiters.splice(0).forEach((w) => w());
    if (this.poller !== undefined) clearInterval(this.poller);
    this.listeners.clear();
  }

  private schedule(delay: number): Promise<void> {
    if (this.disposed) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.waiters.push(resolve));
    if (this.timer !== undefined) {
      if (delay > 0) return done;
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => this.startWork(), delay);
    return done;
  }

  private startWork(): void {
    this.timer = undefined;
    const waiters = this.waiters.splice(0);
    this.work = this.work.then(() => this.process()).then(
      () => waiters.forEach((w) => w()),
      () => waiters.forEach((w) => w()),
    );
  }

  private async process(): Promise<void> {
    if (this.disposed) return;
    let structural = false;
    for (const file of [...this.candidates]) {
      this.candidates.delete(file);
      if (this.notRuns.has(file)) continue;
      const kind = csvKindFromHeader(await readHead(file, 1024), path.basename(file));
      if (kind !== undefined) this.rescanWanted = true;
      else if ((await readHead(file, 1024)).includes('\n')) {
        // A complete first line that is no metrics header: this file never becomes a run.
        if (this.notRuns.size > 10_000) this.notRuns.clear();
        this.notRuns.set(file, 1);
      }
    }
    if (this.rescanWanted || !this.scanned) {
      this.rescanWanted = false;
      this.scanned = true;
      const found = await discoverRuns(this.roots);
      const keys = new Set(found.map((f) => f.key));
      for (const key of [...this.runs.keys()]) {
        if (!keys.has(key)) {
          this.runs.delete(key);
          structural = true;
        }
      }
      for (const f of found) {
        if (this.runs.has(f.key)) continue;
        const name = f.kind === 'keras' ? path.basename(f.file!) : path.basename(f.dir);
        this.runs.set(f.key, new RunEntry(f, createRunReader(f, this.opts.seriesCap), name));
        this.dirty.add(f.key);
        structural = true;
      }
    }
    const changed: string[] = [];
    const keys = [...this.dirty];
    this.dirty.clear();
    for (const key of keys) {
      const run = this.runs.get(key);
      if (!run) continue;
      let didChange = false;
      try {
        didChange = await run.reader.refresh();
      } catch {
        // A file that vanished between stat and read: the next event reads it again.
      }
      if (run.reader.behind) this.dirty.add(key);
      if (didChange && run.refreshed > 0) run.grownMs = this.opts.now();
      run.refreshed++;
      if (this.updateStatus(run) || didChange) changed.push(key);
    }
    if ((changed.length > 0 || structural) && !this.disposed) {
      const change: RunStoreChange = { changed, structural };
      for (const l of [...this.listeners]) l(change);
    }
    // Runs with more to read (a file larger than one slice) continue in the next tick, so others are not starved.
    if (this.dirty.size > 0 && !this.disposed) void this.schedule(0);
  }

  private updateStatus(run: RunEntry): boolean {
    const r = run.reader;
    const status = effectiveStatus({
      written: run.found.kind === 'descent' ? (r.info?.status ?? 'running') : undefined,
      pid: r.info?.pid,
      lastWriteMs: activityMs(run),
      startedMs: r.info?.startTime ? Date.parse(r.info.startTime) : undefined,
      now: this.opts.now(),
      isAlive: this.opts.isAlive,
    });
    if (status === run.status) return false;
    run.status = status;
    return true;
  }

  /** Running runs are read again on a timer, and their status re-derived (a process can die without a write). */
  private poll(): void {
    let any = false;
    for (const run of this.runs.values()) {
      if (run.status === 'running') {
        this.dirty.add(run.key);
        any = true;
      }
    }
    if (any) void this.schedule(0);
  }
}

/**
 * When the run last showed signs of life: files seen growing, or the time written in its last record. Not the files'
 * modification time alone: a copied or checked-out run has fresh times but is not being written.
 */
function activityMs(run: RunEntry): number {
  const fromRecords = run.reader.lastT !== undefined ? run.reader.lastT * 1000 : 0;
  const a = Math.max(run.grownMs, fromRecords);
  if (run.found.kind !== 'descent') return a;
  return a > 0 ? a : run.reader.lastWriteMs;
}

function startOf(r: RunEntry): number {
  const ms = r.reader.info?.startTime ? Date.parse(r.reader.info.startTime) : NaN;
  if (Number.isFinite(ms)) return ms;
  return r.reader.firstT !== undefined ? r.reader.firstT * 1000 : r.reader.lastWriteMs;
}
