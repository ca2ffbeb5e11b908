// Findings (plain data) to VS Code diagnostics and edits.
import * as vscode from 'vscode';
import type { Finding, Range, Severity } from '../types';

export const DIAGNOSTIC_SOURCE = 'Descent';

/** The URI of a rule's explanation page (opened in the rule explanation editor, see ruleExplanation.ts). */
export function ruleExplanationUri(ruleId: string): vscode.Uri {
  return vscode.Uri.from({ scheme: 'descent-rule', path: `/${ruleId}.descent-rule` });
}

export function toRange(r: Range): vscode.Range {
  return new vscode.Range(r.start.line, r.start.column, r.end.line, r.end.column);
}

const severityMap: Record<Severity, vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  info: vscode.DiagnosticSeverity.Information,
};

/** A diagnostic that remembers its finding, so code actions can offer its fixes. */
export class LintDiagnostic extends vscode.Diagnostic {
  constructor(readonly finding: Finding) {
    super(toRange(finding.range), finding.message, severityMap[finding.severity]);
    this.source = DIAGNOSTIC_SOURCE;
    this.code = { value: finding.rule, target: ruleExplanationUri(finding.rule) };
  }
}
