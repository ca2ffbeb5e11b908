// Quick fixes for Descent's diagnostics: each finding's own fixes, "ignore on this line", and "explain".
import * as vscode from 'vscode';
import { LintDiagnostic, toRange } from './convert';

/** Adds the rule to an existing `# descent: ignore[...]` on the line, or appends one. */
export function suppressionEdit(lineText: string, rule: string): { column: number; text: string; replaceTo?: number } {
  const m = /#\s*descent:\s*ignore\[([^\]]*)\]/.exec(lineText);
  if (m) {
    const close = m.index + m[0].length - 1;
    return { column: close, text: `, ${rule}` };
  }
  const trimmedEnd = lineText.replace(/\s+$/, '').length;
  return { column: trimmedEnd, text: `  # descent: ignore[${rule}]`, replaceTo: lineText.length };
}

export class LintCodeActions implements vscode.CodeActionProvider {
  static readonly kinds = [vscode.CodeActionKind.QuickFix];

  provideCodeActions(document: vscode.TextDocument, _range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] {
    const actions: vscode.CodeAction[] = [];
    for (const diag of context.diagnostics) {
      if (!(diag instanceof LintDiagnostic)) continue;
      const { finding } = diag;
      for (const [i, fix] of (finding.fixes ?? []).entries()) {
        const action = new vscode.CodeAction(fix.title, vscode.CodeActionKind.QuickFix);
        action.diagnostics = [diag];
        action.isPreferred = i === 0;
        action.edit = new vscode.WorkspaceEdit();
        for (const e of fix.edits) action.edit.replace(document.uri, toRange(e.range), e.newText);
        actions.push(action);
      }
      const line = document.lineAt(finding.range.start.line);
      const s = suppressionEdit(line.text, finding.rule);
      const ignore = new vscode.CodeAction(`Ignore ${finding.rule} on this line`, vscode.CodeActionKind.QuickFix);
      ignore.diagnostics = [diag];
      ignore.edit = new vscode.WorkspaceEdit();
      ignore.edit.replace(document.uri, new vscode.Range(line.lineNumber, s.column, line.lineNumber, s.replaceTo ?? s.column), s.text);
      actions.push(ignore);
      const explain = new vscode.CodeAction(`Explain ${finding.rule}`, vscode.CodeActionKind.QuickFix);
      explain.diagnostics = [diag];
      explain.command = { command: 'descent.lint.explainRule', title: `Explain ${finding.rule}`, arguments: [finding.rule] };
      actions.push(explain);
    }
    return actions;
  }
}
