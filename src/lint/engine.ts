// Runs the rules over one parsed file: one walk builds a node index by type, rules are dispatched from it, findings
// inside syntax-error lines or suppressed by comments are dropped. In an editor's document, statement-local rules keep
// their findings per top-level statement between lints (statements.ts).
import { Analysis, type FileIndex, type NodeIndex } from './analysis';
import { isEnabled, isSuppressed, parseSuppression, type LintOptions, type Suppressions } from './config';
import { LineIndex, ParsedDocument, type PyNode } from './parser';
import { allRules } from './rules';
import {
  Statement,
  Statements,
  factsMask,
  indexInto,
  ruleSlot,
  type KeptCandidates,
  type StatementIndex,
  type KeptEntry,
  type KeptFinding,
  type KeptStatements,
  type LastLint,
} from './statements';
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
  /** Tests: check each rule's candidate test against its visit on every node (see `Rule.candidate`). */
  verifyCandidates?: boolean;
}

/**
 * The nodes of each top-level statement by type, kept while the statement keeps its PyNode: an incremental parse keeps
 * the PyNode of a statement it did not change, and with it the same subtree (only offsets move).
 */
const statementIndexes = new WeakMap<PyNode, Map<string, PyNode[]>>();

const NO_NODES: PyNode[] = [];

/**
 * The whole tree's node index; a statement's nodes are slices of it (`Statement.of`). One walk of the tree, or in an
 * editor's document the kept indexes of unchanged statements joined type by type on first request.
 */
class Index implements FileIndex, StatementIndex {
  private readonly byType = new Map<string, PyNode[]>();
  readonly errorNodes: PyNode[] = [];
  private readonly parts: Map<string, PyNode[]>[] = [];

  private constructor() {}

  /** One walk of the whole tree. */
  static whole(root: PyNode): Index {
    const index = new Index();
    indexInto(root, index.byType, index.errorNodes);
    return index;
  }

  /** An editor's document: each unchanged top-level statement's kept index, the others walked again. */
  static fromStatements(root: PyNode): Index {
    const index = new Index();
    index.parts.push(new Map([[root.type, [root]]]));
    for (const s of root.children) {
      if (!s.named && !s.hasError) continue;
      let part = s.hasError ? undefined : statementIndexes.get(s);
      if (!part) {
        part = new Map();
        indexInto(s, part, index.errorNodes);
        // A statement with an error holds tokens error recovery made up; they are rebuilt on each parse.
        if (!s.hasError) statementIndexes.set(s, part);
      }
      index.parts.push(part);
    }
    return index;
  }

  of(type: string): readonly PyNode[] {
    let list = this.byType.get(type);
    if (!list) {
      const lists: PyNode[][] = [];
      for (const part of this.parts) {
        const nodes = part.get(type);
        if (nodes) lists.push(nodes);
      }
      // One native copy into an array of the final size (pushing one by one regrows it: garbage on every lint).
      list = NO_NODES.concat(...lists);
      this.byType.set(type, list);
    }
    return list;
  }

  /** Statement i's nodes by type (`parts[0]` holds the root); only an index built `fromStatements` has them. */
  statementPart(i: number): ReadonlyMap<string, readonly PyNode[]> {
    const part = this.parts[i + 1];
    if (!part) throw new Error(`Descent lint: no index part for top-level statement ${i}`);
    return part;
  }

  /** The nodes of a type statement by statement (each list kept while its statement is), or undefined for a whole walk. */
  partsOf(type: string): readonly (readonly PyNode[])[] | undefined {
    if (!this.parts.length) return undefined;
    const lists: PyNode[][] = [];
    for (const part of this.parts) {
      const nodes = part.get(type);
      if (nodes) lists.push(nodes);
    }
    return lists;
  }
}

/** Per document: what its statements keep, and the imports key, analysis number and what rules left of its last lint. */
const kept = new WeakMap<ParsedDocument, { statements: KeptStatements; imports: string; analysis: number | undefined; last: LastLint }>();

/**
 * Lints a document. An editor's document (incremental) re-runs statement-local rules (`Rule.local`) only on the
 * top-level statements its last edit changed, and only when the file-wide facts they read kept their digests.
 */
