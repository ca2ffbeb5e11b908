// Small helpers for assembling Python source from TypeScript: conditional lines, indentation, literals.

/** A line, or nothing (false / null / undefined are dropped), so templates can say `cond && 'line'`. */
export type Line = string | false | null | undefined;

/** Joins lines (dropping the absent ones) with "\n". Nested arrays are flattened. */
export function lines(...parts: (Line | Line[])[]): string {
  const out: string[] = [];
  for (const part of parts) {
    for (const line of Array.isArray(part) ? part : [part]) {
      if (typeof line === 'string') out.push(line);
    }
  }
  return out.join('\n');
}

/** Indents every non-empty line of a block by `levels` x 4 spaces. */
export function indent(block: string, levels = 1): string {
  const pad = '    '.repeat(levels);
  return block
    .split('\n')
    .map((l) => (l.trim() ? pad + l : ''))
    .join('\n');
}

/** A Python literal for a JSON-like value (strings double-quoted, True/False/None). */
export function pyLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`not a finite number: ${value}`);
    return String(value);
  }
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(pyLiteral).join(', ')}]`;
  throw new Error(`no Python literal for ${typeof value}`);
}

/**
 * Tidies a generated file: no trailing spaces, at most two blank lines in a row, exactly one newline at the end.
 * Templates may then be written with generous blank lines around conditional blocks.
 */
export function tidy(source: string): string {
  const out: string[] = [];
  let blank = 0;
  for (const raw of source.split('\n')) {
    const line = raw.replace(/\s+$/, '');
    if (line === '') {
      blank++;
      if (blank > 2 || out.length === 0) continue;
    } else {
      blank = 0;
    }
    out.push(line);
  }
  while (out.length && out[out.length - 1] === '') out.pop();
  return out.join('\n') + '\n';
}
