// Which rules run and how loud: options from settings / CLI flags, `[tool.descent.lint]` in pyproject.toml, and
// `# descent: ignore[...]` comments in the code.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Severity } from './types';

export interface LintOptions {
  /** Only these rule ids run (empty or absent: all). */
  select?: string[];
  /** Rule ids that never run. */
  disabled?: string[];
  /** Per-rule severity; 'off' disables. */
  severity?: Record<string, Severity | 'off'>;
}

/** Later options win: disabled lists add up, severities override, the last non-empty select wins. */
export function mergeOptions(...all: (LintOptions | undefined)[]): LintOptions {
  const out: LintOptions = { disabled: [], severity: {} };
  for (const o of all) {
    if (!o) continue;
    if (o.select?.length) out.select = [...o.select];
    out.disabled!.push(...(o.disabled ?? []));
    Object.assign(out.severity!, o.severity ?? {});
  }
  return out;
}

export function isEnabled(id: string, o: LintOptions): boolean {
  if (o.select?.length && !o.select.some((s) => id === s || id.startsWith(s))) return false;
  if (o.disabled?.some((s) => id === s || id.startsWith(s))) return false;
  return o.severity?.[id] !== 'off';
}

// ---- suppression comments ----

/** `# descent: ignore`, `# descent: ignore[TL001, LS001]`, `# descent: ignore-file[...]`. */
const SUPPRESS = /#\s*descent:\s*ignore(-file)?\b(?:\[([^\]]*)\])?/;

export interface Suppressions {
  /** 0-based line -> codes ('*' = all) */
  lines: Map<number, Set<string>>;
  file: Set<string>;
}

export function parseSuppression(comment: string): { file: boolean; codes: string[] } | undefined {
  const m = SUPPRESS.exec(comment);
  if (!m) return undefined;
  const codes = m[2] === undefined ? ['*'] : m[2].split(',').map((c) => c.trim()).filter(Boolean);
  return { file: m[1] !== undefined, codes: codes.length ? codes : ['*'] };
}

export function isSuppressed(s: Suppressions, rule: string, line: number): boolean {
  const match = (set: Set<string> | undefined) => !!set && (set.has('*') || set.has(rule));
  return match(s.file) || match(s.lines.get(line));
}

// ---- pyproject.toml ----

/**
 * Reads `[tool.descent.lint]` (`select`, `ignore` arrays) and `[tool.descent.lint.severity]` (`ID = "warning"`),
 * also the inline form `severity = { TL001 = "warning" }`. A tiny TOML subset: the rest of the file is skipped,
 * whatever it holds, and a malformed value is ignored rather than fatal.
 */
export function parsePyprojectLint(toml: string): LintOptions {
  const out: LintOptions = {};
  let section = '';
  const lines = toml.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = stripComment(lines[i]!).trim();
    if (!line) continue;
    const header = /^\[\s*([^\]]+?)\s*\]$/.exec(line);
    if (header && !line.startsWith('[[')) {
      section = header[1]!.replace(/\s+/g, '').replace(/"/g, '');
      continue;
    }
    if (line.startsWith('[[')) {
      section = '';
      continue;
    }
    if (section !== 'tool.descent.lint' && section !== 'tool.descent.lint.severity') continue;
    const kv = /^("?[\w.-]+"?)\s*=\s*(.*)$/.exec(line);
    if (!kv) continue;
    const key = kv[1]!.replace(/"/g, '');
    let value = kv[2]!;
    // Multi-line arrays / inline tables: gather lines until brackets balance.
    while (!balanced(value) && i + 1 < lines.length) value += ' ' + stripComment(lines[++i]!).trim();
    line = value;
    if (section === 'tool.descent.lint.severity') {
      const sev = parseString(value);
      if (sev && isSeverity(sev)) (out.severity ??= {})[key] = sev;
    } else if (key === 'ignore' || key === 'disable') {
      out.disabled = parseStringArray(value);
    } else if (key === 'select') {
      out.select = parseStringArray(value);
    } else if (key === 'severity') {
      for (const m of value.matchAll(/([\w-]+)\s*=\s*"([^"]*)"/g)) if (isSeverity(m[2]!)) (out.severity ??= {})[m[1]!] = m[2]!;
    }
  }
  return out;
}

function isSeverity(s: string): s is Severity | 'off' {
  return s === 'error' || s === 'warning' || s === 'info' || s === 'off';
}

function stripComment(line: string): string {
  let inStr: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (inStr) {
      if (ch === '\\' && inStr === '"') i++;
      else if (ch === inStr) inStr = null;
    } else if (ch === '"' || ch === "'") inStr = ch;
    else if (ch === '#') return line.slice(0, i);
  }
  return line;
}

function balanced(v: string): boolean {
  let depth = 0;
  for (const ch of v.replace(/"[^"]*"|'[^']*'/g, '')) {
    if (ch === '[' || ch === '{') depth++;
    else if (ch === ']' || ch === '}') depth--;
  }
  return depth <= 0;
}

function parseString(v: string): string | undefined {
  const m = /^\s*(?:"([^"]*)"|'([^']*)')/.exec(v);
  return m ? (m[1] ?? m[2]) : undefined;
}

function parseStringArray(v: string): string[] {
  if (!v.trim().startsWith('[')) return [];
  return [...v.matchAll(/"([^"]*)"|'([^']*)'/g)].map((m) => (m[1] ?? m[2])!.trim()).filter(Boolean);
}

/** The nearest pyproject.toml at or above `dir`, or undefined. */
export function findPyproject(dir: string): string | undefined {
  for (let d = dir; ; ) {
    const p = join(d, 'pyproject.toml');
    if (existsSync(p)) return p;
    const up = dirname(d);
    if (up === d) return undefined;
    d = up;
  }
}

/** Lint options from the nearest pyproject.toml above `dir` (empty when none or unreadable). */
export function loadPyprojectOptions(dir: string): LintOptions {
  const p = findPyproject(dir);
  if (!p) return {};
  try {
    return parsePyprojectLint(readFileSync(p, 'utf8'));
  } catch {
    return {};
  }
}
