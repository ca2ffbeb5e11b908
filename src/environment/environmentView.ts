// The Environment view: maps the plain tree from tree.ts onto VS Code TreeItems, refreshes on changes, and tells
// the service when it is visible so GPUs are polled only then.
import * as vscode from 'vscode';
import type { EnvironmentService } from './environmentService';
import { buildEnvironmentTree, type EnvNode } from './tree';

export const ENVIRONMENT_VIEW_ID = 'descent.environment';

export class EnvironmentTreeProvider implements vscode.TreeDataProvider<EnvNode> {
  private readonly emitter = new vscode.EventEmitter<EnvNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;

  constructor(private readonly service: EnvironmentService) {}

  refresh(): void {
    this.emitter.fire(undefined);
  }

  getChildren(element?: EnvNode): EnvNode[] {
    return element ? (element.children ?? []) : buildEnvironmentTree(this.service.snapshot);
  }

  getTreeItem(n: EnvNode): vscode.TreeItem {
    const expand = n.id === 'problems' || n.id === 'gpus';
    const item = new vscode.TreeItem(
      n.label,
      n.children?.length ? (expand ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed) : vscode.TreeItemCollapsibleState.None,
    );
    item.id = n.id;
    item.description = n.description;
    item.tooltip = n.tooltip;
    item.contextValue = n.contextValue;
    if (n.icon) item.iconPath = new vscode.ThemeIcon(n.icon.id, n.icon.color ? new vscode.ThemeColor(n.icon.color) : undefined);
    if (n.command) item.command = { command: n.command.command, title: n.command.title, arguments: n.command.args };
    return item;
  }

  dispose(): void {
    this.emitter.dispose();
  }
}

/** `view` is created at activation (src/extension.ts) with a provider that hands over to the one made here. */
export function registerEnvironmentView(service: EnvironmentService, view: vscode.TreeView<EnvNode>): vscode.Disposable & { provider: EnvironmentTreeProvider } {
  const provider = new EnvironmentTreeProvider(service);
  const onVisible = (visible: boolean) => {
    service.setVisible(ENVIRONMENT_VIEW_ID, visible);
    if (visible) void service.ensureLoaded();
  };
  if (view.visible) onVisible(true);
  const disposable = vscode.Disposable.from(
    provider,
    view.onDidChangeVisibility((e) => onVisible(e.visible)),
    service.onDidChange(() => provider.refresh()),
    service.onDidReadGpus(() => provider.refresh()),
    vscode.workspace.onDidGrantWorkspaceTrust(() => onVisible(view.visible)),
  );
  return Object.assign(disposable, { provider });
}
