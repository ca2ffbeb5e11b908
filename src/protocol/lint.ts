// Shared shapes of the linter that the webview needs too: a rule's metadata (its explanation page) and the
// messages of that page. Plain types only: src/lint/types.ts re-exports them for the linter itself.

export type Severity = 'error' | 'warning' | 'info';

export type RuleGroup = 'training-loop' | 'evaluation' | 'loss' | 'data' | 'reproducibility' | 'device' | 'architecture' | 'hyperparameters' | 'deprecated-api' | 'keras';

export interface RuleMeta {
  /** Stable code from the catalogue: TL001, LS001, ... */
  id: string;
  /** kebab-case name, e.g. `missing-zero-grad`. */
  name: string;
  group: RuleGroup;
  defaultSeverity: Severity;
  /** One line: what is wrong. */
  summary: string;
  /** Markdown paragraph: why it hurts training. */
  why: string;
  /** Python code showing the mistake. */
  wrong: string;
  /** Python code showing the fix. */
  right: string;
  /** The course concept it relates to, e.g. "Backpropagation: gradients accumulate in .grad". */
  concept: string;
  fixable: boolean;
}

export type RuleExplanationToWebview = { type: 'rule'; rule: RuleMeta } | { type: 'unknownRule'; id: string };

export type RuleExplanationToHost = { type: 'ready' } | { type: 'openSettings' } | { type: 'openRule'; id: string };
