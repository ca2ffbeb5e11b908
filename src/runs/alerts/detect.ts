// What makes a watched run worth an alert, decided from plain data. Pure: unit-tested without a host
// (test/unit/runs-alerts.test.ts). The vscode side (src/runs/view/alerts.ts) shows the notifications.
//
// Definitions (one alert per run and kind at most):
// - nan:     a value of a loss metric (a metric whose name contains "loss", any split) is NaN or ±Infinity.
// - explode: a finite value v of a loss metric, once at least EXPLODE.warmup finite values of that series came before
//            it, with v > EXPLODE.factor × m, where m is the median of the last EXPLODE.window finite values before v
//            and m > 0. (A loss that goes negative, such as an ELBO, never counts as exploding.)
// - stall:   the run is running and no new record arrived for `stallMs` (descent.runs.stallMinutes): the last
//            activity is the latest of the last record's time, the time the store saw the files grow, and the start.
// - died:    a run watched while running becomes failed or interrupted.
import type { MetricRecord } from '../../protocol/runFormat';
import type { RunState } from '../store/status';

export type AlertKind = 'nan' | 'explode' | 'stall' | 'died';

export const EXPLODE = { factor: 10, warmup: 20, window: 64 } as const;

/** A loss value that is wrong: NaN / infinite, or far above its recent level. */
export interface LossFinding {
  kind: 'nan' | 'explode';
  metric: string;
  split: string | undefined;
  step: number;
  value: number;
  /** The running median the value was compared with (explode). */
  median?: number;
}

export function isLossMetric(name: string): boolean {
  return /loss/i.test(name);
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Whether `value` explodes against `history` (the finite values before it, oldest first), as defined above. Returns
 * the median it was compared with, or undefined when it does not explode.
 */
export function explodes(history: readonly number[], value: number, opts: { factor: number; warmup: number; window: number } = EXPLODE): number | undefined {
  if (!Number.isFinite(value) || history.length < opts.warmup) return undefined;
  const recent = history.length > opts.window ? history.slice(-opts.window) : history;
  // Cheap rejection: the median is at least the minimum, so a value within factor × minimum cannot explode.
  let min = Infinity;
  for (const v of recent) if (v < min) min = v;
  if (min > 0 && value <= opts.factor * min) return undefined;
  const m = median(recent);
  return m > 0 && value > opts.factor * m ? m : undefined;
}

/** Streams records of one run and keeps the first finding of each kind. Memory: EXPLODE.window values per series. */
export class LossMonitor {
  private readonly history = new Map<string, { count: number; recent: number[] }>();
  nan: LossFinding | undefined;
  explode: LossFinding | undefined;

  push(r: MetricRecord): void {
    for (const metric in r.values) {
      if (!isLossMetric(metric)) continue;
      const value = r.values[metric]!;
      if (!Number.isFinite(value)) {
        this.nan ??= { kind: 'nan', metric, split: r.split, step: r.step, value };
        continue;
      }
      if (this.explode !== undefined) continue;
      const id = `${r.split ?? ''}\u0000${metric}`;
      let h = this.history.get(id);
      if (h === undefined) {
        h = { count: 0, recent: [] };
        this.history.set(id, h);
      }
      const m = h.count >= EXPLODE.warmup ? explodes(h.recent, value) : undefined;
      if (m !== undefined) this.explode = { kind: 'explode', metric, split: r.split, step: r.step, value, median: m };
      h.count++;
      h.recent.push(value);
      if (h.recent.length > EXPLODE.window) h.recent.shift();
    }
  }

  findings(): LossFinding[] {
    return [this.nan, this.explode].filter((f): f is LossFinding => f !== undefined);
  }
}

/** Whether a running run has been silent for at least `stallMs` (see the header). */
export function isStalled(status: RunState, lastActivityMs: number | undefined, now: number, stallMs: number): boolean {
  if (status !== 'running' || !(stallMs > 0) || lastActivityMs === undefined || !Number.isFinite(lastActivityMs)) return false;
  return now - lastActivityMs >= stallMs;
}

/** A watched run's process died: it was seen running and is now failed or interrupted. */
export function died(wasRunning: boolean, status: RunState): boolean {
  return wasRunning && (status === 'failed' || status === 'interrupted');
}

/** Remembers which alerts were raised: once per run and kind. */
export class AlertBook {
  private readonly raised = new Set<string>();

  /** True the first time for this run and kind. */
  take(run: string, kind: AlertKind): boolean {
    const id = `${run}\u0000${kind}`;
    if (this.raised.has(id)) return false;
    this.raised.add(id);
    return true;
  }

  has(run: string, kind: AlertKind): boolean {
    return this.raised.has(`${run}\u0000${kind}`);
  }
}

const fmt = (v: number) => (Number.isNaN(v) ? 'NaN' : !Number.isFinite(v) ? (v > 0 ? 'Infinity' : '-Infinity') : String(Number(v.toPrecision(4))));
const seriesName = (f: { metric: string; split: string | undefined }) => (f.split ? `${f.split} ${f.metric}` : f.metric);

/** The notification's text for an alert. */
export function alertMessage(
  name: string,
  a:
    | LossFinding
    | { kind: 'stall'; minutes: number }
    | { kind: 'died'; status: RunState; exitCode?: number | null; stderrLine?: string },
): string {
  switch (a.kind) {
    case 'nan':
      return `Descent: run ${name}: ${seriesName(a)} became ${fmt(a.value)} at step ${a.step}. Training has diverged; lower the learning rate or clip gradients.`;
    case 'explode':
      return `Descent: run ${name}: ${seriesName(a)} exploded at step ${a.step}: ${fmt(a.value)}, more than ${EXPLODE.factor}× its recent median ${fmt(a.median ?? NaN)}.`;
    case 'stall': {
      const seconds = Math.round(a.minutes * 60);
      const span = seconds < 60 || seconds % 60 !== 0 ? `${seconds} second${seconds === 1 ? '' : 's'}` : `${seconds / 60} minute${seconds === 60 ? '' : 's'}`;
      return `Descent: run ${name} is still running but has logged nothing for ${span}.`;
    }
    case 'died': {
      const how =
        a.status === 'interrupted'
          ? 'its process is gone (interrupted)'
          : `it failed${a.exitCode !== null && a.exitCode !== undefined ? ` with exit code ${a.exitCode}` : ''}`;
      return `Descent: run ${name} stopped: ${how}${a.stderrLine ? `: ${a.stderrLine}` : '.'}`;
    }
  }
}
