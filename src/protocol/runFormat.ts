// The run format, version 1: the contract between the Python side that writes a run (python/descent/log.py and the
// launcher) and the TypeScript side that reads it (src/runs/format/). Plain types and a few constants; imported by
// the host and by webviews. This header is the specification; the README copies it.
//
// # A run directory
//
//   runs/<run-name>/          default location: the workspace's runs/ folder (the one PyTorch users already know)
//     run.json                what ran, how, and how it ended. Small, rewritten whole (write to a temporary file in
//                             the same directory, then rename), so a reader never sees half of it.
//     metrics.jsonl           append-only JSON Lines: one metric record per line (below).
//     events.jsonl            append-only JSON Lines: checkpoints and confusion matrices (below).
//     stderr.log              optional, written by the launcher: the tail of the process's stderr.
//
// Every file is optional to a reader: a run directory with only metrics.jsonl (a script that called
// `log.init(dir)` and was killed before anything else) is still a run.
//
// # run.json (RunInfo)
//
//   { "formatVersion": 1, "id": "20261121-102203-5f3a", "name": "mnist-lr3e-4",
//     "command": "/home/me/proj/.venv/bin/python", "args": ["train.py", "--lr", "3e-4"],
//     "cwd": "/home/me/proj", "interpreter": "/home/me/proj/.venv/bin/python",
//     "git": { "commit": "0c5e9a1…", "dirty": true },
//     "hyperparameters": { "lr": 0.0003, "batch_size": 64, "optimizer": "adam" },
//     "target": { "kind": "torchrun", "nprocPerNode": 2 }, "devices": ["cuda:0", "cuda:1"],
//     "status": "running", "startTime": "2026-11-21T10:22:03.120Z", "endTime": null, "exitCode": null,
//     "pid": 41733 }
//
// - `id` is unique and never changes; `name` is the folder name and may be renamed. `command` + `args` is the exact
//   argument array that was started (no shell). `git` is null outside a repository.
// - `status` is one of running | finished | failed | stopped. "interrupted" is never written: a reader derives it
//   for a run still marked running whose process is gone (pid not alive on this host and no recent write).
// - `hyperparameters` is any JSON object; `log.hparams()` merges into it.
// - Times are ISO 8601 in UTC. `endTime` and `exitCode` stay null until the run ends.
// - Who writes it: the launcher creates it before starting the process and completes it at exit (status, endTime,
//   exitCode). The logger merges hyperparameters and, on `log.finish(status)`, status and endTime. A script run
//   outside Descent with `log.init(dir)` gets a run.json created by the logger.
// - Unknown fields are kept and ignored (forward compatible). A reader accepts formatVersion 1 and reads what it
//   understands of a higher version, with a warning.
//
// # metrics.jsonl (one MetricLine per line)
//
//   {"step":120,"t":1763720523.412,"epoch":2,"split":"train","loss":0.4312,"acc":0.9125}
//   {"step":120,"t":1763720530.018,"epoch":2,"split":"val","loss":"NaN","acc":0.88}
//
// - `step` (integer >= 0, required): the x axis. `t`: Unix time in seconds (float), when the record was written.
//   `epoch` (number, optional; fractional epochs allowed). `split` (string, optional): "train", "val", "test" or any
//   other name; absent means the record belongs to no split.
// - Every other key is a metric name whose value is a number. JSON has no NaN or infinities, so they are written as
//   the strings "NaN", "Infinity" and "-Infinity" (JavaScript's own names; Python's float('nan') etc.). Readers also
//   tolerate the bare tokens NaN, Infinity, -Infinity (what Python's json.dumps emits by default) but writers must
//   not rely on it. Other non-numeric values are ignored (reserved for later versions).
// - A series is identified by (metric name, split): "loss" in split "train" and "loss" in split "val" are two
//   series of one chart.
// - One record is one line, written with a single write() and ended by "\n". A reader treats the text after the
//   last "\n" as a record still being written: not an error, read when its newline arrives (or at the end of a
//   finished run). A line that is not a JSON object, or lacks a valid step, is reported with its line number and
//   skipped; the rest of the file is read. CRLF line ends are accepted. Blank lines are ignored.
//
// # events.jsonl (one RunEvent per line)
//
//   {"event":"checkpoint","t":1763720531.2,"step":120,"path":"checkpoints/epoch2.pt","metric":"val_loss","value":0.41}
//   {"event":"confusion","t":1763720531.9,"step":120,"epoch":2,"split":"val","labels":["cat","dog"],
//    "matrix":[[50,3],[7,40]]}
//
// - A sibling stream rather than an `"event"` key in metrics.jsonl because (1) metrics.jsonl stays a stream of flat
//   numeric records, which is what the fast parser is for and what the curves tail continuously, and (2) a confusion
//   matrix can be megabytes on one line (1000 classes), which the curves should not have to read past.
// - checkpoint: `path` as the script gave it (a relative path is relative to run.json's `cwd`); `metric` and
//   `value` optional (the metric the checkpoint was selected by). Used by "resume from the last checkpoint".
// - confusion: `labels` (n strings), `matrix` n x n counts, matrix[i][j] = examples of true class i predicted as j
//   (row = true, column = predicted); `split`, `epoch`, `step` optional.
// - Unknown `event` kinds are skipped without complaint (forward compatible); a known kind with bad fields is
//   reported and skipped.
//
// # Writers other than Descent
//
// Descent also reads TensorBoard event files (src/runs/format/tensorboard.ts) and CSV loggers (Lightning CSVLogger,
// Keras CSVLogger: src/runs/format/csv.ts). They are mapped to MetricRecord; the split of a tag or column is
// inferred from its name ("train/loss", "loss/val", "val_loss", "train_acc": src/runs/format/split.ts).

