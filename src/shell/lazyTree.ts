// A tree data provider that stands in for the real one until the feature behind it is loaded: the first time the
// view asks for its rows (the view became visible) it loads the feature, which attaches the real provider.
import * as vscode from 'vscode';

export class LazyTreeProvider<T> implements vscode.TreeDataProvider<T>, vscode.Disposable {
  private target: vscode.TreeDataProvider<T> | undefined;
  private forward: vscode.Disposable | undefined;
  private readonly changed = new vscode.EventEmitter<T | T[] | undefined | null | void>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly load: () => void) {}

  attach(target: vscode.TreeDataProvider<T>): void {
    this.forward?.dispose();
    this.target = target;
    this.forward = target.onDidChangeTreeData?.((e) => this.changed.fire(e));
    this.changed.fire(undefined);
  }

  getChildren(element?: T): vscode.ProviderResult<T[]> {
    if (!this.target) this.load();
    return this.target?.getChildren(element) ?? [];
  }

  getTreeItem(element: T): vscode.TreeItem | Thenable<vscode.TreeItem> {
    if (!this.target) throw new Error('the tree was asked for an item before its feature was loaded');
    return this.target.getTreeItem(element);
  }

  getParent(element: T): vscode.ProviderResult<T> {
    return this.target?.getParent?.(element);
  }

  dispose(): void {
    this.forward?.dispose();
    this.changed.dispose();
  }
}
