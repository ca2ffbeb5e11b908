// Incremental re-lint equals a lint from scratch: hundreds of random edits applied to the labelled corpus files
// through ParsedDocument.applyEdit (the editor's path: incremental parse, kept PyNodes and their memos), each
// followed by lintDocument, compared with lintSource of the same text. Guards every cache the engine keeps on nodes
// (callee names, call lists) and per analysis (qualified names, callees).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { lintDocument, lintSource, ParsedDocument } from '../../src/lint';
import { generateFile } from '../../bench/lint/generate';
import { useParser } from './lint/helpers';

useParser();

const corpus = join(__dirname, '..', 'fixtures', 'lint-corpus');
const files = (dir: string) =>
  readdirSync(join(corpus, dir))
    .filter((f) => f.endsWith('.py'))
    .sort()
    .map((f) => readFileSync(join(corpus, dir, f), 'utf8'));

/** Edits people make while typing: single characters, deletions, and whole tokens that change what rules see. */
const SNIPPETS = ['x', '(', ')', ':', '.', ' ', '\n', '    ', '#', '"', 'optimizer.zero_grad()\n', 'F.softmax(out, dim=1)', 'loss.backward()', 'model.eval()\n', 'with torch.no_grad():\n    ', 'nn.ReLU(), ', 'import torch.nn as nn\n', 'keras.layers.Dense(1, activation="sigmoid")'];

function check(docs: string[], edits: number, seed: number): number {
  let s = seed;
  const rnd = (n: number) => ((s = (s * 1103515245 + 12345) % 2147483648) % n);
  let changed = 0;
  for (const [k, text] of docs.entries()) {
    const doc = new ParsedDocument(text);
    let before = lintDocument(doc);
    try {
      for (let i = 0; i < edits; i++) {
        const at = rnd(doc.source.length + 1);
        const kind = rnd(3);
        if (kind === 0) doc.applyEdit(at, Math.min(doc.source.length, at + 1 + rnd(12)), '');
        else doc.applyEdit(at, at, SNIPPETS[rnd(SNIPPETS.length)]!);
        const got = lintDocument(doc, { onRuleError: (rule, e) => assert.fail(`${rule}: ${String(e)}`) });
        const want = lintSource(doc.source, { verifyCandidates: true, onRuleError: (rule, e) => assert.fail(`${rule}: ${String(e)}`) });
        assert.deepEqual(got, want, `document ${k}, edit ${i} at ${at}`);
        if (JSON.stringify(got) !== JSON.stringify(before)) changed++;
        before = got;
      }
    } finally {
      doc.dispose();
    }
  }
  return changed;
}

test('random edits on the buggy corpus: incremental findings equal a fresh lint after every edit', () => {
  const buggy = files('buggy');
  // A few documents of several labelled files each, so the edits land in files with many findings.
  const docs: string[] = [];
  for (let i = 0; i < buggy.length; i += 12) docs.push(buggy.slice(i, i + 12).join('\n\n'));
  const changed = check(docs.slice(0, 4), 100, 11);
  // The test is only worth something if the edits really changed findings.
  assert.ok(changed > 20, `findings changed after ${changed} edits`);
});

test('random edits on the clean corpus: incremental findings equal a fresh lint after every edit', () => {
  check(files('clean').slice(0, 3), 80, 29);
});

test('random edits on the 2,000-line file of the re-lint bench: statement-local findings kept per statement equal a fresh lint', () => {
  // Many top-level statements (classes, functions, a main guard): the shape the per-statement cache is for.
  check([generateFile(100_000)], 60, 7);
});
