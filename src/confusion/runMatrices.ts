// Reads the confusion matrices a run logged (events.jsonl, run format v1) into a ConfusionSource. Streams the file
// (a 1000-class matrix is a ~3 MB line) through the same JSON Lines reader the run store uses; bad lines are skipped
// and counted, never thrown. Plain Node: the panel host and the tests use it.
import { createReadStream } from 'node:fs';
import * as path from 'node:path';
import type { ConfusionMatrixEntry, ConfusionSource } from '../protocol/confusion';
import { flattenMatrix } from '../protocol/confusion';
import { RUN_FILES, type ConfusionEvent } from '../protocol/runFormat';
import { createEventsReader } from '../runs/format/events';
import { alignToLabels } from './metrics';

export interface RunMatrices {
  source: ConfusionSource | undefined;
  /** Lines skipped as broken, with the first reason. */
  problems: number;
  firstProblem: string | undefined;
  /** Matrices whose labels differ from the first one's (re-indexed by name onto the first one's labels). */
  relabelled: number;
}

export async function readRunMatrices(runDir: string, title: string): Promise<RunMatrices> {
  const reader = createEventsReader();
  const events: ConfusionEvent[] = [];
  let problems = 0;
  let firstProblem: string | undefined;
  const take = (batch: { records: { event: string }[]; problems: { line: number; reason: string }[] }) => {
    for (const r of batch.records) if (r.event === 'confusion') events.push(r as ConfusionEvent);
    problems += batch.problems.length;
    if (firstProblem === undefined && batch.problems[0]) firstProblem = `line ${batch.problems[0].line}: ${batch.problems[0].reason}`;
  };
  const file = path.join(runDir, RUN_FILES.events);
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 4 * 1024 * 1024 })) take(reader.push(chunk as Buffer));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { source: undefined, problems: 0, firstProblem: undefined, relabelled: 0 };
    throw e;
  }
  take(reader.end());
  const { source, relabelled } = matricesFromEvents(events, title);
  if (source) source.runDir = runDir;
  return { source, problems, firstProblem, relabelled };
}

/** Events -> one source: labels of the first matrix; matrices ordered by split, then step / epoch / file order. */
export function matricesFromEvents(events: readonly ConfusionEvent[], title: string): { source: ConfusionSource | undefined; relabelled: number } {
  const first = events[0];
  if (!first) return { source: undefined, relabelled: 0 };
  const labels = first.labels;
  let relabelled = 0;
  const matrices: (ConfusionMatrixEntry & { order: number })[] = events.map((e, order) => {
    let counts = flattenMatrix(e.matrix);
    if (e.labels.length !== labels.length || e.labels.some((l, i) => l !== labels[i])) {
      counts = Array.from(alignToLabels(counts, e.labels, labels));
      relabelled++;
    }
    const m: ConfusionMatrixEntry & { order: number } = { split: e.split ?? '', counts, order };
    if (e.epoch !== undefined) m.epoch = e.epoch;
    if (e.step !== undefined) m.step = e.step;
    return m;
  });
  const splitRank = (s: string) => (['train', 'val', 'validation', 'test'].indexOf(s) + 5) % 5;
  matrices.sort((a, b) =>
    splitRank(a.split) - splitRank(b.split) || a.split.localeCompare(b.split) ||
    (a.step ?? a.epoch ?? a.order) - (b.step ?? b.epoch ?? b.order) || a.order - b.order);
  return {
    source: { title, labels, matrices: matrices.map(({ order: _order, ...m }) => m) },
    relabelled,
  };
}
