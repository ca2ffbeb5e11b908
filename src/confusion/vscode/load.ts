// Loads dist/confusion.js once per extension host. Other bundles (the evaluation's) reach the same instance through
// here, so every confusion panel lives in one place whichever feature opened it.
import * as path from 'node:path';
import type * as vscode from 'vscode';

type Bundle = typeof import('./bundle');

let bundle: Bundle | undefined;

export function loadConfusionBundle(context: vscode.ExtensionContext): Bundle;
export function loadConfusionBundle(context: vscode.ExtensionContext, load: false): Bundle | undefined;
export function loadConfusionBundle(context: vscode.ExtensionContext, load = true): Bundle | undefined {
  const file = path.join(context.extensionPath, 'dist', 'confusion.js');
  // Another bundle (the evaluation's) may have loaded it first: Node's module cache holds the one instance.
  bundle ??= require.cache[file]?.exports as Bundle | undefined;
  if (!bundle && load) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    bundle = require(file) as Bundle;
  }
  return bundle;
}
