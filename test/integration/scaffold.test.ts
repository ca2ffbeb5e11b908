// Descent: New Model Project and Insert Building Block in a real VS Code host: a project generated through the
// command's { options, folder } argument (no pickers), train.py opened and lint-clean, a folder never overwritten,
// invalid options refused with nothing written, every building block inserted lint-clean, and Train now's request
// starting a real run of the generated project (CPU build of PyTorch, scikit-learn's iris).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DescentApi } from '../../src/extension';
import type { LaunchResult } from '../../src/train/launcher';
import { BUILDING_BLOCKS } from '../../src/scaffold/vscode/blocks';
import type { InsertBlockResult } from '../../src/scaffold/vscode/insertBlock';
import type { NewProjectResult } from '../../src/scaffold/vscode/newProject';
import { EXTENSION_ID, sleep, until } from './helpers';

const workspace = () => vscode.workspace.workspaceFolders![0]!.uri.fsPath;
const scratch = () => path.join(workspace(), 'scaffold-tests');

function descentFindings(uri: vscode.Uri): string[] {
  return vscode.languages
    .getDiagnostics(uri)
    .filter((d) => d.source === 'Descent')
    .map((d) => `${typeof d.code === 'object' ? String(d.code.value) : String(d.code)}:${d.range.start.line + 1} ${d.message}`);
}

const newProject = (arg: unknown) => vscode.commands.executeCommand<NewProjectResult>('descent.newProject', arg);

