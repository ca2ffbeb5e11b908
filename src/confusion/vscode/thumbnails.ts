// Thumbnails of the samples behind a cell: the image file of each sample as a data: URI (the panel's CSP allows
// img-src data:). Not an image, too large or unreadable -> a reason instead, shown as text.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { SampleThumbnail } from '../../protocol/confusion';

const TYPES: Record<string, string> = {
  '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif', '.webp': 'image/webp', '.bmp': 'image/bmp',
};
export const MAX_THUMBNAIL_BYTES = 512 * 1024;
export const MAX_THUMBNAILS_PER_REQUEST = 64;

export async function readThumbnails(paths: readonly (string | undefined)[], indices: readonly number[]): Promise<SampleThumbnail[]> {
  return Promise.all(indices.slice(0, MAX_THUMBNAILS_PER_REQUEST).map(async (index): Promise<SampleThumbnail> => {
    const file = paths[index];
    if (typeof file !== 'string' || file === '') return { index, error: 'no file' };
    const type = TYPES[path.extname(file).toLowerCase()];
    if (!type) return { index, error: 'not an image' };
    try {
      const st = await fsp.stat(file);
      if (st.size > MAX_THUMBNAIL_BYTES) return { index, error: `image over ${MAX_THUMBNAIL_BYTES / 1024} KB` };
      const bytes = await fsp.readFile(file);
      return { index, uri: `data:${type};base64,${bytes.toString('base64')}` };
    } catch (e) {
      return { index, error: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : 'unreadable' };
    }
  }));
}
