// Alerts while a run is watched (src/runs/alerts/detect.ts decides): a loss that went NaN / infinite or exploded, a
// run that stalled, a process that died. One notification per run and kind, with Stop Run / Open Log / Open Curves.
// A run is watched from the moment the store (or the launcher, through descent.runs.watchRun) sees it running.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { registerCommand } from '../../shell/registry';
import { RUN_FILES } from '../../protocol/runFormat';
import { AlertBook, alertMessage, died, isStalled, type AlertKind } from '../alerts/detect';
import type { RunEntry, RunStore } from '../store/runStore';

export interface RaisedAlert {
  key: string;
  name: string;
  kind: AlertKind;
  message: string;
  /** Buttons offered. */
  actions: string[];
  atMs: number;
}

/** How often watched runs are checked for a stall (a silent run sends no change). */
const CHECK_MS = 5_000;

function stallMinutes(): number {
  const v = vscode.workspace.getConfiguration('descent').get<number>('runs.stallMinutes', 10);
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 10;
}

function lastStderrLine(dir: string): string | undefined {
  try {
    const text = fs.readFileSync(path.join(dir, RUN_FILES.stderr), 'utf8');
    const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('[descent:'));
    const last = lines[lines.length - 1];
    return last && last.length > 200 ? `${last.slice(0, 199)}…` : last;
  } catch {
    return undefined;
  }
}

function logFile(run: RunEntry): string | undefined {
  if (run.found.kind !== 'descent') return undefined;
  for (const f of [RUN_FILES.output, RUN_FILES.stderr]) {
    const p = path.join(run.found.dir, f);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

export class RunAlerts implements vscode.Disposable {
  private readonly book = new AlertBook();
  /** Runs seen running: record count and when it last changed (ms; 0 until it changes while watched). */
  private readonly watched = new Map<string, { records: number; changedMs: number }>();
  /** Folders the launcher asked to watch before the store has read them. */
  private readonly pendingDirs = new Set<string>();
  readonly raised: RaisedAlert[] = [];
  private readonly disposables: vscode.Disposable[] = [];
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(
    private readonly store: RunStore,
    private readonly showCurves: (keys: string[]) => void,
  ) {
    this.disposables.push(
      store.onDidChange((c) => {
        const keys = c.structural ? store.list().map((r) => r.key) : c.changed;
        for (const k of keys) {
          const run = store.get(k);
          if (run && run.refreshed > 0) this.check(run);
        }
      }),
      registerCommand('descent.runs.watchRun', (dir: unknown) => {
        if (typeof dir === 'string') this.pendingDirs.add(dir);
      }),
    );
    this.timer = setInterval(() => this.checkAll(), CHECK_MS);
    this.timer.unref?.();
  }

  dispose(): void {
    clearInterval(this.timer);
    for (const d of this.disposables.splice(0)) d.dispose();
  }

  /** Evaluates every watched run now (stalls are found by time, not by a change). */
  checkAll(): void {
    for (const key of [...this.watched.keys()]) {
      const run = this.store.get(key);
      if (run) this.check(run);
    }
  }

  private check(run: RunEntry): void {
    const s = run.summary();
    const now = Date.now();
    let w = this.watched.get(run.key);
    if (w === undefined && (s.status === 'running' || this.pendingDirs.has(run.found.dir))) {
      this.pendingDirs.delete(run.found.dir);
      w = { records: s.records, changedMs: 0 };
      this.watched.set(run.key, w);
    }
    if (w === undefined) return;
    if (s.records !== w.records) {
      w.records = s.records;
      w.changedMs = now;
    }
    // Loss findings are reported even when the run ended in the same read (a script that logs NaN and exits).
    for (const f of run.reader.monitor.findings()) this.raise(run, f.kind, alertMessage(s.name, f), s.status === 'running');
    if (s.status === 'running') {
      const minutes = stallMinutes();
      const last = Math.max(w.changedMs, run.reader.lastT !== undefined ? run.reader.lastT * 1000 : 0, s.startMs ?? 0);
      if (isStalled(s.status, last > 0 ? last : undefined, now, minutes * 60_000)) {
        this.raise(run, 'stall', alertMessage(s.name, { kind: 'stall', minutes }), true);
      }
      return;
    }
    if (died(true, s.status)) {
      const stderrLine = s.status === 'failed' ? lastStderrLine(run.found.dir) : undefined;
      this.raise(run, 'died', alertMessage(s.name, { kind: 'died', status: s.status, exitCode: s.info?.exitCode, stderrLine }), false);
    }
    this.watched.delete(run.key);
  }

  private raise(run: RunEntry, kind: AlertKind, message: string, running: boolean): void {
    if (!this.book.take(run.key, kind)) return;
    const log = logFile(run);
    const actions = [...(running && run.found.kind === 'descent' ? ['Stop Run'] : []), ...(log ? ['Open Log'] : []), 'Open Curves'];
    this.raised.push({ key: run.key, name: run.summary().name, kind, message, actions, atMs: Date.now() });
    if (this.raised.length > 200) this.raised.splice(0, this.raised.length - 200);
    const show = kind === 'stall' ? vscode.window.showWarningMessage : vscode.window.showErrorMessage;
    void show(message, ...actions).then(async (choice) => {
      if (choice === 'Stop Run') await vscode.commands.executeCommand('descent.runs.stop', run.key);
      else if (choice === 'Open Log' && log) await vscode.window.showTextDocument(vscode.Uri.file(log), { preview: true });
      else if (choice === 'Open Curves') this.showCurves([run.key]);
    });
  }
}
