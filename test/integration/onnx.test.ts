// The ONNX model view in a real VS Code host: a .onnx file opens in the custom editor, the parsed model reaches the
// webview (which reports what it rendered), Try it runs onnxruntime-node in the host on a drawing and on an image
// file, "Descent: Open ONNX Model" opens a given file, and a file that is not ONNX gets a message.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import * as vscode from 'vscode';
import { api, until, extensionPath } from './helpers';

suite('ONNX model view', function () {
  this.timeout(120_000);
  const dir = path.join(vscode.workspace.workspaceFolders![0]!.uri.fsPath, 'onnx-view-test');
  const model = path.join(dir, 'digits.onnx');

  suiteSetup(() => {
    fs.mkdirSync(dir, { recursive: true });
    const python = vscode.workspace.getConfiguration('descent').get<string>('pythonPath') || 'python3';
    const script = path.join(extensionPath(), 'test', 'fixtures', 'onnx', 'make_digits.py');
    const r = spawnSync(python, [script, model], { encoding: 'utf8' });
    assert.equal(r.status, 0, `python failed: ${r.stderr}`);
    fs.writeFileSync(path.join(dir, 'not-a-model.onnx'), 'plain text, not protobuf\n');
  });
  suiteTeardown(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('opening a .onnx file: the parsed model reaches the webview, Try it runs the model', async () => {
    const descent = await api();
    await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(model));
    const editor = await until('the model view', () => descent.onnx.editors().find((e) => e.uri.endsWith('/digits.onnx')));
    const rendered = await until('the webview to render the model', () => editor.rendered.find((r) => r.what === 'model'));
    assert.deepEqual(JSON.parse(rendered.detail), { inputs: ['pixels'], outputs: ['probabilities'], parameterCount: 4810, operators: 5, tryIt: vscode.workspace.isTrusted ? 'ready' : 'untrusted' });
    assert.equal(vscode.window.tabGroups.activeTabGroup.activeTab?.input instanceof vscode.TabInputCustom, true);

    // A drawing as the webview sends it (id 0: not a request of the webview's own, which it always shows): a
    // vertical bar in an 8x8 image.
    const pixels = Array.from({ length: 64 }, (_, i) => (i % 8 === 3 || i % 8 === 4 ? 1 : 0));
    editor.receive({ type: 'predictDrawing', id: 0, pixels: { width: 8, height: 8, channels: 1, data: pixels } });
    const drawn = await until('a prediction rendered', () => editor.rendered.find((r) => r.what === 'prediction'));
    const top = JSON.parse(drawn.detail) as [string, number][];
    assert.equal(top.length, 5);
    assert.match(top[0]![0], /^digit \d$/);
    assert.ok(top[0]![1] >= top[1]![1]);

    // An image file, decoded and resized in the host: a PNG written here (16x16, white bar on black).
    const png = path.join(dir, 'bar.png');
    fs.writeFileSync(png, pngBar());
    const before = editor.rendered.length;
    await editor.tryImageFile(png);
    const fromImage = await until('a prediction for the image', () => editor.rendered.slice(before).find((r) => r.what === 'prediction'));
    assert.equal((JSON.parse(fromImage.detail) as unknown[]).length, 5);
  });

  test('Descent: Open ONNX Model opens a given file in the view; a non-ONNX file gets a message', async () => {
    const descent = await api();
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.commands.executeCommand('descent.openOnnxModel', vscode.Uri.file(path.join(dir, 'not-a-model.onnx')));
    const editor = await until('the model view', () => descent.onnx.editors().find((e) => e.uri.endsWith('/not-a-model.onnx')));
    const rendered = await until('the message', () => editor.rendered.find((r) => r.what === 'invalid'));
    assert.match(rendered.detail, /not-a-model\.onnx cannot be shown\. Not an ONNX model \(.*at byte \d+\): the file is truncated or is not an \.onnx file\. Export a model with torch\.onnx\.export/);
  });
});

/** A 16x16 PNG with a white vertical bar (columns 7-8) on black. */
function pngBar(): Buffer {
  const png = new PNG({ width: 16, height: 16 });
  for (let i = 0; i < 16 * 16; i++) {
    const on = i % 16 === 7 || i % 16 === 8 ? 255 : 0;
    png.data.set([on, on, on, 255], i * 4);
  }
  return PNG.sync.write(png);
}
