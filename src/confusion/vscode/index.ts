// Registers the confusion matrix feature at activation: the Show Confusion Matrix command and the panel's serializer.
// The panel host is its own bundle (dist/confusion.js, see bundle.ts), required on first use.
import * as vscode from 'vscode';
import { CONFUSION_VIEW_TYPE } from '../../protocol/confusion';
import type { ConfusionApi } from './bundle';
import { loadConfusionBundle } from './load';

export type { ConfusionApi };

export function registerConfusion(context: vscode.ExtensionContext): vscode.Disposable & { api: ConfusionApi } {
  const feature = () => loadConfusionBundle(context).feature(context);
  const disposable = vscode.Disposable.from(
    vscode.commands.registerCommand('descent.showConfusionMatrix', (arg?: unknown) => feature().showFromRun(arg)),
    vscode.window.registerWebviewPanelSerializer(CONFUSION_VIEW_TYPE, {
      deserializeWebviewPanel: (panel, state: unknown) => feature().revive(panel, state),
    }),
    { dispose: () => loadConfusionBundle(context, false)?.disposeFeature() },
  );
  const api: ConfusionApi = {
    // Nothing is open before the bundle is loaded; asking must not load it.
    panels: () => loadConfusionBundle(context, false)?.feature(context).panels() ?? [],
  };
  return Object.assign(disposable, { api });
}
