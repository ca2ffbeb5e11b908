// Explanation pages for lint rules, shown inside VS Code. A diagnostic's code links to descent-rule:/<ID>.descent-rule;
// a read-only file system serves that URI (as Markdown) and a custom editor renders it as a page.
import * as vscode from 'vscode';
import { PanelHost } from '../../common/webview/panelHost';
import type { RuleExplanationToHost, RuleExplanationToWebview } from '../../protocol/lint';
import { ruleExplanationUri } from './convert';
import { lintEngine } from './engine';
import { ruleMarkdown } from './ruleDocs';

export const RULE_EXPLANATION_VIEW_TYPE = 'descent.ruleExplanation';
const SCHEME = 'descent-rule';

function ruleIdOf(uri: vscode.Uri): string {
  return uri.path.replace(/^\//, '').replace(/\.descent-rule$/, '').toUpperCase();
}

class RuleFileSystem implements vscode.FileSystemProvider {
  private readonly emitter = new vscode.EventEmitter<vscode.FileChangeEvent[]>();
  readonly onDidChangeFile = this.emitter.event;

  private content(uri: vscode.Uri): Uint8Array {
    const rule = lintEngine().ruleById(ruleIdOf(uri));
    if (!rule) throw vscode.FileSystemError.FileNotFound(uri);
    return new TextEncoder().encode(ruleMarkdown(rule.meta));
  }
  stat(uri: vscode.Uri): vscode.FileStat {
    if (uri.path === '/') return { type: vscode.FileType.Directory, ctime: 0, mtime: 0, size: 0 };
    return { type: vscode.FileType.File, ctime: 0, mtime: 0, size: this.content(uri).length, permissions: vscode.FilePermission.Readonly };
  }
  readFile(uri: vscode.Uri): Uint8Array {
    return this.content(uri);
  }
  readDirectory(): [string, vscode.FileType][] {
    return lintEngine().allRules.map((r) => [`${r.meta.id}.descent-rule`, vscode.FileType.File]);
  }
  watch(): vscode.Disposable {
    return new vscode.Disposable(() => undefined);
  }
  createDirectory(uri: vscode.Uri): void {
    throw vscode.FileSystemError.NoPermissions(uri);
  }
  writeFile(uri: vscode.Uri): void {
    throw vscode.FileSystemError.NoPermissions(uri);
  }
  delete(uri: vscode.Uri): void {
    throw vscode.FileSystemError.NoPermissions(uri);
  }
  rename(uri: vscode.Uri): void {
    throw vscode.FileSystemError.NoPermissions(uri);
  }
}

class RuleExplanationEditor implements vscode.CustomReadonlyEditorProvider {
  constructor(private readonly extensionUri: vscode.Uri) {}

  openCustomDocument(uri: vscode.Uri): vscode.CustomDocument {
    return { uri, dispose: () => undefined };
  }

  resolveCustomEditor(document: vscode.CustomDocument, panel: vscode.WebviewPanel): void {
    const id = ruleIdOf(document.uri);
    new PanelHost<RuleExplanationToWebview, RuleExplanationToHost>(panel, this.extensionUri, {
      viewType: RULE_EXPLANATION_VIEW_TYPE,
      title: `Descent: ${id}`,
      app: 'rule',
      snapshot: () => {
        const rule = lintEngine().ruleById(id);
        return rule ? { type: 'rule', rule: rule.meta } : { type: 'unknownRule', id };
      },
      onMessage: (m) => {
        if (m.type === 'openSettings') void vscode.commands.executeCommand('workbench.action.openSettings', 'descent.lint.rules');
        else if (m.type === 'openRule' && lintEngine().ruleById(m.id)) void vscode.commands.executeCommand('descent.lint.explainRule', m.id);
      },
    });
  }
}

async function explainRule(id: unknown): Promise<void> {
  let ruleId = typeof id === 'string' ? id.toUpperCase() : undefined;
  if (!ruleId) {
    const pick = await vscode.window.showQuickPick(
      lintEngine().allRules.map((r) => ({ label: r.meta.id, description: r.meta.name, detail: r.meta.summary })),
      { title: 'Descent lint rules', placeHolder: 'Which rule should be explained?', matchOnDescription: true, matchOnDetail: true },
    );
    ruleId = pick?.label;
  }
  if (!ruleId) return;
  if (!lintEngine().ruleById(ruleId)) {
    void vscode.window.showWarningMessage(`Descent: there is no lint rule ${ruleId}. Run "Descent: Explain Lint Rule" to see them all.`);
    return;
  }
  await vscode.commands.executeCommand('vscode.openWith', ruleExplanationUri(ruleId), RULE_EXPLANATION_VIEW_TYPE);
}

export function registerRuleExplanations(extensionUri: vscode.Uri): vscode.Disposable {
  return vscode.Disposable.from(
    vscode.workspace.registerFileSystemProvider(SCHEME, new RuleFileSystem(), { isReadonly: true, isCaseSensitive: false }),
    vscode.window.registerCustomEditorProvider(RULE_EXPLANATION_VIEW_TYPE, new RuleExplanationEditor(extensionUri), {
      webviewOptions: { retainContextWhenHidden: false },
    }),
    vscode.commands.registerCommand('descent.lint.explainRule', explainRule),
  );
}
