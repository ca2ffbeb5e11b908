// Lints open Python files and notebooks while the user types: text edits are applied to the parsed tree
// incrementally at once (cheap), linting runs after a short pause (debounced), and diagnostics are replaced.
import * as vscode from 'vscode';
import { ParsedDocument, lintDocument, lintNotebookCells } from '..';
import { log } from '../../common/log';
import { LintDiagnostic } from './convert';
import type { LintOptionsCache } from './lintOptions';

const DEBOUNCE_MS = 150;

interface OpenFile {
  parsed: ParsedDocument;
  timer?: NodeJS.Timeout;
}

function isPythonText(doc: vscode.TextDocument): boolean {
  // Notebook cells are linted with their notebook (cells depend on each other).
  return doc.languageId === 'python' && doc.uri.scheme !== 'vscode-notebook-cell';
}

function isLintableNotebook(nb: vscode.NotebookDocument): boolean {
  return nb.getCells().some((c) => c.kind === vscode.NotebookCellKind.Code && c.document.languageId === 'python');
}

export class DocumentLinter implements vscode.Disposable {
  readonly diagnostics = vscode.languages.createDiagnosticCollection('descent');
  private readonly files = new Map<string, OpenFile>();
  private readonly notebookTimers = new Map<string, NodeJS.Timeout>();
  private readonly subscriptions: vscode.Disposable[] = [];
  private readonly onRuleError = (rule: string, error: unknown) => log().warn(`lint rule ${rule} failed: ${(error as Error)?.stack ?? error}`);

  constructor(private readonly options: LintOptionsCache) {
    this.subscriptions.push(
      this.diagnostics,
      vscode.workspace.onDidOpenTextDocument((d) => this.open(d)),
      vscode.workspace.onDidChangeTextDocument((e) => this.change(e)),
      vscode.workspace.onDidCloseTextDocument((d) => this.close(d.uri)),
      vscode.workspace.onDidOpenNotebookDocument((nb) => this.scheduleNotebook(nb, 0)),
      vscode.workspace.onDidChangeNotebookDocument((e) => this.scheduleNotebook(e.notebook, DEBOUNCE_MS)),
      vscode.workspace.onDidCloseNotebookDocument((nb) => this.closeNotebook(nb)),
      options.onDidChange(() => this.relintAll()),
    );
    this.relintAll();
  }

  get enabled(): boolean {
    return vscode.workspace.getConfiguration('descent.lint').get<boolean>('enable', true);
  }

  /** Lints everything open again (settings or pyproject.toml changed). */
  relintAll(): void {
    for (const doc of vscode.workspace.textDocuments) this.open(doc, true);
    for (const nb of vscode.workspace.notebookDocuments) this.scheduleNotebook(nb, 0);
  }

  private open(doc: vscode.TextDocument, force = false): void {
    if (!isPythonText(doc)) return;
    if (!this.enabled) {
      this.diagnostics.delete(doc.uri);
      return;
    }
    const key = doc.uri.toString();
    let file = this.files.get(key);
    if (!file || force) {
      file?.parsed.dispose();
      file = { parsed: new ParsedDocument(doc.getText()) };
      this.files.set(key, file);
    }
    this.lintNow(doc.uri, file);
  }

  private change(e: vscode.TextDocumentChangeEvent): void {
    const doc = e.document;
    if (e.contentChanges.length === 0) return;
    if (doc.uri.scheme === 'vscode-notebook-cell') return; // the notebook change event handles it
    const file = this.files.get(doc.uri.toString());
    if (!file) return this.open(doc);
    // Changes arrive in an order in which each offset is valid after the previous ones are applied.
    let inStep = true;
    try {
      for (const c of e.contentChanges) file.parsed.applyEdit(c.rangeOffset, c.rangeOffset + c.rangeLength, c.text);
    } catch {
      inStep = false;
    }
    if (!inStep || file.parsed.source.length !== doc.getText().length) {
      // Out of step (should not happen): start from the document's text.
      file.parsed.dispose();
      file.parsed = new ParsedDocument(doc.getText());
    }
    clearTimeout(file.timer);
    file.timer = setTimeout(() => this.lintNow(doc.uri, file), DEBOUNCE_MS);
  }

  private lintNow(uri: vscode.Uri, file: OpenFile): void {
    const findings = lintDocument(file.parsed, { options: this.options.forUri(uri), onRuleError: this.onRuleError });
    this.diagnostics.set(uri, findings.map((f) => new LintDiagnostic(f)));
  }

  private close(uri: vscode.Uri): void {
    const key = uri.toString();
    const file = this.files.get(key);
    if (!file) return;
    clearTimeout(file.timer);
    file.parsed.dispose();
    this.files.delete(key);
    this.diagnostics.delete(uri);
  }

  private scheduleNotebook(nb: vscode.NotebookDocument, delay: number): void {
    const key = nb.uri.toString();
    clearTimeout(this.notebookTimers.get(key));
    this.notebookTimers.set(key, setTimeout(() => this.lintNotebook(nb), delay));
  }

  private lintNotebook(nb: vscode.NotebookDocument): void {
    this.notebookTimers.delete(nb.uri.toString());
    const cells = nb.getCells().filter((c) => c.kind === vscode.NotebookCellKind.Code && c.document.languageId === 'python');
    for (const c of nb.getCells()) this.diagnostics.delete(c.document.uri);
    if (!this.enabled || nb.isClosed || !isLintableNotebook(nb)) return;
    const findings = lintNotebookCells(
      cells.map((c) => c.document.getText()),
      { options: this.options.forUri(nb.uri), onRuleError: this.onRuleError },
    );
    const byCell = new Map<number, LintDiagnostic[]>();
    for (const f of findings) {
      const list = byCell.get(f.cell) ?? [];
      list.push(new LintDiagnostic(f));
      byCell.set(f.cell, list);
    }
    for (const [i, list] of byCell) this.diagnostics.set(cells[i]!.document.uri, list);
  }

  private closeNotebook(nb: vscode.NotebookDocument): void {
    clearTimeout(this.notebookTimers.get(nb.uri.toString()));
    for (const c of nb.getCells()) this.diagnostics.delete(c.document.uri);
  }

  dispose(): void {
    for (const f of this.files.values()) {
      clearTimeout(f.timer);
      f.parsed.dispose();
    }
    this.files.clear();
    for (const t of this.notebookTimers.values()) clearTimeout(t);
    for (const d of this.subscriptions) d.dispose();
  }
}
