// Lint options for a file: `descent.lint.rules` settings, then `[tool.descent.lint]` of the nearest pyproject.toml
// (cached per folder, dropped when a pyproject.toml changes). Settings are the user's last word, so they win.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { loadPyprojectOptions, mergeOptions, type LintOptions } from '../config';
import type { Severity } from '../types';

const SEVERITIES = new Set(['error', 'warning', 'info', 'off']);

/** Reads `descent.lint.rules` ({"TL001": "off" | "error" | "warning" | "info"}), ignoring bad entries. */
export function settingsOptions(scope: vscode.Uri | undefined): LintOptions {
  const raw = vscode.workspace.getConfiguration('descent.lint', scope).get<Record<string, unknown>>('rules', {});
  const severity: Record<string, Severity | 'off'> = {};
  for (const [id, value] of Object.entries(raw ?? {})) {
    if (typeof value === 'string' && SEVERITIES.has(value)) severity[id.toUpperCase()] = value as Severity | 'off';
  }
  return { severity };
}

export class LintOptionsCache implements vscode.Disposable {
  private readonly pyproject = new Map<string, LintOptions>();
  private readonly watcher = vscode.workspace.createFileSystemWatcher('**/pyproject.toml');
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly subscriptions: vscode.Disposable[];

  constructor() {
    const reset = () => {
      this.pyproject.clear();
      this.changed.fire();
    };
    this.subscriptions = [
      this.watcher,
      this.changed,
      this.watcher.onDidChange(reset),
      this.watcher.onDidCreate(reset),
      this.watcher.onDidDelete(reset),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('descent.lint')) this.changed.fire();
      }),
    ];
  }

  forUri(uri: vscode.Uri): LintOptions {
    if (uri.scheme !== 'file') return mergeOptions(settingsOptions(uri));
    const dir = path.dirname(uri.fsPath);
    let fromToml = this.pyproject.get(dir);
    if (!fromToml) {
      fromToml = loadPyprojectOptions(dir);
      this.pyproject.set(dir, fromToml);
    }
    return mergeOptions(fromToml, settingsOptions(uri));
  }

  dispose(): void {
    for (const d of this.subscriptions) d.dispose();
  }
}
