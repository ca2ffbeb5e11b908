// Descent: Train, Stop and Resume in the VS Code host: validates a request (trust, script, interpreter, PyTorch,
// devices, run directory), writes the run directory, and runs it as a `descent` task in a terminal.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { log } from '../common/log';
import type { EnvironmentService } from '../environment/environmentService';
import { readGpus } from '../environment/gpuReader';
import type { GpuReading } from '../protocol/environment';
import { RUN_FILES } from '../protocol/runFormat';
import { deviceItems, formatDevices, type DeviceItem } from './devices';
import { readGitState } from './git';
import { buildEnv, planLaunch, type DeviceChoice } from './launchPlan';
import { baseRunName, runId } from './naming';
import { commandLine, isAlive, isRunProcess, signalTree } from './processTree';
import { TASK_TYPE, expandPath, requestFromDefinition, type DescentTaskDefinition, type TrainRequest } from './request';
import { checkpointPath, declaresResume, lastCheckpoint, resumeArgs } from './resume';
import { createRunDirectory, readRunJson, RunDirectoryError, updateRunJson, writeJsonAtomic } from './runDirectory';
import { buildRunInfo, type LaunchRecord } from './runRecord';
import { RunSession, STOP_GRACE_MS, type PreparedRun } from './session';
import { lastLines } from './tail';
import { TrainingTerminal } from './terminal';

export const ACTIVE_CONTEXT_KEY = 'descent.trainingActive';
/** The Runs feature's command that starts watching a run folder for alerts (src/runs/view/alerts.ts). */
const WATCH_RUN_COMMAND = 'descent.runs.watchRun';

/** Removes a run folder this launch created and that nothing ran in (a cancelled launch): run.json only. */
function discardRunDirectory(dir: string): void {
  try {
    fs.rmSync(path.join(dir, RUN_FILES.info), { force: true });
    fs.rmdirSync(dir);
  } catch (e) {
    log().warn(`Descent: could not remove the cancelled run folder ${dir}: ${(e as Error).message}`);
  }
}

/** What descent.train / descent.resumeRun return (the Runs view and the tests use it; the palette ignores it). */
export type LaunchResult = { ok: true; runDir: string; runId: string; name: string; pid: number | undefined } | { ok: false; message: string };

/** A user-facing failure: the message and its buttons (title → command). */
class LaunchError extends Error {
  constructor(
    message: string,
    readonly buttons: { title: string; command: string; args?: unknown[] }[] = [],
  ) {
    super(message);
  }
}

const CHECK_ENV = { title: 'Check Environment', command: 'descent.checkEnvironment' };

function trainConfig(scope?: vscode.Uri) {
  const c = vscode.workspace.getConfiguration('descent', scope);
  return { runsDirectory: c.get<string>('train.runsDirectory', 'runs') || 'runs', script: c.get<string>('train.script', ''), nvidiaSmiPath: c.get<string>('nvidiaSmiPath', '') };
}

export class TrainingManager implements vscode.Disposable {
  private readonly sessions = new Map<string, RunSession>();
  private readonly disposables: vscode.Disposable[] = [];
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires when a run starts or ends. */
  readonly onDidChangeActive = this.changed.event;

  constructor(
    private readonly environment: EnvironmentService,
    /** The extension's python/ folder (holds the `descent` package). */
    private readonly helpersDir: string,
  ) {
    this.disposables.push(this.changed);
  }

  get active(): RunSession[] {
    return [...this.sessions.values()];
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
  }

