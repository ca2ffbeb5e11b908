import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { csvField, matrixCsv, metricsCsv } from '../../src/confusion/csv';
import { readRunMatrices } from '../../src/confusion/runMatrices';
import { flattenMatrix } from '../../src/protocol/confusion';

function runDir(lines: string[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'descent-confusion-'));
  writeFileSync(path.join(dir, 'events.jsonl'), lines.join('\n'));
  return dir;
}

const ev = (o: Record<string, unknown>) => JSON.stringify({ event: 'confusion', t: 1, ...o });

test('reads every confusion event, ordered by split then step; skips broken lines and checkpoints', async () => {
  const dir = runDir([
    ev({ split: 'val', epoch: 1, step: 20, labels: ['a', 'b'], matrix: [[5, 1], [2, 4]] }),
    JSON.stringify({ event: 'checkpoint', step: 20, path: 'c.pt' }),
    ev({ split: 'train', epoch: 1, step: 20, labels: ['a', 'b'], matrix: [[9, 1], [1, 9]] }),
    '{"event":"confusion","labels":["a","b"],"matrix":[[1]]}',
    ev({ split: 'val', epoch: 0, step: 10, labels: ['a', 'b'], matrix: [[3, 3], [3, 3]] }),
    // Written with the classes in another order: re-indexed by name onto the first matrix's labels.
    ev({ split: 'test', labels: ['b', 'a'], matrix: [[7, 0], [1, 2]] }),
    '{"event":"confusion","split":"val","lab', // a line still being written
  ]);
  const r = await readRunMatrices(dir, 'my run');
  assert.equal(r.problems, 2);
  assert.match(r.firstProblem!, /line 4: confusion "matrix" is not 2 rows/);
  assert.equal(r.relabelled, 1);
  const s = r.source!;
  assert.equal(s.title, 'my run');
  assert.equal(s.runDir, dir);
  assert.deepEqual(s.labels, ['a', 'b']);
  assert.deepEqual(s.matrices.map((m) => [m.split, m.epoch, m.step]), [['train', 1, 20], ['val', 0, 10], ['val', 1, 20], ['test', undefined, undefined]]);
  assert.deepEqual(s.matrices[1]!.counts, [3, 3, 3, 3]);
  assert.deepEqual(s.matrices[3]!.counts, [2, 1, 0, 7]);
});

test('a run without events.jsonl or without matrices has no source', async () => {
  const empty = mkdtempSync(path.join(tmpdir(), 'descent-confusion-'));
  assert.equal((await readRunMatrices(empty, 'x')).source, undefined);
  const r = await readRunMatrices(runDir([JSON.stringify({ event: 'checkpoint', step: 1, path: 'a.pt' })]), 'x');
  assert.equal(r.source, undefined);
  assert.equal(r.problems, 0);
});

test('reads a 1000-class matrix line (4 MB) whole', async () => {
  const n = 1000;
  const labels = Array.from({ length: n }, (_, i) => `c${i}`);
  const matrix = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 50 : (i + j) % 7 === 0 ? 1 : 0)));
  const r = await readRunMatrices(runDir([ev({ split: 'val', labels, matrix })]), 'big');
  assert.equal(r.source!.matrices[0]!.counts.length, n * n);
  assert.deepEqual(r.source!.matrices[0]!.counts, flattenMatrix(matrix));
});

test('CSV: matrix with labels, shares, metrics; quoting and formula-looking labels', () => {
  const labels = ['cat, wild', '=SUM(A1)', 'dog'];
  const counts = [2, 1, 0, 1, 1, 0, 0, 3, 0];
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField('=SUM(A1)'), "'=SUM(A1)");
  assert.equal(matrixCsv(counts, labels, 'counts'),
    'true \\ predicted,"cat, wild",\'=SUM(A1),dog\r\n"cat, wild",2,1,0\r\n\'=SUM(A1),1,1,0\r\ndog,0,3,0\r\n');
  assert.match(matrixCsv(counts, labels, 'row'), /\r\n"cat, wild",0\.666667,0\.333333,0\r\n/);
  const metrics = metricsCsv(counts, labels).split('\r\n');
  assert.equal(metrics[0], 'class,precision,recall,f1,support,predicted');
  assert.equal(metrics[3], 'dog,0,0,0,3,0');
  assert.equal(metrics[6], 'accuracy,,,0.375,8,');
});

test('thumbnails: images as data URIs; other files, missing and oversized ones get a reason', async () => {
  const { readThumbnails, MAX_THUMBNAIL_BYTES } = await import('../../src/confusion/vscode/thumbnails');
  const dir = mkdtempSync(path.join(tmpdir(), 'descent-thumbs-'));
  const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64');
  writeFileSync(path.join(dir, 'a.png'), png);
  writeFileSync(path.join(dir, 'b.txt'), 'text');
  writeFileSync(path.join(dir, 'big.jpg'), Buffer.alloc(MAX_THUMBNAIL_BYTES + 1));
  const paths = ['a.png', 'b.txt', 'gone.png', 'big.jpg'].map((f) => path.join(dir, f));
  const items = await readThumbnails(paths, [0, 1, 2, 3, 9]);
  assert.equal(items[0]!.uri, `data:image/png;base64,${png.toString('base64')}`);
  assert.deepEqual(items.slice(1).map((i) => i.error), ['not an image', 'file not found', 'image over 512 KB', 'no file']);
});
