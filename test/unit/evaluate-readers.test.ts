// The evaluation's dataset readers on files written by real NumPy and Pillow (test/unit/evaluate-fixtures.py):
// .npy of each dtype, .npz stored and deflated, CSV, image folders; read batch by batch.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { after, before, test } from 'node:test';
import { NpzKeyError } from '../../src/evaluate/readers/arrays';
import { FileRangeReader } from '../../src/evaluate/readers/bytes';
import { openDataset, type Dataset, type RawBatch } from '../../src/evaluate/readers/dataset';
import { readNpyHeader } from '../../src/evaluate/readers/npy';
import { readPredictionsNpz } from '../../src/evaluate/predictions';
import { EvaluationError } from '../../src/evaluate/types';

const python = process.env.DESCENT_TEST_PYTHON ?? join(homedir(), '.cache', 'descent-tools', 'pyvenv', 'bin', 'python');
const dir = mkdtempSync(join(tmpdir(), 'descent-eval-readers-'));
const f = (...p: string[]) => join(dir, ...p);

before(() => {
  assert.ok(existsSync(python), `Python with numpy and pillow not found at ${python} (set DESCENT_TEST_PYTHON, or run npm run test:python once)`);
  const r = spawnSync(python, [join(__dirname, 'evaluate-fixtures.py'), dir], { encoding: 'utf8', shell: false });
  assert.equal(r.status, 0, r.stderr);
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function collect(ds: Dataset, batchSize: number): Promise<{ values: number[]; sizes: number[]; batches: RawBatch[] }> {
  const values: number[] = [];
  const sizes: number[] = [];
  const batches: RawBatch[] = [];
  for await (const b of ds.batches(batchSize)) {
    sizes.push(b.count);
    batches.push(b);
    if (b.kind === 'array') values.push(...b.data);
  }
  return { values, sizes, batches };
}

for (const dtype of ['float32', 'float64', 'uint8', 'int64', 'int32']) {
  test(`npy ${dtype}: header and values, streamed in batches of 4`, async () => {
    const ds = await openDataset({ kind: 'npy', path: f(`${dtype}.npy`), labelsPath: f('labels.npy') });
    assert.equal(ds.count, 6);
    assert.deepEqual(ds.sampleShape, [2, 3]);
    assert.equal(ds.dtype, dtype);
    const { values, sizes } = await collect(ds, 4);
    assert.deepEqual(sizes, [4, 2]);
    assert.deepEqual(values, Array.from({ length: 36 }, (_, i) => i));
    assert.deepEqual(Array.from(await ds.labels()), [0, 1, 2, 0, 1, 2]);
  });
}

test('npy int64 labels: negative values kept (the engine names them), values past int32 refused with the sample', async () => {
  const neg = await openDataset({ kind: 'npy', path: f('float32.npy'), labelsPath: f('labels_negative.npy') });
  assert.deepEqual(Array.from(await neg.labels()), [-3, 1, 2, 0, -1, 2]);
  const huge = await openDataset({ kind: 'npy', path: f('float32.npy'), labelsPath: f('labels_huge.npy') });
  await assert.rejects(huge.labels(), /label of sample 4 is out of the int32 range/);
});

test('npy: Fortran order and object arrays are refused with what to do', async () => {
  await assert.rejects(openDataset({ kind: 'npy', path: f('fortran.npy'), labelsPath: f('labels.npy') }), (e: Error) => e instanceof EvaluationError && /Fortran order.*ascontiguousarray/.test(e.message));
  await assert.rejects(openDataset({ kind: 'npy', path: f('object.npy'), labelsPath: f('labels.npy') }), (e: Error) => e instanceof EvaluationError && /Python objects/.test(e.message));
  await assert.rejects(openDataset({ kind: 'npy', path: f('iris.csv'), labelsPath: f('labels.npy') }), /not a NumPy \.npy file/);
});

test('npy header: the data offset is where NumPy put it (64-byte aligned)', async () => {
  const r = await FileRangeReader.open(f('float32.npy'));
  const h = await readNpyHeader(r, 'float32.npy');
  await r.close();
  assert.equal(h.dataOffset % 64, 0);
  assert.deepEqual(h.shape, [6, 2, 3]);
});

for (const file of ['stored.npz', 'deflated.npz']) {
  test(`npz ${file}: conventional keys, class names, values equal NumPy's`, async () => {
    const ds = await openDataset({ kind: 'npz', path: f(file) });
    assert.equal(ds.count, 50);
    assert.deepEqual(ds.sampleShape, [4, 4]);
    assert.deepEqual(ds.classNames, ['ant', 'bee', 'cicada']);
    const { values, sizes } = await collect(ds, 16);
    assert.deepEqual(sizes, [16, 16, 16, 2]);
    assert.deepEqual(values, Array.from({ length: 800 }, (_, i) => i % 251));
    assert.deepEqual(Array.from(await ds.labels()), Array.from({ length: 50 }, (_, i) => i % 3));
  });
}

test('npz: unconventional keys are asked for (listing the keys), then used', async () => {
  await assert.rejects(openDataset({ kind: 'npz', path: f('keys.npz') }), (e: Error) => e instanceof NpzKeyError && e.role === 'x' && e.keys.includes('pixels') && e.keys.includes('answers'));
  await assert.rejects(openDataset({ kind: 'npz', path: f('keys.npz'), xKey: 'pixels' }), (e: Error) => e instanceof NpzKeyError && e.role === 'y');
  const ds = await openDataset({ kind: 'npz', path: f('keys.npz'), xKey: 'pixels', yKey: 'answers' });
  assert.equal(ds.dtype, 'float32');
  assert.equal((await collect(ds, 100)).values[799], 799 % 251);
  await assert.rejects(openDataset({ kind: 'npz', path: f('keys.npz'), xKey: 'nope' }), /no array 'nope'.*pixels/);
});

test('npz: a file that is not a zip says so', async () => {
  await assert.rejects(openDataset({ kind: 'npz', path: f('iris.csv') }), /not an \.npz \(zip\) file/);
  await assert.rejects(openDataset({ kind: 'npz', path: f('missing.npz') }), /does not exist/);
});

test('predictions npz: y_true, y_pred and string labels', async () => {
  const p = await readPredictionsNpz(f('preds.npz'));
  assert.deepEqual(Array.from(p.yTrue), [0, 1, 2, 2]);
  assert.deepEqual(Array.from(p.yPred), [0, 2, 2, 1]);
  assert.deepEqual(p.labels, ['a', 'b', 'c']);
});

test('csv: target column by name, string targets mapped to sorted class names', async () => {
  const ds = await openDataset({ kind: 'csv', path: f('iris.csv'), target: 'species' });
  assert.equal(ds.count, 7);
  assert.deepEqual(ds.sampleShape, [3]);
  assert.deepEqual(ds.classNames, ['setosa', 'versicolor', 'virginica']);
  assert.deepEqual(Array.from(await ds.labels()), [2, 0, 1, 2, 0, 1, 2]);
  const { values, sizes } = await collect(ds, 3);
  assert.deepEqual(sizes, [3, 3, 1]);
  assert.deepEqual(values.slice(0, 6), [0, 0, 0, 1, 0.5, -1]);
  assert.deepEqual(values.slice(18), [6, 3, -6]);
});

test('csv: default target is the last column; unknown columns and non-numbers are named', async () => {
  const ds = await openDataset({ kind: 'csv', path: f('iris.csv') });
  assert.equal(ds.classNames, undefined, 'integer targets are class ids');
  assert.deepEqual(Array.from(await ds.labels()), [0, -1, -2, -3, -4, -5, -6]);
  await assert.rejects(openDataset({ kind: 'csv', path: f('iris.csv'), target: 'kind' }), /no column 'kind' \(columns: a, b, species, c\)/);
  const bad = await openDataset({ kind: 'csv', path: f('bad.csv') });
  await assert.rejects(collect(bad, 10), /bad\.csv line 3, column 'b': 'oops' is not a number/);
});

test('image folder: sorted class folders, PNG (RGB, L, RGBA) and JPEG decoded, other files skipped', async () => {
  const ds = await openDataset({ kind: 'images', path: f('images') });
  assert.deepEqual(ds.classNames, ['apple', 'zebra']);
  assert.equal(ds.count, 8);
  assert.deepEqual(Array.from(await ds.labels()), [0, 0, 0, 0, 1, 1, 1, 1]);
  assert.ok(ds.samplePaths![0]!.endsWith(join('apple', 'a_rgb.png')));
  const { batches } = await collect(ds, 3);
  assert.deepEqual(batches.map((b) => b.count), [3, 3, 2]);
  const images = batches.flatMap((b) => (b.kind === 'images' ? b.images : []));
  const px = (h: number, w: number, c: number, seed: number) => Array.from({ length: h * w * c }, (_, i) => (i * 7 + seed) % 256);
  const [rgb, gray, rgba, jpg] = images;
  assert.equal(rgb!.width, 6);
  assert.equal(rgb!.height, 5);
  const want = px(5, 6, 3, 2);
  for (let p = 0; p < 30; p++) for (let c = 0; c < 3; c++) assert.equal(rgb!.rgba[p * 4 + c], want[p * 3 + c]);
  const g = px(5, 6, 1, 2);
  for (let p = 0; p < 30; p++) assert.deepEqual(Array.from(gray!.rgba.subarray(p * 4, p * 4 + 3)), [g[p], g[p], g[p]]);
  assert.deepEqual(Array.from(rgba!.rgba), px(5, 6, 4, 2));
  assert.equal(jpg!.width, 8);
  assert.ok(Math.abs(jpg!.rgba[0]! - 200) <= 2, 'JPEG of a flat 200 grey decodes to about 200');
});

test('image folder: images in sub-folders of a class are found, in torchvision ImageFolder order', async () => {
  const root = f('nested');
  const touch = (...p: string[]) => {
    mkdirSync(join(root, ...p.slice(0, -1)), { recursive: true });
    writeFileSync(join(root, ...p), 'not decoded here');
  };
  touch('cat', 'b.png');
  touch('cat', 'a.jpg');
  touch('cat', 'sub', 'z.png');
  touch('cat', 'sub', 'deeper', 'c.png');
  touch('cat', '.hidden', 'x.png'); // hidden folders and files (macOS's ._ files) are not images
  touch('cat', '._a.png');
  touch('cat', 'notes.txt');
  touch('dog', '1.PNG');
  touch('dog', 'x', '2.png'); // folders sort by their whole path: x < x-y < x/y
  touch('dog', 'x-y', '3.png');
  touch('dog', 'x', 'y', '4.png');
  touch('.ipynb_checkpoints', 'x.png'); // not a class
  symlinkSync(join(root, 'cat', 'sub'), join(root, 'dog', 'link')); // a linked folder is followed
  symlinkSync(join(root, 'dog'), join(root, 'dog', 'again')); // a loop is followed once
  symlinkSync(join(root, 'cat'), join(root, 'kitten')); // a linked class folder is a class
  const ds = await openDataset({ kind: 'images', path: root });
  assert.deepEqual(ds.classNames, ['cat', 'dog', 'kitten']);
  const rel = ds.samplePaths!.map((p) => relative(root, p).split(sep).join('/'));
  const cat = ['a.jpg', 'b.png', 'sub/z.png', 'sub/deeper/c.png'];
  assert.deepEqual(rel, [...cat.map((p) => `cat/${p}`), 'dog/1.PNG', 'dog/link/z.png', 'dog/link/deeper/c.png', 'dog/x/2.png', 'dog/x-y/3.png', 'dog/x/y/4.png', ...cat.map((p) => `kitten/${p}`)]);
  assert.deepEqual(Array.from(await ds.labels()), [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2]);
});

test('image folder: no class folders says how to lay it out', async () => {
  await assert.rejects(openDataset({ kind: 'images', path: f('images', 'apple') }), /no sub-folders; an image dataset has one sub-folder per class/);
});
