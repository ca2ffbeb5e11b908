// A bounded history of GPU utilisation for the report's sparkline: a fixed time window, oldest first.
import type { GpuHistoryPoint, GpuReading } from '../protocol/environment';

export class GpuHistory {
  private readonly points: GpuHistoryPoint[] = [];

  constructor(
    private readonly windowMs = 5 * 60_000,
    private readonly maxPoints = 600,
  ) {}

  /** Adds a reading and returns its point; readings without GPUs add nothing. */
  add(reading: GpuReading): GpuHistoryPoint | undefined {
    if (reading.status !== 'ok' || reading.gpus.length === 0) return undefined;
    const point: GpuHistoryPoint = { at: reading.at, utilization: reading.gpus.map((g) => g.utilizationPercent) };
    this.points.push(point);
    const cutoff = reading.at - this.windowMs;
    let drop = 0;
    while (drop < this.points.length && (this.points[drop]!.at < cutoff || this.points.length - drop > this.maxPoints)) drop++;
    if (drop > 0) this.points.splice(0, drop);
    return point;
  }

  snapshot(): GpuHistoryPoint[] {
    return this.points.slice();
  }
}
