// Descent: Plot Loss Landscape, Open Loss Landscape, Resume Loss Landscape. Arguments come from the Runs view (a run
// node), the curves panel (a run key), the explorer (an .onnx file), the palette (none: quick picks), or tests and
// automation ({ run, options }: no questions asked).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { EnvironmentSnapshot } from '../../protocol/environment';
import { LANDSCAPE_FILE, LANDSCAPES_DIR } from '../../protocol/landscape';
import type { RunEntry, RunStore } from '../../runs/store/runStore';
import { KIND_LABELS, engineArgs, interpolationEnds, parseOptions, resumeArgs, type LandscapeOptions } from '../options';
import { listLandscapes, readLandscape, runDirOfLandscape } from '../read';
import { askOptions, confirmTrust } from './form';
import type { OnnxLandscapeRequest } from '../onnx/engine';
import { LandscapeJob, showJobProgress, type JobOutcome } from './launcher';
import { LandscapePanels } from './panel';

export type PlotResult = { ok: true; dir: string; status: JobOutcome['status']; message: string } | { ok: false; message: string; cancelled?: boolean };

export interface LandscapeDeps {
  context: vscode.ExtensionContext;
  features: () => { environment: { snapshot(): EnvironmentSnapshot; refresh(): Promise<EnvironmentSnapshot> }; runs: { store: RunStore } };
  log: () => vscode.LogOutputChannel;
}

/** Absolute checkpoint paths of a run, in the order its events.jsonl recorded them (relative to run.json's cwd). */
function checkpointsOf(run: RunEntry): string[] {
  const cwd = run.reader.info?.cwd ?? run.found.dir;
  const fromEvents = run.reader.checkpoints.map((c) => (path.isAbsolute(c.path) ? c.path : path.join(cwd, c.path))).filter((p) => fs.existsSync(p));
  if (fromEvents.length > 0) return fromEvents;
  for (const dir of [path.join(run.found.dir, 'checkpoints'), path.join(cwd, 'checkpoints')]) {
    try {
      const files = fs.readdirSync(dir).filter((f) => /\.(pt|pth)$/.test(f)).sort();
      if (files.length > 0) return files.map((f) => path.join(dir, f));
    } catch {
      // no such folder
    }
  }
  return [];
}

/** The .onnx model a command argument names (an explorer Uri, a path, or { onnx }). */
function onnxModelOf(arg: unknown): string | undefined {
  const v = arg instanceof vscode.Uri ? arg.fsPath : typeof arg === 'string' ? arg : typeof arg === 'object' && arg !== null ? (arg as { onnx?: unknown }).onnx : undefined;
  return typeof v === 'string' && v.toLowerCase().endsWith('.onnx') ? v : undefined;
}

const stamp = (d = new Date()) => `${d.getFullYear()}${String(d.getMonth() + 1).padStart(2, '0')}${String(d.getDate()).padStart(2, '0')}-${d.toTimeString().slice(0, 8).replace(/:/g, '')}`;

function defaultName(o: LandscapeOptions): string {
  const directions = o.kind === 'pca' ? 'pca' : o.kind === 'interpolate' ? 'interpolate' : 'filter';
  const dims = o.kind === '1d' || o.kind === 'interpolate' ? '1d' : '2d';
  return `${dims}-${directions}-${stamp()}`;
}

export class LandscapeFeature implements vscode.Disposable {
  readonly panels: LandscapePanels;
  private readonly jobs = new Map<string, LandscapeJob>();

  constructor(private readonly deps: LandscapeDeps) {
    this.panels = new LandscapePanels(deps.context.extensionUri, {
      computing: (dir) => this.jobs.get(dir)?.running ?? false,
      cancel: (dir) => this.jobs.get(dir)?.cancel(),
      resume: (dir) => void this.resume(dir),
      pickOther: (exclude) => this.pickLandscape('Compare with which landscape?', exclude),
    });
  }

  /** Cancels the computation of the landscape in `dir` (SIGINT to the engine); false when none runs. */
  cancel(dir: string): boolean {
    const job = this.jobs.get(dir);
    if (!job?.running) return false;
    job.cancel();
    return true;
  }

  private get store(): RunStore {
    return this.deps.features().runs.store;
  }

  /** The environment snapshot, probed once if nothing has probed it yet. */
  private async environment(): Promise<EnvironmentSnapshot> {
    const env = this.deps.features().environment;
    const snap = env.snapshot();
    return snap.probe.status === 'pending' ? env.refresh() : snap;
  }

  dispose(): void {
    for (const job of this.jobs.values()) job.cancel();
    this.panels.dispose();
  }

