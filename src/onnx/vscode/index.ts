// Registers the ONNX model view (custom editor descent.onnxModel for *.onnx) and "Descent: Open ONNX Model". The code
// behind them is its own bundle (dist/onnxView.js, see editorBundle.ts), required when a model is first opened.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { OnnxEditorProbe } from './editor';

type OnnxViewBundle = typeof import('./editorBundle');

let bundle: OnnxViewBundle | undefined;
function load(): OnnxViewBundle {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  bundle ??= require(path.join(__dirname, 'onnxView.js')) as OnnxViewBundle;
  return bundle;
}

/** For Descent's integration tests: the open model views (none before the bundle is loaded). */
export interface OnnxApi {
  editors(): OnnxEditorProbe[];
}

export function registerOnnxView(context: vscode.ExtensionContext): { disposable: vscode.Disposable; api: OnnxApi } {
  const provider: vscode.CustomReadonlyEditorProvider = {
    openCustomDocument: (uri) => ({ uri, dispose: () => undefined }),
    resolveCustomEditor: (document, panel) => load().resolveOnnxEditor(context, document, panel),
  };
  return {
    disposable: vscode.Disposable.from(
      vscode.window.registerCustomEditorProvider('descent.onnxModel', provider, { webviewOptions: { retainContextWhenHidden: false } }),
      vscode.commands.registerCommand('descent.openOnnxModel', (arg?: unknown) => load().openOnnxModel(arg)),
    ),
    api: { editors: () => bundle?.onnxEditorProbes() ?? [] },
  };
}
