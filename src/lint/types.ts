// The linter's public shapes: findings, fixes, rules and their metadata. Plain data, no vscode.
import type { RuleMeta, Severity } from '../protocol/lint';
import type { Analysis } from './analysis';
import type { LineIndex, PyNode } from './parser';

// Metadata shapes live in the protocol module because the rule explanation page (a webview) shows them.
export type { RuleGroup, RuleMeta, Severity } from '../protocol/lint';

/** 0-based line and UTF-16 column (VS Code's convention). */
export interface Position {
  line: number;
  column: number;
}

export interface Range {
  start: Position;
  end: Position;
}

export interface TextEdit {
  range: Range;
  newText: string;
}

export interface Fix {
  title: string;
  edits: TextEdit[];
}

export interface Finding {
  rule: string;
  severity: Severity;
  message: string;
  range: Range;
  fixes?: Fix[];
}



/** A finding as a rule reports it: offsets into the source; the engine converts to lines and applies severity. */
export interface RawFinding {
  node?: PyNode;
  /** Offsets (UTF-16) when not the whole node. */
  start?: number;
  end?: number;
  message: string;
  fixes?: RawFix[];
  /** A milder form of the rule's mistake: this severity instead of the rule's default (a user's setting still wins). */
  severity?: 'warning' | 'info';
}

export interface RawEdit {
  start: number;
  end: number;
  newText: string;
}

export interface RawFix {
  title: string;
  edits: RawEdit[];
}

export interface RuleContext {
  readonly source: string;
  readonly root: PyNode;
  readonly lines: LineIndex;
  /** Shared per-file facts (imports, assignments, modules, loops), computed once on first use. */
  readonly analysis: Analysis;
  /** All nodes of a type, in document order (ERROR subtrees excluded). */
  nodesOfType(type: string): readonly PyNode[];
  report(finding: RawFinding): void;
}

export interface Rule {
  meta: RuleMeta;
  /** Node types this rule visits; the engine walks the tree once and dispatches by type. */
  nodeTypes?: readonly string[];
  visit?(node: PyNode, ctx: RuleContext): void;
  /** Whole-file check, run after the visits. */
  check?(ctx: RuleContext): void;
  /**
   * Declares the rule statement-local, so that an edit re-runs it only on the top-level statements it changed
   * (the editor's re-lint; see engine.ts). The promise: visiting the nodes of one top-level statement reads only
   * that statement's subtree (ancestors up to it included) plus the facts listed here, and `check` is absent.
   * Facts: 'imports' = `analysis.qname`, `analysis.callee`, `analysis.imports`; 'scopes' = `analysis.scopes`
   * `valueAt` / `selfAttr` / `selfAttrNames`; 'classes' = `analysis.definesClass` (the names of the file's classes).
   * Anything else (`nodesOfType`, `analysis.modules`, `functions`,
   * `callsNamed`, `loops`, file-wide helper analyses, other statements' nodes or text) makes a rule not local.
   * A finding or fix that reaches outside its statement is simply re-computed on every lint.
   */
  local?: readonly LocalFact[];
  /**
   * For a visit rule that is not statement-local: a first test of a node that is (it reads what `reads` lists, like a
   * local rule). The promise: when `test` is false, `visit` reports nothing on that node. The editor's re-lint keeps
   * the nodes that pass per top-level statement, so an edit re-tests only the statements it changed, and `visit`
   * (which may read the whole file) runs on every lint over the nodes that passed. Tests run with
   * `LintRun.verifyCandidates`, which fails a rule whose `visit` reports on a node its test turned away.
   */
  candidate?: CandidateTest;
}

export interface CandidateTest {
  reads: readonly LocalFact[];
  test(node: PyNode, ctx: RuleContext): boolean;
}

/** The file-wide facts a statement-local rule may read (their digests key its cached findings). */
export type LocalFact = 'imports' | 'scopes' | 'classes';
