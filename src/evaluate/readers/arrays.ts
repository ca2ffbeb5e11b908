// .npz and .npy datasets: the samples array is streamed batch by batch (never loaded whole); labels and class names
// are small and read at once.
import { basename } from 'node:path';
import { EvaluationError } from '../types';
import { FileRangeReader, readExactly, type ByteReader } from './bytes';
import type { Dataset, RawBatch } from './dataset';
import { readNpyHeader, sampleSize, toFloat32, toInt32Labels, toStrings, type NpyHeader } from './npy';
import { openZipEntry, readZipDirectory, type ZipEntry } from './zip';

export const X_KEYS = ['x', 'X', 'images', 'data', 'inputs', 'features'];
export const Y_KEYS = ['y', 'Y', 'labels', 'targets', 'target', 'label'];
const NAME_KEYS = ['class_names', 'classes', 'label_names', 'names', 'labels'];
/** Bytes read from the file at a time (rounded to whole batches). */
const READ_BYTES = 4 << 20;

/** An .npz whose samples or labels key is not one of the conventional names: the caller asks which. */
export class NpzKeyError extends EvaluationError {
  constructor(
    message: string,
    readonly role: 'x' | 'y',
    readonly keys: string[],
  ) {
    super(message);
  }
}

type Open = () => Promise<{ reader: ByteReader; header: NpyHeader }>;

interface ArrayRef {
  key: string;
  header: NpyHeader;
  open: Open;
}

async function withHeader(openReader: () => Promise<ByteReader>, where: string): Promise<{ reader: ByteReader; header: NpyHeader }> {
  const reader = await openReader();
  try {
    return { reader, header: await readNpyHeader(reader, where) };
  } catch (e) {
    await reader.close();
    throw e;
  }
}

async function ref(key: string, openReader: () => Promise<ByteReader>, where: string): Promise<ArrayRef> {
  const first = await withHeader(openReader, where);
  await first.reader.close();
  return { key, header: first.header, open: () => withHeader(openReader, where) };
}

async function readAll(a: ArrayRef): Promise<Uint8Array> {
  const { reader, header } = await a.open();
  try {
    const n = header.shape.reduce((x, y) => x * y, 1) * header.itemSize;
    return await readExactly(reader, n, a.key);
  } finally {
    await reader.close();
  }
}

export async function openNpz(path: string, xKey?: string, yKey?: string): Promise<Dataset> {
  const file = basename(path);
  let entries: ZipEntry[];
  try {
    entries = await readZipDirectory(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new EvaluationError(`${path} does not exist`);
    throw e;
  }
  const arrays = new Map<string, ArrayRef>();
  for (const entry of entries) {
    if (!entry.name.endsWith('.npy')) continue;
    const key = entry.name.slice(0, -4);
    arrays.set(key, await ref(key, () => openZipEntry(path, entry), `${key} in ${file}`));
  }
  const keys = [...arrays.keys()];
  if (keys.length === 0) throw new EvaluationError(`${file} holds no arrays (.npy entries); save it with np.savez(path, x=..., y=...)`);
  const pick = (role: 'x' | 'y', wanted: string | undefined, conventional: string[]): ArrayRef => {
    if (wanted !== undefined) {
      const a = arrays.get(wanted);
      if (!a) throw new NpzKeyError(`${file} has no array '${wanted}' (it has: ${keys.join(', ')})`, role, keys);
      return a;
    }
    const found = conventional.map((k) => arrays.get(k)).find((a) => a !== undefined && a.header.dtype !== 'unicode');
    if (!found) {
      const what = role === 'x' ? `samples (${conventional.slice(0, 4).join('/')})` : `labels (${conventional.slice(0, 4).join('/')})`;
      throw new NpzKeyError(`${file} has no array named like ${what}; it has: ${keys.join(', ')}. Choose the ${role === 'x' ? 'samples' : 'labels'} key (CLI: --${role}-key).`, role, keys);
    }
    return found;
  };
  const x = pick('x', xKey, X_KEYS);
  const y = pick('y', yKey, Y_KEYS);
  const names = NAME_KEYS.map((k) => arrays.get(k)).find((a) => a !== undefined && a.header.dtype === 'unicode');
  const classNames = names ? toStrings(await readAll(names), names.header.itemSize) : undefined;
  return arraysDataset(`${x.key} in ${file}`, x, y, classNames);
}

export async function openNpyPair(xPath: string, yPath: string): Promise<Dataset> {
  const open = (p: string) => async () => {
    try {
      return await FileRangeReader.open(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new EvaluationError(`${p} does not exist`);
      throw e;
    }
  };
  const x = await ref(basename(xPath), open(xPath), basename(xPath));
  const y = await ref(basename(yPath), open(yPath), basename(yPath));
  return arraysDataset(basename(xPath), x, y, undefined);
}

function arraysDataset(description: string, x: ArrayRef, y: ArrayRef, classNames: string[] | undefined): Dataset {
  const h = x.header;
  if (h.dtype === 'unicode') throw new EvaluationError(`${description}: the samples are strings, not numbers`);
  if (h.shape.length < 2) throw new EvaluationError(`${description}: samples must have shape (N, ...), found (${h.shape.join(', ')})`);
  const count = h.shape[0]!;
  const yCount = y.header.shape[0] ?? 1;
  if (y.header.shape.length > 2 || (y.header.shape.length === 2 && y.header.shape[1] !== 1)) {
    throw new EvaluationError(`${y.key}: labels must be one integer per sample, shape (N,); found (${y.header.shape.join(', ')}) (one-hot labels: save labels.argmax(1))`);
  }
  if (yCount !== count) throw new EvaluationError(`${description} has ${count} samples but ${y.key} has ${yCount} labels`);
  const perSample = sampleSize(h);
  return {
    description,
    count,
    sampleShape: h.shape.slice(1),
    dtype: h.dtype,
    classNames,
    labels: async () => toInt32Labels(await readAll(y), y.header.dtype, y.key),
    async *batches(batchSize: number): AsyncGenerator<RawBatch> {
      const { reader } = await x.open();
      // Reads of at least READ_BYTES (whole batches), and the next read already under way while the caller works on
      // the current batch: file I/O overlaps preprocessing and inference.
      const sampleBytes = perSample * h.itemSize;
      const batchesPerRead = Math.max(1, Math.floor(READ_BYTES / Math.max(1, batchSize * sampleBytes)));
      let requested = 0;
      const readNext = () => {
        const n = Math.min(batchSize * batchesPerRead, count - requested);
        requested += n;
        return n > 0 ? readExactly(reader, n * sampleBytes, description).then((bytes) => ({ n, bytes })) : undefined;
      };
      let pending = readNext();
      try {
        while (pending) {
          const { n, bytes } = await pending;
          pending = readNext();
          for (let at = 0; at < n; at += batchSize) {
            const m = Math.min(batchSize, n - at);
            yield { kind: 'array', count: m, data: toFloat32(bytes.subarray(at * sampleBytes, (at + m) * sampleBytes), h.dtype) };
          }
        }
      } finally {
        // Stopped early (cancel, error): let a read still under way finish before closing the file.
        await pending?.catch(() => undefined);
        await reader.close();
      }
    },
  };
}
