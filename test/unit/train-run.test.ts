import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { planLaunch } from '../../src/train/launchPlan';
import { descendants, isAlive, isRunProcess, parsePs, ppidFromStat, stateFromStat } from '../../src/train/processTree';
import { checkpointPath, declaresResume, lastCheckpoint, resumeArgs, withoutResume } from '../../src/train/resume';
import { createRunDirectory, readRunJson, RunDirectoryError, writeJsonAtomic } from '../../src/train/runDirectory';
import { buildRunInfo, completeRunInfo, finalStatus, type LaunchRecord } from '../../src/train/runRecord';
import { RunSession, supervisedArgs } from '../../src/train/session';
import { TailBuffer, lastLines, toTerminal } from '../../src/train/tail';

const tmp = () => fs.mkdtempSync(path.join(tmpdir(), 'descent-train-'));
const launch: LaunchRecord = { script: '/w/train.py', args: [], python: '/v/bin/python', devices: 'cpu', target: 'local', cwd: '/w' };

test('run directories are created once: a taken name gets -2, nothing existing is touched', () => {
  const root = path.join(tmp(), 'runs');
  const a = createRunDirectory(root, 'train-20261121-090507');
  fs.writeFileSync(path.join(a.dir, 'run.json'), '{"keep":true}');
  const b = createRunDirectory(root, 'train-20261121-090507');
  const c = createRunDirectory(root, 'train-20261121-090507');
  assert.deepEqual([a.name, b.name, c.name], ['train-20261121-090507', 'train-20261121-090507-2', 'train-20261121-090507-3']);
  assert.equal(fs.readFileSync(path.join(a.dir, 'run.json'), 'utf8'), '{"keep":true}');
});

test('a run directory that cannot be created is a clear error', { skip: process.getuid?.() === 0 ? 'root can write anywhere' : false }, () => {
  const root = tmp();
  fs.chmodSync(root, 0o500);
  assert.throws(() => createRunDirectory(path.join(root, 'runs'), 'x'), (e: unknown) => e instanceof RunDirectoryError && /permission denied/.test(e.message));
});

test('a file where the runs folder should be is a clear error', () => {
  const root = tmp();
  fs.writeFileSync(path.join(root, 'runs'), 'not a folder');
  assert.throws(() => createRunDirectory(path.join(root, 'runs'), 'x'), (e: unknown) => e instanceof RunDirectoryError && /cannot create/.test(e.message));
});

test('run.json: built before the start, completed at the end, unknown fields and hyperparameters kept', () => {
  const plan = planLaunch({ python: '/v/bin/python', script: '/w/train.py', args: ['--lr', '1'], device: { kind: 'cpu', processes: 2 } });
  const start = new Date(Date.UTC(2026, 10, 21, 10, 0, 0));
  const info = buildRunInfo({ id: 'id1', name: 'train-x', plan, cwd: '/w', interpreter: '/v/bin/python', git: { commit: 'a'.repeat(40), dirty: true }, launch, start });
  assert.equal(info.formatVersion, 1);
  assert.equal(info.status, 'running');
  assert.equal(info.startTime, '2026-11-21T10:00:00.000Z');
  assert.equal(info.endTime, null);
  assert.equal(info.exitCode, null);
  assert.deepEqual(info.target, { kind: 'torchrun', nprocPerNode: 2 });
  assert.equal(info.command, '/v/bin/python');
  assert.deepEqual(info.args.slice(0, 2), ['-m', 'torch.distributed.run']);
  assert.equal('resumedFrom' in info, false);
  const withHp = { ...info, hyperparameters: { lr: 1 }, extra: 'kept' } as Record<string, unknown>;
  const end = new Date(Date.UTC(2026, 10, 21, 10, 5, 0));
  const done = completeRunInfo(withHp, { exitCode: 0, signal: null, stopRequested: false, end });
  assert.equal(done.status, 'finished');
  assert.equal(done.endTime, '2026-11-21T10:05:00.000Z');
  assert.equal(done.exitCode, 0);
  assert.deepEqual(done.hyperparameters, { lr: 1 });
  assert.equal(done.extra, 'kept');
  const resumed = buildRunInfo({ id: 'id2', name: 'n', plan, cwd: '/w', interpreter: 'p', git: null, launch, start, resumedFrom: { runId: 'id1', checkpoint: '/w/c.pt' } });
  assert.deepEqual(resumed.resumedFrom, { runId: 'id1', checkpoint: '/w/c.pt' });
});

test('final status: stopped when asked, finished on 0 (unless the script said otherwise), failed otherwise', () => {
  const o = (exitCode: number | null, stopRequested = false) => ({ exitCode, signal: null, stopRequested, end: new Date() });
  assert.equal(finalStatus(o(0), 'running'), 'finished');
  assert.equal(finalStatus(o(0), 'failed'), 'failed');
  assert.equal(finalStatus(o(1), 'finished'), 'failed');
  assert.equal(finalStatus(o(null), 'running'), 'failed');
  assert.equal(finalStatus(o(143, true), 'running'), 'stopped');
  assert.equal(finalStatus(o(0, true), 'finished'), 'stopped');
});

