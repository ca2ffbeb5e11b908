// The editor's re-lint keeps the findings of statement-local rules per top-level statement (engine.ts, statements.ts):
// an edit re-visits only the statements it changed, unless a file-wide fact the rule reads (imports, module-level
// bindings) changed, and then findings in untouched statements change too.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lintDocument, lintSource, ParsedDocument, type Rule } from '../../src/lint';
import { dedent, useParser } from './lint/helpers';

useParser();

/** A local rule that reports every call to `probe` and counts the calls it visits. */
function countingRule(facts: Rule['local'] = [], id = 'ZZ900'): Rule & { visited: number } {
  const rule = {
    visited: 0,
    meta: { id, name: 'probe', group: 'training-loop', defaultSeverity: 'warning', summary: '', why: '', wrong: '', right: '', concept: '', fixable: false },
    nodeTypes: ['call'],
    local: facts,
    visit(call, ctx) {
      rule.visited++;
      if (call.child('function')?.text === 'probe') ctx.report({ node: call, message: `probe ${ctx.analysis.callee(call) ?? ''}` });
    },
  } as Rule & { visited: number };
  return rule;
}

const FILE = dedent(`
  import torch

  def a():
      probe(1)
      f(2)

  def b():
      probe(3)
      g(4)
      h(5)
`);

function edit(doc: ParsedDocument, find: string, replace: string) {
  const at = doc.source.indexOf(find);
  assert.ok(at >= 0, find);
  doc.applyEdit(at, at + find.length, replace);
}

test('an edit re-visits only the statement it changed; findings elsewhere move with their statement', () => {
  const rule = countingRule();
  const doc = new ParsedDocument(FILE);
  try {
    assert.equal(lintDocument(doc, { rules: [rule] }).length, 2);
    assert.equal(rule.visited, 5);
    rule.visited = 0;
    // A line inserted in a(): only a()'s calls are visited again; b()'s finding moves down a line.
    edit(doc, 'f(2)', 'f(2)\n    k(0)');
    const got = lintDocument(doc, { rules: [rule] });
    assert.equal(rule.visited, 3);
    assert.deepEqual(
      got.map((f) => f.range.start.line),
      lintSource(doc.source, { rules: [rule] }).map((f) => f.range.start.line),
    );
    assert.deepEqual(
      got.map((f) => f.range.start.line),
      [3, 8],
    );
    rule.visited = 0;
    lintDocument(doc, { rules: [rule] });
    assert.equal(rule.visited, 0, 'nothing changed: nothing visited');
  } finally {
    doc.dispose();
  }
});

test('an import change re-runs the rules that read imports everywhere, and only those', () => {
  const withImports = countingRule(['imports']);
  const without = countingRule([], 'ZZ901');
  const doc = new ParsedDocument(FILE.replace('import torch', 'from tools import probe'));
  try {
    const first = lintDocument(doc, { rules: [withImports] });
    assert.deepEqual(
      first.map((f) => f.message),
      ['probe tools.probe', 'probe tools.probe'],
    );
    lintDocument(doc, { rules: [without] });
    withImports.visited = without.visited = 0;
    edit(doc, 'from tools import probe', 'from kit import probe');
    const got = lintDocument(doc, { rules: [withImports] });
    assert.deepEqual(
      got.map((f) => f.message),
      ['probe kit.probe', 'probe kit.probe'],
    );
    assert.equal(withImports.visited, 5);
    lintDocument(doc, { rules: [without] });
    assert.equal(without.visited, 0);
  } finally {
    doc.dispose();
  }
});

