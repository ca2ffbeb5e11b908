import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { csvRows, parseMetricsCsv } from '../../src/runs/format/csv';
import { inferSplit } from '../../src/runs/format/split';

const dir = join(__dirname, '..', 'fixtures', 'runs');

test("Lightning's CSVLogger: sparse rows, split from column names, one record per split present", () => {
  const r = parseMetricsCsv(readFileSync(join(dir, 'lightning', 'metrics.csv'), 'utf8'));
  assert.equal(r.flavor, 'lightning');
  assert.deepEqual(r.problems, []);
  const train = r.records.filter((x) => x.split === 'train' && 'loss_step' in x.values);
  assert.equal(train.length, 12);
  assert.deepEqual(train.map((x) => x.step), [...Array(12).keys()]);
  const val = r.records.filter((x) => x.split === 'val');
  assert.deepEqual(val.map((x) => [x.step, x.epoch, Object.keys(x.values).sort()]), [
    [3, 0, ['acc', 'loss']],
    [7, 1, ['acc', 'loss']],
    [11, 2, ['acc', 'loss']],
  ]);
  const epochLoss = r.records.filter((x) => 'loss_epoch' in x.values);
  assert.equal(epochLoss.length, 3);
  assert.ok(r.records.every((x) => x.t === undefined));
});

test("Keras's CSVLogger: one row per epoch, val_ columns are validation, step = epoch", () => {
  const r = parseMetricsCsv(readFileSync(join(dir, 'keras', 'training.log'), 'utf8'));
  assert.equal(r.flavor, 'keras');
  assert.deepEqual(r.problems, []);
  assert.equal(r.records.length, 8);
  const val = r.records.filter((x) => x.split === 'val');
  assert.deepEqual(val.map((x) => x.step), [0, 1, 2, 3]);
  assert.deepEqual(Object.keys(val[0]!.values).sort(), ['accuracy', 'loss']);
  const train = r.records.filter((x) => x.split === 'train');
  assert.equal(train[3]!.epoch, 3);
});

test('NaN and inf as Python writes them, quoted cells, bad rows reported, partial last row while writing', () => {
  const text = 'epoch,loss,val_loss,"odd, name"\n0,nan,inf,1\n1,0.5\n2,-inf,0.25,"2"\n3,0.1,0.2,3';
  const r = parseMetricsCsv(text);
  assert.equal(r.flavor, 'keras');
  assert.deepEqual(r.problems, [{ line: 3, reason: 'expected 4 cells, found 2' }]);
  assert.ok(Number.isNaN(r.records[0]!.values.loss));
  assert.equal(r.records[1]!.values.loss, Infinity);
  assert.equal(r.records.find((x) => x.step === 2 && x.split === 'train')!.values['odd, name'], 2);
  assert.equal(r.records.filter((x) => x.step === 3).length, 2);
  assert.equal(parseMetricsCsv(text, false).records.filter((x) => x.step === 3).length, 0);
});

test('a CSV that is neither says so; an unterminated quote is reported; CRLF accepted', () => {
  assert.equal(parseMetricsCsv('a,b\n1,2\n').flavor, undefined);
  assert.equal(parseMetricsCsv('a,b\n1,2\n').problems.length, 1);
  const problems: { line: number; reason: string }[] = [];
  assert.equal(csvRows('x,y\r\n1,"open\n', true, problems).length, 1);
  assert.match(problems[0]!.reason, /unterminated/);
  assert.deepEqual(parseMetricsCsv('').records, []);
});

test('split inference from tags and columns', () => {
  const cases: [string, string, string | undefined][] = [
    ['val_loss', 'loss', 'val'],
    ['train_loss_step', 'loss_step', 'train'],
    ['Loss/train', 'Loss', 'train'],
    ['loss/validation', 'loss', 'val'],
    ['metrics/test/acc', 'metrics/acc', 'test'],
    ['acc-valid', 'acc', 'val'],
    ['lr-Adam', 'lr-Adam', undefined],
    ['val', 'val', undefined],
    ['loss', 'loss', undefined],
    ['training.loss', 'loss', 'train'],
  ];
  for (const [name, metric, split] of cases) assert.deepEqual(inferSplit(name), { metric, split }, name);
});
