// Registers the loss landscape feature: Descent: Plot / Open / Resume Loss Landscape and the landscape panel's
// serializer. The code behind them is its own bundle (dist/landscape.js, see bundle.ts), loaded on first use.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { log } from '../../common/log';
import type { EnvironmentSnapshot } from '../../protocol/environment';
import { LANDSCAPE_VIEW_TYPE } from '../../protocol/landscape';
import type { RunStore } from '../../runs/store/runStore';
import type { LandscapeFeature } from './commands';

/** What the feature needs of the environment and runs features (constructed lazily by src/extension.ts). */
export interface LandscapeHostFeatures {
  environment: { snapshot(): EnvironmentSnapshot; refresh(): Promise<EnvironmentSnapshot> };
  runs: { store: RunStore };
}

export function registerLandscape(context: vscode.ExtensionContext, features: () => LandscapeHostFeatures): vscode.Disposable {
  let feature: LandscapeFeature | undefined;
  const load = (): LandscapeFeature => {
    if (!feature) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const bundle = require(path.join(__dirname, 'landscape.js')) as typeof import('./bundle');
      feature = new bundle.LandscapeFeature({ context, features, log });
    }
    return feature;
  };
  return vscode.Disposable.from(
    vscode.commands.registerCommand('descent.plotLossLandscape', (arg?: unknown) => load().plot(arg)),
    vscode.commands.registerCommand('descent.openLossLandscape', (arg?: unknown) => load().open(arg)),
    vscode.commands.registerCommand('descent.resumeLossLandscape', (arg?: unknown) => load().resume(arg)),
    // For tests and other features: the open landscape panels as plain data, and Cancel (the notification's button).
    vscode.commands.registerCommand('descent.landscape.panels', () => feature?.panels.open ?? []),
    vscode.commands.registerCommand('descent.landscape.cancel', (dir: unknown) => typeof dir === 'string' && feature?.cancel(dir)),
    vscode.window.registerWebviewPanelSerializer(LANDSCAPE_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state: unknown) => {
        await features().runs.store.flush();
        load().panels.revive(panel, state);
      },
    }),
    { dispose: () => feature?.dispose() },
  );
}
