// Lints open Python files and notebooks while the user types. Parsing and linting run in a worker thread (see
// ../worker/client.ts): text edits are forwarded to it at once (cheap; it re-parses incrementally), a lint is
// requested after a short pause (debounced), and its findings replace the diagnostics unless the document changed
// since (a reply for an older version is dropped: the newer edit has scheduled its own lint).
import * as vscode from 'vscode';
import { log } from '../../common/log';
import type { LintClient } from '../worker/client';
import { LintDiagnostic } from './convert';
import type { LintOptionsCache } from './lintOptions';

const DEBOUNCE_MS = 150;

interface OpenFile {
  doc: vscode.TextDocument;
  timer?: NodeJS.Timeout;
  /** Project files its last lint read definitions from: an edit to one of them re-lints this file. */
  contextFiles?: string[];
}

function isPythonText(doc: vscode.TextDocument): boolean {
  // Notebook cells are linted with their notebook (cells depend on each other).
  return doc.languageId === 'python' && doc.uri.scheme !== 'vscode-notebook-cell';
}

function isLintableNotebook(nb: vscode.NotebookDocument): boolean {
  return nb.getCells().some((c) => c.kind === vscode.NotebookCellKind.Code && c.document.languageId === 'python');
}

/** The document's length in UTF-16 code units, without copying its text. */
function documentLength(doc: vscode.TextDocument): number {
  return doc.offsetAt(doc.lineAt(doc.lineCount - 1).range.end);
}

