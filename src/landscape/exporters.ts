// Exports of a landscape: CSV (x, y, loss, accuracy per grid point) and legacy ASCII VTK — a STRUCTURED_GRID whose
// points are (x, y, loss) with the loss and accuracy as point data, the surface tomgoldstein/loss-landscape's
// h52vtp writes for ParaView (there as POLYDATA; a structured grid keeps the grid's topology). Pure.
import { axisPoints, cellValue, type LandscapeResult } from '../protocol/landscape';

const num = (v: number): string => (Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : String(v));
const csvNum = (v: number): string => (Number.isFinite(v) ? String(v) : Number.isNaN(v) ? '' : v > 0 ? 'Infinity' : '-Infinity');

/** One row per grid point (y = 0 for 1D); empty cells where a value is not computed. */
export function landscapeCsv(r: LandscapeResult): string {
  const xs = axisPoints(r.grid.x);
  const ys = r.grid.y ? axisPoints(r.grid.y) : [0];
  const val = r.valMetrics;
  const header = ['x', 'y', 'loss', 'accuracy'];
  if (val) header.push('val_loss', 'val_accuracy');
  const lines = [header.join(',')];
  for (let j = 0; j < ys.length; j++) {
    for (let i = 0; i < xs.length; i++) {
      const row = [String(xs[i]), String(ys[j]), csvNum(cellValue(r.metrics.loss[j]?.[i])), csvNum(cellValue(r.metrics.accuracy?.[j]?.[i] ?? null))];
      if (val) row.push(csvNum(cellValue(val.loss[j]?.[i])), csvNum(cellValue(val.accuracy?.[j]?.[i] ?? null)));
      lines.push(row.join(','));
    }
  }
  return `${lines.join('\n')}\n`;
}

export interface VtkOptions {
  /** Height of a point: the loss, or log(loss) (h52vtp's --log). */
  log?: boolean;
  /** Clip the height at this loss (h52vtp's --zmax): the walls far from the minimum otherwise flatten the picture. */
  zmax?: number;
}

/** Legacy VTK (version 3.0, ASCII), readable by ParaView and VisIt. Unknown values are written as nan. */
export function landscapeVtk(r: LandscapeResult, o: VtkOptions = {}): string {
  const xs = axisPoints(r.grid.x);
  const ys = r.grid.y ? axisPoints(r.grid.y) : [0];
  const n = xs.length * ys.length;
  const height = (loss: number) => {
    let z = o.zmax !== undefined && loss > o.zmax ? o.zmax : loss;
    if (o.log) z = Math.log(z);
    return z;
  };
  const title = `Descent loss landscape ${r.name}`.replace(/[\r\n]/g, ' ').slice(0, 255);
  const out: string[] = ['# vtk DataFile Version 3.0', title, 'ASCII', 'DATASET STRUCTURED_GRID', `DIMENSIONS ${xs.length} ${ys.length} 1`, `POINTS ${n} double`];
  const loss: number[] = [];
  const acc: number[] = [];
  for (let j = 0; j < ys.length; j++) {
    for (let i = 0; i < xs.length; i++) {
      const l = cellValue(r.metrics.loss[j]?.[i]);
      loss.push(l);
      acc.push(cellValue(r.metrics.accuracy?.[j]?.[i] ?? null));
      out.push(`${num(xs[i]!)} ${num(ys[j]!)} ${num(height(l))}`);
    }
  }
  out.push(`POINT_DATA ${n}`, 'SCALARS loss double 1', 'LOOKUP_TABLE default', ...loss.map(num));
  if (r.metrics.accuracy) out.push('SCALARS accuracy double 1', 'LOOKUP_TABLE default', ...acc.map(num));
  return `${out.join('\n')}\n`;
}
