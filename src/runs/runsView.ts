// The Runs view. Empty until the training feature records runs; its welcome content (package.json
// viewsWelcome) offers the flows that exist so far.
import * as vscode from 'vscode';

export const RUNS_VIEW_ID = 'descent.runs';

class RunsTreeProvider implements vscode.TreeDataProvider<never> {
  getChildren(): never[] {
    return [];
  }
  getTreeItem(element: never): vscode.TreeItem {
    return element;
  }
}

export function registerRunsView(): vscode.Disposable {
  return vscode.window.createTreeView(RUNS_VIEW_ID, { treeDataProvider: new RunsTreeProvider() });
}
