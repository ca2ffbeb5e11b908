// Resume: the last checkpoint a run logged (events.jsonl), and the arguments of the new run. Pure.
import * as path from 'node:path';
import type { CheckpointEvent } from '../protocol/runFormat';
import { parseEventLine } from '../runs/format/events';

/** The last checkpoint event in events.jsonl text (the last complete line wins; bad lines are skipped). */
export function lastCheckpoint(eventsText: string): CheckpointEvent | undefined {
  let last: CheckpointEvent | undefined;
  const lines = eventsText.split('\n');
  // The text after the last newline is a record still being written: not read.
  lines.pop();
  for (const line of lines) {
    if (line.trim() === '') continue;
    const e = parseEventLine(line);
    if (e && typeof e === 'object' && e.event === 'checkpoint') last = e;
  }
  return last;
}

/** A checkpoint path as the script gave it, resolved against the run's working directory. */
export function checkpointPath(checkpoint: string, cwd: string): string {
  return path.isAbsolute(checkpoint) ? checkpoint : path.join(cwd, checkpoint);
}

/** The script's arguments without an earlier `--resume X` / `--resume=X` (a resumed run resumed again). */
export function withoutResume(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--resume') {
      i++;
      continue;
    }
    if (a.startsWith('--resume=')) continue;
    out.push(a);
  }
  return out;
}

export function resumeArgs(args: readonly string[], checkpoint: string): string[] {
  return [...withoutResume(args), '--resume', checkpoint];
}

/**
 * Whether a script's source declares a `--resume` option (argparse, click, typer, absl, or a hand-written check).
 * A text search: it cannot be sure, but a script that never mentions "--resume" surely has no such option.
 */
export function declaresResume(source: string): boolean {
  return /["']--resume["'=]/.test(source) || /\bDEFINE_\w+\(\s*["']resume["']/.test(source) || /\bdef\s+\w+\([^)]*\bresume\b/.test(source);
}