test('a module-level binding changed elsewhere re-runs the rules that read scopes (HP003 through a global scheduler)', () => {
  const src = dedent(`
    import torch
    from torch.optim.lr_scheduler import StepLR, OneCycleLR

    scheduler = StepLR(optimizer, step_size=30)

    def train(model, loader, optimizer):
        for x, y in loader:
            loss = model(x).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
  `);
  const doc = new ParsedDocument(src);
  try {
    const only = { options: { select: ['HP003'] } };
    assert.deepEqual(
      lintDocument(doc, only).map((f) => f.rule),
      ['HP003'],
    );
    edit(doc, 'StepLR(optimizer, step_size=30)', 'OneCycleLR(optimizer, max_lr=0.1, total_steps=1000)');
    assert.deepEqual(lintDocument(doc, only), lintSource(doc.source, only));
    assert.deepEqual(lintDocument(doc, only), []);
    // The binding moved after the function: still a module-level binding the function sees when it runs.
    edit(doc, 'OneCycleLR(optimizer, max_lr=0.1, total_steps=1000)', 'StepLR(optimizer, step_size=30)');
    assert.deepEqual(
      lintDocument(doc, only).map((f) => f.rule),
      ['HP003'],
    );
  } finally {
    doc.dispose();
  }
});

test('a local rule that asks for the whole file fails loudly instead of being cached wrong', () => {
  const rule: Rule = { ...countingRule(), visit: (_n, ctx) => void ctx.nodesOfType('call') };
  const doc = new ParsedDocument(FILE);
  const errors: string[] = [];
  try {
    lintDocument(doc, { rules: [rule], onRuleError: (id, e) => errors.push(`${id}: ${(e as Error).message}`) });
    assert.match(errors[0] ?? '', /ZZ900 declares statement-local reads/);
  } finally {
    doc.dispose();
  }
});

test('a module-level binding re-runs the rules that read scopes only in the statements that look its name up', () => {
  const rule = countingRule(['scopes']);
  const src = dedent(`
    import torch

    def a():
        rate = 0.1
        probe(rate)

    def b(lr):
        probe(step)
        f(lr)
  `);
  const doc = new ParsedDocument(src);
  try {
    lintDocument(doc, { rules: [rule] });
    rule.visited = 0;
    // A new module-level 'lr': a() never names it and b() takes it as a parameter, so neither is visited again.
    edit(doc, 'import torch', 'import torch\nlr = 0.5');
    const got = lintDocument(doc, { rules: [rule] });
    assert.equal(rule.visited, 0);
    assert.deepEqual(got, lintSource(doc.source, { rules: [rule] }));
    // A module-level 'step' (and what its value holds, 'lr'): b() looks it up, a() does not.
    edit(doc, 'lr = 0.5', 'lr = 0.5\nstep = lr');
    rule.visited = 0;
    lintDocument(doc, { rules: [rule] });
    assert.equal(rule.visited, 2, "b()'s two calls");
    rule.visited = 0;
    edit(doc, 'lr = 0.5', 'lr = 0.2');
    lintDocument(doc, { rules: [rule] });
    assert.equal(rule.visited, 2, "b() reads 'lr' through 'step'");
  } finally {
    doc.dispose();
  }
});

test("a class added elsewhere re-tests the candidates of rules that read the file's class names (TL014)", () => {
  const src = dedent(`
    import torch
    import torch.nn as nn

    def train(data):
        model = Net()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        model = Net()
        for x, y in data:
            optimizer.zero_grad()
            model(x).sum().backward()
            optimizer.step()
  `);
  const only = { options: { select: ['TL014'] } };
  const doc = new ParsedDocument(src);
  try {
    assert.deepEqual(lintDocument(doc, only), []);
    // Only the class names change (the imports do not): the kept statement train() is tested again.
    edit(doc, 'import torch.nn as nn', 'import torch.nn as nn\n\nclass Net(nn.Module):\n    pass\n');
    const got = lintDocument(doc, only);
    assert.deepEqual(got, lintSource(doc.source, only));
    assert.deepEqual(
      got.map((f) => f.rule),
      ['TL014'],
    );
  } finally {
    doc.dispose();
  }
});

/**
 * A rule with a candidate test: `probe(...)` calls pass the (statement-local) test, and visit reports one only when the
 * file defines a function named like its argument, which it reads from the whole file.
 */