suite('Scaffold', function () {
  this.timeout(120_000);

  suiteSetup(async () => {
    const api = await vscode.extensions.getExtension<DescentApi>(EXTENSION_ID)!.activate();
    assert.equal(await api.lint.ready(), true, 'the parser loaded');
    fs.rmSync(scratch(), { recursive: true, force: true });
  });

  suiteTeardown(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    fs.rmSync(scratch(), { recursive: true, force: true });
  });

  test('New Model Project with { options, folder } writes the project and opens a lint-clean train.py', async () => {
    const folder = path.join(scratch(), 'iris-mlp');
    const r = await newProject({ options: { task: 'tabular-classification', data: { kind: 'sklearn', name: 'iris' }, name: 'iris-mlp', epochs: 3 }, folder });
    assert.ok(r.ok, r.ok ? '' : r.message);
    for (const f of ['README.md', 'config.json', 'data.py', 'model.py', 'train.py', 'descent_log.py', 'requirements.txt', '.gitignore']) {
      assert.ok(fs.existsSync(path.join(folder, f)), `${f} written`);
    }
    assert.equal(r.trainPy, path.join(folder, 'train.py'));
    assert.equal(JSON.parse(fs.readFileSync(path.join(folder, 'config.json'), 'utf8')).epochs, 3);
    // The vendored logger is the extension's own python/descent/log.py.
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    assert.equal(fs.readFileSync(path.join(folder, 'descent_log.py'), 'utf8'), fs.readFileSync(path.join(ext.extensionPath, 'python', 'descent', 'log.py'), 'utf8'));
    const editor = await until('train.py in the editor', () => vscode.window.activeTextEditor?.document.uri.fsPath === r.trainPy && vscode.window.activeTextEditor);
    await sleep(1000);
    assert.deepEqual(descentFindings(editor.document.uri), []);
  });

  test('the pickers with Enter at every step give a project that trains offline (digits, MLP)', async () => {
    const expected = path.join(workspace(), 'digits-mlp');
    assert.equal(fs.existsSync(expected), false, 'no leftover from an earlier run');
    let result: NewProjectResult | undefined;
    const pending = vscode.commands.executeCommand<NewProjectResult>('descent.newProject').then((r) => (result = r));
    try {
      // Ten steps: task, data, architecture, loss, optimizer, learning rate, regularizers, epochs, batch size, folder.
      for (let i = 0; i < 40 && result === undefined; i++) {
        await sleep(400);
        await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
      }
      await Promise.race([pending, sleep(5000)]);
      assert.ok(result?.ok, result && !result.ok ? result.message : 'the flow did not finish');
      assert.equal(result.folder, expected);
      const config = JSON.parse(fs.readFileSync(path.join(expected, 'config.json'), 'utf8')) as Record<string, unknown>;
      assert.equal(config.epochs, 30);
      assert.match(fs.readFileSync(path.join(expected, 'data.py'), 'utf8'), /load_digits/);
      assert.equal(vscode.window.activeTextEditor?.document.uri.fsPath, path.join(expected, 'train.py'));
    } finally {
      if (result === undefined) await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
      fs.rmSync(expected, { recursive: true, force: true });
    }
  });

  test('an existing project is never overwritten', async () => {
    const folder = path.join(scratch(), 'iris-mlp');
    const before = fs.readFileSync(path.join(folder, 'config.json'), 'utf8');
    const r = await newProject({ options: { task: 'tabular-classification', data: { kind: 'sklearn', name: 'iris' }, epochs: 7 }, folder, open: false });
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.message, /already has .*config\.json.*Nothing was written/);
    assert.equal(fs.readFileSync(path.join(folder, 'config.json'), 'utf8'), before);
  });

  test('invalid options get a clear error and nothing is written', async () => {
    const folder = path.join(scratch(), 'bad');
    const r = await newProject({ options: { task: 'regression', architecture: 'cnn', lr: -1 }, folder, open: false });
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.match(r.message, /architecture: CNN does not fit regression/);
    assert.match(r.message, /lr: The learning rate must be a positive number/);
    assert.deepEqual(r.problems?.map((p) => p.field).sort(), ['architecture', 'lr']);
    assert.equal(fs.existsSync(folder), false);

    const noFolder = await newProject({ options: { task: 'regression' } });
    assert.equal(noFolder.ok, false);
    assert.match(noFolder.ok ? '' : noFolder.message, /give the folder/);
  });

  test('a CSV without the target column is refused with the columns it has', async () => {
    const folder = path.join(scratch(), 'csv');
    fs.mkdirSync(path.join(folder, 'data'), { recursive: true });
    fs.writeFileSync(path.join(folder, 'data', 'train.csv'), 'a,b,label\n1,2,0\n');
    const r = await newProject({ options: { task: 'regression', data: { kind: 'csv', path: 'data/train.csv', target: 'price' } }, folder, open: false });
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.message, /no column named "price"; its columns are: a, b, label/);
    assert.equal(fs.existsSync(path.join(folder, 'train.py')), false);
  });

  test('Insert Building Block puts each block, lint-clean, into an untitled Python editor', async () => {
    for (const block of BUILDING_BLOCKS) {
      const doc = await vscode.workspace.openTextDocument({ language: 'python', content: '' });
      await vscode.window.showTextDocument(doc);
      const r = await vscode.commands.executeCommand<InsertBlockResult>('descent.insertBuildingBlock', block.id);
      assert.deepEqual(r, { ok: true, block: block.id });
      assert.equal(doc.getText(), block.code, `${block.id} inserted as is`);
      await sleep(700); // the linter debounces edits
      assert.deepEqual(descentFindings(doc.uri), [], block.id);
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    }
    const bad = await vscode.commands.executeCommand<InsertBlockResult>('descent.insertBuildingBlock', 'nope');
    assert.equal(bad.ok, false);
  });

  test('Train now\'s request trains the generated project in its folder', async function () {
    this.timeout(180_000);
    const folder = path.join(scratch(), 'iris-mlp');
    // What the Train now button sends (trainRequest), with the device chosen so no picker opens.
    const r = await vscode.commands.executeCommand<LaunchResult>('descent.train', { script: path.join(folder, 'train.py'), cwd: folder, devices: 'cpu' });
    assert.ok(r?.ok, r && !r.ok ? r.message : 'no result');
    assert.ok(r.runDir.startsWith(path.join(folder, 'runs')), r.runDir);
    const info = await until('the end of the run', () => {
      try {
        const j = JSON.parse(fs.readFileSync(path.join(r.runDir, 'run.json'), 'utf8')) as { status?: string; endTime?: string };
        return j.status !== 'running' && j.endTime ? j : undefined;
      } catch {
        return undefined;
      }
    }, 150_000);
    const stderr = fs.existsSync(path.join(r.runDir, 'stderr.log')) ? fs.readFileSync(path.join(r.runDir, 'stderr.log'), 'utf8').slice(-2000) : '';
    assert.equal(info.status, 'finished', stderr);
    const metrics = fs.readFileSync(path.join(r.runDir, 'metrics.jsonl'), 'utf8');
    assert.match(metrics, /acc/, 'accuracy logged');
    assert.ok(fs.existsSync(path.join(folder, 'checkpoints', 'best.pt')), 'best checkpoint saved');
  });
});
