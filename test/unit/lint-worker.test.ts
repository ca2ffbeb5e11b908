// The lint worker and its host-side client (src/lint/worker/): the real worker thread, bundled here with esbuild the
// way esbuild.mjs bundles dist/lintEngine.js (which runs the worker loop when started as a worker thread), with the .wasm files copied next to it.
import * as assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as esbuild from 'esbuild';
import { initParser, lintNotebookCells, lintSource } from '../../src/lint';
import { LintCore } from '../../src/lint/worker/core';
import { LintClient, type LintClientOptions } from '../../src/lint/worker/client';

const req = createRequire(__filename);
let dir = '';
let workerPath = '';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'descent-lint-worker-'));
  await esbuild.build({ entryPoints: { lintEngine: 'src/lint/engineBundle.ts' }, bundle: true, platform: 'node', format: 'cjs', target: 'node20', outdir: dir, logLevel: 'warning' });
  copyFileSync(req.resolve('web-tree-sitter/web-tree-sitter.wasm'), join(dir, 'web-tree-sitter.wasm'));
  copyFileSync(req.resolve('tree-sitter-python/tree-sitter-python.wasm'), join(dir, 'tree-sitter-python.wasm'));
  workerPath = join(dir, 'lintEngine.js');
  await initParser(); // for the in-process reference results
});

after(() => rmSync(dir, { recursive: true, force: true }));

const BUGGY = [
  'import torch',
  'import torch.nn as nn',
  'model = nn.Linear(4, 2)',
  'opt = torch.optim.SGD(model.parameters(), lr=0.1)',
  'loss_fn = nn.CrossEntropyLoss()',
  'for x, y in loader:',
  '    out = torch.softmax(model(x), dim=1)',
  '    loss = loss_fn(out, y)',
  '    loss.backward()',
  '    opt.step()',
  '',
].join('\n');

/** A client over documents held in a map (what the editor would have). */
function makeClient(extra: Partial<LintClientOptions> = {}) {
  const docs = new Map<string, { version: number; text: string }>();
  const warnings: string[] = [];
  const client = new LintClient({
    workerPath,
    wasmDir: dir,
    loadEngine: () => ({ initParser, LintCore }),
    document: (key) => docs.get(key),
    log: { warn: (m) => warnings.push(m), error: (m) => warnings.push(m) },
    ...extra,
  });
  const open = (key: string, text: string) => {
    docs.set(key, { version: 1, text });
    client.open(key, 1, text);
  };
  /** Replaces [start, end) with text, as an editor edit: updates the document and forwards the change. */
  const edit = (key: string, start: number, end: number, text: string, lengthOverride?: number) => {
    const d = docs.get(key)!;
    d.text = d.text.slice(0, start) + text + d.text.slice(end);
    d.version++;
    client.edit(key, d.version, [{ offset: start, length: end - start, text }], lengthOverride ?? d.text.length);
  };
  return { client, docs, warnings, open, edit };
}

const rules = (fs: { rule: string }[]) => fs.map((f) => f.rule).sort();

