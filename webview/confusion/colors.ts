// Colour scales of the grid as 256-entry RGBA lookup tables built from the theme (--vscode-* variables), so a cell's
// colour is one table read. Sequential (background -> charts blue) for counts and shares; diverging
// (red <- background -> green) for a difference of two runs.
import { cssVar } from '../common/theme';

export type Rgb = [number, number, number];
export const LUT_SIZE = 256;

/** Parses #rgb, #rrggbb(aa) and rgb()/rgba(); falls back when the theme gives something else. */
export function parseColor(text: string, fallback: Rgb): Rgb {
  const t = text.trim();
  let m = /^#([0-9a-f]{3})$/i.exec(t);
  if (m) return [0, 1, 2].map((i) => parseInt(m![1]![i]! + m![1]![i]!, 16)) as Rgb;
  m = /^#([0-9a-f]{6})([0-9a-f]{2})?$/i.exec(t);
  if (m) return [0, 2, 4].map((i) => parseInt(m![1]!.slice(i, i + 2), 16)) as Rgb;
  m = /^rgba?\(\s*(\d+)[\s,]+(\d+)[\s,]+(\d+)/i.exec(t);
  if (m) return [Number(m[1]), Number(m[2]), Number(m[3])];
  return fallback;
}

const mix = (a: Rgb, b: Rgb, t: number): Rgb => [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];

export interface Palette {
  background: Rgb;
  foreground: string;
  muted: string;
  grid: string;
  highlight: string;
  /** RGBA, LUT_SIZE entries: 0 = empty cell, 255 = the largest value. */
  sequential: Uint8ClampedArray;
  /** RGBA, LUT_SIZE entries: 0 = most negative, 128 = zero, 255 = most positive. */
  diverging: Uint8ClampedArray;
  font: string;
}

function lut(stops: Rgb[]): Uint8ClampedArray {
  const out = new Uint8ClampedArray(LUT_SIZE * 4);
  for (let i = 0; i < LUT_SIZE; i++) {
    const x = (i / (LUT_SIZE - 1)) * (stops.length - 1);
    const k = Math.min(stops.length - 2, Math.floor(x));
    const c = mix(stops[k]!, stops[k + 1]!, x - k);
    out.set([c[0], c[1], c[2], 255], i * 4);
  }
  return out;
}

/** Entry 0 (an empty cell) is the background; any count above zero starts at a visible tint. */
function sequentialLut(background: Rgb, stops: Rgb[]): Uint8ClampedArray {
  const out = lut(stops);
  out.set([background[0], background[1], background[2], 255], 0);
  return out;
}

export function readPalette(): Palette {
  const background = parseColor(cssVar('--vscode-editor-background', '#1e1e1e'), [30, 30, 30]);
  const dark = background[0] * 0.299 + background[1] * 0.587 + background[2] * 0.114 < 128;
  const blue = parseColor(cssVar('--vscode-charts-blue', '#3794ff'), [55, 148, 255]);
  const red = parseColor(cssVar('--vscode-charts-red', '#f14c4c'), [241, 76, 76]);
  const green = parseColor(cssVar('--vscode-charts-green', '#89d185'), [137, 209, 133]);
  // The far end of the sequential scale is pushed past the theme's blue (lighter on dark themes, darker on light ones)
  // so the largest cells stand out from mid-range ones.
  const far: Rgb = dark ? mix(blue, [255, 255, 255], 0.55) : mix(blue, [0, 0, 40], 0.45);
  const first = mix(background, blue, 0.12);
  return {
    background,
    foreground: cssVar('--vscode-editor-foreground', dark ? '#cccccc' : '#333333'),
    muted: cssVar('--vscode-descriptionForeground', dark ? '#9d9d9d' : '#717171'),
    grid: `rgba(${background.join(',')},0.9)`,
    highlight: cssVar('--vscode-focusBorder', '#007fd4'),
    sequential: sequentialLut(background, [first, mix(background, blue, 0.55), blue, far]),
    diverging: lut([red, mix(background, red, 0.35), background, mix(background, green, 0.35), green]),
    font: cssVar('--vscode-font-family', 'sans-serif'),
  };
}

/** Black or white text, whichever reads on this cell colour. */
export function textOn(lutTable: Uint8ClampedArray, index: number): string {
  const o = index * 4;
  const y = lutTable[o]! * 0.299 + lutTable[o + 1]! * 0.587 + lutTable[o + 2]! * 0.114;
  return y > 140 ? '#000000' : '#ffffff';
}
