// Registers the scaffold feature: Descent: New Model Project and Descent: Insert Building Block. The code behind
// them is its own bundle (dist/scaffold.js, see commandsBundle.ts), loaded when one of them first runs.
import * as path from 'node:path';
import * as vscode from 'vscode';

type ScaffoldCommands = typeof import('./commandsBundle');

let commands: ScaffoldCommands | undefined;
function load(): ScaffoldCommands {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  commands ??= require(path.join(__dirname, 'scaffold.js')) as ScaffoldCommands;
  return commands;
}

export function registerScaffold(context: vscode.ExtensionContext): vscode.Disposable {
  return vscode.Disposable.from(
    vscode.commands.registerCommand('descent.newProject', (arg?: unknown) => load().newProject(context, arg)),
    vscode.commands.registerCommand('descent.insertBuildingBlock', (arg?: unknown) => load().insertBuildingBlock(arg)),
  );
}
