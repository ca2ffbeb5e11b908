// The activation shell (src/extension.ts) registers proxies for the ids in src/shell/featureIds.ts without loading
// the features bundle. If a feature registers a command, serializer or task type that is missing from those lists,
// VS Code would never call it: this test reads the features' sources and compares.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FEATURE_COMMANDS, FEATURE_FOLDERS, FEATURE_TASK_TYPES, FEATURE_WEBVIEW_TYPES } from '../../src/shell/featureIds';

const SRC = join(import.meta.dirname, '..', '..', 'src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : name.endsWith('.ts') ? [readFileSync(p, 'utf8')] : [];
  });
}

const featureSources = FEATURE_FOLDERS.flatMap((f) => sources(join(SRC, f))).join('\n');
const allOf = (re: RegExp, text: string) => [...text.matchAll(re)].map((m) => m[1]!);

test('every command the features register is proxied at activation, and nothing else', () => {
  const registered = new Set([
    ...allOf(/registerCommand\(\s*'([^']+)'/g, featureSources),
    ...allOf(/\bcmd\(\s*'([^']+)'/g, featureSources),
  ]);
  assert.deepEqual([...registered].sort(), [...FEATURE_COMMANDS].sort());
});

test('the features never register with VS Code directly (they would bypass the activation proxies)', () => {
  assert.doesNotMatch(featureSources, /vscode\.commands\.registerCommand|vscode\.window\.registerWebviewPanelSerializer|vscode\.tasks\.registerTaskProvider/);
});

test('every webview type with a serializer and every task type is proxied', () => {
  const viewTypes = allOf(/VIEW_TYPE\s*=\s*'([^']+)'/g, featureSources);
  assert.deepEqual([...new Set(viewTypes)].sort(), [...FEATURE_WEBVIEW_TYPES].sort());
  const taskTypes = allOf(/TASK_TYPE\s*=\s*'([^']+)'/g, featureSources);
  assert.deepEqual(taskTypes, [...FEATURE_TASK_TYPES]);
});

test('every proxied command is declared in package.json or is internal (descent.runs.*)', () => {
  const pkg = JSON.parse(readFileSync(join(SRC, '..', 'package.json'), 'utf8')) as { contributes: { commands: { command: string }[] } };
  const declared = new Set(pkg.contributes.commands.map((c) => c.command));
  const internal = ['descent.runs.watchRun', 'descent.showProblem'];
  for (const id of FEATURE_COMMANDS) assert.ok(declared.has(id) || internal.includes(id), `${id} is neither contributed nor internal`);
});
