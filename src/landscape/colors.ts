// Colour scale of the heat map and the surface: viridis (perceptually uniform, readable in dark and light themes and
// for colour-blind readers), sampled at 9 stops and interpolated. Pure.

const VIRIDIS: readonly [number, number, number][] = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37],
];

/** RGB (0-255) at t in [0, 1] (clamped; NaN gives grey). */
export function viridis(t: number): [number, number, number] {
  if (Number.isNaN(t)) return [128, 128, 128];
  const x = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const k = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - k;
  const a = VIRIDIS[k]!;
  const b = VIRIDIS[k + 1]!;
  return [Math.round(a[0] + (b[0] - a[0]) * f), Math.round(a[1] + (b[1] - a[1]) * f), Math.round(a[2] + (b[2] - a[2]) * f)];
}

/**
 * Maps values to [0, 1] between the finite min and max, linearly or on a log scale of (v - min) (the same choice as
 * the contour levels, so colours and lines agree).
 */
export function makeNormalizer(values: ArrayLike<number>, log: boolean): { min: number; max: number; norm(v: number): number } {
  let min = Infinity;
  let max = -Infinity;
  for (let k = 0; k < values.length; k++) {
    const v = values[k]!;
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!(max > min)) {
    const c = Number.isFinite(min) ? min : 0;
    return { min: c, max: c, norm: (v) => (Number.isNaN(v) ? NaN : 0.5) };
  }
  const span = max - min;
  if (!log) return { min, max, norm: (v) => (Number.isNaN(v) ? NaN : v === Infinity ? 1 : (v - min) / span) };
  const eps = span * 1e-3;
  const a = Math.log(eps);
  const b = Math.log(span + eps);
  return { min, max, norm: (v) => (Number.isNaN(v) ? NaN : v === Infinity ? 1 : (Math.log(Math.max(0, v - min) + eps) - a) / (b - a)) };
}
