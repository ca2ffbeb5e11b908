// The central directory of a zip file (an .npz), and a reader over one entry: STORED entries are read by offset in
// slices, DEFLATED ones inflated as a stream. Zip64 (what np.savez writes for large arrays) is understood.
import { open } from 'node:fs/promises';
import { EvaluationError } from '../types';
import { FileRangeReader, InflateReader, type ByteReader } from './bytes';

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX32 = 0xffffffff;

async function readAt(path: string, position: number, length: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, position);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

export async function readZipDirectory(path: string): Promise<ZipEntry[]> {
  const fh = await open(path, 'r');
  let size: number;
  try {
    size = (await fh.stat()).size;
  } finally {
    await fh.close();
  }
  const tailLen = Math.min(size, 22 + 0xffff + 20);
  const tail = await readAt(path, size - tailLen, tailLen);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new EvaluationError(`${path}: not an .npz (zip) file: no zip directory at its end`);
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  if ((count === 0xffff || cdOffset === MAX32 || cdSize === MAX32) && eocd >= 20 && tail.readUInt32LE(eocd - 20) === ZIP64_LOCATOR) {
    const z64at = Number(tail.readBigUInt64LE(eocd - 20 + 8));
    const z64 = await readAt(path, z64at, 56);
    if (z64.length < 56 || z64.readUInt32LE(0) !== ZIP64_EOCD) throw new EvaluationError(`${path}: damaged zip64 directory`);
    count = Number(z64.readBigUInt64LE(32));
    cdSize = Number(z64.readBigUInt64LE(40));
    cdOffset = Number(z64.readBigUInt64LE(48));
  }
  if (cdOffset + cdSize > size) throw new EvaluationError(`${path}: damaged zip directory (points past the end of the file)`);
  const cd = await readAt(path, cdOffset, cdSize);
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL) throw new EvaluationError(`${path}: damaged zip directory (entry ${i})`);
    const method = cd.readUInt16LE(p + 10);
    let compressedSize = cd.readUInt32LE(p + 20);
    let entrySize = cd.readUInt32LE(p + 24);
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    let localHeaderOffset = cd.readUInt32LE(p + 42);
    const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
    // Zip64 extra field: the 64-bit values, present only for the fields that are 0xffffffff, in this order.
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = cd.readUInt16LE(e);
      const len = cd.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        if (entrySize === MAX32) {
          entrySize = Number(cd.readBigUInt64LE(q));
          q += 8;
        }
        if (compressedSize === MAX32) {
          compressedSize = Number(cd.readBigUInt64LE(q));
          q += 8;
        }
        if (localHeaderOffset === MAX32) localHeaderOffset = Number(cd.readBigUInt64LE(q));
      }
      e += 4 + len;
    }
    entries.push({ name, method, compressedSize, size: entrySize, localHeaderOffset });
    p = extraEnd + commentLen;
  }
  return entries;
}

/** A reader over an entry's uncompressed bytes. */
export async function openZipEntry(path: string, entry: ZipEntry): Promise<ByteReader> {
  const local = await readAt(path, entry.localHeaderOffset, 30);
  if (local.length < 30 || local.readUInt32LE(0) !== LOCAL) throw new EvaluationError(`${path}: damaged zip entry ${entry.name}`);
  const start = entry.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  const end = start + entry.compressedSize;
  if (entry.method === 0) return FileRangeReader.open(path, start, end);
  if (entry.method === 8) return new InflateReader(path, start, end);
  throw new EvaluationError(`${path}: entry ${entry.name} uses zip compression method ${entry.method}; save with np.savez or np.savez_compressed`);
}
