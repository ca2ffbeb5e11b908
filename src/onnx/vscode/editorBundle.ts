// Entry of dist/onnxView.js, the ONNX model view's bundle: required by ./index.ts when a .onnx file is first opened
// or "Descent: Open ONNX Model" first runs, so activation never loads it (nor onnxruntime-node).
import * as vscode from 'vscode';
import { ONNX_MODEL_VIEW_TYPE } from './editor';

export { onnxEditorProbes, resolveOnnxEditor } from './editor';

/** Descent: Open ONNX Model — picks a .onnx file (or takes a URI) and opens it in the model view. */
export async function openOnnxModel(arg?: unknown): Promise<void> {
  let uri = arg instanceof vscode.Uri ? arg : undefined;
  if (!uri) {
    const picked = await vscode.window.showOpenDialog({
      title: 'Descent: open an ONNX model',
      canSelectMany: false,
      filters: { 'ONNX models': ['onnx'] },
      defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
    });
    uri = picked?.[0];
  }
  if (uri) await vscode.commands.executeCommand('vscode.openWith', uri, ONNX_MODEL_VIEW_TYPE);
}