  /** Runs by a command argument: a run node or key, a folder Uri or path, or { run }. */
  private runOf(arg: unknown): RunEntry | undefined {
    const store = this.store;
    let v: unknown = arg;
    if (v && typeof v === 'object' && !(v instanceof vscode.Uri)) {
      const o = v as Record<string, unknown>;
      v = o.key ?? o.run ?? o.dir;
    }
    const p = v instanceof vscode.Uri ? v.fsPath : typeof v === 'string' ? v : undefined;
    if (!p) return undefined;
    const abs = path.isAbsolute(p) ? p : path.join(vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '', p);
    return store.get(p) ?? store.runOf(abs) ?? store.runOf(path.basename(abs) === 'run.json' ? path.dirname(abs) : abs);
  }

  private async pickRun(): Promise<RunEntry | undefined> {
    await this.store.flush();
    const runs = this.store.list().filter((r) => r.found.kind === 'descent' && checkpointsOf(r).length > 0);
    if (runs.length === 0) {
      void vscode.window.showInformationMessage(
        'Descent: no run with checkpoints in this workspace. A loss landscape is computed from a trained model: train a project made by Descent: New Model Project (it saves checkpoints/best.pt), then plot its landscape.',
      );
      return undefined;
    }
    const pick = await vscode.window.showQuickPick(
      runs.map((r) => ({ label: r.summary().name, description: `${checkpointsOf(r).length} checkpoint(s)`, detail: vscode.workspace.asRelativePath(r.found.dir), run: r })),
      { title: 'Descent: Plot Loss Landscape', placeHolder: 'The run whose model to plot' },
    );
    return pick?.run;
  }

  async plot(arg?: unknown): Promise<PlotResult> {
    const fail = (message: string, show = true): PlotResult => {
      if (show) void vscode.window.showErrorMessage(message);
      return { ok: false, message };
    };
    if (!(await confirmTrust())) return { ok: false, message: 'the workspace is not trusted' };
    const onnx = onnxModelOf(arg);
    if (onnx) return this.plotOnnx(onnx, arg);
    const automated = typeof arg === 'object' && arg !== null && !(arg instanceof vscode.Uri) && 'options' in arg;
    await this.store.flush();
    let run = arg === undefined ? await this.pickRun() : this.runOf(arg);
    if (!run && arg !== undefined) {
      // A run made a moment ago may not be discovered yet: look again once.
      await this.store.refreshAll();
      run = this.runOf(arg);
    }
    if (!run) return arg === undefined ? { ok: false, message: 'cancelled', cancelled: true } : fail('Descent: that run is not in the Runs view; refresh the Runs view or pick a run from the palette.');
    const name = run.summary().name;
    const checkpoints = checkpointsOf(run);
    if (checkpoints.length === 0) {
      return fail(`Descent: ${name} has no checkpoint, so there is no model to plot. Train it with a script that saves one (log.checkpoint(...) records it), then try again.`);
    }
    const snap = await this.environment();
    const python = snap.interpreter?.path;
    if (!python) return fail('Descent: no Python interpreter found. Select one (Descent: Select Python Interpreter), then try again.');
    if (snap.probe.status === 'ok' && !snap.probe.report.torch) return fail(`Descent: PyTorch is not installed in ${python}; the landscape engine needs it (Descent: Install PyTorch into the Interpreter).`);

    let options: LandscapeOptions | undefined;
    if (automated) {
      const parsed = parseOptions((arg as { options: unknown }).options);
      if (typeof parsed === 'string') return fail(`Descent: Plot Loss Landscape: ${parsed}.`);
      options = parsed;
    } else {
      const gpus = snap.gpus.status === 'ok' ? snap.gpus.gpus.map((g) => `GPU ${g.index}: ${g.name}`) : [];
      options = await askOptions(name, gpus, checkpoints.length >= 3);
      if (!options) return { ok: false, message: 'cancelled', cancelled: true };
    }
    if (options.kind === 'interpolate' && (!options.from || !options.to)) {
      const ends = interpolationEnds(checkpoints);
      if (!ends) return fail(`Descent: ${name} has only one checkpoint; interpolation needs two (e.g. the initial weights and the final model).`);
      options.from ??= ends.from;
      options.to ??= ends.to;
    }
    if (options.kind === 'pca' && checkpoints.length < 3) {
      return fail(`Descent: the training path needs at least 3 checkpoints of ${name} (it has ${checkpoints.length}); train with per-epoch checkpoints ("trajectory_checkpoints": true in config.json).`);
    }
    options.name ??= defaultName(options);
    const dir = path.join(run.found.dir, LANDSCAPES_DIR, options.name);
    if (fs.existsSync(path.join(dir, LANDSCAPE_FILE))) return fail(`Descent: a landscape named ${options.name} already exists in ${name}; choose another name.`);
    const args = engineArgs(run.found.dir, options);
    return this.launch(run, dir, python, args, `loss landscape of ${name} (${KIND_LABELS[options.kind].label})`);
  }

