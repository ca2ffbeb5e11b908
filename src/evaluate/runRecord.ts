// An evaluation saved as a run (run format v1, src/protocol/runFormat.ts) under the workspace's runs/ folder:
// run.json, events.jsonl with one confusion event (split "test"), and metrics.jsonl with accuracy and averages, so it
// appears in the Runs view and can be compared with training runs. A new folder every time: nothing is overwritten.
import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { RUN_FILES, RUN_FORMAT_VERSION, type ConfusionEvent, type MetricLine, type RunInfo } from '../protocol/runFormat';
import { localStamp, runId, sanitizeRunName } from '../train/naming';
import { createRunDirectory, writeJsonAtomic } from '../train/runDirectory';
import type { EvaluationReport } from './report';
import type { EvaluationRequest, EvaluationResult } from './types';

export const EVALUATION_SPLIT = 'test';

/** runs/eval-<model stem>-<YYYYMMDD-HHMMSS> (then -2, -3, ... when taken). Returns the folder. */
export function saveEvaluationRun(runsRoot: string, cwd: string, request: EvaluationRequest, result: EvaluationResult, report: EvaluationReport, finished: Date): string {
  const stem = sanitizeRunName(basename(result.modelPath).replace(/\.onnx$/i, '')) || 'model';
  const { dir, name } = createRunDirectory(runsRoot, `eval-${stem}-${localStamp(finished)}`);
  const t = finished.getTime() / 1000;
  const started = new Date(finished.getTime() - result.seconds * 1000);
  const info: RunInfo = {
    formatVersion: RUN_FORMAT_VERSION,
    id: runId(finished, Math.random()),
    name,
    command: 'descent-eval',
    args: ['--model', result.modelPath, '--data', result.dataPath],
    cwd,
    interpreter: null,
    git: null,
    hyperparameters: {
      kind: 'evaluation',
      model: result.modelPath,
      data: result.dataPath,
      dataKind: request.data.kind,
      batchSize: result.batchSize,
      threads: result.threads,
      scale: request.preprocessing.scale,
      ...(request.preprocessing.mean ? { mean: request.preprocessing.mean } : {}),
      ...(request.preprocessing.std ? { std: request.preprocessing.std } : {}),
      ...(request.preprocessing.resize ? { resize: request.preprocessing.resize.join('x') } : {}),
      color: request.preprocessing.color ?? 'auto',
      labelSource: result.labelSource,
      samplesPerSecond: Math.round(result.samplesPerSecond),
    },
    target: { kind: 'local' },
    devices: ['cpu'],
    status: 'finished',
    startTime: started.toISOString(),
    endTime: finished.toISOString(),
    exitCode: 0,
    pid: null,
  };
  const s = report.summary;
  const metrics: MetricLine = {
    step: 0,
    t,
    split: EVALUATION_SPLIT,
    accuracy: s.accuracy,
    macro_precision: s.macro.precision,
    macro_recall: s.macro.recall,
    macro_f1: s.macro.f1,
    weighted_f1: s.weighted.f1,
    samples: s.total,
  };
  const event: ConfusionEvent = { event: 'confusion', t, step: 0, split: EVALUATION_SPLIT, labels: report.labels, matrix: report.matrix };
  writeFileSync(join(dir, RUN_FILES.metrics), JSON.stringify(metrics) + '\n', { flag: 'wx' });
  writeFileSync(join(dir, RUN_FILES.events), JSON.stringify(event) + '\n', { flag: 'wx' });
  writeJsonAtomic(join(dir, RUN_FILES.info), info);
  return dir;
}
