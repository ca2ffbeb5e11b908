// The parse by pieces (chunks.ts, ParsedDocument): where a file is cut, that cutting never changes the tree, and that an
// edit re-parses only its piece (a half-typed line's error stays inside it).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pieceStarts } from '../../src/lint/chunks';
import { ParsedDocument, type PyNode } from '../../src/lint';
import { useParser } from './lint/helpers';

useParser();

/** The text of each piece start's line. */
const cuts = (text: string) => pieceStarts(text).map((at) => text.slice(at, text.indexOf('\n', at)));

test('pieces start at column-0 compound statements and decorators, never inside brackets, strings or continuations', () => {
  const text = [
    'import torch',
    'x = 1',
    'def f(a,',
    'b):',
    '    return a',
    'class A:',
    '    pass',
    '@decorator(',
    '  arg)',
    '@second',
    'def g():',
    '    pass',
    'if x:',
    '    pass',
    'else:',
    '    pass',
    'try:',
    '    pass',
    'except Exception:',
    '    pass',
    'doc = """',
    'def not_code():',
    '"""',
    "s = 'def' # for x in y",
    'y = [i',
    'for i in range(3)]',
    'z = 1 + \\',
    'f(2)',
    'for i in range(2):',
    '    pass',
    'async def h():',
    '    pass',
    'with open(p) as fh:',
    '    pass',
    'while False:',
    '    pass',
    '',
  ].join('\n');
  assert.deepEqual(cuts(text), ['def f(a,', 'class A:', '@decorator(', 'if x:', 'try:', 'for i in range(2):', 'async def h():', 'with open(p) as fh:', 'while False:']);
});

test('an unclosed bracket ends at the next column-0 def or class, as Python reads it', () => {
  const text = 'x = f(1,\nfor i in y:\n    pass\ndef g():\n    pass\nclass C:\n    pass\n';
  assert.deepEqual(cuts(text), ['def g():', 'class C:']);
  // An unclosed triple-quoted string holds the rest of the file: nothing below it is code.
  assert.deepEqual(cuts('s = """\ndef g():\n    pass\n'), []);
});

test('a scan from a piece start can stop at the first start the caller already knows', () => {
  const text = 'def a():\n    pass\ndef b():\n    pass\ndef c():\n    pass\n';
  const seen: number[] = [];
  const got = pieceStarts(text, 0, (at) => {
    seen.push(at);
    return at < text.indexOf('def b');
  });
  assert.deepEqual(got, [text.indexOf('def b')]);
  assert.deepEqual(pieceStarts(text, text.indexOf('def b')), [text.indexOf('def c')]);
});

const dump = (n: PyNode): string =>
  `${n.named ? n.type : JSON.stringify(n.type)}${n.field ? `:${n.field}` : ''}@${n.start}-${n.end}${n.hasError ? '!' : ''}` + (n.children.length ? `(${n.children.map(dump).join(' ')})` : '');

const FILE = ['import torch', '', ...[0, 1, 2, 3].map((i) => `class Net${i}(torch.nn.Module):\n    def forward(self, x):\n        y = self.fc(x)\n        return y + ${i}\n`), 'for epoch in range(3):\n    train(epoch)\n'].join('\n');

test('a half-typed line keeps its syntax error inside its piece: every other top-level statement keeps its PyNode', () => {
  const doc = new ParsedDocument(FILE);
  const before = [...doc.root.children];
  // An unclosed call and a line indented wrongly, inside the second class.
  for (const [find, insert] of [['self.fc(x)', '('], ['        return y + 1', '  ']] as const) {
    const at = doc.source.indexOf(find, doc.source.indexOf('class Net1'));
    doc.applyEdit(at, at, insert);
    const edited = doc.root.children.filter((c) => !before.includes(c));
    assert.ok(edited.every((c) => c.start >= doc.source.indexOf('class Net1') && c.end <= doc.source.indexOf('class Net2')), `only Net1 is re-parsed after ${JSON.stringify(insert)}`);
    assert.equal(doc.root.children.filter((c) => c.type === 'class_definition').length, 4);
    const fresh = new ParsedDocument(doc.source, false);
    assert.equal(dump(doc.root), dump(fresh.root));
    fresh.dispose();
    doc.applyEdit(at, at + insert.length, '');
    assert.equal(dump(doc.root), dump(new ParsedDocument(FILE, false).root));
  }
  doc.dispose();
});

test('edits that join or split pieces give the same tree as a fresh parse', () => {
  const doc = new ParsedDocument(FILE);
  const edits: [string, number, string][] = [
    ['class Net2', 0, '.'], // `.class` is no piece start: Net1 and Net2 join
    ['.class Net2', 1, ''],
    ['        return y + 2', 0, 'def split():\n    pass\n'], // a new piece inside Net2
    ['for epoch', 0, 'x = [\n'], // an unclosed bracket above the loop
    ['x = [\n', 6, ''],
    ['import torch', 12, ''],
  ];
  for (const [find, remove, insert] of edits) {
    const at = doc.source.indexOf(find);
    assert.ok(at >= 0, find);
    doc.applyEdit(at, at + remove, insert);
    const fresh = new ParsedDocument(doc.source, false);
    assert.equal(dump(doc.root), dump(fresh.root), `after ${JSON.stringify(insert || find)}`);
    fresh.dispose();
  }
  doc.dispose();
});
