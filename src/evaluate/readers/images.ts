// Image-folder datasets: one sub-folder per class (class names = sorted folder names), PNG and JPEG files in each
// (in its sub-folders too, as torchvision's ImageFolder reads them), decoded one batch at a time.
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
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

/**
 * The image files under a class folder, at any depth, in torchvision's ImageFolder order (folders by path, files
 * by name in each), so sample indices match a user's PyTorch code and the generated data.py. Hidden files and
 * folders (.ipynb_checkpoints, macOS's ._ files) are skipped; linked folders are followed, each real folder once.
 */
export async function imageFilesUnder(folder: string): Promise<string[]> {
  const found: [string, string][] = [];
  const seen = new Set<string>();
  const walk = async (dir: string): Promise<void> => {
    const real = await realpath(dir).catch(() => dir);
    if (seen.has(real)) return;
    seen.add(real);
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      const target = entry.isSymbolicLink() ? await stat(path).catch(() => undefined) : entry;
      if (target?.isDirectory()) await walk(path);
      else if (target?.isFile() && IMAGE_EXT.has(extname(entry.name).toLowerCase())) found.push([dir, entry.name]);
    }
  };
  await walk(folder);
  const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return found.sort((a, b) => order(a[0], b[0]) || order(a[1], b[1])).map(([dir, name]) => join(dir, name));
}

export async function openImageFolder(root: string): Promise<Dataset> {
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch {
    throw new EvaluationError(`${root} is not a readable folder`);
  }
  const classNames: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const target = e.isSymbolicLink() ? await stat(join(root, e.name)).catch(() => undefined) : e;
    if (target?.isDirectory()) classNames.push(e.name);
  }
  classNames.sort();
  if (classNames.length === 0) throw new EvaluationError(`${root} has no sub-folders; an image dataset has one sub-folder per class (e.g. cat/, dog/)`);
  const paths: string[] = [];
  const labels: number[] = [];
  for (const [i, name] of classNames.entries()) {
    for (const path of await imageFilesUnder(join(root, name))) {
      paths.push(path);
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
