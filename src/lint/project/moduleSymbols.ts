// The top-level definitions of a Python module that another file may import: classes, functions, simple
// assignments, and the names its own imports bind. Parsed once per module text (cached), since a model file is
// imported by several scripts of a project.
import { parseSource, type PyNode } from '../parser';
import { fromImports, type FromImport } from './localImports';

export interface ModuleDef {
  name: string;
  /** The statement's source (a decorated definition includes its decorators). */
  text: string;
  /** 0-based line of its first character in the module. */
  line: number;
}

export interface ModuleSymbols {
  /** Classes, functions and `NAME = ...` assignments, by name (the last one wins, as in Python). */
  defs: Map<string, ModuleDef>;
  /** Name bound by an `import x as y` / `import x` statement -> that statement's text. */
  plainImports: Map<string, string>;
  /** Name bound by a `from X import a as b` statement -> the import (for following it into X). */
  fromImported: Map<string, { from: FromImport; name: string; text: string }>;
}

const cache = new Map<string, { text: string; symbols: ModuleSymbols }>();
const CACHE_SIZE = 64;

export function moduleSymbols(path: string, text: string): ModuleSymbols {
  const hit = cache.get(path);
  if (hit && hit.text === text) return hit.symbols;
  const doc = parseSource(text);
  let symbols: ModuleSymbols;
  try {
    symbols = collect(doc.root, text);
  } finally {
    doc.dispose();
  }
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(path, { text, symbols });
  return symbols;
}

function collect(root: PyNode, text: string): ModuleSymbols {
  const out: ModuleSymbols = { defs: new Map(), plainImports: new Map(), fromImported: new Map() };
  let line = 0;
  let offset = 0;
  const lineOf = (at: number) => {
    for (; offset < at; offset++) if (text.charCodeAt(offset) === 10) line++;
    return line;
  };
  for (const node of root.namedChildren) {
    const def = node.type === 'decorated_definition' ? node.child('definition') : node;
    if (def && (def.type === 'class_definition' || def.type === 'function_definition')) {
      const name = def.child('name')?.text;
      if (name) out.defs.set(name, { name, text: node.text, line: lineOf(node.start) });
    } else if (node.type === 'import_statement') {
      for (const bound of plainImportNames(node.text)) out.plainImports.set(bound, node.text);
    } else if (node.type === 'import_from_statement') {
      for (const from of fromImports(node.text)) {
        if (from.names === 'star') continue;
        for (const n of from.names) out.fromImported.set(n.alias, { from, name: n.name, text: node.text });
      }
    } else if (node.type === 'expression_statement') {
      const assign = node.namedChildren[0];
      const left = assign?.type === 'assignment' ? assign.child('left') : undefined;
      if (left?.type === 'identifier') out.defs.set(left.text, { name: left.text, text: node.text, line: lineOf(node.start) });
    }
  }
  return out;
}

/** `import a.b as c, d.e` binds `c` and `d`. */
function plainImportNames(statement: string): string[] {
  const list = statement.replace(/^\s*import\s+/, '').replace(/#.*/s, '');
  return list
    .split(',')
    .map((part) => /^([\w.]+)(?:\s+as\s+(\w+))?$/.exec(part.trim()))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => m[2] ?? m[1]!.split('.')[0]!);
}
