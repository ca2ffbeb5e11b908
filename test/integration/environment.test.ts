// The environment feature in a real VS Code host, against a real Python (the venv with the CPU build of torch
// that the driver configured in the workspace settings) and real processes.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { EnvironmentSnapshot } from '../../src/protocol/environment';
import { sleep, api, extensionPath } from './helpers';

const config = () => vscode.workspace.getConfiguration('descent');

/** Changes a workspace setting for one test; the service refreshes on its own, so wait for the new snapshot. */
async function withSetting<T>(key: string, value: unknown, body: (s: EnvironmentSnapshot) => Promise<T> | T): Promise<T> {
  const before = config().inspect(key)?.workspaceValue;
  await config().update(key, value, vscode.ConfigurationTarget.Workspace);
  try {
    return await body(await (await api()).environment.refresh());
  } finally {
    await config().update(key, before, vscode.ConfigurationTarget.Workspace);
  }
}

suite('Environment', function () {
  this.timeout(120_000);

  test('probes the configured interpreter: Python, the CPU build of PyTorch, no GPU', async () => {
    const s = await (await api()).environment.refresh();
    assert.equal(s.trusted, true);
    assert.equal(s.interpreter?.source, 'setting');
    assert.equal(s.probe.status, 'ok', JSON.stringify(s.probe));
    if (s.probe.status !== 'ok') return;
    assert.match(s.probe.report.python.version, /^3\.\d+\.\d+/);
    assert.match(s.probe.report.torch?.version ?? '', /^2\.13\.0/);
    assert.equal(s.probe.report.torch?.cudaBuild, null);
    assert.equal(s.gpus.status, 'no-nvidia-smi');
    assert.deepEqual(s.problems.map((p) => p.code), ['cpu-only']);
    assert.equal(s.onnxRuntime?.status, 'ok', s.onnxRuntime?.message ?? '');
    assert.match(s.onnxRuntime?.version ?? '', /^1\.\d+/);
    assert.ok(s.onnxRuntime?.backends.some((b) => b.name === 'cpu' && b.bundled));
  });

  test('the Environment view rows say so', async () => {
    const a = await api();
    await a.environment.refresh();
    const rows = Object.fromEntries(a.environment.tree().map((n) => [n.id, n.description]));
    assert.match(String(rows.torch), /^2\.13\.0/);
    assert.equal(rows.cuda, 'not in this build (CPU-only PyTorch)');
    assert.equal(rows.gpus, 'no NVIDIA GPU (nvidia-smi not found)');
    assert.match(String(rows.onnxruntime), /cpu/);
  });

  test('GPUs from nvidia-smi; a CPU-only PyTorch next to them is reported', async () => {
    const smi = path.join(extensionPath(), 'test', 'fixtures', 'fake-nvidia-smi', 'nvidia-smi');
    await withSetting('nvidiaSmiPath', smi, (s) => {
      assert.equal(s.gpus.status, 'ok', s.gpus.message ?? '');
      assert.deepEqual(s.gpus.gpus.map((g) => g.name), ['NVIDIA GeForce RTX 4090', 'NVIDIA GeForce RTX 4090']);
      assert.equal(s.gpus.driverVersion, '560.35.03');
      assert.equal(s.problems[0]?.code, 'cpu-build-with-gpu');
    });
  });

  test('GPUs are polled only while a consumer is visible', async () => {
    const a = await api();
    const smi = path.join(extensionPath(), 'test', 'fixtures', 'fake-nvidia-smi', 'nvidia-smi');
    await config().update('environment.gpuRefreshSeconds', 1, vscode.ConfigurationTarget.Workspace);
    try {
      await withSetting('nvidiaSmiPath', smi, async () => {
        await vscode.commands.executeCommand('workbench.action.closeSidebar');
        await vscode.commands.executeCommand('workbench.action.closeAllEditors');
        await sleep(300);
        const hiddenAt = a.environment.snapshot().gpus.at;
        await sleep(2500);
        assert.equal(a.environment.snapshot().gpus.at, hiddenAt, 'no reading while nothing is visible');
        await vscode.commands.executeCommand('descent.showEnvironmentReport');
        await sleep(3500);
        assert.ok(a.environment.snapshot().gpus.at > hiddenAt, 'readings while the report is visible');
        await vscode.commands.executeCommand('workbench.action.closeAllEditors');
        await sleep(300);
        const closedAt = a.environment.snapshot().gpus.at;
        await sleep(2500);
        assert.equal(a.environment.snapshot().gpus.at, closedAt, 'polling stops when the report closes');
      });
    } finally {
      await config().update('environment.gpuRefreshSeconds', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  test('a driver that does not answer is explained', async () => {
    // The fake's twin exits 9 with nvidia-smi's "couldn't communicate with the NVIDIA driver" message.
    const smi = path.join(extensionPath(), 'test', 'fixtures', 'fake-nvidia-smi', 'nvidia-smi-driver-failure');
    await withSetting('nvidiaSmiPath', smi, (s) => {
      assert.equal(s.gpus.status, 'failed');
      assert.match(s.gpus.message ?? '', /cannot talk to the NVIDIA driver/);
      assert.ok(s.problems.some((p) => p.code === 'nvidia-smi-failed'));
    });
  });

  test('an interpreter that does not exist: clear error with buttons', async () => {
    await withSetting('pythonPath', '/nonexistent/bin/python3', (s) => {
      assert.equal(s.probe.status, 'failed');
      const p = s.problems[0]!;
      assert.equal(p.code, 'probe-failed');
      assert.match(p.message, /Could not run Python at \/nonexistent\/bin\/python3: no such file/);
      assert.deepEqual(p.actions.map((x) => x.command), ['descent.selectInterpreter', 'workbench.action.openSettings']);
    });
  });

  test('an interpreter without PyTorch: install button', async () => {
    const venv = mkdtempSync(path.join(tmpdir(), 'descent-notorch-'));
    const made = spawnSync('python3', ['-m', 'venv', '--without-pip', venv], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    await withSetting('pythonPath', path.join(venv, 'bin', 'python'), (s) => {
      assert.equal(s.probe.status, 'ok');
      assert.equal(s.problems[0]?.code, 'torch-missing');
      assert.equal(s.problems[0]?.actions[0]?.command, 'descent.installTorch');
    });
  });

  test('Check Environment returns what it found; Show Environment Report opens the panel', async () => {
    const snap = await vscode.commands.executeCommand<EnvironmentSnapshot | undefined>('descent.checkEnvironment');
    assert.ok(snap, 'the check ran (trusted workspace)');
    assert.equal(snap.probe.status, 'ok');
    assert.deepEqual(snap.problems.map((p) => p.code), ['cpu-only']);
    await vscode.commands.executeCommand('notifications.clearAll');
    await vscode.commands.executeCommand('descent.showEnvironmentReport');
    await sleep(500);
    const tabs = vscode.window.tabGroups.all.flatMap((g) => g.tabs);
    assert.ok(
      tabs.some((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.includes('descent.environmentReport')),
      `tabs: ${tabs.map((t) => t.label).join(', ')}`,
    );
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });
});
