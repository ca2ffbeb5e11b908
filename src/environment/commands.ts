// Commands of the environment feature: check, show report, refresh, select interpreter, install PyTorch.
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { registerCommand } from '../shell/registry';
import { log } from '../common/log';
import type { EnvironmentSnapshot, Problem } from '../protocol/environment';
import { runProblemAction } from './actions';
import type { EnvironmentService } from './environmentService';
import { ENVIRONMENT_VIEW_ID } from './environmentView';
import { isExecutableFile } from './gpuReader';
import { findOnPath, interpreterCandidates } from './interpreter';
import { isPythonExtensionInstalled } from './pythonExtension';
import { summarize } from './summary';

const UNTRUSTED_MESSAGE =
  'Descent: this workspace is not trusted, so nothing is run here (no Python, no nvidia-smi, no training). Trust the workspace to check the environment.';

async function showUntrusted(): Promise<void> {
  const choice = await vscode.window.showInformationMessage(UNTRUSTED_MESSAGE, 'Manage Workspace Trust');
  if (choice) await vscode.commands.executeCommand('workbench.trust.manage');
}

/** Shows a problem as a notification whose buttons are its actions. */
export async function showProblem(problem: Problem, extra: string[] = []): Promise<void> {
  const show =
    problem.severity === 'error'
      ? vscode.window.showErrorMessage
      : problem.severity === 'warning'
        ? vscode.window.showWarningMessage
        : vscode.window.showInformationMessage;
  const titles = [...problem.actions.map((a) => a.title), ...extra];
  const choice = await show(`Descent: ${problem.message}`, ...titles);
  const action = problem.actions.find((a) => a.title === choice);
  if (action) await runProblemAction(action);
  else if (choice) await vscode.commands.executeCommand('descent.showEnvironmentReport');
}

export function registerEnvironmentCommands(service: EnvironmentService, showReport: () => void): vscode.Disposable {
  const cmd = registerCommand;
  return vscode.Disposable.from(
    // Resolves with the snapshot once the check is done; the notification's buttons are handled without
    // holding the command open (a notification can stay unanswered for ever).
    cmd('descent.checkEnvironment', async (): Promise<EnvironmentSnapshot | undefined> => {
      if (!vscode.workspace.isTrusted) {
        void showUntrusted();
        return undefined;
      }
      const snap = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'Descent: checking Python, PyTorch and GPUs…' },
        () => service.refresh(),
      );
      log().info(`Environment: ${summarize(snap)}`);
      for (const p of snap.problems) log()[p.severity === 'info' ? 'info' : p.severity === 'warning' ? 'warn' : 'error'](`[${p.code}] ${p.message}`);
      const serious = snap.problems.filter((p) => p.severity !== 'info');
      if (serious.length === 0) {
        void vscode.window.showInformationMessage(`Descent: ready to train. ${summarize(snap)}.`, 'Show Report').then((choice) => {
          if (choice) showReport();
        });
      } else {
        const more = serious.length > 1 ? ` (${serious.length - 1} more problem${serious.length > 2 ? 's' : ''} in the report)` : '';
        void showProblem({ ...serious[0]!, message: serious[0]!.message + more }, ['Show Report']);
      }
      return snap;
    }),
    cmd('descent.showEnvironmentReport', () => showReport()),
    cmd('descent.refreshEnvironment', async () => {
      if (!vscode.workspace.isTrusted) return showUntrusted();
      await vscode.window.withProgress({ location: { viewId: ENVIRONMENT_VIEW_ID } }, () => service.refresh());
    }),
    cmd('descent.showProblem', async (code: unknown) => {
      const problem = service.snapshot.problems.find((p) => p.code === code);
      if (problem) await showProblem(problem, ['Show Report']);
    }),
    cmd('descent.selectInterpreter', () => selectInterpreter()),
    cmd('descent.installTorch', (mode: unknown) => installTorch(service, mode === 'upgrade' || mode === 'reinstall' ? mode : 'install')),
  );
}

async function selectInterpreter(): Promise<void> {
  if (isPythonExtensionInstalled()) {
    await vscode.commands.executeCommand('python.setInterpreter');
    return;
  }
  const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
  const found = interpreterCandidates(folders, process.platform, (f) => fs.existsSync(f), [
    findOnPath('python3', process.env, process.platform, isExecutableFile),
    findOnPath('python', process.env, process.platform, isExecutableFile),
  ]);
  const BROWSE = '$(folder-opened) Browse…';
  const pick = await vscode.window.showQuickPick([...found.map((f) => ({ label: f })), { label: BROWSE }], {
    title: 'Python interpreter for Descent (saved in descent.pythonPath)',
    placeHolder: 'Pick an interpreter, or browse for one',
  });
  if (!pick) return;
  let chosen = pick.label;
  if (pick.label === BROWSE) {
    const uris = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Use this Python', title: 'Select a Python interpreter' });
    if (!uris?.[0]) return;
    chosen = uris[0].fsPath;
  }
  const target = folders.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  await vscode.workspace.getConfiguration('descent').update('pythonPath', chosen, target);
}

async function installTorch(service: EnvironmentService, mode: 'install' | 'upgrade' | 'reinstall'): Promise<void> {
  if (!vscode.workspace.isTrusted) return showUntrusted();
  const snap = await service.ensureLoaded();
  const python = snap.interpreter?.path;
  if (!python) {
    const choice = await vscode.window.showErrorMessage('Descent: no Python interpreter to install PyTorch into. Select one first.', 'Select Interpreter');
    if (choice) await vscode.commands.executeCommand('descent.selectInterpreter');
    return;
  }
  const args = ['-m', 'pip', 'install'];
  if (mode === 'upgrade') args.push('--upgrade');
  if (mode === 'reinstall') args.push('--force-reinstall');
  args.push('torch');
  // On Linux, PyPI's torch is the CUDA build (several GB); without an NVIDIA GPU the CPU build is what works.
  const noGpu = snap.gpus.status !== 'ok' || snap.gpus.gpus.length === 0;
  if (process.platform === 'linux' && noGpu) args.push('--index-url', 'https://download.pytorch.org/whl/cpu');
  const ok = await vscode.window.showInformationMessage(
    `Install PyTorch into ${python}?`,
    { modal: true, detail: `Descent will run, in a terminal:\n${[python, ...args].join(' ')}` },
    'Install',
  );
  if (ok !== 'Install') return;
  const task = new vscode.Task(
    { type: 'process', task: 'descent-install-torch' },
    vscode.TaskScope.Workspace,
    'Install PyTorch',
    'Descent',
    new vscode.ProcessExecution(python, args),
  );
  const execution = await vscode.tasks.executeTask(task);
  const done = vscode.tasks.onDidEndTaskProcess(async (e) => {
    if (e.execution !== execution) return;
    done.dispose();
    const after = await service.refresh();
    const t = after.probe.status === 'ok' ? after.probe.report.torch : null;
    if (e.exitCode === 0 && t) void vscode.window.showInformationMessage(`Descent: PyTorch ${t.version} is installed in ${python}.`);
    else void vscode.window.showErrorMessage(`Descent: installing PyTorch failed (exit code ${e.exitCode ?? 'unknown'}). The terminal shows pip's output.`);
  });
}
