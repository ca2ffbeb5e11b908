// Linting a file together with its project context (context.ts): the context is appended after the file's text,
// so the file's offsets, lines and fixes are unchanged; findings past the file's end are dropped and "(line N)"
// references into the context are rewritten to the module and line they came from.
import { lintDocument, lintSource, type LintRun } from '../engine';
import { joinCells, lintNotebookCells, mapFindingsToCells, type CellFinding } from '../notebook';
import { ParsedDocument } from '../parser';
import type { Finding } from '../types';
import { display, projectContext, type ProjectContext, type ReadFile } from './context';

export interface Joined {
  source: string;
  /** 0-based line where the context starts: findings from there on are not the file's. */
  contextLine: number;
}

export function joinContext(source: string, context: ProjectContext): Joined {
  const sep = source.endsWith('\n') ? '\n' : '\n\n';
  const head = source + sep;
  let lines = 0;
  for (let i = 0; i < head.length; i++) if (head.charCodeAt(i) === 10) lines++;
  return { source: head + context.text, contextLine: lines };
}

export function mapContextFindings(findings: Finding[], joined: Pick<Joined, 'contextLine'>, importer: string, context: ProjectContext): Finding[] {
  const out: Finding[] = [];
  for (const f of findings) {
    if (f.range.start.line >= joined.contextLine) continue;
    const mapped: Finding = { ...f, message: contextLineReferences(f.message, joined.contextLine, importer, context) };
    if (f.range.end.line >= joined.contextLine) mapped.range = { start: f.range.start, end: f.range.start };
    if (f.fixes) {
      const fixes = f.fixes.filter((fix) => fix.edits.every((e) => e.range.end.line < joined.contextLine));
      if (fixes.length) mapped.fixes = fixes;
      else delete mapped.fixes;
    }
    out.push(mapped);
  }
  return out;
}

/** "(line 131)" pointing into the context becomes "(line 12 of model.py)". */
function contextLineReferences(message: string, contextLine: number, importer: string, context: ProjectContext): string {
  return message.replace(/\(line (\d+)\)/g, (whole, n: string) => {
    const line = Number(n) - 1 - contextLine;
    if (line < 0) return whole;
    const piece = context.pieces.find((p) => line >= p.contextLine && line < p.contextLine + p.lineCount);
    return piece ? `(line ${piece.sourceLine + line - piece.contextLine + 1} of ${display(importer, piece.file)})` : whole;
  });
}

/** Parses and lints one file of a project once (the CLI): with its project context when it imports from its project. */
export function lintProjectFile(file: string, source: string, read: ReadFile, run: LintRun = {}): Finding[] {
  const context = projectContext(file, source, read);
  if (!context) return lintSource(source, run);
  const joined = joinContext(source, context);
  return mapContextFindings(lintSource(joined.source, run), joined, file, context);
}

/**
 * Lints notebook cells with the project context of the notebook's file: the context goes after the last cell, as a
 * cell of its own whose findings are dropped.
 */
export function lintProjectNotebook(file: string, cells: readonly string[], read: ReadFile, run: LintRun = {}): { findings: CellFinding[]; contextFiles: string[] } {
  const context = projectContext(file, joinCells(cells).source, read);
  if (!context) return { findings: lintNotebookCells(cells, run), contextFiles: [] };
  const joined = joinCells([...cells, context.text]);
  const doc = new ParsedDocument(joined.source, false);
  try {
    const own = mapContextFindings(lintDocument(doc, run), { contextLine: joined.cellLines[cells.length]! }, file, context);
    return { findings: mapFindingsToCells(joined, own), contextFiles: context.files };
  } finally {
    doc.dispose();
  }
}
