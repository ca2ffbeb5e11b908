// run.json as the launcher writes it (run format v1, src/protocol/runFormat.ts): built before the process starts,
// completed when it ends. Pure: the file system is in runDirectory.ts.
import { RUN_FORMAT_VERSION, type RunInfo, type RunStatus } from '../protocol/runFormat';
import type { LaunchPlan } from './launchPlan';

/**
 * What was asked for, kept in run.json under "launch" (an extra field; readers keep and ignore unknown fields) so
 * that Resume can start the same thing again.
 */
export interface LaunchRecord {
  script: string;
  args: string[];
  python: string;
  devices: string;
  target: 'local' | 'torchrun';
  nprocPerNode?: number;
  cwd: string;
}

export type LaunchedRunInfo = RunInfo & { launch?: LaunchRecord; signal?: string | null; message?: string };

export interface RunInfoInput {
  id: string;
  name: string;
  plan: LaunchPlan;
  cwd: string;
  interpreter: string;
  git: RunInfo['git'];
  launch: LaunchRecord;
  start: Date;
  resumedFrom?: RunInfo['resumedFrom'];
}

export function buildRunInfo(i: RunInfoInput): LaunchedRunInfo {
  const info: LaunchedRunInfo = {
    formatVersion: RUN_FORMAT_VERSION,
    id: i.id,
    name: i.name,
    command: i.plan.command,
    args: [...i.plan.args],
    cwd: i.cwd,
    interpreter: i.interpreter,
    git: i.git,
    hyperparameters: {},
    target: i.plan.target,
    devices: [...i.plan.devices],
    status: 'running',
    startTime: i.start.toISOString(),
    endTime: null,
    exitCode: null,
    pid: null,
    launch: i.launch,
  };
  if (i.resumedFrom) info.resumedFrom = i.resumedFrom;
  return info;
}

export interface RunOutcome {
  exitCode: number | null;
  signal: string | null;
  /** The user asked to stop the run (Stop command, Ctrl-C in its terminal, terminal closed). */
  stopRequested: boolean;
  end: Date;
  /** Set when the process could not start at all (ENOENT, EACCES). */
  spawnError?: string;
}

/** The final status: stopped when asked to, finished on exit code 0, failed otherwise. */
export function finalStatus(o: RunOutcome, statusInFile: unknown): RunStatus {
  if (o.stopRequested) return 'stopped';
  if (o.exitCode === 0) {
    // The script may have ended the run itself with log.finish("failed") and exited 0: keep its word.
    if (statusInFile === 'failed' || statusInFile === 'stopped' || statusInFile === 'finished') return statusInFile;
    return 'finished';
  }
  return 'failed';
}

/**
 * run.json at the end of the run: `current` is the file as it is now (the logger may have merged hyperparameters
 * into it; unknown fields are kept), the outcome decides status, endTime and exitCode.
 */
export function completeRunInfo(current: Record<string, unknown>, o: RunOutcome): Record<string, unknown> {
  const next: Record<string, unknown> = { ...current };
  next.status = finalStatus(o, current.status);
  next.endTime = o.end.toISOString();
  next.exitCode = o.exitCode;
  if (o.signal) next.signal = o.signal;
  if (o.spawnError) next.message = o.spawnError;
  return next;
}
