// Where the features bundle (dist/features.js) puts its command handlers, webview serializers and task providers.
// Activation registers, for every id in ./featureIds.ts, a proxy with VS Code that loads the bundle on first use and
// then calls the handler found here — so activation neither loads nor constructs the features.
import * as vscode from 'vscode';

export interface FeatureRegistry {
  commands: Map<string, (...args: unknown[]) => unknown>;
  serializers: Map<string, vscode.WebviewPanelSerializer>;
  taskProviders: Map<string, vscode.TaskProvider>;
}

export function createRegistry(): FeatureRegistry {
  return { commands: new Map(), serializers: new Map(), taskProviders: new Map() };
}

let target: FeatureRegistry | undefined;

/** Called by the features bundle before it constructs anything. Without it (a test that constructs a feature
 *  directly) the functions below register with VS Code as usual. */
export function useRegistry(registry: FeatureRegistry | undefined): void {
  target = registry;
}

function entry<T>(map: Map<string, T>, key: string, value: T): vscode.Disposable {
  map.set(key, value);
  return new vscode.Disposable(() => {
    if (map.get(key) === value) map.delete(key);
  });
}

export function registerCommand(id: string, handler: (...args: never[]) => unknown): vscode.Disposable {
  const fn = handler as (...args: unknown[]) => unknown;
  return target ? entry(target.commands, id, fn) : vscode.commands.registerCommand(id, fn);
}

export function registerWebviewPanelSerializer(viewType: string, serializer: vscode.WebviewPanelSerializer): vscode.Disposable {
  return target ? entry(target.serializers, viewType, serializer) : vscode.window.registerWebviewPanelSerializer(viewType, serializer);
}

export function registerTaskProvider(type: string, provider: vscode.TaskProvider): vscode.Disposable {
  return target ? entry(target.taskProviders, type, provider) : vscode.tasks.registerTaskProvider(type, provider);
}
