// Commands of the Runs view and the curves panel. Arguments come from the view (a node, or the clicked node and
// the selection), from the palette (none: a quick pick), or from other features (a run key or folder Uri).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { registerCommand } from '../../shell/registry';
import { RenameError, renameRunDirectory, validateRunName } from '../store/rename';
import type { RunStore } from '../store/runStore';
import type { CurvesPanels } from './curvesPanel';
import { STATE_LABELS } from './describe';
import type { RunOutputTerminals } from './outputTerminal';
import type { RunsNode, RunsTreeProvider } from './runsTree';

/** Context key: true when some extension registered `descent.stopRun` (the launcher); shows the inline Stop. */
export const STOP_AVAILABLE_CONTEXT = 'descent.runs.stopAvailable';
export const STOP_RUN_COMMAND = 'descent.stopRun';

function keyOf(store: RunStore, arg: unknown): string | undefined {
  if (typeof arg === 'string') return store.get(arg)?.key ?? store.runOf(arg)?.key;
  if (arg instanceof vscode.Uri) return store.runOf(arg.fsPath)?.key ?? store.get(arg.fsPath)?.key;
  if (typeof arg === 'object' && arg !== null && (arg as RunsNode).type === 'run') return (arg as { key: string }).key;
  return undefined;
}

async function pickRuns(store: RunStore, many: boolean, placeHolder: string): Promise<string[]> {
  const items = store.list().map((r) => {
    const s = r.summary();
    return { label: s.name, description: STATE_LABELS[s.status], detail: path.relative(vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '', s.file ?? s.dir), key: r.key };
  });
  if (items.length === 0) {
    void vscode.window.showInformationMessage('No runs in this workspace yet. Descent lists runs from runs/*/run.json, TensorBoard event files and Lightning/Keras CSV logs.');
    return [];
  }
  if (many) {
    const picked = await vscode.window.showQuickPick(items, { canPickMany: true, placeHolder });
    return picked?.map((p) => p.key) ?? [];
  }
  const picked = await vscode.window.showQuickPick(items, { placeHolder });
  return picked ? [picked.key] : [];
}

