// The baseline of bench/activation: the least an extension can do on activation, register one command.
/* eslint-disable @typescript-eslint/no-require-imports */
'use strict';
const vscode = require('vscode');

exports.activate = function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand('descentBench.bare.hello', () => vscode.window.showInformationMessage('Hello from the bare extension')),
  );
};

exports.deactivate = function deactivate() {};
