// Building blocks (Descent: Insert Building Block and the Python snippets): lint-clean with Descent's linter,
// valid Python (py_compile), and media/snippets/python.json in step with src/scaffold/vscode/blocks.ts.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { lintSource } from '../../src/lint';
import { BUILDING_BLOCKS, findBlock, snippetsJson } from '../../src/scaffold/vscode/blocks';
import { useParser } from './lint/helpers';

useParser();

function python(): string | undefined {
  for (const candidate of [process.env.DESCENT_TEST_PYTHON, 'python3', 'python'].filter(Boolean) as string[]) {
    try {
      execFileSync(candidate, ['--version'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

test('the building blocks are the seven of the issue, with unique ids and prefixes', () => {
  assert.deepEqual(BUILDING_BLOCKS.map((b) => b.id), ['cnn', 'lstm', 'self-attention', 'vae', 'training-loop', 'evaluation-loop', 'early-stopping']);
  assert.equal(new Set(BUILDING_BLOCKS.map((b) => b.prefix)).size, BUILDING_BLOCKS.length);
  assert.equal(findBlock('descent-vae')?.id, 'vae');
  assert.equal(findBlock('Early stopping')?.id, 'early-stopping');
  assert.equal(findBlock('nope'), undefined);
});

for (const block of BUILDING_BLOCKS) {
  test(`building block ${block.id} lints clean`, () => {
    const findings = lintSource(block.code, { onRuleError: (rule, e) => assert.fail(`${rule} threw: ${String(e)}`) });
    assert.deepEqual(findings.map((f) => `${f.rule}:${f.range.start.line + 1} ${f.message}`), []);
    assert.ok(block.code.endsWith('\n') && !block.code.includes('\t'), 'ends with a newline, spaces only');
  });
}

test('every building block compiles (python -m py_compile)', { skip: python() === undefined ? 'no python' : false }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'descent-blocks-'));
  try {
    for (const block of BUILDING_BLOCKS) {
      const file = join(dir, `${block.id.replace(/-/g, '_')}.py`);
      writeFileSync(file, block.code);
      execFileSync(python()!, ['-m', 'py_compile', file], { stdio: 'pipe' });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('media/snippets/python.json matches the building blocks', () => {
  const file = JSON.parse(readFileSync(join(__dirname, '..', '..', 'media', 'snippets', 'python.json'), 'utf8')) as unknown;
  assert.deepEqual(file, snippetsJson());
  // Escaped for the snippet syntax, the body reads back as the block's code.
  for (const [name, s] of Object.entries(snippetsJson())) {
    const block = BUILDING_BLOCKS.find((b) => `Descent: ${b.label}` === name)!;
    assert.equal(s.body.map((l) => l.replace(/\\([\\$}])/g, '$1')).join('\n') + '\n', block.code);
  }
});