export function lintDocument(doc: ParsedDocument, run: LintRun = {}): Finding[] {
  if (!doc.incremental || doc.root.type !== 'module') return lintTree(doc.root, doc.source, doc.lines, run);
  const index = Index.fromStatements(doc.root);
  const before = kept.get(doc);
  const statements = new Statements(doc.root, index, before?.statements, before?.last);
  const imports = statements.imports();
  // Same imports: the qualified names memoised on nodes kept from the last lint still hold (Analysis.serial).
  const now = { statements: statements.after, imports, analysis: before?.imports === imports ? before.analysis : undefined, last: statements.next };
  kept.set(doc, now);
  return lintWith(index, doc.root, doc.source, doc.lines, run, statements, now);
}

export function lintTree(root: PyNode, source: string, lines: LineIndex, run: LintRun = {}): Finding[] {
  return lintWith(Index.whole(root), root, source, lines, run);
}

function lintWith(
  index: Index,
  root: PyNode,
  source: string,
  lines: LineIndex,
  run: LintRun,
  statements?: Statements,
  resolution?: { analysis: number | undefined },
): Finding[] {
  const options = run.options ?? {};
  const rules = (run.rules ?? allRules).filter((r) => isEnabled(r.meta.id, options));
  if (rules.length === 0) return [];
  const errorLines = new Set<number>();
  for (const e of index.errorNodes) {
    const a = lines.position(e.start).line;
    const b = lines.position(e.end).line;
    for (let l = a; l <= b; l++) errorLines.add(l);
  }
  const suppressions = collectSuppressions(index, lines);
  let analysis: Analysis | undefined;
  const getAnalysis = () => {
    if (!analysis) {
      analysis = new Analysis(
        root,
        index,
        statements && {
          boundAnywhere: statements.isBoundAnywhere,
          sameResolutionAs: resolution?.analysis,
          scopeParts: () => statements.list.map((s) => s.scopes()),
          statementFacts: statements.factsOf,
        },
      );
      if (resolution) resolution.analysis = analysis.serial;
    }
    return analysis;
  };
  const findings: Finding[] = [];

  for (const rule of rules) {
    const { id } = rule.meta;
    if (suppressions.file.has(id) || suppressions.file.has('*')) continue;
    // A severity set by the user applies to every finding; else a finding's own (a milder form), else the rule's.
    const configured = configuredSeverity(rule, options);
    const emit = (start: number, end: number, f: { message: string; severity?: RawFinding['severity']; fixes?: RawFix[] }) => {
      const range = { start: lines.position(start), end: lines.position(end) };
      for (let l = range.start.line; l <= range.end.line; l++) if (errorLines.has(l)) return;
      if (isSuppressed(suppressions, id, range.start.line)) return;
      const finding: Finding = { rule: id, severity: configured ?? f.severity ?? rule.meta.defaultSeverity, message: f.message, range };
      if (f.fixes?.length) finding.fixes = f.fixes.map((x) => toFix(x, lines));
      findings.push(finding);
    };
    const t0 = run.onRuleTime ? performance.now() : 0;
    const localRun = { source, lines, analysis: getAnalysis, emit, onError: run.onRuleError };
    if (statements && rule.local && rule.visit && rule.nodeTypes && !rule.check) {
      runLocal(rule, statements, localRun);
    } else {
      const ctx: RuleContext = {
        source,
        root,
        lines,
        get analysis() {
          return getAnalysis();
        },
        nodesOfType: (t) => index.of(t),
        report: (f: RawFinding) => {
          const start = f.start ?? f.node?.start ?? 0;
          emit(start, f.end ?? f.node?.end ?? start, f);
        },
      };
      try {
        if (statements && rule.candidate && rule.visit && rule.nodeTypes) runCandidates(rule, statements, localRun, ctx);
        else if (run.verifyCandidates && rule.candidate && rule.visit && rule.nodeTypes) verifyCandidates(rule, index, ctx, localRun, root);
        else if (rule.visit && rule.nodeTypes) for (const t of rule.nodeTypes) for (const n of index.of(t)) rule.visit(n, ctx);
        rule.check?.(ctx);
      } catch (error) {
        run.onRuleError?.(id, error);
      }
    }
    if (run.onRuleTime) run.onRuleTime(id, performance.now() - t0);
  }
  findings.sort(
    (x, y) =>
      x.range.start.line - y.range.start.line ||
      x.range.start.column - y.range.start.column ||
      x.rule.localeCompare(y.rule) ||
      (x.message < y.message ? -1 : x.message > y.message ? 1 : 0),
  );
  return findings;
}

