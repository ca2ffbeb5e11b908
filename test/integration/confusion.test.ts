// The confusion matrix panel in a real VS Code host: a run written by the real logger (python/descent/log.py) with a
// confusion matrix per epoch is read by the run store (its Runs view item gets the has-confusion context), the
// Show Confusion Matrix command opens it from the run folder, and the webview renders it and reports back.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { api, until, extensionPath } from './helpers';

const LOG_SCRIPT = `
import sys
from descent import log
l = log.Logger(sys.argv[1], create_info=True)
labels = ["cat", "dog", "bird", "fish"]
l.metrics(step=10, epoch=0, split="val", acc=0.5)
l.confusion(labels, [[5, 3, 0, 0], [4, 4, 0, 0], [1, 0, 6, 1], [0, 0, 0, 8]], split="val", epoch=0, step=10)
l.confusion(labels, [[8, 0, 0, 0], [1, 7, 0, 0], [0, 0, 8, 0], [0, 0, 1, 7]], split="val", epoch=1, step=20)
l.finish("finished")
`;

suite('Confusion matrix panel', () => {
  const root = () => vscode.workspace.workspaceFolders![0]!.uri.fsPath;

  suiteTeardown(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  test('a run that logged matrices opens in the panel, which renders the last epoch of val', async function () {
    this.timeout(90_000);
    const descent = await api();
    const dir = path.join(root(), 'runs', 'confusion-int');
    mkdirSync(path.dirname(dir), { recursive: true });
    const python = vscode.workspace.getConfiguration('descent').get<string>('pythonPath') || 'python3';
    const lib = path.join(extensionPath(), 'python');
    const r = spawnSync(python, ['-c', LOG_SCRIPT, dir], { env: { ...process.env, PYTHONPATH: lib }, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);

    // The store counts the run's confusion events (what the Runs view's has-confusion context comes from).
    const key = await until('the run in the store with its matrices', async () => {
      await descent.runs.refresh();
      const run = descent.runs.store.list().find((e) => e.found.dir === dir);
      return run && run.reader.confusions === 2 ? run.key : undefined;
    });
    assert.ok(key);

    const info = (await vscode.commands.executeCommand('descent.showConfusionMatrix', dir)) as { n: number; matrices: number; splits: string[]; runDir: string } | undefined;
    assert.ok(info, 'the command returned no panel');
    assert.equal(info.n, 4);
    assert.equal(info.matrices, 2);
    assert.deepEqual(info.splits, ['val']);
    assert.equal(info.runDir, dir);

    const rendered = await until('the webview to render', () => descent.confusion.panels().find((p) => p.runDir === dir)?.rendered, 60_000);
    assert.equal(rendered.n, 4);
    assert.equal(rendered.split, 'val');
    assert.equal(rendered.position, 1, 'the last epoch is shown first');
    assert.equal(rendered.view, 'counts');
    assert.ok(rendered.drawMs >= 0);

    // Asking again reveals the same panel instead of opening a second one.
    await vscode.commands.executeCommand('descent.showConfusionMatrix', { type: 'run', key, dir });
    assert.equal(descent.confusion.panels().filter((p) => p.runDir === dir).length, 1);
  });

  test('a run without matrices or a folder that is not a run opens nothing', async function () {
    this.timeout(30_000);
    const descent = await api();
    const empty = path.join(root(), 'runs', 'confusion-none');
    mkdirSync(empty, { recursive: true });
    const before = descent.confusion.panels().length;
    assert.equal(await vscode.commands.executeCommand('descent.showConfusionMatrix', empty), undefined);
    assert.equal(await vscode.commands.executeCommand('descent.showConfusionMatrix', path.join(root(), 'no-such-folder')), undefined);
    assert.equal(descent.confusion.panels().length, before);
  });
});