export function registerRunCommands(store: RunStore, tree: RunsTreeProvider, view: vscode.TreeView<RunsNode>, curves: CurvesPanels, outputs: RunOutputTerminals): vscode.Disposable {
  const selectedKeys = (clicked: unknown, selection: unknown): string[] => {
    const list = Array.isArray(selection) && selection.length > 0 ? selection : clicked !== undefined ? [clicked] : [...view.selection];
    return [...new Set(list.map((a) => keyOf(store, a)).filter((k): k is string => k !== undefined))];
  };
  const updateStopContext = async () => {
    const all = await vscode.commands.getCommands(true);
    await vscode.commands.executeCommand('setContext', STOP_AVAILABLE_CONTEXT, all.includes(STOP_RUN_COMMAND));
  };
  void updateStopContext();
  const extensionsChanged = vscode.extensions.onDidChange(() => void updateStopContext());
  return vscode.Disposable.from(
    extensionsChanged,
    registerCommand('descent.showTrainingCurves', async (arg?: unknown, selection?: unknown) => {
      await store.flush();
      let keys = arg === undefined ? [] : selectedKeys(arg, selection).slice(0, 1);
      if (keys.length === 0) keys = await pickRuns(store, false, 'Show the training curves of a run');
      if (keys.length > 0) curves.show(keys);
    }),
    registerCommand('descent.compareRuns', async (arg?: unknown, selection?: unknown) => {
      await store.flush();
      let keys = selectedKeys(arg, selection);
      if (keys.length < 2) keys = await pickRuns(store, true, 'Pick the runs to compare');
      if (keys.length > 0) curves.show(keys);
    }),
    registerCommand('descent.refreshRuns', async () => {
      await store.refreshAll();
      tree.refresh();
      void updateStopContext();
    }),
    registerCommand('descent.showRunOutput', async (arg?: unknown): Promise<{ ok: boolean; message: string }> => {
      await store.flush();
      let key = keyOf(store, arg);
      if (key === undefined && arg === undefined) key = (await pickRuns(store, false, 'Show the output of which run?'))[0];
      if (key === undefined) return { ok: false, message: 'no run picked' };
      const shown = outputs.show(key);
      if (!shown.ok) void vscode.window.showInformationMessage(`Descent: ${shown.message}`);
      return shown.ok ? { ok: true, message: shown.name } : shown;
    }),
    registerCommand('descent.revealRun', async (arg?: unknown) => {
      const run = store.get(keyOf(store, arg) ?? '');
      if (run) await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(run.found.file ?? run.found.dir));
    }),
    registerCommand('descent.deleteRun', async (arg?: unknown) => {
      const run = store.get(keyOf(store, arg) ?? '');
      if (!run) return;
      const s = run.summary();
      const target = run.found.kind === 'keras' ? run.found.file! : run.found.dir;
      const rel = vscode.workspace.asRelativePath(target);
      const running = s.status === 'running' ? ' It is still running: stop it first, or its process keeps writing.' : '';
      const answer = await vscode.window.showWarningMessage(
        `Delete run "${s.name}"?`,
        { modal: true, detail: `This deletes ${rel} and everything in it (to the trash where the system has one).${running}` },
        'Delete',
      );
      if (answer !== 'Delete') return;
      try {
        await vscode.workspace.fs.delete(vscode.Uri.file(target), { recursive: true, useTrash: true });
      } catch {
        await vscode.workspace.fs.delete(vscode.Uri.file(target), { recursive: true, useTrash: false });
      }
      await store.rescan();
      tree.refresh();
    }),
    registerCommand('descent.renameRun', async (arg?: unknown, newName?: unknown): Promise<{ ok: boolean; message: string; dir?: string }> => {
      await store.flush();
      let key = keyOf(store, arg);
      if (key === undefined && arg === undefined) {
        const picked = await pickRuns(store, false, 'Rename which run?');
        key = picked[0];
      }
      const run = store.get(key ?? '');
      if (!run) return { ok: false, message: 'no such run' };
      const s = run.summary();
      const refuse = (message: string) => {
        void vscode.window.showInformationMessage(message);
        return { ok: false, message };
      };
      if (run.found.kind !== 'descent') return refuse(`Descent: only Descent runs can be renamed here; ${s.name} belongs to ${run.found.kind}.`);
      if (s.status === 'running') {
        return refuse(`Descent: ${s.name} is still running and its process writes into its folder. Stop it, or wait until it ends, then rename it.`);
      }
      const current = path.basename(run.found.dir);
      const siblings = async () => {
        try {
          return (await vscode.workspace.fs.readDirectory(vscode.Uri.file(path.dirname(run.found.dir)))).map(([n]) => n);
        } catch {
          return [];
        }
      };
      let name: string | undefined;
      if (typeof newName === 'string') {
        name = newName;
      } else {
        const taken = await siblings();
        name = await vscode.window.showInputBox({
          title: `Rename run ${s.name}`,
          prompt: 'New name of the run folder (run.json keeps its id)',
          value: current,
          valueSelection: [0, current.length],
          validateInput: (v) => (v.trim() === current ? undefined : validateRunName(v, current, taken)),
        });
      }
      if (name === undefined || name.trim() === current) return { ok: false, message: 'cancelled' };
      try {
        const dir = renameRunDirectory(run.found.dir, name);
        await store.rescan();
        tree.refresh();
        return { ok: true, message: `renamed to ${path.basename(dir)}`, dir };
      } catch (e) {
        const message = `Descent: cannot rename ${s.name}: ${e instanceof RenameError ? e.message : (e as Error).message}`;
        void vscode.window.showErrorMessage(message);
        return { ok: false, message };
      }
    }),
    registerCommand('descent.runs.stop', async (arg?: unknown) => {
      const run = store.get(keyOf(store, arg) ?? '');
      if (!run) return;
      const all = await vscode.commands.getCommands(true);
      if (!all.includes(STOP_RUN_COMMAND)) {
        void vscode.window.showInformationMessage('Stopping runs needs the launcher (Descent: Train), which is not available here.');
        return;
      }
      // The launcher's command takes the run folder; the run id follows for launchers that index by id.
      await vscode.commands.executeCommand(STOP_RUN_COMMAND, vscode.Uri.file(run.found.dir), run.reader.info?.id);
      await store.refreshAll();
    }),
  );
}