function candidateRule(): Rule & { tested: number; visited: number } {
  const rule = {
    tested: 0,
    visited: 0,
    meta: { id: 'ZZ901', name: 'probe', group: 'training-loop', defaultSeverity: 'warning', summary: '', why: '', wrong: '', right: '', concept: '', fixable: false },
    nodeTypes: ['call'],
    candidate: {
      reads: [],
      test(call) {
        rule.tested++;
        return call.child('function')?.text === 'probe';
      },
    },
    visit(call, ctx) {
      rule.visited++;
      if (call.child('function')?.text !== 'probe') return;
      const arg = call.child('arguments')?.namedChildren[0]?.text;
      if (ctx.nodesOfType('function_definition').some((f) => f.child('name')?.text === arg)) ctx.report({ node: call, message: `probe of ${arg}` });
    },
  } as Rule & { tested: number; visited: number };
  return rule;
}

const CANDIDATE_FILE = dedent(`
  def a():
      probe(b)
      f(2)

  def b():
      probe(c)
      g(4)
      h(5)
`);

test('a candidate test runs on the changed statement only; the whole-file visit runs on every candidate each lint', () => {
  const rule = candidateRule();
  const doc = new ParsedDocument(CANDIDATE_FILE);
  try {
    assert.deepEqual(lintDocument(doc, { rules: [rule] }).map((f) => f.message), ['probe of b']);
    assert.deepEqual([rule.tested, rule.visited], [5, 2]);
    rule.tested = rule.visited = 0;
    // A new function c() at the end: only that statement is tested, and b()'s kept candidate now reports.
    edit(doc, 'h(5)', 'h(5)\n\ndef c():\n    pass');
    const got = lintDocument(doc, { rules: [rule] });
    assert.deepEqual([rule.tested, rule.visited], [0, 2], 'c() has no call; the two kept candidates are visited again');
    assert.deepEqual(got.map((f) => f.message), ['probe of b', 'probe of c']);
    assert.deepEqual(got, lintSource(doc.source, { rules: [rule] }));
    rule.tested = 0;
    edit(doc, 'g(4)', 'g(4)\n    probe(a)');
    assert.equal(lintDocument(doc, { rules: [rule] }).length, 3);
    assert.equal(rule.tested, 4, "only b()'s calls are tested again");
  } finally {
    doc.dispose();
  }
});

test('verifyCandidates fails a candidate test that turns away a node its visit reports on', () => {
  const rule = candidateRule();
  rule.candidate = { reads: [], test: (call) => call.child('function')?.text === 'nothing' };
  const errors: string[] = [];
  lintSource(CANDIDATE_FILE, { rules: [rule], verifyCandidates: true, onRuleError: (id, e) => errors.push(`${id}: ${(e as Error).message}`) });
  assert.match(errors[0] ?? '', /ZZ901's candidate test turned away a node its visit reports on: probe\(b\)/);
  // Without the check the finding is simply lost, which is what the check is for.
  assert.equal(lintSource(CANDIDATE_FILE, { rules: [rule] }).length, 1, 'the CLI path visits every node');
});

test('a statement kept with new whitespace inside is looked up by its new text (stableText forgets adopted nodes)', () => {
  const rule = countingRule();
  const doc = new ParsedDocument(dedent(`
    def f(a,b):
        probe(a,b)
    x = 1
  `));
  try {
    const first = lintDocument(doc, { rules: [rule] });
    assert.equal(first.length, 1);
    const before = doc.root.children[0]!;
    // A space inside the argument list: tree-sitter rebuilds the def around reused tokens, the parser may put the old
    // node back (same shape); its text is not the one kept for it, so the finding must move with the new text.
    const at = doc.source.indexOf('a,b)\n') + 2;
    doc.applyEdit(at, at, ' ');
    const after = lintDocument(doc, { rules: [rule] });
    assert.deepEqual(after, lintSource(doc.source, { rules: [rule] }));
    assert.equal(after[0]!.range.end.column, first[0]!.range.end.column + 1);
    assert.equal(doc.root.children[0], before, 'the def keeps its node (adopted), so the path under test ran');
  } finally {
    doc.dispose();
  }
});
