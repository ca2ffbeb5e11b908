// The run store wired to VS Code: roots are the workspace folders (local files only), a FileSystemWatcher per folder
// feeds invalidate(), and the first scan starts at once (off the activation path: nothing is awaited).
import * as vscode from 'vscode';
import { RunStore } from './runStore';

export function createWatchedStore(): vscode.Disposable & { store: RunStore } {
  const roots = () => (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
  const store = new RunStore(roots());
  const watchers: vscode.Disposable[] = [];
  const watch = () => {
    for (const w of watchers.splice(0)) w.dispose();
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      if (folder.uri.scheme !== 'file') continue;
      const w = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(folder, '**'));
      watchers.push(
        w,
        w.onDidChange((u) => store.invalidate(u.fsPath, 'change')),
        w.onDidCreate((u) => store.invalidate(u.fsPath, 'create')),
        w.onDidDelete((u) => store.invalidate(u.fsPath, 'delete')),
      );
    }
  };
  watch();
  const folders = vscode.workspace.onDidChangeWorkspaceFolders(() => {
    watch();
    store.setRoots(roots());
  });
  void store.rescan();
  return {
    store,
    dispose: () => {
      folders.dispose();
      for (const w of watchers.splice(0)) w.dispose();
      store.dispose();
    },
  };
}
