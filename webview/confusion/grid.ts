// The matrix on one canvas. Only the visible cells are drawn: their colours go into an ImageData at one pixel per
// cell, which drawImage scales up without smoothing, so a 1000 x 1000 view costs one pass over 1M bytes whatever the
// zoom. Row and column labels sit in fixed margins at a readable size and are thinned when they would overlap; cell
// values appear when they fit. Several grids (train / val / test side by side) share one Viewport: zoom and pan move
// them together.
import { LUT_SIZE, textOn, type Palette } from './colors';
import { colorIndices, indexAt, valueAt, type Scale } from './scale';

export interface GridData {
  n: number;
  /** Display order, row-major: values[r * n + c]. */
  values: Float64Array;
  /** Label of each display position. */
  labels: string[];
  scale: Scale;
  /** Text of a cell value / legend tick. */
  format(v: number): string;
  /** Shown in the corner (the split, when grids are side by side). */
  caption: string;
}

export interface Cell {
  r: number;
  c: number;
}

export interface GridEvents {
  hover(grid: Grid, cell: Cell | undefined, clientX: number, clientY: number): void;
  click(grid: Grid, cell: Cell): void;
}

const LABEL_FONT_PX = 12;
const LABEL_GAP_PX = 15;
const LEGEND_W = 76;
const MAX_CELL = 96;
const MAX_MARGIN = 170;

/** Zoom and pan shared by the grids of one panel: cell size in CSS px and scroll offsets of the plot. */
export class Viewport {
  cell = 0;
  x = 0;
  y = 0;
  readonly grids: Grid[] = [];
  /** Set by the first fit: zooming out stops there. */
  minCell = 0;

  redraw(): void {
    for (const g of this.grids) g.draw();
  }

  plotSize(): { w: number; h: number } {
    const g = this.grids[0];
    return g ? { w: g.plotW, h: g.plotH } : { w: 1, h: 1 };
  }

  n(): number {
    return this.grids[0]?.data?.n ?? 0;
  }

  fit(): void {
    const n = this.n();
    if (n === 0) return;
    const { w, h } = this.plotSize();
    this.cell = Math.max(0.05, Math.min(w / n, h / n, MAX_CELL));
    this.minCell = this.cell;
    this.x = 0;
    this.y = 0;
    this.redraw();
  }

  clamp(): void {
    const n = this.n();
    const { w, h } = this.plotSize();
    this.cell = Math.min(MAX_CELL, Math.max(this.minCell || 0.05, this.cell));
    this.x = Math.max(0, Math.min(this.x, n * this.cell - w));
    this.y = Math.max(0, Math.min(this.y, n * this.cell - h));
  }

  /** Zooms by `factor` keeping the point (px, py) of the plot under the cursor. */
  zoomAt(factor: number, px: number, py: number): void {
    const before = this.cell;
    this.cell = before * factor;
    this.clamp();
    const k = this.cell / before;
    this.x = (this.x + px) * k - px;
    this.y = (this.y + py) * k - py;
    this.clamp();
    this.redraw();
  }

  /** Scrolls just enough to show a cell (keyboard moves). */
  ensureVisible(cell: Cell): void {
    const { w, h } = this.plotSize();
    const left = cell.c * this.cell;
    const top = cell.r * this.cell;
    if (left < this.x) this.x = left;
    else if (left + this.cell > this.x + w) this.x = left + this.cell - w;
    if (top < this.y) this.y = top;
    else if (top + this.cell > this.y + h) this.y = top + this.cell - h;
    this.clamp();
  }

  /** Brings a cell to the middle at a size where its labels and value are readable. */
  centerOn(cell: Cell, minCell: number): void {
    const { w, h } = this.plotSize();
    this.cell = Math.max(this.cell, minCell);
    this.clamp();
    this.x = (cell.c + 0.5) * this.cell - w / 2;
    this.y = (cell.r + 0.5) * this.cell - h / 2;
    this.clamp();
    this.redraw();
  }
}

export class Grid {
  readonly canvas: HTMLCanvasElement;
  data: GridData | undefined;
  palette: Palette | undefined;
  diverging = false;
  hover: Cell | undefined;
  selected: Cell | undefined;
  /** A class to mark (search): its row and column are outlined. */
  marked: number | undefined;
  plotX = 0;
  plotY = 0;
  plotW = 1;
  plotH = 1;
  /** Duration of the last draw, ms. */
  lastDrawMs = 0;
  private colors = new Uint8Array(0);
  private off: HTMLCanvasElement | undefined;
  private image: ImageData | undefined;
  private rowLabelW = 40;
  private colLabelH = 40;
  private truncated: { row: string[]; col: string[] } = { row: [], col: [] };