  /** Validates, creates the run directory, starts the run in a terminal. Errors are shown and returned. */
  async train(request: TrainRequest, taskName?: string): Promise<LaunchResult> {
    // A notification from the button press until the process has started (run.json exists by then); its Cancel
    // aborts anything not yet started, and removes the run folder this launch created.
    const title = `Descent: starting ${path.basename(request.script)}`;
    return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (progress, token) =>
      this.launch(request, taskName, progress, token),
    );
  }

  private async launch(
    request: TrainRequest,
    taskName: string | undefined,
    progress: vscode.Progress<{ message?: string }>,
    token: vscode.CancellationToken,
  ): Promise<LaunchResult> {
    const cancelled = (): LaunchResult => {
      log().info(`Descent: launch of ${request.script} cancelled`);
      return { ok: false, message: 'cancelled' };
    };
    let prepared: PreparedRun | undefined;
    try {
      progress.report({ message: 'checking the interpreter and devices…' });
      prepared = await this.prepare(request, token);
    } catch (e) {
      return this.report(e);
    }
    if (!prepared) return cancelled();
    if (token.isCancellationRequested) {
      discardRunDirectory(prepared.dir);
      return cancelled();
    }
    progress.report({ message: `starting ${prepared.info.name}…` });
    const session = new RunSession(prepared);
    let aborted = false;
    const started = new Promise<void>((resolve) => {
      const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(prepared.info.cwd));
      const def: DescentTaskDefinition = { type: TASK_TYPE, script: prepared.info.launch!.script, args: prepared.info.launch!.args, runName: prepared.info.name };
      const task = new vscode.Task(
        def,
        folder ?? vscode.TaskScope.Workspace,
        taskName ? `${taskName} (${prepared.info.name})` : prepared.info.name,
        'Descent',
        new vscode.CustomExecution(async () => {
          if (token.isCancellationRequested) {
            aborted = true;
            discardRunDirectory(prepared.dir);
            resolve();
            return messageTerminal(`Descent: the launch of ${prepared.info.name} was cancelled before it started.`);
          }
          return new TrainingTerminal(session, (s) => {
            this.track(s);
            resolve();
          });
        }),
      );
      task.presentationOptions = { reveal: vscode.TaskRevealKind.Always, panel: vscode.TaskPanelKind.Dedicated, focus: false, clear: false, echo: false };
      void vscode.tasks.executeTask(task).then(undefined, (e: unknown) => {
        log().error(`Descent: could not start the task for ${prepared.dir}: ${String(e)}`);
        session.start({ stdout: () => undefined, stderr: () => undefined });
        this.track(session);
        resolve();
      });
    });
    await started;
    if (aborted) return cancelled();
    return { ok: true, runDir: prepared.dir, runId: prepared.info.id, name: prepared.info.name, pid: session.pid };
  }

  /** Runs a `descent` task from tasks.json (Tasks: Run Task): the terminal prepares the run itself. */
  terminalForTask(definition: Record<string, unknown>): vscode.Pseudoterminal {
    const request = requestFromDefinition(definition);
    if (typeof request === 'string') return messageTerminal(`Descent: this task cannot run: ${request}.`);
    const writeEmitter = new vscode.EventEmitter<string>();
    const closeEmitter = new vscode.EventEmitter<number>();
    let inner: TrainingTerminal | undefined;
    return {
      onDidWrite: writeEmitter.event,
      onDidClose: closeEmitter.event,
      open: () => {
        void (async () => {
          try {
            const prepared = await this.prepare(request);
            if (!prepared) {
              closeEmitter.fire(1);
              return;
            }
            inner = new TrainingTerminal(new RunSession(prepared), (s) => this.track(s));
            inner.onDidWrite((t) => writeEmitter.fire(t));
            inner.onDidClose((c) => closeEmitter.fire(c));
            inner.open();
          } catch (e) {
            const r = this.report(e);
            writeEmitter.fire(`${r.ok ? '' : r.message}\r\n`);
            closeEmitter.fire(1);
          }
        })();
      },
      close: () => inner?.close(),
      handleInput: (d) => inner?.handleInput(d),
    };
  }

  private track(session: RunSession): void {
    this.sessions.set(session.dir, session);
    this.updateContext();
    // The Runs feature's alerts watch the run from now on, even if it dies before the store first reads it; a failed
    // run is reported there (with its last stderr line, Open Log and Open Curves).
    void Promise.resolve(vscode.commands.executeCommand(WATCH_RUN_COMMAND, session.dir)).catch(() => undefined);
    void session.done.then((r) => {
      this.sessions.delete(session.dir);
      this.updateContext();
      log().info(`Descent: run ${session.run.info.name} ${r.status} (exit code ${r.exitCode ?? 'none'}${r.signal ? `, ${r.signal}` : ''})`);
      if (r.status === 'failed') log().info(`Descent: last stderr line of ${session.run.info.name}: ${lastLines(r.stderrTail, 1)}`);
    });
  }

  private updateContext(): void {
    void vscode.commands.executeCommand('setContext', ACTIVE_CONTEXT_KEY, this.sessions.size > 0);
    this.changed.fire();
  }

  private report(e: unknown): LaunchResult {
    const err = e instanceof LaunchError ? e : new LaunchError(`Descent: could not start the run: ${e instanceof Error ? e.message : String(e)}`);
    log().error(err.message);
    void vscode.window.showErrorMessage(err.message, ...err.buttons.map((b) => b.title)).then((choice) => {
      const b = err.buttons.find((x) => x.title === choice);
      if (b) void vscode.commands.executeCommand(b.command, ...(b.args ?? []));
    });
    return { ok: false, message: err.message };
  }

  /** Everything before the process starts. undefined: the user cancelled a pick. Throws LaunchError. */
  private async prepare(request: TrainRequest, token?: vscode.CancellationToken): Promise<PreparedRun | undefined> {
    if (!vscode.workspace.isTrusted) {
      throw new LaunchError('Descent: this workspace is not trusted, so Descent does not run training here. Trust the workspace to train.', [
        { title: 'Manage Workspace Trust', command: 'workbench.trust.manage' },
      ]);
    }
    const home = os.homedir();
    const folders = vscode.workspace.workspaceFolders ?? [];
    const firstFolder = folders[0]?.uri.fsPath;
    const script = expandPath(request.script, firstFolder, home);
    if (!script) throw new LaunchError(`Descent: the script "${request.script}" uses \${workspaceFolder}, but no folder is open.`);
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(script);
    } catch {
      stat = undefined;
    }
    if (!stat?.isFile()) throw new LaunchError(`Descent: the training script ${script} does not exist${stat ? ' (it is a folder)' : ''}.`);
    const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(script))?.uri.fsPath ?? firstFolder;
    const cwd = request.cwd ? expandPath(request.cwd, folder, home) : (folder ?? path.dirname(script));
    if (!cwd || !fs.existsSync(cwd)) throw new LaunchError(`Descent: the working directory ${request.cwd} does not exist.`);

    const { python, mpsAvailable, cudaUsable } = await this.interpreter(request, folder, home);
    const device = await this.devices(request, mpsAvailable, cudaUsable, script);
    if (!device || token?.isCancellationRequested) return undefined;
    const plan = planLaunch({ python, script, args: request.args, device, target: request.target, nprocPerNode: request.nprocPerNode });

    const cfg = trainConfig(vscode.Uri.file(script));
    const root = expandPath(cfg.runsDirectory, cwd, home) ?? path.join(cwd, 'runs');
    const now = new Date();
    let created: { dir: string; name: string };
    try {
      created = createRunDirectory(root, baseRunName(script, now, request.runName));
    } catch (e) {
      if (e instanceof RunDirectoryError) {
        throw new LaunchError(`Descent: ${e.message}. Choose a folder you can write in the setting descent.train.runsDirectory.`, [
          { title: 'Open Settings', command: 'workbench.action.openSettings', args: ['descent.train.runsDirectory'] },
        ]);
      }
      throw e;
    }
    const launch: LaunchRecord = { script, args: [...request.args], python, devices: formatDevices(device), target: plan.target.kind === 'torchrun' ? 'torchrun' : 'local', cwd };
    if (plan.target.nprocPerNode !== undefined) launch.nprocPerNode = plan.target.nprocPerNode;
    const info = buildRunInfo({
      id: runId(now, Math.random()),
      name: created.name,
      plan,
      cwd,
      interpreter: python,
      git: await readGitState(cwd),
      launch,
      start: now,
      resumedFrom: request.resumedFrom,
    });
    try {
      writeJsonAtomic(path.join(created.dir, RUN_FILES.info), info);
    } catch (e) {
      throw new LaunchError(`Descent: cannot write ${path.join(created.dir, RUN_FILES.info)}: ${(e as Error).message}`);
    }
    const env = buildEnv(process.env, { runDir: created.dir, helpersDir: this.helpersDir, planEnv: plan.env, delimiter: path.delimiter });
    return { dir: created.dir, info, env };
  }

  private async interpreter(request: TrainRequest, folder: string | undefined, home: string): Promise<{ python: string; mpsAvailable: boolean; cudaUsable: boolean }> {
    if (request.python) {
      const python = expandPath(request.python, folder, home) ?? request.python;
      if (/[\\/]/.test(request.python) && !fs.existsSync(python)) {
        throw new LaunchError(`Descent: the task's Python ${python} does not exist.`, [CHECK_ENV]);
      }
      // An interpreter named by the task is not probed: what it can use is up to it.
      return { python, mpsAvailable: process.platform === 'darwin', cudaUsable: true };
    }
    const snap = await this.environment.ensureLoaded();
    const probe = snap.probe;
    if (!snap.interpreter || probe.status === 'no-interpreter') {
      throw new LaunchError(`Descent: no Python interpreter to train with. ${probe.status === 'no-interpreter' ? probe.message : ''}`.trim(), [
        { title: 'Select Interpreter', command: 'descent.selectInterpreter' },
        CHECK_ENV,
      ]);
    }
    const python = snap.interpreter.path;
    if (probe.status === 'failed') throw new LaunchError(`Descent: could not run Python at ${python}: ${probe.message}`, [CHECK_ENV]);
    if (probe.status === 'ok' && !probe.report.torch) {
      throw new LaunchError(`Descent: PyTorch is not installed in ${python}, so the script cannot train.`, [
        { title: 'Install PyTorch', command: 'descent.installTorch' },
        CHECK_ENV,
      ]);
    }
    const torch = probe.status === 'ok' ? probe.report.torch : null;
    return { python, mpsAvailable: torch?.mps.available ?? false, cudaUsable: torch?.cudaAvailable ?? false };
  }

  private async gpus(): Promise<GpuReading> {
    return readGpus(trainConfig().nvidiaSmiPath);
  }

  private async devices(request: TrainRequest, mpsAvailable: boolean, cudaUsable: boolean, script: string): Promise<DeviceChoice | undefined> {
    const d = request.devices;
    if (d.kind === 'choice' && d.choice.kind !== 'gpu') return d.choice;
    const reading = await this.gpus();
    const gpus = reading.status === 'ok' ? reading.gpus : [];
    if (d.kind === 'choice' || d.kind === 'all-gpus') {
      if (gpus.length === 0) {
        throw new LaunchError(`Descent: no NVIDIA GPU to train on (${reading.message ?? 'nvidia-smi found none'}). Choose CPU, or check the driver.`, [CHECK_ENV]);
      }
      if (d.kind === 'all-gpus') return { kind: 'gpu', indices: gpus.map((g) => g.index) };
      if (d.choice.kind !== 'gpu') return d.choice;
      const missing = d.choice.indices.filter((i) => !gpus.some((g) => g.index === i));
      if (missing.length) {
        throw new LaunchError(`Descent: GPU ${missing.join(', ')} is not on this machine (nvidia-smi lists ${gpus.map((g) => g.index).join(', ')}).`);
      }
      return d.choice;
    }
    const items = deviceItems({ gpus, mpsAvailable, cudaUsable, cpuProcesses: 2 });
    const pick = await vscode.window.showQuickPick<vscode.QuickPickItem & { item: DeviceItem }>(
      items.map((item) => ({ label: item.label, description: item.description, detail: item.detail, item })),
      { title: `Train ${path.basename(script)} on`, placeHolder: 'Device for this run', ignoreFocusOut: true },
    );
    if (!pick) return undefined;
    if (pick.item.choice) return pick.item.choice;
    const several = await vscode.window.showQuickPick(
      gpus.map((g) => ({ label: `GPU ${g.index}: ${g.name}`, index: g.index })),
      { title: 'GPUs for this run (torchrun, one process per GPU)', canPickMany: true, ignoreFocusOut: true },
    );
    if (!several?.length) return undefined;
    return { kind: 'gpu', indices: several.map((s) => s.index) };
  }

  /** Stops a run: one launched in this window, or (after a reload) one whose process is still alive. */
  async stop(dir: string): Promise<{ ok: boolean; message: string }> {
    const session = this.sessions.get(dir);
    if (session) {
      await session.stop();
      const r = await session.done;
      return { ok: true, message: `run ${r.status}` };
    }
    const info = readRunJson(dir);
    const pid = info?.pid;
    if (!info || info.status !== 'running' || typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 1) {
      return { ok: false, message: `Descent: ${path.basename(dir)} is not running.` };
    }
    const launch = info.launch as Partial<LaunchRecord> | undefined;
    const script = typeof launch?.script === 'string' ? launch.script : Array.isArray(info.args) ? info.args.find((a): a is string => typeof a === 'string' && a.endsWith('.py')) : undefined;
    if (isAlive(pid) && !isRunProcess(await commandLine(pid), script)) {
      return { ok: false, message: `Descent: process ${pid} is no longer ${path.basename(dir)} (its pid was reused); nothing was stopped.` };
    }
    if (isAlive(pid)) {
      const known = await signalTree(pid, 'SIGTERM');
      const deadline = Date.now() + STOP_GRACE_MS;
      while (Date.now() < deadline && isAlive(pid)) await new Promise((r) => setTimeout(r, 100));
      await signalTree(pid, 'SIGKILL', known);
    }
    // The run's supervisor records the stop itself when it gets the SIGTERM; complete what it could not.
    updateRunJson(dir, (doc) => (doc.status === 'running' ? { ...doc, status: 'stopped', endTime: new Date().toISOString() } : doc));
    return { ok: true, message: 'run stopped' };
  }

  /** Starts a new run from the last checkpoint of `dir`, with `--resume <checkpoint>`. */
  async resume(dir: string): Promise<LaunchResult> {
    try {
      const info = readRunJson(dir);
      if (!info) throw new LaunchError(`Descent: ${dir} has no readable run.json, so Descent does not know how to start it again.`);
      const launch = info.launch as Partial<LaunchRecord> | undefined;
      if (!launch || typeof launch.script !== 'string' || !Array.isArray(launch.args)) {
        throw new LaunchError(`Descent: ${path.basename(dir)} was not started by Descent: Train, so it cannot be resumed from here.`);
      }
      let events = '';
      try {
        events = fs.readFileSync(path.join(dir, RUN_FILES.events), 'utf8');
      } catch {
        // No events: no checkpoint.
      }
      const last = lastCheckpoint(events);
      if (!last) {
        throw new LaunchError(
          `Descent: ${path.basename(dir)} logged no checkpoint, so there is nothing to resume from. Call log.checkpoint(path, step) after saving one.`,
        );
      }
      const cwd = typeof info.cwd === 'string' ? info.cwd : path.dirname(launch.script);
      const checkpoint = checkpointPath(last.path, cwd);
      if (!fs.existsSync(checkpoint)) throw new LaunchError(`Descent: the last checkpoint of ${path.basename(dir)}, ${checkpoint}, no longer exists.`);
      let source = '';
      try {
        source = fs.readFileSync(launch.script, 'utf8');
      } catch {
        throw new LaunchError(`Descent: the training script ${launch.script} does not exist any more.`);
      }
      if (!declaresResume(source)) {
        throw new LaunchError(
          `Descent: ${path.basename(launch.script)} has no --resume argument, so it cannot continue from ${last.path}. Add one (parser.add_argument("--resume")) that loads the checkpoint, then resume again.`,
        );
      }
      const def: Record<string, unknown> = {
        script: launch.script,
        args: resumeArgs(launch.args.map(String), checkpoint),
        python: launch.python,
        devices: launch.devices,
        target: launch.target,
        nprocPerNode: launch.nprocPerNode,
        cwd,
        runName: `${(typeof info.name === 'string' ? info.name : path.basename(dir)).replace(/-resume(-\d+)?$/, '')}-resume`,
        resumedFrom: { runId: typeof info.id === 'string' ? info.id : path.basename(dir), checkpoint },
      };
      const request = requestFromDefinition(def);
      if (typeof request === 'string') throw new LaunchError(`Descent: cannot resume ${path.basename(dir)}: ${request}.`);
      return this.train(request);
    } catch (e) {
      return this.report(e);
    }
  }

  /** The runs folder of the first workspace folder, for pickers. */
  runsRoot(): string | undefined {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    if (!folder) return undefined;
    return expandPath(trainConfig().runsDirectory, folder, os.homedir());
  }

  configuredScript(): string | undefined {
    const s = trainConfig().script.trim();
    return s || undefined;
  }
}

/** A terminal that only says why a task cannot run. */
function messageTerminal(message: string): vscode.Pseudoterminal {
  const writeEmitter = new vscode.EventEmitter<string>();
  const closeEmitter = new vscode.EventEmitter<number>();
  return {
    onDidWrite: writeEmitter.event,
    onDidClose: closeEmitter.event,
    open: () => {
      writeEmitter.fire(`${message}\r\n`);
      closeEmitter.fire(1);
    },
    close: () => undefined,
  };
}
