import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ParsedDocument, allRules, lintDocument, lintSource, lintNotebookCells, joinCells, parsePyprojectLint, readIpynb, type PyNode } from '../../src/lint';
import { HEADER, ids, lint, useParser } from './lint/helpers';

useParser();

const dump = (n: PyNode): string => (n.children.length ? `(${n.type} ${n.children.map(dump).join(' ')})` : `${n.type}@${n.start}-${n.end}`);

test('incremental edits give the same tree as a fresh parse, and reuse nodes', () => {
  const src = `${HEADER}\n` + 'def f(a):\n    return a + 1\n\n'.repeat(200);
  const doc = new ParsedDocument(src);
  for (const [at, del, text] of [[src.length - 5, 0, 'x'], [60, 1, ''], [100, 0, '\n\n'], [200, 3, 'zz'], [10, 0, '"'], [10, 1, '']] as const) {
    doc.applyEdit(at, at + del, text);
    const fresh = new ParsedDocument(doc.source);
    assert.equal(dump(doc.root), dump(fresh.root));
    fresh.dispose();
  }
  const firstDef = doc.root.children.find((c) => c.type === 'function_definition')!;
  const firstBody = firstDef.child('body');
  doc.applyEdit(doc.source.length, doc.source.length, '\n# end\n');
  // Below a new root, tree-sitter's reused subtrees keep their PyNodes, and so does a statement it rebuilt around them.
  const def = doc.root.children.find((c) => c.type === 'function_definition')!;
  assert.equal(def.child('body'), firstBody, 'an untouched function body keeps its PyNode');
  assert.equal(def, firstDef, 'an untouched top-level function keeps its PyNode');
  assert.equal(def.parent, doc.root);
  doc.dispose();
});

test('an edit inside one statement keeps the PyNode of every other top-level statement, and of unchanged nodes inside it', () => {
  const src = `${HEADER}\n` + [0, 1, 2, 3, 4, 5].map((i) => `class Net${i}(nn.Module):\n    def forward(self, x):\n        if x is not None:\n            return self.fc(x) + ${i}\n        return x\n\n`).join('');
  const doc = new ParsedDocument(src);
  let seed = 3;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
  for (let i = 0; i < 40; i++) {
    const before = [...doc.root.children];
    const beforeNodes = new Set<PyNode>();
    doc.root.walk((n) => void beforeNodes.add(n));
    const classes = before.filter((c) => c.type === 'class_definition');
    const target = classes[rnd(classes.length)]!;
    const name = target.child('body')!.text.indexOf('fc');
    const at = target.child('body')!.start + name + 1;
    doc.applyEdit(at, at, 'x'); // self.fc -> self.fxc: a new name, same shape
    const after = doc.root.children;
    assert.equal(after.length, before.length);
    for (let k = 0; k < after.length; k++) {
      if (before[k] === target) assert.notEqual(after[k], target, 'the edited statement is new');
      else assert.equal(after[k], before[k], `statement ${k} keeps its PyNode`);
    }
    // Inside the edited class, only the path down to the changed name is rebuilt.
    const edited = after[before.indexOf(target)]!;
    assert.equal(edited.child('name')!.text, target.child('name')!.text);
    assert.ok(beforeNodes.has(edited.child('superclasses')!), 'the unchanged superclass list keeps its PyNode');
    const fresh = new ParsedDocument(doc.source);
    assert.equal(full(doc.root), full(fresh.root));
    fresh.dispose();
    doc.applyEdit(at, at + 1, '');
  }
  doc.dispose();
});

/** Whether every node's children point back to it (nodes reused or put back by an incremental parse included). */
const linked = (n: PyNode): boolean => n.children.every((c) => c.parent === n && linked(c));

/** Everything rules can read of a node: type, named, field, offsets, error flag, children. */
const full = (n: PyNode): string =>
  `${n.named ? n.type : JSON.stringify(n.type)}${n.field ? `:${n.field}` : ''}@${n.start}-${n.end}${n.hasError ? '!' : ''}` + (n.children.length ? `(${n.children.map(full).join(' ')})` : '');

