// The linter inside VS Code: initialises the parser (wasm, once), then lints open Python files and notebooks,
// offers quick fixes and explanation pages. Runs in untrusted workspaces too: it only reads text.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { initParser } from '..';
import { log } from '../../common/log';
import { LintCodeActions } from './codeActions';
import { DocumentLinter } from './documentLinter';
import { LintOptionsCache } from './lintOptions';
import { registerRuleExplanations } from './ruleExplanation';

const SELECTOR: vscode.DocumentSelector = [
  { language: 'python', scheme: 'file' },
  { language: 'python', scheme: 'untitled' },
  { language: 'python', scheme: 'vscode-notebook-cell' },
];

export interface LintFeature extends vscode.Disposable {
  /** Resolves once the parser is loaded and open documents are linted. */
  ready: Promise<DocumentLinter | undefined>;
}

export function registerLinting(context: vscode.ExtensionContext): LintFeature {
  const disposables: vscode.Disposable[] = [registerRuleExplanations(context.extensionUri)];
  // Started after activate() returns: loading the parser (JS + two wasm files) is work activation should not wait for.
  const ready = new Promise((resolve) => setImmediate(resolve))
    .then(() => initParser({ wasmDir: path.join(context.extensionPath, 'dist') }))
    .then(
    () => {
      const options = new LintOptionsCache();
      const linter = new DocumentLinter(options);
      disposables.push(
        options,
        linter,
        vscode.languages.registerCodeActionsProvider(SELECTOR, new LintCodeActions(), { providedCodeActionKinds: LintCodeActions.kinds }),
      );
      return linter;
    },
    (e: unknown) => {
      log().error(`The linter could not start: ${(e as Error).message}`);
      void vscode.window.showErrorMessage(`Descent: the linter could not start (${(e as Error).message}). Reinstall Descent for this platform.`);
      return undefined;
    },
  );
  return { ready, dispose: () => disposables.forEach((d) => d.dispose()) };
}
