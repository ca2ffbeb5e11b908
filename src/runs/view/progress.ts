// Progress and ETA of a run from its hyperparameters (total epochs or steps) and the recent rate of its records.
// Pure: unit-tested without a host.
import type { CurveProgress } from '../../protocol/curves';
import type { JsonValue } from '../../protocol/runFormat';
import type { SeriesSet, SeriesPoint } from '../format/series';

const EPOCH_KEYS = ['epochs', 'num_epochs', 'max_epochs', 'n_epochs', 'total_epochs', 'epoch_count'];
const STEP_KEYS = ['total_steps', 'max_steps', 'num_steps', 'steps', 'iterations', 'max_iters', 'num_iterations'];

function positiveInt(h: Record<string, JsonValue>, keys: string[]): number | undefined {
  for (const k of keys) {
    const v = h[k];
    const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
    if (Number.isFinite(n) && n > 0) return Math.round(n);
  }
  return undefined;
}

/** Recent points of the run's longest series with times: the basis of the rate. */
function recentPoints(series: SeriesSet): SeriesPoint[] {
  let best: SeriesPoint[] = [];
  let bestCount = -1;
  for (const e of series.entries()) {
    if (e.series.stats.count <= bestCount) continue;
    const pts = e.series.points();
    if (pts.length === 0 || !Number.isFinite(pts[pts.length - 1]!.t)) continue;
    best = pts;
    bestCount = e.series.stats.count;
  }
  return best;
}

/**
 * "epoch 3/10, ETA 2m": done and total in epochs when the hyperparameters give total epochs (epochs in records may be
 * 0-based: the epoch in progress counts as done + 1), else in steps when they give total steps. The ETA comes from
 * the rate over the last quarter of the points (at least 2), so a slow start does not skew it; null when not
 * running.
 */
export function runProgress(hp: Record<string, JsonValue> | undefined, series: SeriesSet, running: boolean): CurveProgress | null {
  if (!hp) return null;
  const totalEpochs = positiveInt(hp, EPOCH_KEYS);
  const totalSteps = totalEpochs === undefined ? positiveInt(hp, STEP_KEYS) : undefined;
  if (totalEpochs === undefined && totalSteps === undefined) return null;
  const pts = recentPoints(series);
  let minEpoch = Infinity;
  let maxEpoch = -Infinity;
  let maxStep = -1;
  for (const e of series.entries()) {
    const last = e.series.stats.last;
    if (!last) continue;
    if (Number.isFinite(last.epoch)) maxEpoch = Math.max(maxEpoch, last.epoch);
    maxStep = Math.max(maxStep, last.step);
    const first = e.series.committed(0, 1)[0];
    if (first && Number.isFinite(first.epoch)) minEpoch = Math.min(minEpoch, first.epoch);
  }
  let unit: 'epoch' | 'step';
  let done: number;
  let total: number;
  /** Progress of a point as a fraction of the run. */
  let frac: (p: SeriesPoint) => number;
  if (totalEpochs !== undefined) {
    unit = 'epoch';
    total = totalEpochs;
    const base = minEpoch === 0 ? 1 : 0; // 0-based epochs: epoch 2 in progress is the third
    done = Number.isFinite(maxEpoch) ? Math.min(total, Math.floor(maxEpoch) + base) : 0;
    // Within an epoch: steps per epoch from the step at which the current epoch began.
    const completed = Number.isFinite(maxEpoch) ? Math.floor(maxEpoch) + base - 1 : 0;
    const began = completed > 0 ? pts.find((p) => Number.isFinite(p.epoch) && p.epoch >= Math.floor(maxEpoch)) : undefined;
    const stepsPerEpoch = began !== undefined && began.step > 0 ? began.step / completed : undefined;
    frac = (p) =>
      stepsPerEpoch !== undefined && stepsPerEpoch > 0
        ? p.step / (stepsPerEpoch * total)
        : Number.isFinite(p.epoch)
          ? (p.epoch + base - 1) / total
          : NaN;
  } else {
    unit = 'step';
    total = totalSteps!;
    done = Math.min(total, maxStep + 1);
    frac = (p) => (p.step + 1) / total;
  }
  let etaSeconds: number | null = null;
  if (running && pts.length >= 2) {
    const last = pts[pts.length - 1]!;
    const from = pts[Math.max(0, Math.min(pts.length - 2, Math.floor(pts.length * 0.75)))]!;
    const df = frac(last) - frac(from);
    const dt = last.t - from.t;
    if (Number.isFinite(df) && df > 0 && dt > 0) etaSeconds = Math.max(0, ((1 - frac(last)) / df) * dt);
  }
  return { unit, done, total, etaSeconds };
}

/** "2m 05s", "1h 12m", "45s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** "epoch 3/10, ETA 2m 05s" */
export function formatProgress(p: CurveProgress): string {
  const head = `${p.unit} ${p.done}/${p.total}`;
  return p.etaSeconds === null ? head : `${head}, ETA ${formatDuration(p.etaSeconds)}`;
}

/** A metric value in few characters: 0.4312, 1.2e-5, 12345, NaN. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '-∞';
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2);
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(4)));
}