interface LocalRun {
  source: string;
  lines: LineIndex;
  analysis: () => Analysis;
  emit: (start: number, end: number, f: Pick<KeptFinding, 'message' | 'severity' | 'fixes'>) => void;
  onError?: (rule: string, error: unknown) => void;
}

/**
 * Runs a statement-local rule statement by statement: a statement whose text and fact key are those of a kept one
 * gets the kept findings back (moved to its offsets), any other is visited again.
 */
function runLocal(rule: Rule, statements: Statements, r: LocalRun): void {
  const { id } = rule.meta;
  const slot = ruleSlot(id);
  const mask = factsMask(rule.local!);
  // One context for every statement (closures per statement cost more than the visits they save).
  let entry: KeptEntry = { key: 0, findings: null };
  let lo = 0;
  let hi = 0;
  const inside = (a: number) => a >= lo && a <= hi;
  const ctx = localContext(id, statements.root, r, () => (entry.findings = null), (f) => {
      const start = f.start ?? f.node?.start ?? 0;
      const end = f.end ?? f.node?.end ?? start;
      r.emit(start, end, f);
      if (!entry.findings) return;
      if (!inside(start) || !inside(end) || f.fixes?.some((x) => x.edits.some((e) => !inside(e.start) || !inside(e.end)))) {
        entry.findings = null;
        return;
      }
      entry.findings.push({ start: start - lo, end: end - lo, message: f.message, severity: f.severity, fixes: f.fixes && shiftFixes(f.fixes, -lo) });
  });
  const list = statements.list;
  const visit = statements.toVisit(slot, mask);
  const busy: number[] = [];
  for (let v = 0, count = visit ? visit.length : list.length; v < count; v++) {
    const i = visit ? visit[v]! : v;
    const s = list[i]!;
    const key = statements.keyIdOf(mask, i);
    lo = s.node.start;
    hi = s.node.end;
    const old = s.keptFindings(slot, key);
    if (old) {
      if (old.length) busy.push(i);
      for (const f of old) r.emit(lo + f.start, lo + f.end, f.fixes ? { ...f, fixes: shiftFixes(f.fixes, lo) } : f);
      continue;
    }
    entry = { key, findings: [] };
    try {
      for (const t of rule.nodeTypes!) for (const n of s.of(t)) rule.visit!(n, ctx);
    } catch (error) {
      entry.findings = null;
      r.onError?.(id, error);
    }
    s.keep(slot, entry);
    if (!s.kept || entry.findings?.length !== 0) busy.push(i);
  }
  statements.ranOver(slot, mask, busy);
}

/**
 * The context of code that reads one statement (a local rule's visit, a candidate test): asking for the whole file's
 * nodes throws (a wrong declaration fails the tests), reading the root calls `onRoot` (the result is not kept).
 */
function localContext(id: string, root: PyNode, r: LocalRun, onRoot: () => void, report: (f: RawFinding) => void): RuleContext {
  return {
    source: r.source,
    lines: r.lines,
    get root() {
      onRoot(); // it may read other statements: nothing to keep
      return root;
    },
    get analysis() {
      return r.analysis();
    },
    nodesOfType: () => {
      throw new Error(`${id} declares statement-local reads but asked for the whole file's nodes`);
    },
    report,
  };
}

/**
 * A full visit that also runs the candidate test on each node and reports a rule error when `visit` reports on a node
 * the test turned away (or the test reads the whole file's nodes). For tests: it proves a test keeps its promise.
 */
