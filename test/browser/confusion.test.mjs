// The confusion matrix panel as a person sees it, in a dark and a light theme. Runs written by the real logger
// (test/fixtures/confusion/make_runs.py: a 10-class run with train / val / test matrices per epoch, a second 10-class
// run, and a 1000-class run) appear in the Runs view; the context menu of a run opens its matrix; values, metrics,
// pairs, hover, a click on a cell, the epoch slider and the split tabs work; another run is compared as a difference;
// the palette command opens the 1000-class run, which is clustered, searched and zoomed.
/* global window */ // used inside evaluate callbacks, which run in the browser
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { basename, join } from 'node:path';
import { launchChromium, testPython, REPO_ROOT } from '../tools/codeserver.mjs';
import { mkdirSync, readFileSync } from 'node:fs';
import { ARTIFACTS, activeWebview, openDescentContainer, openWorkbench, runCommand, saveThroughDialog } from './helpers.mjs';

const TEST_TIMEOUT = 240_000;

/** Like helpers' screenshot(), with the mouse parked off the matrix (a hover tooltip would cover cells). */
async function screenshot(page, name, theme) {
  const dir = join(ARTIFACTS, 'screenshots');
  mkdirSync(dir, { recursive: true });
  await page.mouse.move(2, 2);
  await page.waitForTimeout(150);
  await page.screenshot({ path: join(dir, `${name}-${theme}.png`) });
}

/** Runs a test body; on failure saves a screenshot named after it first. */
function withShot(name, theme, body) {
  return async () => {
    try {
      await body();
    } catch (e) {
      await screenshot(wbPage, `${name}-FAILED`, theme).catch(() => {});
      throw e;
    }
  };
}
let wbPage;

// DESCENT_THEMES=light runs one theme only (debugging).
const THEMES = (process.env.DESCENT_THEMES || 'dark,light').split(',');

function runsView(page) {
  return page.locator('.part.sidebar .pane', { has: page.locator('.pane-header', { hasText: /Runs/i }) });
}

/** Pixels of the canvas that are not the background (the first pixel's colour). */
async function paintedPixels(canvas) {
  return canvas.evaluate((c) => {
    const { data } = c.getContext('2d').getImageData(0, 0, c.width, c.height);
    let painted = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i] !== data[0] || data[i + 1] !== data[1] || data[i + 2] !== data[2]) painted++;
    return { painted, width: c.width, height: c.height };
  });
}