export const RUN_FORMAT_VERSION = 1;

export const RUN_FILES = {
  info: 'run.json',
  metrics: 'metrics.jsonl',
  events: 'events.jsonl',
  stderr: 'stderr.log',
  /** The run's stdout and stderr together, as its terminal showed them (runs launched by Descent: Train). */
  output: 'output.log',
} as const;

/** How non-finite numbers are written in the JSON Lines streams. */
export const NON_FINITE_STRINGS = { nan: 'NaN', posInf: 'Infinity', negInf: '-Infinity' } as const;

/** Keys of a metrics line that are not metrics. */
export const RESERVED_METRIC_KEYS = ['step', 't', 'epoch', 'split'] as const;

export type RunStatus = 'running' | 'finished' | 'failed' | 'stopped';

/** A JSON value, for hyperparameters. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface RunTarget {
  /** "local", "torchrun"; later "ssh", "slurm", "ray". */
  kind: string;
  nprocPerNode?: number;
  /** Remote host for remote targets. */
  host?: string;
}

/** run.json, formatVersion 1. */
export interface RunInfo {
  formatVersion: number;
  id: string;
  name: string;
  /** The program started (an interpreter or torchrun). */
  command: string;
  args: string[];
  cwd: string;
  interpreter: string | null;
  git: { commit: string; dirty: boolean } | null;
  hyperparameters: { [key: string]: JsonValue };
  target: RunTarget;
  /** "cpu", "cuda:0", "mps", ... */
  devices: string[];
  status: RunStatus;
  startTime: string;
  endTime: string | null;
  exitCode: number | null;
  /** Process id of the started process, to tell a live run from an interrupted one after a reload. */
  pid?: number | null;
  /** Set on a run resumed from another run's checkpoint. */
  resumedFrom?: { runId: string; checkpoint: string } | null;
}

/** A metrics line as written (see the header). Metric values are numbers or the non-finite strings. */
export interface MetricLine {
  step: number;
  t?: number;
  epoch?: number;
  split?: string;
  [metric: string]: number | string | undefined;
}

/**
 * One record as every reader returns it (JSON Lines, TensorBoard, CSV): the x coordinates and the metric values,
 * non-finite values as NaN / ±Infinity. `split` is undefined when the record belongs to no split.
 */
export interface MetricRecord {
  step: number;
  /** Unix seconds; undefined when the writer gave none (Keras CSV). */
  t: number | undefined;
  epoch: number | undefined;
  split: string | undefined;
  values: Record<string, number>;
}

export interface CheckpointEvent {
  event: 'checkpoint';
  t?: number;
  step: number;
  path: string;
  metric?: string;
  value?: number;
}

export interface ConfusionEvent {
  event: 'confusion';
  t?: number;
  step?: number;
  epoch?: number;
  split?: string;
  labels: string[];
  /** matrix[trueClass][predictedClass] = count. */
  matrix: number[][];
}

export type RunEvent = CheckpointEvent | ConfusionEvent;

/** A line a reader skipped, and why. Line numbers start at 1; for binary files `line` is the record index. */
export interface ReadProblem {
  line: number;
  reason: string;
}
