// Entry of dist/confusion.js: the confusion matrix panels (host side), loaded on the first Show Confusion Matrix, on
// the first evaluation result, or when VS Code restores a panel after a reload.
import type * as vscode from 'vscode';
import type { ConfusionSource } from '../../protocol/confusion';
import { ConfusionFeature, type ConfusionPanelInfo } from './feature';

export type { ConfusionPanelInfo };

/** What DescentApi exposes of the feature (integration tests). */
export interface ConfusionApi {
  /** The open confusion panels and what each last rendered. */
  panels(): ConfusionPanelInfo[];
}

let instance: ConfusionFeature | undefined;

export function feature(context: vscode.ExtensionContext): ConfusionFeature {
  instance ??= new ConfusionFeature(context);
  return instance;
}

export function disposeFeature(): void {
  instance?.dispose();
  instance = undefined;
}

export function showSource(context: vscode.ExtensionContext, source: ConfusionSource): void {
  feature(context).showSource(source);
}
