// Shared by the lint-*.test.ts files: lint a snippet, list rule ids, apply a finding's first fix.
import { before } from 'node:test';
import { applyEdits, initParser, lintSource, type Finding, type LintOptions } from '../../../src/lint';

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

export const HEADER = 'import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\nfrom torch.utils.data import DataLoader\n';
