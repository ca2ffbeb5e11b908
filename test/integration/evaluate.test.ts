// Descent: Evaluate Model in a real VS Code host: onnxruntime-node in the evaluation worker on a model exported by
// PyTorch, the result saved as a run (run format v1) and opened in the confusion matrix panel; errors as messages.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DescentApi } from '../../src/extension';
import type { EvaluateModelArgs, EvaluateModelOutcome } from '../../src/evaluate/vscode/command';
import { EXTENSION_ID, sleep, extensionPath } from './helpers';

suite('Evaluate Model', function () {
  this.timeout(180_000);
  const root = vscode.workspace.workspaceFolders![0]!.uri.fsPath;
  const dir = path.join(root, 'evaluate-test');
  let expected: { accuracy: number; samples: number };

  suiteSetup(() => {
    fs.mkdirSync(dir, { recursive: true });
    const python = vscode.workspace.getConfiguration('descent').get<string>('pythonPath') || 'python3';
    const script = path.join(extensionPath(), 'test', 'fixtures', 'evaluate', 'make_eval.py');
    const r = spawnSync(python, [script, dir], { encoding: 'utf8' });
    assert.equal(r.status, 0, `python failed: ${r.stderr}`);
    expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8'));
  });
  suiteTeardown(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('an .npz evaluation: PyTorch accuracy, a run with a confusion event, and the confusion panel', async function () {
    if (!vscode.workspace.isTrusted) this.skip();
    const descent = (await vscode.extensions.getExtension<DescentApi>(EXTENSION_ID)!.activate()) as DescentApi;
    const args: EvaluateModelArgs = { model: path.join(dir, 'digits.onnx'), data: { kind: 'npz', path: path.join(dir, 'digits.npz') }, batchSize: 128, threads: 1 };
    const outcome = (await vscode.commands.executeCommand('descent.evaluateModel', args)) as EvaluateModelOutcome | undefined;
    assert.ok(outcome, 'the evaluation finished');
    assert.equal(outcome.samples, expected.samples);
    assert.ok(Math.abs(outcome.accuracy - expected.accuracy) < 1e-9, `accuracy ${outcome.accuracy} vs PyTorch ${expected.accuracy}`);
    assert.equal(outcome.labels[3], 'three');

    const runDir = outcome.runDir!;
    assert.ok(runDir.startsWith(path.join(root, 'runs', 'eval-digits-')), runDir);
    const info = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8'));
    assert.equal(info.formatVersion, 1);
    assert.equal(info.status, 'finished');
    assert.equal(info.hyperparameters.kind, 'evaluation');
    const event = JSON.parse(fs.readFileSync(path.join(runDir, 'events.jsonl'), 'utf8').trim());
    assert.equal(event.event, 'confusion');
    assert.equal(event.split, 'test');
    assert.equal(event.matrix.flat().reduce((a: number, b: number) => a + b, 0), expected.samples);
    const metrics = JSON.parse(fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim());
    assert.equal(metrics.accuracy, outcome.accuracy);

    // The panel opened through the confusion feature (its webview reports what it rendered).
    const end = Date.now() + 30_000;
    while (!descent.confusion.panels().some((p) => p.title.includes('digits.onnx')) && Date.now() < end) await sleep(200);
    assert.ok(descent.confusion.panels().some((p) => p.title.includes('digits.onnx')), `panels: ${JSON.stringify(descent.confusion.panels().map((p) => p.title))}`);

    // A second evaluation never overwrites the first run.
    const again = (await vscode.commands.executeCommand('descent.evaluateModel', args)) as EvaluateModelOutcome | undefined;
    assert.ok(again?.runDir && again.runDir !== runDir && fs.existsSync(path.join(runDir, 'run.json')));
  });

  test('a file that is not ONNX resolves to nothing and creates no run', async function () {
    if (!vscode.workspace.isTrusted) this.skip();
    fs.writeFileSync(path.join(dir, 'junk.onnx'), 'not a model');
    const before = fs.existsSync(path.join(root, 'runs')) ? fs.readdirSync(path.join(root, 'runs')).length : 0;
    const outcome = await vscode.commands.executeCommand('descent.evaluateModel', { model: path.join(dir, 'junk.onnx'), data: { kind: 'npz', path: path.join(dir, 'digits.npz') } } satisfies EvaluateModelArgs);
    assert.equal(outcome, undefined);
    const after = fs.existsSync(path.join(root, 'runs')) ? fs.readdirSync(path.join(root, 'runs')).length : 0;
    assert.equal(after, before);
  });
});
