// The status-bar item's words for the active run (the most recent running run). Pure: unit-tested.
import type { CurveProgress } from '../../protocol/curves';
import type { RunSummary } from '../store/runStore';
import { formatValue } from './progress';

/** "2m", "45s", "1h 05m": short, for the status bar. */
export function shortDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.round(s / 60)}m`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** The loss the status bar shows: train loss, else loss of no split, else any loss, else undefined. */
export function headlineLoss(s: RunSummary): number | undefined {
  const losses = s.last.filter((v) => v.metric.toLowerCase() === 'loss');
  const pick = losses.find((v) => v.split === 'train') ?? losses.find((v) => v.split === undefined) ?? losses[0];
  return pick?.value;
}

/** The most recent running run: `runs` newest first (RunStore.list()). */
export function activeRun<T extends { status: string }>(runs: readonly T[]): T | undefined {
  return runs.find((r) => r.status === 'running');
}

/** "$(pulse) mnist · epoch 3/10 · loss 0.412 · ETA 2m" */
export function activeRunText(s: RunSummary, progress: CurveProgress | null): string {
  const parts = [`$(pulse) ${s.name}`];
  if (progress) parts.push(`${progress.unit} ${progress.done}/${progress.total}`);
  const loss = headlineLoss(s);
  if (loss !== undefined) parts.push(`loss ${formatValue(loss)}`);
  if (progress?.etaSeconds !== null && progress?.etaSeconds !== undefined) parts.push(`ETA ${shortDuration(progress.etaSeconds)}`);
  return parts.join(' · ');
}
