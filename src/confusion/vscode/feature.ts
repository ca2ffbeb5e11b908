// The confusion matrix feature inside dist/confusion.js: opens panels from a run (Runs view, curves panel, palette),
// from an evaluation result (showConfusion), and when VS Code restores one after a reload.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  CONFUSION_VIEW_TYPE, type ConfusionComparison, type ConfusionSource, type ConfusionState,
} from '../../protocol/confusion';
import type { RunsApi } from '../../runs/runsView';
import { alignToLabels } from '../metrics';
import { readRunMatrices } from '../runMatrices';
import { ConfusionPanel, type RenderedInfo } from './panel';
import { loadStoredSource, storeSource } from './storage';

export interface ConfusionPanelInfo {
  title: string;
  n: number;
  matrices: number;
  splits: string[];
  runDir: string | undefined;
  samples: number;
  comparison: string | undefined;
  visible: boolean;
  rendered: RenderedInfo | undefined;
}

const HOW_TO_LOG = 'Log one with descent.log.confusion(labels, matrix, split="val", epoch=epoch), or evaluate a model (Descent: Evaluate Model).';

interface RunChoice {
  dir: string;
  name: string;
}

export class ConfusionFeature implements vscode.Disposable {
  private readonly openPanels = new Set<ConfusionPanel>();

  constructor(private readonly context: vscode.ExtensionContext) {}

  panels(): ConfusionPanelInfo[] {
    return [...this.openPanels].map((p) => ({
      title: p.host.panel.title,
      n: p.source.labels.length,
      matrices: p.source.matrices.length,
      splits: [...new Set(p.source.matrices.map((m) => m.split))],
      runDir: p.source.runDir,
      samples: p.source.samples?.reduce((a, s) => a + s.yTrue.length, 0) ?? 0,
      comparison: p.source.comparison?.title,
      visible: p.host.visible,
      rendered: p.rendered,
    }));
  }

  /** descent.showConfusionMatrix: a Runs view node, a run key or folder (string / Uri), or nothing (quick pick). */
  async showFromRun(arg?: unknown): Promise<ConfusionPanelInfo | undefined> {
    const run = arg === undefined ? await this.pickRun('Show the confusion matrix of a run', undefined) : this.resolveRun(arg);
    if (!run) {
      if (arg !== undefined) void vscode.window.showErrorMessage(`Descent: ${String(arg instanceof vscode.Uri ? arg.fsPath : typeof arg === 'string' ? arg : 'that')} is not a run folder.`);
      return undefined;
    }
    for (const p of this.openPanels) {
      if (p.source.runDir === run.dir) {
        p.host.reveal();
        return this.panels().find((i) => i.runDir === run.dir);
      }
    }
    const source = await this.readRun(run);
    if (!source) return undefined;
    const panel = this.open(source, vscode.ViewColumn.Active);
    return this.panels()[[...this.openPanels].indexOf(panel)];
  }

  showSource(source: ConfusionSource): void {
    const panel = this.open(source, vscode.ViewColumn.Active);
    if (source.runDir === undefined) {
      // Kept so the panel comes back after a reload; the webview saves the id with its state.
      void storeSource(this.context, source).then(
        (id) => {
          panel.storedId = id;
          panel.host.post({ type: 'stored', id });
        },
        () => undefined,
      );
    }
  }

  async revive(webviewPanel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const origin = (state as ConfusionState | undefined)?.origin;
    let source: ConfusionSource | undefined;
    if (origin?.kind === 'run' && typeof origin.dir === 'string') source = await this.readRun({ dir: origin.dir, name: path.basename(origin.dir) }, true);
    else if (origin?.kind === 'stored' && typeof origin.id === 'string') source = await loadStoredSource(this.context, origin.id);
    const panel = this.adopt(webviewPanel, source ?? { title: 'confusion matrix no longer available', labels: [], matrices: [] });
    if (origin?.kind === 'stored' && source) panel.storedId = origin.id;
  }

  dispose(): void {
    for (const p of [...this.openPanels]) p.host.dispose();
  }

