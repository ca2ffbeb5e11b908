// Series as the curves panel receives them (src/protocol/curves.ts): snapshots and deltas from the store's
// SeriesSets. Pure: unit-tested. One DeltaTracker per panel remembers what it sent of each series.
import { curveSeriesId, type CurvePoints, type CurveSeries } from '../../protocol/curves';
import type { Series, SeriesPoint, SeriesSet } from '../format/series';

export function toWire(points: SeriesPoint[]): CurvePoints {
  const out: CurvePoints = { step: [], t: [], epoch: [], value: [] };
  for (const p of points) {
    out.step.push(p.step);
    out.t.push(Number.isFinite(p.t) ? p.t : null);
    out.epoch.push(Number.isFinite(p.epoch) ? p.epoch : null);
    const v = p.value;
    out.value.push(Number.isFinite(v) ? v : Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity');
  }
  return out;
}

/** The points of a series not yet committed: what points() adds after committed(). */
function tailOf(s: Series): SeriesPoint[] {
  return s.points().slice(s.length);
}

interface Sent {
  generation: number;
  resets: number;
  length: number;
}

export class DeltaTracker {
  private readonly sent = new Map<string, Sent>();

  /** Forget everything (a snapshot is being sent). */
  clear(): void {
    this.sent.clear();
  }

  /**
   * The series of one run that changed since the last call: new committed points only, or everything again when
   * the series' generation or the run's reset count changed. `all`: include unchanged series (snapshot).
   */
  collect(run: string, set: SeriesSet, resets: number, all: boolean): CurveSeries[] {
    const out: CurveSeries[] = [];
    for (const e of set.entries()) {
      const id = curveSeriesId(run, e.split, e.metric);
      const s = e.series;
      const prev = this.sent.get(id);
      const full = all || prev === undefined || prev.generation !== s.generation || prev.resets !== resets;
      const from = full ? 0 : prev.length;
      if (!full && from === s.length && prev.length === s.length && (this.counts.get(id) ?? -1) === s.stats.count) continue;
      out.push({
        id,
        run,
        metric: e.metric,
        split: e.split ?? null,
        count: s.stats.count,
        from,
        committed: toWire(s.committed(from)),
        tail: toWire(tailOf(s)),
      });
      this.sent.set(id, { generation: s.generation, resets, length: s.length });
      this.counts.set(id, s.stats.count);
    }
    return out;
  }

  private readonly counts = new Map<string, number>();
}
