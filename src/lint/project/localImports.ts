// `from X import a, b as c` statements of a Python text, found by a line scan (no parse: the extension host and the
// CLI call this before any tree exists). `import X` is left out: code reaching `X.Net` is not followed.
export interface ImportedName {
  name: string;
  /** The name the importing file uses (`as` alias, or the name itself). */
  alias: string;
}

export interface FromImport {
  /** Leading dots: 0 absolute, 1 `from .x`, 2 `from ..x`. */
  level: number;
  /** Dotted module after the dots ('' for `from . import x`). */
  module: string;
  /** Names imported, or 'star' for `from X import *`. */
  names: ImportedName[] | 'star';
}

const FROM = /^[ \t]*from[ \t]+(\.*)[ \t]*([A-Za-z_][\w.]*)?[ \t]+import[ \t]+(.*)$/;
const NAME = /^([A-Za-z_]\w*)(?:\s+as\s+([A-Za-z_]\w*))?$/;

export function fromImports(source: string): FromImport[] {
  const out: FromImport[] = [];
  const lines = source.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = FROM.exec(lines[i]!);
    if (!m) continue;
    let list = stripComment(m[3]!);
    // `from x import (a,\n b)` and backslash continuations.
    if (list.startsWith('(')) {
      while (!list.includes(')') && i + 1 < lines.length) list += ' ' + stripComment(lines[++i]!);
      list = list.replace(/[()]/g, ' ');
    } else {
      while (list.endsWith('\\') && i + 1 < lines.length) list = list.slice(0, -1) + ' ' + stripComment(lines[++i]!);
    }
    const level = m[1]!.length;
    const module = m[2] ?? '';
    if (list.trim() === '*') {
      out.push({ level, module, names: 'star' });
      continue;
    }
    const names: ImportedName[] = [];
    for (const part of list.split(',')) {
      const n = NAME.exec(part.trim());
      if (n) names.push({ name: n[1]!, alias: n[2] ?? n[1]! });
    }
    if (names.length) out.push({ level, module, names });
  }
  return out;
}

function stripComment(s: string): string {
  const hash = s.indexOf('#');
  return (hash === -1 ? s : s.slice(0, hash)).trim();
}
