// The lint worker's state and message handling, independent of the transport: the worker entry (main.ts) feeds it
// messages from the host, and the host's in-process fallback (client.ts) uses it directly. It owns one
// ParsedDocument (incremental parse state) per open document. The parser must be initialised.
import { readFileSync, statSync } from 'node:fs';
import { ParsedDocument, lintDocument, lintNotebookCells } from '..';
import { projectContext } from '../project/context';
import { joinContext, lintProjectNotebook, mapContextFindings } from '../project/withContext';
import type { LintOptions } from '../config';
import type { Finding } from '../types';
import type { FromWorker, ToWorker } from './protocol';

interface Doc {
  parsed?: ParsedDocument; // undefined: out of step, waiting for the host to re-open it
  version: number;
  /** Length of the editor's text in `parsed`: what follows it is the project context (project/context.ts). */
  length: number;
  /** The file on disk, as the last lint request named it. */
  path?: string;
}

/** Text of a project file for the context: an open document's current text (unsaved edits too), else the disk's. */
function readFrom(docs: Iterable<Doc>) {
  return (path: string): string | undefined => {
    for (const d of docs) if (d.path === path && d.parsed) return d.parsed.source.slice(0, d.length);
    try {
      return statSync(path).isFile() ? readFileSync(path, 'utf8') : undefined;
    } catch {
      return undefined;
    }
  };
}

export class LintCore {
  private readonly docs = new Map<string, Doc>();

  constructor(private readonly reply: (m: FromWorker) => void) {}

  private readonly onRuleError = (rule: string, error: unknown) =>
    this.reply({ type: 'log', level: 'warn', message: `lint rule ${rule} failed: ${(error as Error)?.stack ?? String(error)}` });

  handle(m: ToWorker): void {
    switch (m.type) {
      case 'open': {
        this.docs.get(m.key)?.parsed?.dispose();
        this.docs.set(m.key, { parsed: new ParsedDocument(m.text), version: m.version, length: m.text.length });
        return;
      }
      case 'edit': {
        const doc = this.docs.get(m.key);
        if (!doc?.parsed) return; // out of step already: the next lint asks for the text
        let inStep = true;
        const context = doc.parsed.source.length - doc.length;
        try {
          // Offsets are the editor's: they stay inside its text, before the appended context.
          for (const c of m.changes) {
            if (c.offset + c.length > doc.length) throw new RangeError('edit past the text');
            doc.parsed.applyEdit(c.offset, c.offset + c.length, c.text);
            doc.length += c.text.length - c.length;
          }
        } catch {
          inStep = false;
        }
        if (!inStep || doc.length !== m.length || doc.parsed.source.length !== m.length + context) {
          doc.parsed.dispose();
          doc.parsed = undefined;
        }
        doc.version = m.version;
        return;
      }
      case 'close': {
        this.docs.get(m.key)?.parsed?.dispose();
        this.docs.delete(m.key);
        return;
      }
      case 'lint': {
        const doc = this.docs.get(m.key);
        if (!doc?.parsed) return this.reply({ type: 'outOfStep', id: m.id, key: m.key });
        try {
          const t0 = performance.now();
          doc.path = m.path;
          const { findings, contextFiles } = this.lintWithContext(doc, doc.parsed, m.options);
          this.reply({ type: 'findings', id: m.id, key: m.key, version: doc.version, findings, ms: performance.now() - t0, contextFiles });
        } catch (e) {
          this.reply({ type: 'failed', id: m.id, message: (e as Error)?.stack ?? String(e) });
        }
        return;
      }
      case 'lintNotebook': {
        try {
          const t0 = performance.now();
          const run = { options: m.options, onRuleError: this.onRuleError };
          const { findings, contextFiles } = m.path ? lintProjectNotebook(m.path, m.cells, readFrom(this.docs.values()), run) : { findings: lintNotebookCells(m.cells, run), contextFiles: [] };
          this.reply({ type: 'notebookFindings', id: m.id, findings, ms: performance.now() - t0, contextFiles });
        } catch (e) {
          this.reply({ type: 'failed', id: m.id, message: (e as Error)?.stack ?? String(e) });
        }
        return;
      }
    }
  }

  /**
   * Lints a document with the definitions it imports from its project appended after its text (replacing the ones
   * appended last time when they changed: one edit at the end, so the rest of the tree is reused).
   */
  private lintWithContext(doc: Doc, parsed: ParsedDocument, options: LintOptions): { findings: Finding[]; contextFiles: string[] } {
    const text = parsed.source.slice(0, doc.length);
    const context = doc.path ? projectContext(doc.path, text, readFrom(this.docs.values())) : undefined;
    const joined = context ? joinContext(text, context) : { source: text, contextLine: Infinity };
    if (parsed.source !== joined.source) parsed.applyEdit(doc.length, parsed.source.length, joined.source.slice(doc.length));
    const findings = lintDocument(parsed, { options, onRuleError: this.onRuleError });
    if (!context) return { findings, contextFiles: [] };
    return { findings: mapContextFindings(findings, joined, doc.path!, context), contextFiles: context.files };
  }

  dispose(): void {
    for (const d of this.docs.values()) d.parsed?.dispose();
    this.docs.clear();
  }
}
