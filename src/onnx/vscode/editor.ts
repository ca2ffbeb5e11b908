// The ONNX model view: a read-only custom editor for .onnx files. Shows what the file holds (read by src/onnx/read.ts,
// nothing executed) and, in a trusted workspace, a Try it box that runs the model with onnxruntime-node on a drawing
// or an image file.
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import * as vscode from 'vscode';
import { PanelHost } from '../../common/webview/panelHost';
import { decodeImage } from '../../evaluate/readers/images';
import type { OnnxModelSummary, OnnxToHost, OnnxToWebview, PixelImage, TryItState } from '../../protocol/onnx';
import { labelsFromMetadata } from '../labels';
import { OnnxFormatError, nodeCount, operatorHistogram, readOnnxModel, type OnnxModelInfo } from '../read';
import { INPUT_SCALES, planTryIt, resizeRgba, type InputScale, type TryItPlan } from '../tryIt';
import { ModelSession } from './runtime';

export const ONNX_MODEL_VIEW_TYPE = 'descent.onnxModel';

/** What an open view has shown, for Descent's integration tests (DescentApi.onnx). */
export interface OnnxEditorProbe {
  readonly uri: string;
  /** What the webview reported drawing, in order. */
  readonly rendered: { what: string; detail: string }[];
  /** Handles a message as if the webview had sent it. */
  receive(message: OnnxToHost): void;
  /** The Try it box with an image file, without the file dialog. */
  tryImageFile(path: string): Promise<void>;
}

const openEditors = new Set<OnnxEditorProbe>();
export function onnxEditorProbes(): OnnxEditorProbe[] {
  return [...openEditors];
}

const scaleKey = (uri: vscode.Uri) => `descent.onnx.scale:${uri.toString()}`;

export function summarize(model: OnnxModelInfo, fileName: string, fileBytes: number): OnnxModelSummary {
  const g = model.graph;
  const tensor = (v: (typeof g.inputs)[number]) => ({ name: v.name, elemType: v.elemType, shape: v.shape });
  return {
    fileName,
    fileBytes,
    irVersion: model.irVersion,
    opsets: model.opsetImports,
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    domain: model.domain,
    modelVersion: model.modelVersion,
    docString: model.docString,
    graphName: g.name,
    inputs: g.inputs.map(tensor),
    outputs: g.outputs.map(tensor),
    initializerInputs: g.initializerInputs.length,
    parameterCount: model.parameterCount,
    parameterBytes: model.parameterBytes,
    initializerCount: g.initializers.length,
    nodeCount: nodeCount(g),
    operators: operatorHistogram(g),
    metadata: Object.entries(model.metadataProps),
    externalData: [...new Set(g.initializers.filter((i) => i.external).map((i) => i.externalData?.location ?? '?'))],
    functions: model.functions,
  };
}