export class DocumentLinter implements vscode.Disposable {
  readonly diagnostics = vscode.languages.createDiagnosticCollection('descent');
  private readonly files = new Map<string, OpenFile>();
  private readonly notebookTimers = new Map<string, NodeJS.Timeout>();
  /** The latest lint request per notebook: replies to older ones are dropped. */
  private readonly notebookRequests = new Map<string, number>();
  /** Per notebook: the project files its last lint read definitions from. */
  private readonly notebookContext = new Map<string, string[]>();
  private notebookSeq = 0;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly options: LintOptionsCache,
    private readonly client: LintClient,
  ) {
    this.subscriptions.push(
      this.diagnostics,
      vscode.workspace.onDidOpenTextDocument((d) => this.open(d)),
      vscode.workspace.onDidChangeTextDocument((e) => this.change(e)),
      vscode.workspace.onDidCloseTextDocument((d) => this.close(d.uri)),
      vscode.workspace.onDidOpenNotebookDocument((nb) => this.scheduleNotebook(nb, 0)),
      vscode.workspace.onDidChangeNotebookDocument((e) => this.scheduleNotebook(e.notebook, DEBOUNCE_MS)),
      vscode.workspace.onDidCloseNotebookDocument((nb) => this.closeNotebook(nb)),
      options.onDidChange(() => this.relintAll()),
      this.watchProjectFiles(),
    );
    this.relintAll();
  }

  get enabled(): boolean {
    return vscode.workspace.getConfiguration('descent.lint').get<boolean>('enable', true);
  }

  /** Where linting runs: 'worker' normally, 'in-process' after the worker failed. */
  get mode(): string {
    return this.client.mode;
  }

  /** The open document behind a key (the lint client re-opens documents from it after a worker restart). */
  documentFor(key: string): { version: number; text: string } | undefined {
    const file = this.files.get(key);
    return file && !file.doc.isClosed ? { version: file.doc.version, text: file.doc.getText() } : undefined;
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
      if (file) clearTimeout(file.timer);
      file = { doc };
      this.files.set(key, file);
      this.client.open(key, doc.version, doc.getText());
    }
    this.lintNow(file);
  }

  private change(e: vscode.TextDocumentChangeEvent): void {
    const doc = e.document;
    if (e.contentChanges.length === 0) return;
    if (doc.uri.scheme === 'vscode-notebook-cell') return; // the notebook change event handles it
    const key = doc.uri.toString();
    const file = this.files.get(key);
    if (!file) return this.open(doc);
    // Changes arrive in an order in which each offset is valid after the previous ones are applied. The worker
    // checks the resulting length and asks for the full text if it ever gets out of step.
    this.client.edit(
      key,
      doc.version,
      e.contentChanges.map((c) => ({ offset: c.rangeOffset, length: c.rangeLength, text: c.text })),
      documentLength(doc),
    );
    clearTimeout(file.timer);
    file.timer = setTimeout(() => this.lintNow(file), DEBOUNCE_MS);
    if (doc.uri.scheme === 'file') this.scheduleDependents(doc.uri.fsPath);
  }

  /** Files that import definitions from `path` (model.py edited: train.py's findings may change). */
  private scheduleDependents(path: string): void {
    for (const other of this.files.values()) {
      if (!other.contextFiles?.includes(path)) continue;
      clearTimeout(other.timer);
      other.timer = setTimeout(() => this.lintNow(other), DEBOUNCE_MS * 2);
    }
    for (const [key, files] of this.notebookContext) {
      const nb = files.includes(path) ? vscode.workspace.notebookDocuments.find((n) => n.uri.toString() === key) : undefined;
      if (nb) this.scheduleNotebook(nb, DEBOUNCE_MS * 2);
    }
  }

  /** A project file changed on disk without an editor (saved elsewhere, git checkout, deleted): its importers read it
   *  from disk, so they are linted again. An open editor's own edits are handled by `change`. */
  private watchProjectFiles(): vscode.Disposable {
    const watcher = vscode.workspace.createFileSystemWatcher('**/*.py');
    const changed = (uri: vscode.Uri) => {
      if (uri.scheme === 'file' && this.projectContext) this.scheduleDependents(uri.fsPath);
    };
    watcher.onDidChange(changed);
    watcher.onDidDelete(changed);
    return watcher;
  }

  private get projectContext(): boolean {
    return vscode.workspace.getConfiguration('descent.lint').get<boolean>('projectContext', true);
  }

  private lintNow(file: OpenFile): void {
    const { doc } = file;
    const key = doc.uri.toString();
    const path = doc.uri.scheme === 'file' && this.projectContext ? doc.uri.fsPath : undefined;
    this.client.lint(key, this.options.forUri(doc.uri), path).then(
      (result) => {
        // Drop replies for a closed (or re-opened) document, a newer text, or linting switched off meanwhile.
        if (!result || this.files.get(key) !== file || doc.isClosed || result.version < doc.version || !this.enabled) return;
        file.contextFiles = result.contextFiles;
        this.diagnostics.set(doc.uri, result.findings.map((f) => new LintDiagnostic(f)));
      },
      (e: unknown) => log().error(`lint failed: ${(e as Error)?.stack ?? e}`),
    );
  }

  private close(uri: vscode.Uri): void {
    const key = uri.toString();
    const file = this.files.get(key);
    if (!file) return;
    clearTimeout(file.timer);
    this.files.delete(key);
    this.client.close(key);
    this.diagnostics.delete(uri);
  }

  private scheduleNotebook(nb: vscode.NotebookDocument, delay: number): void {
    const key = nb.uri.toString();
    clearTimeout(this.notebookTimers.get(key));
    this.notebookTimers.set(key, setTimeout(() => this.lintNotebook(nb), delay));
  }

  private lintNotebook(nb: vscode.NotebookDocument): void {
    const key = nb.uri.toString();
    this.notebookTimers.delete(key);
    const request = ++this.notebookSeq;
    this.notebookRequests.set(key, request);
    const cells = nb.getCells().filter((c) => c.kind === vscode.NotebookCellKind.Code && c.document.languageId === 'python');
    if (!this.enabled || nb.isClosed || !isLintableNotebook(nb)) {
      for (const c of nb.getCells()) this.diagnostics.delete(c.document.uri);
      return;
    }
    const path = nb.uri.scheme === 'file' && this.projectContext ? nb.uri.fsPath : undefined;
    this.client.lintNotebook(cells.map((c) => c.document.getText()), this.options.forUri(nb.uri), path).then(
      (result) => {
        if (!result || this.notebookRequests.get(key) !== request || nb.isClosed || !this.enabled) return;
        this.notebookRequests.delete(key);
        this.notebookContext.set(key, result.contextFiles);
        for (const c of nb.getCells()) this.diagnostics.delete(c.document.uri);
        const byCell = new Map<number, LintDiagnostic[]>();
        for (const f of result.findings) {
          const list = byCell.get(f.cell) ?? [];
          list.push(new LintDiagnostic(f));
          byCell.set(f.cell, list);
        }
        for (const [i, list] of byCell) this.diagnostics.set(cells[i]!.document.uri, list);
      },
      (e: unknown) => log().error(`notebook lint failed: ${(e as Error)?.stack ?? e}`),
    );
  }

  private closeNotebook(nb: vscode.NotebookDocument): void {
    const key = nb.uri.toString();
    clearTimeout(this.notebookTimers.get(key));
    this.notebookRequests.delete(key);
    this.notebookContext.delete(key);
    for (const c of nb.getCells()) this.diagnostics.delete(c.document.uri);
  }

  dispose(): void {
    for (const f of this.files.values()) clearTimeout(f.timer);
    this.files.clear();
    for (const t of this.notebookTimers.values()) clearTimeout(t);
    for (const d of this.subscriptions) d.dispose();
  }
}
