// Entry of dist/features.js: the environment, training and runs features, constructed on first use (a view shown, a
// command run, a panel revived, the API used, or a few seconds after start-up) rather than during activation.
// Their commands, serializers and task provider go into the registry that src/extension.ts proxies.
import * as vscode from 'vscode';
import { EnvironmentService } from './environment/environmentService';
import { registerEnvironmentCommands } from './environment/commands';
import { registerEnvironmentView, type EnvironmentTreeProvider } from './environment/environmentView';
import { createEnvironmentReport } from './environment/reportPanel';
import { buildEnvironmentTree, type EnvNode } from './environment/tree';
import type { EnvironmentSnapshot } from './protocol/environment';
import { registerRunsView, type RunsApi, type RunsNode } from './runs/runsView';
import type { RunsTreeProvider } from './runs/view/runsTree';
import { useRegistry, type FeatureRegistry } from './shell/registry';
import { registerTraining } from './train';

export interface FeatureViews {
  runs: vscode.TreeView<RunsNode>;
  environment: vscode.TreeView<EnvNode>;
}

export interface EnvironmentApi {
  snapshot(): EnvironmentSnapshot;
  refresh(): Promise<EnvironmentSnapshot>;
  /** The Environment view's rows as plain data. */
  tree(): ReturnType<typeof buildEnvironmentTree>;
}

export interface Features extends vscode.Disposable {
  runsTree: RunsTreeProvider;
  environmentTree: EnvironmentTreeProvider;
  environment: EnvironmentApi;
  runs: RunsApi;
}

export function createFeatures(context: vscode.ExtensionContext, registry: FeatureRegistry, views: FeatureViews): Features {
  useRegistry(registry);
  try {
    const environment = new EnvironmentService(context.asAbsolutePath('python/descent/probe.py'));
    const report = createEnvironmentReport(context.extensionUri, environment);
    const environmentView = registerEnvironmentView(environment, views.environment);
    const runs = registerRunsView(context, views.runs);
    const disposable = vscode.Disposable.from(
      environment,
      report,
      environmentView,
      registerEnvironmentCommands(environment, () => report.show()),
      registerTraining(context, environment),
      runs,
    );
    return Object.assign(disposable, {
      runsTree: runs.tree,
      environmentTree: environmentView.provider,
      environment: {
        snapshot: () => environment.snapshot,
        refresh: () => environment.refresh(),
        tree: () => buildEnvironmentTree(environment.snapshot),
      },
      runs: runs.api,
    });
  } finally {
    useRegistry(undefined);
  }
}
