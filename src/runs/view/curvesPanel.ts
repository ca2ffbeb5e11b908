// Descent: Show Training Curves / Compare Runs: one webview panel per set of runs (webview/curves). The panel gets a
// snapshot on `ready`, then deltas of new points while it is visible (the store's change events are coalesced to at
// most one message per 100 ms); it comes back after a window reload with the same runs (serializer).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { registerWebviewPanelSerializer } from '../../shell/registry';
import { PanelHost, type PanelDefinition } from '../../common/webview/panelHost';
import type { CurveRun, CurvesState, CurvesToHost, CurvesToWebview } from '../../protocol/curves';
import type { RunEntry, RunStore } from '../store/runStore';
import { runProgress } from './progress';
import { DeltaTracker } from './wire';

export const CURVES_VIEW_TYPE = 'descent.curves';
const DELTA_INTERVAL_MS = 100;

class CurvesPanel implements vscode.Disposable {
  readonly host: PanelHost<CurvesToWebview, CurvesToHost>;
  private readonly tracker = new DeltaTracker();
  private readonly subscriptions: { dispose(): void }[] = [];
  private pending = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Messages posted (for tests and the bench). */
  stats = { snapshots: 0, deltas: 0, points: 0 };

  constructor(
    panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    private readonly store: RunStore,
    readonly keys: string[],
  ) {
    const def: PanelDefinition<CurvesToWebview, CurvesToHost> = {
      viewType: CURVES_VIEW_TYPE,
      title: panel.title,
      app: 'curves',
      snapshot: () => this.snapshot(),
      onMessage: (m) => void this.onMessage(m),
    };
    this.host = new PanelHost(panel, extensionUri, def);
    this.subscriptions.push(
      store.onDidChange((c) => {
        for (const k of c.changed) if (this.keys.includes(k)) this.pending.add(k);
        if (c.structural) for (const k of this.keys) this.pending.add(k);
        if (this.pending.size > 0 && this.timer === undefined) this.timer = setTimeout(() => this.flush(), DELTA_INTERVAL_MS);
      }),
    );
    this.host.onDidDispose(() => this.dispose());
  }

  get title(): string {
    return this.host.panel.title;
  }

  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    for (const s of this.subscriptions.splice(0)) s.dispose();
  }

  private runs(): RunEntry[] {
    return this.keys.map((k) => this.store.get(k)).filter((r): r is RunEntry => r !== undefined);
  }

  private describe(run: RunEntry): CurveRun {
    const s = run.summary();
    return {
      key: run.key,
      name: s.name,
      kind: s.kind,
      status: s.status,
      startT: s.startMs !== undefined ? s.startMs / 1000 : (run.reader.firstT ?? null),
      progress: runProgress(s.info?.hyperparameters, run.series, s.status === 'running'),
      index: this.keys.indexOf(run.key),
      confusions: run.reader.confusions,
    };
  }

  private snapshot(): CurvesToWebview {
    this.tracker.clear();
    this.pending.clear();
    this.stats.snapshots++;
    const runs = this.runs();
    const series = runs.flatMap((r) => this.tracker.collect(r.key, r.series, r.reader.resets, true));
    return {
      type: 'snapshot',
      title: this.title,
      runs: runs.map((r) => this.describe(r)),
      series,
      missing: this.keys.filter((k) => !this.store.get(k)),
    };
  }

  private flush(): void {
    this.timer = undefined;
    // Hidden: nothing is sent; the webview asks for a snapshot when it is shown again.
    if (!this.host.visible) return;
    const runs = [...this.pending].map((k) => this.store.get(k)).filter((r): r is RunEntry => r !== undefined);
    this.pending.clear();
    const series = runs.flatMap((r) => this.tracker.collect(r.key, r.series, r.reader.resets, false));
    this.stats.deltas++;
    this.stats.points += series.reduce((n, s) => n + s.committed.step.length, 0);
    this.host.post({ type: 'delta', runs: runs.map((r) => this.describe(r)), series });
  }

  private async onMessage(m: CurvesToHost): Promise<void> {
    if (m.type === 'openFolder') {
      const run = this.store.get(m.run);
      if (run) await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(run.found.file ?? run.found.dir));
    } else if (m.type === 'showConfusion') {
      const run = this.store.get(m.run);
      if (run) await vscode.commands.executeCommand('descent.showConfusionMatrix', run.found.dir);
    } else if (m.type === 'plotLandscape') {
      const run = this.store.get(m.run);
      if (run) await vscode.commands.executeCommand('descent.plotLossLandscape', { run: run.found.dir });
    } else if (m.type === 'exportCsv') {
      await saveExport(m.suggestedName, 'CSV', 'csv', Buffer.from(m.csv, 'utf8'));
    } else if (m.type === 'exportPng') {
      // Only a PNG data URL is accepted from the webview, decoded here; nothing else reaches the disk.
      const prefix = 'data:image/png;base64,';
      if (m.dataUrl.startsWith(prefix)) await saveExport(m.suggestedName, 'PNG image', 'png', Buffer.from(m.dataUrl.slice(prefix.length), 'base64'));
    }
  }
}

/** Asks where to save an export (default: the workspace folder) and writes it there. */
async function saveExport(suggestedName: string, kind: string, ext: string, bytes: Uint8Array): Promise<void> {
  const base = vscode.workspace.workspaceFolders?.[0]?.uri;
  const target = await vscode.window.showSaveDialog({
    defaultUri: base ? vscode.Uri.joinPath(base, path.basename(suggestedName)) : undefined,
    filters: { [kind]: [ext] },
  });
  if (target) await vscode.workspace.fs.writeFile(target, bytes);
}

/** Opens, reveals and revives curves panels. */
export class CurvesPanels implements vscode.Disposable {
  private readonly panels = new Set<CurvesPanel>();
  private readonly serializer: vscode.Disposable;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly store: RunStore,
  ) {
    this.serializer = registerWebviewPanelSerializer(CURVES_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state: unknown) => {
        const keys = Array.isArray((state as CurvesState | undefined)?.runs) ? (state as CurvesState).runs.filter((k) => typeof k === 'string') : [];
        await store.flush();
        this.adopt(panel, keys);
      },
    });
  }

  /** The open panels (tests). */
  get open(): { keys: string[]; title: string; visible: boolean; stats: CurvesPanel['stats'] }[] {
    return [...this.panels].map((p) => ({ keys: p.keys, title: p.title, visible: p.host.visible, stats: p.stats }));
  }

  show(keys: string[]): void {
    const id = [...keys].sort().join('\n');
    for (const p of this.panels) {
      if ([...p.keys].sort().join('\n') === id) {
        p.host.reveal();
        return;
      }
    }
    const names = keys.map((k) => this.store.get(k)?.summary().name ?? path.basename(k));
    const title = keys.length === 1 ? `Curves: ${names[0]}` : `Compare: ${names.join(', ')}`;
    const panel = vscode.window.createWebviewPanel(CURVES_VIEW_TYPE, title.length > 60 ? `${title.slice(0, 59)}…` : title, vscode.ViewColumn.Active, {
      enableScripts: true,
      enableCommandUris: false,
      localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview')],
      retainContextWhenHidden: false,
    });
    this.adopt(panel, keys);
  }

  dispose(): void {
    this.serializer.dispose();
    for (const p of [...this.panels]) p.host.dispose();
  }

  private adopt(panel: vscode.WebviewPanel, keys: string[]): void {
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'descent-activity.svg');
    const p = new CurvesPanel(panel, this.extensionUri, this.store, keys);
    this.panels.add(p);
    p.host.onDidDispose(() => this.panels.delete(p));
  }
}
