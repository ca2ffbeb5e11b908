// What the Runs view says about a run: description, tooltip facts, icon and group. Pure: unit-tested.
import type { RunSummary } from '../store/runStore';
import type { RunState } from '../store/status';
import { formatDuration, formatValue } from './progress';

export const STATE_LABELS: Record<RunState, string> = {
  running: 'Running',
  interrupted: 'Interrupted',
  failed: 'Failed',
  stopped: 'Stopped',
  finished: 'Finished',
};

export const KIND_LABELS: Record<string, string> = {
  descent: 'Descent',
  tensorboard: 'TensorBoard',
  lightning: 'Lightning CSV',
  keras: 'Keras CSV',
};

/** The metrics a description shows first. */
const PREFERRED = ['loss', 'acc', 'accuracy', 'val_loss'];

/** "loss 0.312 · val acc 0.88 · 2m 13s" */
export function describeRun(s: RunSummary, now = Date.now()): string {
  const parts: string[] = [];
  const ranked = [...s.last].sort((a, b) => rank(a.metric) - rank(b.metric) || splitRank(a.split) - splitRank(b.split));
  for (const v of ranked.slice(0, 2)) {
    const name = v.split && v.split !== 'train' ? `${v.split} ${v.metric}` : v.metric;
    parts.push(`${name} ${formatValue(v.value)}`);
  }
  const d = runDurationSeconds(s, now);
  if (d !== undefined) parts.push(formatDuration(d));
  if (s.kind !== 'descent') parts.push(KIND_LABELS[s.kind] ?? s.kind);
  return parts.join(' · ');
}

export function runDurationSeconds(s: RunSummary, now = Date.now()): number | undefined {
  if (s.startMs === undefined) return undefined;
  const end = s.endMs ?? (s.status === 'running' ? now : s.lastWriteMs || undefined);
  if (end === undefined || end < s.startMs) return undefined;
  return (end - s.startMs) / 1000;
}

function rank(metric: string): number {
  const i = PREFERRED.indexOf(metric.toLowerCase());
  return i < 0 ? PREFERRED.length : i;
}

function splitRank(split: string | undefined): number {
  return split === 'train' ? 0 : split === 'val' ? 1 : split === undefined ? 3 : 2;
}

/** Lines of the tooltip, as [label, value] pairs (the view escapes them). */
export function runFacts(s: RunSummary): [string, string][] {
  const facts: [string, string][] = [];
  facts.push(['Status', STATE_LABELS[s.status]]);
  facts.push(['Source', KIND_LABELS[s.kind] ?? s.kind]);
  const i = s.info;
  if (i) {
    if (i.command) facts.push(['Command', [i.command, ...i.args].join(' ')]);
    if (i.interpreter) facts.push(['Interpreter', i.interpreter]);
    if (i.git) facts.push(['Git commit', `${i.git.commit.slice(0, 12)}${i.git.dirty ? ' (uncommitted changes)' : ''}`]);
    if (i.devices.length) facts.push(['Devices', i.devices.join(', ')]);
    if (i.target.kind !== 'local') facts.push(['Target', i.target.kind + (i.target.nprocPerNode ? ` × ${i.target.nprocPerNode}` : '')]);
    if (i.exitCode !== null) facts.push(['Exit code', String(i.exitCode)]);
    const hp = Object.entries(i.hyperparameters);
    if (hp.length) facts.push(['Hyperparameters', hp.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ')]);
  }
  if (s.startMs !== undefined) facts.push(['Started', new Date(s.startMs).toLocaleString()]);
  const d = runDurationSeconds(s);
  if (d !== undefined) facts.push(['Duration', formatDuration(d)]);
  facts.push(['Records', String(s.records) + (s.problems ? ` (${s.problems} unreadable lines skipped)` : '')]);
  facts.push(['Folder', s.file ?? s.dir]);
  return facts;
}
