// One confusion matrix panel: sends the source on `ready`, answers the webview's requests (comparison run, sample
// thumbnails, PNG / CSV export) and remembers what it last rendered (for tests through DescentApi).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { PanelHost, type PanelDefinition } from '../../common/webview/panelHost';
import {
  CONFUSION_VIEW_TYPE, type ConfusionComparison, type ConfusionSource, type ConfusionToHost, type ConfusionToWebview,
} from '../../protocol/confusion';
import { matrixCsv, metricsCsv } from '../csv';
import { readThumbnails } from './thumbnails';

export type RenderedInfo = Omit<Extract<ConfusionToHost, { type: 'rendered' }>, 'type'>;

export interface PanelActions {
  /** Asks the user for a run to compare with; undefined when cancelled or nothing fits. */
  pickComparison(panel: ConfusionPanel): Promise<ConfusionComparison | undefined>;
}

export class ConfusionPanel {
  readonly host: PanelHost<ConfusionToWebview, ConfusionToHost>;
  rendered: RenderedInfo | undefined;
  /** Id under which the host stored an evaluation's source (storage.ts), for the webview's saved state. */
  storedId: string | undefined;

  constructor(
    panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    public source: ConfusionSource,
    private readonly actions: PanelActions,
  ) {
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'descent-activity.svg');
    const def: PanelDefinition<ConfusionToWebview, ConfusionToHost> = {
      viewType: CONFUSION_VIEW_TYPE,
      title: panel.title,
      app: 'confusion',
      snapshot: () => (this.storedId ? { type: 'snapshot', source: this.source, storedId: this.storedId } : { type: 'snapshot', source: this.source }),
      onMessage: (m) => void this.receive(m).catch((e: unknown) => {
        void vscode.window.showErrorMessage(`Descent: ${e instanceof Error ? e.message : String(e)}`);
      }),
    };
    this.host = new PanelHost(panel, extensionUri, def);
  }

  private async receive(m: ConfusionToHost): Promise<void> {
    switch (m.type) {
      case 'rendered': {
        const { type: _type, ...info } = m;
        this.rendered = info;
        return;
      }
      case 'pickComparison': {
        const comparison = await this.actions.pickComparison(this);
        if (comparison) this.setComparison(comparison);
        return;
      }
      case 'clearComparison':
        this.setComparison(undefined);
        return;
      case 'thumbnails': {
        const samples = this.source.samples?.find((s) => s.split === m.split);
        const items = await readThumbnails(samples?.samplePaths ?? [], m.indices);
        this.host.post({ type: 'thumbnails', requestId: m.requestId, items });
        return;
      }
      case 'openSample': {
        const file = this.source.samples?.find((s) => s.split === m.split)?.samplePaths?.[m.index];
        if (file) await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(file));
        return;
      }
      case 'exportPng': {
        const match = /^data:image\/png;base64,([A-Za-z0-9+/=]+)$/.exec(m.dataUrl);
        if (!match) throw new Error('the panel sent an image that is not a PNG');
        await this.save(m.suggestedName, 'png', Buffer.from(match[1]!, 'base64'));
        return;
      }
      case 'exportCsv': {
        const matrix = this.source.matrices[m.matrix];
        if (!matrix) throw new Error('that matrix is no longer in the panel');
        const text = m.what === 'metrics' ? metricsCsv(matrix.counts, this.source.labels) : matrixCsv(matrix.counts, this.source.labels, m.view);
        await this.save(m.suggestedName, 'csv', Buffer.from(text, 'utf8'));
        return;
      }
      default:
        return;
    }
  }

  setComparison(comparison: ConfusionComparison | undefined): void {
    if (comparison) this.source = { ...this.source, comparison };
    else {
      const { comparison: _c, ...rest } = this.source;
      this.source = rest;
    }
    this.host.post({ type: 'comparison', comparison });
  }

  private async save(suggestedName: string, ext: 'png' | 'csv', bytes: Uint8Array): Promise<void> {
    const base = vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(this.source.runDir ?? process.cwd());
    const clean = path.basename(suggestedName).replace(/[^\w.-]+/g, '_') || `confusion.${ext}`;
    const target = await vscode.window.showSaveDialog({
      defaultUri: vscode.Uri.joinPath(base, clean),
      filters: ext === 'png' ? { 'PNG image': ['png'] } : { CSV: ['csv'] },
      title: ext === 'png' ? 'Save the confusion matrix as PNG' : 'Save as CSV',
    });
    if (!target) return;
    await vscode.workspace.fs.writeFile(target, bytes);
    void vscode.window.showInformationMessage(`Saved ${path.basename(target.fsPath)}.`);
  }
}
