// The status a run is shown with. run.json says running | finished | failed | stopped; "interrupted" is derived (run
// format v1): still marked running, but its process is gone from this host and nothing was written recently.
import { readFileSync } from 'node:fs';
import type { RunStatus } from '../../protocol/runFormat';

export type RunState = RunStatus | 'interrupted';

export const RUN_STATES: readonly RunState[] = ['running', 'interrupted', 'failed', 'stopped', 'finished'];

/** A run whose process is gone counts as still running while it wrote this recently (a writer on another host). */
export const QUIET_WITH_DEAD_PID_MS = 15_000;
/** Without a pid, a running run counts as interrupted after this much silence. */
export const QUIET_WITHOUT_PID_MS = 10 * 60_000;
/** Runs of other tools (no status file) count as running while written this recently. */
export const IMPORTED_ACTIVE_MS = 2 * 60_000;

/**
 * Whether the process that started at `startedMs` (the run's start) still exists on this host. EPERM means it exists
 * but belongs to another user. Process ids are reused (Linux wraps at 32768 by default), so on Linux a process with
 * that id that started after the run did is another process: the run's own is gone.
 */
export function pidAlive(pid: number, startedMs?: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (startedMs !== undefined && Number.isFinite(startedMs)) {
    const began = linuxProcessStartMs(pid);
    if (began !== undefined && began > startedMs + 60_000) return false;
  }
  return true;
}

/** Start time of a process from /proc (Linux), ms since the epoch; undefined elsewhere. */
export function linuxProcessStartMs(pid: number): number | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime, clock ticks since boot); the command (field 2) may hold spaces, so count after its ")".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    const btime = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
    if (!btime || !Number.isFinite(ticks)) return undefined;
    // USER_HZ is 100 on every Linux architecture Node runs on.
    return (Number(btime[1]) + ticks / 100) * 1000;
  } catch {
    return undefined;
  }
}

export interface StatusInputs {
  /** From run.json; undefined for runs of other tools. */
  written: RunStatus | undefined;
  pid: number | null | undefined;
  /** Last modification of any of the run's files, ms. */
  lastWriteMs: number;
  now: number;
  /** The run's start, ms (to tell a reused process id). */
  startedMs?: number;
  isAlive?: (pid: number, startedMs?: number) => boolean;
}

export function effectiveStatus(s: StatusInputs): RunState {
  const quiet = s.now - s.lastWriteMs;
  if (s.written === undefined) return quiet < IMPORTED_ACTIVE_MS ? 'running' : 'finished';
  if (s.written !== 'running') return s.written;
  if (s.pid !== null && s.pid !== undefined) {
    if ((s.isAlive ?? pidAlive)(s.pid, s.startedMs)) return 'running';
    return quiet > QUIET_WITH_DEAD_PID_MS ? 'interrupted' : 'running';
  }
  return quiet > QUIET_WITHOUT_PID_MS ? 'interrupted' : 'running';
}