  private launch(run: RunEntry, dir: string, python: string, args: string[], title: string): Promise<PlotResult> {
    const cwd = run.reader.info?.cwd && fs.existsSync(run.reader.info.cwd) ? run.reader.info.cwd : run.found.dir;
    return this.follow(dir, title, run.summary().name, (job) => job.start(python, args, cwd, this.deps.context.asAbsolutePath('python')));
  }

  /** Starts a job, opens its panel at once (it fills in as the engine writes landscape.json), reports the end. */
  private follow(dir: string, title: string, owner: string, start: (job: LandscapeJob) => void): Promise<PlotResult> {
    const job = new LandscapeJob(dir, title, this.deps.log());
    this.jobs.set(dir, job);
    start(job);
    this.panels.show(dir);
    return Promise.resolve(showJobProgress(job)).then((o) => {
      this.jobs.delete(dir);
      this.panels.refresh(dir);
      if (o.status === 'failed') {
        void vscode.window.showErrorMessage(`Descent: the loss landscape of ${owner} failed: ${o.message}`, 'Show Log').then((b) => {
          if (b) this.deps.log().show(true);
        });
      } else if (o.status === 'cancelled') {
        void vscode.window.showInformationMessage(`Descent: landscape cancelled; the points computed so far are kept. Resume it from the panel or with Descent: Resume Loss Landscape.`);
      }
      return { ok: true as const, dir, status: o.status, message: o.message };
    });
  }

  /** An ONNX model (explorer context menu, or { onnx, data, options }): the ONNX engine in a worker thread. */
  private async plotOnnx(model: string, arg: unknown): Promise<PlotResult> {
    const fail = (message: string): PlotResult => {
      void vscode.window.showErrorMessage(message);
      return { ok: false, message };
    };
    const given = typeof arg === 'object' && arg !== null && !(arg instanceof vscode.Uri) ? (arg as Record<string, unknown>) : {};
    let data = typeof given.data === 'string' ? given.data : undefined;
    if (!data) {
      const picked = await vscode.window.showOpenDialog({
        title: `The data to compute the loss of ${path.basename(model)} on: an .npz with x (samples shaped like the model input) and y (integer labels)`,
        filters: { 'NumPy arrays': ['npz'] },
        defaultUri: vscode.Uri.file(path.dirname(model)),
        openLabel: 'Use this data',
      });
      data = picked?.[0]?.fsPath;
      if (!data) return { ok: false, message: 'cancelled', cancelled: true };
    }
    let options: LandscapeOptions | undefined;
    if ('options' in given) {
      const parsed = parseOptions(given.options);
      if (typeof parsed === 'string') return fail(`Descent: Plot Loss Landscape: ${parsed}.`);
      options = parsed;
    } else {
      options = await askOptions(path.basename(model), [], false, true);
      if (!options) return { ok: false, message: 'cancelled', cancelled: true };
    }
    if (options.kind !== '2d' && options.kind !== '1d') return fail('Descent: ONNX models get 1D and 2D landscapes along random directions; the training path and interpolation need the run’s checkpoints.');
    options.name ??= defaultName(options);
    const dir = path.join(path.dirname(model), LANDSCAPES_DIR, options.name);
    if (fs.existsSync(path.join(dir, LANDSCAPE_FILE))) return fail(`Descent: a landscape named ${options.name} already exists next to ${path.basename(model)}; choose another name.`);
    const axis = { min: -options.range, max: options.range, num: options.resolution };
    const request: OnnxLandscapeRequest = {
      modelPath: model,
      dataPath: data,
      dir,
      dims: options.kind === '2d' ? 2 : 1,
      x: axis,
      ...(options.kind === '2d' ? { y: axis } : {}),
      normalization: 'filter',
      ignore: 'biasbn',
      seed: options.seed,
      samples: options.samples,
      batchSize: 256,
    };
    return this.followOnnx(request, `loss landscape of ${path.basename(model)} (ONNX)`);
  }

  private followOnnx(request: OnnxLandscapeRequest, title: string): Promise<PlotResult> {
    return this.follow(request.dir, title, path.basename(request.modelPath), (job) => job.startWorker(path.join(__dirname, 'landscapeOnnxWorker.js'), request));
  }

