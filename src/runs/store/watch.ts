// The run store wired to VS Code: roots are the workspace folders (local files only), a FileSystemWatcher per folder
// feeds invalidate(), and the first scan starts at once (off the activation path: nothing is awaited).
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { RunStore } from './runStore';

const NEW_RUN_POLL_MS = 5000;

/**
 * Watchers can miss or delay the creation of a run folder (network file systems, Remote-SSH, a loaded machine).
 * Every few seconds the runs folders (`runs/` and descent.train.runsDirectory) are listed, and a run folder the
 * store does not know yet is handed to it. Cheap: one readdir per folder, no walk of the workspace.
 */
async function pollNewRuns(store: RunStore, roots: string[]): Promise<void> {
  const runsDir = vscode.workspace.getConfiguration('descent.train').get<string>('runsDirectory', 'runs') || 'runs';
  for (const root of roots) {
    for (const dir of new Set([path.resolve(root, 'runs'), path.resolve(root, runsDir)])) {
      let entries;
      try {
        entries = await fsp.readdir(dir, { withFileTypes: true });
      } catch {
        continue; // no runs folder here
      }
      for (const e of entries) {
        if (!e.isDirectory()) continue;
        const file = ['run.json', 'metrics.jsonl'].map((f) => path.join(dir, e.name, f)).find((f) => existsSync(f));
        if (file && !store.runOf(file)) store.invalidate(file, 'create');
      }
    }
  }
}

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
  const poller = setInterval(() => void pollNewRuns(store, roots()), NEW_RUN_POLL_MS);
  poller.unref?.();
  return {
    store,
    dispose: () => {
      clearInterval(poller);
      folders.dispose();
      for (const w of watchers.splice(0)) w.dispose();
      store.dispose();
    },
  };
}
