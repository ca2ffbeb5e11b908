// "Descent: Insert Building Block": a quick pick of lint-clean blocks (blocks.ts) inserted at the cursor.
import * as vscode from 'vscode';
import { BUILDING_BLOCKS, findBlock, type BuildingBlock } from './blocks';

export type InsertBlockResult = { ok: true; block: string } | { ok: false; message: string };

/** `descent.insertBuildingBlock`: an optional block id ("cnn", "vae", …) skips the pick. */
export async function insertBuildingBlock(arg?: unknown): Promise<InsertBlockResult> {
  const fail = (message: string): InsertBlockResult => {
    void vscode.window.showErrorMessage(message);
    return { ok: false, message };
  };
  let editor = vscode.window.activeTextEditor;
  let block: BuildingBlock | undefined;
  if (typeof arg === 'string') {
    block = findBlock(arg);
    if (!block) return fail(`Descent: no building block "${arg}"; choose one of: ${BUILDING_BLOCKS.map((b) => b.id).join(', ')}.`);
  } else {
    const pick = await vscode.window.showQuickPick(
      BUILDING_BLOCKS.map((b) => ({ label: b.label, description: b.prefix, detail: b.description, block: b })),
      { title: 'Descent: Insert Building Block', placeHolder: 'Inserted at the cursor; each block is lint-clean PyTorch with its imports', matchOnDetail: true },
    );
    if (!pick) return { ok: false, message: 'cancelled' };
    block = pick.block;
    editor = vscode.window.activeTextEditor ?? editor;
  }
  if (!editor) {
    const doc = await vscode.workspace.openTextDocument({ language: 'python', content: '' });
    editor = await vscode.window.showTextDocument(doc);
  }
  // A SnippetString with every "$" escaped inserts the code as is, indented to the cursor's line like a snippet.
  const line = editor.document.lineAt(editor.selection.active.line).text;
  const text = line.trim() === '' ? block.code : `\n${block.code}`;
  const ok = await editor.insertSnippet(new vscode.SnippetString().appendText(text));
  return ok ? { ok: true, block: block.id } : fail('Descent: the building block could not be inserted (is the editor read-only?).');
}
