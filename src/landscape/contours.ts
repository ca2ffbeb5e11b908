// Contour lines of a grid by marching squares, joined into polylines (closed where they close), with levels that
// read well (linear or log-spaced) and one label position per line. Pure: used by the webview (drawing) and tests.

export interface ContourGrid {
  /** Row-major values, values[j * nx + i] at (xs[i], ys[j]); NaN where unknown (no line crosses such a cell). */
  values: ArrayLike<number>;
  xs: readonly number[];
  ys: readonly number[];
}

export interface ContourLine {
  level: number;
  /** Points in data coordinates; closed lines end with their first point. */
  points: [number, number][];
  closed: boolean;
}

/**
 * `n` levels strictly between the finite minimum and maximum of the values: evenly spaced, or log-spaced (between
 * min and max after shifting so that min maps to a small positive number: loss surfaces are bowls with a long
 * tail, where equal steps put every line on the walls).
 */
export function contourLevels(values: ArrayLike<number>, n: number, log: boolean): number[] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let k = 0; k < values.length; k++) {
    const v = values[k]!;
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!(hi > lo) || n < 1) return [];
  const levels: number[] = [];
  if (log) {
    // Offset so the lowest level sits a little above the minimum even when the minimum is 0 or negative.
    const eps = (hi - lo) * 1e-3;
    const a = Math.log(eps);
    const b = Math.log(hi - lo);
    for (let k = 1; k <= n; k++) levels.push(lo + Math.exp(a + ((b - a) * k) / (n + 1)));
  } else {
    for (let k = 1; k <= n; k++) levels.push(lo + ((hi - lo) * k) / (n + 1));
  }
  return levels;
}

/** A short label for a level: 3 significant digits, no exponent for ordinary sizes. */
export function formatLevel(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1);
  return Number(v.toPrecision(3)).toString();
}

type Pt = [number, number];

/**
 * Marching squares for one level. Each cell's corners are classified above / below; edges crossed get a point by
 * linear interpolation; the ambiguous saddle cases are resolved by the cell's centre value. Segments are then
 * joined through their shared edge points into polylines.
 */
export function contourLines(grid: ContourGrid, level: number): ContourLine[] {
  const { values, xs, ys } = grid;
  const nx = xs.length;
  const ny = ys.length;
  // Edge ids: horizontal edge (i,j)-(i+1,j): 2*(j*nx+i); vertical edge (i,j)-(i,j+1): 2*(j*nx+i)+1.
  const pointOf = new Map<number, Pt>();
  const segments: [number, number][] = [];
  const v = (i: number, j: number) => values[j * nx + i]!;
  const edgePoint = (id: number): Pt => {
    let p = pointOf.get(id);
    if (p) return p;
    const base = id >> 1;
    const i = base % nx;
    const j = Math.floor(base / nx);
    const [i2, j2] = id & 1 ? [i, j + 1] : [i + 1, j];
    const a = v(i, j);
    const b = v(i2, j2);
    const t = a === b ? 0.5 : (level - a) / (b - a);
    p = [xs[i]! + (xs[i2]! - xs[i]!) * t, ys[j]! + (ys[j2]! - ys[j]!) * t];
    pointOf.set(id, p);
    return p;
  };
  for (let j = 0; j + 1 < ny; j++) {
    for (let i = 0; i + 1 < nx; i++) {
      const a = v(i, j); // bottom-left
      const b = v(i + 1, j); // bottom-right
      const c = v(i + 1, j + 1); // top-right
      const d = v(i, j + 1); // top-left
      if (!(Number.isFinite(a) && Number.isFinite(b) && Number.isFinite(c) && Number.isFinite(d))) continue;
      const code = (a > level ? 1 : 0) | (b > level ? 2 : 0) | (c > level ? 4 : 0) | (d > level ? 8 : 0);
      if (code === 0 || code === 15) continue;
      const bottom = 2 * (j * nx + i);
      const top = 2 * ((j + 1) * nx + i);
      const left = 2 * (j * nx + i) + 1;
      const right = 2 * (j * nx + i + 1) + 1;
      const centreAbove = (a + b + c + d) / 4 > level;
      switch (code) {
        case 1: case 14: segments.push([left, bottom]); break;
        case 2: case 13: segments.push([bottom, right]); break;
        case 3: case 12: segments.push([left, right]); break;
        case 4: case 11: segments.push([right, top]); break;
        case 6: case 9: segments.push([bottom, top]); break;
        case 7: case 8: segments.push([left, top]); break;
        case 5: // a and c above: saddle
          if (centreAbove) segments.push([left, top], [bottom, right]);
          else segments.push([left, bottom], [right, top]);
          break;
        case 10: // b and d above: saddle
          if (centreAbove) segments.push([left, bottom], [right, top]);
          else segments.push([left, top], [bottom, right]);
          break;
      }
    }
  }
  return joinSegments(segments, level, edgePoint);
}

