// The Environment view's content as plain data: the shared facts (format.ts) plus problems, with icons.
// environmentView.ts maps it to TreeItems; tests read it directly.
import type { EnvironmentSnapshot, Problem } from '../protocol/environment';
import { environmentFacts, problemsHeading, type Fact, type FactState } from './format';

export interface EnvNode {
  id: string;
  label: string;
  description?: string;
  tooltip?: string;
  /** Codicon id and optional theme colour id. */
  icon?: { id: string; color?: string };
  contextValue?: string;
  children?: EnvNode[];
  command?: { command: string; title: string; args?: unknown[] };
}

const severityIcon: Record<Problem['severity'], { id: string; color: string }> = {
  error: { id: 'error', color: 'problemsErrorIcon.foreground' },
  warning: { id: 'warning', color: 'problemsWarningIcon.foreground' },
  info: { id: 'info', color: 'problemsInfoIcon.foreground' },
};

const stateIcon: Record<FactState, { id: string; color?: string }> = {
  ok: { id: 'check', color: 'testing.iconPassed' },
  error: severityIcon.error,
  off: { id: 'circle-slash' },
  pending: { id: 'loading~spin' },
};

/** Icons that say what a row is, where its state is not the point. */
const kindIcon: Record<string, string> = { interpreter: 'symbol-namespace', gpus: 'chip', onnxruntime: 'package' };

function contextValue(f: Fact): string | undefined {
  if (f.id === 'interpreter') return 'interpreter';
  if (f.id === 'torch' && f.state === 'error') return 'torch-missing';
  return undefined;
}

function factNode(f: Fact): EnvNode {
  const kind = kindIcon[f.id] ?? (f.id.startsWith('gpu:') ? 'circuit-board' : undefined);
  return {
    id: f.id,
    label: f.label,
    description: f.value,
    tooltip: f.detail ? `${f.value}\n${f.detail}` : f.value,
    icon: kind && f.state !== 'error' && f.state !== 'pending' ? { id: kind } : stateIcon[f.state],
    contextValue: contextValue(f),
    children: f.children?.length ? f.children.map(factNode) : undefined,
  };
}

export function buildEnvironmentTree(s: EnvironmentSnapshot): EnvNode[] {
  // Untrusted: the view's welcome content explains it; an empty tree lets it show.
  if (!s.trusted) return [];
  const nodes: EnvNode[] = [];
  if (s.problems.length > 0) {
    nodes.push({
      id: 'problems',
      label: problemsHeading(s.problems),
      description: `${s.problems.length}`,
      icon: severityIcon[s.problems[0]!.severity],
      children: s.problems.map((p) => ({
        id: `problem:${p.code}`,
        label: p.message,
        tooltip: p.message,
        icon: severityIcon[p.severity],
        contextValue: 'problem',
        command: { command: 'descent.showProblem', title: 'Show', args: [p.code] },
      })),
    });
  }
  return nodes.concat(environmentFacts(s).map(factNode));
}
