// The Runs view: runs grouped by status (running first), newest first inside a group, with their last metric values
// and duration. Multi-select for Compare Selected Runs.
import * as vscode from 'vscode';
import type { RunStore, RunSummary } from '../store/runStore';
import { RUN_STATES, type RunState } from '../store/status';
import { STATE_LABELS, describeRun, runFacts } from './describe';

/** A run node carries `dir` so commands of other features that take a run folder (descent.resumeRun) accept it. */
export type RunsNode = { type: 'group'; state: RunState; count: number } | { type: 'run'; key: string; dir: string; summary: RunSummary };

const ICONS: Record<RunState, vscode.ThemeIcon> = {
  running: new vscode.ThemeIcon('loading~spin', new vscode.ThemeColor('charts.blue')),
  finished: new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed')),
  failed: new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed')),
  stopped: new vscode.ThemeIcon('debug-stop', new vscode.ThemeColor('charts.yellow')),
  interrupted: new vscode.ThemeIcon('warning', new vscode.ThemeColor('charts.orange')),
};

export class RunsTreeProvider implements vscode.TreeDataProvider<RunsNode> {
  private readonly changed = new vscode.EventEmitter<RunsNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly store: RunStore) {}

  /** Redraws at most every 500 ms: a run writing 1000 records a second does not redraw the tree 1000 times. */
  refresh(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.changed.fire(undefined);
    }, 500);
  }

  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.changed.dispose();
  }

  /** The tree as plain rows (tests, and the DescentApi). */
  rows(): { group: RunState; runs: { key: string; label: string; description: string }[] }[] {
    return this.groups().map((g) => ({
      group: g.state,
      runs: this.runsIn(g.state).map((r) => ({ key: r.key, label: r.summary.name, description: describeRun(r.summary) })),
    }));
  }

  getChildren(element?: RunsNode): RunsNode[] {
    if (element === undefined) return this.groups();
    if (element.type === 'group') return this.runsIn(element.state);
    return [];
  }

  getParent(element: RunsNode): RunsNode | undefined {
    if (element.type === 'group') return undefined;
    return this.groups().find((g) => g.state === element.summary.status);
  }

  getTreeItem(node: RunsNode): vscode.TreeItem {
    if (node.type === 'group') {
      const item = new vscode.TreeItem(STATE_LABELS[node.state], vscode.TreeItemCollapsibleState.Expanded);
      item.id = `group:${node.state}`;
      item.description = String(node.count);
      item.contextValue = 'descentRunGroup';
      return item;
    }
    const s = node.summary;
    const item = new vscode.TreeItem(s.name, vscode.TreeItemCollapsibleState.None);
    item.id = `run:${node.key}`;
    item.description = describeRun(s);
    item.iconPath = ICONS[s.status];
    const checkpoint = s.kind === 'descent' && (this.store.get(node.key)?.reader.checkpoints.length ?? 0) > 0 ? ' has-checkpoint' : '';
    const confusion = (this.store.get(node.key)?.reader.confusions ?? 0) > 0 ? ' has-confusion' : '';
    item.contextValue = `descentRun status-${s.status} kind-${s.kind}${checkpoint}${confusion}`;
    item.tooltip = runTooltip(s);
    item.command = { command: 'descent.showTrainingCurves', title: 'Show Training Curves', arguments: [node] };
    return item;
  }

  private groups(): Extract<RunsNode, { type: 'group' }>[] {
    const counts = new Map<RunState, number>();
    for (const r of this.store.list()) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
    return RUN_STATES.filter((s) => counts.has(s)).map((state) => ({ type: 'group', state, count: counts.get(state)! }));
  }

  private runsIn(state: RunState): Extract<RunsNode, { type: 'run' }>[] {
    return this.store
      .list()
      .filter((r) => r.status === state)
      .map((r) => ({ type: 'run', key: r.key, dir: r.found.dir, summary: r.summary() }));
  }
}

/** A run's name and facts as an untrusted Markdown tooltip (run data is set as text, never as Markdown). */
export function runTooltip(s: RunSummary, footer?: string): vscode.MarkdownString {
  const tip = new vscode.MarkdownString(undefined, false);
  tip.isTrusted = false;
  tip.supportHtml = false;
  tip.appendMarkdown('**');
  tip.appendText(s.name);
  tip.appendMarkdown('**\n\n');
  for (const [label, value] of runFacts(s)) {
    tip.appendMarkdown(`${label}: `);
    tip.appendText(value);
    tip.appendMarkdown('  \n');
  }
  if (footer) tip.appendMarkdown(`\n${footer}`);
  return tip;
}
