// The report's GPU table and utilisation chart, fed by the stand-in nvidia-smi (this machine has no NVIDIA GPU):
// proves the chart.js pipeline end to end, host reading -> typed delta -> canvas pixels.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import { EXTENSION_PATH, activeWebview, openWorkbench, runCommand, screenshot } from './helpers.mjs';

const FAKE_SMI = join(EXTENSION_PATH, 'test', 'fixtures', 'fake-nvidia-smi', 'nvidia-smi');

for (const theme of ['dark', 'light']) {
  describe(`GPU utilisation chart (${theme} theme)`, { timeout: 300_000 }, () => {
    let wb;
    before(async () => {
      wb = await openWorkbench({
        name: 'gpu-chart',
        theme,
        // Machine-scoped settings from local user settings do not apply in a remote window such as code-server's,
        // so the path goes in the workspace settings, as a user of Remote-SSH or code-server would put it.
        workspaceSettings: { 'descent.nvidiaSmiPath': FAKE_SMI, 'descent.environment.gpuRefreshSeconds': 1 },
      });
    });
    after(async () => {
      await wb?.close();
    });

    it('lists both GPUs and draws their utilisation as it changes', { timeout: 120_000 }, async () => {
      const { page } = wb;
      await runCommand(page, 'Descent: Show Environment Report');
      const frame = activeWebview(page);
      await frame.locator('#app[data-state="ready"]').waitFor({ state: 'visible', timeout: 60_000 });
      const rows = frame.locator('vscode-table-row[data-gpu]');
      await rows.nth(1).waitFor({ timeout: 30_000 }).catch(async (e) => {
        await screenshot(page, 'environment-report-gpus-failed', theme);
        throw e;
      });
      assert.equal(await rows.count(), 2);
      assert.match(await rows.first().innerText(), /NVIDIA GeForce RTX 4090/);
      // A few 1-second readings arrive as deltas while the panel is visible.
      await page.waitForTimeout(4000);
      const canvas = frame.locator('#gpu-chart');
      const drawn = await canvas.evaluate((c) => {
        const ctx = c.getContext('2d');
        const { data } = ctx.getImageData(0, 0, c.width, c.height);
        let painted = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
        return { painted, width: c.width, height: c.height };
      });
      await canvas.scrollIntoViewIfNeeded();
      await screenshot(page, 'environment-report-gpus', theme);
      assert.ok(drawn.width > 100 && drawn.height > 100, `canvas is ${drawn.width}x${drawn.height}`);
      assert.ok(drawn.painted > 2000, `only ${drawn.painted} pixels painted on the chart`);
      const text = await frame.locator('#app').innerText();
      assert.match(text, /GPU utilisation, last 5 minutes/);
      assert.match(text, /CPU-only build/, 'the CPU-only PyTorch next to GPUs is reported');
    });
  });
}
