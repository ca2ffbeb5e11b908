// Image-folder datasets: one sub-folder per class (class names = sorted folder names), PNG and JPEG files in each,
// decoded one batch at a time.
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { EvaluationError } from '../types';
import type { Dataset, DecodedImage, RawBatch } from './dataset';

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg']);

export function decodeImage(bytes: Buffer, file: string): DecodedImage {
  try {
    if (bytes[0] === 0x89 && bytes[1] === 0x50) {
      const png = PNG.sync.read(bytes);
      return { width: png.width, height: png.height, rgba: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length) };
    }
    if (bytes[0] === 0xff && bytes[1] === 0xd8) {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
      return { width: img.width, height: img.height, rgba: img.data };
    }
  } catch (e) {
    throw new EvaluationError(`${file} could not be decoded (${(e as Error).message})`);
  }
  throw new EvaluationError(`${file} is neither a PNG nor a JPEG image`);
}

export async function openImageFolder(root: string): Promise<Dataset> {
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch {
    throw new EvaluationError(`${root} is not a readable folder`);
  }
  const classNames = entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  if (classNames.length === 0) throw new EvaluationError(`${root} has no sub-folders; an image dataset has one sub-folder per class (e.g. cat/, dog/)`);
  const paths: string[] = [];
  const labels: number[] = [];
  for (const [i, name] of classNames.entries()) {
    const files = (await readdir(join(root, name))).filter((f) => IMAGE_EXT.has(extname(f).toLowerCase())).sort();
    for (const f of files) {
      paths.push(join(root, name, f));
      labels.push(i);
    }
  }
  if (paths.length === 0) throw new EvaluationError(`${root}: the class folders (${classNames.slice(0, 5).join(', ')}) hold no .png or .jpg files`);
  await stat(paths[0]!);
  return {
    description: `images in ${basename(root)}/`,
    count: paths.length,
    sampleShape: undefined,
    dtype: 'image',
    classNames,
    samplePaths: paths,
    labels: () => Promise.resolve(Int32Array.from(labels)),
    async *batches(batchSize: number): AsyncGenerator<RawBatch> {
      for (let i = 0; i < paths.length; i += batchSize) {
        const chunk = paths.slice(i, i + batchSize);
        const images = await Promise.all(chunk.map(async (p) => decodeImage(await readFile(p), p)));
        yield { kind: 'images', count: images.length, images };
      }
    },
  };
}
