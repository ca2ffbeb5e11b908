import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';

// These run the real bundle, dist/cli/descent-lint.js, rebuilt first when src/lint is newer.
const root = join(__dirname, '..', '..');
const cli = join(root, 'dist', 'cli', 'descent-lint.js');

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

const BAD = `import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=1))
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.5)
for x, y in loader:
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
`;
const WARN_ONLY = `import torch\noptimizer = torch.optim.SGD(params, lr=5.0)\n`;
const CLEAN = `import torch\noptimizer = torch.optim.SGD(params, lr=0.01)\n`;

let work: string;
function write(rel: string, text: string) {
  const p = join(work, rel);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, text);
}

before(() => {
  let built = 0;
  try {
    built = statSync(cli).mtimeMs;
  } catch {
    // not built yet
  }
  if (built < newest(join(root, 'src', 'lint'))) {
    const r = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: root, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  }
  work = mkdtempSync(join(tmpdir(), 'descent-lint-cli-'));
  write('proj/train.py', BAD);
  write('proj/sub/warn.py', WARN_ONLY);
  write('proj/sub/clean.py', CLEAN);
  write('proj/nb.ipynb', JSON.stringify({ metadata: {}, cells: [{ cell_type: 'markdown', source: 'x' }, { cell_type: 'code', source: ['%pip install torch\n', 'import torch\n'] }, { cell_type: 'code', source: 'opt = torch.optim.Adam(p, lr=1.0)\n' }] }));
  for (const skipped of ['.venv/lib/x.py', 'myenv/lib/x.py', '.git/x.py', 'node_modules/pkg/x.py', '__pycache__/x.py', 'build/x.py', '.tox/x.py', 'venv/x.py', 'env/x.py', 'dist/x.py', 'lib/python3.12/site-packages/x.py']) write(`proj/${skipped}`, BAD);
  write('proj/myenv/pyvenv.cfg', 'home = /usr/bin\n');
  write('configured/pyproject.toml', '[project]\nname = "demo"\n\n[tool.descent.lint]\nignore = ["TL001"]\n\n[tool.descent.lint.severity]\nLS001 = "warning"\n');
  write('configured/pkg/train.py', BAD);
});

after(() => rmSync(work, { recursive: true, force: true }));

function run(args: string[], cwd = work) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('text format: findings as path:line:col, exit 1 on an error-level finding', () => {
  const r = run(['proj/train.py']);
  assert.equal(r.code, 1);
  assert.match(r.out, /^proj\/train\.py:8:22: LS001 \[error\]/m);
  assert.match(r.out, /proj\/train\.py:10:5: TL001 \[error\]/);
  assert.match(r.out, /proj\/train\.py:6:53: HP001 \[warning\]/);
  assert.match(r.out, /Found 3 problems \(2 errors\)\./);
});

test('exit 0 with warnings only or nothing found', () => {
  assert.equal(run(['proj/sub/warn.py']).code, 0);
  const clean = run(['proj/sub/clean.py']);
  assert.equal(clean.code, 0);
  assert.match(clean.out, /No problems found/);
});

test('json format: 1-based lines and columns; folder walk skips venvs, .git, node_modules, build dirs', () => {
  const r = run(['proj', '--format', 'json']);
  assert.equal(r.code, 1);
  const rows = JSON.parse(r.out) as { file: string; line: number; column: number; endLine: number; endColumn: number; rule: string; severity: string; message: string; cell?: number }[];
  assert.deepEqual([...new Set(rows.map((x) => x.file))].sort(), ['proj/nb.ipynb', 'proj/sub/warn.py', 'proj/train.py']);
  const ls = rows.find((x) => x.rule === 'LS001')!;
  assert.deepEqual({ ...ls, message: '' }, { file: 'proj/train.py', line: 8, column: 22, endLine: 8, endColumn: 30, rule: 'LS001', severity: 'error', message: '' });
  const nb = rows.find((x) => x.file === 'proj/nb.ipynb')!;
  assert.deepEqual([nb.rule, nb.cell, nb.line], ['HP001', 3, 1]);
});

test('sarif format: 2.1.0 with rules and results', () => {
  const r = run(['proj/train.py', '--format=sarif']);
  const sarif = JSON.parse(r.out);
  assert.equal(sarif.version, '2.1.0');
  const driver = sarif.runs[0].tool.driver;
  assert.equal(driver.name, 'descent-lint');
  const rule = driver.rules.find((x: { id: string }) => x.id === 'LS001');
  assert.equal(rule.name, 'softmax-into-cross-entropy');
  assert.ok(rule.shortDescription.text && rule.fullDescription.text && rule.help.text);
  assert.equal(rule.defaultConfiguration.level, 'error');
  const res = sarif.runs[0].results.find((x: { ruleId: string }) => x.ruleId === 'LS001');
  assert.equal(res.level, 'error');
  assert.equal(res.locations[0].physicalLocation.artifactLocation.uri, 'proj/train.py');
  assert.deepEqual(res.locations[0].physicalLocation.region, { startLine: 8, startColumn: 22, endLine: 8, endColumn: 30 });
});

test('--select / --ignore, and pyproject [tool.descent.lint]', () => {
  assert.deepEqual(JSON.parse(run(['proj/train.py', '--format', 'json', '--select', 'HP001']).out).map((x: { rule: string }) => x.rule), ['HP001']);
  assert.deepEqual(JSON.parse(run(['proj/train.py', '--format', 'json', '--ignore', 'LS,TL001']).out).map((x: { rule: string }) => x.rule), ['HP001']);
  const cfg = run(['configured', '--format', 'json']);
  const rows = JSON.parse(cfg.out) as { rule: string; severity: string }[];
  assert.deepEqual(rows.map((x) => `${x.rule}:${x.severity}`), ['HP001:warning', 'LS001:warning']);
  assert.equal(cfg.code, 0, 'LS001 lowered to warning, TL001 ignored: no error left');
  assert.equal(run(['configured', '--no-config']).code, 1);
});

test('usage errors exit 2: unknown flag, unknown format, missing path; --help exits 0', () => {
  assert.equal(run(['--frobnicate']).code, 2);
  const fmt = run(['proj', '--format', 'xml']);
  assert.equal(fmt.code, 2);
  assert.match(fmt.err, /unknown format 'xml'/);
  assert.equal(run(['does/not/exist.py']).code, 2);
  assert.equal(run(['--format']).code, 2);
  const jobs = run(['proj', '--jobs', '0']);
  assert.equal(jobs.code, 2);
  assert.match(jobs.err, /--jobs needs a whole number of threads, 1 or more \(got '0'\)/);
  const help = run(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /Usage: descent-lint/);
});

test('--jobs: worker threads give the same findings, in the same order, as one thread (labelled corpus + this project)', () => {
  const corpus = join(root, 'test', 'fixtures', 'lint-corpus');
  const one = run([corpus, 'proj', 'configured', '--format', 'json', '--jobs', '1']);
  const three = run([corpus, 'proj', 'configured', '--format', 'json', '-j', '3']);
  assert.equal(three.err, '', 'no worker failed (a failure falls back to one thread and says so on stderr)');
  assert.equal(three.code, one.code);
  const rows = JSON.parse(one.out) as { rule: string }[];
  assert.ok(rows.length > 40, `${rows.length} findings: the corpus has many`);
  assert.equal(three.out, one.out);
});