function verifyCandidates(rule: Rule, index: Index, ctx: RuleContext, r: LocalRun, root: PyNode): void {
  const { id } = rule.meta;
  const testCtx = localContext(id, root, r, () => undefined, () => {
    throw new Error(`${id}'s candidate test reported a finding`);
  });
  let turnedAway: PyNode | undefined;
  const checked: RuleContext = Object.create(ctx, {
    report: {
      value: (f: RawFinding) => {
        if (turnedAway) throw new Error(`${id}'s candidate test turned away a node its visit reports on: ${turnedAway.text.slice(0, 80)}`);
        ctx.report(f);
      },
    },
  });
  for (const t of rule.nodeTypes!) {
    for (const n of index.of(t)) {
      turnedAway = rule.candidate!.test(n, testCtx) ? undefined : n;
      rule.visit!(n, checked);
    }
  }
}

/**
 * Runs a rule with a candidate test (`Rule.candidate`): per statement, the nodes that pass the test are kept under the
 * statement's text and fact key; `visit` then runs with the whole-file context `ctx` on every candidate, in the order
 * of a full visit (by node type, then document order).
 */
function runCandidates(rule: Rule, statements: Statements, r: LocalRun, ctx: RuleContext): void {
  const { id } = rule.meta;
  const slot = ruleSlot(id);
  const { reads, test } = rule.candidate!;
  const mask = factsMask(reads);
  const types = rule.nodeTypes!;
  const found: PyNode[][] = types.map(() => []);
  let keepable = true;
  const testCtx = localContext(id, statements.root, r, () => (keepable = false), () => {
    throw new Error(`${id}'s candidate test reported a finding`);
  });
  const list = statements.list;
  const visit = statements.toVisit(slot, mask);
  const busy: number[] = [];
  for (let v = 0, count = visit ? visit.length : list.length; v < count; v++) {
    const i = visit ? visit[v]! : v;
    const s = list[i]!;
    const key = statements.keyIdOf(mask, i);
    const old = s.keptCandidates(slot, key);
    if (old && old.paths!.length === 0) continue;
    busy.push(i);
    if (old && addKept(s, old, types, found)) continue;
    keepable = true;
    const paths: number[][] = [];
    const nodes: PyNode[] = [];
    for (let t = 0; t < types.length; t++) {
      for (const n of s.of(types[t]!)) {
        let pass: boolean;
        try {
          pass = test(n, testCtx);
        } catch (error) {
          r.onError?.(id, error);
          pass = true; // visit decides, as in a full lint
          keepable = false;
        }
        if (!pass) continue;
        found[t]!.push(n);
        paths.push([t, ...s.pathTo(n)]);
        nodes.push(n);
      }
    }
    s.keepCandidates(slot, keepable ? { key, paths, top: s.node, nodes } : { key, paths: null });
    if (s.kept && keepable && paths.length === 0) busy.pop();
  }
  statements.ranOver(slot, mask, busy);
  try {
    for (const nodes of found) for (const n of nodes) rule.visit!(n, ctx);
  } catch (error) {
    r.onError?.(id, error);
  }
}

/**
 * Adds a statement's kept candidates to `found`; false (nothing added) if a path no longer leads to its type. The
 * nodes found last time are used as they are while the statement keeps its node; else they are found again by path.
 */
function addKept(s: Statement, kept: KeptCandidates, types: readonly string[], found: PyNode[][]): boolean {
  const paths = kept.paths!;
  if (kept.top !== s.node) {
    const nodes: PyNode[] = [];
    for (const p of paths) {
      const n = s.nodeAt(p, 1);
      if (!n || n.type !== types[p[0]!]) return false;
      nodes.push(n);
    }
    kept.top = s.node;
    kept.nodes = nodes;
  }
  const nodes = kept.nodes!;
  for (let k = 0; k < nodes.length; k++) found[paths[k]![0]!]!.push(nodes[k]!);
  return true;
}

function shiftFixes(fixes: RawFix[], delta: number): RawFix[] {
  return fixes.map((x) => ({ title: x.title, edits: x.edits.map((e) => ({ start: e.start + delta, end: e.end + delta, newText: e.newText })) }));
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

function collectSuppressions(index: NodeIndex, lines: LineIndex): Suppressions {
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
