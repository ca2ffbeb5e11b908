// Builds landscape.json documents from real math (not magic constants) for the landscape unit tests: a quadratic
// bowl f(x, y) = a x² + b y² + c on a grid, its accuracy falling with the loss.
import { axisPoints, type LandscapeResult } from '../../src/protocol/landscape';

export function bowl(nx = 11, ny = 11, a = 1, b = 3, c = 0.1): Record<string, unknown> {
  const x = { min: -1, max: 1, num: nx };
  const y = { min: -1, max: 1, num: ny };
  const xs = axisPoints(x);
  const ys = axisPoints(y);
  const loss = ys.map((yy) => xs.map((xx) => a * xx * xx + b * yy * yy + c));
  const accuracy = loss.map((r) => r.map((l) => Math.exp(-l)));
  return {
    formatVersion: 1,
    name: '2d-filter-20261121-171500',
    status: 'done',
    engine: 'torch',
    device: 'cpu',
    dtype: 'float32',
    model: { source: 'checkpoint', path: 'checkpoints/best.pt', parameters: 12345, project: '/p' },
    directions: { kind: 'random', normalization: 'filter', ignore: 'biasbn', seed: 0, file: 'directions.pt' },
    grid: { dims: 2, x, y },
    data: { split: 'train', samples: 1000, batchSize: 1000 },
    metrics: { loss, accuracy },
    progress: { done: nx * ny, total: nx * ny, elapsedSeconds: 1.5, pointsPerSecond: (nx * ny) / 1.5 },
    origin: { loss: c, accuracy: Math.exp(-c) },
    minimum: { x: 0, y: 0, loss: c },
    sharpness: { topEigenvalue: 2 * b, trace: 2 * a + 2 * b, iterations: 20, samples: 1000 },
    parameters: { dims: 2 },
    createdAt: '2026-11-21T17:15:00Z',
    finishedAt: '2026-11-21T17:15:02Z',
  };
}

export function asResult(doc: Record<string, unknown>): LandscapeResult {
  return doc as unknown as LandscapeResult;
}
