// The ONNX model view as a person sees it, in a dark and a light theme: a digits model trained by PyTorch on
// scikit-learn's 8x8 digits opens in the view (inputs, outputs, opset, parameters, operator histogram, metadata);
// a stroke drawn with the mouse on the Try it pad is run by onnxruntime-node and the top-5 classes appear as bars.
// A file that is not ONNX shows a clear message; in an untrusted workspace Try it says why it is off.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, testPython } from '../tools/codeserver.mjs';
import { activeWebview, openWorkbench, runCommand, screenshot } from './helpers.mjs';

const TEST_TIMEOUT = 180_000;
const scratch = mkdtempSync(join(tmpdir(), 'descent-onnx-browser-'));
const MODEL = join(scratch, 'digits.onnx');

before(async () => {
  const r = spawnSync(await testPython(), [join(REPO_ROOT, 'test', 'fixtures', 'onnx', 'make_digits.py'), MODEL], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Opens a workspace file with Quick Open (it opens in its default editor: the model view for .onnx). */
async function openFile(page, name) {
  await runCommand(page, 'View: Close All Editors');
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.pressSequentially(name, { delay: 30 });
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: name }).first().waitFor({ state: 'visible', timeout: 30_000 });
  await page.keyboard.press('Enter');
}

/** Draws a stroke through the given points (fractions of the pad's size) with the mouse. */
async function stroke(page, pad, points) {
  const box = await pad.boundingBox();
  assert.ok(box, 'the drawing pad has a box');
  const at = ([fx, fy]) => [box.x + fx * box.width, box.y + fy * box.height];
  await page.mouse.move(...at(points[0]));
  await page.mouse.down();
  for (const p of points.slice(1)) await page.mouse.move(...at(p), { steps: 8 });
  await page.mouse.up();
}

for (const theme of ['dark', 'light']) {
  describe(`ONNX model view (${theme} theme)`, { timeout: 4 * TEST_TIMEOUT }, () => {
    let wb;
    before(async () => {
      wb = await openWorkbench({ name: 'onnx', theme });
      copyFileSync(MODEL, join(wb.workspace, 'digits.onnx'));
      writeFileSync(join(wb.workspace, 'broken.onnx'), 'this is a text file with an .onnx extension\n');
    });
    after(async () => {
      await wb?.close();
    });

    it('opening a .onnx file shows its inputs, outputs, parameters, operators and metadata', { timeout: TEST_TIMEOUT }, async () => {
      const { page } = wb;
      await openFile(page, 'digits.onnx');
      const frame = activeWebview(page);
      const app = frame.locator('#app[data-state="model"]');
      await app.waitFor({ state: 'visible', timeout: 60_000 });
      const text = await app.innerText();
      assert.match(text, /digits\.onnx/);
      assert.match(await frame.locator('.inputs').innerText(), /pixels\s+float32\s+batch × 64/);
      assert.match(await frame.locator('.outputs').innerText(), /probabilities\s+float32\s+batch × 10/);
      assert.match(text, /4,810 \(18\.8 KB\)/, 'parameters: 64*64+64 + 64*10+10');
      assert.match(text, /pytorch/);
      assert.match(text, /ai\.onnx \d+/);
      assert.match(await frame.locator('.metadata-card').innerText(), /labels\s+\["digit 0"/);
      assert.equal(await frame.locator('.operators canvas').count(), 1, 'operator histogram drawn');
      await frame.locator('.try-it [data-tryit="ready"]').waitFor();
      assert.equal(await frame.locator('.try-it select.scale').inputValue(), '0-16', '8x8 input: scikit-learn digits scale by default');
      await page.waitForTimeout(300);
      await screenshot(page, 'onnx-view', theme);
    });

    it('a stroke drawn on the pad is run by onnxruntime and the top-5 classes appear as bars', { timeout: TEST_TIMEOUT }, async () => {
      const { page } = wb;
      const frame = activeWebview(page);
      const pad = frame.locator('canvas.drawing-pad');
      await pad.scrollIntoViewIfNeeded();
      // A "1": one vertical stroke down the middle.
      await stroke(page, pad, [[0.5, 0.12], [0.52, 0.5], [0.5, 0.88]]);
      // Predictions also come while drawing; wait for the one of the finished stroke (no request pending).
      const result = frame.locator('.try-it .prediction[data-bars="5"]:not([aria-busy="true"])');
      await result.waitFor({ state: 'visible', timeout: 60_000 });
      const headline = await frame.locator('.try-it .headline').innerText();
      assert.match(headline, /^\d+\.\d% digit \d/);
      assert.match(await result.innerText(), /output "probabilities" · 10 classes · already probabilities/);
      const seen = await frame.locator('canvas.model-input').evaluate((c) => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let lit = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i] > 40) lit++;
        return { w: c.width, h: c.height, lit };
      });
      assert.deepEqual([seen.w, seen.h], [8, 8], 'the drawing is downsampled to the 8x8 input');
      assert.ok(seen.lit >= 4 && seen.lit <= 40, `${seen.lit} of 64 input pixels lit by one stroke`);
      // A different pixel scale gives a different answer distribution.
      const before = headline;
      await frame.locator('.try-it select.scale').selectOption('0-1');
      await page.waitForFunction(() => true);
      await frame.locator('.try-it .headline').filter({ hasNotText: before }).waitFor({ timeout: 30_000 }).catch(() => {});
      await frame.locator('.try-it select.scale').selectOption('0-16');
      await frame.locator('.try-it .headline', { hasText: before }).waitFor({ timeout: 30_000 });
      await page.waitForTimeout(300);
      await screenshot(page, 'onnx-try-it', theme);
    });

    if (theme !== 'dark') return;

    it('a file that is not ONNX shows a clear message, not a blank page', { timeout: TEST_TIMEOUT }, async () => {
      const { page } = wb;
      await openFile(page, 'broken.onnx');
      const frame = activeWebview(page);
      const app = frame.locator('#app[data-state="invalid"]');
      await app.waitFor({ state: 'visible', timeout: 60_000 });
      assert.match(await app.innerText(), /broken\.onnx cannot be shown\. Not an ONNX model \(.*\): the file is truncated or is not an \.onnx file\..*torch\.onnx\.export/s);
      await screenshot(page, 'onnx-invalid', theme);
    });
  });
}