  constructor(
    readonly container: HTMLElement,
    private readonly view: Viewport,
    private readonly events: GridEvents,
  ) {
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'grid-canvas';
    this.canvas.tabIndex = 0;
    this.canvas.setAttribute('role', 'img');
    container.append(this.canvas);
    view.grids.push(this);
    this.listen();
    new ResizeObserver(() => this.resize()).observe(container);
  }

  detach(): void {
    const i = this.view.grids.indexOf(this);
    if (i >= 0) this.view.grids.splice(i, 1);
    this.canvas.remove();
  }

  setData(data: GridData, palette: Palette, diverging: boolean): void {
    const relabel = !this.data || this.data.labels !== data.labels;
    this.data = data;
    this.palette = palette;
    this.diverging = diverging;
    if (this.colors.length !== data.n * data.n) this.colors = new Uint8Array(data.n * data.n);
    colorIndices(data.values, data.scale, this.colors);
    this.canvas.setAttribute('aria-label', `${data.caption ? `${data.caption}: ` : ''}confusion matrix, ${data.n} classes`);
    if (relabel) this.layout();
  }

  /** Margins from the labels' widths, then the plot area. */
  layout(): void {
    const data = this.data;
    const ctx = this.canvas.getContext('2d');
    if (!data || !ctx) return;
    ctx.font = `${LABEL_FONT_PX}px ${this.palette?.font ?? 'sans-serif'}`;
    let widest = 0;
    // Measuring 1000 labels is ~1 ms; only done when the labels change.
    for (const l of data.labels) widest = Math.max(widest, ctx.measureText(l).width);
    this.rowLabelW = Math.min(MAX_MARGIN, Math.ceil(widest) + 10);
    this.colLabelH = Math.min(MAX_MARGIN, Math.ceil(widest) + 10);
    const fit = (l: string) => truncate(ctx, l, MAX_MARGIN - 10);
    this.truncated = { row: data.labels.map(fit), col: data.labels.map(fit) };
    this.resize(false);
  }

  resize(redraw = true): void {
    const rect = this.container.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(200, Math.floor(rect.width));
    const h = Math.max(200, Math.floor(rect.height));
    if (this.canvas.width !== Math.round(w * dpr) || this.canvas.height !== Math.round(h * dpr)) {
      this.canvas.width = Math.round(w * dpr);
      this.canvas.height = Math.round(h * dpr);
      this.canvas.style.width = `${w}px`;
      this.canvas.style.height = `${h}px`;
    }
    this.plotX = this.rowLabelW + 18;
    this.plotY = this.colLabelH + 18;
    this.plotW = Math.max(40, w - this.plotX - LEGEND_W);
    this.plotH = Math.max(40, h - this.plotY - 6);
    if (!redraw) return;
    const wasFit = this.view.cell === this.view.minCell;
    if (this.view.grids[0] === this) {
      const n = this.view.n();
      const fitCell = n > 0 ? Math.min(this.plotW / n, this.plotH / n, MAX_CELL) : 0;
      if (wasFit || this.view.cell === 0) {
        this.view.fit();
        return;
      }
      this.view.minCell = fitCell;
      this.view.clamp();
    }
    this.draw();
  }

  /** Cell under a point of the canvas (CSS px), or undefined outside the plot. */
  cellAt(px: number, py: number): Cell | undefined {
    const n = this.data?.n ?? 0;
    const { cell, x, y } = this.view;
    if (px < this.plotX || py < this.plotY || px >= this.plotX + this.plotW || py >= this.plotY + this.plotH || cell <= 0) return undefined;
    const c = Math.floor((px - this.plotX + x) / cell);
    const r = Math.floor((py - this.plotY + y) / cell);
    return r >= 0 && c >= 0 && r < n && c < n ? { r, c } : undefined;
  }

