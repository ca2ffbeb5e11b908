import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expandSettingPath, findOnPath, interpreterCandidates, resolveInterpreter, type InterpreterInputs } from '../../src/environment/interpreter';

const base: InterpreterInputs = {
  pythonExtension: { installed: false },
  setting: '',
  workspaceFolder: '/ws',
  homeDir: '/home/u',
  platform: 'linux',
  findOnPath: (n) => ({ python3: '/usr/bin/python3', python: '/usr/bin/python' })[n],
};

test('the Python extension wins when it has a selection', () => {
  const r = resolveInterpreter({ ...base, pythonExtension: { installed: true, path: '/ws/.venv/bin/python' }, setting: '/opt/py' });
  assert.deepEqual(r, { ok: true, choice: { path: '/ws/.venv/bin/python', source: 'python-extension', reason: 'Selected in the Python extension.' } });
});

test('the setting comes next, with ${workspaceFolder} expanded, and says why the extension was skipped', () => {
  const r = resolveInterpreter({ ...base, pythonExtension: { installed: true }, setting: '${workspaceFolder}/.venv/bin/python' });
  assert.ok(r.ok);
  assert.equal(r.choice.path, '/ws/.venv/bin/python');
  assert.equal(r.choice.source, 'setting');
  assert.match(r.choice.reason, /no interpreter selected/);
});

test('an extension error is reported in the reason', () => {
  const r = resolveInterpreter({ ...base, pythonExtension: { installed: true, error: 'boom' } });
  assert.ok(r.ok);
  assert.equal(r.choice.source, 'path');
  assert.match(r.choice.reason, /could not answer: boom/);
});

test('PATH: python3 before python on POSIX, python before python3 on Windows', () => {
  const posix = resolveInterpreter(base);
  assert.ok(posix.ok && posix.choice.path === '/usr/bin/python3' && posix.choice.source === 'path');
  const win = resolveInterpreter({ ...base, platform: 'win32', findOnPath: (n) => ({ python: 'C:\\Py\\python.exe', python3: 'C:\\Py\\python3.exe' })[n] });
  assert.ok(win.ok && win.choice.path === 'C:\\Py\\python.exe');
  const onlyPython = resolveInterpreter({ ...base, findOnPath: (n) => (n === 'python' ? '/usr/bin/python' : undefined) });
  assert.ok(onlyPython.ok && onlyPython.choice.path === '/usr/bin/python');
});

test('nothing found: a message that says what to do', () => {
  const r = resolveInterpreter({ ...base, findOnPath: () => undefined });
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.message : '', /No Python found.*Select an interpreter or set descent.pythonPath/);
});

test('${workspaceFolder} without a folder is an error, not a wrong path', () => {
  const r = resolveInterpreter({ ...base, workspaceFolder: undefined, setting: '${workspaceFolder}/.venv/bin/python' });
  assert.equal(r.ok, false);
});

test('setting expansion: ~, ${userHome}, relative paths, bare commands', () => {
  assert.equal(expandSettingPath('~/miniconda3/bin/python', '/ws', '/home/u'), '/home/u/miniconda3/bin/python');
  assert.equal(expandSettingPath('${userHome}/py/bin/python', '/ws', '/home/u'), '/home/u/py/bin/python');
  assert.equal(expandSettingPath('.venv/bin/python', '/ws', '/home/u'), '/ws/.venv/bin/python');
  assert.equal(expandSettingPath('  python3.12 ', '/ws', '/home/u'), 'python3.12', 'a bare command is left for PATH lookup');
});

test('findOnPath honours PATH order and PATHEXT, and skips the Windows Store alias', () => {
  const exec = new Set(['/b/python3', '/c/python3']);
  assert.equal(findOnPath('python3', { PATH: '/a::/b:/c' }, 'linux', (f) => exec.has(f)), '/b/python3');
  assert.equal(findOnPath('python3', { PATH: '' }, 'linux', () => true), undefined);
  const win = new Set(['C:\\Users\\u\\AppData\\Local\\Microsoft\\WindowsApps\\python.exe', 'C:\\Python312\\python.exe']);
  assert.equal(
    findOnPath('python', { PATH: 'C:\\Users\\u\\AppData\\Local\\Microsoft\\WindowsApps;C:\\Python312', PATHEXT: '.COM;.EXE' }, 'win32', (f) => win.has(f)),
    'C:\\Python312\\python.exe',
  );
});

test('candidates: workspace virtual environments first, no duplicates', () => {
  const existing = new Set(['/ws/.venv/bin/python', '/ws/env/bin/python']);
  const c = interpreterCandidates(['/ws'], 'linux', (f) => existing.has(f), ['/usr/bin/python3', undefined, '/ws/.venv/bin/python']);
  assert.deepEqual(c, ['/ws/.venv/bin/python', '/ws/env/bin/python', '/usr/bin/python3']);
});
