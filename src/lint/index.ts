// The linter's public API (pure: no vscode). The VS Code layer and the CLI use only this module.
export { initParser, isParserReady, ParsedDocument, parseSource, LineIndex, wasmMemoryBytes, type InitOptions, type PyNode } from './parser';
export { collectYoungGarbage } from './idleGc';
export { lintDocument, lintSource, lintTree, applyEdits, type LintRun } from './engine';
export { lintNotebookCells, joinCells, mapFindingsToCells, readIpynb, blankMagics, toCellPosition, type CellFinding, type JoinedCells } from './notebook';
export { mergeOptions, isEnabled, parsePyprojectLint, findPyproject, loadPyprojectOptions, parseSuppression, type LintOptions } from './config';
export { allRules, ruleById } from './rules';
export type { Finding, Fix, Position, Range, Rule, RuleMeta, Severity, TextEdit, RuleGroup, RuleContext } from './types';
