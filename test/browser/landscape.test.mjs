// The loss landscape panel as a person sees it, in a dark and a light theme: landscapes written into a fixture run
// (computed here from real functions: a quadratic bowl with its gradient-descent path projected as a PCA plane would
// show it, and a Goodfellow interpolation line with train and val) are opened with Descent: Open Loss Landscape;
// the contour view draws labelled levels over a heat map with the path and the minimum; the surface rotates when
// dragged; the 1D view draws train and val curves; two landscapes compare side by side.
/* global window */ // used inside page.evaluate callbacks, which run in the browser
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { activeWebview, openWorkbench, runCommand, screenshot } from './helpers.mjs';

const TEST_TIMEOUT = 180_000;
const RUN = 'mnist-baseline';

const linspace = (min, max, num) => Array.from({ length: num }, (_, i) => min + ((max - min) * i) / (num - 1));

/** f(x, y) = 0.05 + 1.5 x² + 4 y² + 0.8 x y + 0.3 (1 - cos 4x): a tilted bowl with ripples along x. */
function bowlLoss(x, y) {
  return 0.05 + 1.5 * x * x + 4 * y * y + 0.8 * x * y + 0.3 * (1 - Math.cos(4 * x));
}

function bowlLandscape(name, num, withPath) {
  const xs = linspace(-1, 1, num);
  const ys = linspace(-1, 1, num);
  const loss = ys.map((y) => xs.map((x) => bowlLoss(x, y)));
  const accuracy = loss.map((row) => row.map((l) => 0.1 + 0.88 * Math.exp(-2 * l)));
  // Gradient descent from (-0.9, 0.8), one recorded point per "epoch".
  const path = { x: [], y: [], labels: [] };
  let [px, py] = [-0.9, 0.8];
  for (let epoch = 0; epoch <= 10; epoch++) {
    path.x.push(px);
    path.y.push(py);
    path.labels.push(epoch === 0 ? 'init' : `epoch ${epoch}`);
    for (let s = 0; s < 3; s++) {
      const gx = 3 * px + 0.8 * py + 1.2 * Math.sin(4 * px);
      const gy = 8 * py + 0.8 * px;
      px -= 0.03 * gx;
      py -= 0.03 * gy;
    }
  }
  let min = { x: 0, y: 0, loss: Infinity };
  ys.forEach((y, j) => xs.forEach((x, i) => loss[j][i] < min.loss && (min = { x, y, loss: loss[j][i] })));
  // Hessian of the quadratic part at the minimum (plus the ripple's curvature 0.3 * 16 on x): eigenvalues and trace.
  const [a, b, c] = [3 + 4.8, 0.8, 8];
  const top = (a + c) / 2 + Math.sqrt(((a - c) / 2) ** 2 + b * b);
  return {
    formatVersion: 1,
    name,
    status: 'done',
    engine: 'torch',
    device: 'cpu',
    dtype: 'float32',
    model: { source: 'checkpoint', path: 'checkpoints/best.pt', parameters: 26378 },
    directions: withPath
      ? { kind: 'pca', normalization: 'none', ignore: 'biasbn', seed: 0, file: 'directions.pt', explainedVariance: [0.81, 0.12] }
      : { kind: 'random', normalization: 'filter', ignore: 'biasbn', seed: 0, file: 'directions.pt' },
    grid: { dims: 2, x: { min: -1, max: 1, num }, y: { min: -1, max: 1, num } },
    data: { split: 'train', samples: 1000, batchSize: 1000 },
    metrics: { loss, accuracy },
    progress: { done: num * num, total: num * num, elapsedSeconds: 21.4, pointsPerSecond: (num * num) / 21.4 },
    origin: { loss: bowlLoss(0, 0), accuracy: 0.1 + 0.88 * Math.exp(-2 * bowlLoss(0, 0)) },
    minimum: min,
    ...(withPath ? { path } : {}),
    sharpness: { topEigenvalue: top, trace: a + c, iterations: 20, samples: 1000 },
    parameters: {},
    createdAt: '2026-11-21T17:15:00Z',
    finishedAt: '2026-11-21T17:15:21Z',
  };
}