  private open(source: ConfusionSource, column: vscode.ViewColumn): ConfusionPanel {
    const title = `Confusion: ${source.title}`;
    const panel = vscode.window.createWebviewPanel(CONFUSION_VIEW_TYPE, title.length > 60 ? `${title.slice(0, 59)}…` : title, column, {
      enableScripts: true,
      enableCommandUris: false,
      localResourceRoots: [vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'webview')],
      retainContextWhenHidden: false,
    });
    return this.adopt(panel, source);
  }

  private adopt(webviewPanel: vscode.WebviewPanel, source: ConfusionSource): ConfusionPanel {
    const panel = new ConfusionPanel(webviewPanel, this.context.extensionUri, source, {
      pickComparison: (p) => this.pickComparison(p),
    });
    this.openPanels.add(panel);
    panel.host.onDidDispose(() => this.openPanels.delete(panel));
    return panel;
  }

  private runs(): RunsApi | undefined {
    return (this.context.extension.exports as { runs?: RunsApi } | undefined)?.runs;
  }

  private resolveRun(arg: unknown): RunChoice | undefined {
    const store = this.runs()?.store;
    const byKey = (key: string): RunChoice | undefined => {
      const entry = store?.get(key) ?? store?.runOf(key);
      return entry ? { dir: entry.found.dir, name: entry.summary().name } : undefined;
    };
    const byDir = (dir: string): RunChoice | undefined =>
      byKey(dir) ?? (fs.existsSync(dir) && fs.statSync(dir).isDirectory() ? { dir, name: path.basename(dir) } : undefined);
    if (arg instanceof vscode.Uri) return byDir(arg.fsPath);
    if (typeof arg === 'string') return byKey(arg) ?? byDir(arg);
    if (typeof arg === 'object' && arg !== null) {
      const o = arg as { key?: unknown; dir?: unknown };
      if (typeof o.key === 'string') return byKey(o.key) ?? (typeof o.dir === 'string' ? byDir(o.dir) : undefined);
      if (typeof o.dir === 'string') return byDir(o.dir);
    }
    return undefined;
  }

  /** Runs that logged at least one confusion matrix, newest first. */
  private async runsWithMatrices(exceptDir: string | undefined): Promise<RunChoice[]> {
    const runs = this.runs();
    if (!runs) return [];
    const list = await runs.list();
    return list
      .filter((s) => s.dir !== exceptDir && (runs.store.get(s.key)?.reader.confusions ?? 0) > 0)
      .map((s) => ({ dir: s.dir, name: s.name }));
  }

  private async pickRun(placeHolder: string, exceptDir: string | undefined): Promise<RunChoice | undefined> {
    const choices = await this.runsWithMatrices(exceptDir);
    if (choices.length === 0) {
      void vscode.window.showInformationMessage(`No${exceptDir ? ' other' : ''} run in this workspace has a confusion matrix. ${HOW_TO_LOG}`);
      return undefined;
    }
    const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '';
    const picked = await vscode.window.showQuickPick(
      choices.map((c) => ({ label: c.name, detail: path.relative(root, c.dir) || c.dir, choice: c })),
      { placeHolder, matchOnDetail: true },
    );
    return picked?.choice;
  }

  private async readRun(run: RunChoice, quiet = false): Promise<ConfusionSource | undefined> {
    const read = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: `Reading the confusion matrices of ${run.name}` },
      () => readRunMatrices(run.dir, run.name),
    ).then(undefined, (e: unknown) => {
      void vscode.window.showErrorMessage(`Descent: could not read ${path.join(run.dir, 'events.jsonl')}: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    });
    if (!read) return undefined;
    if (!read.source) {
      if (!quiet) {
        const broken = read.problems > 0 ? ` ${read.problems} line(s) of events.jsonl were skipped (${read.firstProblem}).` : '';
        void vscode.window.showInformationMessage(`${run.name} has no confusion matrix.${broken} ${HOW_TO_LOG}`);
      }
      return undefined;
    }
    if (read.problems > 0 && !quiet) {
      void vscode.window.showWarningMessage(`Descent: ${read.problems} broken line(s) of ${run.name}'s events.jsonl were skipped (${read.firstProblem}).`);
    }
    return read.source;
  }

  private async pickComparison(panel: ConfusionPanel): Promise<ConfusionComparison | undefined> {
    const run = await this.pickRun(`Compare ${panel.source.title} with`, panel.source.runDir);
    if (!run) return undefined;
    const other = await this.readRun(run);
    if (!other) return undefined;
    const labels = panel.source.labels;
    const shared = other.labels.filter((l) => labels.includes(l)).length;
    if (shared === 0) {
      void vscode.window.showErrorMessage(`Descent: ${run.name} has no class in common with ${panel.source.title}; a difference matrix needs the same classes.`);
      return undefined;
    }
    if (shared < labels.length) {
      void vscode.window.showWarningMessage(`Descent: ${run.name} has ${shared} of the ${labels.length} classes; the others count as zero in the difference.`);
    }
    return {
      title: other.title,
      labels,
      matrices: other.matrices.map((m) => ({ ...m, counts: Array.from(alignToLabels(m.counts, other.labels, labels)) })),
    };
  }
}