  draw(): void {
    const t0 = performance.now();
    const data = this.data;
    const palette = this.palette;
    const ctx = this.canvas.getContext('2d');
    if (!data || !palette || !ctx || this.view.cell <= 0) return;
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const W = this.canvas.width / dpr;
    const H = this.canvas.height / dpr;
    ctx.fillStyle = `rgb(${palette.background.join(',')})`;
    ctx.fillRect(0, 0, W, H);
    const { n } = data;
    const { cell, x, y } = this.view;
    const c0 = Math.max(0, Math.floor(x / cell));
    const r0 = Math.max(0, Math.floor(y / cell));
    const c1 = Math.min(n, Math.ceil((x + this.plotW) / cell));
    const r1 = Math.min(n, Math.ceil((y + this.plotH) / cell));
    const lut = this.diverging ? palette.diverging : palette.sequential;

    ctx.save();
    ctx.beginPath();
    ctx.rect(this.plotX, this.plotY, this.plotW, this.plotH);
    ctx.clip();
    this.drawCells(ctx, lut, c0, r0, c1, r1);
    if (cell >= 7) this.drawGridLines(ctx, palette, c0, r0, c1, r1);
    if (cell >= 22) this.drawValues(ctx, lut, c0, r0, c1, r1);
    this.drawMarks(ctx, palette);
    ctx.restore();

    this.drawLabels(ctx, palette, c0, r0, c1, r1);
    this.drawLegend(ctx, palette, lut, W);
    this.lastDrawMs = performance.now() - t0;
    this.canvas.dataset.drawMs = this.lastDrawMs.toFixed(2);
  }

  private drawCells(ctx: CanvasRenderingContext2D, lut: Uint8ClampedArray, c0: number, r0: number, c1: number, r1: number): void {
    const w = c1 - c0;
    const h = r1 - r0;
    if (w <= 0 || h <= 0) return;
    this.off ??= document.createElement('canvas');
    if (this.off.width !== w || this.off.height !== h || !this.image) {
      this.off.width = w;
      this.off.height = h;
      this.image = new ImageData(w, h);
    }
    const pixels = new Uint32Array(this.image.data.buffer);
    const table = new Uint32Array(lut.buffer, lut.byteOffset, LUT_SIZE);
    const n = this.data!.n;
    const colors = this.colors;
    for (let r = 0; r < h; r++) {
      const src = (r0 + r) * n + c0;
      const dst = r * w;
      for (let c = 0; c < w; c++) pixels[dst + c] = table[colors[src + c]!]!;
    }
    this.off.getContext('2d')!.putImageData(this.image, 0, 0);
    const { cell, x, y } = this.view;
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(this.off, 0, 0, w, h, this.plotX + c0 * cell - x, this.plotY + r0 * cell - y, w * cell, h * cell);
  }

