// Owns the environment snapshot: resolves the interpreter, runs the probe and nvidia-smi (only in a trusted
// workspace), keeps GPU readings fresh while a consumer is visible, and tells listeners what changed.
import * as os from 'node:os';
import * as vscode from 'vscode';
import { VisibilityPoller } from '../common/visibilityPoller';
import type { EnvironmentSnapshot, GpuHistoryPoint, GpuReading } from '../protocol/environment';
import { GpuHistory } from './gpuHistory';
import { isExecutableFile, readGpus } from './gpuReader';
import { findOnPath, resolveInterpreter } from './interpreter';
import { onnxRuntimeInfo } from './onnxRuntimeInfo';
import { diagnose } from './problems';
import { runProbe } from './probeRunner';
import { askPythonExtension, onPythonInterpreterChanged } from './pythonExtension';

const PENDING_GPUS: GpuReading = { status: 'pending', at: 0, gpus: [], driverVersion: null, message: null };
const UNTRUSTED_GPUS: GpuReading = { status: 'untrusted', at: 0, gpus: [], driverVersion: null, message: null };

function config() {
  const c = vscode.workspace.getConfiguration('descent');
  return {
    pythonPath: c.get<string>('pythonPath', ''),
    nvidiaSmiPath: c.get<string>('nvidiaSmiPath', ''),
    gpuRefreshSeconds: Math.min(60, Math.max(1, c.get<number>('environment.gpuRefreshSeconds', 3))),
    minimumTorchVersion: c.get<string>('environment.minimumTorchVersion', '2.0'),
  };
}

export class EnvironmentService implements vscode.Disposable {
  private current: EnvironmentSnapshot;
  private inFlight: Promise<EnvironmentSnapshot> | undefined;
  private queued: Promise<EnvironmentSnapshot> | undefined;
  private loaded = false;
  private readonly history = new GpuHistory();
  private readonly poller: VisibilityPoller;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly changed = new vscode.EventEmitter<EnvironmentSnapshot>();
  private readonly gpuRead = new vscode.EventEmitter<{ reading: GpuReading; point: GpuHistoryPoint | undefined }>();
  /** Fires with the whole snapshot after a refresh (and after a GPU reading changes it). */
  readonly onDidChange = this.changed.event;
  /** Fires after each GPU poll. */
  readonly onDidReadGpus = this.gpuRead.event;

  constructor(private readonly probeScript: string) {
    this.current = this.emptySnapshot();
    this.poller = new VisibilityPoller(() => this.pollGpus(), config().gpuRefreshSeconds * 1000);
    this.disposables.push(
      this.changed,
      this.gpuRead,
      { dispose: () => this.poller.dispose() },
      vscode.workspace.onDidGrantWorkspaceTrust(() => void this.refresh()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('descent.environment.gpuRefreshSeconds')) this.poller.setInterval(config().gpuRefreshSeconds * 1000);
        if (e.affectsConfiguration('descent.pythonPath') || e.affectsConfiguration('descent.nvidiaSmiPath') || e.affectsConfiguration('descent.environment.minimumTorchVersion')) {
          if (this.loaded) void this.refresh();
        }
      }),
    );
    void onPythonInterpreterChanged(() => {
      if (this.loaded) void this.refresh();
    }).then((d) => this.disposables.push(d));
  }

  get snapshot(): EnvironmentSnapshot {
    return this.current;
  }

  gpuHistory(): GpuHistoryPoint[] {
    return this.history.snapshot();
  }

  /** Loads once on first need (a view became visible); later calls return the last snapshot. */
  ensureLoaded(): Promise<EnvironmentSnapshot> {
    if (this.loaded) return this.queued ?? this.inFlight ?? Promise.resolve(this.current);
    return this.refresh();
  }

  /**
   * Runs everything again. A call during a run gets one follow-up run (settings may have changed since the
   * current one read them); further calls during that wait share it.
   */
  refresh(): Promise<EnvironmentSnapshot> {
    this.loaded = true;
    if (!this.inFlight) {
      this.inFlight = this.collect().finally(() => (this.inFlight = undefined));
      return this.inFlight;
    }
    this.queued ??= this.inFlight
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.refresh();
      });
    return this.queued;
  }

  /** Views and panels report whether they are on screen; GPUs are polled only while one is. */
  setVisible(consumer: string, visible: boolean): void {
    this.poller.setVisible(consumer, visible && vscode.workspace.isTrusted);
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
  }

  private emptySnapshot(): EnvironmentSnapshot {
    const trusted = vscode.workspace.isTrusted;
    return {
      trusted,
      interpreter: null,
      probe: trusted ? { status: 'pending' } : { status: 'untrusted' },
      gpus: trusted ? PENDING_GPUS : UNTRUSTED_GPUS,
      onnxRuntime: null,
      problems: [],
    };
  }

  private publish(next: EnvironmentSnapshot): EnvironmentSnapshot {
    const c = config();
    this.current = { ...next, problems: diagnose({ ...next, minimumTorchVersion: c.minimumTorchVersion }) };
    this.changed.fire(this.current);
    return this.current;
  }

  private async collect(): Promise<EnvironmentSnapshot> {
    // Yield first: a view visible at start-up calls this during activate(), and loading onnxruntime-node's native
    // library below takes about 30 ms that activation should not pay.
    await new Promise((resolve) => setImmediate(resolve));
    const c = config();
    const onnxRuntime = onnxRuntimeInfo();
    if (!vscode.workspace.isTrusted) {
      // Nothing is executed in an untrusted workspace: not the interpreter, not nvidia-smi.
      return this.publish({ ...this.emptySnapshot(), onnxRuntime });
    }
    const folder = vscode.workspace.workspaceFolders?.[0];
    this.publish({ ...this.emptySnapshot(), interpreter: this.current.interpreter, onnxRuntime });

    const resolution = resolveInterpreter({
      pythonExtension: await askPythonExtension(folder?.uri),
      setting: c.pythonPath,
      workspaceFolder: folder?.uri.fsPath,
      homeDir: os.homedir(),
      platform: process.platform,
      findOnPath: (name) => findOnPath(name, process.env, process.platform, isExecutableFile),
    });
    const [probe, gpus] = await Promise.all([
      resolution.ok
        ? runProbe(resolution.choice.path, this.probeScript, folder?.uri.fsPath)
        : Promise.resolve({ status: 'no-interpreter' as const, message: resolution.message }),
      readGpus(c.nvidiaSmiPath),
    ]);
    this.history.add(gpus);
    return this.publish({
      trusted: true,
      interpreter: resolution.ok ? resolution.choice : null,
      probe,
      gpus,
      onnxRuntime,
      problems: [],
    });
  }

  private async pollGpus(): Promise<void> {
    if (!vscode.workspace.isTrusted) return;
    if (!this.loaded) {
      await this.refresh();
      return;
    }
    const reading = await readGpus(config().nvidiaSmiPath);
    const point = this.history.add(reading);
    const before = this.current.gpus;
    this.current = { ...this.current, gpus: reading };
    this.gpuRead.fire({ reading, point });
    // Problems depend on GPUs only through their count and status: recompute when those change.
    if (before.status !== reading.status || before.gpus.length !== reading.gpus.length) this.publish(this.current);
  }
}
