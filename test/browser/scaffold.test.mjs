// Descent: New Model Project as a person sees it: the guided quick picks (task, data, architecture), in a dark and a
// light theme. The flow's end (a project written and trained) is covered in the host by test/integration/scaffold.
/* global document */ // used inside page.waitForFunction callbacks, which run in the browser
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { openDescentContainer, openWorkbench, runCommand, screenshot } from './helpers.mjs';

const TEST_TIMEOUT = 120_000;

for (const theme of ['dark', 'light']) {
  describe(`Descent new model project (${theme} theme)`, { timeout: 3 * TEST_TIMEOUT }, () => {
    let wb;
    before(async () => {
      wb = await openWorkbench({ name: 'scaffold', theme });
    });
    after(async () => {
      await wb?.close();
    });

    it('the guided steps offer the tasks, the bundled datasets and the architectures, with defaults first', { timeout: TEST_TIMEOUT }, async () => {
      const { page } = wb;
      const widget = page.locator('.quick-input-widget');
      const rows = widget.locator('.monaco-list-row');
      const step = async (placeholder, shot) => {
        await page.waitForFunction((p) => document.querySelector('.quick-input-widget input')?.getAttribute('placeholder')?.includes(p), placeholder, { timeout: 60_000 });
        await rows.first().waitFor({ state: 'visible' });
        await page.waitForTimeout(200);
        await screenshot(page, shot, theme);
        return (await rows.allInnerTexts()).join('\n');
      };
      // Where a person starts: the Descent container (also lets the workbench finish loading its command list).
      await openDescentContainer(page);
      await runCommand(page, 'Descent: New Model Project');
      const tasks = await step('What should the model do?', 'scaffold-task');
      for (const t of [/image classification/i, /tabular classification/i, /regression/i, /sequence classification/i, /autoencod/i]) assert.match(tasks, t);
      await page.keyboard.press('Enter'); // the default task: tabular classification
      const data = await widget.locator('.monaco-list').first().innerText({ timeout: 60_000 });
      assert.match(data, /digits/i, `the data step offers scikit-learn's digits:\n${data}`);
      await page.waitForTimeout(200);
      await screenshot(page, 'scaffold-data', theme);
      await page.keyboard.press('Enter'); // the default data: digits
      const architectures = await step('Which architecture?', 'scaffold-architecture');
      assert.match(architectures, /MLP/, architectures);
      assert.match(architectures, /logistic|perceptron/i, architectures);
      await page.keyboard.press('Escape');
      await widget.waitFor({ state: 'hidden' });
    });
  });
}
