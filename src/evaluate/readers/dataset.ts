// A dataset as the engine sees it: a count, integer labels, optional class names, and raw samples in batches.
// Arrays (.npy/.npz) and CSV rows come as Float32 in their own layout; image files come decoded (RGBA) because
// their sizes may differ; preprocess.ts turns either into the model's input.
import type { DataSpec } from '../types';
import type { NpyDType } from './npy';

export interface DecodedImage {
  width: number;
  height: number;
  /** 4 bytes per pixel, row-major. */
  rgba: Uint8Array;
}

export type RawBatch = { kind: 'array'; count: number; data: Float32Array } | { kind: 'images'; count: number; images: DecodedImage[] };

export interface Dataset {
  /** For messages: "x in digits.npz", "images in data/" ... */
  description: string;
  count: number;
  /** Shape of one sample (arrays and CSV); undefined for image folders. */
  sampleShape: number[] | undefined;
  /** Element type of the raw data: arrays' dtype; 'image' for image files. */
  dtype: NpyDType | 'image';
  classNames: string[] | undefined;
  samplePaths?: string[];
  labels(): Promise<Int32Array>;
  batches(batchSize: number): AsyncGenerator<RawBatch>;
}

export async function openDataset(spec: DataSpec): Promise<Dataset> {
  switch (spec.kind) {
    case 'npz':
      return (await import('./arrays')).openNpz(spec.path, spec.xKey, spec.yKey);
    case 'npy':
      return (await import('./arrays')).openNpyPair(spec.path, spec.labelsPath);
    case 'csv':
      return (await import('./csv')).openCsv(spec.path, spec.target);
    case 'images':
      return (await import('./images')).openImageFolder(spec.path);
  }
}

/** The data kind a path suggests: .npz, .npy, .csv, a folder -> images. */
export function dataKindOf(path: string, isDirectory: boolean): DataSpec['kind'] | undefined {
  if (isDirectory) return 'images';
  const lower = path.toLowerCase();
  if (lower.endsWith('.npz')) return 'npz';
  if (lower.endsWith('.npy')) return 'npy';
  if (lower.endsWith('.csv')) return 'csv';
  return undefined;
}
