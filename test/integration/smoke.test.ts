import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { EXTENSION_ID } from './helpers';

suite('Descent smoke', () => {
  test('the extension is installed', () => {
    assert.ok(vscode.extensions.getExtension(EXTENSION_ID), `${EXTENSION_ID} is not among the installed extensions`);
  });

  test('the extension activates', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext);
    await ext.activate();
    assert.equal(ext.isActive, true);
  });

  test('the environment commands are registered', async () => {
    await vscode.extensions.getExtension(EXTENSION_ID)?.activate(); // getCommands() lists them only once active
    const commands = new Set(await vscode.commands.getCommands(true));
    for (const id of ['descent.checkEnvironment', 'descent.showEnvironmentReport']) {
      assert.ok(commands.has(id), `command ${id} is not registered`);
    }
  });
});
