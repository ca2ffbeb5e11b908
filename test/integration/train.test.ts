// Training launched through the extension in a real VS Code host, against the test venv (CPU build of PyTorch):
// Descent: Train on a fixture script, a crash, Stop, Resume, torchrun with 2 CPU processes (gloo), a tasks.json
// task, and bad input. Every run is a real Python process writing a real run directory.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DescentApi } from '../../src/extension';
import type { LaunchResult } from '../../src/train/launcher';
import { EXTENSION_ID, sleep, until as waitUntil } from './helpers';

/** Training runs start Python and PyTorch: wait longer than the helpers' default. */
const until = <T>(what: string, probe: Parameters<typeof waitUntil<T>>[1], ms = 90_000) => waitUntil(what, probe, ms);

const workspace = () => vscode.workspace.workspaceFolders![0]!.uri.fsPath;
const fixture = (name: string) => path.join(workspace(), 'training', name);
/** After the first test, runs go to a folder of their own, so other suites that count the workspace's runs/ do not see them. */
const TEST_RUNS = 'runs-train-tests';
const testRuns = () => path.join(workspace(), TEST_RUNS);
const setRunsDirectory = (value: string | undefined) =>
  vscode.workspace.getConfiguration('descent').update('train.runsDirectory', value, vscode.ConfigurationTarget.Workspace);

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** run.json once the launcher has completed it. */
function ended(dir: string, timeoutMs = 90_000): Promise<Record<string, unknown>> {
  return until(`the end of ${dir}`, () => {
    const info = readJson(path.join(dir, 'run.json'));
    return info && info.status !== 'running' && info.endTime ? info : undefined;
  }, timeoutMs);
}

