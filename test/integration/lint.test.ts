// The linter in a real VS Code host: diagnostics while a file is open, quick fixes applied through the code
// action API (as the light bulb does), the explanation page, and a notebook whose cells depend on each other.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DescentApi } from '../../src/extension';
import { EXTENSION_ID, sleep, until } from './helpers';

function workspaceFile(...parts: string[]): vscode.Uri {
  return vscode.Uri.file(path.join(vscode.workspace.workspaceFolders![0]!.uri.fsPath, ...parts));
}

function descentCodes(uri: vscode.Uri): string[] {
  return vscode.languages
    .getDiagnostics(uri)
    .filter((d) => d.source === 'Descent')
    .map((d) => (typeof d.code === 'object' ? String(d.code.value) : String(d.code)))
    .sort();
}

suite('Lint', function () {
  this.timeout(60_000);

  suiteSetup(async () => {
    const api = await vscode.extensions.getExtension<DescentApi>(EXTENSION_ID)!.activate();
    assert.equal(await api.lint.ready(), true, 'the parser loaded');
  });

  teardown(async () => {
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  test('a clean training script has no findings', async () => {
    const doc = await vscode.workspace.openTextDocument(workspaceFile('train.py'));
    await vscode.window.showTextDocument(doc);
    await sleep(800);
    assert.deepEqual(descentCodes(doc.uri), []);
  });

  test('softmax into CrossEntropyLoss and a missing zero_grad are found, with explanation links', async () => {
    const doc = await vscode.workspace.openTextDocument(workspaceFile('lint', 'buggy_train.py'));
    await vscode.window.showTextDocument(doc);
    const codes = await until('diagnostics', () => (descentCodes(doc.uri).length >= 2 ? descentCodes(doc.uri) : undefined));
    assert.ok(codes.includes('LS001'), codes.join());
    assert.ok(codes.includes('TL001'), codes.join());
    const ls001 = vscode.languages.getDiagnostics(doc.uri).find((d) => typeof d.code === 'object' && d.code.value === 'LS001')!;
    assert.equal((ls001.code as { target: vscode.Uri }).target.toString(), 'descent-rule:/LS001.descent-rule');
  });

  test('a model imported from another file of the project is followed, and editing that file re-lints the importer', async () => {
    const doc = await vscode.workspace.openTextDocument(workspaceFile('lint', 'project', 'train_net.py'));
    await vscode.window.showTextDocument(doc);
    const ls = await until('LS001 through net.py', () => vscode.languages.getDiagnostics(doc.uri).find((d) => typeof d.code === 'object' && d.code.value === 'LS001'));
    assert.match(ls.message, /\(line 13 of net\.py\)/);
    // Remove the softmax in net.py, unsaved, in an editor of its own: train_net.py's finding goes.
    const net = await vscode.workspace.openTextDocument(workspaceFile('lint', 'project', 'net.py'));
    await vscode.window.showTextDocument(net, vscode.ViewColumn.Beside);
    const line = net.lineAt(12);
    assert.match(line.text, /F\.softmax/);
    const edit = new vscode.WorkspaceEdit();
    edit.replace(net.uri, line.range, '        return self.out(F.relu(self.hidden(x)))');
    assert.ok(await vscode.workspace.applyEdit(edit));
    await until('LS001 gone after editing net.py', () => (descentCodes(doc.uri).includes('LS001') ? undefined : true));
  });

  test('a project file saved outside the editor re-lints its importers', async () => {
    // Written at test time into a folder of its own, so the fixture files never change.
    const dir = workspaceFile('lint', `project-disk-${process.pid}`).fsPath;
    const net = fs.readFileSync(workspaceFile('lint', 'project', 'net.py').fsPath, 'utf8');
    fs.mkdirSync(dir, { recursive: true });
    try {
      fs.writeFileSync(path.join(dir, 'net.py'), net);
      fs.copyFileSync(workspaceFile('lint', 'project', 'train_net.py').fsPath, path.join(dir, 'train_net.py'));
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(path.join(dir, 'train_net.py')));
      await vscode.window.showTextDocument(doc);
      await until('LS001 through net.py', () => (descentCodes(doc.uri).includes('LS001') ? true : undefined));
      // net.py is not open in any editor: the change reaches the importer through the file watcher.
      assert.match(net, /return F\.softmax\(self\.out\(F\.relu\(self\.hidden\(x\)\)\), dim=1\)/);
      fs.writeFileSync(path.join(dir, 'net.py'), net.replace(/F\.softmax\((self\.out\(F\.relu\(self\.hidden\(x\)\)\)), dim=1\)/, '$1'));
      await until('LS001 gone after net.py changed on disk', () => (descentCodes(doc.uri).includes('LS001') ? undefined : true));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('quick fixes remove the finding; ignore-on-this-line works', async () => {
    const doc = await vscode.workspace.openTextDocument(workspaceFile('lint', 'buggy_train.py'));
    const editor = await vscode.window.showTextDocument(doc);
    const diag = await until('TL001', () => vscode.languages.getDiagnostics(doc.uri).find((d) => typeof d.code === 'object' && d.code.value === 'TL001'));
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', doc.uri, diag.range, vscode.CodeActionKind.QuickFix.value);
    // Our fix for this diagnostic: the first action with an edit that is not "Ignore ..." (the command API returns
    // actions without their diagnostics; VS Code adds generic "Fix"/"Explain" actions of its own, without edits).
    const fix = actions.find((a) => a.edit && !a.title.startsWith('Ignore'));
    assert.ok(fix?.edit, `no fix among: ${actions.map((a) => `${a.title} [diags ${a.diagnostics?.length ?? 'none'}, edit ${a.edit ? 'yes' : 'no'}]`).join(' | ')}`);
    assert.ok(await vscode.workspace.applyEdit(fix.edit));
    assert.match(doc.getText(), /optimizer\.zero_grad\(\)/);
    await until('TL001 gone', () => (descentCodes(doc.uri).includes('TL001') ? undefined : true));

    const ls = await until('LS001', () => vscode.languages.getDiagnostics(doc.uri).find((d) => typeof d.code === 'object' && d.code.value === 'LS001'));
    const lsActions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', doc.uri, ls.range, vscode.CodeActionKind.QuickFix.value);
    const ignore = lsActions.find((a) => a.title === 'Ignore LS001 on this line');
    assert.ok(ignore?.edit);
    assert.ok(await vscode.workspace.applyEdit(ignore.edit));
    assert.match(doc.lineAt(ls.range.start.line).text, /# descent: ignore\[LS001\]/);
    await until('LS001 gone', () => (descentCodes(doc.uri).includes('LS001') ? undefined : true));
    assert.ok(editor.document.isDirty);
  });

  test('typing keeps diagnostics current (incremental re-parse)', async () => {
    const doc = await vscode.workspace.openTextDocument({ language: 'python', content: 'import torch\nfrom torch import nn\nloss_fn = nn.CrossEntropyLoss()\n' });
    const editor = await vscode.window.showTextDocument(doc);
    await sleep(500);
    assert.deepEqual(descentCodes(doc.uri), []);
    const line = 'def step(logits, y):\n    return loss_fn(torch.softmax(logits, dim=1), y)\n';
    for (const ch of line) await editor.edit((b) => b.insert(doc.positionAt(doc.getText().length), ch));
    await until('LS001 after typing', () => (descentCodes(doc.uri).includes('LS001') ? true : undefined));
  });

  test('findings for an older text never replace newer ones (linting runs in a worker)', async () => {
    const code = 'import torch\nfrom torch import nn\nloss_fn = nn.CrossEntropyLoss()\ndef step(logits, y):\n    return loss_fn(torch.softmax(logits, dim=1), y)\n';
    const doc = await vscode.workspace.openTextDocument({ language: 'python', content: code });
    const editor = await vscode.window.showTextDocument(doc);
    await until('LS001', () => (descentCodes(doc.uri).includes('LS001') ? true : undefined));
    // Remove the softmax in several quick edits (each may race a lint of the text before it), then wait.
    const from = code.indexOf('torch.softmax(');
    await editor.edit((b) => b.delete(new vscode.Range(doc.positionAt(from), doc.positionAt(from + 'torch.softmax('.length))));
    const tail = doc.getText().indexOf(', dim=1)');
    for (let i = 0; i < ', dim=1)'.length; i++) await editor.edit((b) => b.delete(new vscode.Range(doc.positionAt(tail), doc.positionAt(tail + 1))));
    assert.match(doc.getText(), /loss_fn\(logits, y\)/);
    await until('LS001 gone', () => (descentCodes(doc.uri).includes('LS001') ? undefined : true));
    await sleep(600);
    assert.deepEqual(descentCodes(doc.uri), []);
  });

  test('Explain Lint Rule opens the explanation page', async () => {
    await vscode.commands.executeCommand('descent.lint.explainRule', 'LS001');
    const tab = await until('rule tab', () =>
      vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => t.input instanceof vscode.TabInputCustom && t.input.viewType === 'descent.ruleExplanation'),
    );
    assert.match(tab.label, /LS001/);
    const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(vscode.Uri.parse('descent-rule:/LS001.descent-rule')));
    assert.match(text, /^# LS001/);
    assert.match(text, /## Why it hurts training/);
  });

  test('a notebook is linted across cells; findings land in the right cell', async () => {
    const nb = await vscode.workspace.openNotebookDocument(workspaceFile('lint', 'split_cells.ipynb'));
    await vscode.window.showNotebookDocument(nb);
    const trainingCell = nb.cellAt(2);
    const modelCell = nb.cellAt(1);
    const codes = await until('notebook diagnostics', () => {
      const all = [...descentCodes(trainingCell.document.uri), ...descentCodes(modelCell.document.uri)];
      return all.includes('LS001') ? all : undefined;
    });
    assert.ok(!codes.includes('TL001'), 'zero_grad is called in the loop');
    assert.ok(descentCodes(trainingCell.document.uri).includes('LS001'), 'the finding is on the loss call in the training cell');
  });
});
