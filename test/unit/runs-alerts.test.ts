import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import type { MetricRecord } from '../../src/protocol/runFormat';
import { AlertBook, EXPLODE, LossMonitor, alertMessage, died, explodes, isLossMetric, isStalled, median } from '../../src/runs/alerts/detect';
import { RenameError, renameRunDirectory, validateRunName } from '../../src/runs/store/rename';
import { activeRun, activeRunText, headlineLoss, shortDuration } from '../../src/runs/view/activeRun';
import type { RunSummary } from '../../src/runs/store/runStore';

const rec = (step: number, values: Record<string, number>, split: string | undefined = 'train'): MetricRecord => ({ step, t: 1000 + step, epoch: undefined, split, values });

test('median of odd and even counts; empty is NaN', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

test('loss metrics are those whose name contains "loss"', () => {
  for (const n of ['loss', 'val_loss', 'Loss', 'train/loss_total', 'kl_loss']) assert.ok(isLossMetric(n), n);
  for (const n of ['acc', 'lr', 'grad_norm']) assert.ok(!isLossMetric(n), n);
});

test('explodes: only after warm-up, only above factor × the median of the recent window', () => {
  const warm = Array.from({ length: EXPLODE.warmup - 1 }, () => 1);
  assert.equal(explodes(warm, 1000), undefined, 'not before warm-up');
  const h = Array.from({ length: EXPLODE.warmup }, () => 1);
  assert.equal(explodes(h, 10), undefined, 'exactly 10× is not above');
  assert.equal(explodes(h, 10.01), 1);
  assert.equal(explodes(h, NaN), undefined, 'NaN is the nan alert, not explode');
  // The median, not the mean or the minimum: one low outlier does not lower the reference.
  const mixed = [...Array.from({ length: 30 }, () => 2), 0.001];
  assert.equal(explodes(mixed, 15), undefined);
  assert.equal(explodes(mixed, 25), 2);
  // Only the last `window` values count: an old high plateau is forgotten.
  const old = [...Array.from({ length: 100 }, () => 100), ...Array.from({ length: EXPLODE.window }, () => 1)];
  assert.equal(explodes(old, 50), 1);
  // A loss around zero or negative never explodes.
  assert.equal(explodes(Array.from({ length: 30 }, () => -5), 100), undefined);
  assert.equal(explodes(Array.from({ length: 30 }, () => 0), 100), undefined);
});

test('LossMonitor: the first NaN / infinite loss and the first explosion, per series, only loss metrics', () => {
  const m = new LossMonitor();
  for (let s = 0; s < 30; s++) m.push(rec(s, { loss: 1 / (s + 1) + 0.5, acc: NaN }));
  assert.deepEqual(m.findings(), [], 'a NaN accuracy is no loss alert');
  m.push(rec(30, { loss: Infinity }));
  m.push(rec(31, { loss: NaN }));
  assert.equal(m.nan?.step, 30);
  assert.equal(m.nan?.value, Infinity);
  const explode = () => m.explode;
  assert.equal(explode(), undefined, 'non-finite values are not explosions');
  m.push(rec(32, { loss: 100 }));
  assert.equal(explode()?.step, 32);
  assert.equal(explode()?.metric, 'loss');
  assert.ok(explode()!.median! > 0.5 && explode()!.median! < 0.6);
  m.push(rec(33, { loss: 1000 }));
  assert.equal(explode()?.step, 32, 'the first one is kept');
  // Each split is its own series: a val loss on another scale does not explode against train.
  const v = new LossMonitor();
  for (let s = 0; s < 30; s++) {
    v.push(rec(s, { loss: 0.1 }, 'train'));
    v.push(rec(s, { loss: 5 }, 'val'));
  }
  assert.deepEqual(v.findings(), []);
  v.push(rec(30, { loss: 60 }, 'val'));
  assert.equal(v.explode?.split, 'val');
});

test('stall: running and silent for at least the configured time; 0 disables', () => {
  const min = 60_000;
  assert.equal(isStalled('running', 0, 10 * min - 1, 10 * min), false);
  assert.equal(isStalled('running', 0, 10 * min, 10 * min), true);
  assert.equal(isStalled('finished', 0, 100 * min, 10 * min), false);
  assert.equal(isStalled('running', 0, 100 * min, 0), false);
  assert.equal(isStalled('running', undefined, 100 * min, 10 * min), false);
});

test('died: a watched run that became failed or interrupted', () => {
  assert.equal(died(true, 'failed'), true);
  assert.equal(died(true, 'interrupted'), true);
  assert.equal(died(true, 'stopped'), false, 'a stop is what the user asked for');
  assert.equal(died(true, 'finished'), false);
  assert.equal(died(false, 'failed'), false, 'a run never seen running (history) raises nothing');
});

test('AlertBook: once per run and kind', () => {
  const b = new AlertBook();
  assert.equal(b.take('a', 'nan'), true);
  assert.equal(b.take('a', 'nan'), false);
  assert.equal(b.take('a', 'explode'), true);
  assert.equal(b.take('b', 'nan'), true);
  assert.ok(b.has('a', 'nan'));
});

test('alert messages say what happened', () => {
  assert.match(alertMessage('mnist', { kind: 'nan', metric: 'loss', split: 'train', step: 12, value: NaN }), /run mnist: train loss became NaN at step 12/);
  assert.match(alertMessage('m', { kind: 'explode', metric: 'loss', split: undefined, step: 40, value: 123.456, median: 0.5 }), /loss exploded at step 40: 123.5, more than 10× its recent median 0.5/);
  assert.match(alertMessage('m', { kind: 'stall', minutes: 10 }), /logged nothing for 10 minutes\.$/);
  assert.match(alertMessage('m', { kind: 'stall', minutes: 1 }), /logged nothing for 1 minute\.$/);
  assert.match(alertMessage('m', { kind: 'stall', minutes: 0.05 }), /logged nothing for 3 seconds\.$/);
  assert.match(alertMessage('m', { kind: 'died', status: 'failed', exitCode: 1, stderrLine: 'RuntimeError: boom' }), /failed with exit code 1: RuntimeError: boom/);
  assert.match(alertMessage('m', { kind: 'died', status: 'interrupted' }), /process is gone \(interrupted\)\.$/);
});

test('rename validation: folder-safe names, not taken (ignoring case), not the same', () => {
  const taken = ['mnist-a', 'Other', 'notes.txt'];
  assert.equal(validateRunName('mnist-b', 'mnist-a', taken), undefined);
  assert.equal(validateRunName('  mnist_b.2 ', 'mnist-a', taken), undefined, 'trimmed');
  assert.match(validateRunName('', 'mnist-a', taken)!, /Give the run a name/);
  assert.match(validateRunName('mnist-a', 'mnist-a', taken)!, /already its name/);
  assert.match(validateRunName('other', 'mnist-a', taken)!, /taken/);
  assert.match(validateRunName('NOTES.TXT', 'mnist-a', taken)!, /taken/);
  assert.match(validateRunName('a/b', 'mnist-a', taken)!, /letters, digits/);
  assert.match(validateRunName('a b', 'mnist-a', taken)!, /letters, digits/);
  assert.match(validateRunName('..', 'mnist-a', taken)!, /start with a dot/);
  assert.match(validateRunName('.hidden', 'mnist-a', taken)!, /start with a dot/);
  assert.match(validateRunName('run.', 'mnist-a', taken)!, /end with a dot/);
  assert.match(validateRunName('CON', 'mnist-a', taken)!, /reserved/);
  assert.match(validateRunName('x'.repeat(81), 'mnist-a', taken)!, /At most 80/);
  assert.equal(validateRunName('Mnist-A', 'mnist-a', taken), undefined, 'a change of case of its own name is allowed');
});

test('renameRunDirectory renames the folder and run.json name, keeps the id and everything else', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'descent-rename-'));
  try {
    const dir = path.join(root, 'old');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify({ formatVersion: 1, id: 'abc-123', name: 'old', status: 'finished', extra: { k: 1 } }));
    fs.writeFileSync(path.join(dir, 'metrics.jsonl'), '{"step":0,"loss":1}\n');
    fs.mkdirSync(path.join(root, 'taken'));
    assert.throws(() => renameRunDirectory(dir, 'taken'), RenameError);
    assert.throws(() => renameRunDirectory(dir, 'bad/name'), RenameError);
    const target = renameRunDirectory(dir, 'new-name');
    assert.equal(target, path.join(root, 'new-name'));
    assert.ok(!fs.existsSync(dir));
    const info = JSON.parse(fs.readFileSync(path.join(target, 'run.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(info, { formatVersion: 1, id: 'abc-123', name: 'new-name', status: 'finished', extra: { k: 1 } });
    assert.equal(fs.readFileSync(path.join(target, 'metrics.jsonl'), 'utf8'), '{"step":0,"loss":1}\n');
    assert.deepEqual(fs.readdirSync(target).sort(), ['metrics.jsonl', 'run.json'], 'no temporary file left');
    // A run without run.json: only the folder.
    fs.mkdirSync(path.join(root, 'bare'));
    fs.writeFileSync(path.join(root, 'bare', 'metrics.jsonl'), '');
    assert.equal(renameRunDirectory(path.join(root, 'bare'), 'bare2'), path.join(root, 'bare2'));
    assert.deepEqual(fs.readdirSync(path.join(root, 'bare2')), ['metrics.jsonl']);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

function summary(over: Partial<RunSummary>): RunSummary {
  return {
    key: '/w/runs/mnist', kind: 'descent', name: 'mnist', dir: '/w/runs/mnist', file: undefined, status: 'running', info: undefined,
    startMs: 0, endMs: undefined, lastWriteMs: 0, records: 10, problems: 0, series: [], last: [], ...over,
  };
}

test('status-bar text of the active run: name, progress, train loss, ETA', () => {
  const s = summary({
    last: [
      { metric: 'loss', split: 'val', step: 9, value: 0.5 },
      { metric: 'loss', split: 'train', step: 9, value: 0.41234 },
      { metric: 'acc', split: 'val', step: 9, value: 0.9 },
    ],
  });
  assert.equal(headlineLoss(s), 0.41234);
  assert.equal(activeRunText(s, { unit: 'epoch', done: 3, total: 10, etaSeconds: 125 }), '$(pulse) mnist · epoch 3/10 · loss 0.4123 · ETA 2m');
  assert.equal(activeRunText(s, { unit: 'step', done: 30, total: 100, etaSeconds: null }), '$(pulse) mnist · step 30/100 · loss 0.4123');
  assert.equal(activeRunText(summary({}), null), '$(pulse) mnist');
  assert.equal(shortDuration(45), '45s');
  assert.equal(shortDuration(3900), '1h 05m');
  assert.deepEqual(activeRun([{ status: 'finished', n: 1 }, { status: 'running', n: 2 }, { status: 'running', n: 3 }]), { status: 'running', n: 2 });
  assert.equal(activeRun([{ status: 'finished' }]), undefined);
});