/** The straight line from the initial weights (alpha 0, loss 2.3 = ln 10) to the trained model (alpha 1). */
function lineLandscape() {
  const xs = linspace(-0.5, 1.5, 81);
  const train = xs.map((t) => 0.1 + 2.2 * (1 - t) ** 2);
  const val = xs.map((t, i) => train[i] + 0.05 + 0.12 * t * t);
  const acc = (l) => 0.1 + 0.88 * Math.exp(-2 * (l - 0.1));
  return {
    formatVersion: 1,
    name: 'interpolate-init-final',
    status: 'done',
    engine: 'torch',
    device: 'cpu',
    dtype: 'float32',
    model: { source: 'checkpoint', path: 'checkpoints/best.pt', parameters: 26378 },
    directions: { kind: 'interpolate', normalization: 'none', ignore: 'none', from: 'checkpoints/epoch_000_init.pt', to: 'checkpoints/best.pt' },
    grid: { dims: 1, x: { min: -0.5, max: 1.5, num: 81 } },
    data: { split: 'train', samples: 1000, batchSize: 1000 },
    metrics: { loss: [train], accuracy: [train.map(acc)] },
    valMetrics: { loss: [val], accuracy: [val.map(acc)] },
    progress: { done: 81, total: 81, elapsedSeconds: 2, pointsPerSecond: 40.5 },
    origin: { loss: 0.1, accuracy: acc(0.1) },
    minimum: { x: 1, y: 0, loss: 0.1 },
    parameters: {},
  };
}

function writeLandscape(workspace, doc) {
  const dir = join(workspace, 'runs', RUN, 'landscapes', doc.name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'landscape.json'), JSON.stringify(doc));
}

async function openLandscape(page, name) {
  await runCommand(page, 'View: Close All Editors');
  await runCommand(page, 'Descent: Open Loss Landscape');
  const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: name }).first();
  await row.waitFor({ state: 'visible', timeout: 30_000 });
  await row.click();
  const frame = activeWebview(page);
  const app = frame.locator('#app[data-state="ready"]');
  await app.waitFor({ state: 'visible', timeout: 60_000 });
  return { frame, app };
}

async function canvasDigest(canvas) {
  return canvas.evaluate((c) => {
    const { data } = c.getContext('2d').getImageData(0, 0, c.width, c.height);
    let painted = 0;
    let hash = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] > 0) painted++;
      hash = (hash * 31 + data[i] + 7 * data[i + 1] + 13 * data[i + 2]) >>> 0;
    }
    return { painted, hash, width: c.width, height: c.height };
  });
}

