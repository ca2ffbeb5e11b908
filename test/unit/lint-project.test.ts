// Project context (src/lint/project/): a file is linted with the classes and functions it imports from its own
// project, on real files in a temporary folder, through the CLI's path and the lint worker's core.
import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../../src/lint/cli';
import { fromImports } from '../../src/lint/project/localImports';
import { LintCore } from '../../src/lint/worker/core';
import type { FromWorker } from '../../src/lint/worker/protocol';
import { useParser } from './lint/helpers';

useParser();

let root = '';
before(() => {
  root = mkdtempSync(join(tmpdir(), 'descent-project-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

function project(name: string, files: Record<string, string>): string {
  const dir = join(root, name);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text.replace(/^\n/, ''));
  }
  return dir;
}

async function cli(args: string[]): Promise<{ file: string; line: number; rule: string; message: string }[]> {
  let out = '';
  await main([...args, '--format', 'json', '--jobs', '1'], (s) => (out += s), () => undefined);
  return JSON.parse(out) as { file: string; line: number; rule: string; message: string }[];
}

const SOFTMAX_NET = `
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 20)
        self.fc2 = nn.Linear(20, 3)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        return F.softmax(self.fc2(x), dim=1)
`;

const TRAIN = (importLine: string, ctor = 'Net()') => `import torch
import torch.nn as nn
${importLine}

model = ${ctor}
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)


def train(loader):
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
`;

describe('fromImports', () => {
  test('reads names, aliases, relative levels, parenthesised lists and stars', () => {
    const found = fromImports(['from model import Net, Block as B  # the model', 'from .layers import (', '    Encoder,', '    Decoder)', 'from ..utils import *', 'import torch', '    from pkg.sub import thing'].join('\n'));
    assert.deepEqual(found, [
      { level: 0, module: 'model', names: [{ name: 'Net', alias: 'Net' }, { name: 'Block', alias: 'B' }] },
      { level: 1, module: 'layers', names: [{ name: 'Encoder', alias: 'Encoder' }, { name: 'Decoder', alias: 'Decoder' }] },
      { level: 2, module: 'utils', names: 'star' },
      { level: 0, module: 'pkg.sub', names: [{ name: 'thing', alias: 'thing' }] },
    ]);
  });
});

describe('descent-lint with project context', () => {
  test('a softmax at the end of a forward in model.py reaches the CrossEntropyLoss in train.py', async () => {
    const dir = project('basic', { 'model.py': SOFTMAX_NET, 'train.py': TRAIN('from model import Net') });
    const findings = await cli([join(dir, 'train.py'), '--select', 'LS001']);
    assert.equal(findings.length, 1);
    assert.equal(findings[0]!.line, 13);
    assert.match(findings[0]!.message, /\(line 13 of model\.py\)/);
    assert.deepEqual(await cli([join(dir, 'train.py'), '--select', 'LS001', '--no-project']), []);
  });

  test('clean model: nothing', async () => {
    const dir = project('clean', { 'model.py': SOFTMAX_NET.replace('F.softmax(self.fc2(x), dim=1)', 'self.fc2(x)'), 'train.py': TRAIN('from model import Net') });
    assert.deepEqual(await cli([join(dir, 'train.py')]), []);
  });

  test('packages, relative imports, re-exports through __init__.py, aliases and helper classes', async () => {
    const block = SOFTMAX_NET.replace('class Net(nn.Module)', 'class Head(nn.Module)');
    const net = `
import torch.nn as nn
from .blocks import Head


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = Head()

    def forward(self, x):
        return self.head(x)
`;
    const dir = project('package', {
      'models/__init__.py': 'from .net import Net\n',
      'models/net.py': net,
      'models/blocks.py': block,
      'scripts/train.py': TRAIN('from models import Net as Model', 'Model()'),
    });
    const findings = await cli([join(dir, 'scripts', 'train.py'), '--select', 'LS001']);
    assert.equal(findings.length, 1, JSON.stringify(findings));
    assert.match(findings[0]!.message, /of \.\.\/models\/blocks\.py\)/);
  });

  test("the file's own definitions win, findings inside the copied code are dropped, its suppressions do not apply", async () => {
    const stacked = `
import torch.nn as nn


class Net(nn.Module):  # descent: ignore-file
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 3))

    def forward(self, x):
        return self.body(x)
`;
    const own = project('own', { 'model.py': SOFTMAX_NET, 'train.py': TRAIN('from model import Net') + '\n\nclass Net(nn.Module):\n    def forward(self, x):\n        return x\n' });
    assert.deepEqual(await cli([join(own, 'train.py')]), []);
    // stacked.py's AR004 stays in stacked.py, and its ignore-file comment does not silence train.py's own DT001.
    const unshuffled = TRAIN('from stacked import Net').replace('def train(loader):\n    for x, y in loader:', 'def train(data):\n    train_loader = torch.utils.data.DataLoader(data, batch_size=32)\n    for x, y in train_loader:');
    const dir = project('own2', { 'stacked.py': stacked, 'train.py': unshuffled });
    assert.deepEqual((await cli([join(dir, 'train.py')])).map((f) => f.rule), ['DT001']);
    assert.deepEqual((await cli([join(dir, 'stacked.py')])).map((f) => f.rule), []);
    assert.deepEqual((await cli([join(dir, 'stacked.py'), '--no-config'])).map((f) => f.rule), []);
  });
});

describe('notebooks with project context', () => {
  const notebook = (cells: string[]) =>
    JSON.stringify({ metadata: { language_info: { name: 'python' } }, cells: [{ cell_type: 'markdown', source: '# Train' }, ...cells.map((c) => ({ cell_type: 'code', source: c }))] });
  const CELLS = ['import torch\nimport torch.nn as nn\nfrom model import Net\n', 'model = Net()\ncriterion = nn.CrossEntropyLoss()\n', 'def step(x, y):\n    return criterion(model(x), y)\n'];

  test('descent-lint: the finding lands in the cell that calls the loss and names model.py', async () => {
    const dir = project('notebook', { 'model.py': SOFTMAX_NET, 'train.ipynb': notebook(CELLS) });
    const findings = (await cli([join(dir, 'train.ipynb'), '--select', 'LS001'])) as { cell?: number; line: number; message: string }[];
    assert.deepEqual(findings.map((f) => [f.cell, f.line]), [[4, 2]]);
    assert.match(findings[0]!.message, /\(line 13 of model\.py\)/);
    assert.deepEqual(await cli([join(dir, 'train.ipynb'), '--select', 'LS001', '--no-project']), []);
  });

  test('worker core: lintNotebook with the notebook path', () => {
    const dir = project('notebook2', { 'model.py': SOFTMAX_NET });
    const replies: FromWorker[] = [];
    const c = new LintCore((m) => replies.push(m));
    c.handle({ type: 'lintNotebook', id: 1, cells: CELLS, options: { select: ['LS001'] }, path: join(dir, 'train.ipynb') });
    const r = replies.at(-1) as Extract<FromWorker, { type: 'notebookFindings' }>;
    assert.deepEqual(r.findings.map((f) => [f.rule, f.cell, f.range.start.line]), [['LS001', 2, 1]]);
    assert.deepEqual(r.contextFiles, [join(dir, 'model.py')]);
    c.dispose();
  });
});

describe('lint worker core with project context', () => {
  function core() {
    const replies: FromWorker[] = [];
    return { core: new LintCore((m) => replies.push(m)), replies };
  }
  const last = (replies: FromWorker[]) => {
    const r = replies.at(-1)!;
    assert.equal(r.type, 'findings', JSON.stringify(r));
    return r as Extract<FromWorker, { type: 'findings' }>;
  };

  test('context appended after the text, kept through edits, replaced when the model changes (open editor first, then disk)', () => {
    const dir = project('worker', { 'model.py': SOFTMAX_NET, 'train.py': '' });
    const trainPath = join(dir, 'train.py');
    const modelPath = join(dir, 'model.py');
    const text = TRAIN('from model import Net');
    const { core: c, replies } = core();
    c.handle({ type: 'open', key: 'train', version: 1, text });
    c.handle({ type: 'lint', id: 1, key: 'train', options: { select: ['LS001'] }, path: trainPath });
    let r = last(replies);
    assert.deepEqual(r.findings.map((f) => [f.rule, f.range.start.line]), [['LS001', 12]]);
    assert.deepEqual(r.contextFiles, [modelPath]);

    // An edit above the loss call: offsets are the editor's, the context stays after the text.
    c.handle({ type: 'edit', key: 'train', version: 2, changes: [{ offset: 0, length: 0, text: '# top\n' }], length: text.length + 6 });
    c.handle({ type: 'lint', id: 2, key: 'train', options: { select: ['LS001'] }, path: trainPath });
    r = last(replies);
    assert.deepEqual(r.findings.map((f) => [f.rule, f.range.start.line]), [['LS001', 13]]);

    // model.py open in the editor with the softmax removed (unsaved): its text is used, not the disk's.
    c.handle({ type: 'open', key: 'model', version: 1, text: SOFTMAX_NET.replace('F.softmax(self.fc2(x), dim=1)', 'self.fc2(x)') });
    c.handle({ type: 'lint', id: 3, key: 'model', options: {}, path: modelPath });
    c.handle({ type: 'lint', id: 4, key: 'train', options: { select: ['LS001'] }, path: trainPath });
    assert.deepEqual(last(replies).findings, []);

    // Closed again: back to the disk's text, which still has the softmax.
    c.handle({ type: 'close', key: 'model' });
    c.handle({ type: 'lint', id: 5, key: 'train', options: { select: ['LS001'] }, path: trainPath });
    assert.equal(last(replies).findings.length, 1);

    // No path (an untitled editor): no context.
    c.handle({ type: 'lint', id: 6, key: 'train', options: { select: ['LS001'] } });
    r = last(replies);
    assert.deepEqual([r.findings, r.contextFiles], [[], []]);
    c.dispose();
  });

  test('an edit that reaches past the editor text puts the document out of step instead of editing the context', () => {
    const dir = project('step', { 'model.py': SOFTMAX_NET, 'train.py': '' });
    const text = TRAIN('from model import Net');
    const { core: c, replies } = core();
    c.handle({ type: 'open', key: 't', version: 1, text });
    c.handle({ type: 'lint', id: 1, key: 't', options: {}, path: join(dir, 'train.py') });
    c.handle({ type: 'edit', key: 't', version: 2, changes: [{ offset: text.length - 1, length: 5, text: '' }], length: text.length - 5 });
    c.handle({ type: 'lint', id: 2, key: 't', options: {}, path: join(dir, 'train.py') });
    assert.equal(replies.at(-1)!.type, 'outOfStep');
    c.dispose();
  });
});
