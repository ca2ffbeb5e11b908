import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { lintSource } from '../../src/lint';
import { useParser } from './lint/helpers';

useParser();

const dir = join(__dirname, '..', 'fixtures', 'lint', 'clean');

// Precision first: idiomatic training code (written for this repo in the styles of well-known projects) is clean.
for (const name of readdirSync(dir).filter((f) => f.endsWith('.py'))) {
  test(`clean corpus: ${name} has no findings`, () => {
    const findings = lintSource(readFileSync(join(dir, name), 'utf8'), {
      onRuleError: (rule, e) => assert.fail(`${rule} threw: ${String(e)}`),
    });
    assert.deepEqual(findings.map((f) => `${f.rule}:${f.range.start.line + 1} ${f.message}`), []);
  });
}