class OnnxModelEditor implements OnnxEditorProbe {
  readonly uri: string;
  readonly rendered: { what: string; detail: string }[] = [];
  private state: OnnxToWebview | undefined;
  private model: OnnxModelInfo | undefined;
  private plan: TryItPlan | undefined;
  private labels: string[] | undefined;
  private session: ModelSession | undefined;
  private readonly host: PanelHost<OnnxToWebview, OnnxToHost>;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly document: vscode.CustomDocument,
    panel: vscode.WebviewPanel,
  ) {
    this.uri = document.uri.toString();
    this.host = new PanelHost<OnnxToWebview, OnnxToHost>(panel, context.extensionUri, {
      viewType: ONNX_MODEL_VIEW_TYPE,
      title: basename(document.uri.path),
      app: 'onnx',
      snapshot: () => this.snapshot(),
      onMessage: (m) => this.receive(m),
    });
    const folder = vscode.Uri.joinPath(document.uri, '..');
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(folder, basename(document.uri.path)));
    this.disposables.push(
      watcher,
      watcher.onDidChange(() => void this.reload()),
      watcher.onDidCreate(() => void this.reload()),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.host.sendSnapshot()),
    );
    this.host.onDidDispose(() => this.dispose());
    openEditors.add(this);
  }

  /** Reads and parses the file; the webview gets the result on `ready` (or now, when it is already showing). */
  async reload(): Promise<void> {
    const fileName = basename(this.document.uri.path);
    void this.session?.dispose();
    this.session = undefined;
    let bytes: Uint8Array;
    try {
      bytes = await vscode.workspace.fs.readFile(this.document.uri);
    } catch (e) {
      this.setInvalid(fileName, `${fileName} could not be read: ${(e as Error).message}`);
      return;
    }
    try {
      this.model = readOnnxModel(bytes);
    } catch (e) {
      const why = e instanceof OnnxFormatError ? e.message : String(e);
      this.setInvalid(fileName, `${fileName} cannot be shown. ${why} Export a model with torch.onnx.export(model, example_input, "${fileName}").`);
      return;
    }
    this.plan = planTryIt(this.model);
    this.labels = labelsFromMetadata(this.model.metadataProps);
    this.state = { type: 'model', model: summarize(this.model, fileName, bytes.length), tryIt: { kind: 'unsupported', reason: '' } };
    this.host.sendSnapshot();
  }

  private setInvalid(fileName: string, message: string): void {
    this.model = undefined;
    this.plan = undefined;
    this.state = { type: 'invalid', fileName, message };
    this.host.sendSnapshot();
  }

  private tryItState(): TryItState {
    if (!this.plan) return { kind: 'unsupported', reason: 'The model could not be read.' };
    if (!this.plan.ok) return { kind: 'unsupported', reason: this.plan.reason };
    if (!vscode.workspace.isTrusted) return { kind: 'untrusted' };
    return { kind: 'ready', spec: this.plan.spec, scale: this.scale(), labels: this.labels ?? null };
  }

  private snapshot(): OnnxToWebview {
    if (!this.state) return { type: 'loading', fileName: basename(this.document.uri.path) };
    return this.state.type === 'model' ? { ...this.state, tryIt: this.tryItState() } : this.state;
  }

  private scale(): InputScale {
    const saved = this.context.workspaceState.get<string>(scaleKey(this.document.uri));
    const fallback = this.plan?.ok ? this.plan.spec.defaultScale : '0-1';
    return INPUT_SCALES.includes(saved as InputScale) ? (saved as InputScale) : fallback;
  }

  receive(m: OnnxToHost): void {
    switch (m.type) {
      case 'predictDrawing':
        void this.predict(m.id, 'drawing', m.pixels);
        break;
      case 'chooseImage':
        void this.chooseImage(m.id);
        break;
      case 'setScale':
        if (INPUT_SCALES.includes(m.scale)) void this.context.workspaceState.update(scaleKey(this.document.uri), m.scale);
        break;
      case 'manageTrust':
        void vscode.commands.executeCommand('workbench.trust.manage');
        break;
      case 'rendered':
        this.rendered.push({ what: m.what, detail: m.detail });
        break;
      case 'ready':
        break;
    }
  }

  private async chooseImage(id: number): Promise<void> {
    const picked = await vscode.window.showOpenDialog({
      title: 'Descent: try the model on an image',
      canSelectMany: false,
      filters: { Images: ['png', 'jpg', 'jpeg'] },
      defaultUri: this.document.uri.scheme === 'file' ? vscode.Uri.file(dirname(this.document.uri.fsPath)) : undefined,
    });
    if (picked?.[0]) await this.predictImage(id, picked[0].fsPath);
  }

  async tryImageFile(path: string): Promise<void> {
    await this.predictImage(0, path);
  }

  private async predictImage(id: number, path: string): Promise<void> {
    if (!this.plan?.ok) return;
    const { height, width, channels } = this.plan.spec;
    let preview: PixelImage;
    try {
      const img = decodeImage(await readFile(path), basename(path));
      const data = resizeRgba(img.rgba, img.width, img.height, width, height, channels === 3 ? 3 : 1);
      preview = { width, height, channels: channels === 3 ? 3 : 1, data: Array.from(data, (v) => Math.round(v * 1000) / 1000) };
    } catch (e) {
      this.host.post({ type: 'predictionError', id, message: `${(e as Error).message}. Choose a PNG or JPEG image.` });
      return;
    }
    await this.predict(id, 'image', preview, basename(path));
  }

  private async predict(id: number, source: 'drawing' | 'image', pixels: PixelImage, imageName?: string): Promise<void> {
    const plan = this.plan;
    if (!plan?.ok) return;
    if (!vscode.workspace.isTrusted) {
      this.host.post({ type: 'predictionError', id, message: 'This workspace is not trusted, so Descent does not run models from it. Trust the workspace to use Try it.' });
      return;
    }
    const spec = plan.spec;
    if (pixels.width !== spec.width || pixels.height !== spec.height) {
      this.host.post({ type: 'predictionError', id, message: `expected a ${spec.width}×${spec.height} image, got ${pixels.width}×${pixels.height}` });
      return;
    }
    this.session ??= new ModelSession(this.document.uri.scheme === 'file' ? this.document.uri.fsPath : await vscode.workspace.fs.readFile(this.document.uri));
    const session = this.session;
    this.host.post({ type: 'busy', id, what: 'Running the model…' });
    try {
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: `Descent: running ${basename(this.document.uri.path)}` },
        () => session.predict(pixels.data, pixels.channels, spec, this.scale(), this.labels),
      );
      this.host.post({ type: 'prediction', id, ...result, source, ...(source === 'image' ? { preview: pixels, imageName } : {}) });
    } catch (e) {
      this.host.post({ type: 'predictionError', id, message: (e as Error).message });
    }
  }

  dispose(): void {
    openEditors.delete(this);
    for (const d of this.disposables.splice(0)) d.dispose();
    void this.session?.dispose();
    this.session = undefined;
  }
}

export async function resolveOnnxEditor(context: vscode.ExtensionContext, document: vscode.CustomDocument, panel: vscode.WebviewPanel): Promise<void> {
  const editor = new OnnxModelEditor(context, document, panel);
  await editor.reload();
}
