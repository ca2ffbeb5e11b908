// Project context: the classes and functions a file imports from its own project (`from model import Net`), copied
// after its text so the rules see them as they see definitions in the file. A model whose forward ends in softmax,
// defined in model.py, is then known to train.py's CrossEntropyLoss. Findings inside the copied part are dropped
// (that file is linted on its own); messages that point into it name the real file and line.
import { dirname, join, relative, sep } from 'node:path';
import { fromImports, type FromImport } from './localImports';
import { moduleSymbols, type ModuleSymbols } from './moduleSymbols';

/** Reads a file's text, or undefined when there is none (an open editor's unsaved text may stand in for the disk). */
export type ReadFile = (path: string) => string | undefined;

export interface ContextPiece {
  /** The module the definition came from. */
  file: string;
  /** 0-based line in the context text where the definition starts. */
  contextLine: number;
  /** 0-based line in its module. */
  sourceLine: number;
  lineCount: number;
}

export interface ProjectContext {
  /** Python text to append after the file's own. */
  text: string;
  pieces: ContextPiece[];
  /** Every module file read (a change to one of them changes the context). */
  files: string[];
}

/** How far up from the file's folder an absolute import is looked for (a script in src/train/ importing models.x). */
const ANCESTORS = 3;
const MAX_FILES = 12;
const MAX_CHARS = 300_000;
/** Installed libraries are never read from the project, even when a folder of that name sits next to the file. */
const LIBRARIES = new Set(['torch', 'torchvision', 'torchaudio', 'tensorflow', 'keras', 'numpy', 'pandas', 'sklearn', 'scipy', 'transformers', 'lightning', 'pytorch_lightning', 'timm', 'matplotlib']);

