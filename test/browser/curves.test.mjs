// The Runs view and the live curves panel as a person sees them, in a dark and a light theme: the fixture runs of the
// test workspace (written by the real logger, plus TensorBoard / Lightning / Keras copies) are listed, a click opens
// the curves of one, the charts are drawn, smoothing redraws them. In the dark theme a run of 1,000,000 records is
// written by the real logger while the window is open, and the redraw time of its decimated chart is measured.
/* global window, document */ // used inside page.evaluate callbacks, which run in the browser
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { testPython } from '../tools/codeserver.mjs';
import { ARTIFACTS, EXTENSION_PATH, activeWebview, openDescentContainer, openWorkbench, runCommand, saveThroughDialog, screenshot } from './helpers.mjs';

const TEST_TIMEOUT = 180_000;

function runsView(page) {
  return page.locator('.part.sidebar .pane', { has: page.locator('.pane-header', { hasText: /Runs/i }) });
}

async function paintedPixels(canvas) {
  return canvas.evaluate((c) => {
    const ctx = c.getContext('2d');
    const { data } = ctx.getImageData(0, 0, c.width, c.height);
    let painted = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
    return { painted, width: c.width, height: c.height };
  });
}

for (const theme of ['dark', 'light']) {
  describe(`Runs view and curves (${theme} theme)`, { timeout: 4 * TEST_TIMEOUT }, () => {
    let wb;
    before(async () => {
      wb = await openWorkbench({ name: 'curves', theme });
    });
    after(async () => {
      await wb?.close();
    });

    it('the Runs view lists the fixture runs by status', { timeout: TEST_TIMEOUT }, async () => {
      const { page } = wb;
      await openDescentContainer(page);
      const rows = runsView(page).locator('.monaco-list-row');
      try {
        await rows.filter({ hasText: 'mnist-baseline' }).first().waitFor({ state: 'visible', timeout: 60_000 });
        await rows.filter({ hasText: /^Interrupted/ }).first().waitFor({ state: 'visible', timeout: 30_000 });
      } finally {
        await screenshot(page, 'runs-view', theme);
      }
      const text = (await rows.allInnerTexts()).join('\n');
      for (const label of ['Interrupted', 'Failed', 'Finished', 'resnet-killed', 'mnist-lr-too-high', 'tensorboard-resnet', 'lightning-mlp', 'training.log']) {
        assert.match(text, new RegExp(label), `the Runs view has no "${label}" row:\n${text}`);
      }
      assert.match(text, /loss [\d.]+/, 'descriptions show the last loss');
    });

    it('a click opens the curves: one chart per metric, train and val together; smoothing redraws', { timeout: TEST_TIMEOUT }, async () => {
      const { page } = wb;
      await runsView(page).locator('.monaco-list-row', { hasText: 'mnist-baseline' }).first().click();
      const frame = activeWebview(page);
      const app = frame.locator('#app[data-state="ready"]');
      await app.waitFor({ state: 'visible', timeout: 60_000 });
      const canvases = frame.locator('canvas[data-metric]');
      await canvases.nth(2).waitFor({ timeout: 30_000 });
      const metrics = await canvases.evaluateAll((cs) => cs.map((c) => c.dataset.metric));
      assert.deepEqual(metrics, ['loss', 'acc', 'lr']);
      const lossSets = await app.evaluate(() => window.descentCurves.datasets('loss'));
      console.log(`[curves] loss datasets ${JSON.stringify(lossSets)}`);
      assert.deepEqual(lossSets.map((d) => d.label), ['train (raw)', 'train', 'val (raw)', 'val'], 'train and val in one chart, smoothed over raw');
      assert.equal(lossSets.find((d) => d.label === 'val').n, 5, 'one val point per epoch');
      await page.waitForTimeout(300);
      for (let i = 0; i < 3; i++) {
        const d = await paintedPixels(canvases.nth(i));
        assert.ok(d.width > 100 && d.height > 100, `canvas ${metrics[i]} is ${d.width}x${d.height}`);
        assert.ok(d.painted > 2000, `only ${d.painted} pixels painted on the ${metrics[i]} chart`);
      }
      const text = await app.innerText();
      assert.match(text, /mnist-baseline/);
      assert.match(text, /epoch 5\/5/, 'progress from hparams.epochs');
      // Legend of the loss chart: both splits (chart.js draws it on the canvas, so ask the chart's datasets).
      const before = Number(await app.getAttribute('data-draws'));
      await frame.locator('#smoothing').fill('0.9');
      await frame.locator('#smoothing-value', { hasText: '0.90' }).waitFor();
      await page.waitForFunction(() => true);
      await page.waitForTimeout(300);
      const after = Number(await app.getAttribute('data-draws'));
      assert.ok(after > before, `smoothing did not redraw (${before} -> ${after})`);
      await frame.locator('#x-axis').selectOption('epoch');
      await page.waitForTimeout(300);
      const d = await paintedPixels(canvases.first());
      assert.ok(d.painted > 2000, 'the loss chart by epoch is drawn');
      await frame.locator('#x-axis').selectOption('step');
      await page.waitForTimeout(300);
      await screenshot(page, 'curves', theme);
    });

    if (theme !== 'dark') return;

    it('CSV and PNG export go through a save dialog into the workspace', { timeout: TEST_TIMEOUT }, async () => {
      const { page, workspace } = wb;
      const frame = activeWebview(page);
      await frame.locator('#app[data-state="ready"]').waitFor({ state: 'visible', timeout: 60_000 });
      const saveThrough = async (button, file) => {
        const saved = await saveThroughDialog(page, frame, button, file);
        assert.equal(saved.path, join(workspace, file));
        return saved.bytes;
      };
      const csv = (await saveThrough('#export-csv', 'Curves_mnist-baseline.csv')).toString('utf8').split('\n');
      assert.equal(csv[0], 'run,split,metric,step,epoch,time,value');
      assert.ok(csv.length > 10 && csv.some((l) => l.startsWith('mnist-baseline,val,loss,')), csv.slice(0, 5).join('\n'));
      const png = await saveThrough('#export-png', 'Curves_mnist-baseline.png');
      assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG file');
      // Three charts stacked: the image is taller than it is wide-ish, and well over a few hundred bytes.
      assert.ok(png.length > 5000, `PNG of ${png.length} bytes`);
      assert.ok(png.readUInt32BE(20) > png.readUInt32BE(16) / 2, 'the charts are stacked vertically');
    });

    it('Compare Runs overlays two runs with a legend', { timeout: TEST_TIMEOUT }, async () => {
      const { page } = wb;
      await runCommand(page, 'View: Close All Editors');
      await runCommand(page, 'Descent: Compare Runs');
      const input = page.locator('.quick-input-widget');
      await input.waitFor({ state: 'visible' });
      for (const name of ['mnist-baseline', 'mnist-lr-too-high']) {
        // In a multi-select quick pick a click on a row toggles its checkbox.
        await input.locator('.monaco-list-row', { hasText: name }).first().click();
      }
      await page.keyboard.press('Enter');
      const frame = activeWebview(page);
      await frame.locator('#app[data-state="ready"]').waitFor({ state: 'visible', timeout: 60_000 });
      await frame.locator('canvas[data-metric="loss"]').waitFor();
      assert.equal(await frame.locator('.run-line .swatch').count(), 2, 'one colour swatch per run');
      await page.waitForTimeout(300);
      await screenshot(page, 'curves-compare', theme);
    });

    it('a 1,000,000-record run is decimated and redrawn', { timeout: TEST_TIMEOUT }, async () => {
      const { page, workspace } = wb;
      await runCommand(page, 'View: Close All Editors');
      const python = await testPython();
      const dir = join(workspace, 'runs', 'big-1m');
      const code = [
        'import sys, math',
        'from descent import log',
        'l = log.Logger(sys.argv[1], create_info=True)',
        'for i in range(1000000):',
        '    l.metrics(step=i, epoch=i // 100000, split="train", loss=1.0 / (1 + i / 1000) + 0.05 * math.sin(i / 50))',
        'l.finish("finished")',
      ].join('\n');
      const started = Date.now();
      const r = spawnSync(python, ['-c', code, dir], { env: { ...process.env, PYTHONPATH: join(EXTENSION_PATH, 'python') }, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const writeS = (Date.now() - started) / 1000;
      const row = runsView(page).locator('.monaco-list-row', { hasText: 'big-1m' }).first();
      await row.waitFor({ state: 'visible', timeout: 60_000 });
      // The description shows the last loss once all records are read.
      await page.waitForFunction(() => [...document.querySelectorAll('.monaco-list-row')].some((e) => /big-1m/.test(e.textContent) && /loss/.test(e.textContent)), null, { timeout: 60_000 });
      await runCommand(page, 'Descent: Show Training Curves');
      const pick = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'big-1m' }).first();
      await pick.waitFor({ state: 'visible' });
      await pick.click();
      const frame = activeWebview(page);
      const app = frame.locator('#app[data-state="ready"]');
      try {
        await app.waitFor({ state: 'visible', timeout: 60_000 });
      } catch (e) {
        await screenshot(page, 'curves-1m-failed', theme);
        throw e;
      }
      await frame.locator('canvas[data-metric="loss"]').waitFor();
      // All records read by the store and sent (the file is read in 64 MB slices).
      const readStarted = Date.now();
      for (;;) {
        const n = await app.evaluate(() => window.descentCurves.count());
        if (n === 1_000_000) break;
        assert.ok(Date.now() - readStarted < 60_000, `only ${n} records arrived`);
        await page.waitForTimeout(250);
      }
      await page.waitForTimeout(1000);
      const m = await app.evaluate(() => {
        const api = window.descentCurves;
        const times = [];
        for (let i = 0; i < 31; i++) times.push(api.redraw());
        times.sort((a, b) => a - b);
        return { points: api.points(), median: times[Math.floor(times.length / 2)], max: times[times.length - 1], min: times[0] };
      });
      const d = await paintedPixels(frame.locator('canvas[data-metric="loss"]'));
      await screenshot(page, 'curves-1m', theme);
      mkdirSync(ARTIFACTS, { recursive: true });
      writeFileSync(join(ARTIFACTS, 'curves-draw.json'), `${JSON.stringify({ records: 1_000_000, writeSeconds: writeS, pointsDrawn: m.points, redrawMs: { median: m.median, min: m.min, max: m.max } }, null, 2)}\n`);
      console.log(`[curves] 1M records written in ${writeS.toFixed(1)} s; ${m.points} points drawn; redraw median ${m.median.toFixed(2)} ms (min ${m.min.toFixed(2)}, max ${m.max.toFixed(2)})`);
      assert.ok(d.painted > 2000, 'the 1M-point chart is drawn');
      assert.ok(m.points > 1000 && m.points <= 8192 + 3, `${m.points} points: decimated to the series cap`);
      // The 16 ms budget is checked by bench/curves (timings are never asserted in tests: machines are noisy).
    });
  });
}
