// The Environment view and the Environment report, as a person sees them, in a dark and a light theme.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { activeWebview, environmentView, openDescentContainer, openWorkbench, runCommand, screenshot } from './helpers.mjs';

const TEST_TIMEOUT = 120_000;

for (const theme of ['dark', 'light']) {
  describe(`Descent environment (${theme} theme)`, { timeout: 6 * TEST_TIMEOUT }, () => {
    let wb;
    before(async () => {
      wb = await openWorkbench({ name: 'environment', theme });
    });
    after(async () => {
      await wb?.close();
    });

    it('the Environment view lists Python and PyTorch', { timeout: TEST_TIMEOUT }, async () => {
      const { page } = wb;
      await openDescentContainer(page);
      const view = environmentView(page);
      const rows = view.locator('.monaco-list-row');
      try {
        await rows.filter({ hasText: 'Python' }).first().waitFor({ state: 'visible', timeout: 60_000 });
        await rows.filter({ hasText: 'PyTorch' }).first().waitFor({ state: 'visible', timeout: 60_000 });
      } finally {
        await screenshot(page, 'environment-view', theme);
      }
      const text = (await rows.allInnerTexts()).join('\n');
      for (const label of ['Interpreter', 'Python', 'PyTorch']) {
        assert.match(text, new RegExp(label), `the Environment view has no "${label}" row:\n${text}`);
      }
    });

    it('Descent: Show Environment Report renders PyTorch 2.13', { timeout: TEST_TIMEOUT }, async () => {
      const { page } = wb;
      await runCommand(page, 'Descent: Show Environment Report');
      const app = activeWebview(page).locator('#app[data-state="ready"]');
      try {
        await app.waitFor({ state: 'visible', timeout: 60_000 });
        // Let charts and fonts settle before the picture.
        await page.waitForTimeout(500);
      } finally {
        await screenshot(page, 'environment-report', theme);
      }
      const text = await app.innerText();
      assert.match(text, /PyTorch/, 'the report does not mention PyTorch');
      assert.match(text, /2\.13/, 'the report does not show the PyTorch version 2.13');
    });
  });
}
