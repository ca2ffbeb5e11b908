// Value -> colour-table index. Counts use a log scale (at 1000 classes the diagonal is 100x the confusions, which a
// linear scale would hide); shares use a square root; differences are symmetric around the middle of a diverging
// table. The same functions give the legend's tick values.

export type ScaleKind = 'log' | 'sqrt' | 'diverging';

export interface Scale {
  kind: ScaleKind;
  /** Largest value (log), 1 (sqrt: shares), or largest absolute value (diverging). */
  max: number;
}

export function makeScale(kind: ScaleKind, values: ArrayLike<number>): Scale {
  if (kind === 'sqrt') return { kind, max: 1 };
  let max = 0;
  for (let i = 0; i < values.length; i++) {
    const v = Math.abs(values[i] as number);
    if (v > max) max = v;
  }
  return { kind, max: max > 0 ? max : 1 };
}

/** Fills `out` with table indices (0..255) for every value. */
export function colorIndices(values: ArrayLike<number>, scale: Scale, out: Uint8Array): void {
  const n = values.length;
  if (scale.kind === 'log') {
    const k = 254 / Math.log1p(scale.max);
    // Counts are integers: look small ones up in a table instead of a log1p per cell (a 1M-cell matrix is mostly
    // small counts); anything else is computed.
    const size = Math.min(65536, Math.floor(scale.max) + 1);
    const table = new Uint8Array(size);
    for (let v = 1; v < size; v++) table[v] = 1 + Math.round(Math.log1p(v) * k);
    for (let i = 0; i < n; i++) {
      const v = values[i] as number;
      out[i] = v < size && (v | 0) === v ? table[v]! : v > 0 ? 1 + Math.round(Math.log1p(v) * k) : 0;
    }
  } else if (scale.kind === 'sqrt') {
    for (let i = 0; i < n; i++) {
      const v = values[i] as number;
      out[i] = v > 0 ? 1 + Math.round(Math.sqrt(Math.min(1, v)) * 254) : 0;
    }
  } else {
    const k = 1 / scale.max;
    for (let i = 0; i < n; i++) {
      const v = (values[i] as number) * k;
      out[i] = 128 + Math.round(Math.sign(v) * Math.sqrt(Math.min(1, Math.abs(v))) * 127);
    }
  }
}

/** The value drawn at position t (0 = bottom of the legend, 1 = top). */
export function valueAt(scale: Scale, t: number): number {
  if (scale.kind === 'log') return Math.expm1(t * Math.log1p(scale.max));
  if (scale.kind === 'sqrt') return t * t;
  const s = 2 * t - 1;
  return Math.sign(s) * s * s * scale.max;
}

/** Table index of legend position t. */
export function indexAt(scale: Scale, t: number): number {
  if (scale.kind === 'diverging') return Math.round(t * 255);
  return t <= 0 ? 0 : 1 + Math.round(t * 254);
}
