// The 2D view of a landscape on a canvas: heat map (viridis), contour lines from marching squares with labelled
// levels, the training path (PCA) with epoch labels, the minimum and the model itself marked, axes and a colour bar.
import { makeNormalizer, viridis } from '../../src/landscape/colors';
import { contourAll, contourLevels, formatLevel, labelPlacement } from '../../src/landscape/contours';
import { axisPoints, gridValues, type LandscapeResult } from '../../src/protocol/landscape';
import { cssVar } from '../common/theme';
import { preparedCanvas } from './canvas';

export interface Plot2dOptions {
  metric: 'loss' | 'accuracy';
  levels: number;
  log: boolean;
}

export interface Plot2dStats {
  lines: number;
  labels: number;
  levels: number[];
  /** Device pixels of the plot area (the heat map fills it). */
  plotPixels: number;
}

const MARGIN = { left: 52, right: 74, top: 12, bottom: 40 };

function ticks(min: number, max: number, count: number): number[] {
  const span = max - min;
  if (!(span > 0)) return [min];
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(min / step - 1e-9) * step; v <= max + 1e-9 * step; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

/** Draws the 2D plot; returns what was drawn (for tests). */
export function drawPlot2d(canvas: HTMLCanvasElement, r: LandscapeResult, o: Plot2dOptions): Plot2dStats {
  const { ctx, cssW, cssH, dpr } = preparedCanvas(canvas);
  const fg = cssVar('--vscode-foreground', '#ccc');
  const muted = cssVar('--vscode-descriptionForeground', '#999');
  const font = cssVar('--vscode-font-family', 'sans-serif');

  const grid = o.metric === 'accuracy' && r.metrics.accuracy ? r.metrics.accuracy : r.metrics.loss;
  const values = gridValues(grid);
  const xs = axisPoints(r.grid.x);
  const ys = r.grid.y ? axisPoints(r.grid.y) : [0];
  const nx = xs.length;
  const ny = ys.length;
  const xmin = xs[0]!;
  const xmax = xs[nx - 1]!;
  const ymin = ys[0]!;
  const ymax = ys[ny - 1]!;
  // Equal scales on both axes (a round bowl looks round), centred in the space there is.
  const availW = cssW - MARGIN.left - MARGIN.right;
  const availH = cssH - MARGIN.top - MARGIN.bottom;
  const aspect = ymax > ymin && xmax > xmin ? (xmax - xmin) / (ymax - ymin) : availW / availH;
  const w = Math.min(availW, availH * aspect);
  const h = w / aspect;
  const x0 = MARGIN.left + (availW - w) / 2;
  const y0 = MARGIN.top + (availH - h) / 2;
  const px = (x: number) => x0 + ((x - xmin) / (xmax - xmin || 1)) * w;
  const py = (y: number) => y0 + h - ((y - ymin) / (ymax - ymin || 1)) * h;

  // Heat map: one pixel per grid point, scaled up with smoothing; a half-cell border so points sit at cell centres.
  const norm = makeNormalizer(values, o.log && o.metric === 'loss');
  const img = new ImageData(nx, ny);
  for (let j = 0; j < ny; j++) {
    for (let i = 0; i < nx; i++) {
      const v = values[j * nx + i]!;
      const k = ((ny - 1 - j) * nx + i) * 4;
      if (Number.isNaN(v)) continue; // not computed yet: transparent
      const [cr, cg, cb] = viridis(norm.norm(v));
      img.data[k] = cr;
      img.data[k + 1] = cg;
      img.data[k + 2] = cb;
      img.data[k + 3] = 255;
    }
  }
  const off = document.createElement('canvas');
  off.width = nx;
  off.height = ny;
  off.getContext('2d')!.putImageData(img, 0, 0);
  const cw = w / Math.max(1, nx - 1);
  const ch = h / Math.max(1, ny - 1);
  ctx.save();
  ctx.beginPath();
  ctx.rect(x0, y0, w, h);
  ctx.clip();
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(off, x0 - cw / 2, y0 - ch / 2, w + cw, h + ch);

  // Contours, labelled once per line where the line is long enough to carry its label.
  const levels = contourLevels(values, o.levels, o.log && o.metric === 'loss');
  const lines = contourAll({ values, xs, ys }, levels);
  ctx.lineWidth = 1.1;
  ctx.strokeStyle = 'rgba(255,255,255,0.85)';
  for (const line of lines) {
    ctx.beginPath();
    line.points.forEach(([x, y], k) => (k === 0 ? ctx.moveTo(px(x), py(y)) : ctx.lineTo(px(x), py(y))));
    ctx.stroke();
  }
  let labels = 0;
  ctx.font = `10px ${font}`;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  const sx = w / (xmax - xmin || 1);
  const sy = h / (ymax - ymin || 1);
  const labelled = new Set<number>();
  const boxes: [number, number, number, number][] = [];
  for (const line of [...lines].sort((a, b) => b.points.length - a.points.length)) {
    if (labelled.has(line.level)) continue;
    const at = labelPlacement(line.points, sx, sy, 60);
    if (!at) continue;
    const text = formatLevel(line.level);
    // No label over another one: where the levels crowd (near a sharp minimum) only some are written.
    const half = ctx.measureText(text).width / 2 + 4;
    const box: [number, number, number, number] = [px(at.x) - half, py(at.y) - 9, px(at.x) + half, py(at.y) + 9];
    if (boxes.some((b) => b[0] < box[2] && box[0] < b[2] && b[1] < box[3] && box[1] < b[3])) continue;
    boxes.push(box);
    labelled.add(line.level);
    ctx.save();
    ctx.translate(px(at.x), py(at.y));
    ctx.rotate(-at.angle);
    const tw = ctx.measureText(text).width + 4;
    ctx.fillStyle = 'rgba(0,0,0,0.55)';
    ctx.fillRect(-tw / 2, -6, tw, 12);
    ctx.fillStyle = '#fff';
    ctx.fillText(text, 0, 0);
    ctx.restore();
    labels++;
  }

  // The training path (PCA): checkpoints in order, labelled (thinned when there are many).
  if (r.path && r.path.x.length > 0) {
    const p = r.path;
    ctx.strokeStyle = '#ff6b6b';
    ctx.fillStyle = '#ff6b6b';
    ctx.lineWidth = 2;
    ctx.beginPath();
    p.x.forEach((x, k) => (k === 0 ? ctx.moveTo(px(x), py(p.y[k]!)) : ctx.lineTo(px(x), py(p.y[k]!))));
    ctx.stroke();
    const every = Math.max(1, Math.ceil(p.x.length / 8));
    ctx.font = `11px ${font}`;
    ctx.textAlign = 'left';
    p.x.forEach((x, k) => {
      ctx.beginPath();
      ctx.arc(px(x), py(p.y[k]!), 3, 0, 2 * Math.PI);
      ctx.fill();
      const text = p.labels[k] ?? '';
      const bx0 = px(x) + 5;
      const by0 = py(p.y[k]!) - 7;
      const box: [number, number, number, number] = [bx0, by0 - 10, bx0 + ctx.measureText(text).width, by0 + 3];
      // Every few checkpoints, the last one always; none over a label already written.
      const wanted = k % every === 0 || k === p.x.length - 1;
      if (wanted && (k === p.x.length - 1 || !boxes.some((b) => b[0] < box[2] && box[0] < b[2] && b[1] < box[3] && box[1] < b[3]))) {
        boxes.push(box);
        ctx.lineWidth = 3;
        ctx.strokeStyle = 'rgba(0,0,0,0.7)';
        ctx.strokeText(p.labels[k] ?? '', px(x) + 5, py(p.y[k]!) - 7);
        ctx.fillText(p.labels[k] ?? '', px(x) + 5, py(p.y[k]!) - 7);
      }
    });
  }
  // The model itself (the origin of the directions) and the lowest point found.
  const marker = (x: number, y: number, colour: string, label: string, shape: 'cross' | 'circle', above = false) => {
    ctx.strokeStyle = colour;
    ctx.lineWidth = 2;
    ctx.beginPath();
    if (shape === 'cross') {
      ctx.moveTo(px(x) - 6, py(y) - 6);
      ctx.lineTo(px(x) + 6, py(y) + 6);
      ctx.moveTo(px(x) + 6, py(y) - 6);
      ctx.lineTo(px(x) - 6, py(y) + 6);
    } else {
      ctx.arc(px(x), py(y), 6, 0, 2 * Math.PI);
    }
    ctx.stroke();
    ctx.font = `11px ${font}`;
    // The model's label above-left, the minimum's below-right: they often mark the same point.
    ctx.textAlign = above ? 'right' : 'left';
    const lx = px(x) + (above ? -8 : 8);
    const ly = py(y) + (above ? -10 : 12);
    ctx.lineWidth = 3;
    ctx.strokeStyle = 'rgba(0,0,0,0.7)';
    ctx.strokeText(label, lx, ly);
    ctx.fillStyle = colour;
    ctx.fillText(label, lx, ly);
  };
  if (r.directions.kind !== 'pca') marker(0, 0, '#ffffff', 'model', 'circle', true);
  if (r.minimum) marker(r.minimum.x, r.minimum.y, '#ff4d4d', `min ${formatLevel(r.minimum.loss)}`, 'cross');
  ctx.restore();

  // Axes.
  ctx.strokeStyle = muted;
  ctx.lineWidth = 1;
  ctx.strokeRect(x0, y0, w, h);
  ctx.fillStyle = fg;
  ctx.font = `11px ${font}`;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const t of ticks(xmin, xmax, 6)) ctx.fillText(formatLevel(t), px(t), y0 + h + 4);
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const t of ticks(ymin, ymax, 6)) ctx.fillText(formatLevel(t), x0 - 4, py(t));
  const ev = r.directions.explainedVariance;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'bottom';
  ctx.fillText(r.directions.kind === 'pca' ? `PC 1${ev?.[0] !== undefined ? ` (${(ev[0] * 100).toFixed(0)}% of the variance)` : ''}` : 'direction 1', x0 + w / 2, y0 + h + 34);
  ctx.save();
  ctx.translate(x0 - 40, y0 + h / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = 'middle';
  ctx.fillText(r.directions.kind === 'pca' ? `PC 2${ev?.[1] !== undefined ? ` (${(ev[1] * 100).toFixed(0)}%)` : ''}` : 'direction 2', 0, 0);
  ctx.restore();

  // Colour bar with the level marks.
  const bx = x0 + w + 16;
  const bw = 12;
  for (let k = 0; k < h; k++) {
    const [cr, cg, cb] = viridis(1 - k / (h - 1));
    ctx.fillStyle = `rgb(${cr},${cg},${cb})`;
    ctx.fillRect(bx, y0 + k, bw, 1.5);
  }
  ctx.strokeStyle = muted;
  ctx.strokeRect(bx, y0, bw, h);
  ctx.fillStyle = fg;
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  if (Number.isFinite(norm.max)) {
    ctx.fillText(formatLevel(norm.max), bx + bw + 4, y0 + 4);
    ctx.fillText(formatLevel(norm.min), bx + bw + 4, y0 + h - 4);
    for (const l of levels.filter((_, k) => k % Math.ceil(levels.length / 6) === 0)) {
      const t = norm.norm(l);
      ctx.fillRect(bx - 3, y0 + h - t * h, 3, 1);
    }
  }
  ctx.save();
  ctx.translate(Math.min(cssW - 6, bx + bw + 62), y0 + h / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'bottom';
  ctx.fillText(o.metric === 'accuracy' ? 'accuracy' : `loss${o.log ? ' (log levels)' : ''}`, 0, 0);
  ctx.restore();
  return { lines: lines.length, labels, levels, plotPixels: Math.round(w * h * dpr * dpr) };
}