test('tokens: punctuation leaves, multi-word operators keep their words, errors are flagged', () => {
  const doc = new ParsedDocument('if a is not None and b not in c:\n    x = f(y, "s")\nz = (1 +\n');
  const ops = [] as string[];
  doc.root.walk((n) => void (!n.named && n.children.length && ops.push(`${n.type}:${n.children.map((c) => c.type).join(',')}`)));
  assert.deepEqual(ops, ['is not:is,not', 'not in:not,in']);
  const comma = doc.root.children[0]!.child('consequence')!.children[0]!.children[0]!.child('right')!.child('arguments')!.children[2]!;
  assert.deepEqual([comma.type, comma.named, comma.text], [',', false, ',']);
  assert.ok(doc.root.hasError);
  doc.dispose();
});

test('random one-character edits: the incremental tree and findings equal a fresh parse', () => {
  const src = `${HEADER}\nclass Net(nn.Module):\n    def forward(self, x):\n        return F.softmax(self.fc(x), dim=1)\n\n` +
    'def train(model, loader, opt, crit):\n    for x, y in loader:\n        loss = crit(model(x), y)\n        loss.backward()\n        opt.step()\n        if x is not None and y not in []:\n            print("done", 1 + 2)\n\n'.repeat(6);
  const doc = new ParsedDocument(src);
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
  for (let i = 0; i < 120; i++) {
    const at = rnd(doc.source.length);
    if (i % 2 === 0) doc.applyEdit(at, at, '(x_:. \n'[rnd(7)]!);
    else doc.applyEdit(at, Math.min(at + 1, doc.source.length), '');
    const fresh = new ParsedDocument(doc.source);
    assert.equal(full(doc.root), full(fresh.root), `edit ${i}`);
    assert.ok(linked(doc.root), `parent links after edit ${i}`);
    assert.deepEqual(lintDocument(doc), lintSource(doc.source), `findings after edit ${i}`);
    fresh.dispose();
  }
  doc.dispose();
});

test('positions are UTF-16 columns, like VS Code', () => {
  const doc = new ParsedDocument('s = "é😀"; optimizer = torch.optim.Adam(p, lr=0.5)\n');
  const f = lintDocument(doc, { options: { select: ['HP001'] } });
  assert.equal(f[0]!.range.start.column, '"s = "é😀"; optimizer = torch.optim.Adam(p, lr='.length - 1);
  doc.dispose();
});

test('broken code: a half-typed line does not throw and the rest is still analysed', () => {
  const code = `${HEADER}\nopt = torch.optim.Adam(model.parameters(), lr=0.5)\nloader = DataLoader(train_ds, batch_size=\nfor x, y in loader:\n    loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.step()\n`;
  assert.doesNotThrow(() => lint(code));
  assert.ok(ids(code).includes('HP001'));
  for (let i = 0; i < code.length; i += 7) assert.doesNotThrow(() => lint(code.slice(0, i)));
});

test('findings on a line with a syntax error are dropped', () => {
  assert.deepEqual(ids(`${HEADER}\nopt = torch.optim.Adam(model.parameters(), lr=0.5) +\n`), []);
});

test('suppression comments: line, all, file-level', () => {
  const bad = `${HEADER}\nopt = torch.optim.Adam(model.parameters(), lr=0.5)`;
  assert.deepEqual(ids(`${bad}  # descent: ignore[HP001]\n`), []);
  assert.deepEqual(ids(`${bad}  # descent: ignore[TL001]\n`), ['HP001']);
  assert.deepEqual(ids(`${bad}  # descent: ignore\n`), []);
  assert.deepEqual(ids(`# descent: ignore-file[HP001]\n${bad}\n`), []);
  assert.deepEqual(ids(`# descent: ignore-file[DT001, HP001]\n${bad}\n`), []);
});

