// The runs feature in a real VS Code host: the fixture runs of the test workspace are listed, a run written by the
// real logger (python/descent/log.py) in a Python subprocess appears, its appended records arrive through the file
// watcher, a live run shows as running then finished, and a curves panel opens and gets its snapshot.
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { api, until, extensionPath } from './helpers';

function python(): string {
  return vscode.workspace.getConfiguration('descent').get<string>('pythonPath') || 'python3';
}

function workspace(): string {
  return vscode.workspace.workspaceFolders![0]!.uri.fsPath;
}

function pythonEnv(): NodeJS.ProcessEnv {
  const lib = path.join(extensionPath(), 'python');
  return { ...process.env, PYTHONPATH: lib };
}

const LOG_SCRIPT = `
import sys
from descent import log
run_dir, start, count, finish = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
logger = log.Logger(run_dir, create_info=(start == 0))
if start == 0:
    logger.hparams({"lr": 0.01, "epochs": 4})
for step in range(start, start + count):
    logger.metrics(step=step, epoch=step // 10, split="train", loss=1.0 / (step + 1))
    if step % 10 == 9:
        logger.metrics(step=step, epoch=step // 10, split="val", loss=1.2 / (step + 1), acc=step / 100)
if finish:
    logger.finish("finished")
`;

function runLogger(dir: string, start: number, count: number, finish: boolean): void {
  const r = spawnSync(python(), ['-c', LOG_SCRIPT, dir, String(start), String(count), finish ? '1' : '0'], { env: pythonEnv(), encoding: 'utf8' });
  assert.equal(r.status, 0, `python failed: ${r.stderr}`);
}

suite('Runs', function () {
  this.timeout(120_000);

  test('the fixture runs are listed with their status and series', async () => {
    const runs = await (await api()).runs.list();
    const byName = Object.fromEntries(runs.map((r) => [r.name, r]));
    for (const name of ['mnist-baseline', 'mnist-lr-too-high', 'resnet-killed', 'tensorboard-resnet', 'lightning-mlp', 'training.log']) {
      assert.ok(byName[name], `${name} is not listed (got ${runs.map((r) => r.name).join(', ')})`);
    }
    assert.equal(byName['mnist-baseline']!.status, 'finished');
    assert.equal(byName['mnist-lr-too-high']!.status, 'failed');
    assert.equal(byName['resnet-killed']!.status, 'interrupted');
    assert.equal(byName['tensorboard-resnet']!.kind, 'tensorboard');
    const rows = (await api()).runs.tree();
    assert.deepEqual(rows.map((g) => g.group), ['interrupted', 'failed', 'finished']);
  });

  test('a run written by the real logger appears; appended records arrive', async () => {
    const a = await api();
    const dir = path.join(workspace(), 'runs', 'integration-logger');
    runLogger(dir, 0, 20, false);
    const run = await until('the new run', async () => (await a.runs.list()).find((r) => r.dir === dir));
    const count = () => a.runs.series(run.key).find((s) => s.metric === 'loss' && s.split === 'train')?.count;
    await until('20 train records', () => count() === 20);
    assert.equal(a.runs.series(run.key).find((s) => s.metric === 'acc' && s.split === 'val')?.count, 2);
    runLogger(dir, 20, 15, true);
    await until('35 train records after the append', () => count() === 35, 20_000);
    await until('finished', async () => (await a.runs.list()).find((r) => r.key === run.key)?.status === 'finished');
  });

  test('a live run shows as running while it writes, then finished', async () => {
    const a = await api();
    const dir = path.join(workspace(), 'runs', 'integration-live');
    const script = `
import sys, time

from descent import log
logger = log.Logger(sys.argv[1], create_info=True)
logger.hparams({"epochs": 3})
for step in range(60):
    logger.metrics(step=step, epoch=step // 20, split="train", loss=1.0 / (step + 1))
    time.sleep(0.05)
logger.finish("finished")
`;
    const child = spawn(python(), ['-c', script, dir], { env: pythonEnv(), stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const run = await until('the live run', async () => (await a.runs.list()).find((r) => r.dir === dir && r.records > 0));
    assert.equal(run.status, 'running');
    const seen = new Set<number>();
    await until('several growing counts', async () => {
      const c = a.runs.series(run.key).find((s) => s.metric === 'loss')?.count ?? 0;
      seen.add(c);
      return seen.size >= 3;
    });
    assert.equal(await exited, 0);
    await until('finished with all 60 records', async () => {
      const r = (await a.runs.list()).find((x) => x.key === run.key);
      return r?.status === 'finished' && r.records === 60;
    });
  });

  test('Show Training Curves opens a panel for the run; Compare Runs for two', async () => {
    const a = await api();
    const runs = await a.runs.list();
    const baseline = runs.find((r) => r.name === 'mnist-baseline')!;
    const failed = runs.find((r) => r.name === 'mnist-lr-too-high')!;
    await vscode.commands.executeCommand('descent.showTrainingCurves', baseline.key);
    const panel = await until('the curves panel', () => a.runs.panels().find((p) => p.keys.length === 1 && p.keys[0] === baseline.key));
    assert.match(panel.title, /mnist-baseline/);
    await until('the snapshot sent to the webview', () => a.runs.panels().find((p) => p.keys[0] === baseline.key && p.stats.snapshots > 0), 30_000);
    await vscode.commands.executeCommand('descent.compareRuns', baseline.key, [baseline.key, failed.key]);
    await until('the compare panel', () => a.runs.panels().find((p) => p.keys.length === 2));
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await until('panels closed', () => a.runs.panels().length === 0);
  });

  test('the commands are registered', async () => {
    await api();
    const commands = new Set(await vscode.commands.getCommands(true));
    for (const id of ['descent.showTrainingCurves', 'descent.compareRuns', 'descent.refreshRuns', 'descent.deleteRun', 'descent.revealRun']) {
      assert.ok(commands.has(id), `${id} is not registered`);
    }
  });
});