describe('lint worker client', () => {
  test('lints in the worker, with the same findings as in-process', async () => {
    const { client, open } = makeClient();
    try {
      await client.ready;
      assert.equal(client.mode, 'worker');
      open('a.py', BUGGY);
      const r = await client.lint('a.py', {});
      assert.ok(r);
      assert.equal(r.version, 1);
      assert.deepEqual(r.findings, lintSource(BUGGY));
      assert.ok(rules(r.findings).includes('LS001'));
      const opts = { severity: { LS001: 'off' as const } };
      assert.deepEqual(rules((await client.lint('a.py', opts))!.findings), rules(lintSource(BUGGY, { options: opts })));
    } finally {
      client.dispose();
    }
  });

  test('edits are applied incrementally in the worker; findings follow the text', async () => {
    const { client, docs, open, edit } = makeClient();
    try {
      open('a.py', BUGGY);
      const at = BUGGY.indexOf('torch.softmax(');
      edit('a.py', at, at + 'torch.softmax('.length, '(');
      const closeParen = docs.get('a.py')!.text.indexOf(', dim=1)');
      edit('a.py', closeParen, closeParen + ', dim=1)'.length, ')');
      const r = await client.lint('a.py', {});
      assert.equal(r!.version, 3);
      assert.deepEqual(r!.findings, lintSource(docs.get('a.py')!.text));
      assert.ok(!rules(r!.findings).includes('LS001'));
    } finally {
      client.dispose();
    }
  });

  test('a reply for an older version than the latest edit is dropped', async () => {
    const { client, docs, open, edit } = makeClient();
    try {
      open('a.py', BUGGY);
      const stale = client.lint('a.py', {}); // the worker lints version 1 ...
      edit('a.py', 0, 0, '# edited\n'); // ... while the host is already at version 2
      assert.equal(await stale, undefined);
      const fresh = await client.lint('a.py', {});
      assert.equal(fresh!.version, 2);
      assert.deepEqual(fresh!.findings, lintSource(docs.get('a.py')!.text));
    } finally {
      client.dispose();
    }
  });

  test('a worker out of step asks for the text again', async () => {
    const { client, docs, open, edit } = makeClient();
    try {
      open('a.py', BUGGY);
      edit('a.py', 0, 0, 'x = 1\n', 12345); // wrong length: the worker drops its copy
      const r = await client.lint('a.py', {});
      assert.equal(r!.version, 2);
      assert.deepEqual(r!.findings, lintSource(docs.get('a.py')!.text));
    } finally {
      client.dispose();
    }
  });

  test('a crashed worker is restarted once with the documents re-opened; a second crash lints in-process', async () => {
    const { client, docs, warnings, open, edit } = makeClient();
    try {
      await client.ready;
      open('a.py', BUGGY);
      assert.ok(await client.lint('a.py', {}));
      const first = client.workerThread!;
      await first.terminate(); // as if it crashed
      await new Promise((r) => setTimeout(r, 50));
      edit('a.py', 0, 0, '# after the crash\n');
      const r = await client.lint('a.py', {});
      assert.equal(client.restarts, 1);
      assert.equal(client.mode, 'worker');
      assert.notEqual(client.workerThread, first);
      assert.deepEqual(r!.findings, lintSource(docs.get('a.py')!.text));
      assert.ok(warnings.some((w) => /restarting/.test(w)), warnings.join('\n'));

      // A lint in flight when the worker dies is answered by the next one.
      const inFlight = client.lint('a.py', {});
      await client.workerThread!.terminate();
      const r2 = await inFlight;
      assert.equal(client.mode, 'in-process');
      assert.deepEqual(r2!.findings, lintSource(docs.get('a.py')!.text));
      edit('a.py', 0, 0, 'y = 2\n');
      const r3 = await client.lint('a.py', {});
      assert.deepEqual(r3!.findings, lintSource(docs.get('a.py')!.text));
    } finally {
      client.dispose();
    }
  });

  test('a worker that cannot start: in-process linting with a warning', async () => {
    const { client, docs, warnings, open } = makeClient({ workerPath: join(dir, 'missing.js') });
    try {
      open('a.py', BUGGY);
      const pending = client.lint('a.py', {});
      await client.ready;
      assert.equal(client.mode, 'in-process');
      assert.deepEqual((await pending)!.findings, lintSource(docs.get('a.py')!.text));
      assert.ok(warnings.some((w) => /in the extension host/.test(w)), warnings.join('\n'));
    } finally {
      client.dispose();
    }
  });

  test('notebooks: cells linted together in the worker', async () => {
    const { client } = makeClient();
    try {
      const cells = ['import torch\nimport torch.nn as nn\nmodel = nn.Linear(4, 2)\nloss_fn = nn.CrossEntropyLoss()', '%matplotlib inline\nout = torch.softmax(model(x), dim=1)\nloss = loss_fn(out, y)'];
      const r = await client.lintNotebook(cells, {});
      assert.deepEqual(r!.findings, lintNotebookCells(cells));
    } finally {
      client.dispose();
    }
  });

  test('closed documents answer nothing', async () => {
    const { client, open } = makeClient();
    try {
      open('a.py', BUGGY);
      const p = client.lint('a.py', {});
      client.close('a.py');
      assert.equal(await p, undefined);
      assert.equal(await client.lint('a.py', {}), undefined);
    } finally {
      client.dispose();
    }
  });
});
