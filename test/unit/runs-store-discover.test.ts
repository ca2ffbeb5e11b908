import assert from 'node:assert/strict';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { csvKindFromHeader, discoverRuns } from '../../src/runs/store/discover';
import { RunStore } from '../../src/runs/store/runStore';
import { effectiveStatus } from '../../src/runs/store/status';

const FIXTURE = path.join(import.meta.dirname, '..', 'fixtures', 'workspace', 'runs');
const root = mkdtempSync(path.join(tmpdir(), 'descent-store-'));
cpSync(FIXTURE, path.join(root, 'runs'), { recursive: true });
// Things discovery must skip or ignore.
cpSync(path.join(FIXTURE, 'mnist-baseline'), path.join(root, 'node_modules', 'pkg', 'runs', 'x'), { recursive: true });
writeFileSync(path.join(root, 'data.csv'), 'a,b\n1,2\n');
after(() => rmSync(root, { recursive: true, force: true }));

test('discovery finds Descent runs, TensorBoard folders, Lightning and Keras CSV logs, and nothing else', async () => {
  const found = await discoverRuns([root]);
  const byName = Object.fromEntries(found.map((f) => [path.relative(root, f.key), f.kind]));
  assert.deepEqual(byName, {
    'runs/keras-cnn/training.log': 'keras',
    'runs/lightning-mlp': 'lightning',
    'runs/mnist-baseline': 'descent',
    'runs/mnist-lr-too-high': 'descent',
    'runs/resnet-killed': 'descent',
    'runs/tensorboard-resnet': 'tensorboard',
  });
});

test('CSV kinds come from the header', () => {
  assert.equal(csvKindFromHeader('epoch,step,train_loss\n', 'metrics.csv'), 'lightning');
  assert.equal(csvKindFromHeader('epoch,accuracy,loss,val_loss\n', 'training.log'), 'keras');
  assert.equal(csvKindFromHeader('name,value\n', 'x.csv'), undefined);
});

test('interrupted: still marked running, its process gone, nothing written recently', () => {
  const base = { written: 'running' as const, now: 1_000_000, isAlive: () => false };
  assert.equal(effectiveStatus({ ...base, pid: 42, lastWriteMs: 1_000_000 - 60_000 }), 'interrupted');
  assert.equal(effectiveStatus({ ...base, pid: 42, lastWriteMs: 1_000_000 - 1_000 }), 'running', 'a recent write: still running');
  assert.equal(effectiveStatus({ ...base, pid: 42, lastWriteMs: 0, isAlive: () => true }), 'running');
  assert.equal(effectiveStatus({ ...base, pid: null, lastWriteMs: 1_000_000 - 60_000 }), 'running', 'no pid: longer grace');
  assert.equal(effectiveStatus({ ...base, pid: null, lastWriteMs: 0 }), 'interrupted');
  assert.equal(effectiveStatus({ ...base, written: 'failed', pid: 42, lastWriteMs: 0 }), 'failed');
  assert.equal(effectiveStatus({ written: undefined, pid: undefined, lastWriteMs: 0, now: 1_000_000 }), 'finished');
});

test('the store lists every run with status and series, newest first, and sees appends', async () => {
  const store = new RunStore([root], { coalesceMs: 0, pollMs: 0 });
  const events: { changed: string[]; structural: boolean }[] = [];
  store.onDidChange((c) => events.push(c));
  await store.rescan();
  const list = store.list().map((r) => r.summary());
  const status = Object.fromEntries(list.map((s) => [s.name, s.status]));
  assert.equal(status['mnist-baseline'], 'finished');
  assert.equal(status['mnist-lr-too-high'], 'failed');
  assert.equal(status['resnet-killed'], 'interrupted', 'the killed process left "running" in run.json');
  assert.equal(status['tensorboard-resnet'], 'finished');
  assert.equal(list.length, 6);
  const baseline = list.find((s) => s.name === 'mnist-baseline')!;
  assert.deepEqual(
    baseline.series.map((s) => `${s.split}/${s.metric}:${s.count}`).sort(),
    ['train/acc:200', 'train/loss:200', 'train/lr:200', 'val/acc:5', 'val/loss:5'],
  );
  assert.equal(baseline.info?.hyperparameters.epochs, 5);
  const tb = store.list().find((r) => r.found.kind === 'tensorboard')!;
  assert.ok(tb.series.entries().length > 0);
  const keras = list.find((s) => s.kind === 'keras')!;
  assert.ok(keras.series.some((s) => s.metric === 'loss' && s.split === 'val'));
  // Newest first: Descent runs carry start times; imported runs sort by their records' times.
  const starts = store.list().map((r) => r.summary().startMs ?? 0);
  assert.ok(events.some((e) => e.structural));

  // A new record appended to a run: the store reads only it and says which run changed.
  events.length = 0;
  const file = path.join(root, 'runs', 'mnist-baseline', 'metrics.jsonl');
  const before = readFileSync(file).length;
  appendFileSync(file, '{"step":200,"epoch":5,"split":"train","loss":0.01}\n');
  store.invalidate(file);
  await store.flush();
  await new Promise((r) => setTimeout(r, 10));
  await store.flush();
  assert.deepEqual(events.map((e) => e.changed), [[baseline.key]]);
  assert.equal(store.get(baseline.key)!.series.find('loss', 'train')!.stats.count, 201);
  assert.ok(before > 0 && starts.length === 6);

  // A new run folder appears: a rescan finds it.
  const fresh = path.join(root, 'runs', 'fresh');
  cpSync(path.join(root, 'runs', 'mnist-baseline'), fresh, { recursive: true });
  store.invalidate(path.join(fresh, 'run.json'), 'create');
  await new Promise((r) => setTimeout(r, 10));
  await store.flush();
  assert.ok(store.get(fresh), 'the new run is listed');
  // A CSV log appearing outside known runs is a run once its header says Keras; a plain log never is.
  const { mkdirSync } = await import('node:fs');
  mkdirSync(path.join(root, 'other'));
  writeFileSync(path.join(root, 'other', 'train.log'), 'starting training\n');
  store.invalidate(path.join(root, 'other', 'train.log'), 'create');
  writeFileSync(path.join(root, 'other', 'history.csv'), 'epoch,loss,val_loss\n0,1.0,1.1\n');
  store.invalidate(path.join(root, 'other', 'history.csv'), 'change');
  await new Promise((r) => setTimeout(r, 10));
  await store.flush();
  assert.equal(store.get(path.join(root, 'other', 'history.csv'))?.found.kind, 'keras');
  assert.equal(store.list().length, 8);
  // Deleted: gone from the list.
  rmSync(fresh, { recursive: true });
  store.invalidate(fresh, 'delete');
  await new Promise((r) => setTimeout(r, 10));
  await store.flush();
  assert.equal(store.get(fresh), undefined);
  store.dispose();
});