test('writeJsonAtomic leaves no temporary file; readRunJson tolerates garbage', () => {
  const dir = tmp();
  writeJsonAtomic(path.join(dir, 'run.json'), { a: 1 });
  assert.deepEqual(fs.readdirSync(dir), ['run.json']);
  assert.deepEqual(readRunJson(dir), { a: 1 });
  fs.writeFileSync(path.join(dir, 'run.json'), '[1,2');
  assert.equal(readRunJson(dir), undefined);
});

test('resume: the last checkpoint (partial last line ignored), arguments, --resume detection', () => {
  const events = [
    '{"event":"checkpoint","t":1,"step":9,"path":"ck/9.pt"}',
    'garbage',
    '{"event":"confusion","labels":["a"],"matrix":[[1]]}',
    '{"event":"checkpoint","t":2,"step":19,"path":"/abs/19.pt","metric":"loss","value":0.5}',
    '{"event":"checkpoint","step":29,"path":"ck/29',
  ].join('\n');
  assert.deepEqual(lastCheckpoint(events), { event: 'checkpoint', t: 2, step: 19, path: '/abs/19.pt', metric: 'loss', value: 0.5 });
  assert.equal(lastCheckpoint(''), undefined);
  assert.equal(checkpointPath('ck/9.pt', '/w'), path.join('/w', 'ck/9.pt'));
  assert.equal(checkpointPath('/abs/19.pt', '/w'), '/abs/19.pt');
  assert.deepEqual(withoutResume(['--lr', '1', '--resume', 'old.pt', '--resume=x', '--e', '2']), ['--lr', '1', '--e', '2']);
  assert.deepEqual(resumeArgs(['--resume', 'old.pt', '--lr', '1'], '/new.pt'), ['--lr', '1', '--resume', '/new.pt']);
  assert.equal(declaresResume('parser.add_argument("--resume", default=None)'), true);
  assert.equal(declaresResume("p.add_argument('--resume')"), true);
  assert.equal(declaresResume('@click.option("--resume=")'), true);
  assert.equal(declaresResume('def main(epochs: int = 3, resume: str = ""):'), true);
  assert.equal(declaresResume('import torch\nprint("resume later")'), false);
});

test('process tree: descendants by parent pid, ps and /proc parsing', () => {
  const rows = [
    { pid: 10, ppid: 1 },
    { pid: 11, ppid: 10 },
    { pid: 12, ppid: 10 },
    { pid: 13, ppid: 12 },
    { pid: 20, ppid: 1 },
  ];
  assert.deepEqual(descendants(rows, 10), [11, 12, 13]);
  assert.deepEqual(descendants(rows, 20), []);
  assert.deepEqual(parsePs('  10     1\n  11    10\nbad\n'), [{ pid: 10, ppid: 1 }, { pid: 11, ppid: 10 }]);
  assert.equal(ppidFromStat('123 (python (x) y) S 45 123 123 0'), 45);
  assert.equal(ppidFromStat('garbage'), undefined);
  assert.equal(stateFromStat('123 (python (x) y) Z 45 123'), 'Z');
  assert.equal(isAlive(process.pid), true);
  assert.equal(isRunProcess('/v/bin/python /w/train.py --lr 1', '/w/train.py'), true);
  assert.equal(isRunProcess('/usr/sbin/sshd -D', '/w/train.py'), false);
  assert.equal(isRunProcess(undefined, '/w/train.py'), true);
  assert.equal(isRunProcess('python x.py', undefined), false);
});

test('stderr tail: bounded, cut at a line, CRLF for the terminal', () => {
  const t = new TailBuffer(100);
  for (let i = 0; i < 50; i++) t.push(`line ${i}\n`);
  assert.ok(t.value().length <= 100);
  assert.ok(t.value().startsWith('line '));
  assert.ok(t.value().endsWith('line 49\n'));
  assert.equal(t.truncated, true);
  assert.equal(lastLines('a\n\nb\r\nc\n', 2), 'b\nc');
  assert.equal(toTerminal('a\nb\r\n'), 'a\r\nb\r\n');
});

/** A prepared run that starts node with a script, as the launcher would start Python. */
// The supervisor (python/descent/supervise.py) runs under the run's interpreter: here the system python3, which needs
// nothing beyond the standard library; the command it supervises is node.
const PYTHON = process.env.DESCENT_TEST_PYTHON || 'python3';
const HELPERS = path.resolve(__dirname, '..', '..', 'python');

function prepared(script: string, extraEnv: Record<string, string> = {}) {
  const dir = tmp();
  const plan = { command: process.execPath, args: ['-e', script], env: {}, target: { kind: 'local' }, devices: ['cpu'] };
  const info = buildRunInfo({ id: 'id', name: path.basename(dir), plan, cwd: dir, interpreter: PYTHON, git: null, launch, start: new Date() });
  writeJsonAtomic(path.join(dir, 'run.json'), info);
  return { dir, info, env: { ...process.env, PYTHONPATH: HELPERS, ...extraEnv } as Record<string, string> };
}

