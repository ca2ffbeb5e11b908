// The loss landscape panel (webview/landscape): one panel per landscape folder, optionally with a second landscape
// beside it. The landscape.json of a running computation is re-read as the engine rewrites it (a file watcher plus
// a stat poll while it is not final: watchers miss renames on some file systems), and the panel gets a fresh
// snapshot (a 51x51 grid is ~40 KB of JSON: no deltas needed). Panels come back after a reload (serializer).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { PanelHost, webviewOptions, type PanelDefinition } from '../../common/webview/panelHost';
import { LANDSCAPE_FILE, LANDSCAPE_VIEW_TYPE, type LandscapeEntry, type LandscapeState, type LandscapeToHost, type LandscapeToWebview } from '../../protocol/landscape';
import { landscapeCsv, landscapeVtk } from '../exporters';
import { readLandscape } from '../read';

const POLL_MS = 400;

export interface PanelActions {
  /** Whether this window's launcher is computing the landscape in `dir`. */
  computing(dir: string): boolean;
  cancel(dir: string): void;
  resume(dir: string): void;
  /** Asks for another landscape to compare with; undefined when none was picked. */
  pickOther(exclude: string): Promise<string | undefined>;
}

class LandscapePanel implements vscode.Disposable {
  readonly host: PanelHost<LandscapeToWebview, LandscapeToHost>;
  private compareDir: string | null;
  private primary: LandscapeEntry;
  private compare: LandscapeEntry | null = null;
  private stamp = '';
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly watcher: vscode.FileSystemWatcher;
  snapshots = 0;

  constructor(
    panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    readonly dir: string,
    compareDir: string | null,
    private readonly actions: PanelActions,
  ) {
    this.compareDir = compareDir;
    this.primary = readLandscape(dir, actions.computing(dir));
    this.stamp = this.fileStamp();
    if (compareDir) this.compare = readLandscape(compareDir);
    const def: PanelDefinition<LandscapeToWebview, LandscapeToHost> = {
      viewType: LANDSCAPE_VIEW_TYPE,
      title: panel.title,
      app: 'landscape',
      snapshot: () => {
        this.snapshots++;
        return { type: 'snapshot', primary: this.primary, compare: this.compare };
      },
      onMessage: (m) => void this.onMessage(m),
    };
    this.host = new PanelHost(panel, extensionUri, def);
    this.watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(dir), LANDSCAPE_FILE));
    const changed = () => this.reload();
    this.watcher.onDidChange(changed);
    this.watcher.onDidCreate(changed);
    this.timer = setInterval(() => {
      const live = this.actions.computing(this.dir) || this.primary.result === null || this.primary.result.status === 'running';
      if (live || this.primary.computing) this.reload();
    }, POLL_MS);
    this.host.onDidDispose(() => this.dispose());
  }

  get state(): { dir: string; compareDir: string | null; status: string | null; snapshots: number; visible: boolean } {
    return { dir: this.dir, compareDir: this.compareDir, status: this.primary.result?.status ?? null, snapshots: this.snapshots, visible: this.host.visible };
  }

  /** Reads the file again when it changed (or the computing flag did) and sends a snapshot. */
  reload(force = false): void {
    const stamp = this.fileStamp();
    const computing = this.actions.computing(this.dir);
    if (!force && stamp === this.stamp && computing === this.primary.computing) return;
    this.stamp = stamp;
    this.primary = readLandscape(this.dir, computing);
    this.host.sendSnapshot();
  }

  dispose(): void {
    clearInterval(this.timer);
    this.watcher.dispose();
  }

  private fileStamp(): string {
    try {
      const s = fs.statSync(path.join(this.dir, LANDSCAPE_FILE));
      return `${s.mtimeMs}:${s.size}:${s.ino}`;
    } catch {
      return 'missing';
    }
  }

  private async onMessage(m: LandscapeToHost): Promise<void> {
    switch (m.type) {
      case 'cancel':
        this.actions.cancel(this.dir);
        return;
      case 'resume':
        this.actions.resume(this.dir);
        return;
      case 'openFolder':
        await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(path.join(this.dir, LANDSCAPE_FILE)));
        return;
      case 'pickCompare': {
        const other = await this.actions.pickOther(this.dir);
        if (!other) return;
        this.compareDir = other;
        this.compare = readLandscape(other);
        this.host.sendSnapshot();
        return;
      }
      case 'clearCompare':
        this.compareDir = null;
        this.compare = null;
        this.host.sendSnapshot();
        return;
      case 'export':
        await this.export(m);
        return;
    }
  }

  private async export(m: Extract<LandscapeToHost, { type: 'export' }>): Promise<void> {
    const entry = m.which === 'compare' ? this.compare : this.primary;
    const r = entry?.result;
    if (!entry || !r) return;
    const base = `${entry.runName}-${r.name}`.replace(/[^A-Za-z0-9._-]/g, '_');
    const filters: Record<string, Record<string, string[]>> = { png: { 'PNG image': ['png'] }, csv: { CSV: ['csv'] }, vtk: { 'VTK (ParaView)': ['vtk'] } };
    let data: Buffer;
    if (m.format === 'png') {
      const match = /^data:image\/png;base64,([A-Za-z0-9+/=]+)$/.exec(m.dataUrl ?? '');
      if (!match) {
        void vscode.window.showErrorMessage('Descent: the picture could not be taken from the panel.');
        return;
      }
      data = Buffer.from(match[1]!, 'base64');
    } else {
      data = Buffer.from(m.format === 'csv' ? landscapeCsv(r) : landscapeVtk(r), 'utf8');
    }
    const target = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(path.join(entry.dir, `${base}.${m.format}`)), filters: filters[m.format] });
    if (!target) return;
    await vscode.workspace.fs.writeFile(target, data);
    void vscode.window.showInformationMessage(`Descent: saved ${vscode.workspace.asRelativePath(target)}${m.format === 'vtk' ? ' (open it in ParaView)' : ''}.`);
  }
}

