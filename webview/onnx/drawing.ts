// The Try it box's drawing pad: a black canvas, white strokes, downsampled by area averaging to the model's input
// size (so a stroke keeps its weight at 8×8 as at 28×28), sent after every stroke and, throttled, while drawing.
import type { PixelImage } from '../../src/protocol/onnx';
import { resizeRgba } from '../../src/onnx/tryIt';

const PAD_PIXELS = 224;
const LIVE_MS = 250;

export class DrawingPad {
  readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;
  private drawing = false;
  private drawn = false;
  private last: { x: number; y: number } | undefined;
  private lastSent = 0;

  constructor(
    private readonly width: number,
    private readonly height: number,
    private readonly onPixels: (pixels: PixelImage) => void,
  ) {
    // Whole cells per input pixel, so downsampling averages equal blocks.
    const cell = Math.max(1, Math.floor(PAD_PIXELS / Math.max(width, height)));
    this.canvas = document.createElement('canvas');
    this.canvas.width = width * cell;
    this.canvas.height = height * cell;
    this.canvas.className = 'drawing-pad';
    this.canvas.setAttribute('aria-label', `drawing pad, ${width} by ${height}`);
    this.ctx = this.canvas.getContext('2d', { willReadFrequently: true })!;
    // MNIST digits are ~2-3 px thick in 28×28; scikit-learn's 8×8 digits about 1.5 px.
    this.ctx.lineWidth = cell * (Math.max(width, height) >= 20 ? 2.4 : 1.4);
    this.ctx.lineCap = 'round';
    this.ctx.lineJoin = 'round';
    this.ctx.strokeStyle = '#fff';
    this.ctx.fillStyle = '#fff';
    this.clear();
    this.canvas.addEventListener('pointerdown', (e) => this.down(e));
    this.canvas.addEventListener('pointermove', (e) => this.move(e));
    this.canvas.addEventListener('pointerup', () => this.up());
    this.canvas.addEventListener('pointercancel', () => this.up());
    this.canvas.addEventListener('pointerleave', () => this.up());
  }

  clear(): void {
    this.ctx.save();
    this.ctx.fillStyle = '#000';
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.ctx.restore();
    this.drawn = false;
  }

  /** Sends the current drawing again (e.g. after the pixel scale changed). */
  submitIfDrawn(): void {
    if (this.drawn) this.onPixels(this.pixels());
  }

  pixels(): PixelImage {
    const img = this.ctx.getImageData(0, 0, this.canvas.width, this.canvas.height);
    const data = resizeRgba(img.data, img.width, img.height, this.width, this.height, 1);
    return { width: this.width, height: this.height, channels: 1, data: Array.from(data, (v) => Math.round(v * 1000) / 1000) };
  }

  private point(e: PointerEvent): { x: number; y: number } {
    const r = this.canvas.getBoundingClientRect();
    return { x: ((e.clientX - r.left) * this.canvas.width) / r.width, y: ((e.clientY - r.top) * this.canvas.height) / r.height };
  }

  private down(e: PointerEvent): void {
    this.drawing = true;
    this.canvas.setPointerCapture?.(e.pointerId);
    const p = this.point(e);
    this.ctx.beginPath();
    this.ctx.arc(p.x, p.y, this.ctx.lineWidth / 2, 0, Math.PI * 2);
    this.ctx.fill();
    this.last = p;
    this.drawn = true;
  }

  private move(e: PointerEvent): void {
    if (!this.drawing || !this.last) return;
    const p = this.point(e);
    this.ctx.beginPath();
    this.ctx.moveTo(this.last.x, this.last.y);
    this.ctx.lineTo(p.x, p.y);
    this.ctx.stroke();
    this.last = p;
    const now = performance.now();
    if (now - this.lastSent > LIVE_MS) {
      this.lastSent = now;
      this.onPixels(this.pixels());
    }
  }

  private up(): void {
    if (!this.drawing) return;
    this.drawing = false;
    this.last = undefined;
    this.lastSent = performance.now();
    this.onPixels(this.pixels());
  }
}

/** Draws a small image (values in [0, 1]) onto a canvas of its size; CSS scales it up, pixelated. */
export function drawPixels(canvas: HTMLCanvasElement, img: PixelImage): void {
  canvas.width = img.width;
  canvas.height = img.height;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const out = ctx.createImageData(img.width, img.height);
  for (let p = 0; p < img.width * img.height; p++) {
    for (let c = 0; c < 3; c++) out.data[p * 4 + c] = Math.round((img.data[p * img.channels + (img.channels === 3 ? c : 0)] ?? 0) * 255);
    out.data[p * 4 + 3] = 255;
  }
  ctx.putImageData(out, 0, 0);
}
