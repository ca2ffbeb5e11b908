// A small 3D surface renderer on a 2D canvas (no 3D library: the webview bundle stays small): the grid's quads are
// projected with a rotation (yaw, pitch) and a perspective, sorted back to front (painter's algorithm), coloured by
// height (viridis) and shaded by the angle between their normal and a light. Drag to rotate, wheel to zoom.
import { makeNormalizer, viridis } from '../../src/landscape/colors';
import { axisPoints, gridValues, type LandscapeResult } from '../../src/protocol/landscape';
import { cssVar } from '../common/theme';
import { preparedCanvas } from './canvas';

export interface SurfaceView {
  yaw: number;
  pitch: number;
  zoom: number;
}

export const DEFAULT_VIEW: SurfaceView = { yaw: -0.7, pitch: 0.75, zoom: 1 };

/** Draws the surface; returns the number of quads drawn. */
export function drawSurface(canvas: HTMLCanvasElement, r: LandscapeResult, metric: 'loss' | 'accuracy', log: boolean, view: SurfaceView): number {
  const { ctx, cssW, cssH } = preparedCanvas(canvas);
  const grid = metric === 'accuracy' && r.metrics.accuracy ? r.metrics.accuracy : r.metrics.loss;
  const values = gridValues(grid);
  const xs = axisPoints(r.grid.x);
  const ys = r.grid.y ? axisPoints(r.grid.y) : [0];
  const nx = xs.length;
  const ny = ys.length;
  if (nx < 2 || ny < 2) return 0;
  const norm = makeNormalizer(values, log && metric === 'loss');
  // Model space: x, y in [-1, 1], height in [0, 0.9].
  const X = (i: number) => (2 * i) / (nx - 1) - 1;
  const Y = (j: number) => (2 * j) / (ny - 1) - 1;
  const Z = (v: number) => 0.9 * Math.min(1, Math.max(0, norm.norm(v)));
  const cy = Math.cos(view.yaw);
  const sy = Math.sin(view.yaw);
  const cp = Math.cos(view.pitch);
  const sp = Math.sin(view.pitch);
  const scale = Math.min(cssW, cssH) * 0.36 * view.zoom;
  const camera = 4;
  // Rotate about the vertical axis, then tilt; returns screen x, y and depth (larger = farther).
  const project = (x: number, y: number, z: number): [number, number, number] => {
    const rx = x * cy - y * sy;
    const ry = x * sy + y * cy;
    const zc = z - 0.45;
    const depth = ry * cp + zc * sp;
    const up = zc * cp - ry * sp;
    const f = camera / (camera + depth);
    return [cssW / 2 + rx * scale * f, cssH / 2 + 20 - up * scale * f, depth];
  };
  const light = normalize([0.4, -0.5, 0.8]);
  type Quad = { pts: [number, number][]; depth: number; colour: string };
  const quads: Quad[] = [];
  for (let j = 0; j + 1 < ny; j++) {
    for (let i = 0; i + 1 < nx; i++) {
      const v = [values[j * nx + i]!, values[j * nx + i + 1]!, values[(j + 1) * nx + i + 1]!, values[(j + 1) * nx + i]!];
      if (v.some((a) => Number.isNaN(a))) continue;
      const corners: [number, number, number][] = [
        [X(i), Y(j), Z(v[0]!)],
        [X(i + 1), Y(j), Z(v[1]!)],
        [X(i + 1), Y(j + 1), Z(v[2]!)],
        [X(i), Y(j + 1), Z(v[3]!)],
      ];
      const p = corners.map((c) => project(c[0], c[1], c[2]));
      // Normal from the two diagonals; shading = ambient + diffuse.
      const d1 = sub(corners[2]!, corners[0]!);
      const d2 = sub(corners[3]!, corners[1]!);
      const n = normalize(cross(d1, d2));
      const shade = 0.45 + 0.55 * Math.abs(dot(n, light));
      const t = (norm.norm(v[0]!) + norm.norm(v[1]!) + norm.norm(v[2]!) + norm.norm(v[3]!)) / 4;
      const [cr, cg, cb] = viridis(Math.min(1, Math.max(0, t)));
      quads.push({
        pts: p.map((q) => [q[0], q[1]] as [number, number]),
        depth: (p[0]![2] + p[1]![2] + p[2]![2] + p[3]![2]) / 4,
        colour: `rgb(${Math.round(cr * shade)},${Math.round(cg * shade)},${Math.round(cb * shade)})`,
      });
    }
  }
  quads.sort((a, b) => b.depth - a.depth);
  const wire = nx <= 41;
  ctx.lineWidth = 0.5;
  for (const q of quads) {
    ctx.beginPath();
    ctx.moveTo(q.pts[0]![0], q.pts[0]![1]);
    for (let k = 1; k < 4; k++) ctx.lineTo(q.pts[k]![0], q.pts[k]![1]);
    ctx.closePath();
    ctx.fillStyle = q.colour;
    ctx.fill();
    // A thin outline of the same colour hides the seams between quads; darker when the grid is coarse enough to show.
    ctx.strokeStyle = wire ? 'rgba(0,0,0,0.25)' : q.colour;
    ctx.stroke();
  }
  // Base frame and axis names, so the orientation stays readable while rotating.
  ctx.strokeStyle = cssVar('--vscode-descriptionForeground', '#999');
  ctx.beginPath();
  const base = [project(-1, -1, 0), project(1, -1, 0), project(1, 1, 0), project(-1, 1, 0)];
  base.forEach((b, k) => (k === 0 ? ctx.moveTo(b[0], b[1]) : ctx.lineTo(b[0], b[1])));
  ctx.closePath();
  ctx.stroke();
  ctx.fillStyle = cssVar('--vscode-foreground', '#ccc');
  ctx.font = `11px ${cssVar('--vscode-font-family', 'sans-serif')}`;
  const [ax, ay] = project(1.15, -1, 0);
  const [bx, by] = project(-1, 1.15, 0);
  ctx.fillText(r.directions.kind === 'pca' ? 'PC 1' : 'direction 1', ax, ay);
  ctx.fillText(r.directions.kind === 'pca' ? 'PC 2' : 'direction 2', bx, by);
  return quads.length;
}

type V3 = [number, number, number];
const sub = (a: V3, b: V3): V3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const cross = (a: V3, b: V3): V3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const dot = (a: V3, b: V3) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
function normalize(a: V3): V3 {
  const l = Math.hypot(a[0], a[1], a[2]) || 1;
  return [a[0] / l, a[1] / l, a[2] / l];
}

/** Drag to rotate, wheel to zoom; `changed` redraws. */
export function attachOrbit(canvas: HTMLCanvasElement, view: SurfaceView, changed: () => void): void {
  let drag: { x: number; y: number; yaw: number; pitch: number } | undefined;
  canvas.addEventListener('pointerdown', (e) => {
    drag = { x: e.clientX, y: e.clientY, yaw: view.yaw, pitch: view.pitch };
    canvas.setPointerCapture(e.pointerId);
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!drag) return;
    view.yaw = drag.yaw + (e.clientX - drag.x) * 0.01;
    view.pitch = Math.min(1.5, Math.max(0.05, drag.pitch + (e.clientY - drag.y) * 0.01));
    changed();
  });
  const end = () => (drag = undefined);
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  canvas.addEventListener(
    'wheel',
    (e) => {
      e.preventDefault();
      view.zoom = Math.min(4, Math.max(0.3, view.zoom * Math.exp(-e.deltaY * 0.001)));
      changed();
    },
    { passive: false },
  );
}