/** Opens, reveals and revives landscape panels. */
export class LandscapePanels implements vscode.Disposable {
  private readonly panels = new Set<LandscapePanel>();

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly actions: PanelActions,
  ) {}

  get open(): LandscapePanel['state'][] {
    return [...this.panels].map((p) => p.state);
  }

  show(dir: string): void {
    for (const p of this.panels) {
      if (p.dir === dir) {
        p.host.reveal();
        p.reload(true);
        return;
      }
    }
    const title = `Landscape: ${path.basename(path.dirname(path.dirname(dir)))} / ${path.basename(dir)}`;
    const panel = vscode.window.createWebviewPanel(LANDSCAPE_VIEW_TYPE, title.length > 60 ? `${title.slice(0, 59)}…` : title, vscode.ViewColumn.Active, webviewOptions(this.extensionUri));
    this.adopt(panel, dir, null);
  }

  /** The computing state of `dir` changed: its panel shows or hides Cancel and reads the file again. */
  refresh(dir: string): void {
    for (const p of this.panels) if (p.dir === dir) p.reload(true);
  }

  /** Called by the serializer with the webview's saved state. */
  revive(panel: vscode.WebviewPanel, state: unknown): void {
    const s = state as Partial<LandscapeState> | undefined;
    const dir = typeof s?.dir === 'string' ? s.dir : undefined;
    if (!dir) {
      panel.dispose();
      return;
    }
    this.adopt(panel, dir, typeof s?.compareDir === 'string' ? s.compareDir : null);
  }

  dispose(): void {
    for (const p of [...this.panels]) p.host.dispose();
  }

  private adopt(panel: vscode.WebviewPanel, dir: string, compareDir: string | null): void {
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'descent-activity.svg');
    const p = new LandscapePanel(panel, this.extensionUri, dir, compareDir, this.actions);
    this.panels.add(p);
    p.host.onDidDispose(() => this.panels.delete(p));
  }
}
