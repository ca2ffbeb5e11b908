// Notebooks: code cells are joined in order into one Python text (so a model defined in one cell is known in the
// next), IPython magics and shell escapes are blanked with spaces (offsets and lines stay the same), and findings
// are mapped back to (cell, line, column).
import { lintDocument, type LintRun } from './engine';
import { LineIndex, ParsedDocument } from './parser';
import type { Finding, Position, Range } from './types';

export interface JoinedCells {
  source: string;
  /** Offset of each cell's first character in `source`. */
  cellOffsets: number[];
  /** 0-based line of each cell's first line in `source`. */
  cellLines: number[];
}

/** Lines IPython handles itself: `%magic`, `%%cell magic`, `!shell`, `?help`, `obj?`. */
const MAGIC = /^\s*([%!?]|\w[\w.]*\?{1,2}\s*$)/;

const PYTHON_CELL_MAGIC = /^\s*%%(time|timeit|capture|prun|memit|debug)\b/;

export function blankMagics(cell: string): string {
  // A `%%` cell magic makes the whole cell non-Python (%%bash, %%writefile, ...), except those that run the cell's
  // Python and time, capture or profile it (`%%time` heads many Kaggle training cells).
  if (/^\s*%%/.test(cell) && !PYTHON_CELL_MAGIC.test(cell)) return cell.replace(/[^\n]/g, ' ');
  return cell
    .split('\n')
    .map((line) => (MAGIC.test(line) ? ' '.repeat(line.length) : line))
    .join('\n');
}

/** Joins code cell sources in order, one newline between cells. */
export function joinCells(cells: readonly string[]): JoinedCells {
  const parts: string[] = [];
  const cellOffsets: number[] = [];
  const cellLines: number[] = [];
  let offset = 0;
  let line = 0;
  for (const cell of cells) {
    const text = blankMagics(cell.replace(/\r\n/g, '\n'));
    cellOffsets.push(offset);
    cellLines.push(line);
    parts.push(text);
    offset += text.length + 1;
    line += text.split('\n').length;
  }
  return { source: parts.join('\n'), cellOffsets, cellLines };
}

export interface CellFinding extends Finding {
  /** Index into the cells given (0-based). */
  cell: number;
}

/** Maps a position in the joined text to (cell, position in the cell). */
export function toCellPosition(joined: JoinedCells, p: Position): { cell: number; position: Position } {
  let cell = 0;
  while (cell + 1 < joined.cellLines.length && joined.cellLines[cell + 1]! <= p.line) cell++;
  return { cell, position: { line: p.line - joined.cellLines[cell]!, column: p.column } };
}

/** Maps findings on the joined text back to cells (fix edits in another cell than the finding are kept per edit). */
export function mapFindingsToCells(joined: JoinedCells, findings: Finding[]): CellFinding[] {
  return findings.map((f) => {
    const start = toCellPosition(joined, f.range.start);
    const end = toCellPosition(joined, f.range.end);
    const range: Range = { start: start.position, end: end.cell === start.cell ? end.position : start.position };
    const out: CellFinding = { ...f, cell: start.cell, range, message: cellLineReferences(joined, f.message, start.cell) };
    if (f.fixes) {
      // A fix is kept only when all its edits stay in the finding's cell (edits across cells would need a
      // notebook-level edit the caller may not support).
      const fixes = f.fixes
        .filter((fix) => fix.edits.every((e) => toCellPosition(joined, e.range.start).cell === start.cell && toCellPosition(joined, e.range.end).cell === start.cell))
        .map((fix) => ({ title: fix.title, edits: fix.edits.map((e) => ({ newText: e.newText, range: { start: toCellPosition(joined, e.range.start).position, end: toCellPosition(joined, e.range.end).position } })) }));
      if (fixes.length) out.fixes = fixes;
      else delete out.fixes;
    }
    return out;
  });
}

/**
 * Messages point at other lines as "(line N)" of the joined text, which means nothing in a notebook: say
 * "(line M of this cell)" or "(line M of code cell K)" instead.
 */
function cellLineReferences(joined: JoinedCells, message: string, findingCell: number): string {
  return message.replace(/\(line (\d+)\)/g, (_, n: string) => {
    const { cell, position } = toCellPosition(joined, { line: Number(n) - 1, column: 0 });
    return cell === findingCell ? `(line ${position.line + 1} of this cell)` : `(line ${position.line + 1} of code cell ${cell + 1})`;
  });
}

/** Lints notebook code cells (their sources, in order). The parser must be initialised. */
export function lintNotebookCells(cells: readonly string[], run: LintRun = {}): CellFinding[] {
  const joined = joinCells(cells);
  const doc = new ParsedDocument(joined.source);
  try {
    return mapFindingsToCells(joined, lintDocument(doc, run));
  } finally {
    doc.dispose();
  }
}

export interface NotebookCells {
  /** Sources of the code cells, in order. */
  sources: string[];
  /** Index of each of those cells among all the notebook's cells. */
  cellIndex: number[];
}

/**
 * Reads the code cells of an .ipynb. Never throws: a notebook that is not JSON, or not Python, gives no cells
 * and a reason.
 */
export function readIpynb(json: string): NotebookCells & { problem?: string } {
  let nb: unknown;
  try {
    nb = JSON.parse(json);
  } catch (e) {
    return { sources: [], cellIndex: [], problem: `not valid JSON: ${(e as Error).message}` };
  }
  const obj = nb as { cells?: unknown; metadata?: { kernelspec?: { language?: string }; language_info?: { name?: string } } };
  const lang = obj.metadata?.language_info?.name ?? obj.metadata?.kernelspec?.language;
  if (lang && lang.toLowerCase() !== 'python') return { sources: [], cellIndex: [], problem: `kernel language is ${lang}` };
  if (!Array.isArray(obj.cells)) return { sources: [], cellIndex: [], problem: 'no cells array' };
  const sources: string[] = [];
  const cellIndex: number[] = [];
  obj.cells.forEach((c: unknown, i: number) => {
    const cell = c as { cell_type?: string; source?: unknown };
    if (cell?.cell_type !== 'code') return;
    const src = Array.isArray(cell.source) ? cell.source.filter((s) => typeof s === 'string').join('') : typeof cell.source === 'string' ? cell.source : '';
    sources.push(src);
    cellIndex.push(i);
  });
  return { sources, cellIndex };
}

export { LineIndex };
