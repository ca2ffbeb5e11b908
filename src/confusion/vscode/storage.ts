// Evaluation results have no run folder to read again, so the host keeps each one it shows as JSON in the
// extension's global storage; a panel restored after a reload reads it back by id. Only the newest few are kept.
import * as vscode from 'vscode';
import type { ConfusionSource } from '../../protocol/confusion';

const KEEP = 12;

function folder(context: vscode.ExtensionContext): vscode.Uri {
  return vscode.Uri.joinPath(context.globalStorageUri, 'confusion');
}

export async function storeSource(context: vscode.ExtensionContext, source: ConfusionSource): Promise<string> {
  const id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const dir = folder(context);
  await vscode.workspace.fs.createDirectory(dir);
  await vscode.workspace.fs.writeFile(vscode.Uri.joinPath(dir, `${id}.json`), Buffer.from(JSON.stringify(source)));
  // Ids start with the time in base 36, so a name sort is a time sort (same length for centuries).
  const files = (await vscode.workspace.fs.readDirectory(dir)).map(([name]) => name).filter((n) => n.endsWith('.json')).sort();
  for (const old of files.slice(0, Math.max(0, files.length - KEEP))) {
    await vscode.workspace.fs.delete(vscode.Uri.joinPath(dir, old)).then(undefined, () => undefined);
  }
  return id;
}

export async function loadStoredSource(context: vscode.ExtensionContext, id: string): Promise<ConfusionSource | undefined> {
  if (!/^[a-z0-9-]+$/.test(id)) return undefined;
  try {
    const bytes = await vscode.workspace.fs.readFile(vscode.Uri.joinPath(folder(context), `${id}.json`));
    const source = JSON.parse(Buffer.from(bytes).toString('utf8')) as ConfusionSource;
    return Array.isArray(source.labels) && Array.isArray(source.matrices) ? source : undefined;
  } catch {
    return undefined;
  }
}
