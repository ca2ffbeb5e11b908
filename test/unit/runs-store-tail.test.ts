import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { FileTail } from '../../src/runs/store/fileTail';
import { DescentRunReader, CsvRunReader } from '../../src/runs/store/runReaders';

const dir = mkdtempSync(path.join(tmpdir(), 'descent-tail-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const text = (chunks: Uint8Array[]) => Buffer.concat(chunks).toString('utf8');

test('a tail returns only the bytes appended since the last read', async () => {
  const f = path.join(dir, 'a.txt');
  writeFileSync(f, 'one\n');
  const tail = new FileTail(f);
  const r1 = await tail.read();
  assert.equal(text(r1.chunks), 'one\n');
  assert.equal(r1.reset, false);
  const r2 = await tail.read();
  assert.equal(r2.chunks.length, 0);
  appendFileSync(f, 'two\nthr');
  assert.equal(text((await tail.read()).chunks), 'two\nthr');
  appendFileSync(f, 'ee\n');
  assert.equal(text((await tail.read()).chunks), 'ee\n');
  assert.equal(tail.position, 14);
});

test('a truncated file is read again from the start, and reported as reset', async () => {
  const f = path.join(dir, 'b.txt');
  writeFileSync(f, 'aaaa\nbbbb\n');
  const tail = new FileTail(f);
  await tail.read();
  truncateSync(f, 0);
  appendFileSync(f, 'c\n');
  const r = await tail.read();
  assert.equal(r.reset, true);
  assert.equal(text(r.chunks), 'c\n');
});

test('a replaced (rotated) file is read from the start even when it is longer', async () => {
  const f = path.join(dir, 'c.txt');
  writeFileSync(f, 'old\n');
  const tail = new FileTail(f);
  await tail.read();
  const tmp = path.join(dir, 'c.tmp');
  writeFileSync(tmp, 'new content, longer\n');
  renameSync(tmp, f);
  const r = await tail.read();
  assert.equal(r.reset, true);
  assert.equal(text(r.chunks), 'new content, longer\n');
});

test('a missing file is reported, then read when it appears', async () => {
  const f = path.join(dir, 'later.txt');
  const tail = new FileTail(f);
  assert.equal((await tail.read()).missing, true);
  writeFileSync(f, 'x\n');
  assert.equal(text((await tail.read()).chunks), 'x\n');
});

test('large reads stop at maxReadBytes and continue on the next read', async () => {
  const f = path.join(dir, 'big.txt');
  writeFileSync(f, 'x'.repeat(1000));
  const tail = new FileTail(f, 300);
  let total = 0;
  for (let i = 0; i < 4; i++) total += Buffer.concat((await tail.read()).chunks).length;
  assert.equal(total, 1000);
  assert.equal(tail.behind, false);
});

test('a Descent run is tailed: appended chunks, a partial last line, then truncation restarts the series', async () => {
  const run = path.join(dir, 'run1');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(run);
  const m = path.join(run, 'metrics.jsonl');
  writeFileSync(m, '{"step":0,"split":"train","loss":1.5}\n{"step":1,"split":"train","lo');
  const r = new DescentRunReader({ key: run, kind: 'descent', dir: run });
  assert.equal(await r.refresh(), true);
  const loss = () => r.series.find('loss', 'train');
  assert.equal(loss()?.stats.count, 1);
  appendFileSync(m, 'ss":1.25}\n{"step":2,"split":"val","loss":"NaN"}\ngarbage\n');
  await r.refresh();
  assert.equal(loss()?.stats.count, 2);
  assert.equal(loss()?.stats.last?.value, 1.25);
  assert.ok(Number.isNaN(r.series.find('loss', 'val')!.stats.last!.value));
  assert.equal(r.problems, 1);
  assert.equal(r.records, 3);
  assert.equal(await r.refresh(), false, 'nothing new: no change');
  const resets = r.resets;
  writeFileSync(m, '{"step":0,"split":"train","loss":9}\n');
  await r.refresh();
  assert.equal(r.resets, resets + 1);
  assert.equal(loss()?.stats.count, 1);
  assert.equal(loss()?.stats.last?.value, 9);
  writeFileSync(path.join(run, 'run.json'), JSON.stringify({ formatVersion: 1, id: 'x', name: 'run1', status: 'finished', hyperparameters: { epochs: 3 } }));
  assert.equal(await r.refresh(), true);
  assert.equal(r.info?.status, 'finished');
});

test('a Lightning CSV rewritten with a new column is read again; appended rows are read incrementally', async () => {
  const f = path.join(dir, 'metrics.csv');
  writeFileSync(f, 'epoch,step,train_loss\n0,0,1.0\n0,1,0.9\n');
  const r = new CsvRunReader({ key: dir, kind: 'lightning', dir, file: f });
  await r.refresh();
  assert.equal(r.series.find('loss', 'train')?.stats.count, 2);
  appendFileSync(f, '0,2,0.8\n');
  await r.refresh();
  assert.equal(r.series.find('loss', 'train')?.stats.count, 3);
  assert.equal(r.resets, 0);
  writeFileSync(f, 'epoch,step,train_loss,val_loss\n0,0,1.0,\n0,1,0.9,\n0,2,0.8,\n0,3,,0.7\n');
  await r.refresh();
  assert.equal(r.resets, 1);
  assert.equal(r.series.find('loss', 'train')?.stats.count, 3);
  assert.equal(r.series.find('loss', 'val')?.stats.count, 1);
});
