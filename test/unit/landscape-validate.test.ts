/* eslint-disable @typescript-eslint/no-explicit-any -- the tests break a JSON document field by field */
// The landscape.json validator: a good file passes unchanged; each kind of bad field is reported with where and why;
// optional fields that are wrong are dropped with a warning; Python's NaN / Infinity tokens are read.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cellValue, gridValues, parseLandscapeText, validateLandscape } from '../../src/protocol/landscape';
import { bowl } from './landscape-fixture';

function errorsOf(mutate: (d: Record<string, any>) => void): string[] {
  const d = structuredClone(bowl(5, 4)) as Record<string, any>;
  mutate(d);
  const v = validateLandscape(d);
  assert.equal(v.ok, false, 'expected the file to be refused');
  return v.ok ? [] : v.errors;
}

test('a good file passes with its values', () => {
  const v = validateLandscape(bowl(5, 4));
  assert.ok(v.ok, JSON.stringify(!v.ok && v.errors));
  assert.deepEqual(v.warnings, []);
  assert.equal(v.value.grid.dims, 2);
  assert.equal(v.value.metrics.loss.length, 4, 'rows = y.num');
  assert.equal(v.value.metrics.loss[0]!.length, 5, 'columns = x.num');
  assert.equal(v.value.sharpness?.topEigenvalue, 6);
  assert.equal(v.value.progress.done, 20);
});

test('a 1D file has one row and no y axis', () => {
  const d = bowl(7, 1) as Record<string, any>;
  d.grid = { dims: 1, x: d.grid.x };
  const v = validateLandscape(d);
  assert.ok(v.ok, JSON.stringify(!v.ok && v.errors));
  assert.equal(v.value.grid.y, null);
});

test('null cells (not computed yet) are allowed while running', () => {
  const d = bowl(5, 4) as Record<string, any>;
  d.status = 'running';
  d.metrics.loss[3] = [null, null, null, null, null];
  d.progress.done = 15;
  const v = validateLandscape(d);
  assert.ok(v.ok);
  assert.ok(Number.isNaN(gridValues(v.value.metrics.loss)[19]!));
});

test('each bad required field is reported with its place', () => {
  const cases: [string, (d: Record<string, any>) => void, RegExp][] = [
    ['not an object', (d) => Object.keys(d).forEach((k) => delete d[k]), /formatVersion: missing/],
    ['future version', (d) => (d.formatVersion = 2), /formatVersion: 2 is not supported/],
    ['status', (d) => (d.status = 'finished'), /status: "finished" is not one of/],
    ['name', (d) => (d.name = 3), /name: must be a string/],
    ['directions missing', (d) => delete d.directions, /directions: missing/],
    ['directions kind', (d) => (d.directions.kind = 'gaussian'), /directions\.kind: "gaussian"/],
    ['dims', (d) => (d.grid.dims = 3), /grid\.dims: must be 1 or 2/],
    ['num', (d) => (d.grid.x.num = 2.5), /grid\.x\.num: must be an integer/],
    ['min > max', (d) => (d.grid.y.max = -2), /grid\.y: max \(-2\) must be greater than min/],
    ['huge grid', (d) => (d.grid.x.num = 5000), /more than Descent draws/],
    ['y missing in 2D', (d) => delete d.grid.y, /grid\.y: missing/],
    ['rows', (d) => d.metrics.loss.pop(), /metrics\.loss: has 3 rows, the grid has 4/],
    ['columns', (d) => d.metrics.loss[1].push(1), /metrics\.loss: row 1 has 6 values/],
    ['cell', (d) => (d.metrics.loss[2][3] = 'abc'), /metrics\.loss: \[2\]\[3\] is "abc"/],
    ['metrics missing', (d) => delete d.metrics, /metrics: missing/],
    ['loss not a list', (d) => (d.metrics.loss = 1), /metrics\.loss: must be a list of rows/],
  ];
  for (const [name, mutate, expected] of cases) {
    const errors = errorsOf(mutate);
    assert.ok(errors.some((e) => expected.test(e)), `${name}: ${JSON.stringify(errors)}`);
  }
});

test('a non-object is refused', () => {
  for (const raw of [null, 3, 'x', [1]]) assert.equal(validateLandscape(raw).ok, false);
});

test('wrong optional fields are dropped with a warning, the file still draws', () => {
  const d = bowl(5, 4) as Record<string, any>;
  d.path = { x: [0, 1], y: [0], labels: ['a', 'b'] };
  d.sharpness = { topEigenvalue: 'big', trace: 3 };
  d.valMetrics = { loss: [[1]] };
  d.directions.explainedVariance = ['x'];
  d.metrics.accuracy = [[1, 2]];
  const v = validateLandscape(d);
  assert.ok(v.ok, JSON.stringify(!v.ok && v.errors));
  assert.equal(v.value.path, null);
  assert.equal(v.value.sharpness?.topEigenvalue, null);
  assert.equal(v.value.sharpness?.trace, 3);
  assert.equal(v.value.valMetrics, null);
  assert.equal(v.value.metrics.accuracy, null);
  for (const where of ['path', 'sharpness.topEigenvalue', 'valMetrics.loss', 'explainedVariance', 'metrics.accuracy']) {
    assert.ok(v.warnings.some((w) => w.includes(where)), `no warning about ${where}: ${JSON.stringify(v.warnings)}`);
  }
});

test("Python's NaN / Infinity tokens are read outside strings, kept inside", () => {
  const d = bowl(3, 2) as Record<string, any>;
  d.name = 'NaN-Infinity-run';
  const text = JSON.stringify(d).replace('"loss":[[', '"loss":[[NaN,Infinity,-Infinity],[').replace(/\],\[[^\]]*\]\],"accuracy"/, ']],"accuracy"');
  const v = parseLandscapeText(text);
  assert.ok(v.ok, JSON.stringify(!v.ok && v.errors));
  assert.equal(v.value.name, 'NaN-Infinity-run');
  const row = v.value.metrics.loss[0]!;
  assert.deepEqual(row, ['NaN', 'Infinity', '-Infinity']);
  assert.ok(Number.isNaN(cellValue(row[0])));
  assert.equal(cellValue(row[1]), Infinity);
  assert.equal(cellValue(row[2]), -Infinity);
});

test('broken JSON says so', () => {
  const v = parseLandscapeText('{"formatVersion": 1, "name": ');
  assert.equal(v.ok, false);
  assert.match(!v.ok ? v.errors[0]! : '', /not valid JSON/);
});
