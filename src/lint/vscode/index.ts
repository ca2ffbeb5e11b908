// The linter inside VS Code: starts the lint worker (a thread that loads the parser and lints, so typing never waits
// for it; in-process fallback if it cannot start), then lints open Python files and notebooks, offers quick fixes
// and explanation pages. Runs in untrusted workspaces too: it only reads text.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { log } from '../../common/log';
import { LintCodeActions } from './codeActions';
import { DocumentLinter } from './documentLinter';
import { LintClient } from '../worker/client';
import { lintEngine } from './engine';
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
  // Started after activate() returns: starting the worker (which loads the parser) is work activation should not wait for.
  const dist = path.join(context.extensionPath, 'dist');
  let linter: DocumentLinter | undefined;
  let client: LintClient | undefined;
  let disposed = false;
  const ready = new Promise((resolve) => setImmediate(resolve))
    .then(() => {
      if (disposed) throw new Error('disposed before it started');
      client = new LintClient({
        workerPath: path.join(dist, 'lintEngine.js'),
        wasmDir: dist,
        loadEngine: lintEngine,
        document: (key) => linter?.documentFor(key),
        log: { warn: (m) => log().warn(m), error: (m) => log().error(m) },
      });
      disposables.push(client);
      return client.ready;
    })
    .then(
    () => {
      if (disposed) return undefined;
      const options = new LintOptionsCache();
      linter = new DocumentLinter(options, client!);
      // Disposed in this order: the linter stops sending before the worker is terminated.
      disposables.unshift(
        options,
        linter,
        vscode.languages.registerCodeActionsProvider(SELECTOR, new LintCodeActions(), { providedCodeActionKinds: LintCodeActions.kinds }),
      );
      log().info(`Linting runs ${client!.mode === 'worker' ? 'in a worker thread' : 'in the extension host'}.`);
      return linter;
    },
    (e: unknown) => {
      if (disposed) return undefined;
      log().error(`The linter could not start: ${(e as Error).message}`);
      void vscode.window.showErrorMessage(`Descent: the linter could not start (${(e as Error).message}). Reinstall Descent for this platform.`);
      return undefined;
    },
  );
  return {
    ready,
    dispose: () => {
      disposed = true;
      disposables.forEach((d) => d.dispose());
    },
  };
}
