// Hosts one webview panel: builds its HTML, answers the webview's `ready` with a full snapshot, sends deltas
// only while the panel is visible, sends a fresh snapshot when it becomes visible again, and disposes
// everything with the panel. Panels come back after a window reload through registerPanelSerializer.
import * as vscode from 'vscode';
import { registerWebviewPanelSerializer } from '../../shell/registry';
import { makeNonce, renderWebviewHtml } from './html';

export interface PanelDefinition<ToWebview, ToHost extends { type: string }> {
  viewType: string;
  title: string;
  /** Name of the app bundle: dist/webview/<app>.js and .css. */
  app: string;
  /** The full-state message sent after `ready` and whenever the panel becomes visible. */
  snapshot(): ToWebview;
  /** Messages other than `ready`. */
  onMessage(message: ToHost, host: PanelHost<ToWebview, ToHost>): void;
  /** Called on visibility changes (also once when created visible). */
  onVisibilityChanged?(visible: boolean): void;
}

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
  return {
    enableScripts: true,
    enableCommandUris: false,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview')],
    retainContextWhenHidden: false,
  };
}

export class PanelHost<ToWebview, ToHost extends { type: string }> implements vscode.Disposable {
  private ready = false;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly disposed = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposed.event;

  constructor(
    readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    private readonly def: PanelDefinition<ToWebview, ToHost>,
  ) {
    const web = panel.webview;
    web.options = webviewOptions(extensionUri);
    const asset = (file: string) => web.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', file)).toString();
    web.html = renderWebviewHtml({
      cspSource: web.cspSource,
      nonce: makeNonce(),
      title: def.title,
      scriptUri: asset(`${def.app}.js`),
      styleUri: asset(`${def.app}.css`),
      codiconUri: asset('codicon.css'),
    });
    this.disposables.push(
      this.disposed,
      web.onDidReceiveMessage((m: unknown) => this.receive(m)),
      panel.onDidChangeViewState((e) => {
        def.onVisibilityChanged?.(e.webviewPanel.visible);
        // A hidden webview is torn down (no retainContextWhenHidden); it says `ready` again when shown.
        if (!e.webviewPanel.visible) this.ready = false;
      }),
      panel.onDidDispose(() => this.dispose()),
    );
    def.onVisibilityChanged?.(panel.visible);
  }

  get visible(): boolean {
    return this.panel.visible;
  }

  /** Sends a delta; dropped when the panel is hidden or not ready (it gets a snapshot when it is). */
  post(message: ToWebview): void {
    if (this.ready && this.panel.visible) void this.panel.webview.postMessage(message);
  }

  sendSnapshot(): void {
    if (this.ready) void this.panel.webview.postMessage(this.def.snapshot());
  }

  reveal(): void {
    this.panel.reveal();
  }

  dispose(): void {
    this.def.onVisibilityChanged?.(false);
    const all = this.disposables.splice(0);
    this.disposed.fire();
    for (const d of all) d.dispose();
    this.panel.dispose();
  }

  private receive(raw: unknown): void {
    if (typeof raw !== 'object' || raw === null || typeof (raw as { type?: unknown }).type !== 'string') return;
    const message = raw as ToHost;
    if (message.type === 'ready') {
      this.ready = true;
      this.sendSnapshot();
      return;
    }
    this.def.onMessage(message, this);
  }
}

/** One panel per view type: reveals the open one or creates it; also revives it after a reload. */
export class SinglePanel<ToWebview, ToHost extends { type: string }> implements vscode.Disposable {
  private host: PanelHost<ToWebview, ToHost> | undefined;
  private readonly serializer: vscode.Disposable;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly def: PanelDefinition<ToWebview, ToHost>,
  ) {
    this.serializer = registerWebviewPanelSerializer(def.viewType, {
      deserializeWebviewPanel: async (panel) => {
        this.adopt(panel);
      },
    });
  }

  get current(): PanelHost<ToWebview, ToHost> | undefined {
    return this.host;
  }

  show(column: vscode.ViewColumn = vscode.ViewColumn.Active): PanelHost<ToWebview, ToHost> {
    if (this.host) {
      this.host.reveal();
      return this.host;
    }
    const panel = vscode.window.createWebviewPanel(this.def.viewType, this.def.title, column, webviewOptions(this.extensionUri));
    return this.adopt(panel);
  }

  dispose(): void {
    this.serializer.dispose();
    this.host?.dispose();
  }

  private adopt(panel: vscode.WebviewPanel): PanelHost<ToWebview, ToHost> {
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'descent-activity.svg');
    const host = new PanelHost(panel, this.extensionUri, this.def);
    host.onDidDispose(() => {
      if (this.host === host) this.host = undefined;
    });
    this.host = host;
    return host;
  }
}