test('options: disabled rules, select by prefix, severity overrides', () => {
  const bad = `${HEADER}\nopt = torch.optim.Adam(model.parameters(), lr=0.5)\ntrain_loader = DataLoader(train_ds)\n`;
  assert.deepEqual(lint(bad, { disabled: ['HP001'] }).map((f) => f.rule), ['DT001']);
  assert.deepEqual(lint(bad, { select: ['HP'] }).map((f) => f.rule), ['HP001']);
  assert.equal(lint(bad, { severity: { HP001: 'error' } })[0]!.severity, 'error');
  assert.deepEqual(lint(bad, { severity: { HP001: 'off', DT001: 'off' } }), []);
});

test('pyproject: [tool.descent.lint] ignore/select/severity, robust to the rest of the file', () => {
  const toml = `[project]\nname = "x"  # comment\ndependencies = [\n  "torch>=2",\n]\n\n[tool.descent.lint]\nignore = [\n  "TL001", # noisy here\n  "DT001",\n]\nselect = ["TL", "LS"]\n\n[tool.descent.lint.severity]\nLS001 = "warning"\n"EV003" = 'info'\nBAD = "loud"\n\n[tool.ruff]\nignore = ["E501"]\n[[tool.other]]\nx = 1\n`;
  assert.deepEqual(parsePyprojectLint(toml), { disabled: ['TL001', 'DT001'], select: ['TL', 'LS'], severity: { LS001: 'warning', EV003: 'info' } });
  assert.deepEqual(parsePyprojectLint('[tool.descent.lint]\nseverity = { TL001 = "warning", HP001 = "off" }\n'), { severity: { TL001: 'warning', HP001: 'off' } });
  assert.deepEqual(parsePyprojectLint('not toml at all [[[ = ]'), {});
});

test('notebook: cells joined in order, magics blanked, findings mapped back to cells', () => {
  const cells = [
    '%matplotlib inline\nimport torch\nimport torch.nn as nn\n!pip install torchvision',
    'class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(4, 2)\n    def forward(self, x):\n        return torch.softmax(self.fc(x), 1)',
    '%%time\nthis is not python',
    'model = Net()\ncriterion = nn.CrossEntropyLoss()\nloss = criterion(model(x), y)',
  ];
  const joined = joinCells(cells);
  assert.equal(joined.source.length, cells.join('\n').length, 'offsets are preserved');
  const f = lintNotebookCells(cells);
  assert.deepEqual(f.map((x) => [x.rule, x.cell, x.range.start.line]), [['LS001', 3, 2]]);
  assert.equal(f[0]!.fixes, undefined, 'a fix editing another cell is not offered on the cell');
  const nb = readIpynb(JSON.stringify({ metadata: { kernelspec: { language: 'python' } }, cells: [{ cell_type: 'markdown', source: ['# hi'] }, ...cells.map((c) => ({ cell_type: 'code', source: c.split(/(?<=\n)/) }))] }));
  assert.deepEqual(nb.cellIndex, [1, 2, 3, 4]);
  assert.equal(nb.sources[1], cells[1]);
  assert.ok(readIpynb('{oops').problem);
  assert.deepEqual(readIpynb(JSON.stringify({ metadata: { language_info: { name: 'R' } }, cells: [] })).sources, []);
});

test('every rule has complete metadata and a unique id', () => {
  const seen = new Set<string>();
  for (const r of allRules) {
    const m = r.meta;
    assert.match(m.id, /^[A-Z]{2,3}\d{3}$/);
    assert.ok(!seen.has(m.id));
    seen.add(m.id);
    assert.match(m.name, /^[a-z0-9]+(-[a-z0-9]+)*$/);
    for (const k of ['summary', 'why', 'wrong', 'right', 'concept'] as const) assert.ok(m[k].length > 10, `${m.id}.${k}`);
    // the wrong example triggers the rule (with imports); the right one does not
    const wrong = ids(`${HEADER}import torch.optim as optim\n${m.wrong}\n`, m.id);
    const right = ids(`${HEADER}import torch.optim as optim\n${m.right}\n`, m.id);
    assert.deepEqual(right, [], `${m.id} right example is clean`);
    assert.ok(wrong.length > 0, `${m.id} wrong example triggers it`);
  }
});
