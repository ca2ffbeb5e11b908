// The runs feature at the edge with VS Code: the store of every run in the workspace (src/runs/store/), the Runs
// view, the curves panels, file watching and the commands. Returns what DescentApi exposes of it.
import * as vscode from 'vscode';
import type { RunStore, RunSummary } from './store/runStore';
import { createWatchedStore } from './store/watch';
import { registerRunCommands } from './view/commands';
import { CurvesPanels } from './view/curvesPanel';
import { RunsTreeProvider, type RunsNode } from './view/runsTree';

export const RUNS_VIEW_ID = 'descent.runs';

export interface RunsApi {
  store: RunStore;
  /** Every run, newest first, as plain data (after pending reads). */
  list(): Promise<RunSummary[]>;
  /** Rescans the workspace and reads what is new. */
  refresh(): Promise<RunSummary[]>;
  /** The series of a run: metric, split, points added, committed points. */
  series(key: string): { metric: string; split: string | undefined; count: number; last: number | undefined }[];
  tree(): ReturnType<RunsTreeProvider['rows']>;
  panels(): CurvesPanels['open'];
  showCurves(keys: string[]): void;
}

export function registerRunsView(context: vscode.ExtensionContext): vscode.Disposable & { api: RunsApi } {
  const store = createWatchedStore();
  const tree = new RunsTreeProvider(store.store);
  const view = vscode.window.createTreeView(RUNS_VIEW_ID, { treeDataProvider: tree, canSelectMany: true, showCollapseAll: false });
  const curves = new CurvesPanels(context.extensionUri, store.store);
  const changes = store.store.onDidChange(() => tree.refresh());
  const commands = registerRunCommands(store.store, tree, view, curves);
  const s = store.store;
  const api: RunsApi = {
    store: s,
    list: async () => {
      await s.flush();
      return s.list().map((r) => r.summary());
    },
    refresh: async () => {
      await s.refreshAll();
      return s.list().map((r) => r.summary());
    },
    series: (key) =>
      (s.get(key)?.series.entries() ?? []).map((e) => ({ metric: e.metric, split: e.split, count: e.series.stats.count, last: e.series.stats.last?.value })),
    tree: () => tree.rows(),
    panels: () => curves.open,
    showCurves: (keys) => curves.show(keys),
  };
  const disposable = vscode.Disposable.from(store, tree, view, curves, changes, commands);
  return Object.assign(disposable, { api });
}

export type { RunsNode };