function joinSegments(segments: [number, number][], level: number, point: (id: number) => Pt): ContourLine[] {
  // Each edge point is shared by at most two segments (one per adjacent cell).
  const byEnd = new Map<number, number[]>();
  segments.forEach(([p, q], s) => {
    for (const e of [p, q]) {
      const list = byEnd.get(e);
      if (list) list.push(s);
      else byEnd.set(e, [s]);
    }
  });
  const used = new Uint8Array(segments.length);
  const next = (end: number, from: number): number | undefined => byEnd.get(end)?.find((s) => s !== from && !used[s]);
  const lines: ContourLine[] = [];
  for (let s0 = 0; s0 < segments.length; s0++) {
    if (used[s0]) continue;
    used[s0] = 1;
    const ids: number[] = [segments[s0]![0], segments[s0]![1]];
    // Walk forward from the last end, then backward from the first.
    for (let s = s0, end = ids[1]!; ; ) {
      const n = next(end, s);
      if (n === undefined) break;
      used[n] = 1;
      const [p, q] = segments[n]!;
      end = p === end ? q : p;
      ids.push(end);
      s = n;
    }
    const closed = ids.length > 2 && ids[0] === ids[ids.length - 1];
    if (!closed) {
      for (let s = s0, end = ids[0]!; ; ) {
        const n = next(end, s);
        if (n === undefined) break;
        used[n] = 1;
        const [p, q] = segments[n]!;
        end = p === end ? q : p;
        ids.unshift(end);
        s = n;
      }
    }
    lines.push({ level, points: ids.map((id) => point(id)), closed });
  }
  return lines;
}

/** Every level's lines. */
export function contourAll(grid: ContourGrid, levels: readonly number[]): ContourLine[] {
  return levels.flatMap((l) => contourLines(grid, l));
}

/** Length of a polyline in the units given by `scale` (e.g. pixels per data unit on each axis). */
export function polylineLength(points: readonly Pt[], sx = 1, sy = 1): number {
  let len = 0;
  for (let k = 1; k < points.length; k++) len += Math.hypot((points[k]![0] - points[k - 1]![0]) * sx, (points[k]![1] - points[k - 1]![1]) * sy);
  return len;
}

/**
 * Where to write a line's label: the point halfway along it, with the direction of the line there (radians, turned
 * so text is never upside down). Undefined for lines too short to carry a label of `minLength`.
 */
export function labelPlacement(points: readonly Pt[], sx: number, sy: number, minLength: number): { x: number; y: number; angle: number } | undefined {
  const total = polylineLength(points, sx, sy);
  if (total < minLength || points.length < 2) return undefined;
  let walked = 0;
  for (let k = 1; k < points.length; k++) {
    const [x0, y0] = points[k - 1]!;
    const [x1, y1] = points[k]!;
    const seg = Math.hypot((x1 - x0) * sx, (y1 - y0) * sy);
    if (walked + seg >= total / 2 && seg > 0) {
      const t = (total / 2 - walked) / seg;
      let angle = Math.atan2((y1 - y0) * sy, (x1 - x0) * sx);
      if (angle > Math.PI / 2) angle -= Math.PI;
      if (angle < -Math.PI / 2) angle += Math.PI;
      return { x: x0 + (x1 - x0) * t, y: y0 + (y1 - y0) * t, angle };
    }
    walked += seg;
  }
  return undefined;
}