  private drawGridLines(ctx: CanvasRenderingContext2D, palette: Palette, c0: number, r0: number, c1: number, r1: number): void {
    const { cell, x, y } = this.view;
    ctx.strokeStyle = palette.grid;
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let c = c0; c <= c1; c++) {
      const px = Math.round(this.plotX + c * cell - x) + 0.5;
      ctx.moveTo(px, this.plotY);
      ctx.lineTo(px, this.plotY + this.plotH);
    }
    for (let r = r0; r <= r1; r++) {
      const py = Math.round(this.plotY + r * cell - y) + 0.5;
      ctx.moveTo(this.plotX, py);
      ctx.lineTo(this.plotX + this.plotW, py);
    }
    ctx.stroke();
  }

  private drawValues(ctx: CanvasRenderingContext2D, lut: Uint8ClampedArray, c0: number, r0: number, c1: number, r1: number): void {
    const data = this.data!;
    const { cell, x, y } = this.view;
    const size = Math.min(13, Math.floor(cell * 0.36));
    ctx.font = `${size}px ${this.palette!.font}`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    for (let r = r0; r < r1; r++) {
      for (let c = c0; c < c1; c++) {
        const v = data.values[r * data.n + c]!;
        if (v === 0 && !this.diverging) continue;
        const text = data.format(v);
        if (ctx.measureText(text).width > cell - 4) continue;
        ctx.fillStyle = textOn(lut, this.colors[r * data.n + c]!);
        ctx.fillText(text, this.plotX + (c + 0.5) * cell - x, this.plotY + (r + 0.5) * cell - y);
      }
    }
  }

  private drawMarks(ctx: CanvasRenderingContext2D, palette: Palette): void {
    const { cell, x, y } = this.view;
    const n = this.data!.n;
    const box = (c: number, r: number, w: number, h: number, color: string, width: number) => {
      ctx.strokeStyle = color;
      ctx.lineWidth = width;
      ctx.strokeRect(this.plotX + c * cell - x, this.plotY + r * cell - y, w * cell, h * cell);
    };
    if (this.marked !== undefined) {
      ctx.globalAlpha = 0.8;
      box(0, this.marked, n, 1, palette.highlight, 1);
      box(this.marked, 0, 1, n, palette.highlight, 1);
      ctx.globalAlpha = 1;
    }
    if (this.hover) box(this.hover.c, this.hover.r, 1, 1, palette.foreground, 1.5);
    if (this.selected) box(this.selected.c, this.selected.r, 1, 1, palette.highlight, 2.5);
  }

  private drawLabels(ctx: CanvasRenderingContext2D, palette: Palette, c0: number, r0: number, c1: number, r1: number): void {
    const data = this.data!;
    const { cell, x, y } = this.view;
    const step = Math.max(1, Math.ceil(LABEL_GAP_PX / cell));
    const emphasis = new Set<number>();
    if (this.hover) emphasis.add(this.hover.r).add(this.hover.c);
    if (this.selected) emphasis.add(this.selected.r).add(this.selected.c);
    if (this.marked !== undefined) emphasis.add(this.marked);
    ctx.font = `${LABEL_FONT_PX}px ${palette.font}`;
    ctx.textBaseline = 'middle';
    // Rows: right-aligned against the plot; thinned to every `step`-th when cells are smaller than the text.
    ctx.save();
    ctx.beginPath();
    ctx.rect(0, this.plotY, this.plotX, this.plotH);
    ctx.clip();
    ctx.textAlign = 'right';
    for (let r = r0 - (r0 % step); r < r1; r += step) {
      if (emphasis.has(r) && step > 1) continue;
      ctx.fillStyle = palette.foreground;
      ctx.fillText(this.truncated.row[r] ?? '', this.plotX - 6, this.plotY + (r + 0.5) * cell - y);
    }
    for (const r of emphasis) {
      if (r < r0 || r >= r1) continue;
      this.emphasized(ctx, palette, this.truncated.row[r] ?? '', this.plotX - 6, this.plotY + (r + 0.5) * cell - y, 'right');
    }
    ctx.restore();
    // Columns: written upwards from the top of the plot.
    ctx.save();
    ctx.beginPath();
    ctx.rect(this.plotX, 0, this.plotW, this.plotY);
    ctx.clip();
    ctx.textAlign = 'left';
    for (let c = c0 - (c0 % step); c < c1; c += step) {
      if (emphasis.has(c) && step > 1) continue;
      ctx.save();
      ctx.translate(this.plotX + (c + 0.5) * cell - x, this.plotY - 6);
      ctx.rotate(-Math.PI / 2);
      ctx.fillStyle = palette.foreground;
      ctx.fillText(this.truncated.col[c] ?? '', 0, 0);
      ctx.restore();
    }
    for (const c of emphasis) {
      if (c < c0 || c >= c1) continue;
      ctx.save();
      ctx.translate(this.plotX + (c + 0.5) * cell - x, this.plotY - 6);
      ctx.rotate(-Math.PI / 2);
      this.emphasized(ctx, palette, this.truncated.col[c] ?? '', 0, 0, 'left');
      ctx.restore();
    }
    ctx.restore();
    // Axis names in the corner.
    ctx.fillStyle = palette.muted;
    ctx.textAlign = 'left';
    ctx.font = `${LABEL_FONT_PX - 1}px ${palette.font}`;
    let predictedX = this.plotX;
    if (data.caption) {
      ctx.font = `600 ${LABEL_FONT_PX}px ${palette.font}`;
      ctx.fillStyle = palette.foreground;
      ctx.fillText(data.caption, 4, 10);
      predictedX = Math.max(predictedX, 4 + ctx.measureText(data.caption).width + 16);
      ctx.font = `${LABEL_FONT_PX - 1}px ${palette.font}`;
      ctx.fillStyle = palette.muted;
    }
    ctx.fillText('predicted →', predictedX, 10);
    ctx.save();
    ctx.translate(8, this.plotY);
    ctx.rotate(Math.PI / 2);
    ctx.fillText('true →', 0, 0);
    ctx.restore();
  }

  private emphasized(ctx: CanvasRenderingContext2D, palette: Palette, text: string, px: number, py: number, align: 'left' | 'right'): void {
    ctx.font = `600 ${LABEL_FONT_PX}px ${palette.font}`;
    const w = ctx.measureText(text).width;
    const left = align === 'right' ? px - w - 2 : px - 2;
    ctx.fillStyle = `rgb(${palette.background.join(',')})`;
    ctx.fillRect(left, py - 8, w + 4, 16);
    ctx.fillStyle = palette.highlight;
    ctx.fillRect(left, py + 7, w + 4, 1.5);
    ctx.fillStyle = palette.foreground;
    ctx.textAlign = align;
    ctx.fillText(text, px, py);
    ctx.font = `${LABEL_FONT_PX}px ${palette.font}`;
  }

  private drawLegend(ctx: CanvasRenderingContext2D, palette: Palette, lut: Uint8ClampedArray, W: number): void {
    const data = this.data!;
    const x0 = W - LEGEND_W + 14;
    const top = this.plotY;
    const height = Math.max(60, Math.min(this.plotH, 280));
    for (let i = 0; i < height; i++) {
      const t = 1 - i / (height - 1);
      const k = indexAt(data.scale, t) * 4;
      ctx.fillStyle = `rgb(${lut[k]},${lut[k + 1]},${lut[k + 2]})`;
      ctx.fillRect(x0, top + i, 12, 1);
    }
    ctx.strokeStyle = palette.muted;
    ctx.lineWidth = 1;
    ctx.strokeRect(x0 + 0.5, top + 0.5, 11, height - 1);
    ctx.fillStyle = palette.foreground;
    ctx.font = `${LABEL_FONT_PX - 1}px ${palette.font}`;
    ctx.textAlign = 'left';
    ctx.textBaseline = 'middle';
    for (const t of [1, 0.75, 0.5, 0.25, 0]) {
      ctx.fillText(data.format(valueAt(data.scale, t)), x0 + 16, top + (1 - t) * (height - 1));
    }
  }

  private listen(): void {
    const canvas = this.canvas;
    let drag: { x: number; y: number; vx: number; vy: number; moved: boolean } | undefined;
    const local = (e: MouseEvent) => {
      const r = canvas.getBoundingClientRect();
      return { px: e.clientX - r.left, py: e.clientY - r.top };
    };
    canvas.addEventListener('wheel', (e) => {
      e.preventDefault();
      const { px, py } = local(e);
      const factor = Math.exp(-Math.max(-300, Math.min(300, e.deltaY)) * 0.0025);
      this.view.zoomAt(factor, Math.max(0, px - this.plotX), Math.max(0, py - this.plotY));
    }, { passive: false });
    canvas.addEventListener('mousedown', (e) => {
      if (e.button !== 0) return;
      drag = { x: e.clientX, y: e.clientY, vx: this.view.x, vy: this.view.y, moved: false };
    });
    window.addEventListener('mousemove', (e) => {
      if (drag && (e.buttons & 1)) {
        const dx = e.clientX - drag.x;
        const dy = e.clientY - drag.y;
        if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
        if (drag.moved) {
          this.view.x = drag.vx - dx;
          this.view.y = drag.vy - dy;
          this.view.clamp();
          this.view.redraw();
          canvas.style.cursor = 'grabbing';
        }
      }
    });
    window.addEventListener('mouseup', (e) => {
      if (!drag) return;
      const d = drag;
      drag = undefined;
      canvas.style.cursor = '';
      if (!d.moved && e.target === canvas) {
        const { px, py } = local(e);
        const cell = this.cellAt(px, py);
        if (cell) this.events.click(this, cell);
      }
    });
    canvas.addEventListener('mousemove', (e) => {
      if (drag?.moved) return;
      const { px, py } = local(e);
      const cell = this.cellAt(px, py);
      if (cell?.r !== this.hover?.r || cell?.c !== this.hover?.c) {
        for (const g of this.view.grids) g.hover = cell;
        this.view.redraw();
      }
      this.events.hover(this, cell, e.clientX, e.clientY);
    });
    // Keyboard: arrows move the selected cell (and explain it), + / - zoom, 0 fits.
    canvas.addEventListener('keydown', (e) => {
      const n = this.data?.n ?? 0;
      if (n === 0) return;
      const moves: Record<string, [number, number]> = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
      const move = moves[e.key];
      const { w, h } = this.view.plotSize();
      if (move) {
        e.preventDefault();
        const from = this.selected ?? { r: 0, c: 0 };
        const cell = { r: Math.max(0, Math.min(n - 1, from.r + move[0])), c: Math.max(0, Math.min(n - 1, from.c + move[1])) };
        this.view.ensureVisible(cell);
        this.events.click(this, cell);
      } else if (e.key === '+' || e.key === '=') {
        this.view.zoomAt(1.4, w / 2, h / 2);
      } else if (e.key === '-') {
        this.view.zoomAt(1 / 1.4, w / 2, h / 2);
      } else if (e.key === '0') {
        this.view.fit();
      }
    });
    canvas.addEventListener('mouseleave', () => {
      for (const g of this.view.grids) g.hover = undefined;
      this.view.redraw();
      this.events.hover(this, undefined, 0, 0);
    });
  }
}

function truncate(ctx: CanvasRenderingContext2D, text: string, width: number): string {
  if (ctx.measureText(text).width <= width) return text;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ctx.measureText(`${text.slice(0, mid)}…`).width <= width) lo = mid;
    else hi = mid - 1;
  }
  return `${text.slice(0, lo)}…`;
}
