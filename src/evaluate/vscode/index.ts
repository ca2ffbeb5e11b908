// Registers Descent: Evaluate Model (argument: an .onnx Uri, or EvaluateModelArgs to ask nothing; see command.ts).
// The flow behind it (quick picks, the worker client, the run record) is its own
// bundle (dist/evaluate.js, see commandsBundle.ts), loaded when the command first runs.
import * as path from 'node:path';
import * as vscode from 'vscode';

type EvaluateCommands = typeof import('./commandsBundle');

let commands: EvaluateCommands | undefined;
function load(): EvaluateCommands {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  commands ??= require(path.join(__dirname, 'evaluate.js')) as EvaluateCommands;
  return commands;
}

export function registerEvaluate(context: vscode.ExtensionContext): vscode.Disposable {
  return vscode.commands.registerCommand('descent.evaluateModel', (arg?: unknown) => load().evaluateModel(context, arg));
}