for (const theme of THEMES) {
  describe(`Confusion matrix panel (${theme} theme)`, { timeout: 4 * TEST_TIMEOUT }, () => {
    let wb;
    before(async () => {
      wb = await openWorkbench({ name: 'confusion', theme });
      wbPage = wb.page;
      const python = await testPython();
      const r = spawnSync(python, [join(REPO_ROOT, 'test', 'fixtures', 'confusion', 'make_runs.py'), wb.workspace, '--big-epochs', '2'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    });
    after(async () => {
      await wb?.close();
    });

    it('confusion-10: the Runs view context menu opens a 10-class matrix with metrics, pairs, hover, slider and splits', { timeout: TEST_TIMEOUT }, withShot('confusion-10', theme, async () => {
      const { page } = wb;
      await openDescentContainer(page);
      const row = runsView(page).locator('.monaco-list-row', { hasText: 'cifar10-a' }).first();
      await row.waitFor({ state: 'visible', timeout: 90_000 });
      // The context value says "has-confusion" once the store read events.jsonl.
      let opened = false;
      for (let i = 0; i < 20 && !opened; i++) {
        await row.click({ button: 'right' });
        const item = page.locator('.context-view .action-item', { hasText: 'Show Confusion Matrix' }).first();
        if (await item.waitFor({ state: 'visible', timeout: 2000 }).then(() => true, () => false)) {
          // VS Code's menu ignores a mouse-up that comes too soon after it opened (the right-click's own release),
          // so let it settle, then make sure the click closed it.
          await page.waitForTimeout(400);
          await item.click();
          opened = await page.locator('.context-view .monaco-menu').waitFor({ state: 'hidden', timeout: 3000 }).then(() => true, () => false);
          if (!opened) await page.keyboard.press('Escape');
        } else {
          await page.keyboard.press('Escape');
          await page.waitForTimeout(1000);
        }
      }
      assert.ok(opened, 'the Runs view context menu has no Show Confusion Matrix for a run that logged matrices');
      const frame = activeWebview(page);
      const app = frame.locator('#app[data-state="ready"]');
      await app.waitFor({ state: 'visible', timeout: 60_000 });
      assert.match(await frame.locator('#title').innerText(), /cifar10-a/);
      assert.match(await frame.locator('#subtitle').innerText(), /10 classes · 3 splits · 13 matrices/);
      // Default split: val, last epoch.
      assert.equal(await frame.locator('#splits button[aria-selected="true"]').innerText(), 'val');
      assert.match(await frame.locator('#epoch-label').innerText(), /6\/6 · epoch 5, step 600/);
      const canvas = frame.locator('.grid-canvas').first();
      const painted = await paintedPixels(canvas);
      assert.ok(painted.painted > 20_000, `only ${painted.painted} pixels painted`);
      // Metrics: one row per class, plus accuracy / macro / weighted.
      await frame.locator('#metrics-rows .mt-row').nth(9).waitFor();
      assert.equal(await frame.locator('#metrics-rows .mt-row').count(), 10);
      assert.match(await frame.locator('#metrics-totals').innerText(), /Accuracy\s+\d+\.\d%\s+1000 samples/);
      const pairs = await frame.locator('#pairs li').allInnerTexts();
      assert.ok(pairs.length >= 5, `pairs: ${pairs.join(' | ')}`);
      assert.match(pairs.slice(0, 6).join('\n'), /cat → dog|dog → cat|automobile → truck|truck → automobile|airplane → ship|ship → airplane/);
      // Sort by recall: worst class first.
      await frame.locator('.mt-head button[data-key="recall"]').click();
      const sorted = await frame.locator('#metrics-rows .mt-row .mt-cell:nth-child(3)').allInnerTexts();
      const recalls = sorted.map((t) => parseFloat(t));
      assert.deepEqual(recalls, [...recalls].sort((a, b) => a - b), 'recall column sorted ascending');
      // Hover the middle of the grid: a tooltip with true / predicted / count.
      const box = await canvas.boundingBox();
      await canvas.hover({ position: { x: box.width * 0.6, y: box.height * 0.6 } });
      const tip = frame.locator('#tooltip');
      await tip.waitFor({ state: 'visible' });
      assert.match(await tip.innerText(), /True[\s\S]*Predicted[\s\S]*Count\s+\d+[\s\S]*Share/);
      // Click a pair: the cell is selected and explained.
      await frame.locator('#pairs li button').first().click();
      assert.match(await frame.locator('#samples').innerText(), /predicted as .* \(\d+ in val, epoch 5, step 600\)[\s\S]*Per-sample data comes with evaluations/);
      // Row-normalised view.
      await frame.locator('#view').selectOption('row');
      await page.waitForTimeout(200);
      // Slider: first epoch; accuracy is lower there.
      const lastAcc = parseFloat((await frame.locator('#metrics-totals').innerText()).match(/Accuracy\s+([\d.]+)%/)[1]);
      await frame.locator('#epoch').fill('0');
      await frame.locator('#epoch-label', { hasText: '1/6 · epoch 0' }).waitFor();
      await page.waitForTimeout(300);
      const firstAcc = parseFloat((await frame.locator('#metrics-totals').innerText()).match(/Accuracy\s+([\d.]+)%/)[1]);
      assert.ok(firstAcc < lastAcc, `epoch 0 accuracy ${firstAcc}% should be below the last epoch's ${lastAcc}%`);
      // Splits: train tab, then side by side.
      await frame.locator('#splits button', { hasText: 'train' }).click();
      await frame.locator('#splits button[aria-selected="true"]', { hasText: 'train' }).waitFor();
      assert.match(await frame.locator('#metrics-totals').innerText(), /5000 samples/);
      await frame.locator('#view').selectOption('counts');
      await frame.locator('#splits button', { hasText: 'val' }).click();
      await page.waitForTimeout(300);
      await screenshot(page, 'confusion-10', theme);
      await frame.locator('#side-by-side').check();
      await frame.locator('.grid-canvas').nth(2).waitFor();
      assert.equal(await frame.locator('.grid-canvas').count(), 3, 'train, val and test side by side');
      await page.waitForTimeout(300);
      await screenshot(page, 'confusion-10-splits', theme);
      await frame.locator('#side-by-side').uncheck();
    }));

    if (theme === 'dark') {
      it('compares with another run as a difference matrix', { timeout: TEST_TIMEOUT }, withShot('confusion-compare', theme, async () => {
        const { page } = wb;
        const frame = activeWebview(page);
        await frame.locator('#compare').click();
        const pick = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'cifar10-b' }).first();
        await pick.waitFor({ state: 'visible', timeout: 30_000 });
        assert.equal(await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'cifar10-a' }).count(), 0, 'the run itself is not offered');
        await pick.click();
        await frame.locator('#compare-info', { hasText: /Difference: this run − cifar10-b/ }).waitFor({ timeout: 30_000 });
        assert.ok(await frame.locator('#show-diff').isChecked());
        const canvas = frame.locator('.grid-canvas').first();
        const box = await canvas.boundingBox();
        await canvas.hover({ position: { x: box.width * 0.6, y: box.height * 0.6 } });
        assert.match(await frame.locator('#tooltip').innerText(), /Other run[\s\S]*Difference\s+[+−]?[\d.]+ points/);
        await page.mouse.move(5, 5);
        await screenshot(page, 'confusion-10-compare', theme);
        await frame.locator('#clear-compare').click();
        await frame.locator('#compare-info', { hasText: /^$/ }).waitFor({ state: 'attached' });
      }));

      it('PNG, matrix CSV and metrics CSV are saved through a save dialog into the workspace', { timeout: TEST_TIMEOUT }, withShot('confusion-save', theme, async () => {
        const { page, workspace } = wb;
        const frame = activeWebview(page);
        await frame.locator('#view').selectOption('counts');
        const saveThrough = async (button, ext) => {
          const saved = await saveThroughDialog(page, frame, button, ext);
          assert.ok(saved.path.startsWith(workspace), `${saved.path} is in the workspace`);
          return { name: basename(saved.path), bytes: saved.bytes };
        };
        const matrix = await saveThrough('#export-csv', '.csv');
        assert.match(matrix.name, /^confusion-.*cifar10-a.*-val-epoch5\.csv$/);
        const rows = matrix.bytes.toString('utf8').trim().split(/\r?\n/);
        assert.equal(rows.length, 11, 'a header and one row per true class');
        const counts = rows.slice(1).map((r) => r.split(',').slice(1).map(Number));
        assert.ok(counts.every((r) => r.length === 10 && r.every(Number.isInteger)), rows.slice(0, 3).join('\n'));
        assert.equal(counts.flat().reduce((a, b) => a + b, 0), 1000, 'the val split has 1000 samples');
        const metrics = await saveThrough('#export-metrics', '-metrics.csv');
        assert.match(metrics.bytes.toString('utf8').split(/\r?\n/)[0], /precision.*recall.*f1.*support/i);
        const png = await saveThrough('#export-png', '.png');
        assert.deepEqual([...png.bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG file');
        assert.ok(png.bytes.length > 5000, `PNG of ${png.bytes.length} bytes`);
      }));

      it('the curves panel of a run with matrices has a Confusion matrix button that opens them', { timeout: TEST_TIMEOUT }, withShot('confusion-from-curves', theme, async () => {
        const { page } = wb;
        await runCommand(page, 'View: Close All Editors');
        await runsView(page).locator('.monaco-list-row', { hasText: 'cifar10-b' }).first().click();
        const curves = activeWebview(page);
        await curves.locator('#app[data-state="ready"]').waitFor({ state: 'visible', timeout: 60_000 });
        const button = curves.locator('#show-confusion');
        await button.waitFor({ state: 'visible' });
        await button.click();
        const frame = activeWebview(page);
        await frame.locator('#title', { hasText: 'Confusion matrix: cifar10-b' }).waitFor({ timeout: 60_000 });
        await frame.locator('#app[data-state="ready"]').waitFor({ state: 'visible' });
      }));
    }

    it('confusion-1000: the palette opens a 1000-class run; clustered order, search and zoom keep labels readable', { timeout: TEST_TIMEOUT }, withShot('confusion-1000', theme, async () => {
      const { page } = wb;
      await runCommand(page, 'View: Close All Editors');
      await runCommand(page, 'Descent: Show Confusion Matrix');
      const pick = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'wide-1000' }).first();
      await pick.waitFor({ state: 'visible', timeout: 60_000 });
      await pick.click();
      const frame = activeWebview(page);
      const app = frame.locator('#app[data-state="ready"]');
      await app.waitFor({ state: 'visible', timeout: 90_000 });
      assert.match(await frame.locator('#subtitle').innerText(), /1000 classes/);
      const canvas = frame.locator('.grid-canvas').first();
      const painted = await paintedPixels(canvas);
      assert.ok(painted.painted > 10_000, `only ${painted.painted} pixels painted`);
      const drawMs = Number(await canvas.getAttribute('data-draw-ms'));
      console.log(`[confusion] 1000x1000 first draw in the workbench: ${drawMs.toFixed(1)} ms`);
      await frame.locator('#order').selectOption('clustered');
      await page.waitForTimeout(500);
      await screenshot(page, 'confusion-1000', theme);
      // Search jumps to a class: zoomed in so its row and column labels are readable.
      await frame.locator('#search').fill('elm-501');
      await frame.locator('#search').press('Enter');
      await frame.locator('#search-status', { hasText: 'elm-501' }).waitFor();
      const vp = await app.evaluate(() => window.__descentConfusion.viewport());
      assert.ok(vp.cell >= 18, `cell ${vp.cell} px after search: labels would not be readable`);
      await frame.locator('#metrics-rows .mt-row.picked', { hasText: 'elm-501' }).waitFor();
      await page.waitForTimeout(300);
      await screenshot(page, 'confusion-1000-search', theme);
      // Wheel zoom out and drag pan move the view.
      const box = await canvas.boundingBox();
      await canvas.hover({ position: { x: box.width / 2, y: box.height / 2 } });
      await page.mouse.wheel(0, 400);
      await page.waitForTimeout(200);
      const vp2 = await app.evaluate(() => window.__descentConfusion.viewport());
      assert.ok(vp2.cell < vp.cell, `wheel did not zoom out (${vp.cell} -> ${vp2.cell})`);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width / 2 - 150, box.y + box.height / 2 - 100, { steps: 5 });
      await page.mouse.up();
      const vp3 = await app.evaluate(() => window.__descentConfusion.viewport());
      assert.ok(vp3.x !== vp2.x || vp3.y !== vp2.y, 'drag did not pan');
    }));
  });
}

