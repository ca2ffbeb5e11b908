// Marching squares on known shapes: a cone gives one closed circle per level at the level's radius; levels are
// spaced as asked; a saddle is resolved consistently; lines are labelled halfway along.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeNormalizer, viridis } from '../../src/landscape/colors';
import { contourAll, contourLevels, contourLines, formatLevel, labelPlacement, polylineLength } from '../../src/landscape/contours';
import { axisPoints } from '../../src/protocol/landscape';

function sample(n: number, f: (x: number, y: number) => number) {
  const xs = axisPoints({ min: -1, max: 1, num: n });
  const ys = axisPoints({ min: -1, max: 1, num: n });
  const values = new Float64Array(n * n);
  for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) values[j * n + i] = f(xs[i]!, ys[j]!);
  return { values, xs, ys };
}

test('a cone gives concentric closed contours at the right radii', () => {
  const grid = sample(81, (x, y) => Math.hypot(x, y));
  for (const r of [0.2, 0.45, 0.7, 0.95]) {
    const lines = contourLines(grid, r);
    assert.equal(lines.length, 1, `level ${r}: ${lines.length} lines`);
    const line = lines[0]!;
    assert.ok(line.closed, `level ${r} is closed`);
    assert.deepEqual(line.points[0], line.points[line.points.length - 1]);
    for (const [x, y] of line.points) assert.ok(Math.abs(Math.hypot(x, y) - r) < 0.01, `point (${x}, ${y}) is at radius ${Math.hypot(x, y)}, not ${r}`);
    // Its length is the circle's circumference (a polygon inscribed in it: slightly shorter).
    const len = polylineLength(line.points);
    assert.ok(Math.abs(len - 2 * Math.PI * r) / (2 * Math.PI * r) < 0.01, `length ${len} vs ${2 * Math.PI * r}`);
  }
});

test('a level that leaves the grid gives open lines ending on the border', () => {
  const grid = sample(41, (x, y) => Math.hypot(x, y));
  const lines = contourLines(grid, 1.2); // cuts the four corners
  assert.equal(lines.length, 4);
  for (const l of lines) {
    assert.equal(l.closed, false);
    for (const p of [l.points[0]!, l.points[l.points.length - 1]!]) assert.ok(Math.abs(Math.abs(p[0]) - 1) < 1e-9 || Math.abs(Math.abs(p[1]) - 1) < 1e-9, `end ${p} is on the border`);
  }
});

test('a plane gives one straight line where it crosses the level', () => {
  const grid = sample(21, (x, y) => x + 2 * y);
  const [line, ...rest] = contourLines(grid, 0.5);
  assert.equal(rest.length, 0);
  for (const [x, y] of line!.points) assert.ok(Math.abs(x + 2 * y - 0.5) < 1e-9);
});

test('a saddle (x·y) splits into two lines that do not cross', () => {
  const grid = sample(20, (x, y) => x * y);
  const lines = contourLines(grid, 0.1);
  assert.equal(lines.length, 2, 'one hyperbola branch in each of two quadrants');
  for (const l of lines) {
    const signs = new Set(l.points.map(([x]) => Math.sign(x)));
    assert.equal(signs.size, 1, 'each branch stays in its quadrant');
    for (const [x, y] of l.points) assert.ok(Math.abs(x * y - 0.1) < 0.01);
  }
});

test('unknown values (NaN) produce no lines through their cells', () => {
  const grid = sample(21, (x, y) => (y > 0.5 ? NaN : Math.hypot(x, y)));
  const lines = contourAll(grid, [0.3]);
  assert.equal(lines.length, 1, 'the circle of radius 0.3 is entirely below y = 0.5');
  const cut = contourLines(grid, 0.8);
  for (const l of cut) for (const [, y] of l.points) assert.ok(y <= 0.5 + 1e-9);
});

test('levels: linear equal steps, log-spaced bunched near the minimum', () => {
  const values = [0.1, 1.1, 10.1];
  const lin = contourLevels(values, 4, false);
  assert.deepEqual(lin.map((v) => Number(v.toFixed(6))), [2.1, 4.1, 6.1, 8.1]);
  const log = contourLevels(values, 4, true);
  assert.equal(log.length, 4);
  for (let k = 1; k < log.length; k++) assert.ok(log[k]! > log[k - 1]!);
  assert.ok(log[0]! > 0.1 && log[3]! < 10.1);
  // Equal ratios of (level - min).
  const r1 = (log[1]! - 0.1) / (log[0]! - 0.1);
  const r2 = (log[3]! - 0.1) / (log[2]! - 0.1);
  assert.ok(Math.abs(r1 - r2) < 1e-9);
  assert.deepEqual(contourLevels([1, 1, NaN], 5, false), [], 'a flat grid has no levels');
});

test('labels: halfway along, never upside down, none on short lines', () => {
  const pts: [number, number][] = [[1, 0], [0, 0]]; // right to left: text would be upside down
  const at = labelPlacement(pts, 100, 100, 10)!;
  assert.deepEqual([at.x, at.y], [0.5, 0]);
  assert.ok(Math.abs(at.angle) < 1e-9);
  assert.equal(labelPlacement(pts, 1, 1, 10), undefined);
  assert.equal(formatLevel(0.123456), '0.123');
  assert.equal(formatLevel(12345.6), '12300');
  assert.equal(formatLevel(0.0001234), '1.2e-4');
});

test('colours: viridis ends, normaliser linear and log', () => {
  assert.deepEqual(viridis(0), [68, 1, 84]);
  assert.deepEqual(viridis(1), [253, 231, 37]);
  assert.deepEqual(viridis(2), [253, 231, 37]);
  const lin = makeNormalizer([1, 3, NaN], false);
  assert.equal(lin.norm(2), 0.5);
  assert.equal(lin.norm(Infinity), 1);
  const log = makeNormalizer([1, 3], true);
  assert.ok(Math.abs(log.norm(1)) < 1e-12);
  assert.ok(Math.abs(log.norm(3) - 1) < 1e-3);
  assert.ok(log.norm(1.1) > 0.5, 'log scale spreads the values near the minimum');
});
