// The training feature: Descent: Train / Stop Run / Resume Run, the `descent` task type, and the launcher behind them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { registerCommand, registerTaskProvider } from '../shell/registry';
import type { EnvironmentService } from '../environment/environmentService';
import { RUN_FILES } from '../protocol/runFormat';
import { TrainingManager, type LaunchResult } from './launcher';
import { TASK_TYPE, requestFromDefinition, type TrainRequest } from './request';

export { TrainingManager } from './launcher';

/** A run named by a command argument: a path (folder or its run.json), a Uri, or an object with one of those. */
export function runDirFromArg(arg: unknown, root: string | undefined): string | undefined {
  let value: unknown = arg;
  if (value && typeof value === 'object' && !(value instanceof vscode.Uri)) {
    const o = value as Record<string, unknown>;
    value = o.runDir ?? o.dir ?? o.uri ?? o.resourceUri ?? o.path ?? o.id ?? o.name;
  }
  let p: string | undefined;
  if (value instanceof vscode.Uri) p = value.fsPath;
  else if (typeof value === 'string' && value.trim()) p = value.trim();
  if (!p) return undefined;
  if (!path.isAbsolute(p)) {
    if (!root) return undefined;
    p = path.join(root, p);
  }
  if (path.basename(p) === RUN_FILES.info) p = path.dirname(p);
  return p;
}

function requestFromArg(arg: unknown): TrainRequest | string | undefined {
  if (arg instanceof vscode.Uri) return { script: arg.fsPath, args: [], devices: { kind: 'ask' } };
  if (typeof arg === 'string' && arg.trim()) return { script: arg, args: [], devices: { kind: 'ask' } };
  if (arg && typeof arg === 'object') return requestFromDefinition(arg as Record<string, unknown>);
  return undefined;
}

const isPython = (doc: vscode.TextDocument | undefined) => doc?.languageId === 'python' && doc.uri.scheme === 'file';

async function pickRequest(manager: TrainingManager): Promise<{ request: TrainRequest; taskName?: string } | undefined | string> {
  const active = vscode.window.activeTextEditor?.document;
  const current = isPython(active) ? active!.uri.fsPath : undefined;
  const configured = manager.configuredScript();
  let tasks: vscode.Task[] = [];
  try {
    tasks = await vscode.tasks.fetchTasks({ type: TASK_TYPE });
  } catch {
    tasks = [];
  }
  type Item = vscode.QuickPickItem & { run: () => { request: TrainRequest; taskName?: string } | string };
  const items: Item[] = [];
  if (current) {
    if (active!.isDirty) await active!.save();
    items.push({ label: `$(file-code) ${path.basename(current)}`, description: 'the current file', run: () => ({ request: { script: current, args: [], devices: { kind: 'ask' } } }) });
  }
  if (configured && (!current || path.resolve(configured) !== current)) {
    items.push({ label: `$(gear) ${configured}`, description: 'descent.train.script', run: () => ({ request: { script: configured, args: [], devices: { kind: 'ask' } } }) });
  }
  for (const t of tasks) {
    items.push({
      label: `$(tools) ${t.name}`,
      description: 'task',
      detail: typeof t.definition.script === 'string' ? t.definition.script : undefined,
      run: () => {
        const r = requestFromDefinition(t.definition);
        return typeof r === 'string' ? `the task "${t.name}" cannot run: ${r}` : { request: r, taskName: t.name };
      },
    });
  }
  if (items.length === 0) return 'Descent: open a Python file to train, set descent.train.script, or add a "descent" task to tasks.json.';
  if (items.length === 1) return items[0]!.run();
  const pick = await vscode.window.showQuickPick(items, { title: 'Descent: Train', placeHolder: 'What to train' });
  return pick?.run();
}

export function registerTraining(context: vscode.ExtensionContext, environment: EnvironmentService): vscode.Disposable {
  const manager = new TrainingManager(environment, context.asAbsolutePath('python'));
  const fail = (message: string): LaunchResult => {
    void vscode.window.showErrorMessage(message);
    return { ok: false, message };
  };
  const pickRun = async (running: boolean): Promise<string | undefined> => {
    if (running) {
      const active = manager.active;
      if (active.length <= 1) return active[0]?.dir;
      const pick = await vscode.window.showQuickPick(active.map((s) => ({ label: s.run.info.name, description: s.dir, dir: s.dir })), { title: 'Stop which run?' });
      return pick?.dir;
    }
    const root = manager.runsRoot();
    let names: string[] = [];
    try {
      names = root ? fs.readdirSync(root).filter((n) => fs.existsSync(path.join(root, n, RUN_FILES.events))) : [];
    } catch {
      names = [];
    }
    if (names.length === 0) return undefined;
    const pick = await vscode.window.showQuickPick(names.sort().reverse().map((n) => ({ label: n, dir: path.join(root!, n) })), { title: 'Resume which run?' });
    return pick?.dir;
  };
  const provider: vscode.TaskProvider = {
    provideTasks: () => {
      const script = manager.configuredScript();
      if (!script) return [];
      const def = { type: TASK_TYPE, script };
      return [new vscode.Task(def, vscode.TaskScope.Workspace, `Train ${path.basename(script)}`, 'Descent', new vscode.CustomExecution(async (d) => manager.terminalForTask(d)))];
    },
    resolveTask: (task) => {
      const def = task.definition;
      return new vscode.Task(def, task.scope ?? vscode.TaskScope.Workspace, task.name, 'Descent', new vscode.CustomExecution(async (d) => manager.terminalForTask(d)));
    },
  };
  return vscode.Disposable.from(
    manager,
    registerTaskProvider(TASK_TYPE, provider),
    registerCommand('descent.train', async (arg?: unknown): Promise<LaunchResult> => {
      let chosen: { request: TrainRequest; taskName?: string } | string | undefined;
      const fromArg = requestFromArg(arg);
      if (fromArg !== undefined) chosen = typeof fromArg === 'string' ? `Descent: cannot train: ${fromArg}.` : { request: fromArg };
      else chosen = await pickRequest(manager);
      if (chosen === undefined) return { ok: false, message: 'cancelled' };
      if (typeof chosen === 'string') return fail(chosen);
      return manager.train(chosen.request, chosen.taskName);
    }),
    registerCommand('descent.stopRun', async (arg?: unknown) => {
      const dir = runDirFromArg(arg, manager.runsRoot()) ?? (await pickRun(true));
      if (!dir) {
        void vscode.window.showInformationMessage('Descent: no run is running.');
        return { ok: false, message: 'no run is running' };
      }
      const r = await manager.stop(dir);
      if (!r.ok) void vscode.window.showInformationMessage(r.message);
      return r;
    }),
    registerCommand('descent.resumeRun', async (arg?: unknown): Promise<LaunchResult> => {
      const dir = runDirFromArg(arg, manager.runsRoot()) ?? (await pickRun(false));
      if (!dir) return fail('Descent: no run with checkpoints to resume (runs log them with log.checkpoint(path, step)).');
      return manager.resume(dir);
    }),
  );
}
