// The linter as a person meets it: squiggles in a buggy training script, a hover that explains the finding with a
// link to its explanation page, and that page opened inside VS Code; dark and light themes.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACTS, activeWebview, openWorkbench, screenshot } from './helpers.mjs';

async function openFile(page, name) {
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.pressSequentially(name, { delay: 30 });
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: name }).first().waitFor({ timeout: 20_000 });
  await page.keyboard.press('Enter');
  await page.locator('.monaco-editor .view-lines').first().waitFor({ timeout: 20_000 });
}

for (const theme of ['dark', 'light']) {
  describe(`Lint in the editor (${theme} theme)`, { timeout: 300_000 }, () => {
    let wb;
    before(async () => {
      wb = await openWorkbench({ name: 'lint', theme });
    });
    after(async () => {
      await wb?.close();
    });

    it('shows a squiggle whose hover explains the finding and links to its page', { timeout: 120_000 }, async () => {
      const { page } = wb;
      await openFile(page, 'buggy_train.py');
      const squiggle = page.locator('.monaco-editor .squiggly-error').first();
      await squiggle.waitFor({ state: 'attached', timeout: 60_000 });
      const box = await squiggle.boundingBox();
      assert.ok(box, 'the squiggle is on screen');
      await page.mouse.move(box.x + Math.min(8, box.width / 2), box.y + box.height / 2);
      const hover = page.locator('.monaco-hover').filter({ hasText: 'Descent' }).first();
      await hover.waitFor({ state: 'visible', timeout: 20_000 });
      const link = hover.locator('a.code-link');
      await link.waitFor({ timeout: 10_000 });
      const code = (await link.innerText()).trim();
      assert.match(code, /^(LS001|TL001)$/, `the hover links the rule code, got "${code}"`);
      assert.match(await hover.innerText(), /CrossEntropyLoss|zero_grad/);
      mkdirSync(join(ARTIFACTS, 'screenshots'), { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'screenshots', `lint-hover-${theme}.png`) });

      await link.click();
      const app = activeWebview(page).locator('#app[data-state="ready"]');
      await app.waitFor({ state: 'visible', timeout: 30_000 });
      const text = await app.innerText();
      assert.match(text, new RegExp(code));
      assert.match(text, /Why it hurts training/);
      assert.match(text, /Wrong/);
      assert.match(text, /Right/);
      await screenshot(page, 'lint-explanation', theme);
    });
  });
}
