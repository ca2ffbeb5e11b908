// The runs feature at the edge with VS Code: the store of every run in the workspace (src/runs/store/), the Runs
// view, the curves panels, file watching and the commands. Returns what DescentApi exposes of it.
import * as vscode from 'vscode';
import type { RunStore, RunSummary } from './store/runStore';
import { createWatchedStore } from './store/watch';
import { RunAlerts, type RaisedAlert } from './view/alerts';
import { registerRunCommands } from './view/commands';
import { CurvesPanels } from './view/curvesPanel';
import { RunOutputTerminals, type OutputTerminalState } from './view/outputTerminal';
import { RunsTreeProvider, type RunsNode } from './view/runsTree';
import { RunStatusBar } from './view/statusBar';

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
  /** Alerts raised in this window (NaN / exploding loss, stalled, died), oldest first. */
  alerts(): RaisedAlert[];
  /** The active run's status-bar item: its text (undefined while hidden) and run key. */
  statusBar(): { text: string | undefined; key: string | undefined };
  /** The Show Run Output terminals of this window: run, name, following or not, text shown. */
  outputTerminals(): OutputTerminalState[];
}

/** `view` is created at activation (src/extension.ts) with a provider that hands over to `tree` once this runs. */
export function registerRunsView(context: vscode.ExtensionContext, view: vscode.TreeView<RunsNode>): vscode.Disposable & { api: RunsApi; tree: RunsTreeProvider } {
  const store = createWatchedStore();
  const tree = new RunsTreeProvider(store.store);
  const curves = new CurvesPanels(context.extensionUri, store.store);
  const changes = store.store.onDidChange(() => tree.refresh());
  const outputs = new RunOutputTerminals(store.store);
  const commands = registerRunCommands(store.store, tree, view, curves, outputs);
  const alerts = new RunAlerts(store.store, (keys) => curves.show(keys));
  const statusBar = new RunStatusBar(store.store);
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
    alerts: () => alerts.raised.map((a) => ({ ...a, actions: [...a.actions] })),
    outputTerminals: () => outputs.states(),
    statusBar: () => {
      statusBar.update();
      return { text: statusBar.text, key: statusBar.key };
    },
  };
  const disposable = vscode.Disposable.from(alerts, statusBar, store, tree, curves, changes, commands, outputs);
  return Object.assign(disposable, { api, tree });
}

export type { RaisedAlert, RunsNode };
