// Registers the scaffold feature: Descent: New Model Project and Descent: Insert Building Block.
import * as vscode from 'vscode';
import { insertBuildingBlock } from './insertBlock';
import { newProject } from './newProject';

export function registerScaffold(context: vscode.ExtensionContext): vscode.Disposable {
  return vscode.Disposable.from(
    vscode.commands.registerCommand('descent.newProject', (arg?: unknown) => newProject(context, arg)),
    vscode.commands.registerCommand('descent.insertBuildingBlock', (arg?: unknown) => insertBuildingBlock(arg)),
  );
}
