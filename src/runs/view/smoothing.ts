// TensorBoard's smoothing: an exponential moving average, debiased so the first points are not pulled towards 0.
// Shared by the curves webview and the unit tests. Non-finite values pass through (a NaN stays visible as a gap)
// and do not enter the average.

/** weight in [0, 1): 0 = no smoothing, 0.99 = very smooth. */
export function emaSmooth(values: readonly number[], weight: number): number[] {
  if (!(weight > 0)) return values.slice();
  const w = Math.min(weight, 0.999);
  const out = new Array<number>(values.length);
  let last = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) {
      out[i] = v;
      continue;
    }
    last = last * w + (1 - w) * v;
    n++;
    out[i] = last / (1 - w ** n);
  }
  return out;
}