describe('ONNX model view in an untrusted workspace', { timeout: 2 * TEST_TIMEOUT }, () => {
  let wb;
  before(async () => {
    wb = await openWorkbench({ name: 'onnx-untrusted', theme: 'dark', trustWorkspace: false, settings: { 'security.workspace.trust.startupPrompt': 'always' } });
    copyFileSync(MODEL, join(wb.workspace, 'digits.onnx'));
  });
  after(async () => {
    await wb?.close();
  });

  it('the model is shown, and Try it says it is off until the workspace is trusted', { timeout: TEST_TIMEOUT }, async () => {
    const { page } = wb;
    const decline = page.locator('.monaco-dialog-box .monaco-button', { hasText: "No, I don't trust the authors" });
    await decline.waitFor({ state: 'visible', timeout: 45_000 });
    await decline.click();
    await page.locator('.statusbar', { hasText: /Restricted Mode/i }).waitFor({ state: 'visible', timeout: 15_000 });
    await openFile(page, 'digits.onnx');
    const frame = activeWebview(page);
    await frame.locator('#app[data-state="model"]').waitFor({ state: 'visible', timeout: 60_000 });
    const tryIt = frame.locator('.try-it [data-tryit="untrusted"]');
    await tryIt.waitFor();
    assert.match(await tryIt.innerText(), /not trusted/);
    assert.equal(await frame.locator('canvas.drawing-pad').count(), 0, 'no drawing pad');
    await screenshot(page, 'onnx-untrusted', 'dark');
  });
});
