// Wires Descent's features together. Keep this file to wiring: each feature registers itself.
import * as vscode from 'vscode';
import { disposeLog } from './common/log';
import { registerEnvironmentCommands } from './environment/commands';
import { EnvironmentService } from './environment/environmentService';
import { registerEnvironmentView } from './environment/environmentView';
import { createEnvironmentReport } from './environment/reportPanel';
import { buildEnvironmentTree } from './environment/tree';
import type { EnvironmentSnapshot } from './protocol/environment';
import { registerLinting } from './lint/vscode';
import { registerRunsView, type RunsApi } from './runs/runsView';
import { registerScaffold } from './scaffold/vscode';
import { registerTraining } from './train';

/** What activate() returns: used by Descent's integration tests and available to other extensions. */
export interface DescentApi {
  environment: {
    snapshot(): EnvironmentSnapshot;
    refresh(): Promise<EnvironmentSnapshot>;
    /** The Environment view's rows as plain data. */
    tree(): ReturnType<typeof buildEnvironmentTree>;
  };
  lint: {
    /** Resolves once the parser is loaded and open documents are linted. */
    ready(): Promise<boolean>;
  };
  /** Runs found in the workspace (store, view rows, open curves panels). */
  runs: RunsApi;
}

export function activate(context: vscode.ExtensionContext): DescentApi {
  const environment = new EnvironmentService(context.asAbsolutePath('python/descent/probe.py'));
  const report = createEnvironmentReport(context.extensionUri, environment);
  const runs = registerRunsView(context);
  context.subscriptions.push(
    environment,
    report,
    registerEnvironmentView(environment),
    registerEnvironmentCommands(environment, () => report.show()),
    registerTraining(context, environment),
    registerScaffold(context),
    runs,
  );
  const lint = registerLinting(context);
  context.subscriptions.push(lint, { dispose: disposeLog });
  return {
    environment: {
      snapshot: () => environment.snapshot,
      refresh: () => environment.refresh(),
      tree: () => buildEnvironmentTree(environment.snapshot),
    },
    lint: { ready: () => lint.ready.then((l) => l !== undefined) },
    runs: runs.api,
  };
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
