// Runs the rules over one parsed file: one pass over the JS tree builds an index by node type, rules are
// dispatched from it, findings inside syntax-error lines or suppressed by comments are dropped.
import { Analysis, type NodeIndex } from './analysis';
import { isEnabled, isSuppressed, parseSuppression, type LintOptions, type Suppressions } from './config';
import { LineIndex, ParsedDocument, type PyNode } from './parser';
import { allRules } from './rules';
import type { Finding, RawFinding, RawFix, Rule, RuleContext, TextEdit } from './types';

export interface LintRun {
  options?: LintOptions;
  /** Defaults to every registered rule. */
  rules?: readonly Rule[];
  /** A rule that throws is skipped (the others still run); this hears about it. */
  onRuleError?: (rule: string, error: unknown) => void;
  /**
   * Profiling (bench/lint): hears how long each rule took, in ms. Shared analysis is computed lazily, so its cost
   * is charged to the first rule that asks for it. Leave unset in production (no timing calls are made).
   */
  onRuleTime?: (rule: string, ms: number) => void;
}

class Index implements NodeIndex {
  private readonly byType = new Map<string, PyNode[]>();
  /** 0-based lines holding an ERROR or MISSING node. */
  readonly errorLines = new Set<number>();
  readonly errorNodes: PyNode[] = [];

  constructor(root: PyNode) {
    const stack: PyNode[] = [root];
    while (stack.length) {
      const n = stack.pop()!;
      if (n.type === 'ERROR' || (n.hasError && n.children.length === 0)) {
        this.errorNodes.push(n);
        continue;
      }
      if (n.named) {
        let list = this.byType.get(n.type);
        if (!list) this.byType.set(n.type, (list = []));
        list.push(n);
      }
      if (n.type === 'string') continue;
      for (let i = n.children.length - 1; i >= 0; i--) {
        const c = n.children[i]!;
        if (c.named || c.hasError) stack.push(c);
      }
    }
  }

  of(type: string): readonly PyNode[] {
    return this.byType.get(type) ?? [];
  }
}

export function lintDocument(doc: ParsedDocument, run: LintRun = {}): Finding[] {
  return lintTree(doc.root, doc.source, doc.lines, run);
}

export function lintTree(root: PyNode, source: string, lines: LineIndex, run: LintRun = {}): Finding[] {
  const options = run.options ?? {};
  const rules = (run.rules ?? allRules).filter((r) => isEnabled(r.meta.id, options));
  if (rules.length === 0) return [];
  const index = new Index(root);
  for (const e of index.errorNodes) {
    const a = lines.position(e.start).line;
    const b = lines.position(e.end).line;
    for (let l = a; l <= b; l++) index.errorLines.add(l);
  }
  const suppressions = collectSuppressions(index, lines);
  let analysis: Analysis | undefined;
  const findings: Finding[] = [];

  for (const rule of rules) {
    const { id } = rule.meta;
    if (suppressions.file.has(id) || suppressions.file.has('*')) continue;
    // A severity set by the user applies to every finding; else a finding's own (a milder form), else the rule's.
    const configured = configuredSeverity(rule, options);
    const ctx: RuleContext = {
      source,
      root,
      lines,
      get analysis() {
        analysis ??= new Analysis(root, index);
        return analysis;
      },
      nodesOfType: (t) => index.of(t),
      report: (f: RawFinding) => {
        const start = f.start ?? f.node?.start ?? 0;
        const end = f.end ?? f.node?.end ?? start;
        const range = { start: lines.position(start), end: lines.position(end) };
        for (let l = range.start.line; l <= range.end.line; l++) if (index.errorLines.has(l)) return;
        if (isSuppressed(suppressions, id, range.start.line)) return;
        const finding: Finding = { rule: id, severity: configured ?? f.severity ?? rule.meta.defaultSeverity, message: f.message, range };
        if (f.fixes?.length) finding.fixes = f.fixes.map((x) => toFix(x, lines));
        findings.push(finding);
      },
    };
    const t0 = run.onRuleTime ? performance.now() : 0;
    try {
      if (rule.visit && rule.nodeTypes) for (const t of rule.nodeTypes) for (const n of index.of(t)) rule.visit(n, ctx);
      rule.check?.(ctx);
    } catch (error) {
      run.onRuleError?.(id, error);
    }
    if (run.onRuleTime) run.onRuleTime(id, performance.now() - t0);
  }
  findings.sort((x, y) => x.range.start.line - y.range.start.line || x.range.start.column - y.range.start.column || x.rule.localeCompare(y.rule));
  return findings;
}

/** Parses and lints a whole text once (CLI, tests). The parser must be initialised (`initParser`). */
export function lintSource(source: string, run: LintRun = {}): Finding[] {
  const doc = new ParsedDocument(source, false);
  try {
    return lintDocument(doc, run);
  } finally {
    doc.dispose();
  }
}

function configuredSeverity(rule: Rule, options: LintOptions) {
  const s = options.severity?.[rule.meta.id];
  return s && s !== 'off' ? s : undefined;
}

function toFix(f: RawFix, lines: LineIndex) {
  const edits: TextEdit[] = f.edits.map((e) => ({ range: { start: lines.position(e.start), end: lines.position(e.end) }, newText: e.newText }));
  return { title: f.title, edits };
}

function collectSuppressions(index: Index, lines: LineIndex): Suppressions {
  const s: Suppressions = { lines: new Map(), file: new Set() };
  for (const c of index.of('comment')) {
    const text = c.text;
    if (!text.includes('descent')) continue;
    const parsed = parseSuppression(text);
    if (!parsed) continue;
    if (parsed.file) for (const code of parsed.codes) s.file.add(code);
    else {
      const line = lines.position(c.start).line;
      const set = s.lines.get(line) ?? new Set<string>();
      for (const code of parsed.codes) set.add(code);
      s.lines.set(line, set);
    }
  }
  return s;
}

/** Applies edits (non-overlapping) to a text: used by tests and the CLI's future --fix. */
export function applyEdits(source: string, edits: TextEdit[]): string {
  const lines = new LineIndex(source);
  const abs = edits
    .map((e) => ({ start: lines.offset(e.range.start.line, e.range.start.column), end: lines.offset(e.range.end.line, e.range.end.column), text: e.newText }))
    .sort((a, b) => b.start - a.start);
  let out = source;
  for (const e of abs) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}