function metricLines(dir: string): Record<string, unknown>[] {
  const text = fs.existsSync(path.join(dir, 'metrics.jsonl')) ? fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8') : '';
  return text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function train(arg: unknown): Promise<Extract<LaunchResult, { ok: true }>> {
  const r = await vscode.commands.executeCommand<LaunchResult>('descent.train', arg);
  assert.ok(r?.ok, `launch failed: ${r && !r.ok ? r.message : 'no result'}`);
  return r;
}

/** Running, and not a zombie (PID 1 of a container may never reap a killed orphan). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return process.platform !== 'linux';
  }
}

suite('Train', function () {
  this.timeout(180_000);
  let firstRun = '';
  let api: DescentApi;

  suiteSetup(async () => {
    api = await vscode.extensions.getExtension<DescentApi>(EXTENSION_ID)!.activate();
  });

  suiteTeardown(async () => {
    await setRunsDirectory(undefined);
  });

  test('Descent: Train runs the script on CPU: run directory, run.json, metrics, a terminal', async () => {
    const r = await train({ script: 'training/synthetic.py', args: ['--steps', '25'], devices: 'cpu' });
    firstRun = r.runDir;
    assert.equal(path.dirname(r.runDir), path.join(workspace(), 'runs'));
    assert.match(r.name, /^synthetic-\d{8}-\d{6}$/);
    const info = await ended(r.runDir);
    assert.equal(info.status, 'finished', fs.existsSync(path.join(r.runDir, 'stderr.log')) ? fs.readFileSync(path.join(r.runDir, 'stderr.log'), 'utf8') : '');
    assert.equal(info.exitCode, 0);
    assert.equal(info.formatVersion, 1);
    assert.equal(info.id, r.runId);
    assert.equal(info.cwd, workspace());
    assert.deepEqual(info.target, { kind: 'local' });
    assert.deepEqual(info.devices, ['cpu']);
    assert.deepEqual(info.args, [fixture('synthetic.py'), '--steps', '25']);
    assert.equal(info.command, info.interpreter);
    assert.equal(typeof info.pid, 'number');
    assert.deepEqual(info.hyperparameters, { lr: 0.1, steps: 25, world_size: 1, device: 'cpu' }, 'the logger merged them into the launcher\'s run.json');
    const lines = metricLines(r.runDir);
    assert.equal(lines.filter((l) => l.split === 'train').length, 25);
    assert.equal(lines.filter((l) => l.split === 'val').length, 5);
    assert.ok(vscode.window.terminals.some((t) => t.name.includes(r.name)), `a terminal for the run (${vscode.window.terminals.map((t) => t.name).join(', ')})`);
    await setRunsDirectory(TEST_RUNS);
  });

  test('a crashing script is failed, with its exit code and the traceback tail in stderr.log', async () => {
    const r = await train({ script: fixture('crash.py'), devices: 'cpu' });
    const info = await ended(r.runDir);
    assert.equal(info.status, 'failed');
    assert.equal(info.exitCode, 1);
    const stderr = fs.readFileSync(path.join(r.runDir, 'stderr.log'), 'utf8');
    assert.match(stderr, /Traceback \(most recent call last\)/);
    assert.match(stderr, /RuntimeError: synthetic failure at step 3/);
    assert.equal(metricLines(r.runDir).length, 3, 'what was logged before the crash is kept');
    const alert = await until('the "died" alert', () => api.runs.alerts().find((a) => a.key === r.runDir && a.kind === 'died'), 30_000);
    assert.match(alert.message, /failed with exit code 1: RuntimeError: synthetic failure at step 3/);
    assert.deepEqual(alert.actions, ['Open Log', 'Open Curves']);
  });

  test('a loss that becomes NaN raises one alert; the finished run can be renamed and keeps its id', async () => {
    const r = await train({ script: fixture('nan_loss.py'), args: ['--seconds', '4'], devices: 'cpu' });
    const alert = await until('the NaN alert', () => api.runs.alerts().find((a) => a.key === r.runDir && a.kind === 'nan'), 60_000);
    assert.match(alert.message, new RegExp(`run ${r.name}: train loss became NaN at step 8`));
    assert.deepEqual(alert.actions, ['Stop Run', 'Open Log', 'Open Curves']);
    const info = await ended(r.runDir);
    assert.equal(info.status, 'finished');
    await api.runs.refresh();
    assert.equal(api.runs.alerts().filter((a) => a.key === r.runDir && a.kind === 'nan').length, 1, 'once per run and kind');

    const renamed = path.join(path.dirname(r.runDir), 'nan-renamed');
    const bad = await vscode.commands.executeCommand<{ ok: boolean; message: string }>('descent.renameRun', r.runDir, 'bad/name');
    assert.equal(bad?.ok, false);
    assert.ok(fs.existsSync(r.runDir));
    const done = await vscode.commands.executeCommand<{ ok: boolean; message: string; dir?: string }>('descent.renameRun', r.runDir, 'nan-renamed');
    assert.equal(done?.ok, true, done?.message);
    assert.equal(done?.dir, renamed);
    assert.ok(!fs.existsSync(r.runDir));
    const after = readJson(path.join(renamed, 'run.json'))!;
    assert.equal(after.name, 'nan-renamed');
    assert.equal(after.id, r.runId, 'the id is unchanged');
    const runs = await api.runs.refresh();
    const listed = runs.find((x) => x.dir === renamed);
    assert.ok(listed, 'the renamed run is in the store');
    assert.ok(!runs.some((x) => x.dir === r.runDir), 'the old folder is gone from the store');
    assert.equal(listed.info?.id, r.runId);
    assert.equal(listed.name, 'nan-renamed');
  });

  test('Stop kills the whole process tree and marks the run stopped', async () => {
    const r = await train({ script: 'training/synthetic.py', args: ['--steps', '100000', '--sleep', '0.05', '--spawn-child'], devices: 'cpu' });
    const pidsFile = path.join(r.runDir, 'pids.txt');
    const pids = await until('pids.txt', () => {
      const p = fs.existsSync(pidsFile) ? fs.readFileSync(pidsFile, 'utf8').trim().split('\n').map(Number) : [];
      return p.length === 2 ? p : undefined;
    });
    await until('a few metrics', () => metricLines(r.runDir).length >= 5);
    assert.ok(pids.every(alive), 'the script and its helper (in its own session) run');
    const bar = await until('the status-bar item of the running run', () => {
      const b = api.runs.statusBar();
      return b.key === r.runDir && b.text?.includes('loss') ? b : undefined;
    }, 30_000);
    assert.match(bar.text!, new RegExp(`^\\$\\(pulse\\) ${r.name} · step \\d+/100000 · loss \\d`));
    const refused = await vscode.commands.executeCommand<{ ok: boolean; message: string }>('descent.renameRun', r.runDir, 'renamed-while-running');
    assert.equal(refused?.ok, false);
    assert.match(refused?.message ?? '', /still running/);
    assert.ok(fs.existsSync(r.runDir));
    const stop = await vscode.commands.executeCommand<{ ok: boolean }>('descent.stopRun', r.runDir);
    assert.equal(stop?.ok, true);
    const info = await ended(r.runDir, 20_000);
    assert.equal(info.status, 'stopped');
    assert.ok(info.exitCode !== 0 || info.signal, 'the exit code or signal is kept');
    await sleep(300);
    assert.deepEqual(pids.filter(alive), [], 'no process of the run is left');
    const lines = metricLines(r.runDir);
    assert.ok(lines.length >= 5, 'metrics written before the stop are readable');
    await until('the status-bar item hidden', () => api.runs.statusBar().text === undefined, 20_000);
  });

  test('Ctrl-C in the run\'s terminal stops it', async () => {
    const r = await train({ script: 'training/synthetic.py', args: ['--steps', '100000', '--sleep', '0.05'], devices: 'cpu' });
    await until('a few metrics', () => metricLines(r.runDir).length >= 3);
    const terminal = vscode.window.terminals.find((t) => t.name.includes(r.name));
    assert.ok(terminal, 'the run has a terminal');
    terminal.sendText('\x03', false);
    const info = await ended(r.runDir, 20_000);
    assert.equal(info.status, 'stopped');
    const output = fs.readFileSync(path.join(r.runDir, 'output.log'), 'utf8');
    assert.match(output, /rank 0\/1 on cpu \(CUDA_VISIBLE_DEVICES='', cuda devices 0\)/, 'the script\'s output is in output.log');
  });

  test('Show Run Output follows a run whose terminal is gone (as after a window reload) until it ends', async () => {
    const r = await train({ script: 'training/synthetic.py', args: ['--steps', '120', '--sleep', '0.05'], devices: 'cpu' });
    await until('a few metrics', () => metricLines(r.runDir).length >= 3);
    // A reload takes the launch terminal away; the run goes on (closing the terminal does not stop it).
    vscode.window.terminals.find((t) => t.name.includes(r.name))?.dispose();
    await api.runs.refresh();
    const shown = await vscode.commands.executeCommand<{ ok: boolean; message: string }>('descent.showRunOutput', r.runDir);
    assert.equal(shown?.ok, true, shown?.message);
    assert.equal(shown.message, `Descent output: ${r.name}`);
    const state = () => api.runs.outputTerminals().find((t) => t.key === r.runDir);
    await until('the output so far', () => /rank 0\/1 on cpu/.test(state()?.text ?? ''), 30_000);
    assert.equal(state()!.following, true, 'it follows while the run is running');
    // Lines written after it opened arrive, then the end of the run.
    const last = await until('the end of the run in the output terminal', () => (state()?.following === false ? state() : undefined), 60_000);
    assert.match(last.text, /rank 0 done at step 120/);
    assert.match(last.text, /the run is finished; output\.log ends here/);
    assert.equal((await ended(r.runDir)).status, 'finished');
    // Asking again shows the same terminal.
    await vscode.commands.executeCommand('descent.showRunOutput', r.runDir);
    assert.equal(api.runs.outputTerminals().filter((t) => t.key === r.runDir).length, 1);
    // A run without output.log (its script was run by hand, with the logger) gets a message, not an empty terminal.
    const byHand = path.join(testRuns(), `${r.name}-by-hand`);
    fs.cpSync(r.runDir, byHand, { recursive: true });
    fs.rmSync(path.join(byHand, 'output.log'));
    await api.runs.refresh();
    const refused = await vscode.commands.executeCommand<{ ok: boolean; message: string }>('descent.showRunOutput', byHand);
    assert.equal(refused?.ok, false);
    assert.match(refused.message, /has no output\.log: it was not launched by Descent: Train/);
    fs.rmSync(byHand, { recursive: true, force: true });
  });

  test('a run that logs nothing for descent.runs.stallMinutes raises a stall alert with Stop Run', async () => {
    const cfg = vscode.workspace.getConfiguration('descent');
    await cfg.update('runs.stallMinutes', 0.05, vscode.ConfigurationTarget.Workspace);
    try {
      const r = await train({ script: 'training/synthetic.py', args: ['--steps', '100000', '--sleep', '120'], devices: 'cpu' });
      const alert = await until('the stall alert', () => api.runs.alerts().find((a) => a.key === r.runDir && a.kind === 'stall'), 60_000);
      assert.match(alert.message, new RegExp(`run ${r.name} is still running but has logged nothing for 3 seconds`));
      assert.equal(alert.actions[0], 'Stop Run');
      const stop = await vscode.commands.executeCommand<{ ok: boolean }>('descent.stopRun', r.runDir);
      assert.equal(stop?.ok, true);
      assert.equal((await ended(r.runDir, 20_000)).status, 'stopped');
      await sleep(1000);
      assert.ok(!api.runs.alerts().some((a) => a.key === r.runDir && a.kind === 'died'), 'a stop is no death');
    } finally {
      await cfg.update('runs.stallMinutes', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  test('Resume starts a new run from the last checkpoint with --resume', async () => {
    assert.ok(firstRun, 'the first test ran');
    const r = await vscode.commands.executeCommand<LaunchResult>('descent.resumeRun', firstRun);
    assert.ok(r?.ok, r && !r.ok ? r.message : 'no result');
    const info = await ended(r.runDir);
    assert.equal(info.status, 'finished');
    const checkpoint = path.join(firstRun, 'checkpoint.pt');
    assert.deepEqual(info.resumedFrom, { runId: readJson(path.join(firstRun, 'run.json'))!.id, checkpoint });
    assert.deepEqual((info.args as string[]).slice(-2), ['--resume', checkpoint]);
    assert.match(r.name, /-resume$/);
    const lines = metricLines(r.runDir);
    assert.equal(lines[0]?.step, 20, 'continues after the checkpoint of step 19');
    assert.equal(lines.filter((l) => l.split === 'train').length, 5);
  });

  test('Resume of a script without --resume says so', async () => {
    const r = await train({ script: fixture('no_resume.py'), devices: 'cpu' });
    assert.equal((await ended(r.runDir)).status, 'finished');
    const again = await vscode.commands.executeCommand<LaunchResult>('descent.resumeRun', r.runDir);
    assert.equal(again?.ok, false);
    assert.match(again && !again.ok ? again.message : '', /no_resume\.py has no --resume argument/);
  });

  test('torchrun with 2 CPU processes (gloo): finished, rank 0 logs once', async () => {
    const r = await train({ script: 'training/synthetic.py', args: ['--steps', '10'], devices: 'cpu', target: 'torchrun', nprocPerNode: 2 });
    const info = await ended(r.runDir, 150_000);
    assert.equal(info.status, 'finished', fs.existsSync(path.join(r.runDir, 'stderr.log')) ? fs.readFileSync(path.join(r.runDir, 'stderr.log'), 'utf8').slice(-2000) : '');
    assert.deepEqual(info.target, { kind: 'torchrun', nprocPerNode: 2 });
    assert.deepEqual((info.args as string[]).slice(0, 4), ['-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2']);
    assert.equal((info.hyperparameters as Record<string, unknown>).world_size, 2);
    const trainLines = metricLines(r.runDir).filter((l) => l.split === 'train');
    assert.deepEqual(trainLines.map((l) => l.step), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'one record per step: only rank 0 wrote');
  });

  test('Stop on a torchrun run kills torchrun and its workers (they run in their own sessions)', async () => {
    const r = await train({ script: 'training/synthetic.py', args: ['--steps', '100000', '--sleep', '0.05'], devices: 'cpu', target: 'torchrun', nprocPerNode: 2 });
    const pidOf = (rank: number) => {
      const f = path.join(r.runDir, `rank-${rank}.pid`);
      return fs.existsSync(f) ? Number(fs.readFileSync(f, 'utf8').trim()) || undefined : undefined;
    };
    const workers = await until('both workers', () => (pidOf(0) && pidOf(1) ? [pidOf(0)!, pidOf(1)!] : undefined), 120_000);
    await until('a few metrics', () => metricLines(r.runDir).length >= 3, 60_000);
    const launcher = readJson(path.join(r.runDir, 'run.json'))!.pid as number;
    assert.ok([launcher, ...workers].every(alive));
    const stop = await vscode.commands.executeCommand<{ ok: boolean }>('descent.stopRun', vscode.Uri.file(r.runDir));
    assert.equal(stop?.ok, true);
    assert.equal((await ended(r.runDir, 30_000)).status, 'stopped');
    await until('every process gone', () => [launcher, ...workers].every((p) => !alive(p)), 10_000);
  });

  test('Stop of a run this window did not start (after a reload): by its pid in run.json', async () => {
    const dir = path.join(testRuns(), 'orphan');
    fs.mkdirSync(dir, { recursive: true });
    const python = vscode.workspace.getConfiguration('descent').get<string>('pythonPath')!;
    const { spawn } = await import('node:child_process');
    const script = path.join(dir, 'sleep.py');
    fs.writeFileSync(script, 'import time\ntime.sleep(600)\n');
    const child = spawn(python, [script], { detached: true, stdio: 'ignore' });
    child.unref();
    const runJson = { formatVersion: 1, id: 'orphan', name: 'orphan', status: 'running', pid: child.pid, endTime: null, command: python, args: [script] };
    await until('the process', () => alive(child.pid!), 5000);
    // A pid that now belongs to another program (reused after a reboot) is not killed.
    fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify({ ...runJson, args: ['/elsewhere/train.py'] }));
    const refused = await vscode.commands.executeCommand<{ ok: boolean; message: string }>('descent.stopRun', dir);
    assert.equal(refused?.ok, false);
    assert.match(refused?.message ?? '', /pid was reused/);
    assert.ok(alive(child.pid!));
    fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify(runJson));
    const stop = await vscode.commands.executeCommand<{ ok: boolean }>('descent.stopRun', { runDir: dir });
    assert.equal(stop?.ok, true);
    const info = readJson(path.join(dir, 'run.json'))!;
    assert.equal(info.status, 'stopped');
    assert.ok(info.endTime);
    await until('the process gone', () => !alive(child.pid!), 10_000);
    const again = await vscode.commands.executeCommand<{ ok: boolean; message: string }>('descent.stopRun', dir);
    assert.equal(again?.ok, false);
    assert.match(again?.message ?? '', /is not running/);
  });

  test('Train with a file asks for the device in a quick pick (CPU first on this machine)', async () => {
    const pending = vscode.commands.executeCommand<LaunchResult>('descent.train', vscode.Uri.file(fixture('crash.py')));
    await sleep(1500);
    await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
    const r = await pending;
    assert.ok(r?.ok, r && !r.ok ? r.message : 'no result');
    const info = await ended(r.runDir);
    assert.deepEqual(info.devices, ['cpu']);
    assert.deepEqual(info.target, { kind: 'local' });
  });

  test('a descent task from tasks.json runs through the task provider', async () => {
    const tasks = await vscode.tasks.fetchTasks({ type: 'descent' });
    const task = tasks.find((t) => t.name === 'synthetic on CPU (task)');
    assert.ok(task, `tasks: ${tasks.map((t) => t.name).join(', ')}`);
    const before = new Set(fs.existsSync(testRuns()) ? fs.readdirSync(testRuns()) : []);
    await vscode.tasks.executeTask(task);
    const name = await until('the task\'s run directory', () => fs.readdirSync(testRuns()).find((n) => n.startsWith('task-synthetic') && !before.has(n)), 30_000);
    const info = await ended(path.join(testRuns(), name));
    assert.equal(info.status, 'finished');
    assert.equal(metricLines(path.join(testRuns(), name)).filter((l) => l.split === 'train').length, 12);
  });

  test('bad input: a missing script, an unwritable runs folder; existing runs stay', async () => {
    const runs = testRuns();
    const before = fs.readdirSync(runs).sort();
    const defaultRuns = fs.readdirSync(path.join(workspace(), 'runs')).sort();
    const missing = await vscode.commands.executeCommand<LaunchResult>('descent.train', { script: 'training/nope.py', devices: 'cpu' });
    assert.equal(missing?.ok, false);
    assert.match(missing && !missing.ok ? missing.message : '', /training script .*nope\.py does not exist/);
    const cfg = vscode.workspace.getConfiguration('descent');
    await cfg.update('train.runsDirectory', 'training/crash.py/runs', vscode.ConfigurationTarget.Workspace);
    try {
      const blocked = await vscode.commands.executeCommand<LaunchResult>('descent.train', { script: 'training/crash.py', devices: 'cpu' });
      assert.equal(blocked?.ok, false);
      assert.match(blocked && !blocked.ok ? blocked.message : '', /cannot create .*crash\.py.*descent\.train\.runsDirectory/);
    } finally {
      await setRunsDirectory(TEST_RUNS);
    }
    const bad = await vscode.commands.executeCommand<LaunchResult>('descent.train', { script: 'training/crash.py', devices: 'tpu:0' });
    assert.match(bad && !bad.ok ? bad.message : '', /"tpu:0" is not a device/);
    assert.deepEqual(fs.readdirSync(runs).sort(), before);
    assert.deepEqual(fs.readdirSync(path.join(workspace(), 'runs')).sort(), defaultRuns);
  });

  test('a named run never overwrites an existing one', async () => {
    const a = await train({ script: fixture('crash.py'), devices: 'cpu', runName: 'same name' });
    const b = await train({ script: fixture('crash.py'), devices: 'cpu', runName: 'same name' });
    assert.equal(a.name, 'same-name');
    assert.equal(b.name, 'same-name-2');
    await ended(a.runDir);
    await ended(b.runDir);
    assert.notEqual(readJson(path.join(a.runDir, 'run.json'))!.id, readJson(path.join(b.runDir, 'run.json'))!.id);
  });
});