  /** Continues a cancelled or failed landscape (its computed points are kept). */
  async resume(arg?: unknown): Promise<PlotResult> {
    if (!(await confirmTrust())) return { ok: false, message: 'the workspace is not trusted' };
    let dir = this.landscapeDirOf(arg);
    // From a run (Runs view): its unfinished landscapes; from the palette: those of every run.
    const run = dir || arg === undefined ? undefined : this.runOf(arg);
    if (!dir) dir = await this.pickLandscape('Resume which landscape?', undefined, (s) => s === 'cancelled' || s === 'failed', run);
    if (!dir) return { ok: false, message: 'cancelled', cancelled: true };
    if (this.jobs.get(dir)?.running) {
      this.panels.show(dir);
      return { ok: false, message: 'already computing' };
    }
    const entry = readLandscape(dir);
    const r = entry.result;
    if (!r) {
      void vscode.window.showErrorMessage(`Descent: cannot resume ${dir}: ${entry.problems.join('; ')}`);
      return { ok: false, message: entry.problems.join('; ') };
    }
    if (r.engine === 'onnx') {
      const p = r.parameters;
      if (typeof p.model !== 'string' || typeof p.data !== 'string') return { ok: false, message: 'the landscape does not say which model and data it used' };
      return this.followOnnx(
        {
          modelPath: p.model,
          dataPath: p.data,
          dir,
          dims: r.grid.dims,
          x: r.grid.x,
          ...(r.grid.y ? { y: r.grid.y } : {}),
          normalization: r.directions.normalization === 'layer' ? 'layer' : r.directions.normalization === 'none' ? 'none' : 'filter',
          ignore: r.directions.ignore === 'none' ? 'none' : 'biasbn',
          seed: r.directions.seed ?? 0,
          samples: r.data.samples ?? 1000,
          batchSize: r.data.batchSize ?? 256,
          resume: true,
        },
        `resuming the loss landscape ${r.name}`,
      );
    }
    await this.store.flush();
    const owner = this.store.runOf(runDirOfLandscape(dir));
    const snap = await this.environment();
    if (!owner || !snap.interpreter) {
      const message = !owner ? `the run of ${dir} is not in the Runs view` : 'no Python interpreter found';
      void vscode.window.showErrorMessage(`Descent: cannot resume the landscape: ${message}.`);
      return { ok: false, message };
    }
    return this.launch(owner, dir, snap.interpreter.path, resumeArgs(owner.found.dir, path.basename(dir), r), `resuming the loss landscape ${r.name}`);
  }

  /** Opens a landscape: a landscape folder, the landscapes of a run (quick pick), or any landscape (quick pick). */
  async open(arg?: unknown): Promise<{ ok: boolean; dir?: string }> {
    let dir = this.landscapeDirOf(arg);
    if (!dir) {
      const run = arg === undefined ? undefined : this.runOf(arg);
      dir = await this.pickLandscape('Open which loss landscape?', undefined, undefined, run);
    }
    if (!dir) return { ok: false };
    this.panels.show(dir);
    return { ok: true, dir };
  }

  private landscapeDirOf(arg: unknown): string | undefined {
    let v: unknown = arg;
    if (v && typeof v === 'object' && !(v instanceof vscode.Uri)) v = (v as Record<string, unknown>).landscape ?? (v as Record<string, unknown>).dir;
    const p = v instanceof vscode.Uri ? v.fsPath : typeof v === 'string' ? v : undefined;
    if (!p) return undefined;
    const dir = path.basename(p) === LANDSCAPE_FILE ? path.dirname(p) : p;
    return fs.existsSync(path.join(dir, LANDSCAPE_FILE)) ? dir : undefined;
  }

  private async pickLandscape(title: string, exclude?: string, status?: (s: string) => boolean, only?: RunEntry): Promise<string | undefined> {
    await this.store.flush();
    const runs = only ? [only] : this.store.list().filter((r) => r.found.kind === 'descent');
    const items = runs.flatMap((r) =>
      listLandscapes(r.found.dir)
        .filter((l) => l.dir !== exclude && (!status || status(l.status)))
        .map((l) => ({ label: l.name, description: l.description, detail: r.summary().name, dir: l.dir })),
    );
    if (items.length === 0) {
      void vscode.window.showInformationMessage(
        only ? `Descent: ${only.summary().name} has no loss landscape yet: Descent: Plot Loss Landscape computes one.` : 'Descent: no loss landscape found in the runs of this workspace. Descent: Plot Loss Landscape computes one from a run.',
      );
      return undefined;
    }
    const pick = await vscode.window.showQuickPick(items, { title, matchOnDetail: true });
    return pick?.dir;
  }
}