const quiet = { stdout: () => undefined, stderr: () => undefined };

test('a run that exits 0 is finished; its output reaches the terminal', async () => {
  const run = prepared('console.log("hello"); process.exit(0)');
  const session = new RunSession(run);
  let out = '';
  session.start({ stdout: (t) => (out += t), stderr: () => undefined });
  const r = await session.done;
  assert.equal(r.status, 'finished');
  assert.equal(out, 'hello\n');
  assert.deepEqual(supervisedArgs('/r', 'py', ['a']), ['-m', 'descent.supervise', '/r', '--', 'py', 'a']);
  const info = readRunJson(run.dir)!;
  assert.equal(info.status, 'finished');
  assert.equal(info.exitCode, 0);
  assert.equal(typeof info.pid, 'number');
  assert.match(String(info.endTime), /^\d{4}-\d\d-\d\dT/);
});

test('a crash is failed with its exit code and the tail of stderr in stderr.log', async () => {
  const run = prepared('console.error("Traceback (most recent call last):\\nRuntimeError: boom"); process.exit(3)');
  const session = new RunSession(run);
  session.start(quiet);
  const r = await session.done;
  assert.equal(r.status, 'failed');
  assert.equal(r.exitCode, 3);
  assert.match(r.stderrTail, /RuntimeError: boom/);
  assert.equal(readRunJson(run.dir)!.exitCode, 3);
  assert.match(fs.readFileSync(path.join(run.dir, 'stderr.log'), 'utf8'), /RuntimeError: boom/);
});

test('a program that cannot start is failed with the reason', async () => {
  const run = prepared('');
  run.info.interpreter = '/nonexistent/python3';
  const session = new RunSession(run);
  session.start(quiet);
  const r = await session.done;
  assert.equal(r.status, 'failed');
  assert.match(r.spawnError ?? '', /no such file/);
  assert.match(String(readRunJson(run.dir)!.message), /no such file/);
});

test('stop kills the whole tree, also a child in its own session, and marks the run stopped', async () => {
  const child = `const c = require('child_process').spawn(process.execPath, ['-e', 'setInterval(()=>{}, 1000)'], { detached: true, stdio: 'ignore' });
    require('fs').writeFileSync(process.env.PIDS, process.pid + '\\n' + c.pid); process.on('SIGTERM', () => {}); setInterval(() => {}, 1000);`;
  const pidsFile = path.join(tmp(), 'pids');
  const run = prepared(child, { PIDS: pidsFile });
  const session = new RunSession(run);
  session.start(quiet);
  const started = Date.now();
  while (!fs.existsSync(pidsFile) && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 100));
  const pids = fs.readFileSync(pidsFile, 'utf8').trim().split('\n').map(Number);
  assert.equal(pids.length, 2);
  assert.ok(pids.every(isAlive));
  // The leader ignores SIGTERM: SIGKILL after the grace period ends it.
  await session.stop(500);
  const r = await session.done;
  assert.equal(r.status, 'stopped');
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(pids.filter(isAlive), [], 'no process of the tree is left');
  assert.equal(readRunJson(run.dir)!.status, 'stopped');
});

test('the run goes on without the window: output in output.log, completion written by the supervisor', async () => {
  const run = prepared('console.log("out"); console.error("RuntimeError: late"); setTimeout(() => process.exit(2), 300)');
  const session = new RunSession(run);
  session.start(quiet);
  const r = await session.done;
  assert.equal(r.status, 'failed');
  assert.equal(r.exitCode, 2);
  assert.match(r.stderrTail, /RuntimeError: late/);
  assert.match(fs.readFileSync(path.join(run.dir, 'output.log'), 'utf8'), /out\n[\s\S]*RuntimeError: late/);
  const info = readRunJson(run.dir)!;
  assert.equal(info.exitCode, 2);
  assert.equal(info.status, 'failed');
});

test('git state of a repository, null outside one', async () => {
  const { readGitState } = await import('../../src/train/git');
  const dir = tmp();
  assert.equal(await readGitState(dir), null);
  const git = (...args: string[]) => spawnSync('git', args, { cwd: dir });
  if (git('init', '-q').status !== 0) return;
  git('-c', 'user.email=a@b', '-c', 'user.name=a', 'commit', '-q', '--allow-empty', '-m', 'x');
  const clean = await readGitState(dir);
  assert.match(clean?.commit ?? '', /^[0-9a-f]{40}$/);
  assert.equal(clean?.dirty, false);
  fs.writeFileSync(path.join(dir, 'a.txt'), 'a');
  git('add', 'a.txt');
  assert.equal((await readGitState(dir))?.dirty, true);
  assert.equal(await readGitState(dir, '/nonexistent/git'), null);
});
