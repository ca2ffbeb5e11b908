// Bounded series for charts: every point is kept up to a cap, then the series is decimated by min/max buckets, so a
// run of a million steps stays a few thousand points to draw while spikes (and NaN / infinities) stay visible.
import type { MetricRecord } from '../../protocol/runFormat';

export const DEFAULT_SERIES_CAP = 8192;

export interface SeriesPoint {
  step: number;
  /** Unix seconds, NaN when unknown. */
  t: number;
  /** NaN when unknown. */
  epoch: number;
  value: number;
}

export interface SeriesStats {
  /** Points added, before decimation. */
  count: number;
  /** The last point added, exactly. */
  last: SeriesPoint | undefined;
  /** Smallest and largest finite value so far (undefined before the first finite one), with their steps. */
  min: { value: number; step: number } | undefined;
  max: { value: number; step: number } | undefined;
  /** Points whose value was NaN or infinite, and the first of them. */
  nonFinite: number;
  firstNonFinite: SeriesPoint | undefined;
}

/**
 * One series (a metric in a split). Points are committed in buckets: raw until `cap` points, then each compaction
 * merges groups of four points into their min and max (in step order), halving the count, and later points are
 * gathered in buckets of the same width (doubled at each compaction). A bucket holding a NaN or infinity keeps it in
 * place of its max. `committed()` never exceeds `cap` points; the bucket being filled is not in it, but `last`
 * always is exact.
 *
 * For deltas to a chart: points [from, length) are new since a reader saw `length` points, unless `generation`
 * changed (a compaction rewrote the past), in which case it needs the whole series again.
 */
export class Series {
  private steps: Float64Array;
  private times: Float64Array;
  private epochs: Float64Array;
  private vals: Float64Array;
  private n = 0;
  /** Raw points per committed bucket (1 before the first compaction). */
  private width = 1;
  private pending: SeriesPoint[] = [];
  private gen = 0;
  readonly stats: SeriesStats = {
    count: 0,
    last: undefined,
    min: undefined,
    max: undefined,
    nonFinite: 0,
    firstNonFinite: undefined,
  };

  constructor(readonly cap = DEFAULT_SERIES_CAP) {
    // A multiple of 4 so that groups of four never straddle the end; at least 8 so compaction makes progress.
    this.cap = Math.max(8, cap - (cap % 4));
    this.steps = new Float64Array(this.cap);
    this.times = new Float64Array(this.cap);
    this.epochs = new Float64Array(this.cap);
    this.vals = new Float64Array(this.cap);
  }

  /** Committed points. */
  get length(): number {
    return this.n;
  }

  /** Raises at each compaction. */
  get generation(): number {
    return this.gen;
  }

  /** Raw points per bucket now. */
  get bucketWidth(): number {
    return this.width;
  }

  add(step: number, value: number, t = NaN, epoch = NaN): void {
    const p: SeriesPoint = { step, t, epoch, value };
    const s = this.stats;
    s.count++;
    s.last = p;
    if (Number.isFinite(value)) {
      if (s.min === undefined || value < s.min.value) s.min = { value, step };
      if (s.max === undefined || value > s.max.value) s.max = { value, step };
    } else {
      s.nonFinite++;
      s.firstNonFinite ??= p;
    }
    if (this.width === 1) {
      this.commit(p);
      return;
    }
    this.pending.push(p);
    if (this.pending.length >= this.width) {
      const [a, b] = extremes(0, this.pending.length, (i) => this.pending[i]!.value);
      this.commit(this.pending[a]!);
      if (b !== a) this.commit(this.pending[b]!);
      this.pending = [];
    }
  }

  /** Committed points [from, to). */
  committed(from = 0, to = this.n): SeriesPoint[] {
    const out: SeriesPoint[] = [];
    for (let i = Math.max(0, from); i < Math.min(to, this.n); i++) {
      out.push({ step: this.steps[i]!, t: this.times[i]!, epoch: this.epochs[i]!, value: this.vals[i]! });
    }
    return out;
  }

  /** What to draw: committed points, then the extremes of the bucket being filled, then the exact last point. */
  points(): SeriesPoint[] {
    const out = this.committed();
    if (this.pending.length > 0) {
      const [a, b] = extremes(0, this.pending.length, (i) => this.pending[i]!.value);
      const last = this.pending.length - 1;
      for (const i of new Set([a, b, last].sort((x, y) => x - y))) out.push(this.pending[i]!);
    }
    return out;
  }

  private commit(p: SeriesPoint): void {
    if (this.n === this.cap) this.compact();
    const i = this.n++;
    this.steps[i] = p.step;
    this.times[i] = p.t;
    this.epochs[i] = p.epoch;
    this.vals[i] = p.value;
  }

  /** Each group of four committed points becomes its min and max: half the points, twice the bucket width. */
  private compact(): void {
    const vals = this.vals;
    let w = 0;
    for (let g = 0; g + 4 <= this.n; g += 4) {
      const [a, b] = extremes(g, g + 4, (i) => vals[i]!);
      this.move(a, w++);
      if (b !== a) this.move(b, w++);
    }
    this.n = w;
    this.width = this.width === 1 ? 4 : this.width * 2;
    this.gen++;
  }

  private move(from: number, to: number): void {
    this.steps[to] = this.steps[from]!;
    this.times[to] = this.times[from]!;
    this.epochs[to] = this.epochs[from]!;
    this.vals[to] = this.vals[from]!;
  }
}

/**
 * Indices (ascending) of the min and the max value in [from, to); a NaN or infinity takes the max's place so it is
 * never decimated away. Equal indices when the range has one distinct extreme.
 */
function extremes(from: number, to: number, value: (i: number) => number): [number, number] {
  let lo = -1;
  let hi = -1;
  let odd = -1;
  for (let i = from; i < to; i++) {
    const v = value(i);
    if (!Number.isFinite(v)) {
      if (odd < 0) odd = i;
      continue;
    }
    if (lo < 0 || v < value(lo)) lo = i;
    if (hi < 0 || v > value(hi)) hi = i;
  }
  if (odd >= 0) hi = odd;
  if (lo < 0) lo = hi;
  return lo <= hi ? [lo, hi] : [hi, lo];
}

/** Key of a series: metric and split ("" for none). */
export function seriesKey(metric: string, split: string | undefined): string {
  return `${split ?? ''}\u0000${metric}`;
}

/** All series of a run, fed with records from any reader. */
export class SeriesSet {
  private readonly map = new Map<string, { metric: string; split: string | undefined; series: Series }>();

  constructor(private readonly cap = DEFAULT_SERIES_CAP) {}

  addRecord(r: MetricRecord): void {
    const t = r.t ?? NaN;
    const epoch = r.epoch ?? NaN;
    for (const metric in r.values) this.get(metric, r.split).add(r.step, r.values[metric]!, t, epoch);
  }

  get(metric: string, split: string | undefined): Series {
    const key = seriesKey(metric, split);
    let entry = this.map.get(key);
    if (entry === undefined) {
      entry = { metric, split, series: new Series(this.cap) };
      this.map.set(key, entry);
    }
    return entry.series;
  }

  find(metric: string, split: string | undefined): Series | undefined {
    return this.map.get(seriesKey(metric, split))?.series;
  }

  entries(): { metric: string; split: string | undefined; series: Series }[] {
    return [...this.map.values()];
  }
}
