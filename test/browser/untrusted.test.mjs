// Workspace Trust: in a workspace the user does not trust, Descent runs nothing and says why.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { environmentView, notification, openDescentContainer, openWorkbench, runCommand, screenshot } from './helpers.mjs';

const THEME = 'dark';

describe('Descent in an untrusted workspace', { timeout: 300_000 }, () => {
  let wb;
  before(async () => {
    wb = await openWorkbench({
      name: 'untrusted',
      theme: THEME,
      trustWorkspace: false,
      // A fresh profile asks once anyway; 'always' keeps the test independent of that.
      settings: { 'security.workspace.trust.startupPrompt': 'always' },
    });
  });
  after(async () => {
    await wb?.close();
  });

  it('the trust prompt can be declined', { timeout: 60_000 }, async () => {
    const { page } = wb;
    const decline = page.locator('.monaco-dialog-box .monaco-button', { hasText: "No, I don't trust the authors" });
    await decline.waitFor({ state: 'visible', timeout: 45_000 });
    await screenshot(page, 'untrusted-prompt', THEME);
    await decline.click();
    await page.locator('.monaco-dialog-box').waitFor({ state: 'hidden', timeout: 10_000 });
    await page.locator('.statusbar', { hasText: /Restricted Mode/i }).waitFor({ state: 'visible', timeout: 15_000 });
  });

  it('Descent: Check Environment says the workspace is not trusted', { timeout: 90_000 }, async () => {
    const { page } = wb;
    await runCommand(page, 'Descent: Check Environment');
    const toast = notification(page, /not trusted/i);
    try {
      await toast.waitFor({ state: 'visible', timeout: 30_000 });
    } finally {
      await screenshot(page, 'untrusted-check', THEME);
    }
    assert.match(await toast.innerText(), /not trusted/i);
  });

  it('the Environment view explains that nothing runs here', { timeout: 60_000 }, async () => {
    const { page } = wb;
    await openDescentContainer(page);
    const view = environmentView(page);
    const welcome = view.getByText(/not trusted/i).first();
    try {
      await welcome.waitFor({ state: 'visible', timeout: 30_000 });
    } finally {
      await screenshot(page, 'untrusted-view', THEME);
    }
    assert.equal(await view.locator('.monaco-list-row', { hasText: 'PyTorch' }).count(), 0, 'an untrusted workspace shows probe results');
  });
});
