// Runs a problem's action button. Only commands on this list can run, whatever a message asks for.
import * as vscode from 'vscode';
import type { ProblemAction } from '../protocol/environment';

const ALLOWED_WORKBENCH = new Set(['workbench.action.openSettings', 'workbench.trust.manage', 'vscode.open']);

export function isAllowedAction(a: ProblemAction): boolean {
  if (a.command === 'vscode.open') return typeof a.args?.[0] === 'string' && a.args[0].startsWith('https://');
  return a.command.startsWith('descent.') || ALLOWED_WORKBENCH.has(a.command);
}

export async function runProblemAction(a: ProblemAction): Promise<void> {
  if (!isAllowedAction(a)) return;
  if (a.command === 'vscode.open') {
    await vscode.env.openExternal(vscode.Uri.parse(String(a.args?.[0])));
    return;
  }
  await vscode.commands.executeCommand(a.command, ...(a.args ?? []));
}