/** Finds the file a `from ... import` names, relative to the importing file. */
export function resolveModule(importer: string, from: FromImport, read: ReadFile): { path: string; text: string } | undefined {
  if (!from.module) return undefined; // `from . import x`: x is reached as x.Net, not followed
  const parts = from.module.split('.');
  if (from.level === 0 && LIBRARIES.has(parts[0]!)) return undefined;
  const bases: string[] = [];
  let dir = dirname(importer);
  if (from.level > 0) {
    for (let k = 1; k < from.level; k++) dir = dirname(dir);
    bases.push(dir);
  } else {
    for (let k = 0; k <= ANCESTORS; k++) {
      bases.push(dir);
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  for (const base of bases) {
    for (const path of [join(base, ...parts) + '.py', join(base, ...parts, '__init__.py')]) {
      if (path === importer) continue;
      const text = read(path);
      if (text !== undefined) return { path, text };
    }
  }
  return undefined;
}

interface Wanted {
  file: string;
  name: string;
  /** The importing file's name for it (`from model import Net as Model`): the copy is renamed, as the analyses do not follow class aliases. */
  alias?: string;
}

/**
 * The project context of `file` (whose text is `source`), or undefined when it imports nothing from its project.
 * Names the file defines or imports itself are never copied (the file's own meaning wins).
 */
export function projectContext(file: string, source: string, read: ReadFile): ProjectContext | undefined {
  const imports = fromImports(source);
  if (!imports.length) return undefined;
  const taken = boundNames(source);
  const symbolsByFile = new Map<string, ModuleSymbols>();
  const load = (from: FromImport, importer: string): string | undefined => {
    const found = resolveModule(importer, from, read);
    if (!found) return undefined;
    if (!symbolsByFile.has(found.path)) {
      if (symbolsByFile.size >= MAX_FILES) return undefined;
      symbolsByFile.set(found.path, moduleSymbols(found.path, found.text));
    }
    return found.path;
  };

  const queue: Wanted[] = [];
  for (const from of imports) {
    const path = load(from, file);
    if (!path) continue;
    if (from.names === 'star') {
      for (const name of symbolsByFile.get(path)!.defs.keys()) if (!name.startsWith('_')) queue.push({ file: path, name });
      continue;
    }
    for (const n of from.names) queue.push({ file: path, name: n.name, ...(n.alias !== n.name ? { alias: n.alias } : {}) });
  }

  // Definitions to copy, and the imports they read that the file does not bind itself.
  const chosen = new Map<string, Map<string, string>>();
  const importLines = new Set<string>();
  const copiedNames = new Set<string>();
  let chars = 0;
  while (queue.length) {
    const { file: path, name, alias } = queue.shift()!;
    const symbols = symbolsByFile.get(path)!;
    const def = symbols.defs.get(name);
    if (!def) {
      // Re-exported: `from .layers import Block` in models/__init__.py.
      const via = symbols.fromImported.get(name);
      const next = via && load(via.from, path);
      if (next) queue.push({ file: next, name: via.name, ...(alias ? { alias } : {}) });
      continue;
    }
    const as = alias ?? name;
    if (copiedNames.has(as) || (taken.has(name) && !alias) || chars + def.text.length > MAX_CHARS) continue;
    copiedNames.add(as);
    chars += def.text.length;
    (chosen.get(path) ?? chosen.set(path, new Map()).get(path)!).set(name, as);
    for (const id of new Set(def.text.match(/[A-Za-z_]\w*/g) ?? [])) {
      if (id === name || taken.has(id) || copiedNames.has(id)) continue;
      if (symbols.defs.has(id)) queue.push({ file: path, name: id });
      else if (symbols.plainImports.has(id)) importLines.add(symbols.plainImports.get(id)!);
      else if (symbols.fromImported.has(id)) {
        const via = symbols.fromImported.get(id)!;
        const next = load(via.from, path);
        if (next) queue.push({ file: next, name: via.name });
        else importLines.add(via.text);
      }
    }
  }
  if (!chosen.size) return undefined;
  return assemble(file, chosen, symbolsByFile, [...importLines]);
}

function assemble(file: string, chosen: Map<string, Map<string, string>>, symbolsByFile: Map<string, ModuleSymbols>, importLines: string[]): ProjectContext {
  const lines: string[] = [`# ---- Descent project context for ${display(file, file)} (not part of it) ----`];
  for (const statement of importLines) lines.push(...neutralise(statement).split('\n'));
  const pieces: ContextPiece[] = [];
  for (const [path, names] of chosen) {
    const defs = [...symbolsByFile.get(path)!.defs.values()].filter((d) => names.has(d.name)).sort((a, b) => a.line - b.line);
    lines.push(`# ---- from ${display(file, path)} ----`);
    for (const d of defs) {
      const as = names.get(d.name)!;
      const text = neutralise(as === d.name ? d.text : renamed(d.text, d.name, as)).split('\n');
      pieces.push({ file: path, contextLine: lines.length, sourceLine: d.line, lineCount: text.length });
      lines.push(...text, '');
    }
  }
  return { text: lines.join('\n') + '\n', pieces, files: [...symbolsByFile.keys()] };
}

/** `class Net(...)` copied as `class Model(...)`: the name after the (decorators and) keyword. */
function renamed(text: string, name: string, as: string): string {
  return text.replace(new RegExp(`^((?:\\s*@[^\\n]*\\n)*\\s*(?:async\\s+)?(?:class|def)\\s+)${name}\\b`), `$1${as}`);
}

/** A suppression comment in a copied definition must not act on the importing file. */
function neutralise(text: string): string {
  return text.replace(/#(\s*)descent:/gi, '#$1descent-context:');
}

/** The module's path as the importing file's messages show it: relative to that file's folder. */
export function display(importer: string, path: string): string {
  return relative(dirname(importer), path).split(sep).join('/') || path;
}

/** Names the file binds at any level it may use them from: defs, classes, assignments at column 0, and imports. */
function boundNames(source: string): Set<string> {
  const out = new Set<string>();
  for (const m of source.matchAll(/^(?:class|def|async\s+def)\s+([A-Za-z_]\w*)|^([A-Za-z_]\w*)\s*(?::[^=\n]*)?=(?!=)/gm)) out.add(m[1] ?? m[2]!);
  for (const m of source.matchAll(/^[ \t]*import[ \t]+([^#\n]+)/gm)) {
    for (const part of m[1]!.split(',')) {
      const p = /^([\w.]+)(?:\s+as\s+(\w+))?$/.exec(part.trim());
      if (p) out.add(p[2] ?? p[1]!.split('.')[0]!);
    }
  }
  for (const from of fromImports(source)) if (from.names !== 'star') for (const n of from.names) if (n.alias !== n.name) out.add(n.alias);
  return out;
}
