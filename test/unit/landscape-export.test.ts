// CSV and VTK writers, read back: every grid point once, values equal to the landscape's; the launcher's
// arguments, resume arguments and progress lines.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { landscapeCsv, landscapeVtk } from '../../src/landscape/exporters';
import { engineArgs, formatEta, interpolationEnds, parseEngineLine, parseOptions, resumeArgs, type LandscapeOptions } from '../../src/landscape/options';
import { axisPoints, validateLandscape } from '../../src/protocol/landscape';
import { bowl } from './landscape-fixture';

function result(doc: Record<string, unknown>) {
  const v = validateLandscape(doc);
  assert.ok(v.ok);
  return v.value;
}

test('CSV: one row per grid point with x, y, loss, accuracy', () => {
  const r = result(bowl(5, 3));
  const lines = landscapeCsv(r).trimEnd().split('\n');
  assert.equal(lines[0], 'x,y,loss,accuracy');
  assert.equal(lines.length, 1 + 15);
  const xs = axisPoints(r.grid.x);
  const ys = axisPoints(r.grid.y!);
  for (const line of lines.slice(1)) {
    const [x, y, loss, acc] = line.split(',').map(Number) as [number, number, number, number];
    assert.ok(xs.includes(x) && ys.includes(y));
    assert.ok(Math.abs(loss - (x * x + 3 * y * y + 0.1)) < 1e-12, line);
    assert.ok(Math.abs(acc - Math.exp(-loss)) < 1e-12);
  }
});

test('CSV: cells not computed are empty, infinities spelled out', () => {
  const d = bowl(2, 2) as { metrics: { loss: unknown[][] } };
  d.metrics.loss[0] = [null, 'Infinity'];
  const lines = landscapeCsv(result(d as Record<string, unknown>)).split('\n');
  assert.equal(lines[1]!.split(',')[2], '');
  assert.equal(lines[2]!.split(',')[2], 'Infinity');
});

test('VTK: a legacy ASCII structured grid ParaView reads, heights = loss', () => {
  const r = result(bowl(4, 3));
  const text = landscapeVtk(r);
  const lines = text.trimEnd().split('\n');
  assert.equal(lines[0], '# vtk DataFile Version 3.0');
  assert.equal(lines[2], 'ASCII');
  assert.equal(lines[3], 'DATASET STRUCTURED_GRID');
  assert.equal(lines[4], 'DIMENSIONS 4 3 1');
  assert.equal(lines[5], 'POINTS 12 double');
  const pts = lines.slice(6, 18).map((l) => l.split(' ').map(Number));
  // x varies fastest (VTK's order), z is the loss at (x, y).
  assert.deepEqual(pts[1]!.slice(0, 2), [axisPoints(r.grid.x)[1], -1]);
  for (const [x, y, z] of pts) assert.ok(Math.abs(z! - (x! * x! + 3 * y! * y! + 0.1)) < 1e-12);
  assert.equal(lines[18], 'POINT_DATA 12');
  assert.equal(lines[19], 'SCALARS loss double 1');
  assert.equal(lines[20], 'LOOKUP_TABLE default');
  assert.equal(lines.indexOf('SCALARS accuracy double 1'), 21 + 12);
  assert.equal(lines.length, 21 + 12 + 2 + 12);
  const logged = landscapeVtk(r, { log: true, zmax: 1 }).split('\n').slice(6, 18).map((l) => Number(l.split(' ')[2]));
  assert.ok(logged.every((z) => z <= 1e-12), 'log of a loss clipped at 1 is <= 0');
});

test('options: defaults, checks, and the engine arguments of each kind', () => {
  assert.deepEqual(parseOptions(undefined), { kind: '2d', resolution: 21, range: 1, split: 'train', samples: 1000, device: 'auto', sharpness: false, seed: 0 });
  for (const [bad, why] of [
    [{ kind: '3d' }, /kind must be/],
    [{ resolution: 1 }, /resolution/],
    [{ samples: 1.5 }, /samples/],
    [{ range: -1 }, /range/],
    [{ device: 'tpu' }, /device/],
    [{ name: '../x' }, /name may only/],
    [[], /object/],
  ] as const) {
    assert.match(String(parseOptions(bad)), why);
  }
  const o = parseOptions({ kind: '2d', resolution: 5, sharpness: true, name: 'n1' }) as LandscapeOptions;
  assert.deepEqual(engineArgs('/r', o), ['--run', '/r', '--dims', '2', '--directions', 'random', '--normalization', 'filter', '--ignore', 'biasbn', '--x', '-1:1:5', '--y', '-1:1:5', '--split', 'train', '--samples', '1000', '--device', 'auto', '--seed', '0', '--sharpness', '--name', 'n1']);
  const i = engineArgs('/r', { ...o, kind: 'interpolate', from: '/a.pt', to: '/b.pt', sharpness: false });
  assert.ok(i.join(' ').includes('--dims 1 --directions interpolate --normalization none --x -0.5:1.5:5 --from /a.pt --to /b.pt'));
  assert.ok(engineArgs('/r', { ...o, kind: 'pca' }).join(' ').includes('--directions pca'));
  assert.ok(!engineArgs('/r', { ...o, kind: '1d' }).includes('--y'));
});

test('resume arguments repeat what the landscape recorded', () => {
  const withModel = result({ ...bowl(3, 3), model: { source: 'checkpoint', path: '/p/checkpoints/best.pt' } });
  assert.deepEqual(resumeArgs('/run', 'n1', withModel).slice(0, 7), ['--run', '/run', '--name', 'n1', '--resume', '--checkpoint', '/p/checkpoints/best.pt']);
  const r = result({ ...bowl(5, 5), status: 'cancelled', parameters: { device: 'cpu' } });
  assert.deepEqual(resumeArgs('/run', 'n1', r), [
    '--run', '/run', '--name', 'n1', '--resume', '--dims', '2', '--directions', 'random', '--normalization', 'filter', '--ignore', 'biasbn',
    '--x', '-1:1:5', '--y', '-1:1:5', '--split', 'train', '--samples', '1000', '--batch-size', '1000', '--seed', '0', '--device', 'cpu', '--sharpness',
  ]);
});

test('progress lines, ETA, interpolation end points', () => {
  assert.deepEqual(parseEngineLine('{"type":"progress","done":120,"total":1681,"eta":38.1}'), { type: 'progress', done: 120, total: 1681, eta: 38.1 });
  assert.deepEqual(parseEngineLine('{"type":"done","dir":"/x"}'), { type: 'done', dir: '/x' });
  assert.deepEqual(parseEngineLine('{"type":"error","message":"no checkpoint"}'), { type: 'error', message: 'no checkpoint' });
  for (const junk of ['', 'Epoch 1', '{"type":"progress"}', '{broken', '[1]']) assert.equal(parseEngineLine(junk), undefined);
  assert.equal(formatEta(38.4), '38s');
  assert.equal(formatEta(125), '2m 05s');
  assert.equal(formatEta(7260), '2h 01m');
  const ends = interpolationEnds(['/c/epoch_000_init.pt', '/c/epoch_001.pt', '/c/best.pt', '/c/last.pt']);
  assert.deepEqual(ends, { from: '/c/epoch_000_init.pt', to: '/c/best.pt' });
  assert.deepEqual(interpolationEnds(['/c/a.pt', '/c/b.pt']), { from: '/c/a.pt', to: '/c/b.pt' });
  assert.equal(interpolationEnds(['/c/best.pt']), undefined);
});