for (const theme of ['dark', 'light']) {
  describe(`Loss landscape panel (${theme} theme)`, { timeout: 4 * TEST_TIMEOUT }, () => {
    let wb;
    before(async () => {
      wb = await openWorkbench({ name: 'landscape', theme });
      writeLandscape(wb.workspace, bowlLandscape('2d-filter-bowl', 41, false));
      writeLandscape(wb.workspace, bowlLandscape('pca-path', 41, true));
      writeLandscape(wb.workspace, lineLandscape());
    });
    after(async () => {
      await wb?.close();
    });

    it('contour: labelled levels over a heat map, the training path and the minimum', { timeout: TEST_TIMEOUT }, async () => {
      const { page } = wb;
      const { frame, app } = await openLandscape(page, 'pca-path');
      const canvas = frame.locator('canvas[data-view="contour"]');
      await canvas.waitFor();
      const drawn = await app.evaluate(() => window.descentLandscape.drawn());
      console.log(`[landscape] contour ${JSON.stringify(drawn.map((d) => ({ view: d.view, lines: d.stats.lines, labels: d.stats.labels })))}`);
      assert.equal(drawn.length, 1);
      assert.ok(drawn[0].stats.lines >= 10, `${drawn[0].stats.lines} contour lines`);
      assert.ok(drawn[0].stats.labels >= 5, `${drawn[0].stats.labels} level labels`);
      const d = await canvasDigest(canvas);
      // The heat map fills the plot area; axes, labels and the colour bar add to it.
      assert.ok(d.painted > drawn[0].stats.plotPixels, `${d.painted} pixels painted, the plot area has ${drawn[0].stats.plotPixels}`);
      const text = await app.innerText();
      assert.match(text, /PCA directions of the training path/);
      assert.match(text, /explained variance 81\.0% \+ 12\.0%/);
      assert.match(text, /Top Hessian eigenvalue/);
      assert.match(text, /Flat minima/);
      // Linear levels draw a different picture than log-spaced ones.
      await frame.locator('#log-levels').uncheck();
      await page.waitForTimeout(200);
      assert.notEqual((await canvasDigest(canvas)).hash, d.hash, 'unchecking log-spaced levels redraws');
      await frame.locator('#log-levels').check();
      await page.waitForTimeout(300);
      await screenshot(page, 'landscape-contour', theme);
    });

    it('surface: a shaded 3D surface that rotates when dragged', { timeout: TEST_TIMEOUT }, async () => {
      const { page } = wb;
      const { frame, app } = await openLandscape(page, '2d-filter-bowl');
      await frame.locator('#view').selectOption('surface');
      const canvas = frame.locator('canvas[data-view="surface"]');
      await canvas.waitFor();
      const drawn = await app.evaluate(() => window.descentLandscape.drawn());
      assert.equal(drawn[0].stats.quads, 40 * 40, 'one quad per grid cell');
      const before = await canvasDigest(canvas);
      assert.ok(before.painted > 0.15 * before.width * before.height, `surface covers ${before.painted} pixels`);
      await page.waitForTimeout(300);
      await screenshot(page, 'landscape-surface', theme);
      const box = await canvas.boundingBox();
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width / 2 + 120, box.y + box.height / 2 + 30, { steps: 6 });
      await page.mouse.up();
      await page.waitForTimeout(200);
      assert.notEqual((await canvasDigest(canvas)).hash, before.hash, 'dragging rotates the surface');
      // The view choice is kept in the webview state (it survives a reload through the serializer).
      assert.equal((await app.evaluate(() => window.descentLandscape.state())).view, 'surface');
      await frame.locator('#view').selectOption('contour');
    });

    it('1D: loss and accuracy, train and val, along the line from init to final', { timeout: TEST_TIMEOUT }, async () => {
      const { page } = wb;
      const { frame, app } = await openLandscape(page, 'interpolate-init-final');
      await frame.locator('canvas[data-view="1d-loss"]').waitFor();
      const drawn = await app.evaluate(() => window.descentLandscape.drawn());
      assert.deepEqual(
        drawn.map((d) => [d.view, d.stats.curves]),
        [
          ['1d-loss', ['train', 'val']],
          ['1d-accuracy', ['train', 'val']],
        ],
      );
      for (const view of ['1d-loss', '1d-accuracy']) {
        const d = await canvasDigest(frame.locator(`canvas[data-view="${view}"]`));
        assert.ok(d.painted > 2000, `${view}: ${d.painted} pixels`);
      }
      assert.match(await app.innerText(), /interpolation between two checkpoints/);
      await page.waitForTimeout(300);
      await screenshot(page, 'landscape-1d', theme);
    });

    if (theme !== 'dark') return;

    it('two landscapes side by side', { timeout: TEST_TIMEOUT }, async () => {
      const { page } = wb;
      const { frame, app } = await openLandscape(page, '2d-filter-bowl');
      await frame.locator('#compare').click();
      const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'pca-path' }).first();
      await row.waitFor({ state: 'visible' });
      await row.click();
      await frame.locator('canvas[data-view="contour"]').nth(1).waitFor({ timeout: 30_000 });
      const drawn = await app.evaluate(() => window.descentLandscape.drawn());
      assert.equal(drawn.length, 2);
      assert.ok(drawn.every((d) => d.stats.lines > 0));
      await page.waitForTimeout(300);
      await screenshot(page, 'landscape-compare', theme);
    });
  });
}
