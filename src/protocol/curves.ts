// Messages of the live curves panel (webview/curves), imported by the host (src/runs/view/curvesPanel.ts) and the
// webview. The host answers `ready` with a snapshot of every series of the panel's runs, then sends deltas while the
// panel is visible: only the points committed since the last message (Series.committed(from)), or the whole series
// again when its generation changed (decimation rewrote its past) or the run's files were read again from the start.
// Points travel as parallel arrays; messages are JSON, which has no NaN or infinities, so non-finite values are the
// run format's strings and unknown times / epochs are null.

/** A value as sent: a number, or "NaN" / "Infinity" / "-Infinity". */
export type WireValue = number | string;

export interface CurvePoints {
  step: number[];
  /** Unix seconds; null when unknown. */
  t: (number | null)[];
  epoch: (number | null)[];
  value: WireValue[];
}

export type CurveRunStatus = 'running' | 'finished' | 'failed' | 'stopped' | 'interrupted';

export interface CurveProgress {
  unit: 'epoch' | 'step';
  /** Completed units (1-based for epochs: "epoch 3/10"). */
  done: number;
  total: number;
  /** Seconds left at the recent rate; null when unknown (finished, or too few points). */
  etaSeconds: number | null;
}

export interface CurveRun {
  key: string;
  name: string;
  /** "descent", "tensorboard", "lightning", "keras". */
  kind: string;
  status: CurveRunStatus;
  /** Unix seconds of the run's start (x = 0 of the wall-time axis). */
  startT: number | null;
  progress: CurveProgress | null;
  /** Position of the run in the panel: its colour when runs are compared. */
  index: number;
  /** Confusion matrices the run logged (the panel offers to show them). */
  confusions?: number;
}

export interface CurveSeries {
  /** `${run}\u0000${split}\u0000${metric}` */
  id: string;
  run: string;
  metric: string;
  split: string | null;
  /** Points added in all (before decimation). */
  count: number;
  /**
   * Replace the committed points from index `from` with these (from = 0 and the whole series in a snapshot or after
   * a generation change; the previous length otherwise).
   */
  from: number;
  committed: CurvePoints;
  /** Points not yet committed (the bucket being filled and the exact last point): replace the previous tail. */
  tail: CurvePoints;
}

export type CurvesToWebview =
  | { type: 'snapshot'; title: string; runs: CurveRun[]; series: CurveSeries[]; missing: string[] }
  | { type: 'delta'; runs: CurveRun[]; series: CurveSeries[] };

export type CurvesToHost =
  | { type: 'ready' }
  | { type: 'openFolder'; run: string }
  | { type: 'exportCsv'; csv: string; suggestedName: string }
  /** Every chart of the panel stacked into one PNG, as a data: URL. */
  | { type: 'exportPng'; dataUrl: string; suggestedName: string }
  /** Descent: Plot Loss Landscape for this run (the first run of a comparison). */
  | { type: 'plotLandscape'; run: string }
  /** Descent: Show Confusion Matrix for this run. */
  | { type: 'showConfusion'; run: string };

/** What the webview keeps with setState so a reload restores the same panel. */
export interface CurvesState {
  runs: string[];
  xAxis: 'step' | 'epoch' | 'time';
  logScale: boolean;
  smoothing: number;
}

export function curveSeriesId(run: string, split: string | undefined | null, metric: string): string {
  return `${run}\u0000${split ?? ''}\u0000${metric}`;
}