// The webview alone in Chromium with a stand-in host: an evaluation-like source with per-sample predictions, so the
// samples behind a cell, the thumbnail round trip and the export messages can be checked without dialogs.
describe('Confusion matrix webview with per-sample data', { timeout: TEST_TIMEOUT }, () => {
  let context;
  let page;
  before(async () => {
    context = await launchChromium(undefined, { viewport: { width: 1200, height: 900 } });
    page = await context.newPage();
    await page.setContent('<!doctype html><html><head><meta charset="utf-8"></head><body><div id="app"></div></body></html>');
    await page.evaluate(() => {
      window.__sent = [];
      let state;
      window.acquireVsCodeApi = () => ({ postMessage: (m) => window.__sent.push(m), getState: () => state, setState: (s) => (state = s) });
    });
    await page.addStyleTag({ content: readFileSync(join(REPO_ROOT, 'dist', 'webview', 'confusion.css'), 'utf8') });
    await page.addScriptTag({ content: readFileSync(join(REPO_ROOT, 'dist', 'webview', 'confusion.js'), 'utf8') });
  });
  after(async () => {
    await context?.close();
  });

  it('lists the samples of a cell, most confident first, shows thumbnails from the host, exports PNG and CSV', { timeout: TEST_TIMEOUT }, async () => {
    // 3 classes; true "b" predicted "c" for samples 4 (confidence 0.6) and 6 (0.9).
    const yTrue = [0, 0, 1, 1, 1, 2, 1, 2];
    const yPred = [0, 1, 1, 1, 2, 2, 2, 2];
    const counts = new Array(9).fill(0);
    yTrue.forEach((t, i) => counts[t * 3 + yPred[i]]++);
    const source = {
      title: 'model.onnx on test.npz',
      labels: ['a', 'b', 'c'],
      matrices: [{ split: 'test', counts }],
      samples: [{ split: 'test', yTrue, yPred, confidence: [0.9, 0.5, 0.8, 0.7, 0.6, 0.9, 0.9, 0.95], samplePaths: yTrue.map((_, i) => `/data/img${i}.png`) }],
    };
    await page.evaluate((m) => window.postMessage(m, '*'), { type: 'snapshot', source, storedId: 'abc-1' });
    await page.locator('#app[data-state="ready"]').waitFor();
    const sent = () => page.evaluate(() => window.__sent);
    const { drawMs, ...rendered } = (await sent()).find((m) => m.type === 'rendered');
    assert.deepEqual(rendered, { type: 'rendered', n: 3, split: 'test', position: 0, view: 'counts', compare: false });
    assert.ok(drawMs >= 0);
    // The pairs list: b -> c (2) first; a click selects it and lists its samples.
    const pairs = await page.locator('#pairs li').allInnerTexts();
    assert.match(pairs[0], /b → c\s*2 \(50\.0%\)/);
    await page.locator('#pairs li button').first().click();
    await page.locator('#sample-list li').nth(1).waitFor();
    assert.deepEqual(await page.locator('#sample-list li').evaluateAll((els) => els.map((e) => e.dataset.sample)), ['6', '4'], 'most confident first');
    assert.match(await page.locator('#samples').innerText(), /b predicted as c .*: 2 samples/);
    const request = (await sent()).filter((m) => m.type === 'thumbnails').pop();
    assert.deepEqual(request.indices, [6, 4]);
    assert.equal(request.split, 'test');
    const png1x1 = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';
    await page.evaluate((m) => window.postMessage(m, '*'), { type: 'thumbnails', requestId: request.requestId, items: [{ index: 6, uri: png1x1 }, { index: 4, error: 'file not found' }] });
    await page.locator('[data-thumb="6"] img').waitFor();
    assert.match(await page.locator('[data-thumb="4"]').innerText(), /file not found/);
    await page.locator('#sample-list li[data-sample="6"]').click();
    assert.deepEqual((await sent()).filter((m) => m.type === 'openSample').pop(), { type: 'openSample', split: 'test', index: 6 });
    // Exports.
    await page.locator('#export-png').click();
    const png = (await sent()).filter((m) => m.type === 'exportPng').pop();
    assert.match(png.dataUrl, /^data:image\/png;base64,/);
    assert.ok(png.dataUrl.length > 2000, 'a real image');
    assert.match(png.suggestedName, /^confusion-model.onnx_on_test.npz-test\.png$/);
    await page.locator('#view').selectOption('row');
    await page.locator('#export-csv').click();
    await page.locator('#export-metrics').click();
    const csv = (await sent()).filter((m) => m.type === 'exportCsv');
    assert.deepEqual(csv.map((m) => [m.what, m.matrix, m.view]), [['matrix', 0, 'row'], ['metrics', 0, 'row']]);
    // Search by prefix, and a miss.
    await page.locator('#search').fill('zz');
    await page.locator('#search').press('Enter');
    await page.locator('#search-status', { hasText: 'No class matches' }).waitFor();
    mkdirSync(join(ARTIFACTS, 'screenshots'), { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'screenshots', 'confusion-samples-page.png') });
  });
});
