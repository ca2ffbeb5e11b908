// Shared by the lint-*.test.ts files: lint a snippet, list rule ids, apply a finding's first fix.
import assert from 'node:assert/strict';
import { before } from 'node:test';
import { applyEdits, initParser, lintDocument, lintSource, ParsedDocument, type Finding, type LintOptions } from '../../../src/lint';

export function useParser(): void {
  before(async () => {
    await initParser();
  });
}

/** Lints code (dedented) and returns findings; a rule that throws fails the test. */
export function lint(code: string, options?: LintOptions): Finding[] {
  return lintSource(dedent(code), {
    options,
    verifyCandidates: true,
    onRuleError: (rule, e) => {
      throw new Error(`${rule} threw: ${(e as Error).stack}`);
    },
  });
}

/** Rule ids of the findings for `code`, restricted to `only` when given. */
export function ids(code: string, only?: string): string[] {
  return lint(code, only ? { select: [only] } : undefined).map((f) => f.rule);
}

/** Applies the first fix of the first finding of `rule`, returns the new code. */
export function fix(code: string, rule: string): string {
  const src = dedent(code);
  const f = lintSource(src, { options: { select: [rule] } }).find((x) => x.rule === rule);
  if (!f?.fixes?.[0]) throw new Error(`no fix for ${rule}`);
  return applyEdits(src, f.fixes[0].edits);
}

export function dedent(code: string): string {
  const lines = code.replace(/^\n/, '').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => /^ */.exec(l)![0].length));
  return lines.map((l) => l.slice(indent)).join('\n');
}

/** Indents every non-empty line of `body` by `n` spaces (a snippet placed inside a def or class). */
export function indent(body: string, n: number): string {
  return body
    .split('\n')
    .map((l) => (l ? ' '.repeat(n) + l : l))
    .join('\n');
}

export const HEADER = 'import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\nfrom torch.utils.data import DataLoader\n';

/**
 * Applies each [find, replace] to an editor's document (first occurrence after the previous edits): after each, the
 * incremental lint must equal a fresh lint of the text, and the findings must change (the edit matters).
 */
export function editSteps(text: string, edits: [string, string][]): void {
  const summary = (fs: Finding[]) => fs.map((f) => `${f.rule}@${f.range.start.line}:${f.message}`).join(' ');
  const doc = new ParsedDocument(text);
  try {
    let previous = summary(lintDocument(doc));
    for (const [from, to] of edits) {
      const at = doc.source.indexOf(from);
      assert.ok(at >= 0, `"${from}" is in the document`);
      doc.applyEdit(at, at + from.length, to);
      const got = lintDocument(doc);
      assert.deepEqual(got, lintSource(doc.source), `after "${from}" -> "${to}"`);
      const now = summary(got);
      assert.notEqual(now, previous, `editing "${from}" -> "${to}" changes the findings`);
      previous = now;
    }
  } finally {
    doc.dispose();
  }
}
