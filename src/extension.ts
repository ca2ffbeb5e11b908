// Activation: registers what VS Code must know at start-up — thin proxies for every command, webview serializer and
// task provider of the environment, training and runs features, and the two tree views — and nothing else. The
// features themselves are a bundle of their own (src/features.ts -> dist/features.js), required and constructed on
// first use, or a few seconds after start-up so a run still going on after a reload shows in the status bar.
// Each other feature registers itself and loads its own code on first use too.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { disposeLog } from './common/log';
import type { EnvironmentApi, Features } from './features';
import type { EnvNode } from './environment/tree';
import { registerLinting } from './lint/vscode';
import type { RunsApi, RunsNode } from './runs/runsView';
import { registerLandscape } from './landscape/vscode';
import { registerOnnxView, type OnnxApi } from './onnx/vscode';
import { registerScaffold } from './scaffold/vscode';
import { registerConfusion, type ConfusionApi } from './confusion/vscode';
import { registerEvaluate } from './evaluate/vscode';
import { FEATURE_COMMANDS, FEATURE_TASK_TYPES, FEATURE_WEBVIEW_TYPES } from './shell/featureIds';
import { LazyTreeProvider } from './shell/lazyTree';
import { createRegistry } from './shell/registry';

/** What activate() returns: used by Descent's integration tests and available to other extensions. */
export interface DescentApi {
  environment: EnvironmentApi;
  lint: {
    /** Resolves once the parser is loaded and open documents are linted. */
    ready(): Promise<boolean>;
  };
  /** Runs found in the workspace (store, view rows, open curves panels). */
  runs: RunsApi;
  /** Open ONNX model views (what their webviews rendered). */
  onnx: OnnxApi;
  /** Open confusion matrix panels (what their webviews rendered). */
  confusion: ConfusionApi;
}

/** How long after activation the features are constructed when nothing asked for them sooner. */
const IDLE_START_MS = 3000;

export function activate(context: vscode.ExtensionContext): DescentApi {
  const registry = createRegistry();
  let features: Features | undefined;
  let disposed = false;
  const load = (): Features => {
    if (features) return features;
    if (disposed) throw new Error('Descent is shutting down');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const bundle = require(path.join(__dirname, 'features.js')) as typeof import('./features');
    features = bundle.createFeatures(context, registry, { runs: runsView, environment: environmentView });
    runsTree.attach(features.runsTree);
    environmentTree.attach(features.environmentTree);
    return features;
  };
  const runsTree = new LazyTreeProvider<RunsNode>(() => load());
  const environmentTree = new LazyTreeProvider<EnvNode>(() => load());
  const runsView = vscode.window.createTreeView('descent.runs', { treeDataProvider: runsTree, canSelectMany: true, showCollapseAll: false });
  const environmentView = vscode.window.createTreeView('descent.environment', { treeDataProvider: environmentTree, showCollapseAll: false });

  const handler = <T>(map: Map<string, T>, key: string): T => {
    load();
    const h = map.get(key);
    if (!h) throw new Error(`Descent: ${key} is not available`);
    return h;
  };
  for (const id of FEATURE_COMMANDS) {
    context.subscriptions.push(vscode.commands.registerCommand(id, (...args: unknown[]) => handler(registry.commands, id)(...args)));
  }
  for (const viewType of FEATURE_WEBVIEW_TYPES) {
    context.subscriptions.push(
      vscode.window.registerWebviewPanelSerializer(viewType, {
        deserializeWebviewPanel: (panel, state: unknown) => handler(registry.serializers, viewType).deserializeWebviewPanel(panel, state),
      }),
    );
  }
  for (const type of FEATURE_TASK_TYPES) {
    context.subscriptions.push(
      vscode.tasks.registerTaskProvider(type, {
        provideTasks: (token) => handler(registry.taskProviders, type).provideTasks(token),
        resolveTask: (task, token) => handler(registry.taskProviders, type).resolveTask(task, token),
      }),
    );
  }
  const idleStart = setTimeout(() => {
    if (!disposed) load();
  }, IDLE_START_MS);

  const lint = registerLinting(context);
  const onnxView = registerOnnxView(context);
  const confusion = registerConfusion(context);
  context.subscriptions.push(
    onnxView.disposable,
    runsTree,
    environmentTree,
    runsView,
    environmentView,
    registerScaffold(context),
    confusion,
    registerEvaluate(context),
    registerLandscape(context, () => load()),
    lint,
    {
      dispose: () => {
        disposed = true;
        clearTimeout(idleStart);
        features?.dispose();
      },
    },
    { dispose: disposeLog },
  );
  return {
    get environment() {
      return load().environment;
    },
    lint: { ready: () => lint.ready.then((l) => l !== undefined) },
    get runs() {
      return load().runs;
    },
    onnx: onnxView.api,
    confusion: confusion.api,
  };
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
