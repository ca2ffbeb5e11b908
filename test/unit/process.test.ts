import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runProcess, tailLines } from '../../src/common/process';

test('runs a real process with an argument array and captures output', async () => {
  const r = await runProcess(process.execPath, ['-e', 'process.stdout.write(process.argv[1]); process.stderr.write("e"); process.exit(3)', 'a b; $(rm -rf /)']);
  assert.equal(r.stdout, 'a b; $(rm -rf /)', 'arguments are passed verbatim, no shell');
  assert.equal(r.stderr, 'e');
  assert.equal(r.exitCode, 3);
  assert.equal(r.spawnError, null);
});

test('a missing program is a result, not an exception', async () => {
  const r = await runProcess('/nonexistent/python3', []);
  assert.equal(r.spawnError?.code, 'ENOENT');
});

test('timeout kills the process and its children', async () => {
  const child = `require('child_process').spawn(process.execPath, ['-e', 'setTimeout(()=>{}, 60000)'], {stdio: 'inherit'}); setTimeout(()=>{}, 60000)`;
  const started = Date.now();
  const r = await runProcess(process.execPath, ['-e', child], { timeoutMs: 300 });
  assert.equal(r.timedOut, true);
  assert.ok(Date.now() - started < 10_000, 'returned promptly although a grandchild held the pipes');
});

test('output is bounded', async () => {
  const r = await runProcess(process.execPath, ['-e', 'process.stdout.write("x".repeat(100000))'], { maxOutput: 1000 });
  assert.equal(r.stdout.length, 1000);
  assert.equal(tailLines('a\nb\nc\n', 2), 'b\nc');
});
