// What other features call to show a confusion matrix (Descent: Evaluate Model opens its result with this). Loads
// the panel bundle on first use.
import type * as vscode from 'vscode';
import type { ConfusionSource } from '../../protocol/confusion';
import { loadConfusionBundle } from './load';

export function showConfusion(context: vscode.ExtensionContext, source: ConfusionSource): void {
  loadConfusionBundle(context).showSource(context, source);
}
