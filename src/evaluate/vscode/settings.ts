// What the user chose for a model, remembered in workspaceState (keyed by the model's path) so the next evaluation
// of the same model is one click.
import type * as vscode from 'vscode';
import type { DataSpec, Preprocessing } from '../types';

export interface RememberedEvaluation {
  data: DataSpec;
  preprocessing: Preprocessing;
  batchSize: number;
  threads: number;
}

const key = (modelPath: string) => `descent.evaluate:${modelPath}`;

export function recall(state: vscode.Memento, modelPath: string): RememberedEvaluation | undefined {
  const v = state.get<RememberedEvaluation>(key(modelPath));
  return v && typeof v === 'object' && v.data && v.preprocessing ? v : undefined;
}

export function remember(state: vscode.Memento, modelPath: string, v: RememberedEvaluation): Thenable<void> {
  return state.update(key(modelPath), v);
}

/** "scale /255, mean 0.5, resize 28x28" */
export function describePreprocessing(p: Preprocessing): string {
  const parts: string[] = [];
  if (p.scale) parts.push('scale /255');
  if (p.mean || p.std) parts.push(`mean ${(p.mean ?? [0]).join(',')} std ${(p.std ?? [1]).join(',')}`);
  if (p.resize) parts.push(`resize ${p.resize[0]}x${p.resize[1]}`);
  if (p.color && p.color !== 'auto') parts.push(p.color);
  return parts.join(', ') || 'no preprocessing';
}
