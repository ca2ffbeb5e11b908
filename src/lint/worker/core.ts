// The lint worker's state and message handling, independent of the transport: the worker entry (main.ts) feeds it
// messages from the host, and the host's in-process fallback (client.ts) uses it directly. It owns one
// ParsedDocument (incremental parse state) per open document. The parser must be initialised.
import { ParsedDocument, lintDocument, lintNotebookCells } from '..';
import type { FromWorker, ToWorker } from './protocol';

interface Doc {
  parsed?: ParsedDocument; // undefined: out of step, waiting for the host to re-open it
  version: number;
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
        this.docs.set(m.key, { parsed: new ParsedDocument(m.text), version: m.version });
        return;
      }
      case 'edit': {
        const doc = this.docs.get(m.key);
        if (!doc?.parsed) return; // out of step already: the next lint asks for the text
        let inStep = true;
        try {
          for (const c of m.changes) doc.parsed.applyEdit(c.offset, c.offset + c.length, c.text);
        } catch {
          inStep = false;
        }
        if (!inStep || doc.parsed.source.length !== m.length) {
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
          const findings = lintDocument(doc.parsed, { options: m.options, onRuleError: this.onRuleError });
          this.reply({ type: 'findings', id: m.id, key: m.key, version: doc.version, findings, ms: performance.now() - t0 });
        } catch (e) {
          this.reply({ type: 'failed', id: m.id, message: (e as Error)?.stack ?? String(e) });
        }
        return;
      }
      case 'lintNotebook': {
        try {
          const t0 = performance.now();
          const findings = lintNotebookCells(m.cells, { options: m.options, onRuleError: this.onRuleError });
          this.reply({ type: 'notebookFindings', id: m.id, findings, ms: performance.now() - t0 });
        } catch (e) {
          this.reply({ type: 'failed', id: m.id, message: (e as Error)?.stack ?? String(e) });
        }
        return;
      }
    }
  }

  dispose(): void {
    for (const d of this.docs.values()) d.parsed?.dispose();
    this.docs.clear();
  }
}
